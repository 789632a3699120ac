"""Fixture: SQLite in /tmp."""

from mysite.clean import *  # noqa: F403

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "/tmp/app.sqlite3"}}
