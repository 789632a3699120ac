from .production import *  # noqa: F403
