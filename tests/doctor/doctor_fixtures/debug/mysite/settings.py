"""Fixture: DEBUG left on."""

from mysite.clean import *  # noqa: F403

DEBUG = True
