"""Fixture: Django settings that make a new SECRET_KEY each time they are imported."""

from django.core.management.utils import get_random_secret_key
from mysite.clean import *  # noqa: F403

SECRET_KEY = get_random_secret_key()
