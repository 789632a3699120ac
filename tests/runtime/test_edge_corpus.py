"""A named corpus of edge cases for the prefix logic, each with its expected split.

Two tables. ``CORPUS`` runs environs through :class:`fcmigrate.FCMiddleware` (both
sides checked by :func:`wsgiref.validate.validator`): what the middleware does with
whatever PATH_INFO, SCRIPT_NAME and headers a server hands it. ``WIRE`` sends raw
requests to the real generated bootstrap, for what gunicorn does before the middleware
sees anything: percent-decoding, joining duplicate headers, dropping headers spelt
with ``_``, refusing raw non-ASCII bytes.
"""

from __future__ import annotations

import io
import json
import re
import socket
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from wsgiref.util import setup_testing_defaults
from wsgiref.validate import validator

import pytest
from helpers import FLASK_SAMPLE, Server, launch, wrap_sample

from fcmigrate import FCMiddleware

P = "/2016-08-15/proxy/svc/fn"
QP = "/2016-08-15/proxy/svc.LATEST/fn"
#: FC passes a path (with query) of up to 4 KB after its own prefix: the longest app path.
LONG = "a" * (4096 - len("/hello/"))
RID = "1-67adb489-15d49184-2d4fa002fa2b"
#: The shape of an ID the middleware makes when FC sent none: FC 3.0's own.
NEW_ID = re.compile(r"1-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{12}")


@dataclass
class Row:
    id: str
    path: str
    expected: tuple[str, str]
    headers: dict[str, str] = field(default_factory=dict)
    base_paths: str = ""
    script_name: str = ""
    #: The request ID the app sees; ``"new"`` means a freshly made UUID.
    request_id: str = "new"


