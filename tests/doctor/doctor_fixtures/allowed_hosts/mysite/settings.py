"""Fixture: ALLOWED_HOSTS with local names only."""

from mysite.clean import *  # noqa: F403

ALLOWED_HOSTS = ["localhost", "127.0.0.1"]
