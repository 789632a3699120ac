"""Redirects to literal paths keep FC's prefix: the table, then real Flask and Django."""

from __future__ import annotations

import http.client
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from wsgiref.validate import validator

import pytest
from helpers import StartServer
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.test import create_environ

from fcmigrate import FCMiddleware
from fcmigrate.runtime.redirects import prefixed

PREFIX = "/2016-08-15/proxy/svc/fn"
HOST = "abc.cn-hangzhou.fc.aliyuncs.com"


@dataclass
class Row:
    header: str
    sent: str
    expected: str
    path: str = PREFIX + "/private"
    host: str = HOST
    scheme: str = "http"
    options: dict[str, Any] | None = None


def _row(row: Row, id: str) -> Any:
    return pytest.param(row, id=id)


TABLE = [
    _row(Row("Location", "/login", PREFIX + "/login"), "root-relative"),
    _row(Row("Location", "/", PREFIX + "/"), "root"),
    _row(Row("location", "/login", PREFIX + "/login"), "lower-case-name"),
    _row(Row("Location", PREFIX + "/login", PREFIX + "/login"), "already-prefixed"),
    _row(Row("Location", PREFIX, PREFIX), "prefix-itself"),
    _row(Row("Location", PREFIX + "?a=1", PREFIX + "?a=1"), "prefix-with-query"),
    _row(
        Row(
            "Location", "/2016-08-15/proxy/svc/fn-other", PREFIX + "/2016-08-15/proxy/svc/fn-other"
        ),
        "segment-boundary-near-miss",
    ),
    _row(
        Row("Location", "/login?next=/private#top", PREFIX + "/login?next=/private#top"),
        "query-and-fragment-kept",
    ),
    _row(Row("Location", "/a%20b/", PREFIX + "/a%20b/"), "percent-encoded-kept"),
    _row(
        Row("Location", f"http://{HOST}/login", f"http://{HOST}{PREFIX}/login"),
        "same-host-http",
    ),
    _row(
        Row("Location", f"https://{HOST}/login?x=1", f"https://{HOST}{PREFIX}/login?x=1"),
        "same-host-https",
    ),
    _row(
        Row("Location", f"HTTPS://{HOST.upper()}/login", f"HTTPS://{HOST.upper()}{PREFIX}/login"),
        "same-host-any-case",
    ),
    _row(
        Row("Location", f"http://{HOST}:80/login", f"http://{HOST}:80{PREFIX}/login"),
        "same-host-default-port",
    ),
    _row(Row("Location", f"https://{HOST}", f"https://{HOST}{PREFIX}/"), "same-host-no-path"),
    _row(
        Row("Location", f"https://{HOST}?q=1", f"https://{HOST}{PREFIX}/?q=1"),
        "same-host-query-only",
    ),
    _row(
        Row("Location", f"https://{HOST}{PREFIX}/x", f"https://{HOST}{PREFIX}/x"),
        "same-host-already-prefixed",
    ),
    _row(
        Row("Location", f"http://{HOST}:8080/login", f"http://{HOST}:8080/login"),
        "same-host-other-port",
    ),
    _row(
        Row("Location", "https://other.example/login", "https://other.example/login"), "other-host"
    ),
    _row(Row("Location", f"ftp://{HOST}/login", f"ftp://{HOST}/login"), "other-scheme"),
    _row(Row("Location", "//evil.example/x", "//evil.example/x"), "scheme-relative"),
    _row(Row("Location", "/\\evil.example/x", "/\\evil.example/x"), "backslash-scheme-relative"),
    _row(Row("Location", "login", "login"), "relative-path"),
    _row(Row("Location", "../up", "../up"), "dot-relative-path"),
    _row(Row("Location", "?page=2", "?page=2"), "query-only"),
    _row(Row("Location", "", ""), "empty"),
    _row(Row("Content-Location", "/doc/1", PREFIX + "/doc/1"), "content-location"),
    _row(Row("Refresh", "0; url=/login", f"0; url={PREFIX}/login"), "refresh"),
    _row(Row("Refresh", "5;URL='/login'", f"5;URL='{PREFIX}/login'"), "refresh-quoted"),
    _row(Row("Refresh", '3, url="/a" ', f'3, url="{PREFIX}/a" '), "refresh-comma-double-quoted"),
    _row(Row("Refresh", "1; /login", f"1; {PREFIX}/login"), "refresh-without-url-equals"),
    _row(
        Row("Refresh", f"0; url=https://{HOST}/x", f"0; url=https://{HOST}{PREFIX}/x"),
        "refresh-same-host",
    ),
    _row(Row("Refresh", "0; url=//evil.example/", "0; url=//evil.example/"), "refresh-other-host"),
    _row(Row("Refresh", "30", "30"), "refresh-without-url"),
    _row(Row("Refresh", f"0; url={PREFIX}/x", f"0; url={PREFIX}/x"), "refresh-already-prefixed"),
    _row(Row("Link", "</style.css>; rel=preload", "</style.css>; rel=preload"), "other-header"),
    _row(Row("Location", "/login", "/login", path="/private"), "no-prefix-request"),
    _row(Row("Location", "/login", "/login", path="/2016-08-15/proxy/svc"), "no-prefix-short-path"),
    _row(
        Row(
            "Location", "/login", "/api/login", path="/api/private", options={"base_paths": "/api"}
        ),
        "base-path",
    ),
    _row(
        Row(
            "Location",
            "/login",
            PREFIX + "/api/login",
            path=PREFIX + "/api/x",
            options={"base_paths": "/api"},
        ),
        "prefix-and-base-path",
    ),
]


