"""Fixture: no CSRF_TRUSTED_ORIGINS, with the CSRF middleware on."""

from mysite.clean import *  # noqa: F403

CSRF_TRUSTED_ORIGINS = []
