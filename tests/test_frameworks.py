"""The sample Flask and Django apps behind :class:`fcmigrate.FCMiddleware`, via webtest.

The property werkzeug's ProxyFix tests prove, for FC's path prefix: URLs the app
generates (``url_for``, ``reverse()``, redirects, ``request.url``, the admin's ``?next=``)
INCLUDE the prefix, while routing EXCLUDES it. Requests arrive the way FC sends them, with
the whole ``/2016-08-15/proxy/<service>/<function>`` path; nothing sets SCRIPT_NAME by
hand. The apps' own files are used unchanged.
"""

from __future__ import annotations

import importlib
import io
import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

with warnings.catch_warnings():
    # webob, under webtest, still imports the stdlib cgi module (deprecated in 3.11).
    warnings.filterwarnings("ignore", "'cgi' is deprecated", DeprecationWarning)
    import webtest

from fcmigrate import FCMiddleware

SAMPLE_APPS = Path(__file__).resolve().parent.parent / "sample_apps"
FLASK_DIR = SAMPLE_APPS / "flask_app"
DJANGO_DIR = SAMPLE_APPS / "django_site"

PREFIX = "/2016-08-15/proxy/svc/fn"
QUALIFIED = "/2016-08-15/proxy/svc.prod/fn"
RID = "1-67adb489-15d49184-2d4fa002fa2b"
SECRET = "SENTINEL-SECRET-9f3a1c"
TOKEN = "SENTINEL-TOKEN-77c1e0"
FC_HEADERS = {
    "X-Fc-Request-Id": RID,
    "X-Fc-Base-Path": f"{PREFIX}/",
    "X-Fc-Control-Path": "/http-invoke",
    "X-Fc-Access-Key-Id": "LTAI-sentinel-key-id",
    "X-Fc-Access-Key-Secret": SECRET,
    "X-Fc-Security-Token": TOKEN,
}


def _location(resp: Any) -> str:
    """Path and query of a redirect's Location, absolute or not."""
    parts = urlsplit(resp.headers["Location"])
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _wrapped(app: Any, **options: Any) -> webtest.TestApp:
    options.setdefault("base_paths", ())
    return webtest.TestApp(FCMiddleware(app, stream=io.StringIO(), **options))


def _no_credentials(resp: Any, headers: dict[str, str]) -> None:
    lowered = {name.lower() for name in headers}
    for name in ("x-fc-access-key-id", "x-fc-access-key-secret", "x-fc-security-token"):
        assert name not in lowered
    assert SECRET not in resp.text and TOKEN not in resp.text


# --------------------------------------------------------------------------- Flask


@pytest.fixture(scope="module")
def flask_sample() -> Iterator[Any]:
    """The sample's ``app`` module, imported from its folder; sys.path and sys.modules restored."""
    saved_path = list(sys.path)
    saved_app = sys.modules.pop("app", None)
    sys.path.insert(0, str(FLASK_DIR))
    try:
        module = importlib.import_module("app")
        assert Path(module.__file__ or "").resolve() == FLASK_DIR / "app.py"
        yield module.app
    finally:
        sys.path[:] = saved_path
        sys.modules.pop("app", None)
        if saved_app is not None:
            sys.modules["app"] = saved_app


@pytest.fixture
def flask_app(flask_sample: Any) -> webtest.TestApp:
    return _wrapped(flask_sample)


def test_flask_generated_urls_include_prefix(flask_app: webtest.TestApp) -> None:
    resp = flask_app.get(f"{PREFIX}/whoami", headers=FC_HEADERS)
    data = resp.json
    assert data["script_name"] == PREFIX
    assert data["path"] == "/whoami"
    assert data["url"] == f"http://localhost{PREFIX}/whoami"
    assert data["url_for_hello"] == f"{PREFIX}/hello/x"
    assert data["request_id"] == RID
    assert resp.headers["X-Request-Id"] == RID
    _no_credentials(resp, data["headers"])
    assert data["headers"]["X-Fc-Control-Path"] == "/http-invoke"