def _redirecting_app(header: str, value: str) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("302 Found", [("Content-Type", "text/plain"), (header, value)])
        return [b""]

    return app


def _headers_of(app: Any, environ: dict[str, Any]) -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        seen.extend(headers)
        return lambda data: None

    body = app(environ, start_response)
    b"".join(body)
    close = getattr(body, "close", None)
    if close is not None:
        close()
    return seen


@pytest.mark.parametrize("row", TABLE)
def test_url_headers_keep_the_prefix(row: Row) -> None:
    middleware = FCMiddleware(
        validator(_redirecting_app(row.header, row.sent)),
        log_invocations=False,
        **(row.options or {}),
    )
    environ = create_environ(base_url=f"{row.scheme}://{row.host}")
    environ["PATH_INFO"] = row.path
    headers = _headers_of(validator(middleware), environ)
    assert [v for k, v in headers if k == row.header] == [row.expected]


def test_request_host_from_server_name_when_no_host_header() -> None:
    middleware = FCMiddleware(
        _redirecting_app("Location", "http://fn.example:8080/x"), log_invocations=False
    )
    environ = create_environ(base_url="http://fn.example:8080")
    del environ["HTTP_HOST"]
    environ["PATH_INFO"] = PREFIX + "/"
    headers = dict(_headers_of(middleware, environ))
    assert headers["Location"] == f"http://fn.example:8080{PREFIX}/x"


def test_existing_script_name_is_kept_too() -> None:
    middleware = FCMiddleware(_redirecting_app("Location", "/login"), log_invocations=False)
    environ = create_environ()
    environ["SCRIPT_NAME"] = "/mount"
    environ["PATH_INFO"] = PREFIX + "/x"
    assert dict(_headers_of(middleware, environ))["Location"] == f"/mount{PREFIX}/login"


def test_app_headers_list_is_not_changed() -> None:
    # PEP 3333 lets an app pass the same list on every request.
    shared = [("Location", "/login")]

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("302 Found", shared)
        return [b""]

    middleware = FCMiddleware(app, log_invocations=False)
    for _ in range(2):
        environ = create_environ()
        environ["PATH_INFO"] = PREFIX + "/x"
        assert dict(_headers_of(middleware, environ))["Location"] == PREFIX + "/login"
    assert shared == [("Location", "/login")]


URL_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=40)


@settings(max_examples=500, deadline=None)
@given(
    url=st.one_of(
        URL_TEXT,
        URL_TEXT.map(lambda text: "/" + text),
        URL_TEXT.map(lambda text: f"https://{HOST}/" + text),
        URL_TEXT.map(lambda text: f"http://other.example/{text}"),
    )
)
def test_prefixed_is_idempotent_and_only_ever_adds_the_prefix(url: str) -> None:
    once = prefixed(url, PREFIX, HOST)
    assert prefixed(once, PREFIX, HOST) == once
    assert once == url or once.replace(PREFIX, "", 1) == url
    if not url.startswith(("/", f"https://{HOST}")) or url.startswith(("//", "/\\")):
        assert once == url


# --------------------------------------------------------------------------- real apps


FLASK_APP = """\
from flask import Flask, redirect

app = Flask(__name__)


@app.get("/private")
def private():
    return redirect("/login")
"""

DJANGO_APP = """\
from django.conf import settings

settings.configure(
    DEBUG=False,
    ALLOWED_HOSTS=["*"],
    SECRET_KEY="redirect-test",
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes"],
    MIDDLEWARE=[
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
    ],
    SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies",
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
)

import django

django.setup()

from django.contrib.auth.decorators import login_required
from django.core.wsgi import get_wsgi_application
from django.http import HttpResponse
from django.urls import path


@login_required
def private(request):
    return HttpResponse("secret")


urlpatterns = [path("private/", private)]
application = get_wsgi_application()
"""


def _location(port: int, path: str) -> tuple[int, str | None]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        conn.request("GET", path, headers={"Host": HOST})
        resp = conn.getresponse()
        resp.read()
        return resp.status, resp.getheader("Location")
    finally:
        conn.close()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("source", "spec", "path", "expected"),
    [
        pytest.param(FLASK_APP, "flaskapp:app", "/private", f"{PREFIX}/login", id="flask-redirect"),
        pytest.param(
            DJANGO_APP,
            "djangoapp:application",
            "/private/",
            f"{PREFIX}/accounts/login/?next={PREFIX}/private/",
            id="django-login-required",
        ),
    ],
)
def test_real_app_redirect_keeps_the_prefix(
    start_server: StartServer, tmp_path: Path, source: str, spec: str, path: str, expected: str
) -> None:
    module = spec.partition(":")[0]
    (tmp_path / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    server = start_server(
        [sys.executable, "-m", "fcmigrate", "serve", spec, "--workers", "1"], cwd=tmp_path
    )
    status, location = _location(server.port, PREFIX + path)
    assert (status, location) == (302, expected), server.stderr()
    # Without FC's prefix in the request, the app's own answer is untouched.
    status, location = _location(server.port, path)
    assert (status, location) == (302, expected.replace(PREFIX, "")), server.stderr()
