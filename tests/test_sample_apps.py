"""App-level tests for the sample apps in ``sample_apps/``, with no middleware.

They prove the samples behave as ordinary WSGI apps, and that both honour a
``SCRIPT_NAME`` given in the environ when they build URLs - the property the
fcmigrate middleware relies on when it moves FC's ``/2016-08-15/proxy/...``
prefix out of PATH_INFO.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from helpers import DJANGO_SAMPLE, FLASK_SAMPLE, location_path

webtest = pytest.importorskip("webtest")


PREFIX = "/2016-08-15/proxy/svc/fn"
PREFIXED = {"SCRIPT_NAME": PREFIX}


# --------------------------------------------------------------------------- Flask


@pytest.fixture
def flask_app(flask_module: Any) -> Any:
    return webtest.TestApp(flask_module.app)


IMPORTS_FCMIGRATE = re.compile(r"^\s*(from|import)\s+fcmigrate\b", re.MULTILINE)


def test_flask_app_knows_nothing_about_fcmigrate() -> None:
    for path in FLASK_SAMPLE.rglob("*.py"):
        assert not IMPORTS_FCMIGRATE.search(path.read_text()), path


def test_flask_home_links_and_stylesheet(flask_app: Any) -> None:
    resp = flask_app.get("/")
    assert resp.status_int == 200
    assert resp.content_type == "text/html"
    assert 'href="/static/style.css"' in resp.text
    assert 'href="/hello/world"' in resp.text
    css = flask_app.get("/static/style.css")
    assert css.content_type == "text/css"
    assert "font-family" in css.text


def test_flask_hello_escapes_name(flask_app: Any) -> None:
    assert "Hello, Ada!" in flask_app.get("/hello/Ada").text
    resp = flask_app.get("/hello/%3Cb%3E")
    assert "<b>" not in resp.text
    assert "&lt;b&gt;" in resp.text


def test_flask_items_list_and_create(flask_app: Any) -> None:
    before = flask_app.get("/api/items").json
    assert isinstance(before, list) and before
    created = flask_app.post_json("/api/items", {"name": "cherry"}, status=201)
    assert created.json["name"] == "cherry"
    after = flask_app.get("/api/items").json
    assert after[-1] == created.json
    assert len(after) == len(before) + 1
    flask_app.post_json("/api/items", {"nope": 1}, status=400)
    flask_app.post("/api/items", "not json", content_type="text/plain", status=400)


def test_flask_whoami_without_prefix(flask_app: Any) -> None:
    data = flask_app.get("/whoami", headers={"X-Custom": "yes"}).json
    assert data["script_name"] == ""
    assert data["path"] == "/whoami"
    assert data["url"] == "http://localhost/whoami"
    assert data["url_for_hello"] == "/hello/x"
    assert data["request_id"] is None
    assert data["headers"]["X-Custom"] == "yes"


def test_flask_whoami_reads_request_id_from_environ(flask_app: Any) -> None:
    data = flask_app.get("/whoami", extra_environ={"fc.request_id": "req-123"}).json
    assert data["request_id"] == "req-123"


def test_flask_redirect(flask_app: Any) -> None:
    resp = flask_app.get("/go", status=302)
    assert location_path(resp) == "/"
    assert resp.follow().status_int == 200


def test_flask_form_get_and_post(flask_app: Any) -> None:
    page = flask_app.get("/form")
    form = page.forms[0]
    form["message"] = "hi <there>"
    resp = form.submit()
    assert resp.status_int == 200
    assert "You said: hi &lt;there&gt;" in resp.text


def test_flask_slow_zero_and_bad_input(flask_app: Any) -> None:
    assert flask_app.get("/slow?s=0").text == "done"
    flask_app.get("/slow?s=abc", status=400)
    flask_app.get("/slow?s=nan", status=400)


def test_flask_slow_is_capped(flask_module: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr(flask_module.time, "sleep", slept.append)
    app = webtest.TestApp(flask_module.app)
    assert app.get("/slow?s=1000").text == "done"
    assert app.get("/slow?s=-5").text == "done"
    assert app.get("/slow").text == "done"
    assert slept == [30.0, 0.0, 2.0]


def test_flask_boom_is_500(flask_app: Any) -> None:
    resp = flask_app.get("/boom", status=500)
    assert "Internal Server Error" in resp.text


@pytest.mark.parametrize("code", [200, 204, 404, 418, 503])
def test_flask_status(flask_app: Any, code: int) -> None:
    resp = flask_app.get(f"/status/{code}", status=code)
    assert resp.status_int == code
    assert resp.text == ("" if code == 204 else f"status {code}\n")


def test_flask_events_echo(flask_app: Any) -> None:
    body = json.dumps({"hello": "世界"})
    resp = flask_app.post("/events", body.encode(), content_type="application/json")
    assert resp.json == {"received": len(body.encode()), "body": body}
    flask_app.get("/events", status=405)


def test_flask_urls_honour_script_name(flask_app: Any) -> None:
    data = flask_app.get("/whoami", extra_environ=PREFIXED).json
    assert data["script_name"] == PREFIX
    assert data["path"] == "/whoami"
    assert data["url"] == f"http://localhost{PREFIX}/whoami"
    assert data["url_for_hello"] == f"{PREFIX}/hello/x"

    home = flask_app.get("/", extra_environ=PREFIXED)
    assert f'href="{PREFIX}/static/style.css"' in home.text
    assert f'href="{PREFIX}/hello/world"' in home.text
    assert 'href="/hello' not in home.text

    redirect = flask_app.get("/go", extra_environ=PREFIXED, status=302)
    assert location_path(redirect) == f"{PREFIX}/"

    form = flask_app.get("/form", extra_environ=PREFIXED)
    assert form.forms[0].action == f"{PREFIX}/form"


# --------------------------------------------------------------------------- Django


@pytest.fixture
def django_app(django_wsgi: Any) -> Any:
    return webtest.TestApp(django_wsgi)


def test_django_site_knows_nothing_about_fcmigrate() -> None:
    for path in DJANGO_SAMPLE.rglob("*.py"):
        assert not IMPORTS_FCMIGRATE.search(path.read_text()), path


def test_django_home(django_app: Any) -> None:
    resp = django_app.get("/")
    assert resp.status_int == 200
    assert "Sample Django site" in resp.text
    assert 'href="/notes/"' in resp.text
    assert 'href="/admin/"' in resp.text
    assert 'href="/static/pages/style.css"' in resp.text


def test_django_whoami(django_app: Any) -> None:
    data = django_app.get(
        "/whoami/", headers={"X-Custom": "yes"}, extra_environ={"fc.request_id": "req-9"}
    ).json
    assert data["script_name"] == ""
    assert data["path"] == "/whoami/"
    assert data["path_info"] == "/whoami/"
    assert urlsplit(data["url"]).hostname == "localhost"
    assert urlsplit(data["url"]).path == "/whoami/"
    assert data["reverse_notes"] == "/notes/"
    assert data["request_id"] == "req-9"
    assert data["headers"]["X-Custom"] == "yes"


def test_django_notes_form_post_with_csrf(django_app: Any) -> None:
    page = django_app.get("/notes/")
    form = page.forms["note-form"]
    assert form["csrfmiddlewaretoken"].value
    form["text"] = "a note from the test"
    resp = form.submit(status=302)
    assert location_path(resp) == "/notes/"
    assert "a note from the test" in resp.follow().text

    invalid = django_app.get("/notes/").forms["note-form"]
    invalid["text"] = ""
    assert "This field is required" in invalid.submit(status=400).text


def test_django_notes_post_without_csrf_is_forbidden(django_wsgi: Any) -> None:
    fresh = webtest.TestApp(django_wsgi)
    fresh.post("/notes/", {"text": "sneaky"}, status=403)
    assert "sneaky" not in fresh.get("/notes/").text


def test_django_redirect_slow_boom(django_app: Any) -> None:
    resp = django_app.get("/go/", status=302)
    assert location_path(resp) == "/"
    assert django_app.get("/slow/?s=0").text == "done"
    django_app.get("/slow/?s=x", status=400)
    django_app.get("/boom/", status=500)


def test_django_admin_login_redirect_and_login(django_app: Any) -> None:
    resp = django_app.get("/admin/", status=302)
    assert location_path(resp) == "/admin/login/?next=/admin/"

    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    if not user_model.objects.filter(username="admin").exists():
        user_model.objects.create_superuser("admin", "admin@example.com", "sample-pass-123")

    login = resp.follow()
    form = login.forms["login-form"]
    form["username"] = "admin"
    form["password"] = "sample-pass-123"
    after = form.submit(status=302)
    assert location_path(after) == "/admin/"
    notes_admin = django_app.get("/admin/pages/note/")
    assert notes_admin.status_int == 200
    assert "Select note to change" in notes_admin.text


def test_django_urls_honour_script_name(django_app: Any) -> None:
    data = django_app.get("/whoami/", extra_environ=PREFIXED).json
    assert data["script_name"] == PREFIX
    assert data["path"] == f"{PREFIX}/whoami/"
    assert data["path_info"] == "/whoami/"
    assert urlsplit(data["url"]).path == f"{PREFIX}/whoami/"
    assert data["reverse_notes"] == f"{PREFIX}/notes/"

    home = django_app.get("/", extra_environ=PREFIXED)
    assert f'href="{PREFIX}/notes/"' in home.text
    assert not re.search(r'href="/(notes|admin|whoami)/', home.text)

    notes = django_app.get("/notes/", extra_environ=PREFIXED)
    assert notes.forms["note-form"].action == f"{PREFIX}/notes/"

    redirect = django_app.get("/go/", extra_environ=PREFIXED, status=302)
    assert location_path(redirect) == f"{PREFIX}/"

    admin = django_app.get("/admin/", extra_environ=PREFIXED, status=302)
    assert location_path(admin) == f"{PREFIX}/admin/login/?next={PREFIX}/admin/"

    # Script prefix is per request: an unprefixed request right after is clean.
    assert django_app.get("/whoami/").json["reverse_notes"] == "/notes/"


def test_django_relative_static_url_is_prefixed_once_per_process(django_app: Any) -> None:
    """A relative ``STATIC_URL`` gets SCRIPT_NAME prepended - but Django caches it.

    ``settings.STATIC_URL`` (and the staticfiles storage built from it) is
    computed on first access and cached for the life of the process, so the
    script prefix of the *first* request that renders a static URL wins. This
    pins that Django behaviour; overriding the setting clears the caches.
    """
    from django.test.utils import override_settings

    with override_settings(STATIC_URL="static/"):
        first = django_app.get("/", extra_environ=PREFIXED)
        assert f'href="{PREFIX}/static/pages/style.css"' in first.text
        later = django_app.get("/")
        assert f'href="{PREFIX}/static/pages/style.css"' in later.text

    with override_settings(STATIC_URL="static/"):
        assert 'href="/static/pages/style.css"' in django_app.get("/").text
