"""Unit tests of :class:`fcmigrate.FCMiddleware` (issue 2, section 2).

The inner app is a recorder that stores the environ it saw. Both sides of the WSGI
contract are checked: the inner app is wrapped in :func:`wsgiref.validate.validator`
(so the environ the middleware hands on is valid) and so is the middleware itself (so
what it returns to the server is valid). Environs come from werkzeug's ``create_environ``
with PATH_INFO then set verbatim, as a server would, in PEP 3333's latin-1 form.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from wsgiref.util import FileWrapper
from wsgiref.validate import validator

import pytest
from helpers import DJANGO_SAMPLE, REPO
from werkzeug.test import create_environ

import fcmigrate
import fcmigrate.runtime.middleware
from fcmigrate import Credentials, FCContext, FCMiddleware, RequestIdFilter
from fcmigrate.errors import FCMigrateError
from fcmigrate.runtime.jobs import Jobs, timer_event

PREFIX = "/2016-08-15/proxy/svc/fn"
RID = "1-67adb489-15d49184-2d4fa002fa2b"
KEY_ID = "LTAI-sentinel-key-id"
SECRET = "SENTINEL-SECRET-9f3a1c"
TOKEN = "SENTINEL-TOKEN-77c1e0"
CREDENTIAL_HEADERS = {
    "X-Fc-Access-Key-Id": KEY_ID,
    "X-Fc-Access-Key-Secret": SECRET,
    "X-Fc-Security-Token": TOKEN,
}
LINE = re.compile(r"FC (Invoke|Initialize|PreStop|PreFreeze) (Start|End) RequestId: (\S+)\n")

Environ = dict[str, Any]
StartResponse = Callable[..., Any]


# --------------------------------------------------------------------------- helpers


class Recorder:
    """Inner WSGI app: stores the environ, the body and ``request_id()`` it saw."""

    def __init__(
        self,
        status: str = "200 OK",
        body: bytes = b"app\n",
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        self.status = status
        self.body = body
        self.headers = headers or []
        self.calls = 0
        self.environ: Environ = {}
        self.request_body = b""
        self.request_id_inside: str | None = None

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        self.calls += 1
        self.environ = environ
        self.request_id_inside = fcmigrate.request_id()
        length = int(environ.get("CONTENT_LENGTH") or 0)
        self.request_body = environ["wsgi.input"].read(length) if length else b""
        start_response(self.status, [("Content-Type", "text/plain"), *self.headers])
        return [self.body]


@dataclass
class Result:
    status: str
    headers: list[tuple[str, str]]
    body: bytes
    starts: int = 0

    def header(self, name: str) -> str | None:
        values = self.all(name)
        assert len(values) <= 1, f"{name} sent {len(values)} times: {values}"
        return values[0] if values else None

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]

    @property
    def code(self) -> int:
        return int(self.status.split()[0])


@dataclass
class Harness:
    """An FCMiddleware around ``app`` with its invocation lines kept in ``log``."""

    app: Any
    options: dict[str, Any] = field(default_factory=dict)
    validate_inner: bool = True
    log: io.StringIO = field(default_factory=io.StringIO)

    def __post_init__(self) -> None:
        inner = validator(self.app) if self.validate_inner else self.app
        self.middleware = FCMiddleware(inner, stream=self.log, **self.options)

    def __call__(self, environ: Environ) -> Result:
        return call(validator(self.middleware), environ)

    def lines(self) -> list[tuple[str, str, str]]:
        text = self.log.getvalue()
        parsed = [m.groups() for m in LINE.finditer(text)]
        assert "".join(f"FC {w} {e} RequestId: {r}\n" for w, e, r in parsed) == text
        return parsed


def call(app: Any, environ: Environ) -> Result:
    """Call a WSGI app like a server does: iterate the body, then close it."""
    result = Result("", [], b"")

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        result.starts += 1
        if result.starts > 1:
            assert exc_info is not None, "start_response called twice without exc_info"
        result.status, result.headers = status, list(headers)
        return lambda data: None

    iterable = app(environ, start_response)
    try:
        result.body = b"".join(iterable)
    finally:
        close = getattr(iterable, "close", None)
        if close is not None:
            close()
    return result


def environ_for(
    path: str = "/",
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    **extra: Any,
) -> Environ:
    environ: Environ = create_environ(method=method, headers=headers, data=body)
    environ["PATH_INFO"] = path
    environ.update(extra)
    return environ


# --------------------------------------------------------------------------- prefix table


@dataclass
class Row:
    path: str
    script_name: str
    path_info: str
    headers: dict[str, str] = field(default_factory=dict)
    extra: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    env: str | None = None


PATH_TABLE = [
    pytest.param(Row("/hello", "", "/hello"), id="no-prefix"),
    pytest.param(Row("/", "", "/"), id="root"),
    pytest.param(Row(PREFIX, PREFIX, ""), id="prefix-exact"),
    pytest.param(Row(f"{PREFIX}/", PREFIX, "/"), id="prefix-slash"),
    pytest.param(Row(f"{PREFIX}/a/b", PREFIX, "/a/b"), id="prefix-path"),
    pytest.param(
        Row("/2016-08-15/proxy/svc.prod/fn/a", "/2016-08-15/proxy/svc.prod/fn", "/a"),
        id="qualifier",
    ),
    pytest.param(
        Row(f"{PREFIX}/a", PREFIX, "/a", headers={"X-Fc-Base-Path": f"{PREFIX}/"}),
        id="base-path-header-trailing-slash",
    ),
    pytest.param(
        Row(
            "/2016-08-15/proxy/svc.prod/fn/a",
            "/2016-08-15/proxy/svc.prod/fn",
            "/a",
            headers={"X-Fc-Base-Path": "/2016-08-15/proxy/svc.prod/fn/"},
        ),
        id="base-path-header-qualifier",
    ),
    pytest.param(
        Row("/get", "", "/get", headers={"X-Fc-Base-Path": "/get"}),
        id="base-path-header-non-proxy-ignored",
    ),
    pytest.param(
        Row("/get/x", "", "/get/x", headers={"X-Fc-Base-Path": "/get/"}),
        id="base-path-header-non-proxy-ignored-below",
    ),
    pytest.param(
        Row("/a", "", "/a", headers={"X-Fc-Base-Path": f"{PREFIX}/"}),
        id="base-path-header-disagrees-no-prefix-in-path",
    ),
    pytest.param(
        Row(
            f"{PREFIX}/a",
            PREFIX,
            "/a",
            headers={"X-Fc-Base-Path": "/2016-08-15/proxy/svc/other/"},
        ),
        id="base-path-header-disagrees-path-form-wins",
    ),
    pytest.param(
        Row(
            "/2016-08-15/proxy/svc/fn-other/a",
            "/2016-08-15/proxy/svc/fn-other",
            "/a",
            headers={"X-Fc-Base-Path": f"{PREFIX}/"},
        ),
        id="segment-boundary-near-miss",
    ),
    pytest.param(
        Row(f"{PREFIX}/a", f"/mnt{PREFIX}", "/a", extra={"SCRIPT_NAME": "/mnt"}),
        id="existing-script-name",
    ),
    pytest.param(
        Row("/a", "/mnt", "/a", extra={"SCRIPT_NAME": "/mnt"}), id="existing-script-name-no-prefix"
    ),
    pytest.param(Row(f"{PREFIX}/a%2Fb%20c", PREFIX, "/a%2Fb%20c"), id="percent-encoded"),
    pytest.param(Row(f"{PREFIX}/caf\xc3\xa9", PREFIX, "/caf\xc3\xa9"), id="latin1-path"),
    pytest.param(
        Row("/2016-08-15/proxy/s\xc3\xa9/f%20n/x", "/2016-08-15/proxy/s\xc3\xa9/f%20n", "/x"),
        id="latin1-and-encoded-prefix",
    ),
    pytest.param(
        Row("/api/users", "/api", "/users", options={"base_paths": "/api"}), id="base-path-option"
    ),
    pytest.param(Row("/api", "/api", "", options={"base_paths": ["/api/"]}), id="base-path-exact"),
    pytest.param(
        Row("/apix/users", "", "/apix/users", options={"base_paths": "/api"}),
        id="base-path-near-miss",
    ),
    pytest.param(Row("/v2/users", "/v2", "/users", env="/api, /v2"), id="base-path-env"),
    pytest.param(
        Row("/env/x", "", "/env/x", env="/env", options={"base_paths": "/api"}),
        id="base-path-option-beats-env",
    ),
    pytest.param(Row("/", "", "/", options={"base_paths": "/"}), id="base-path-root-is-none"),
    pytest.param(
        Row(f"{PREFIX}/api/users", f"{PREFIX}/api", "/users", options={"base_paths": "/api"}),
        id="proxy-prefix-then-base-path",
    ),
    pytest.param(
        Row(f"{PREFIX}/apix", PREFIX, "/apix", options={"base_paths": "/api"}),
        id="proxy-prefix-then-base-near-miss",
    ),
    pytest.param(
        Row("/a", "", "/a", extra={"HTTP_SCRIPT_NAME": "/evil"}), id="spoofed-script-name-header"
    ),
    pytest.param(
        Row(
            f"{PREFIX}/a", PREFIX, "/a", extra={"HTTP_SCRIPT_NAME": "/evil", "HTTP_PATH_INFO": "/x"}
        ),
        id="spoofed-script-name-header-with-prefix",
    ),
    pytest.param(
        Row(f"{PREFIX}/a", PREFIX, "/a", headers={"X-Fc-Control-Path": "/http-invoke"}),
        id="http-invoke-control-path",
    ),
]


@pytest.mark.parametrize("row", PATH_TABLE)
def test_prefix_moves_to_script_name(row: Row, monkeypatch: pytest.MonkeyPatch) -> None:
    if row.env is None:
        monkeypatch.delenv("FCMIGRATE_BASE_PATH", raising=False)
    else:
        monkeypatch.setenv("FCMIGRATE_BASE_PATH", row.env)
    app = Recorder()
    result = Harness(app, row.options)(environ_for(row.path, headers=row.headers, **row.extra))
    assert result.code == 200
    assert (app.environ["SCRIPT_NAME"], app.environ["PATH_INFO"]) == (
        row.script_name,
        row.path_info,
    )
    # Nothing is lost or invented: the two parts join back to what the server received.
    assert (
        app.environ["SCRIPT_NAME"] + app.environ["PATH_INFO"]
        == row.extra.get("SCRIPT_NAME", "") + row.path
    )
    assert app.environ.get("HTTP_SCRIPT_NAME") == row.extra.get("HTTP_SCRIPT_NAME")


def test_prefix_never_doubles_when_wrapped_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FCMIGRATE_BASE_PATH", raising=False)
    app = Recorder()
    log = io.StringIO()
    twice = FCMiddleware(
        FCMiddleware(validator(app), stream=log, base_paths="/api"), stream=log, base_paths="/api"
    )
    headers = {"X-Fc-Base-Path": f"{PREFIX}/", "X-Fc-Request-Id": RID, **CREDENTIAL_HEADERS}
    result = call(validator(twice), environ_for(f"{PREFIX}/api/api/x", headers=headers))
    assert (app.environ["SCRIPT_NAME"], app.environ["PATH_INFO"]) == (f"{PREFIX}/api", "/api/x")
    # The inner copy passes the request through: one ID header, one pair of lines, and
    # the credentials the outer copy took out of the environ are still in the context.
    assert result.all("X-Request-Id") == [RID]
    assert log.getvalue() == f"FC Invoke Start RequestId: {RID}\nFC Invoke End RequestId: {RID}\n"
    assert app.environ["fc.context"].credentials == Credentials(KEY_ID, SECRET, TOKEN)


def test_same_environ_through_middleware_again_is_unchanged() -> None:
    app = Recorder()
    harness = Harness(app)
    environ = environ_for(f"{PREFIX}/a", headers={"X-Fc-Base-Path": f"{PREFIX}/"})
    harness(environ)
    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == (PREFIX, "/a")
    again = dict(environ)
    for key in ("fc.context", "fc.request_id"):
        again.pop(key)
    harness(again)
    assert (app.environ["SCRIPT_NAME"], app.environ["PATH_INFO"]) == (PREFIX, "/a")


# --------------------------------------------------------------------------- request ID


def _is_new_id(value: str | None) -> bool:
    """An ID the middleware made: FC 3.0's shape, as the local front door makes them too."""
    return (
        value is not None
        and re.fullmatch(r"1-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{12}", value) is not None
    )


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param({"X-Fc-Request-Id": RID}, RID, id="fc-3-form"),
        pytest.param(
            {"X-Fc-Request-Id": "7d2e6a54-6d8c-4b8e-9b0b-1a2b3c4d5e6f"},
            "7d2e6a54-6d8c-4b8e-9b0b-1a2b3c4d5e6f",
            id="uuid-form",
        ),
        pytest.param({"X-Fc-Request-Id": "r" * 128}, "r" * 128, id="longest-kept"),
        pytest.param({"X-Scf-Request-Id": "scf-123"}, "scf-123", id="x-scf-request-id"),
        pytest.param({"X-Fc-Request-Id": RID, "X-Scf-Request-Id": "scf-1"}, RID, id="fc-beats-scf"),
        pytest.param({}, None, id="absent-generated"),
        pytest.param({"X-Fc-Request-Id": ""}, None, id="empty-generated"),
        pytest.param({"X-Fc-Request-Id": "r" * 129}, None, id="too-long-generated"),
        pytest.param({"X-Fc-Request-Id": "a b"}, None, id="space-generated"),
        pytest.param({"X-Fc-Request-Id": "a\tb"}, None, id="tab-generated"),
        pytest.param({"X-Fc-Request-Id": "caf\xc3\xa9"}, None, id="non-ascii-generated"),
    ],
)
def test_request_id(headers: dict[str, str], expected: str | None) -> None:
    app = Recorder()
    harness = Harness(app)
    result = harness(environ_for("/", headers=headers))
    rid = app.environ["fc.request_id"]
    if expected is None:
        assert _is_new_id(rid), rid
    else:
        assert rid == expected
    assert result.header("X-Request-Id") == rid
    assert app.environ["fc.context"].request_id == rid
    assert app.request_id_inside == rid
    assert harness.lines() == [("Invoke", "Start", rid), ("Invoke", "End", rid)]
    assert fcmigrate.request_id() is None