def test_flask_without_prefix_is_untouched(flask_app: webtest.TestApp) -> None:
    data = flask_app.get("/whoami").json
    assert (data["script_name"], data["path"]) == ("", "/whoami")
    assert data["url_for_hello"] == "/hello/x"
    assert data["request_id"]


def test_flask_qualifier_prefix(flask_app: webtest.TestApp) -> None:
    data = flask_app.get(f"{QUALIFIED}/whoami").json
    assert (data["script_name"], data["url_for_hello"]) == (QUALIFIED, f"{QUALIFIED}/hello/x")


def test_flask_routing_excludes_prefix(flask_app: webtest.TestApp) -> None:
    assert "Hello, Ada!" in flask_app.get(f"{PREFIX}/hello/Ada").text
    assert flask_app.get(f"{PREFIX}/api/items").json[0]["name"] == "apple"


def test_flask_redirect_keeps_prefix(flask_app: webtest.TestApp) -> None:
    resp = flask_app.get(f"{PREFIX}/go", status=302)
    assert _location(resp) == f"{PREFIX}/"
    assert "Sample Flask app" in resp.follow().text


def test_flask_static_url_and_file_under_prefix(flask_app: webtest.TestApp) -> None:
    home = flask_app.get(f"{PREFIX}/")
    assert f'href="{PREFIX}/static/style.css"' in home.text
    assert f'href="{PREFIX}/hello/world"' in home.text
    assert 'href="/static' not in home.text and 'href="/hello' not in home.text
    css = flask_app.get(f"{PREFIX}/static/style.css")
    assert css.content_type == "text/css"
    assert "font-family" in css.text


def test_flask_exact_prefix_behaves_like_root(flask_app: webtest.TestApp) -> None:
    resp = flask_app.get(PREFIX, status=308)
    assert _location(resp) == f"{PREFIX}/"
    home = resp.follow()
    assert home.status_int == 200
    assert f'href="{PREFIX}/hello/world"' in home.text


def test_flask_form_post_under_prefix(flask_app: webtest.TestApp) -> None:
    form = flask_app.get(f"{PREFIX}/form").forms[0]
    assert form.action == f"{PREFIX}/form"
    form["message"] = "hi"
    assert "You said: hi" in form.submit().text


def test_flask_base_path_and_near_miss(flask_sample: Any) -> None:
    app = _wrapped(flask_sample, base_paths=["/api"])
    data = app.get(f"{PREFIX}/api/whoami").json
    assert (data["script_name"], data["path"]) == (f"{PREFIX}/api", "/whoami")
    assert data["url_for_hello"] == f"{PREFIX}/api/hello/x"
    # /apix is not under /api: the app sees it whole and has no such route.
    app.get("/apix/whoami", status=404)


def test_flask_errors_signal_fc(flask_app: webtest.TestApp) -> None:
    boom = flask_app.get(f"{PREFIX}/boom", status=500)
    assert boom.headers["x-fc-status"] == "404"
    missing = flask_app.get(f"{PREFIX}/status/404", status=404)
    assert "x-fc-status" not in missing.headers


def test_flask_event_route(flask_sample: Any) -> None:
    app = _wrapped(flask_sample, event_route="/events")
    resp = app.post(
        "/invoke",
        b'{"n": 1}',
        headers={"X-Fc-Request-Id": RID, "X-Fc-Control-Path": "/invoke"},
        content_type="application/octet-stream",
    )
    assert resp.json == {"received": 8, "body": '{"n": 1}'}
    assert "x-fc-status" not in resp.headers


# --------------------------------------------------------------------------- Django