CORPUS = [
    # --- no prefix at all
    Row("no-prefix", "/hello", ("", "/hello")),
    Row("root", "/", ("", "/")),
    Row("empty-path-info", "", ("", "")),
    # --- FC 2.0 proxy prefix
    Row("exact-prefix", P, (P, "")),
    Row("prefix-trailing-slash", P + "/", (P, "/")),
    Row("prefix-and-path", P + "/hello/x", (P, "/hello/x")),
    Row("qualifier", QP + "/x", (QP, "/x")),
    Row("qualifier-header-without-it", QP + "/x", (QP, "/x"), {"X_FC_BASE_PATH": P + "/"}),
    Row("prefix-other-is-another-function", P + "-other/x", (P + "-other", "/x")),
    Row("fnx-is-another-function", P + "x/y", (P + "x", "/y")),
    Row("no-function-segment", "/2016-08-15/proxy/svc", ("", "/2016-08-15/proxy/svc")),
    Row("empty-function-segment", "/2016-08-15/proxy/svc/", ("", "/2016-08-15/proxy/svc/")),
    Row(
        "double-slash-inside-prefix",
        "/2016-08-15/proxy//svc/fn/x",
        ("", "/2016-08-15/proxy//svc/fn/x"),
    ),
    Row("double-slash-before-prefix", "/" + P + "/x", ("", "/" + P + "/x")),
    Row("double-slash-after-prefix", P + "//x", (P, "//x")),
    Row("dot-segments-kept", P + "/../x", (P, "/../x")),
    Row("not-a-date", "/2016-8-15/proxy/svc/fn/x", ("", "/2016-8-15/proxy/svc/fn/x")),
    Row("capital-proxy", "/2016-08-15/Proxy/svc/fn/x", ("", "/2016-08-15/Proxy/svc/fn/x")),
    Row("prefix-twice-moves-once", P + P + "/x", (P, P + "/x")),
    # --- percent-encoding: the server decodes PATH_INFO, so %2F arrives as "/" ...
    Row("pct-2f-decoded-by-server", P + "/a/b", (P, "/a/b")),
    # ... unless it was double-encoded (%252F), which arrives as a literal "%2F".
    Row("pct-2f-raw-after-prefix", P + "/a%2Fb", (P, "/a%2Fb")),
    # A raw %2F inside the prefix splits segments differently: "x" looks like the function.
    Row(
        "pct-2f-raw-inside-prefix",
        "/2016-08-15/proxy/svc%2Ffn/x",
        ("/2016-08-15/proxy/svc%2Ffn/x", ""),
    ),
    # --- latin-1: UTF-8 bytes as PEP 3333 strings, and any byte in a segment
    Row("utf8-bytes-as-latin1", P + "/caf\xc3\xa9", (P, "/caf\xc3\xa9")),
    Row(
        "latin1-byte-in-service",
        "/2016-08-15/proxy/sv\xe9/fn/x",
        ("/2016-08-15/proxy/sv\xe9/fn", "/x"),
    ),
    Row("latin1-ff-byte", P + "/\xff", (P, "/\xff")),
    Row("4kb-path", P + "/hello/" + LONG, (P, "/hello/" + LONG)),
    # --- a SCRIPT_NAME the server already set (a mount point) is kept, the prefix appended
    Row("pre-existing-script-name", P + "/x", ("/mnt" + P, "/x"), script_name="/mnt"),
    Row("pre-existing-script-name-no-prefix", "/x", ("/mnt", "/x"), script_name="/mnt"),
    # --- x-fc-base-path: trusted only in the proxy form and only when the path is under it
    Row("base-path-header-slash", P + "/x", (P, "/x"), {"X_FC_BASE_PATH": P + "/"}),
    Row("base-path-header-no-slash", P + "/x", (P, "/x"), {"X_FC_BASE_PATH": P}),
    Row("base-path-header-qualifier", QP + "/x", (QP, "/x"), {"X_FC_BASE_PATH": QP + "/"}),
    Row("base-path-header-get-fc3-gateway", "/get", ("", "/get"), {"X_FC_BASE_PATH": "/get"}),
    Row("base-path-header-get-below", "/get/x", ("", "/get/x"), {"X_FC_BASE_PATH": "/get"}),
    Row(
        "base-path-header-mismatched",
        P + "/x",
        (P, "/x"),
        {"X_FC_BASE_PATH": "/2016-08-15/proxy/other/fn/"},
    ),
    Row("base-path-header-path-not-under-it", "/x", ("", "/x"), {"X_FC_BASE_PATH": P + "/"}),
    Row("base-path-header-not-proxy-form", "/api/x", ("", "/api/x"), {"X_FC_BASE_PATH": "/api"}),
    Row("base-path-header-garbage", "/x", ("", "/x"), {"X_FC_BASE_PATH": "not a path \xe9"}),
    # Two headers joined by the server: not the proxy form, so the path alone decides.
    Row("base-path-header-duplicate", P + "/x", (P, "/x"), {"X_FC_BASE_PATH": f"{P}/,{P}/"}),
    # --- configured base paths (custom-domain routes)
    Row("base-path", "/api/x", ("/api", "/x"), base_paths="/api"),
    Row("base-path-exact", "/api", ("/api", ""), base_paths="/api"),
    Row("base-path-near-miss", "/apix", ("", "/apix"), base_paths="/api"),
    Row("base-path-prod-not-products", "/products", ("", "/products"), base_paths="/prod"),
    Row("base-path-after-prefix", P + "/api/x", (P + "/api", "/x"), base_paths="/api"),
    Row("base-path-longest-wins", "/api/v1/x", ("/api/v1", "/x"), base_paths="/api,/api/v1"),
    Row("base-path-slash-alone-ignored", "/x", ("", "/x"), base_paths="/"),
    Row("base-path-written-loosely", "/api/x", ("/api", "/x"), base_paths=" api/ "),
    # --- client-sent headers that must not move anything
    Row("client-script-name-header", "/x", ("", "/x"), {"SCRIPT_NAME": "/evil"}),
    Row("client-path-info-header", P + "/x", (P, "/x"), {"PATH_INFO": "/evil"}),
    # --- the request ID
    Row("request-id-kept", "/x", ("", "/x"), {"X_FC_REQUEST_ID": RID}, request_id=RID),
    # gunicorn joins repeated headers with ","; the result is still one printable word.
    Row(
        "request-id-duplicate-joined",
        "/x",
        ("", "/x"),
        {"X_FC_REQUEST_ID": "a,b"},
        request_id="a,b",
    ),
    Row("request-id-with-space-replaced", "/x", ("", "/x"), {"X_FC_REQUEST_ID": "a b"}),
    Row("request-id-empty-replaced", "/x", ("", "/x"), {"X_FC_REQUEST_ID": ""}),
    Row("request-id-too-long-replaced", "/x", ("", "/x"), {"X_FC_REQUEST_ID": "r" * 129}),
    Row("request-id-non-ascii-replaced", "/x", ("", "/x"), {"X_FC_REQUEST_ID": "caf\xe9"}),
]