def test_generated_request_ids_differ_and_do_not_leak() -> None:
    app = Recorder()
    harness = Harness(app)
    harness(environ_for("/", headers={"X-Fc-Request-Id": "first"}))
    assert app.request_id_inside == "first"
    assert fcmigrate.request_id() is None
    seen = set()
    for _ in range(3):
        harness(environ_for("/"))
        assert app.request_id_inside not in (None, "first")
        seen.add(app.request_id_inside)
        assert fcmigrate.request_id() is None
    assert len(seen) == 3


def test_request_id_reset_when_app_raises() -> None:
    def boom(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        assert fcmigrate.request_id() == "rid-boom"
        raise RuntimeError("boom")

    Harness(boom)(environ_for("/", headers={"X-Fc-Request-Id": "rid-boom"}))
    assert fcmigrate.request_id() is None


@pytest.fixture
def app_logger() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger with a real handler formatting ``%(request_id)s`` via RequestIdFilter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(request_id)s|%(levelname)s|%(message)s"))
    handler.addFilter(RequestIdFilter())
    log = logging.getLogger("tests.fcmigrate.app")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    try:
        yield log, stream
    finally:
        log.removeHandler(handler)
        log.propagate = True


def test_request_id_in_app_log_records(app_logger: tuple[logging.Logger, io.StringIO]) -> None:
    log, stream = app_logger

    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        log.info("inside %s", environ["PATH_INFO"])
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    harness = Harness(app)
    harness(environ_for("/one", headers={"X-Fc-Request-Id": RID}))
    harness(environ_for("/two"))
    log.info("outside")
    lines = stream.getvalue().splitlines()
    assert lines[0] == f"{RID}|INFO|inside /one"
    generated, _, rest = lines[1].partition("|")
    assert _is_new_id(generated) and rest == "INFO|inside /two"
    assert lines[2] == "-|INFO|outside"


# --------------------------------------------------------------------------- credentials


def _strings(environ: Environ) -> str:
    return "\n".join(f"{k}={v}" for k, v in environ.items() if isinstance(v, str))


def test_credentials_removed_from_environ_but_in_context(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in (
        "ALIBABA_CLOUD_ACCESS_KEY_ID",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
        "ALIBABA_CLOUD_SECURITY_TOKEN",
    ):
        monkeypatch.setenv(name, "env-value-not-used")
    app = Recorder()
    harness = Harness(app)
    result = harness(environ_for("/", headers={"X-Fc-Request-Id": RID, **CREDENTIAL_HEADERS}))
    for key in (
        "HTTP_X_FC_ACCESS_KEY_ID",
        "HTTP_X_FC_ACCESS_KEY_SECRET",
        "HTTP_X_FC_SECURITY_TOKEN",
    ):
        assert key not in app.environ
    seen = _strings(app.environ)
    for value in (KEY_ID, SECRET, TOKEN):
        assert value not in seen
    context = app.environ["fc.context"]
    assert context.credentials == Credentials(KEY_ID, SECRET, TOKEN)
    assert context.credentials.access_key_secret == SECRET
    for text in (repr(context), str(context), repr(context.credentials), str(context.credentials)):
        assert SECRET not in text and TOKEN not in text, text
    everything = harness.log.getvalue() + repr(result) + "".join(capsys.readouterr())
    assert SECRET not in everything and TOKEN not in everything


def test_credentials_fall_back_to_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "env-id")
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "env-secret")
    monkeypatch.setenv("ALIBABA_CLOUD_SECURITY_TOKEN", "env-token")
    app = Recorder()
    Harness(app)(environ_for("/"))
    assert app.environ["fc.context"].credentials == Credentials("env-id", "env-secret", "env-token")


