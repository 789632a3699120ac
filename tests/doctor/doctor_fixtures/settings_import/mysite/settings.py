"""Fixture: settings that raise while being imported."""

from mysite.clean import *  # noqa: F403

raise RuntimeError("DATABASE_URL is not set")
