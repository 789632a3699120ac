"""HTTPS behind FC: ``X-Forwarded-Proto`` sets ``wsgi.url_scheme``, on FC only.

Whether FC sends the header is not documented, so both answers are tested: with it the
scheme follows it, without it the scheme stays ``http``.

Most HTTP tests connect from 127.0.0.2. gunicorn's own default trusts ``X-Forwarded-Proto``
from 127.0.0.1 (``forwarded_allow_ips``, meant for a proxy on the same machine); from any
other address it does not, as for FC's front end, so what those tests see is fcmigrate's
doing. Off FC, ``serve`` trusts no peer at all unless told to; the loopback tests show it.
"""

from __future__ import annotations

import http.client
import json
import shutil
import sys
from collections.abc import Iterator, Mapping
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from helpers import DJANGO_SAMPLE, Server, launch, migrate_django, python_env, running
from werkzeug.test import create_environ

from fcmigrate.runtime.middleware import FCMiddleware

PREFIX = "/2016-08-15/proxy/svc/fn"
FC_ENV = {"FC_FUNCTION_NAME": "fn", "FC_ACCOUNT_ID": "123", "FC_REGION": "cn-hangzhou"}
FOREIGN_ENV = (
    "FC_FUNC_CODE_PATH",
    "FC_FUNCTION_NAME",
    "FCMIGRATE_TRUST_FC_HOSTS",
    "DJANGO_SETTINGS_MODULE",
    "DJANGO_DEBUG",
    "DJANGO_ALLOWED_HOSTS",
    "FORWARDED_ALLOW_IPS",
)

SECURE_VIEW = """
from django.http import JsonResponse

urlpatterns.append(
    path(
        "secure/",
        lambda request: JsonResponse(
            {"is_secure": request.is_secure(), "url": request.build_absolute_uri()}
        ),
    )
)
"""
SSL_REDIRECT = """
SECURE_SSL_REDIRECT = True
"""
FLASK_APP = """
from flask import Flask, jsonify, request, url_for

app = Flask(__name__)


@app.get("/hello")
def hello():
    return "hello"


@app.get("/external")
def external():
    return jsonify(url=url_for("hello", _external=True), is_secure=request.is_secure)
"""


# --- the middleware ------------------------------------------------------------------------


def scheme_seen(headers: Mapping[str, str], **options: Any) -> str:
    seen: dict[str, Any] = {}

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.update(environ)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b""]

    environ = create_environ("/a", headers=dict(headers))
    list(FCMiddleware(app, stream=_Sink(), **options)(environ, lambda *a: lambda b: None))
    return str(seen["wsgi.url_scheme"])


class _Sink:
    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


@pytest.fixture
def on_fc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FC_FUNC_CODE_PATH", raising=False)
    monkeypatch.setenv("FC_FUNCTION_NAME", "fn")


@pytest.fixture
def off_fc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FC_FUNC_CODE_PATH", raising=False)
    monkeypatch.delenv("FC_FUNCTION_NAME", raising=False)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https", "https"),
        ("http", "http"),
        ("HTTPS", "https"),
        ("https, http", "https"),
        (" https ,https", "https"),
        ("ftp", "http"),
        ("", "http"),
        ("https http", "http"),
    ],
)
def test_forwarded_proto_on_fc(on_fc: None, value: str, expected: str) -> None:
    assert scheme_seen({"X-Forwarded-Proto": value}) == expected


def test_no_header_keeps_the_servers_scheme(on_fc: None) -> None:
    assert scheme_seen({}) == "http"


def test_forwarded_proto_ignored_off_fc(off_fc: None) -> None:
    assert scheme_seen({"X-Forwarded-Proto": "https"}) == "http"


def test_forwarded_proto_option_overrides_the_detection(off_fc: None) -> None:
    assert scheme_seen({"X-Forwarded-Proto": "https"}, forwarded_proto=True) == "https"


def test_func_code_path_also_means_fc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FC_FUNCTION_NAME", raising=False)
    monkeypatch.setenv("FC_FUNC_CODE_PATH", "/code/")
    assert scheme_seen({"X-Forwarded-Proto": "https"}) == "https"
    assert scheme_seen({"X-Forwarded-Proto": "https"}, forwarded_proto=False) == "http"


# --- real servers ----------------------------------------------------------------------------


