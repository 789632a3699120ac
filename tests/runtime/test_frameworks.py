"""The sample Flask and Django apps behind :class:`fcmigrate.FCMiddleware`, via webtest.

The property werkzeug's ProxyFix tests prove, for FC's path prefix: URLs the app
generates (``url_for``, ``reverse()``, redirects, ``request.url``, the admin's ``?next=``)
INCLUDE the prefix, while routing EXCLUDES it. Requests arrive the way FC sends them, with
the whole ``/2016-08-15/proxy/<service>/<function>`` path; nothing sets SCRIPT_NAME by
hand. The apps' own files are used unchanged.
"""

from __future__ import annotations

import io
import warnings
from typing import Any
from urllib.parse import urlsplit

import pytest
from helpers import location_path

with warnings.catch_warnings():
    # webob, under webtest, still imports the stdlib cgi module (deprecated in 3.11).
    warnings.filterwarnings("ignore", "'cgi' is deprecated", DeprecationWarning)
    import webtest

from fcmigrate import FCMiddleware

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


def _wrapped(app: Any, **options: Any) -> webtest.TestApp:
    options.setdefault("base_paths", ())
    return webtest.TestApp(FCMiddleware(app, stream=io.StringIO(), **options))


def _no_credentials(resp: Any, headers: dict[str, str]) -> None:
    lowered = {name.lower() for name in headers}
    for name in ("x-fc-access-key-id", "x-fc-access-key-secret", "x-fc-security-token"):
        assert name not in lowered
    assert SECRET not in resp.text and TOKEN not in resp.text


# --------------------------------------------------------------------------- Flask


@pytest.fixture
def flask_app(flask_module: Any) -> webtest.TestApp:
    return _wrapped(flask_module.app)


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
    assert location_path(resp) == f"{PREFIX}/"
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
    assert location_path(resp) == f"{PREFIX}/"
    home = resp.follow()
    assert home.status_int == 200
    assert f'href="{PREFIX}/hello/world"' in home.text


def test_flask_form_post_under_prefix(flask_app: webtest.TestApp) -> None:
    form = flask_app.get(f"{PREFIX}/form").forms[0]
    assert form.action == f"{PREFIX}/form"
    form["message"] = "hi"
    assert "You said: hi" in form.submit().text


def test_flask_base_path_and_near_miss(flask_module: Any) -> None:
    app = _wrapped(flask_module.app, base_paths=["/api"])
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


def test_flask_event_route(flask_module: Any) -> None:
    app = _wrapped(flask_module.app, event_route="/events")
    resp = app.post(
        "/invoke",
        b'{"n": 1}',
        headers={"X-Fc-Request-Id": RID, "X-Fc-Control-Path": "/invoke"},
        content_type="application/octet-stream",
    )
    assert resp.json == {"received": 8, "body": '{"n": 1}'}
    assert "x-fc-status" not in resp.headers


# --------------------------------------------------------------------------- Django


@pytest.fixture
def django_app(django_wsgi: Any) -> webtest.TestApp:
    return _wrapped(django_wsgi)


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
    assert location_path(django_app.get(f"{PREFIX}/go/", status=302)) == f"{PREFIX}/"


def test_django_admin_login_redirect(django_app: webtest.TestApp) -> None:
    resp = django_app.get(f"{PREFIX}/admin/", status=302)
    assert location_path(resp) == f"{PREFIX}/admin/login/?next={PREFIX}/admin/"


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
    assert location_path(resp) == f"{PREFIX}/notes/"
    assert "posted under the FC prefix" in resp.follow().text


def test_django_notes_post_without_csrf_is_still_forbidden(django_wsgi: Any) -> None:
    _wrapped(django_wsgi).post(f"{PREFIX}/notes/", {"text": "sneaky"}, status=403)


def test_django_errors_signal_fc(django_app: webtest.TestApp) -> None:
    boom = django_app.get(f"{PREFIX}/boom/", status=500, expect_errors=True)
    assert boom.headers["x-fc-status"] == "404"
    assert "x-fc-status" not in django_app.get(f"{PREFIX}/nope/", status=404).headers