class Recorder:
    def __init__(self) -> None:
        self.environ: dict[str, Any] = {}

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        self.environ = dict(environ)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]


def call(row: Row) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    app = Recorder()
    middleware = FCMiddleware(validator(app), base_paths=row.base_paths, stream=io.StringIO())
    environ: dict[str, Any] = {
        "PATH_INFO": row.path,
        "SCRIPT_NAME": row.script_name,
        "QUERY_STRING": "",
        **{"HTTP_" + name: value for name, value in row.headers.items()},
    }
    setup_testing_defaults(environ)
    got: list[tuple[str, str]] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        got.extend(headers)
        return lambda data: None

    result = validator(middleware)(environ, start_response)
    b"".join(result)
    result.close()
    return app.environ, got


def test_corpus_is_large_and_named_uniquely() -> None:
    ids = [row.id for row in CORPUS]
    assert len(ids) == len(set(ids))
    assert len(CORPUS) >= 30


@pytest.mark.parametrize("row", CORPUS, ids=[row.id for row in CORPUS])
def test_edge_case(row: Row) -> None:
    seen, headers = call(row)
    assert (seen["SCRIPT_NAME"], seen["PATH_INFO"]) == row.expected
    assert seen["SCRIPT_NAME"] + seen["PATH_INFO"] == row.script_name + row.path
    # Client headers named like CGI variables stay plain headers.
    for name, value in row.headers.items():
        if not name.startswith("X_FC_"):
            assert seen["HTTP_" + name] == value
    rid = seen["fc.request_id"]
    if row.request_id == "new":
        assert NEW_ID.fullmatch(rid), rid
        assert rid != row.headers.get("X_FC_REQUEST_ID")
    else:
        assert rid == row.request_id
    assert [v for k, v in headers if k == "X-Request-Id"] == [rid]


# --------------------------------------------------------------------------- on the wire

KEY_SECRET = "wire-secret-" + uuid.uuid4().hex


@dataclass
class WireRow:
    id: str
    request: bytes
    status: int
    #: Fields of the sample's /whoami JSON that must have these values.
    whoami: dict[str, Any] = field(default_factory=dict)
    #: Header names the app must not see (gunicorn dropped them).
    absent: tuple[str, ...] = ()


def get(target: bytes, *headers: bytes) -> bytes:
    lines = [b"GET " + target + b" HTTP/1.1", b"Host: fc.example", *headers]
    return b"\r\n".join([*lines, b"Connection: close", b"", b""])


def post(target: bytes, *headers: bytes) -> bytes:
    return get(target, b"Content-Length: 0", *headers).replace(b"GET ", b"POST ", 1)