@pytest.fixture(scope="session")
def django_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The sample site's WSGI app, Django set up once per process with a temp SQLite DB.

    Compatible with tests/test_sample_apps.py, whichever runs first: both set Django
    up on ``mysite.settings`` the same way, and setting up twice is harmless.
    """
    import django
    from django.conf import settings

    if settings.configured and getattr(settings, "SETTINGS_MODULE", None) != "mysite.settings":
        pytest.fail(
            f"Django is already configured with {settings.SETTINGS_MODULE!r} in this process"
        )

    saved_path = list(sys.path)
    saved_env = {k: os.environ.get(k) for k in ("DJANGO_SETTINGS_MODULE", "DJANGO_DB_PATH")}
    saved_modules = set(sys.modules)
    if str(DJANGO_DIR) not in sys.path:
        sys.path.insert(0, str(DJANGO_DIR))
    os.environ["DJANGO_SETTINGS_MODULE"] = "mysite.settings"
    os.environ["DJANGO_DB_PATH"] = str(tmp_path_factory.mktemp("django_site") / "db.sqlite3")
    try:
        django.setup()
        from django.core.management import call_command
        from django.urls import get_script_prefix, set_script_prefix

        call_command("migrate", verbosity=0, interactive=False)
        # Django computes a relative STATIC_URL once per process, with the script prefix
        # of that moment. Fix it unprefixed now, so prefixed requests below cannot leak
        # their prefix into other test files' static URLs.
        previous = get_script_prefix()
        set_script_prefix("/")
        assert settings.STATIC_URL
        set_script_prefix(previous)
        from mysite.wsgi import application

        yield application
    finally:
        sys.path[:] = saved_path
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        for name in set(sys.modules) - saved_modules:
            if name.split(".")[0] in {"mysite", "pages"}:
                del sys.modules[name]


@pytest.fixture
def django_app(django_site: Any) -> webtest.TestApp:
    return _wrapped(django_site)


def test_django_generated_urls_include_prefix(django_app: webtest.TestApp) -> None:
    resp = django_app.get(f"{PREFIX}/whoami/", headers=FC_HEADERS)
    data = resp.json
    assert data["script_name"] == PREFIX
    assert data["path"] == f"{PREFIX}/whoami/"
    assert data["path_info"] == "/whoami/"
    assert urlsplit(data["url"]).path == f"{PREFIX}/whoami/"
    assert data["reverse_notes"] == f"{PREFIX}/notes/"
    assert data["request_id"] == RID
    assert resp.headers["X-Request-Id"] == RID
    _no_credentials(resp, data["headers"])


def test_django_without_prefix_is_untouched(django_app: webtest.TestApp) -> None:
    data = django_app.get("/whoami/").json
    assert (data["script_name"], data["path_info"], data["reverse_notes"]) == (
        "",
        "/whoami/",
        "/notes/",
    )


def test_django_redirect_keeps_prefix(django_app: webtest.TestApp) -> None:
    assert _location(django_app.get(f"{PREFIX}/go/", status=302)) == f"{PREFIX}/"


def test_django_admin_login_redirect(django_app: webtest.TestApp) -> None:
    resp = django_app.get(f"{PREFIX}/admin/", status=302)
    assert _location(resp) == f"{PREFIX}/admin/login/?next={PREFIX}/admin/"


def test_django_exact_prefix_behaves_like_root(django_app: webtest.TestApp) -> None:
    home = django_app.get(PREFIX)
    assert "Sample Django site" in home.text
    assert f'href="{PREFIX}/notes/"' in home.text
    assert 'href="/notes/"' not in home.text


def test_django_notes_form_with_csrf_under_prefix(django_app: webtest.TestApp) -> None:
    page = django_app.get(f"{PREFIX}/notes/")
    form = page.forms["note-form"]
    assert form.action == f"{PREFIX}/notes/"
    assert form["csrfmiddlewaretoken"].value
    form["text"] = "posted under the FC prefix"
    resp = form.submit(status=302)
    assert _location(resp) == f"{PREFIX}/notes/"
    assert "posted under the FC prefix" in resp.follow().text


def test_django_notes_post_without_csrf_is_still_forbidden(django_site: Any) -> None:
    _wrapped(django_site).post(f"{PREFIX}/notes/", {"text": "sneaky"}, status=403)


def test_django_errors_signal_fc(django_app: webtest.TestApp) -> None:
    boom = django_app.get(f"{PREFIX}/boom/", status=500, expect_errors=True)
    assert boom.headers["x-fc-status"] == "404"
    assert "x-fc-status" not in django_app.get(f"{PREFIX}/nope/", status=404).headers