def test_no_credentials_anywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "ALIBABA_CLOUD_ACCESS_KEY_ID",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
        "ALIBABA_CLOUD_SECURITY_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
    app = Recorder()
    Harness(app)(environ_for("/"))
    credentials = app.environ["fc.context"].credentials
    assert not credentials
    assert credentials == Credentials(None, None, None)


def test_context_fields_from_headers() -> None:
    headers = {
        "X-Fc-Request-Id": RID,
        "X-Fc-Function-Name": "fn",
        "X-Fc-Function-Handler": "index.handler",
        "X-Fc-Function-Memory": "512",
        "X-Fc-Function-Timeout": "60",
        "X-Fc-Region": "cn-hangzhou",
        "X-Fc-Account-Id": "1234567890",
        "X-Fc-Qualifier": "LATEST",
        "X-Fc-Version-Id": "3",
        "X-Fc-Service-Logproject": "proj",
        "X-Fc-Service-Logstore": "store",
        "X-Fc-Control-Path": "/http-invoke",
        "X-Fc-Retry-Count": "2",
    }
    app = Recorder()
    Harness(app)(environ_for("/", headers=headers))
    ctx: FCContext = app.environ["fc.context"]
    assert isinstance(ctx, FCContext)
    assert (ctx.request_id, ctx.function_name, ctx.function_handler) == (RID, "fn", "index.handler")
    assert (ctx.function_memory, ctx.function_timeout, ctx.retry_count) == (512, 60, 2)
    assert (ctx.region, ctx.account_id, ctx.qualifier, ctx.version_id) == (
        "cn-hangzhou",
        "1234567890",
        "LATEST",
        "3",
    )
    assert (ctx.log_project, ctx.log_store, ctx.control_path) == ("proj", "store", "/http-invoke")
    with pytest.raises(AttributeError):
        ctx.region = "elsewhere"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        ctx.anything = 1  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        ctx.credentials.access_key_secret = "x"  # type: ignore[misc]


