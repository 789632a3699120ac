"""End to end: `fcmigrate wrap` writes a bootstrap, it starts for real, HTTP talks to it.

Nothing here is simulated: the sample apps are copied to a temporary folder, wrapped by the
real command line, started through their generated ``bootstrap`` (which finds this test's
interpreter through ``FCMIGRATE_PYTHON``) on a free port given as ``FC_SERVER_PORT``, and
called over loopback with the headers FC sends. Servers that tests do not disturb are shared
per module; the ones a test stops or reconfigures are its own.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import pytest
from helpers import DJANGO_SAMPLE, FLASK_SAMPLE, Server, launch, migrate_django, python_env

from fcmigrate.build.render import write_files
from fcmigrate.build.wrap import WrapOptions, generate

pytestmark = pytest.mark.slow

PREFIX = "/2016-08-15/proxy/svc/fn"
RID = "1-67adb489-15d49184-2d4fa002fa2b"

# Unique strings: if one of them shows up anywhere, a credential leaked.
SECRETS = {
    "x-fc-access-key-id": "LTAI-sentinel-key-id-5f2c",
    "x-fc-access-key-secret": "sentinel-secret-9d81b7",
    "x-fc-security-token": "CAIS-sentinel-token-04ae",
}


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    server: Server,
    method: str,
    path: str,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    timeout: float = 10,
) -> Response:
    """One HTTP request with exactly ``headers`` (no redirects followed)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=dict(headers or {}))
        resp = conn.getresponse()
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


def wait_for_line(server: Server, line: str, timeout: float = 5) -> str:
    """The server's stdout once ``line`` is in it (the End line follows the response)."""
    deadline = time.monotonic() + timeout
    while True:
        out = server.stdout()
        if line in out.splitlines() or time.monotonic() > deadline:
            return out
        time.sleep(0.05)


