"""Details of :mod:`fcmigrate.runtime.context` that the middleware tests do not reach."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

import fcmigrate
from fcmigrate.runtime.context import (
    CREDENTIAL_ENV,
    Credentials,
    FCContext,
    RequestIdFilter,
    _request_id,
    install_log_record_factory,
    request_id,
)

SECRET = "SENTINEL-SECRET-9f3a1c"
TOKEN = "SENTINEL-TOKEN-77c1e0"


@pytest.fixture
def current_request() -> Iterator[str]:
    """Run the test as if inside a request with ID ``rid-ctx``."""
    token = _request_id.set("rid-ctx")
    try:
        yield "rid-ctx"
    finally:
        _request_id.reset(token)


@pytest.fixture
def no_env_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CREDENTIAL_ENV:
        monkeypatch.delenv(name, raising=False)


# --------------------------------------------------------------------------- request_id()


def test_request_id_outside_a_request_is_none() -> None:
    assert request_id() is None
    assert fcmigrate.request_id is request_id


def test_request_id_inside_a_request(current_request: str) -> None:
    assert request_id() == current_request


# --------------------------------------------------------------------------- Credentials


@pytest.mark.parametrize(
    ("credentials", "expected"),
    [
        pytest.param(
            Credentials("LTAI5tExample", SECRET, TOKEN),
            "Credentials(access_key_id='LTAI***', access_key_secret='***', security_token='***')",
            id="all",
        ),
        pytest.param(
            Credentials("LTAI5tExample", SECRET, None),
            "Credentials(access_key_id='LTAI***', access_key_secret='***', security_token=None)",
            id="no-token",
        ),
        pytest.param(
            Credentials(None, None, None),
            "Credentials(access_key_id=None, access_key_secret=None, security_token=None)",
            id="none",
        ),
        pytest.param(
            Credentials("", "", ""),
            "Credentials(access_key_id='', access_key_secret='', security_token='')",
            id="empty",
        ),
    ],
)
def test_credentials_repr_masks(credentials: Credentials, expected: str) -> None:
    assert repr(credentials) == expected
    assert str(credentials) == expected
    assert f"{credentials}" == expected
    assert SECRET not in repr(credentials) and TOKEN not in repr(credentials)


def test_credentials_values_and_truth() -> None:
    credentials = Credentials("id", SECRET, TOKEN)
    assert (credentials.access_key_id, credentials.access_key_secret) == ("id", SECRET)
    assert credentials.security_token == TOKEN
    assert credentials
    assert Credentials("id", SECRET, None)
    assert not Credentials("id", None, TOKEN)
    assert not Credentials(None, SECRET, TOKEN)
    assert not Credentials("", "", "")


def test_credentials_equality_and_no_hash() -> None:
    assert Credentials("a", "b", "c") == Credentials("a", "b", "c")
    assert Credentials("a", "b", "c") != Credentials("a", "b", None)
    assert Credentials("a", "b", "c") != ("a", "b", "c")
    with pytest.raises(TypeError):
        hash(Credentials("a", "b", "c"))


def test_credentials_read_only() -> None:
    credentials = Credentials("a", "b", "c")
    with pytest.raises(AttributeError):
        credentials.access_key_secret = "other"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        credentials.extra = 1  # type: ignore[attr-defined]
    assert credentials.access_key_secret == "b"


def test_credentials_from_env() -> None:
    env = {
        "ALIBABA_CLOUD_ACCESS_KEY_ID": "env-id",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "env-secret",
        "ALIBABA_CLOUD_SECURITY_TOKEN": "",
    }
    assert Credentials.from_env(env) == Credentials("env-id", "env-secret", None)
    assert Credentials.from_env({}) == Credentials(None, None, None)


def test_credentials_from_process_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "pid")
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "psecret")
    monkeypatch.setenv("ALIBABA_CLOUD_SECURITY_TOKEN", "ptoken")
    assert Credentials.from_env() == Credentials("pid", "psecret", "ptoken")


# --------------------------------------------------------------------------- FCContext


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("512", 512),
        ("0", 0),
        (" 42 ", 42),
        ("-1", -1),
        ("", None),
        ("12MB", None),
        ("1.5", None),
        (None, None),
    ],
    ids=["number", "zero", "spaces", "negative", "empty", "suffix", "float", "absent"],
)
def test_context_int_fields(value: str | None, expected: int | None) -> None:
    environ = {} if value is None else {"HTTP_X_FC_FUNCTION_MEMORY": value}
    assert FCContext(environ, "r").function_memory == expected


def test_context_other_fields() -> None:
    environ = {
        "HTTP_X_FC_FUNCTION_INITIALIZER": "index.init",
        "HTTP_X_FC_INITIALIZATION_TIMEOUT": "30",
        "HTTP_X_FC_SERVICE_NAME": "svc",
        "HTTP_X_FC_CLIENT_IP": "203.0.113.9",
        "HTTP_X_FC_BASE_PATH": "/2016-08-15/proxy/svc/fn/",
        "HTTP_X_FC_REGION": "",
    }
    ctx = FCContext(environ, "r")
    assert ctx.function_initializer == "index.init"
    assert ctx.initialization_timeout == 30
    assert ctx.service_name == "svc"
    assert ctx.client_ip == "203.0.113.9"
    assert ctx.base_path == "/2016-08-15/proxy/svc/fn/"
    assert ctx.region is None  # empty header reads as absent


def test_context_credentials_prefer_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "env-id")
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "env-secret")
    ctx = FCContext({}, "r", ("hdr-id", SECRET, TOKEN))
    assert ctx.credentials == Credentials("hdr-id", SECRET, TOKEN)
    assert FCContext({}, "r").credentials == Credentials("env-id", "env-secret", None)


def test_context_without_any_credentials(no_env_credentials: None) -> None:
    assert not FCContext({}, "r").credentials


def test_context_repr_masks_and_names_fields(no_env_credentials: None) -> None:
    environ = {
        "HTTP_X_FC_FUNCTION_NAME": "fn",
        "HTTP_X_FC_REGION": "cn-shanghai",
        "HTTP_X_FC_CONTROL_PATH": "/http-invoke",
    }
    ctx = FCContext(environ, "rid-1", ("LTAI5tExample", SECRET, TOKEN))
    text = repr(ctx)
    assert text.startswith("FCContext(request_id='rid-1', function_name='fn', region='cn-shanghai'")
    assert "control_path='/http-invoke'" in text
    assert "access_key_secret='***'" in text
    assert SECRET not in text and TOKEN not in text
    assert str(ctx) == text
    assert SECRET not in f"{ctx!s} {ctx!r} {[ctx]} { ({'ctx': ctx}) }"


def test_context_read_only() -> None:
    ctx = FCContext({"HTTP_X_FC_REGION": "cn-beijing"}, "r")
    for name in ("request_id", "region", "function_memory", "credentials"):
        with pytest.raises(AttributeError):
            setattr(ctx, name, "changed")
    with pytest.raises(AttributeError):
        ctx.new_field = 1  # type: ignore[attr-defined]
    assert (ctx.request_id, ctx.region) == ("r", "cn-beijing")


# --------------------------------------------------------------------------- log records


def _logger_with(
    stream: io.StringIO, *filters: logging.Filter
) -> tuple[logging.Logger, logging.Handler]:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(request_id)s %(message)s"))
    for item in filters:
        handler.addFilter(item)
    log = logging.getLogger("tests.fcmigrate.context")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    return log, handler


@pytest.fixture
def restore_logging() -> Iterator[None]:
    factory = logging.getLogRecordFactory()
    log = logging.getLogger("tests.fcmigrate.context")
    try:
        yield
    finally:
        logging.setLogRecordFactory(factory)
        for handler in list(log.handlers):
            log.removeHandler(handler)
        log.propagate = True


def test_request_id_filter(restore_logging: None, current_request: str) -> None:
    stream = io.StringIO()
    log, _ = _logger_with(stream, RequestIdFilter())
    log.info("inside")
    log.info("given", extra={"request_id": "explicit"})
    _request_id.set(None)
    log.info("outside")
    assert stream.getvalue().splitlines() == [
        f"{current_request} inside",
        "explicit given",
        "- outside",
    ]


def test_request_id_filter_never_drops_records() -> None:
    record = logging.LogRecord("n", logging.DEBUG, __file__, 1, "m", None, None)
    assert RequestIdFilter().filter(record) is True
    assert record.request_id == "-"  # type: ignore[attr-defined]


def test_log_record_factory(restore_logging: None, current_request: str) -> None:
    stream = io.StringIO()
    log, _ = _logger_with(stream)  # no filter: the factory alone must do it
    install_log_record_factory()
    log.info("inside")
    _request_id.set(None)
    log.info("outside")
    assert stream.getvalue().splitlines() == [f"{current_request} inside", "- outside"]


def test_log_record_factory_installs_once_and_chains(restore_logging: None) -> None:
    def previous(*args: object, **kwargs: object) -> logging.LogRecord:
        record = logging.LogRecord(*args, **kwargs)  # type: ignore[arg-type]
        record.custom = "kept"  # type: ignore[attr-defined]
        return record

    logging.setLogRecordFactory(previous)
    install_log_record_factory()
    installed = logging.getLogRecordFactory()
    assert installed is not previous
    install_log_record_factory()
    assert logging.getLogRecordFactory() is installed
    record = logging.getLogger("tests.fcmigrate.context").makeRecord(
        "n", logging.INFO, __file__, 1, "m", (), None
    )
    assert (record.custom, record.request_id) == ("kept", "-")  # type: ignore[attr-defined]


def test_log_record_factory_allows_extra_request_id(restore_logging: None) -> None:
    stream = io.StringIO()
    log, _ = _logger_with(stream)
    install_log_record_factory()
    log.info("given", extra={"request_id": "explicit"})
    assert stream.getvalue() == "explicit given\n"