def test_context_fields_absent_are_none() -> None:
    app = Recorder()
    Harness(app)(environ_for("/"))
    ctx = app.environ["fc.context"]
    for name in (
        "function_name",
        "function_handler",
        "function_memory",
        "function_timeout",
        "region",
        "account_id",
        "qualifier",
        "version_id",
        "log_project",
        "log_store",
        "control_path",
        "retry_count",
        "base_path",
    ):
        assert getattr(ctx, name) is None, name


# --------------------------------------------------------------------------- hooks


class HookCalls:
    def __init__(self) -> None:
        self.contexts: list[FCContext] = []
        self.bare = 0

    def with_context(self, context: FCContext) -> None:
        self.contexts.append(context)

    def without_args(self) -> None:
        self.bare += 1


HOOK_REQUESTS = [
    pytest.param(
        "on_initialize", "POST", "/initialize", "/initialize", "Initialize", id="initialize"
    ),
    pytest.param("on_pre_stop", "GET", "/pre-stop", "/pre-stop", "PreStop", id="pre-stop"),
    pytest.param("on_pre_stop", "GET", "/pre-stop", None, "PreStop", id="pre-stop-no-control-path"),
    pytest.param(
        "on_pre_freeze", "GET", "/pre-freeze", "/pre-freeze", "PreFreeze", id="pre-freeze"
    ),
    pytest.param(
        "on_pre_freeze", "GET", "/pre-freeze", None, "PreFreeze", id="pre-freeze-no-control-path"
    ),
    pytest.param(
        "on_initialize", "POST", "/initialize", None, "Initialize", id="initialize-no-control-path"
    ),
]


@pytest.mark.parametrize(("option", "method", "path", "control", "word"), HOOK_REQUESTS)
def test_hook_answered_by_shim(
    option: str, method: str, path: str, control: str | None, word: str
) -> None:
    hooks = HookCalls()
    app = Recorder()
    harness = Harness(app, {option: hooks.with_context})
    headers = {"X-Fc-Request-Id": RID}
    if control:
        headers["X-Fc-Control-Path"] = control
    result = harness(environ_for(path, method, headers))
    assert (result.code, result.body) == (200, b"OK\n")
    assert app.calls == 0
    assert [c.request_id for c in hooks.contexts] == [RID]
    assert result.header("X-Request-Id") == RID
    assert result.header("x-fc-status") is None
    assert harness.lines() == [(word, "Start", RID), (word, "End", RID)]


def test_hook_without_callable_answers_200() -> None:
    app = Recorder()
    result = Harness(app)(environ_for("/initialize", "POST", {"X-Fc-Control-Path": "/initialize"}))
    assert (result.code, result.body, app.calls) == (200, b"OK\n", 0)


def test_zero_argument_hook() -> None:
    hooks = HookCalls()
    harness = Harness(Recorder(), {"on_pre_stop": hooks.without_args})
    assert harness(environ_for("/pre-stop", headers={"X-Fc-Request-Id": RID})).code == 200
    assert hooks.bare == 1


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        pytest.param("POST", "/initialize", {}, id="initialize-without-request-id"),
        pytest.param("GET", "/pre-stop", {}, id="pre-stop-without-request-id"),
        pytest.param(
            "POST",
            "/initialize",
            {"X-Fc-Request-Id": RID, "X-Fc-Control-Path": "/http-invoke"},
            id="initialize-route-via-http-invoke",
        ),
        pytest.param("GET", "/initialize", {"X-Fc-Request-Id": RID}, id="wrong-method"),
        pytest.param("POST", "/pre-stop", {"X-Fc-Request-Id": RID}, id="pre-stop-wrong-method"),
        pytest.param("POST", "/initialize/", {"X-Fc-Request-Id": RID}, id="not-exact-path"),
        pytest.param("POST", f"{PREFIX}/initialize", {"X-Fc-Request-Id": RID}, id="under-prefix"),
        pytest.param("POST", "/invoke", {"X-Fc-Request-Id": RID}, id="invoke-without-control-path"),
    ],
)
def test_app_routes_named_like_hooks_reach_the_app(
    method: str, path: str, headers: dict[str, str]
) -> None:
    hooks = HookCalls()
    app = Recorder(body=b"the app's own route\n")
    options = {
        name: hooks.with_context for name in ("on_initialize", "on_pre_stop", "on_pre_freeze")
    }
    harness = Harness(app, options)
    result = harness(environ_for(path, method, headers, body=b"x" if method == "POST" else None))
    assert result.body == b"the app's own route\n"
    assert app.calls == 1
    assert hooks.contexts == []
    assert app.environ["PATH_INFO"] == path.removeprefix(PREFIX)
    assert [w for w, _, _ in harness.lines()] == ["Invoke", "Invoke"]


HOOK_MODULE = """\
CALLS = []


def init(context):
    CALLS.append(("init", context.request_id))


def stop():
    CALLS.append(("stop", None))
"""


@pytest.fixture
def hook_module(tmp_path: Path) -> Iterator[str]:
    """A tiny hook module on sys.path; sys.path and sys.modules restored afterwards."""
    name = f"fcm_test_hooks_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(HOOK_MODULE)
    saved_path = list(sys.path)
    sys.path.insert(0, str(tmp_path))
    try:
        yield name
    finally:
        sys.path[:] = saved_path
        sys.modules.pop(name, None)


def test_hooks_given_as_strings(hook_module: str) -> None:
    app = Recorder()
    harness = Harness(
        app, {"on_initialize": f"{hook_module}:init", "on_pre_stop": f"{hook_module}:stop"}
    )
    harness(
        environ_for(
            "/initialize", "POST", {"X-Fc-Request-Id": "r1", "X-Fc-Control-Path": "/initialize"}
        )
    )
    harness(environ_for("/pre-stop", "GET", {"X-Fc-Request-Id": "r2"}))
    assert sys.modules[hook_module].CALLS == [("init", "r1"), ("stop", None)]
    assert app.calls == 0


