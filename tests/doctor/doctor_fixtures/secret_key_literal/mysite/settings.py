"""Fixture: a hard-coded SECRET_KEY."""

from mysite.clean import *  # noqa: F403

SECRET_KEY = "k3y-written-in-the-code-0123456789-abcdefghijklmnopqrstuvwxyz"
