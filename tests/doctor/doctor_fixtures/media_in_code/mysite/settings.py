"""Fixture: uploads saved inside the code folder."""

from mysite.clean import *  # noqa: F403
from mysite.clean import BASE_DIR

MEDIA_ROOT = BASE_DIR / "media"
