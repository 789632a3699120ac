"""Fixture: SQLite next to manage.py, as startproject writes it."""

from mysite.clean import *  # noqa: F403
from mysite.clean import BASE_DIR

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3"}}