def get_json(
    server: Server, path: str, headers: Mapping[str, str], source: str = "127.0.0.2"
) -> dict[str, Any]:
    conn = http.client.HTTPConnection(
        "127.0.0.1", server.port, timeout=10, source_address=(source, 0)
    )
    try:
        conn.request("GET", path, headers={"Host": "localhost", **headers})
        resp = conn.getresponse()
        body = resp.read()
        assert resp.status == 200, body[:300]
        result: dict[str, Any] = json.loads(body)
        return result
    finally:
        conn.close()


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Server]]:
    base = tmp_path_factory.mktemp("https")
    site = base / "django_site"
    shutil.copytree(DJANGO_SAMPLE, site, ignore=shutil.ignore_patterns("__pycache__"))
    urls = site / "mysite" / "urls.py"
    urls.write_text(urls.read_text(encoding="utf-8") + SECURE_VIEW, encoding="utf-8")
    ssl_site = base / "django_ssl_site"
    shutil.copytree(site, ssl_site)
    settings = ssl_site / "mysite" / "settings.py"
    settings.write_text(settings.read_text(encoding="utf-8") + SSL_REDIRECT, encoding="utf-8")
    flask_dir = base / "flask_ext"
    flask_dir.mkdir()
    (flask_dir / "extapp.py").write_text(FLASK_APP, encoding="utf-8")
    db_env = {"PYTHONDONTWRITEBYTECODE": "1", "DJANGO_DB_PATH": str(base / "db.sqlite3")}
    migrate_django(site, python_env(db_env, drop=FOREIGN_ENV))
    variants: dict[str, tuple[Path, str, dict[str, str]]] = {
        "django_fc": (site, "mysite.wsgi:application", FC_ENV),
        "django_off_fc": (site, "mysite.wsgi:application", {}),
        "django_ssl_fc": (ssl_site, "mysite.wsgi:application", FC_ENV),
        "django_ssl_off_fc": (ssl_site, "mysite.wsgi:application", {}),
        "flask_fc": (flask_dir, "extapp:app", FC_ENV),
        "flask_off_fc": (flask_dir, "extapp:app", {}),
        "flask_off_fc_trusting_loopback": (
            flask_dir,
            "extapp:app",
            {"GUNICORN_CMD_ARGS": "--forwarded-allow-ips 127.0.0.1"},
        ),
    }
    starts = {
        name: partial(
            launch,
            [sys.executable, "-m", "fcmigrate", "serve", app, "--workers", "1"],
            cwd=cwd,
            log_dir=base,
            env={**db_env, **extra},
            drop=FOREIGN_ENV,
        )
        for name, (cwd, app, extra) in variants.items()
    }
    with running(starts) as started:
        yield started


@pytest.mark.parametrize("prefix", ["", PREFIX])
def test_django_is_secure_on_fc_with_the_header(servers: dict[str, Server], prefix: str) -> None:
    seen = get_json(servers["django_fc"], f"{prefix}/secure/", {"X-Forwarded-Proto": "https"})
    assert seen == {"is_secure": True, "url": f"https://localhost{prefix}/secure/"}


@pytest.mark.parametrize(
    ("variant", "headers"),
    [
        ("django_fc", {}),
        ("django_fc", {"X-Forwarded-Proto": "http"}),
        ("django_off_fc", {"X-Forwarded-Proto": "https"}),
    ],
    ids=["fc-without-header", "fc-header-http", "off-fc-with-header"],
)
def test_django_stays_http_otherwise(
    servers: dict[str, Server], variant: str, headers: dict[str, str]
) -> None:
    seen = get_json(servers[variant], f"{PREFIX}/secure/", headers)
    assert seen == {"is_secure": False, "url": f"http://localhost{PREFIX}/secure/"}


def status_and_location(
    server: Server, path: str, headers: Mapping[str, str]
) -> tuple[int, str | None]:
    conn = http.client.HTTPConnection(
        "127.0.0.1", server.port, timeout=10, source_address=("127.0.0.2", 0)
    )
    try:
        conn.request("GET", path, headers={"Host": "localhost", **headers})
        resp = conn.getresponse()
        resp.read()
        return resp.status, resp.getheader("Location")
    finally:
        conn.close()


@pytest.mark.parametrize("prefix", ["", PREFIX])
def test_ssl_redirect_on_fc_without_a_header_takes_the_request_as_https(
    servers: dict[str, Server], prefix: str
) -> None:
    # Without the header the redirect to https:// would come back here for ever.
    seen = get_json(servers["django_ssl_fc"], f"{prefix}/secure/", {})
    assert seen == {"is_secure": True, "url": f"https://localhost{prefix}/secure/"}


@pytest.mark.parametrize(
    ("variant", "headers"),
    [("django_ssl_fc", {"X-Forwarded-Proto": "http"}), ("django_ssl_off_fc", {})],
    ids=["fc-header-http", "off-fc"],
)
def test_ssl_redirect_still_redirects_what_is_said_or_seen_to_be_http(
    servers: dict[str, Server], variant: str, headers: dict[str, str]
) -> None:
    status, location = status_and_location(servers[variant], f"{PREFIX}/secure/", headers)
    assert (status, location) == (301, f"https://localhost{PREFIX}/secure/")


