"""The one exception type fcmigrate raises for user mistakes."""

from __future__ import annotations


class FCMigrateError(Exception):
    """A mistake in what the user asked for: bad spec, missing file, existing output.

    The CLI prints ``Error: <message>`` on one line and exits with :attr:`exit_code`;
    no traceback is shown. Errors raised *inside* the user's own code are not wrapped
    in this class, so their traceback survives.
    """

    exit_code = 2

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class AppLoadError(FCMigrateError):
    """The application spec could not be turned into a WSGI callable."""


class AppImportError(FCMigrateError):
    """The user's app raised while it was imported; its traceback was printed to stderr."""

    exit_code = 1
