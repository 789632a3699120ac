"""Imports a third-party package that is not installed."""

import fx_not_installed_dependency  # noqa: F401