def test_bad_hook_strings_are_user_errors(hook_module: str) -> None:
    with pytest.raises(FCMigrateError, match="CALLS"):
        FCMiddleware(Recorder(), on_initialize=f"{hook_module}:CALLS")
    with pytest.raises(FCMigrateError, match="no_such_module_xyz"):
        FCMiddleware(Recorder(), on_pre_stop="no_such_module_xyz:f")


def test_hook_that_raises(caplog: pytest.LogCaptureFixture) -> None:
    def broken(context: FCContext) -> None:
        raise ValueError("hook exploded")

    app = Recorder()
    harness = Harness(app, {"on_initialize": broken})
    with caplog.at_level(logging.ERROR, logger="fcmigrate"):
        result = harness(
            environ_for(
                "/initialize", "POST", {"X-Fc-Request-Id": RID, "X-Fc-Control-Path": "/initialize"}
            )
        )
    assert result.code == 500
    assert RID in result.body.decode()
    assert result.header("X-Request-Id") == RID
    assert app.calls == 0
    [record] = [r for r in caplog.records if r.name == "fcmigrate"]
    assert RID in record.getMessage()
    assert record.exc_info is not None and "hook exploded" in str(record.exc_info[1])
    assert "hook exploded" in caplog.text and "Traceback" in caplog.text
    assert harness.lines() == [("Initialize", "Start", RID), ("Initialize", "End", RID)]


# --------------------------------------------------------------------------- events


EVENT_HEADERS = {
    "X-Fc-Request-Id": RID,
    "X-Fc-Control-Path": "/invoke",
    "Content-Type": "application/octet-stream",
}


def test_event_without_route_is_404() -> None:
    app = Recorder()
    harness = Harness(app)
    result = harness(environ_for("/invoke", "POST", EVENT_HEADERS, body=b'{"k": 1}'))
    assert result.code == 404
    assert result.header("x-fc-status") == "404"
    text = result.body.decode()
    assert text.endswith("\n") and text.count("\n") == 1
    assert "--event-route" in text
    assert app.calls == 0
    assert harness.lines() == [("Invoke", "Start", RID), ("Invoke", "End", RID)]


@pytest.mark.parametrize("route", ["/events", "events"])
def test_event_forwarded_to_route(route: str) -> None:
    app = Recorder(body=b"handled\n")
    result = Harness(app, {"event_route": route})(
        environ_for("/invoke", "POST", EVENT_HEADERS, body=b'{"k": 1}')
    )
    assert (result.code, result.body) == (200, b"handled\n")
    assert result.header("x-fc-status") is None
    assert (app.environ["REQUEST_METHOD"], app.environ["PATH_INFO"]) == ("POST", "/events")
    assert app.request_body == b'{"k": 1}'


@pytest.mark.parametrize(
    "status", ["400 Bad Request", "404 Not Found", "500 Internal Server Error", "302 Found"]
)
def test_event_failure_from_app_is_signalled(status: str) -> None:
    app = Recorder(status=status)
    result = Harness(app, {"event_route": "/events", "fail_on_5xx": False})(
        environ_for("/invoke", "POST", EVENT_HEADERS, body=b"e")
    )
    assert result.status == status
    assert result.header("x-fc-status") == "404"


# --------------------------------------------------------------------------- Start / End lines


def _generator_app(seen: list[str]) -> Callable[[Environ, StartResponse], Iterable[bytes]]:
    def app(environ: Environ, start_response: StartResponse) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        try:
            yield b"a"
            yield b"b"
        finally:
            seen.append("closed")

    return app


def test_end_line_after_generator_is_closed() -> None:
    seen: list[str] = []
    log = io.StringIO()
    middleware = validator(FCMiddleware(validator(_generator_app(seen)), stream=log))
    statuses: list[str] = []
    body = middleware(
        environ_for("/", headers={"X-Fc-Request-Id": RID}), lambda s, h, e=None: statuses.append(s)
    )
    assert log.getvalue() == f"FC Invoke Start RequestId: {RID}\n"
    assert b"".join(body) == b"ab"
    assert log.getvalue() == f"FC Invoke Start RequestId: {RID}\n"
    body.close()  # type: ignore[attr-defined]
    assert seen == ["closed"]
    assert log.getvalue() == f"FC Invoke Start RequestId: {RID}\nFC Invoke End RequestId: {RID}\n"


def test_end_line_when_client_goes_away_before_reading() -> None:
    seen: list[str] = []
    log = io.StringIO()
    middleware = validator(FCMiddleware(validator(_generator_app(seen)), stream=log))
    body = middleware(environ_for("/", headers={"X-Fc-Request-Id": RID}), lambda s, h, e=None: None)
    body.close()  # type: ignore[attr-defined]
    assert log.getvalue().count("End") == 1


def test_end_line_immediately_for_list_response() -> None:
    log = io.StringIO()
    middleware = FCMiddleware(Recorder(), stream=log)
    body = middleware(environ_for("/", headers={"X-Fc-Request-Id": RID}), lambda s, h, e=None: None)
    assert log.getvalue() == f"FC Invoke Start RequestId: {RID}\nFC Invoke End RequestId: {RID}\n"
    assert body == [b"app\n"]


