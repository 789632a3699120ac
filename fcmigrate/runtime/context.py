"""What Function Compute says about the current request.

:class:`FCContext` reads FC's ``x-fc-*`` headers from the environ on demand; the credential
headers, taken out of the environ by the middleware, are kept only here, masked in ``repr``.
The request ID is in a :mod:`contextvars` variable (:func:`request_id`), and in log records
as ``%(request_id)s``.
"""

from __future__ import annotations

import contextvars
import logging
import os
from collections.abc import Mapping
from typing import Any

from fcmigrate.fc import CREDENTIAL_KEYS as CREDENTIAL_KEYS

#: Environment variables holding the same credentials on Debian 11+ custom runtimes.
CREDENTIAL_ENV = (
    "ALIBABA_CLOUD_ACCESS_KEY_ID",
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
    "ALIBABA_CLOUD_SECURITY_TOKEN",
)

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "fcmigrate_request_id", default=None
)


def request_id() -> str | None:
    """The ID of the request being handled in this thread, or ``None`` outside one."""
    return _request_id.get()


def _mask(value: str | None) -> str:
    if not value:
        return repr(value)
    return "'***'"


class Credentials:
    """Temporary STS credentials of the function's role.

    ``repr()`` and ``str()`` never show the secret or the token, so the object can be
    logged or shown on a debug page without leaking them.
    """

    __slots__ = ("access_key_id", "access_key_secret", "security_token")

    access_key_id: str | None
    access_key_secret: str | None
    security_token: str | None

    def __init__(
        self,
        access_key_id: str | None,
        access_key_secret: str | None,
        security_token: str | None,
    ) -> None:
        object.__setattr__(self, "access_key_id", access_key_id)
        object.__setattr__(self, "access_key_secret", access_key_secret)
        object.__setattr__(self, "security_token", security_token)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Credentials are read-only")

    def __bool__(self) -> bool:
        return bool(self.access_key_id and self.access_key_secret)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Credentials):
            return NotImplemented
        return (self.access_key_id, self.access_key_secret, self.security_token) == (
            other.access_key_id,
            other.access_key_secret,
            other.security_token,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        key_id = self.access_key_id
        shown = repr(key_id[:4] + "***") if key_id else repr(key_id)
        return (
            f"Credentials(access_key_id={shown}, "
            f"access_key_secret={_mask(self.access_key_secret)}, "
            f"security_token={_mask(self.security_token)})"
        )

    __str__ = __repr__

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Credentials:
        """Credentials from the ``ALIBABA_CLOUD_*`` variables of newer runtimes."""
        env = os.environ if env is None else env
        return cls(*(env.get(name) or None for name in CREDENTIAL_ENV))


def _header(name: str) -> property:
    key = "HTTP_X_FC_" + name

    def get(self: FCContext) -> str | None:
        return self._environ.get(key) or None

    get.__doc__ = f"The ``x-fc-{name.lower().replace('_', '-')}`` header, or ``None``."
    return property(get)


def _int_header(name: str) -> property:
    key = "HTTP_X_FC_" + name

    def get(self: FCContext) -> int | None:
        value = self._environ.get(key)
        try:
            return int(value) if value else None
        except ValueError:
            return None

    get.__doc__ = f"The ``x-fc-{name.lower().replace('_', '-')}`` header as an int, or ``None``."
    return property(get)


class FCContext:
    """Read-only view of FC's per-request information, at ``environ["fc.context"]``.

    Values come from the ``x-fc-*`` request headers and are ``None`` when FC did not
    send them (as in local runs). Numbers are parsed to ``int``.
    """

    __slots__ = ("_credentials", "_environ", "_request_id")

    def __init__(
        self,
        environ: Mapping[str, Any],
        request_id: str,
        credentials: tuple[str | None, str | None, str | None] = (None, None, None),
    ) -> None:
        self._environ = environ
        self._request_id = request_id
        self._credentials = credentials

    @property
    def request_id(self) -> str:
        """FC's request ID (or the one made up for a local request)."""
        return self._request_id

    function_name = _header("FUNCTION_NAME")
    function_handler = _header("FUNCTION_HANDLER")
    function_memory = _int_header("FUNCTION_MEMORY")
    function_timeout = _int_header("FUNCTION_TIMEOUT")
    function_initializer = _header("FUNCTION_INITIALIZER")
    initialization_timeout = _int_header("INITIALIZATION_TIMEOUT")
    service_name = _header("SERVICE_NAME")
    region = _header("REGION")
    account_id = _header("ACCOUNT_ID")
    qualifier = _header("QUALIFIER")
    version_id = _header("VERSION_ID")
    log_project = _header("SERVICE_LOGPROJECT")
    log_store = _header("SERVICE_LOGSTORE")
    control_path = _header("CONTROL_PATH")
    retry_count = _int_header("RETRY_COUNT")
    base_path = _header("BASE_PATH")
    client_ip = _header("CLIENT_IP")

    @property
    def credentials(self) -> Credentials:
        """The function role's credentials: from the request headers, else ``ALIBABA_CLOUD_*``."""
        if any(self._credentials):
            return Credentials(*self._credentials)
        return Credentials.from_env()

    def __repr__(self) -> str:
        return (
            f"FCContext(request_id={self.request_id!r}, function_name={self.function_name!r}, "
            f"region={self.region!r}, control_path={self.control_path!r}, "
            f"credentials={self.credentials!r})"
        )


class RequestIdFilter(logging.Filter):
    """Adds ``record.request_id`` (the current FC request ID, or ``-``) to log records.

    Attach it to a handler so a format can use ``%(request_id)s``::

        handler.addFilter(fcmigrate.RequestIdFilter())
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _request_id.get() or "-"
        return True


_RECORD_CLASSES: dict[type[logging.LogRecord], type[logging.LogRecord]] = {}


def _with_request_id(cls: type[logging.LogRecord]) -> type[logging.LogRecord]:
    """A subclass of ``cls`` that fills in ``request_id`` when the record is formatted.

    ``Logger.makeRecord`` refuses an ``extra={"request_id": ...}`` whose key the record
    already has, so the attribute cannot be set when the record is made. Formatters call
    ``getMessage()`` before they read the record's attributes: it is set there, unless
    the caller's ``extra`` already set it.
    """
    sub = _RECORD_CLASSES.get(cls)
    if sub is None:

        def getMessage(self: logging.LogRecord) -> str:
            if "request_id" not in self.__dict__:
                self.request_id = self.__dict__.get("_fcmigrate_request_id") or "-"
            return cls.getMessage(self)

        def __getattr__(self: logging.LogRecord, name: str) -> Any:
            # Read before formatting (a filter, a test): same value as getMessage sets.
            if name == "request_id":
                return self.__dict__.get("_fcmigrate_request_id") or "-"
            raise AttributeError(name)

        def __reduce__(self: logging.LogRecord) -> tuple[Any, ...]:
            # Pickled (a multiprocessing queue) as a plain record of the same values.
            data = dict(self.__dict__)
            data.setdefault("request_id", data.get("_fcmigrate_request_id") or "-")
            return (logging.makeLogRecord, (data,))

        sub = type(
            cls.__name__,
            (cls,),
            {"getMessage": getMessage, "__getattr__": __getattr__, "__reduce__": __reduce__},
        )
        _RECORD_CLASSES[cls] = sub
    return sub


def install_log_record_factory() -> None:
    """Give every log record of this process a ``request_id`` attribute.

    ``fcmigrate serve`` calls this, so ``%(request_id)s`` works in any logging format
    without adding :class:`RequestIdFilter` to each handler. The ID is the one current
    when the record is made; an explicit ``extra={"request_id": ...}`` wins.
    """
    previous = logging.getLogRecordFactory()
    if getattr(previous, "_fcmigrate", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record._fcmigrate_request_id = _request_id.get()
        record.__class__ = _with_request_id(type(record))
        return record

    factory._fcmigrate = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
