"""Fixture: SECRET_KEY from a variable s.yaml does not set."""

import os

from mysite.clean import *  # noqa: F403

SECRET_KEY = os.environ.get(
    "APP_SECRET_KEY", "dev-only-fallback-0123456789-abcdefghijklmnopqrstuvwxyz"
)
