"""Fixture: file-based sessions."""

from mysite.clean import *  # noqa: F403

SESSION_ENGINE = "django.contrib.sessions.backends.file"
