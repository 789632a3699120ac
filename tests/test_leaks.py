"""Sentinel credentials in FC's three credential headers must never show up anywhere.

FC sends the function role's temporary credentials with every request
(``x-fc-access-key-id``, ``x-fc-access-key-secret``, ``x-fc-security-token``). Each test
here sends unique sentinel values in them and counts the sentinels in what a user or a
third party could see: the access log and error log of the real bootstrap, a Flask
error response and a header dump, Django's ``DEBUG=True`` 500 page, and a Sentry event.
Every count must be 0.

Each place also shows that it *would* have carried the headers: the request ID sent
alongside the credentials is found there, and for Sentry a control run of the same app
without the middleware leaks all three.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from helpers import (
    DJANGO_SAMPLE,
    FLASK_SAMPLE,
    StartServer,
    migrate_django,
    python_env,
    wrap_sample,
)

PREFIX = "/2016-08-15/proxy/svc/fn"
RID = "1-" + uuid.uuid4().hex[:8] + "-leakcheck"
KEY_ID = "LTAI5t" + uuid.uuid4().hex[:16]
SECRET = "sentinel-secret-" + uuid.uuid4().hex
TOKEN = "sentinel-token-" + uuid.uuid4().hex
SENTINELS = {"access key id": KEY_ID, "access key secret": SECRET, "security token": TOKEN}
FC_HEADERS = {
    "x-fc-request-id": RID,
    "x-fc-access-key-id": KEY_ID,
    "x-fc-access-key-secret": SECRET,
    "x-fc-security-token": TOKEN,
}


def leaks(text: str) -> dict[str, int]:
    return {name: text.count(value) for name, value in SENTINELS.items()}


NONE = {name: 0 for name in SENTINELS}


def fetch(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> tuple[int, str]:
    """Status and the whole response, headers included, as text."""
    data = b"" if method == "POST" else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=15) as resp:
            return resp.status, str(resp.headers) + resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as err:
        return err.code, str(err.headers) + err.read().decode("utf-8", "replace")


@pytest.mark.slow
def test_flask_responses_and_logs_of_the_bootstrap(
    start_server: StartServer, tmp_path: Path
) -> None:
    project = wrap_sample(FLASK_SAMPLE, "app:app", tmp_path)
    server = start_server([str(project / "bootstrap")], cwd=project)
    counted: dict[str, dict[str, int]] = {}

    # /whoami dumps every request header it gets: the request ID is there, nothing else.
    status, whoami = fetch(f"{server.url}{PREFIX}/whoami", headers=FC_HEADERS)
    assert status == 200
    assert json.loads(whoami[whoami.index("{") :])["headers"]["X-Fc-Request-Id"] == RID
    counted["GET /whoami (header dump)"] = leaks(whoami)

    status, error_page = fetch(f"{server.url}{PREFIX}/boom", headers=FC_HEADERS)
    assert status == 500
    counted["GET /boom (Flask error response)"] = leaks(error_page)
    for method, path in [
        ("GET", "/hello/x"),
        ("GET", "/no/such/page"),
        ("POST", "/initialize"),
    ]:
        status, page = fetch(f"{server.url}{PREFIX}{path}", method, FC_HEADERS)
        assert status in (200, 404)
        counted[f"{method} {path}"] = leaks(page)
    status, hook = fetch(
        f"{server.url}/initialize", "POST", {**FC_HEADERS, "x-fc-control-path": "/initialize"}
    )
    assert status == 200
    counted["FC /initialize hook"] = leaks(hook)

    assert server.terminate() == 0
    access_log, error_log = server.stdout_path.read_text(), server.stderr_path.read_text()
    # Both logs saw these requests: the access log by ID, the error log the traceback.
    assert access_log.count(f"request_id={RID}") >= 6
    assert "RuntimeError: boom" in error_log
    counted["access log (stdout)"] = leaks(access_log)
    counted["error log (stderr)"] = leaks(error_log)

    assert counted == {place: NONE for place in counted}


@pytest.mark.slow
def test_django_debug_500_page_through_the_bootstrap(
    start_server: StartServer, tmp_path: Path
) -> None:
    db_env = {"DJANGO_DB_PATH": str(tmp_path / "db.sqlite3")}
    project = wrap_sample(DJANGO_SAMPLE, "mysite.wsgi:application", tmp_path, db_env)
    migrate_django(project, python_env(db_env))
    server = start_server(
        [str(project / "bootstrap")], cwd=project, env={**db_env, "DJANGO_DEBUG": "1"}
    )
    headers = {**FC_HEADERS, "Accept": "text/html"}

    status, page = fetch(f"{server.url}{PREFIX}/boom/", headers=headers)
    assert status == 500
    # It is the technical 500 page, and it lists the request's headers (META).
    assert "RuntimeError" in page and "boom: deliberate failure" in page
    assert "HTTP_X_FC_REQUEST_ID" in page and RID in page
    counted = {"Django DEBUG 500 page": leaks(page)}

    status, whoami = fetch(f"{server.url}{PREFIX}/whoami/", headers=headers)
    assert status == 200
    assert json.loads(whoami[whoami.index("{") :])["headers"]["X-Fc-Request-Id"] == RID
    counted["Django /whoami/ (header dump)"] = leaks(whoami)

    assert server.terminate() == 0
    access_log, error_log = server.stdout_path.read_text(), server.stderr_path.read_text()
    assert access_log.count(f"request_id={RID}") == 2
    assert "boom: deliberate failure" in error_log
    counted["access log (stdout)"] = leaks(access_log)
    counted["error log (stderr)"] = leaks(error_log)
    assert counted == {place: NONE for place in counted}


# --------------------------------------------------------------------------- Sentry

# Runs in a child process: sentry_sdk.init patches Flask for the whole process.
SENTRY_CHILD = textwrap.dedent(
    """
    import json, sys

    import sentry_sdk
    import webtest
    from sentry_sdk.transport import Transport

    from fcmigrate import FCMiddleware

    # The headers come on stdin: Sentry puts sys.argv into every event.
    mode, path, headers = sys.argv[1], sys.argv[2], json.load(sys.stdin)
    envelopes = []


    class InMemoryTransport(Transport):
        def capture_envelope(self, envelope):
            envelopes.append(envelope.serialize().decode("utf-8", "replace"))


    options = {"send_default_pii": True} if mode == "send_default_pii" else {}
    sentry_sdk.init(dsn="https://public@sentry.invalid/1", transport=InMemoryTransport, **options)

    from app import app

    wsgi = app if mode == "control" else FCMiddleware(app)
    response = webtest.TestApp(wsgi).get(path, headers=headers, expect_errors=True)
    sentry_sdk.flush()
    print(json.dumps({"status": response.status_int, "envelopes": envelopes}))
    """
)


@pytest.mark.parametrize(
    "mode", ["default", "send_default_pii", "control"], ids=lambda m: f"sentry-{m}"
)
def test_sentry_event(mode: str, tmp_path: Path) -> None:
    project = tmp_path / "flask_app"
    shutil.copytree(FLASK_SAMPLE, project)
    # Without the middleware nothing moves the prefix: the control asks for /boom itself.
    path = "/boom" if mode == "control" else f"{PREFIX}/boom"
    proc = subprocess.run(
        [sys.executable, "-c", SENTRY_CHILD, mode, path],
        input=json.dumps(FC_HEADERS),
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        env=python_env({"PYTHONPATH": str(project)}),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["status"] == 500
    events = "\n".join(result["envelopes"])
    # An error event was sent, and it carries the request's headers.
    payloads = [json.loads(line) for line in events.splitlines() if line.startswith("{")]
    (event,) = [p for p in payloads if p.get("exception")]
    assert event["exception"]["values"][0]["type"] == "RuntimeError"
    assert event["request"]["headers"]["X-Fc-Request-Id"] == RID
    if mode == "control":
        # The same app without FCMiddleware: Sentry sends every credential verbatim.
        assert all(count > 0 for count in leaks(events).values())
    else:
        assert leaks(events) == NONE