@pytest.mark.parametrize("prefix", ["", PREFIX])
def test_flask_external_url_is_https_on_fc_with_the_header(
    servers: dict[str, Server], prefix: str
) -> None:
    seen = get_json(servers["flask_fc"], f"{prefix}/external", {"X-Forwarded-Proto": "https"})
    assert seen == {"url": f"https://localhost{prefix}/hello", "is_secure": True}


@pytest.mark.parametrize(
    ("variant", "headers"),
    [("flask_fc", {}), ("flask_off_fc", {"X-Forwarded-Proto": "https"})],
    ids=["fc-without-header", "off-fc-with-header"],
)
def test_flask_external_url_is_http_otherwise(
    servers: dict[str, Server], variant: str, headers: dict[str, str]
) -> None:
    seen = get_json(servers[variant], f"{PREFIX}/external", headers)
    assert seen == {"url": f"http://localhost{PREFIX}/hello", "is_secure": False}


@pytest.mark.parametrize(
    ("variant", "scheme"),
    [
        ("flask_off_fc", "http"),
        ("flask_fc", "https"),
        ("flask_off_fc_trusting_loopback", "https"),
    ],
    ids=["off-fc", "on-fc", "off-fc-user-trusts-loopback"],
)
def test_forwarded_proto_from_loopback_only_on_fc_or_when_trusted(
    servers: dict[str, Server], variant: str, scheme: str
) -> None:
    # gunicorn's default forwarded_allow_ips trusts 127.0.0.1; serve does not, off FC.
    seen = get_json(servers[variant], "/external", {"X-Forwarded-Proto": "https"}, "127.0.0.1")
    assert seen == {"url": f"{scheme}://localhost/hello", "is_secure": scheme == "https"}


# --- an app that upgrades plain HTTP itself (Flask-Talisman's force_https, custom code) -------


def upgrading_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Redirects plain HTTP to its own https:// URL; answers with the scheme it saw."""
    host = environ["HTTP_HOST"]
    path = environ.get("SCRIPT_NAME", "") + environ["PATH_INFO"]
    if environ["wsgi.url_scheme"] == "http":
        start_response("302 Found", [("Location", f"https://{host}{path}")])
        return [b""]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [environ["wsgi.url_scheme"].encode()]


def call(middleware: FCMiddleware, path: str, headers: Mapping[str, str]) -> tuple[str, str]:
    environ = create_environ(path=path, base_url="http://fn.example", headers=dict(headers))
    seen: list[str] = []

    def start_response(status: str, response_headers: Any, exc_info: Any = None) -> Any:
        seen.append(status)
        seen.extend(v for k, v in response_headers if k == "Location")
        return lambda data: None

    body = b"".join(middleware(environ, start_response)).decode()
    return seen[0], seen[1] if len(seen) > 1 and seen[0].startswith("3") else body


def test_an_app_that_upgrades_itself_is_taken_as_https_once_seen_on_fc(
    on_fc: None, caplog: pytest.LogCaptureFixture
) -> None:
    middleware = FCMiddleware(upgrading_app, log_invocations=False)
    # The first request has no scheme header: the app's redirect passes, and is learnt.
    assert call(middleware, f"{PREFIX}/page", {}) == (
        "302 Found",
        f"https://fn.example{PREFIX}/page",
    )
    assert "taken as HTTPS" in caplog.text
    # The browser follows it; FC again sends no header: no loop now.
    assert call(middleware, f"{PREFIX}/page", {}) == ("200 OK", "https")
    # A header that says http still decides.
    assert call(middleware, f"{PREFIX}/page", {"X-Forwarded-Proto": "http"})[0] == "302 Found"


@pytest.mark.parametrize(
    "location",
    [
        "https://other.example/2016-08-15/proxy/svc/fn/page",  # another host
        "https://fn.example/2016-08-15/proxy/svc/fn/login",  # another page
        "http://fn.example/2016-08-15/proxy/svc/fn/page",  # not an upgrade
        "/2016-08-15/proxy/svc/fn/page",
    ],
)
def test_other_redirects_teach_nothing(on_fc: None, location: str) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if environ["PATH_INFO"] == "/page":
            start_response("302 Found", [("Location", location)])
            return [b""]
        start_response("200 OK", [])
        return [environ["wsgi.url_scheme"].encode()]

    middleware = FCMiddleware(app, log_invocations=False)
    call(middleware, f"{PREFIX}/page", {})
    assert call(middleware, f"{PREFIX}/other", {}) == ("200 OK", "http")


def test_off_fc_an_upgrading_app_is_left_to_upgrade(off_fc: None) -> None:
    middleware = FCMiddleware(upgrading_app, log_invocations=False)
    for _ in range(2):
        assert call(middleware, "/page", {})[0] == "302 Found"