def wrap(project: Path, *args: str, env: Mapping[str, str] | None = None) -> None:
    """Run the real ``fcmigrate wrap`` in ``project``."""
    result = subprocess.run(
        [sys.executable, "-m", "fcmigrate", "wrap", *args],
        cwd=project,
        env=python_env(env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert (project / "bootstrap").is_file()


def start(project: Path, log_dir: Path, env: Mapping[str, str] | None = None) -> Server:
    server = launch(["./bootstrap"], cwd=project, log_dir=log_dir, env=env)
    try:
        return server.wait_ready(30)
    except BaseException:
        server.kill()
        raise


@pytest.fixture(scope="module")
def flask_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The Flask sample, wrapped with default options and started once for this module."""
    root = tmp_path_factory.mktemp("flask")
    project = root / "flask_app"
    shutil.copytree(FLASK_SAMPLE, project)
    wrap(project, "app:app")
    server = start(project, root)
    yield server
    server.kill()


def flask_project(tmp_path: Path, *wrap_args: str) -> Path:
    project = tmp_path / "flask_app"
    shutil.copytree(FLASK_SAMPLE, project)
    wrap(project, "app:app", "--config", "none", *wrap_args)
    return project


# --------------------------------------------------------------------------- prefix


def test_no_prefix(flask_server: Server) -> None:
    resp = call(flask_server, "GET", "/whoami")
    assert resp.status == 200
    data = resp.json()
    assert (data["script_name"], data["path"]) == ("", "/whoami")
    assert data["url_for_hello"] == "/hello/x"
    assert data["url"] == f"http://127.0.0.1:{flask_server.port}/whoami"


@pytest.mark.parametrize("prefix", [PREFIX, "/2016-08-15/proxy/svc.prod/fn"])
def test_fc_prefix_goes_to_script_name(flask_server: Server, prefix: str) -> None:
    resp = call(flask_server, "GET", f"{prefix}/whoami")
    assert resp.status == 200
    data = resp.json()
    assert data["script_name"] == prefix
    assert data["path"] == "/whoami"
    assert data["url_for_hello"] == f"{prefix}/hello/x"
    assert data["url"] == f"http://127.0.0.1:{flask_server.port}{prefix}/whoami"


def test_fc_prefix_from_base_path_header(flask_server: Server) -> None:
    resp = call(flask_server, "GET", f"{PREFIX}/whoami", {"x-fc-base-path": f"{PREFIX}/"})
    assert resp.json()["script_name"] == PREFIX


def test_redirect_keeps_prefix(flask_server: Server) -> None:
    resp = call(flask_server, "GET", f"{PREFIX}/go")
    assert resp.status == 302
    assert urlsplit(resp.headers["location"]).path == f"{PREFIX}/"


def test_bare_prefix_is_the_home_page(flask_server: Server) -> None:
    resp = call(flask_server, "GET", PREFIX)
    if resp.status in (301, 302, 307, 308):
        assert urlsplit(resp.headers["location"]).path == f"{PREFIX}/"
        resp = call(flask_server, "GET", f"{PREFIX}/")
    assert resp.status == 200
    assert b"<html" in resp.body.lower()


def test_client_script_name_header_changes_nothing(flask_server: Server) -> None:
    for header in ("SCRIPT_NAME", "Script-Name"):
        resp = call(flask_server, "GET", f"{PREFIX}/whoami", {header: "/evil"})
        assert resp.status == 200, resp.body
        assert resp.json()["script_name"] == PREFIX
        resp = call(flask_server, "GET", "/whoami", {header: "/evil"})
        assert resp.status == 200, resp.body
        assert resp.json()["script_name"] == ""


def test_long_path_under_prefix_is_not_414(flask_server: Server) -> None:
    # FC passes a 4 KB path; with FC's prefix it is longer than gunicorn's default 4094.
    name = "a" * (4096 - len("/hello/"))
    path = f"{PREFIX}/hello/{name}"
    assert len(path) > 4094
    resp = call(flask_server, "GET", path)
    assert resp.status == 200
    assert name.encode() in resp.body


# --------------------------------------------------------------------------- request ID


def test_request_id_is_echoed(flask_server: Server) -> None:
    resp = call(flask_server, "GET", f"{PREFIX}/whoami", {"x-fc-request-id": RID})
    assert resp.headers["x-request-id"] == RID
    assert resp.json()["request_id"] == RID


def test_request_id_is_generated_when_absent(flask_server: Server) -> None:
    first = call(flask_server, "GET", "/whoami")
    second = call(flask_server, "GET", "/whoami")
    ids = [first.headers["x-request-id"], second.headers["x-request-id"]]
    assert ids == [first.json()["request_id"], second.json()["request_id"]]
    assert all(len(i) >= 16 for i in ids)
    assert ids[0] != ids[1]


def test_invoke_lines_are_whole_and_in_order(flask_server: Server) -> None:
    ids = [f"e2e-lines-{n}" for n in range(8)]
    errors: list[BaseException] = []

    def one(rid: str) -> None:
        try:
            assert call(flask_server, "GET", "/slow?s=0.05", {"x-fc-request-id": rid}).status == 200
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(rid,)) for rid in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(15)
    assert not errors
    lines: list[str] = []
    for rid in ids:
        start = f"FC Invoke Start RequestId: {rid}"
        end = f"FC Invoke End RequestId: {rid}"
        out = wait_for_line(flask_server, end)
        lines = out.splitlines()
        assert lines.count(start) == 1, rid
        assert lines.count(end) == 1, rid
        assert lines.index(start) < lines.index(end)
    # Every line on stdout is a whole FC line or a whole access-log line.
    fc_line = re.compile(r"FC Invoke (Start|End) RequestId: \S+")
    access_line = re.compile(r'\S+ "[A-Z]+ \S+ HTTP/1\.[01]" \d{3} \S+ \d+ms request_id=\S+')
    for line in lines:
        assert fc_line.fullmatch(line) or access_line.fullmatch(line), line


# --------------------------------------------------------------------------- credentials


def test_credentials_reach_neither_app_nor_logs(flask_server: Server) -> None:
    marker = "e2e-log-marker-7c1"  # in the query string, so the access log must show it
    headers = {**SECRETS, "x-fc-request-id": "e2e-creds-1"}
    who = call(flask_server, "GET", f"{PREFIX}/whoami?m={marker}", headers)
    boom = call(
        flask_server, "GET", f"{PREFIX}/boom", {**SECRETS, "x-fc-request-id": "e2e-creds-2"}
    )

    assert who.status == 200
    seen = {k.lower(): v for k, v in who.json()["headers"].items()}
    assert seen["x-fc-request-id"] == "e2e-creds-1"
    assert not set(SECRETS) & set(seen)
    assert boom.status == 500
    assert boom.headers["x-fc-status"] == "404"
    for resp in (who, boom):
        text = resp.body.decode() + json.dumps(resp.headers)
        assert all(secret not in text for secret in SECRETS.values())

    out = wait_for_line(flask_server, "FC Invoke End RequestId: e2e-creds-2")
    err = flask_server.stderr()
    assert marker in out  # these are the logs the requests went to
    assert "RuntimeError: boom" in err
    for secret in SECRETS.values():
        assert (out + err).count(secret) == 0


# --------------------------------------------------------------------------- FC's own calls


def test_initialize_hook_is_answered_by_the_shim(flask_server: Server) -> None:
    headers = {"x-fc-control-path": "/initialize", "x-fc-request-id": "e2e-init"}
    resp = call(flask_server, "POST", "/initialize", headers, body=b"")
    assert resp.status == 200
    # The Flask sample has no /initialize: reaching it would be a 404.
    assert call(flask_server, "POST", "/initialize", body=b"").status == 404


@pytest.mark.parametrize("path", ["/pre-stop", "/pre-freeze"])
def test_lifecycle_hooks_without_control_path(flask_server: Server, path: str) -> None:
    assert call(flask_server, "GET", path, {"x-fc-request-id": "e2e-hook"}).status == 200
    assert call(flask_server, "GET", path).status == 404  # an ordinary request reaches the app


def test_invoke_without_event_route_is_404(flask_server: Server) -> None:
    headers = {"x-fc-control-path": "/invoke", "x-fc-request-id": "e2e-invoke"}
    resp = call(flask_server, "POST", "/invoke", headers, body=b'{"event": 1}')
    assert resp.status == 404
    assert resp.headers["x-fc-status"] == "404"
    assert b"--event-route" in resp.body


def test_invoke_with_event_route_reaches_the_app(tmp_path: Path, start_server: Any) -> None:
    project = flask_project(tmp_path, "--event-route", "/events")
    server = start_server(["./bootstrap"], cwd=project)
    event = b'{"order": 42}'
    headers = {
        "x-fc-control-path": "/invoke",
        "x-fc-request-id": "e2e-event",
        "content-type": "application/octet-stream",
    }
    resp = call(server, "POST", "/invoke", headers, body=event)
    assert resp.status == 200, resp.body
    assert resp.json() == {"received": len(event), "body": event.decode()}
    assert "x-fc-status" not in resp.headers
    # The app's own route is still there for ordinary requests.
    assert call(server, "POST", "/events", body=b"x").json() == {"received": 1, "body": "x"}


# --------------------------------------------------------------------------- process life


def test_sigterm_drains_in_flight_requests(tmp_path: Path, start_server: Any) -> None:
    project = flask_project(tmp_path)
    server = start_server(["./bootstrap"], cwd=project)
    result: dict[str, Any] = {}

    def slow() -> None:
        try:
            result["resp"] = call(server, "GET", "/slow?s=2", {"x-fc-request-id": "e2e-drain"})
        except BaseException as exc:
            result["error"] = exc

    thread = threading.Thread(target=slow)
    thread.start()
    time.sleep(0.5)
    # The bootstrap exec'd its Python: the process started is gunicorn's master.
    os.kill(server.proc.pid, signal.SIGTERM)
    thread.join(15)
    assert "error" not in result, result.get("error")
    assert result["resp"].status == 200
    assert result["resp"].body == b"done"
    assert server.proc.wait(15) == 0, server.stderr()
    assert "FC Invoke End RequestId: e2e-drain" in server.stdout().splitlines()


def _bootstrap_for(project: Path, spec: str) -> None:
    # The library, not the CLI: wrap would refuse to write for an app that cannot import.
    write_files(project, generate(WrapOptions(app=spec, config="none")))


def test_app_that_fails_to_import_stops_the_bootstrap(tmp_path: Path, start_server: Any) -> None:
    project = tmp_path / "broken"
    project.mkdir()
    (project / "broken_app.py").write_text(
        "import os\n\nraise RuntimeError('sentinel: cannot start')\n"
    )
    _bootstrap_for(project, "broken_app:app")
    began = time.monotonic()
    server = start_server(["./bootstrap"], cwd=project, ready=False)
    code = server.proc.wait(10)
    assert time.monotonic() - began < 5  # FC must see a failed start, not wait 120 s
    assert code != 0
    err = server.stderr()
    assert "Traceback (most recent call last)" in err
    assert 'broken_app.py", line 3' in err
    assert "RuntimeError: sentinel: cannot start" in err


def test_loader_mistake_stops_the_bootstrap_with_one_line(
    tmp_path: Path, start_server: Any
) -> None:
    project = tmp_path / "typo"
    project.mkdir()
    _bootstrap_for(project, "no_such_module:app")
    server = start_server(["./bootstrap"], cwd=project, ready=False)
    assert server.proc.wait(10) == 2
    err = server.stderr()
    assert err.startswith("Error: ")
    assert err.count("\n") == 1, err
    assert "no_such_module" in err


# --------------------------------------------------------------------------- Django


@pytest.fixture(scope="module")
def django_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("django")
    project = root / "django_site"
    shutil.copytree(DJANGO_SAMPLE, project)
    env = {
        "DJANGO_DB_PATH": str(root / "db.sqlite3"),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECRET_KEY": "e2e-not-secret",
    }
    migrate_django(project, python_env(env))
    wrap(project, "mysite.wsgi:application", "--config", "none", env=env)
    server = start(project, root, env)
    yield server
    server.kill()


def test_django_prefix(django_server: Server) -> None:
    resp = call(django_server, "GET", f"{PREFIX}/whoami/", {**SECRETS, "x-fc-request-id": RID})
    assert resp.status == 200, resp.body[:500]
    data = resp.json()
    assert data["script_name"] == PREFIX
    assert data["path_info"] == "/whoami/"
    assert data["path"] == f"{PREFIX}/whoami/"
    assert data["reverse_notes"] == f"{PREFIX}/notes/"
    assert data["request_id"] == RID
    assert resp.headers["x-request-id"] == RID
    assert not {k.lower() for k in data["headers"]} & set(SECRETS)


def test_django_redirects_keep_prefix(django_server: Server) -> None:
    resp = call(django_server, "GET", f"{PREFIX}/go/")
    assert resp.status == 302
    assert urlsplit(resp.headers["location"]).path == f"{PREFIX}/"

    resp = call(django_server, "GET", f"{PREFIX}/admin/")
    assert resp.status == 302
    location = resp.headers["location"]
    assert location == f"{PREFIX}/admin/login/?next={quote(PREFIX + '/admin/')}"


def test_django_csrf_form_under_prefix(django_server: Server) -> None:
    page = call(django_server, "GET", f"{PREFIX}/notes/")
    assert page.status == 200
    match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.body)
    assert match is not None
    assert f'action="{PREFIX}/notes/"'.encode() in page.body
    cookie = SimpleCookie(page.headers["set-cookie"])["csrftoken"].value
    form = urlencode({"csrfmiddlewaretoken": match.group(1).decode(), "text": "from e2e"})
    resp = call(
        django_server,
        "POST",
        f"{PREFIX}/notes/",
        {"content-type": "application/x-www-form-urlencoded", "cookie": f"csrftoken={cookie}"},
        body=form.encode(),
    )
    assert resp.status == 302, resp.body[:500]
    assert urlsplit(resp.headers["location"]).path == f"{PREFIX}/notes/"
    assert b"from e2e" in call(django_server, "GET", "/notes/").body


def test_django_credentials_not_logged(django_server: Server) -> None:
    resp = call(django_server, "GET", f"{PREFIX}/boom/", {**SECRETS, "x-fc-request-id": "dj-boom"})
    assert resp.status == 500
    out = wait_for_line(django_server, "FC Invoke End RequestId: dj-boom")
    err = django_server.stderr()
    assert "Internal Server Error: /2016-08-15/proxy/svc/fn/boom/" in err
    for secret in SECRETS.values():
        assert (out + err + resp.body.decode(errors="replace")).count(secret) == 0
