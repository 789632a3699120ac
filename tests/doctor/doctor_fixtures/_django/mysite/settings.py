"""Fixture: the clean settings, unchanged."""

from mysite.clean import *  # noqa: F403
