"""Fixture: a per-process cache."""

from mysite.clean import *  # noqa: F403

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
