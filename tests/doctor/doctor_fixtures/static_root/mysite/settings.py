"""Fixture: STATIC_ROOT unset."""

from mysite.clean import *  # noqa: F403

STATIC_ROOT = None