BP = P.encode()
WIRE = [
    WireRow("plain", get(BP + b"/whoami"), 200, {"script_name": P, "path": "/whoami"}),
    # gunicorn decodes %2F before the middleware: the encoded prefix is still FC's prefix.
    WireRow(
        "pct-2f-inside-prefix-decoded",
        get(b"/2016-08-15/proxy/svc%2Ffn/whoami"),
        200,
        {"script_name": P, "path": "/whoami"},
    ),
    # A double-encoded slash reaches the app as "%2F", not as a separator: no route.
    WireRow("pct-252f-stays-literal", get(BP + b"/whoami%252F"), 404),
    # gunicorn refuses raw non-ASCII bytes in the request line before any app code runs.
    WireRow("raw-latin1-byte-refused", get(BP + b"/hello/caf\xe9"), 400),
    WireRow("utf8-percent-encoded", get(BP + b"/hello/caf%C3%A9"), 200),
    WireRow(
        "duplicate-request-id-joined",
        get(BP + b"/whoami", b"X-Fc-Request-Id: a", b"X-Fc-Request-Id: b"),
        200,
        {"request_id": "a,b", "script_name": P},
    ),
    WireRow(
        "duplicate-base-path-joined-and-ignored",
        get(BP + b"/whoami", b"X-Fc-Base-Path: /a/", b"X-Fc-Base-Path: /b/"),
        200,
        {"script_name": P, "path": "/whoami"},
    ),
    # Header names with "_" are dropped by gunicorn (header_map "drop"): a spoofed
    # request ID, base path or credential never reaches the middleware.
    WireRow(
        "underscore-request-id-dropped",
        get(BP + b"/whoami", b"X_FC_REQUEST_ID: spoofed"),
        200,
        {"script_name": P},
        absent=("X_FC_REQUEST_ID", "X-Fc-Request-Id"),
    ),
    # FC's lifecycle call, with dashes: answered by the middleware, not the app ...
    WireRow(
        "control-path-initialize",
        post(b"/initialize", b"X-Fc-Control-Path: /initialize", b"X-Fc-Request-Id: i-1"),
        200,
    ),
    # ... spelt with "_" it never arrives, so the app answers (no such route).
    WireRow(
        "underscore-control-path-dropped",
        post(b"/initialize", b"X_FC_CONTROL_PATH: /initialize", b"X_FC_REQUEST_ID: i-2"),
        404,
    ),
    WireRow(
        "underscore-credential-dropped",
        get(BP + b"/whoami", b"X-FC-ACCESS-KEY_SECRET: " + KEY_SECRET.encode()),
        200,
        {"script_name": P},
        absent=("X-Fc-Access-Key-Secret", "X-Fc-Access-Key_secret"),
    ),
    WireRow(
        "client-script-name-ignored",
        get(BP + b"/whoami", b"SCRIPT_NAME: /evil", b"Script-Name: /evil"),
        200,
        {"script_name": P, "path": "/whoami"},
    ),
    WireRow(
        "4kb-path-under-prefix",
        get(BP + b"/hello/" + LONG.encode()),
        200,
    ),
]


@pytest.fixture(scope="module")
def wire_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The generated bootstrap of a copy of the Flask sample, one for the module."""
    root = tmp_path_factory.mktemp("corpus")
    project = wrap_sample(FLASK_SAMPLE, "app:app", root)
    server = launch([str(project / "bootstrap")], cwd=project, log_dir=root)
    try:
        yield server.wait_ready()
    finally:
        server.terminate()


def send_raw(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in header_lines)
    return int(status_line.split()[1]), headers, body


@pytest.mark.slow
@pytest.mark.parametrize("row", WIRE, ids=[row.id for row in WIRE])
def test_on_the_wire(row: WireRow, wire_server: Server) -> None:
    status, _, body = send_raw(wire_server.port, row.request)
    assert status == row.status, body[:300]
    if row.whoami or row.absent:
        data = json.loads(body)
        for key, value in row.whoami.items():
            assert data[key] == value, key
        for name in row.absent:
            assert name not in data["headers"]
        assert KEY_SECRET not in body.decode()
        if "request_id" not in row.whoami:
            assert NEW_ID.fullmatch(data["request_id"]), data["request_id"]


@pytest.mark.slow
def test_wire_server_never_logged_a_secret(wire_server: Server) -> None:
    (row,) = [row for row in WIRE if row.id == "underscore-credential-dropped"]
    assert send_raw(wire_server.port, row.request)[0] == 200
    assert KEY_SECRET not in wire_server.stdout() + wire_server.stderr()
