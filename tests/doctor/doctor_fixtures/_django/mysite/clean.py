"""Fixture: Django settings with nothing for doctor to report.

Each Django fixture's settings.py imports these and changes one thing.
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]
DEBUG = False
ALLOWED_HOSTS = [".fcapp.run"]
CSRF_TRUSTED_ORIGINS = ["https://*.fcapp.run"]
INSTALLED_APPS = ["django.contrib.sessions", "django.contrib.staticfiles"]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
]
DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "app"}}
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