def test_end_line_when_app_raises() -> None:
    def boom(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        raise RuntimeError("boom")

    harness = Harness(boom)
    harness(environ_for("/", headers={"X-Fc-Request-Id": RID}))
    assert harness.lines() == [("Invoke", "Start", RID), ("Invoke", "End", RID)]


def test_end_line_when_app_raises_base_exception() -> None:
    def leaving(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        raise SystemExit(3)

    log = io.StringIO()
    with pytest.raises(SystemExit):
        FCMiddleware(leaving, stream=log)(
            environ_for("/", headers={"X-Fc-Request-Id": RID}), lambda *a: None
        )
    assert log.getvalue() == f"FC Invoke Start RequestId: {RID}\nFC Invoke End RequestId: {RID}\n"
    assert fcmigrate.request_id() is None


def test_lines_go_to_stdout_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    call(FCMiddleware(Recorder()), environ_for("/", headers={"X-Fc-Request-Id": RID}))
    out = capsys.readouterr().out
    assert out == f"FC Invoke Start RequestId: {RID}\nFC Invoke End RequestId: {RID}\n"


def test_no_lines_when_logging_is_off(capsys: pytest.CaptureFixture[str]) -> None:
    seen: list[str] = []
    result = call(FCMiddleware(_generator_app(seen), log_invocations=False), environ_for("/"))
    assert result.body == b"ab" and seen == ["closed"]
    assert capsys.readouterr().out == ""


def test_lines_whole_under_threads(tmp_path: Path) -> None:
    threads, per_thread = 8, 50
    seen: list[str] = []
    mismatches: list[tuple[str | None, str]] = []
    generator_app = _generator_app(seen)

    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if fcmigrate.request_id() != environ["fc.request_id"]:
            mismatches.append((fcmigrate.request_id(), environ["fc.request_id"]))
        if environ["PATH_INFO"] == "/gen":
            return generator_app(environ, start_response)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ab"]

    out_path = tmp_path / "stdout.log"
    errors: list[BaseException] = []
    with open(out_path, "w", encoding="utf-8") as stream:
        middleware = FCMiddleware(app, stream=stream)

        def worker(n: int) -> None:
            try:
                for i in range(per_thread):
                    path = "/gen" if i % 2 else "/list"
                    headers = {"X-Fc-Request-Id": f"t{n}-{i}"}
                    assert call(middleware, environ_for(path, headers=headers)).body == b"ab"
            except BaseException as exc:  # reported below, with the thread's failure
                errors.append(exc)

        pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join(30)
    assert errors == [] and mismatches == []
    lines = out_path.read_text(encoding="utf-8").splitlines(keepends=True)
    assert len(lines) == 2 * threads * per_thread
    order: dict[str, list[str]] = {}
    for line in lines:
        match = re.fullmatch(r"FC Invoke (Start|End) RequestId: (t\d-\d+)\n", line)
        assert match, repr(line)
        order.setdefault(match[2], []).append(match[1])
    assert len(order) == threads * per_thread
    assert all(events == ["Start", "End"] for events in order.values())
    assert len(seen) == threads * per_thread // 2


# --------------------------------------------------------------------------- failure signal


def test_app_raises_before_start_response(caplog: pytest.LogCaptureFixture) -> None:
    def boom(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        raise RuntimeError("kaboom in the app")

    with caplog.at_level(logging.ERROR, logger="fcmigrate"):
        result = Harness(boom)(environ_for("/", headers={"X-Fc-Request-Id": RID}))
    assert result.code == 500
    assert RID in result.body.decode()
    assert "kaboom" not in result.body.decode()
    assert result.header("x-fc-status") == "404"
    assert result.header("X-Request-Id") == RID
    [record] = [r for r in caplog.records if r.name == "fcmigrate"]
    assert RID in record.getMessage()
    assert record.exc_info is not None and "kaboom in the app" in caplog.text


def test_app_raises_after_start_response(caplog: pytest.LogCaptureFixture) -> None:
    def late_boom(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        raise RuntimeError("late kaboom")

    with caplog.at_level(logging.ERROR, logger="fcmigrate"):
        result = Harness(late_boom)(environ_for("/", headers={"X-Fc-Request-Id": RID}))
    assert result.starts == 2
    assert result.code == 500
    assert RID in result.body.decode()
    assert result.header("x-fc-status") == "404"
    assert "late kaboom" in caplog.text


@pytest.mark.parametrize(
    ("status", "fail_on_5xx", "expected"),
    [
        pytest.param("500 Internal Server Error", True, "404", id="500"),
        pytest.param("503 Service Unavailable", True, "404", id="503"),
        pytest.param("500 Internal Server Error", False, None, id="500-fail-on-5xx-off"),
        pytest.param("404 Not Found", True, None, id="404-is-success"),
        pytest.param("400 Bad Request", True, None, id="400-is-success"),
        pytest.param("302 Found", True, None, id="302"),
        pytest.param("200 OK", True, None, id="200"),
    ],
)
def test_fc_status_for_app_answers(status: str, fail_on_5xx: bool, expected: str | None) -> None:
    result = Harness(Recorder(status=status), {"fail_on_5xx": fail_on_5xx})(environ_for("/"))
    assert result.status == status
    assert result.header("x-fc-status") == expected


def test_app_raising_is_signalled_even_with_fail_on_5xx_off() -> None:
    def boom(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        raise RuntimeError("boom")

    result = Harness(boom, {"fail_on_5xx": False})(environ_for("/"))
    assert result.header("x-fc-status") == "404"


class ClosingBody:
    def __init__(self) -> None:
        self.closed = 0
        self.fail_close = False

    def __iter__(self) -> Iterator[bytes]:
        yield b"body"

    def close(self) -> None:
        self.closed += 1
        if self.fail_close:
            raise OSError("close failed")


def _closing_app(body: ClosingBody) -> Callable[[Environ, StartResponse], Iterable[bytes]]:
    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return body

    return app


def test_close_of_app_iterable_is_called() -> None:
    body = ClosingBody()
    harness = Harness(_closing_app(body))
    assert harness(environ_for("/")).body == b"body"
    assert body.closed == 1


def test_end_line_even_when_close_raises() -> None:
    body = ClosingBody()
    body.fail_close = True
    log = io.StringIO()
    middleware = FCMiddleware(_closing_app(body), stream=log)
    with pytest.raises(OSError, match="close failed"):
        call(middleware, environ_for("/", headers={"X-Fc-Request-Id": RID}))
    assert body.closed == 1
    assert log.getvalue().endswith(f"FC Invoke End RequestId: {RID}\n")


def test_file_wrapper_returned_as_is() -> None:
    wrapped: list[Any] = []

    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        wrapped.append(environ["wsgi.file_wrapper"](io.BytesIO(b"file body")))
        return wrapped[0]  # type: ignore[no-any-return]

    log = io.StringIO()
    middleware = FCMiddleware(app, stream=log)
    environ = environ_for(
        "/", headers={"X-Fc-Request-Id": RID}, **{"wsgi.file_wrapper": FileWrapper}
    )
    result = middleware(environ, lambda s, h, e=None: None)
    assert result is wrapped[0]
    assert log.getvalue().count("End") == 1
    assert b"".join(result) == b"file body"


# --------------------------------------------------------------------------- trust


def test_untrusted_fc_headers_are_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "ALIBABA_CLOUD_ACCESS_KEY_ID",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
        "ALIBABA_CLOUD_SECURITY_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
    hooks = HookCalls()
    app = Recorder()
    harness = Harness(app, {"trust_fc_headers": False, "on_initialize": hooks.with_context})
    headers = {
        "X-Fc-Request-Id": "client-chosen-id",
        "X-Fc-Control-Path": "/initialize",
        "X-Fc-Base-Path": "/app/",
        "X-Fc-Function-Name": "spoofed",
        **CREDENTIAL_HEADERS,
    }
    result = harness(environ_for("/initialize", "POST", headers, body=b"x"))
    assert app.calls == 1 and hooks.contexts == []
    assert not [k for k in app.environ if k.startswith("HTTP_X_FC_")]
    rid = app.environ["fc.request_id"]
    assert rid != "client-chosen-id" and _is_new_id(rid)
    assert result.header("X-Request-Id") == rid
    ctx = app.environ["fc.context"]
    assert (ctx.control_path, ctx.function_name, ctx.base_path) == (None, None, None)
    assert not ctx.credentials
    assert SECRET not in _strings(app.environ)


def test_untrusted_scf_request_id_is_dropped() -> None:
    # x-scf-request-id is read as a request ID: untrusted, a client must not choose it.
    app = Recorder()
    harness = Harness(app, {"trust_fc_headers": False})
    result = harness(environ_for("/", headers={"X-Scf-Request-Id": "client-chosen-scf"}))
    rid = app.environ["fc.request_id"]
    assert _is_new_id(rid)
    assert result.header("X-Request-Id") == rid
    assert "client-chosen-scf" not in harness.log.getvalue()
    assert not [k for k in app.environ if k.startswith("HTTP_X_SCF_")]


def test_untrusted_headers_cannot_trigger_hook_or_event() -> None:
    hooks = HookCalls()
    app = Recorder()
    harness = Harness(app, {"trust_fc_headers": False, "on_pre_stop": hooks.with_context})
    harness(environ_for("/pre-stop", headers={"X-Fc-Request-Id": RID}))
    harness(environ_for("/invoke", "POST", EVENT_HEADERS, body=b"e"))
    assert app.calls == 2 and hooks.contexts == []
    assert (app.environ["REQUEST_METHOD"], app.environ["PATH_INFO"]) == ("POST", "/invoke")


def test_untrusted_proxy_prefix_in_path_still_moves() -> None:
    app = Recorder()
    Harness(app, {"trust_fc_headers": False})(environ_for(f"{PREFIX}/a"))
    assert (app.environ["SCRIPT_NAME"], app.environ["PATH_INFO"]) == (PREFIX, "/a")


def test_app_reusing_one_headers_list_gets_one_request_id_each_time() -> None:
    # PEP 3333 lets an app pass the same list every time; the middleware must not grow it.
    shared = [("Content-Type", "text/plain")]

    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        start_response("503 Service Unavailable", shared)
        return [b"busy"]

    harness = Harness(app)
    for rid in ("r1", "r2", "r3"):
        result = harness(environ_for("/", headers={"X-Fc-Request-Id": rid}))
        assert result.all("X-Request-Id") == [rid]
        assert result.all("x-fc-status") == ["404"]
    assert shared == [("Content-Type", "text/plain")]


# --------------------------------------------------------------------------- docs/middleware.md

DOCS_PAGE = REPO / "docs" / "middleware.md"
BEGIN = "<!-- BEGIN reference: generated from the fcmigrate/runtime/middleware.py docstring -->"
END = "<!-- END reference -->"


def _inline(text: str) -> str:
    """reST inline markup -> Markdown: roles and ``literals`` become code spans."""

    def role(match: re.Match[str]) -> str:
        kind, target = match[1], match[2]
        if target.startswith("~"):
            target = target[1:].rsplit(".", 1)[-1]
        return f"`{target}()`" if kind == "func" else f"`{target}`"

    text = re.sub(r":(\w+):`([^`]+)`", role, text)
    return re.sub(r"``([^`]+)``", r"`\1`", text)


def docstring_markdown(doc: str | None = None) -> str:
    """The middleware's module docstring as the Markdown of the reference section."""
    lines = (doc or fcmigrate.runtime.middleware.__doc__ or "").strip().splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        param = re.match(r":param (\w+): (.*)", line)
        if line.endswith("::"):
            out.append(_inline(line[:-1]))
            block: list[str] = []
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith("    ")):
                block.append(lines[i][4:])
                i += 1
            while block and not block[0]:
                block.pop(0)
            while block and not block[-1]:
                block.pop()
            out += ["", "```python", *block, "```", ""]
        elif param:
            out.append(f"- `{param[1]}`: {_inline(param[2])}")
        elif line.startswith("    ") and out and out[-1].startswith("- "):
            out[-1] += " " + _inline(line.strip())
        else:
            out.append(_inline(line))
    return "\n".join(out).strip() + "\n"


def _reference_section(page: str) -> str:
    assert BEGIN in page and END in page, f"{DOCS_PAGE} lacks the {BEGIN!r} ... {END!r} markers"
    return page.split(BEGIN, 1)[1].split(END, 1)[0].strip() + "\n"


def test_docs_page_carries_the_docstring() -> None:
    expected = docstring_markdown()
    assert _reference_section(DOCS_PAGE.read_text(encoding="utf-8")) == expected, (
        "docs/middleware.md is out of date with the FCMiddleware docstring; "
        "regenerate it with: PYTHONPATH=tests .venv/bin/python tests/runtime/test_middleware.py"
    )


def test_docs_page_has_every_docstring_paragraph() -> None:
    # Belt and braces, independent of the converter: every sentence-bearing paragraph's
    # words appear in order on the page.
    def words(text: str) -> str:
        text = re.sub(r":\w+:`~(?:[\w.]+\.)?(\w+)`", r"\1", text)
        text = re.sub(r":\w+:`([\w.]+)`", r"\1", text)
        text = re.sub(r":param (\w+):", r"\1:", text)
        return " ".join(re.sub(r"[`*]|\(\)|^- ", "", text, flags=re.M).replace("::", ":").split())

    page = words(DOCS_PAGE.read_text(encoding="utf-8"))
    paragraphs = (fcmigrate.runtime.middleware.__doc__ or "").strip().split("\n\n")
    assert len(paragraphs) >= 8
    for paragraph in paragraphs:
        assert words(paragraph) in page, paragraph


def test_docstring_converter() -> None:
    doc = (
        "Intro ``code`` and :func:`fcmigrate.request_id` and :class:`~a.b.C`::\n\n"
        "    x = 1\n\n"
        "**Bold.** text\n\n"
        ":param a: first\n:param b: second\n    continued.\n"
    )
    assert docstring_markdown(doc) == (
        "Intro `code` and `fcmigrate.request_id()` and `C`:\n\n"
        "```python\nx = 1\n```\n\n"
        "**Bold.** text\n\n"
        "- `a`: first\n- `b`: second continued.\n"
    )


def _python_blocks(page: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", page, flags=re.S)


def _run_snippet(
    code: str, tmp_path: Path, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "snippet.py"
    script.write_text(code, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "FCMIGRATE_"))}
    return subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd or tmp_path,
        env=env,
        check=False,
    )


def test_documented_flask_logging_works(tmp_path: Path) -> None:
    [snippet] = [
        b for b in _python_blocks(DOCS_PAGE.read_text(encoding="utf-8")) if "dictConfig(" in b
    ]
    harness = (
        "\nfrom werkzeug.test import Client\n"
        "resp = Client(app).get('/', headers={'X-Fc-Request-Id': 'doc-rid-flask'})\n"
        "assert resp.status_code == 200, resp.status\n"
        "assert resp.headers['X-Request-Id'] == 'doc-rid-flask'\n"
        "import logging\n"
        "assert not logging.getLogger('fcmigrate').disabled\n"
    )
    done = _run_snippet(snippet + harness, tmp_path)
    assert done.returncode == 0, done.stderr
    assert re.search(r"INFO \[doc-rid-flask\] \S+: ", done.stderr), done.stderr


def test_documented_django_logging_works(tmp_path: Path) -> None:
    [snippet] = [
        b for b in _python_blocks(DOCS_PAGE.read_text(encoding="utf-8")) if "LOGGING = {" in b
    ]
    harness = f"""{snippet}

import logging
import django
from django.conf import settings
from django.http import HttpResponse
from django.urls import path


def view(request):
    logging.getLogger("myapp.views").info("handling %s", request.path)
    return HttpResponse("ok")


urlpatterns = [path("", view)]
settings.configure(
    DEBUG=False,
    SECRET_KEY="doc-test",
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=[],
    MIDDLEWARE=[],
    LOGGING=LOGGING,
)
django.setup()

from django.core.wsgi import get_wsgi_application
from werkzeug.test import Client

from fcmigrate import FCMiddleware

client = Client(FCMiddleware(get_wsgi_application()))
# Responses are closed, as a WSGI server does: that ends the request's context.
with client.get("/", headers={{"X-Fc-Request-Id": "doc-rid-dj"}}) as resp:
    assert resp.status_code == 200
with client.get("/nope", headers={{"X-Fc-Request-Id": "doc-rid-404"}}) as resp:
    assert resp.status_code == 404
logging.getLogger("myapp").info("after the request")
"""
    done = _run_snippet(harness, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "[doc-rid-dj] myapp.views: handling /" in done.stderr, done.stderr
    assert "[doc-rid-404] django.request: Not Found: /nope" in done.stderr, done.stderr
    assert "[-] myapp: after the request" in done.stderr, done.stderr


def test_documented_django_wsgi_py_works(tmp_path: Path) -> None:
    [snippet] = [
        b
        for b in _python_blocks(DOCS_PAGE.read_text(encoding="utf-8"))
        if "get_wsgi_application()" in b
    ]
    site = DJANGO_SAMPLE
    harness = f"""import os, sys
sys.path.insert(0, {str(site)!r})
os.environ["DJANGO_DB_PATH"] = {str(tmp_path / "db.sqlite3")!r}
{snippet}
from werkzeug.test import Client

resp = Client(application).get("{PREFIX}/whoami/", headers={{"X-Fc-Access-Key-Secret": "s3"}})
data = resp.get_json()
assert data["script_name"] == "{PREFIX}", data
assert data["reverse_notes"] == "{PREFIX}/notes/", data
assert "X-Fc-Access-Key-Secret" not in data["headers"], data
"""
    done = _run_snippet(harness, tmp_path)
    assert done.returncode == 0, done.stderr


if __name__ == "__main__":
    # Regenerate the reference section of docs/middleware.md from the docstring.
    text = DOCS_PAGE.read_text(encoding="utf-8")
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    DOCS_PAGE.write_text(f"{head}{BEGIN}\n\n{docstring_markdown()}\n{END}{tail}", encoding="utf-8")
    print(f"wrote {DOCS_PAGE}")


def test_request_id_stays_current_while_a_streamed_body_runs() -> None:
    seen: list[str | None] = []

    def streaming(environ: Environ, start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        for chunk in (b"a", b"b"):
            seen.append(fcmigrate.request_id())
            yield chunk

    harness = Harness(streaming)
    result = harness(environ_for("/", headers={"X-Fc-Request-Id": RID}))
    assert result.body == b"ab"
    assert seen == [RID, RID]
    assert fcmigrate.request_id() is None
    assert harness.lines() == [("Invoke", "Start", RID), ("Invoke", "End", RID)]


# --------------------------------------------------------------------------- scheduled jobs


def _timer_call(name: str) -> Environ:
    body = timer_event(name, "2026-01-01T00:00:00Z")
    headers = {"X-Fc-Request-Id": RID, "X-Fc-Control-Path": "/invoke"}
    return environ_for("/invoke", method="POST", headers=headers, body=body)


def test_a_url_job_is_app_engine_s_cron_request_and_clients_cannot_send_its_header() -> None:
    app = Recorder()
    jobs = Jobs([{"name": "nightly", "kind": "url", "target": "/tasks/nightly?full=1"}])
    harness = Harness(app, {"jobs": jobs})
    result = harness(_timer_call("nightly"))
    assert result.code == 200 and result.header("X-Request-Id") == RID
    seen = app.environ
    assert (seen["REQUEST_METHOD"], seen["PATH_INFO"], seen["QUERY_STRING"]) == (
        "GET",
        "/tasks/nightly",
        "full=1",
    )
    assert seen["HTTP_X_APPENGINE_CRON"] == "true"
    # An ordinary request that claims to be cron loses the header.
    harness(environ_for("/tasks/nightly", headers={"X-Appengine-Cron": "true"}))
    assert "HTTP_X_APPENGINE_CRON" not in app.environ
    assert harness.lines() == [
        ("Invoke", e, rid) for rid in (RID, app.environ["fc.request_id"]) for e in ("Start", "End")
    ]


def test_a_function_job_runs_and_other_payloads_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "fcm_test_job_module.py").write_text(
        "def run(event, context):\n    return [event['triggerName'], context.request_id]\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    app = Recorder()
    jobs = Jobs([{"name": "report", "kind": "function", "target": "fcm_test_job_module.run"}])
    harness = Harness(app, {"jobs": jobs})
    result = harness(_timer_call("report"))
    assert result.code == 200
    assert json.loads(result.body) == {"result": ["report", RID]}
    refused = harness(_timer_call("not-declared"))
    assert refused.code == 400 and app.calls == 0
    # Only a function with URL jobs strips App Engine's header: this one has none.
    harness(environ_for("/", headers={"X-Appengine-Cron": "true"}))
    assert app.environ["HTTP_X_APPENGINE_CRON"] == "true"
