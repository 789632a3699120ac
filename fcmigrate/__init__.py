"""fcmigrate: run an unmodified WSGI app on Alibaba Cloud Function Compute."""

from __future__ import annotations

from fcmigrate.errors import AppLoadError, FCMigrateError
from fcmigrate.runtime.context import Credentials, FCContext, RequestIdFilter, request_id
from fcmigrate.runtime.middleware import FCMiddleware

__version__ = "0.1.0"

__all__ = [
    "AppLoadError",
    "Credentials",
    "FCContext",
    "FCMiddleware",
    "FCMigrateError",
    "RequestIdFilter",
    "__version__",
    "request_id",
]
