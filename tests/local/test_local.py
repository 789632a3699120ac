"""``fcmigrate local``: FC's front door as a real process, in front of the sample apps.

Every rule is checked with real HTTP against ``python -m fcmigrate local`` running a
wrapped copy of the Flask sample (its generated ``bootstrap``), or the sample served
through ``APP`` with no bootstrap. The config readers are checked in-process.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import FLASK_SAMPLE, free_port, python_env, write_bootstrap

from fcmigrate.cli import cli
from fcmigrate.deployconfig import (
    FAKE_ACCESS_KEY_ID,
    FAKE_ACCESS_KEY_SECRET,
    FAKE_SECURITY_TOKEN,
    load_config,
)
from fcmigrate.fc import MAX_BODY_BYTES, MAX_HEADER_BYTES, MAX_PATH_BYTES, new_request_id
from fcmigrate.local.command import LocalOptions

REQUEST_ID = re.compile(r"1-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{12}")
SECRETS = (FAKE_ACCESS_KEY_SECRET, FAKE_SECURITY_TOKEN)

#: Added to a copy of the Flask sample: routes the sample lacks, in front of it.
EXTRA_APP = """
import json
import os

from app import app as flask_app

RUDE_HEADERS = [
    ("Content-Type", "text/plain"),
    ("x-fc-custom", "from the app"),
    ("x-fc-status", "200"),
    ("Server", "rude/1.0"),
    ("Date", "Thu, 01 Jan 1970 00:00:00 GMT"),
    ("Content-Disposition", "inline"),
]


def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/rude-headers":
        start_response("200 OK", list(RUDE_HEADERS))
        return [b"rude"]
    if path == "/upload":
        total = 0
        while block := environ["wsgi.input"].read(1 << 16):
            total += len(block)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [str(total).encode()]
    if path == "/credentials":
        # What the middleware took out of the request: only ever the fake ones here.
        creds = environ["fc.context"].credentials
        seen = {
            "key_id": creds.access_key_id,
            "secret_is_fake": creds.access_key_secret == "fcmigrate-local-fake-secret",
            "in_environ": sorted(k for k in environ if k.startswith("HTTP_X_FC_ACCESS")),
        }
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(seen).encode()]
    if path == "/env":
        names = [k for k in os.environ if k.startswith(("FC_", "ALIBABA_CLOUD_", "GREETING"))]
        env = {k: os.environ[k] for k in names}
        env["PATH"] = os.environ.get("PATH", "")
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(env).encode()]
    return flask_app(environ, start_response)
"""

#: fc3 s.yaml for the APP project: two methods only, both lifecycle hooks, one variable.
LIMITED_S_YAML = """\
edition: 3.0.0
name: shop
vars:
  region: cn-shanghai
resources:
  web:
    component: fc3
    props:
      region: ${vars.region}
      functionName: storefront
      runtime: custom.debian10
      timeout: 20
      memorySize: 512
      instanceConcurrency: 4
      instanceLifecycleConfig:
        initializer: {handler: index.init, timeout: 10}
        preStop: {handler: index.stop, timeout: 5}
      environmentVariables:
        GREETING: hello from s.yaml
        PATH: /var/fc/lang/python3.10/bin:/usr/bin:/bin
        PYTHONPATH: /code/python:/code
      triggers:
        - triggerName: http
          triggerType: http
          triggerConfig: {authType: anonymous, methods: [GET, POST]}
"""


class Local:
    """``python -m fcmigrate local`` as a real process; its output goes to files."""

    def __init__(
        self,
        log_dir: Path,
        *args: str,
        port: int | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.port = port if port is not None else free_port()
        self.out_path = log_dir / f"local-{self.port}.out"
        self.err_path = log_dir / f"local-{self.port}.err"
        argv = [sys.executable, "-m", "fcmigrate", "local", "--port", str(self.port), *args]
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(
                argv,
                env=python_env() if env is None else env,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )

    def stdout(self) -> str:
        return self.out_path.read_text(errors="replace")

    def stderr(self) -> str:
        return self.err_path.read_text(errors="replace")

    def wait_for(self, predicate: Callable[[str], bool], timeout: float = 15) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.stdout()
            if predicate(text):
                return text
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(
            f"output never matched (exit {self.proc.poll()})\n"
            f"stdout:\n{self.stdout()}\nstderr:\n{self.stderr()}"
        )

    def wait_ready(self) -> Local:
        self.wait_for(lambda text: "front door on" in text, timeout=30)
        return self

    def request(
        self,
        method: str,
        path: str,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.headers, response.read()
        finally:
            conn.close()

    def stop(self, timeout: float = 20) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        finally:
            self.kill()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
            # Killed before it could stop its function: stop that one by its pid.
            for pid in re.findall(r"as pid (\d+) with", self.stdout() + self.stderr()):
                try:
                    os.killpg(int(pid), signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass


def run_local(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fcmigrate", "local", *args],
        env=python_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def error_of(body: bytes) -> dict[str, str]:
    data: dict[str, str] = json.loads(body)
    assert set(data) == {"ErrorCode", "ErrorMessage"}
    return data


def assert_no_secrets(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


# --- projects and running front doors --------------------------------------------------


@pytest.fixture(scope="module")
def wrapped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the Flask sample after ``fcmigrate wrap app:app --event-route /events``."""
    project = tmp_path_factory.mktemp("wrapped") / "shopfront"
    shutil.copytree(FLASK_SAMPLE, project)
    subprocess.run(
        [sys.executable, "-m", "fcmigrate", "wrap", "app:app", "--event-route", "/events"],
        cwd=project,
        env=python_env(),
        check=True,
        capture_output=True,
    )
    assert (project / "bootstrap").is_file() and (project / "s.yaml").is_file()
    return project


@pytest.fixture(scope="module")
def app_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the Flask sample with no bootstrap, extra routes and a limiting s.yaml."""
    project = tmp_path_factory.mktemp("plain") / "storefront"
    shutil.copytree(FLASK_SAMPLE, project)
    (project / "extra.py").write_text(EXTRA_APP)
    (project / "s.yaml").write_text(LIMITED_S_YAML)
    return project


@pytest.fixture(scope="module")
def door(wrapped: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Local]:
    """The wrapped sample behind the front door, both URL styles, default-domain rules."""
    local = Local(tmp_path_factory.mktemp("door"), "--project", str(wrapped))
    try:
        yield local.wait_ready()
    finally:
        local.stop()


@pytest.fixture(scope="module")
def custom(app_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Local]:
    """``fcmigrate local extra:app --custom-domain`` on the project without a bootstrap."""
    log_dir = tmp_path_factory.mktemp("custom")
    local = Local(log_dir, "extra:app", "--project", str(app_project), "--custom-domain")
    try:
        yield local.wait_ready()
    finally:
        local.stop()


PREFIX = "/2016-08-15/proxy/shopfront/shopfront"


# --- serving and the path prefix ------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "script_name"),
    [(PREFIX + "/whoami", PREFIX), ("/whoami", "")],
    ids=["fc2-default-domain", "fcapp-root"],
)
def test_both_url_styles_serve_the_app(door: Local, path: str, script_name: str) -> None:
    status, _, body = door.request("GET", path)
    assert status == 200
    data = json.loads(body)
    assert data["script_name"] == script_name
    assert data["path"] == "/whoami"
    assert data["url_for_hello"] == script_name + "/hello/x"
    assert data["url"] == f"http://127.0.0.1:{door.port}{path}"
    assert data["headers"].get("X-Fc-Base-Path") == (script_name + "/" if script_name else None)


def test_start_prints_both_urls(door: Local) -> None:
    out = door.stdout()
    assert f"FC 2.0 default domain: http://127.0.0.1:{door.port}{PREFIX}/" in out
    assert f"fcapp.run style:       http://127.0.0.1:{door.port}/" in out
    assert "Health check passed on port" in out


def test_unknown_service_or_function_is_404(door: Local) -> None:
    status, _, body = door.request("GET", "/2016-08-15/proxy/other/shopfront/whoami")
    assert (status, error_of(body)["ErrorCode"]) == (404, "ServiceNotFound")
    status, _, body = door.request("GET", "/2016-08-15/proxy/shopfront/other/whoami")
    assert (status, error_of(body)["ErrorCode"]) == (404, "FunctionNotFound")


# --- request headers ------------------------------------------------------------------


def test_fc_headers_reach_the_app_and_credentials_do_not(door: Local) -> None:
    status, headers, body = door.request(
        "GET", PREFIX + "/whoami", headers={"Keep-Alive": "timeout=5", "X-Custom": "kept"}
    )
    assert status == 200
    data = json.loads(body)
    seen = data["headers"]
    rid = headers["x-fc-request-id"]
    assert REQUEST_ID.fullmatch(rid)
    assert seen["X-Fc-Request-Id"] == rid == data["request_id"]
    assert seen["X-Fc-Control-Path"] == "/http-invoke"
    assert seen["X-Fc-Function-Name"] == "shopfront"
    assert seen["X-Fc-Function-Memory"] == "1024"
    assert seen["X-Fc-Function-Timeout"] == "60"
    assert seen["X-Fc-Region"] == "cn-hangzhou"
    assert seen["X-Fc-Qualifier"] == "LATEST"
    assert seen["X-Fc-Account-Id"].isdigit()
    assert seen["X-Custom"] == "kept"
    # The front door sent the credentials; the middleware took them out of the environ.
    for name in ("X-Fc-Access-Key-Id", "X-Fc-Access-Key-Secret", "X-Fc-Security-Token"):
        assert name not in seen
    assert FAKE_ACCESS_KEY_ID not in body.decode()
    assert "Keep-Alive" not in seen and "Connection" not in seen
    assert_no_secrets(body.decode())


def test_front_door_sends_credentials_that_only_the_middleware_sees(custom: Local) -> None:
    status, _, body = custom.request("GET", "/credentials")
    assert status == 200
    assert json.loads(body) == {
        "key_id": FAKE_ACCESS_KEY_ID,
        "secret_is_fake": True,
        "in_environ": [],
    }


def test_qualifier_in_the_proxy_path_is_passed_on(door: Local) -> None:
    path = "/2016-08-15/proxy/shopfront.prod/shopfront/whoami"
    status, _, body = door.request("GET", path)
    data = json.loads(body)
    assert status == 200
    assert data["headers"]["X-Fc-Qualifier"] == "prod"
    assert data["script_name"] == "/2016-08-15/proxy/shopfront.prod/shopfront"


@pytest.mark.parametrize("name", ["X-Fc-Request-Id", "x-fc-base-path", "X-FC-Access-Key-Id"])
def test_client_sent_fc_headers_are_refused(door: Local, name: str) -> None:
    status, headers, body = door.request("GET", "/whoami", headers={name: "spoofed"})
    assert status == 400
    assert headers["Content-Type"] == "application/json"
    error = error_of(body)
    assert error["ErrorCode"] == "InvalidArgument"
    assert name in error["ErrorMessage"]
    rid = headers["x-fc-request-id"]
    out = door.wait_for(lambda text: rid in text)
    assert f"FC Invoke Start RequestId: {rid}" not in out  # never reached the function


# --- FC's request limits --------------------------------------------------------------


def test_headers_over_8_kb_are_refused(door: Local) -> None:
    status, _, _ = door.request("GET", "/whoami", headers={"X-Big": "a" * 7000})
    assert status == 200
    status, _, body = door.request("GET", "/whoami", headers={"X-Big": "a" * MAX_HEADER_BYTES})
    assert status == 400
    error = error_of(body)
    assert error["ErrorCode"] == "InvalidArgument"
    assert "8192" in error["ErrorMessage"]


def test_path_and_query_over_4_kb_are_refused(door: Local) -> None:
    path = "/hello/x?pad="
    status, _, body = door.request("GET", path + "a" * (MAX_PATH_BYTES - len(path)))
    assert status == 200 and b"Hello, x!" in body
    status, _, body = door.request("GET", path + "a" * (MAX_PATH_BYTES - len(path) + 1))
    assert status == 400
    assert "4096" in error_of(body)["ErrorMessage"]


def post_streamed(port: int, path: str, size: int) -> tuple[int, bytes]:
    """POST ``size`` bytes from one reused 1 MB block, so the test holds no big body."""
    block = b"x" * (1 << 20)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.putrequest("POST", path)
        conn.putheader("Content-Type", "application/octet-stream")
        conn.putheader("Content-Length", str(size))
        conn.endheaders()
        remaining = size
        while remaining:
            piece = block if remaining >= len(block) else block[:remaining]
            conn.send(piece)
            remaining -= len(piece)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_body_over_32_mb_is_refused(door: Local) -> None:
    status, body = post_streamed(door.port, "/events", MAX_BODY_BYTES + 1)
    assert status == 400
    error = error_of(body)
    assert error["ErrorCode"] == "InvalidArgument"
    assert str(MAX_BODY_BYTES) in error["ErrorMessage"]
    # The connection stayed usable and the function was not called.
    assert door.request("GET", "/whoami")[0] == 200


def test_body_of_exactly_32_mb_reaches_the_app(custom: Local) -> None:
    status, body = post_streamed(custom.port, "/upload", MAX_BODY_BYTES)
    assert (status, body) == (200, str(MAX_BODY_BYTES).encode())


def test_chunked_request_body_is_forwarded(door: Local) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", door.port, timeout=30)
    try:
        conn.request("POST", "/events", body=iter([b"ab", b"cd", b"e"]), encode_chunked=True)
        response = conn.getresponse()
        assert response.status == 200
        assert json.loads(response.read()) == {"received": 5, "body": "abcde"}
    finally:
        conn.close()


def test_refused_requests_keep_a_kept_alive_connection_in_step(door: Local) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", door.port, timeout=30)
    try:
        answers = []
        for headers in ({}, {"X-Fc-Status": "200"}, {}):
            conn.request("POST", "/events", body=b"0123456789", headers=headers)
            response = conn.getresponse()
            answers.append((response.status, response.read()))
    finally:
        conn.close()
    assert [status for status, _ in answers] == [200, 400, 200]
    assert json.loads(answers[2][1]) == {"received": 10, "body": "0123456789"}


def test_methods_outside_the_trigger_list_are_refused(custom: Local) -> None:
    assert custom.request("GET", "/whoami")[0] == 200
    status, _, body = custom.request("PUT", "/whoami", body=b"{}")
    assert status == 403
    error = error_of(body)
    assert error["ErrorCode"] == "AccessDenied"
    assert "'PUT'" in error["ErrorMessage"] and "GET, POST" in error["ErrorMessage"]
    status, _, body = custom.request("HEAD", "/whoami")
    assert (status, body) == (403, b"")


def test_head_is_answered_when_the_trigger_allows_it(door: Local) -> None:
    status, headers, body = door.request("HEAD", "/whoami")
    assert (status, body) == (200, b"")
    assert int(headers["Content-Length"]) > 0


# --- responses ------------------------------------------------------------------------


def test_headers_the_app_may_not_set_are_dropped(custom: Local) -> None:
    status, headers, body = custom.request("GET", "/rude-headers")
    assert (status, body) == (200, b"rude")
    assert headers.get_all("Server") == ["fcmigrate-local"]
    dates = headers.get_all("Date") or []
    assert len(dates) == 1 and "1970" not in dates[0]
    assert headers["Content-Length"] == "4"
    names = {name.lower() for name in headers}
    assert names & {"x-fc-custom", "x-fc-status"} == set()
    assert REQUEST_ID.fullmatch(headers["x-fc-request-id"])
    # A custom domain keeps the app's own Content-Disposition.
    assert headers["Content-Disposition"] == "inline"


def test_x_fc_status_is_read_removed_and_logged(door: Local) -> None:
    status, headers, _ = door.request("GET", "/boom")
    assert status == 500
    assert "x-fc-status" not in {name.lower() for name in headers}
    rid = headers["x-fc-request-id"]
    door.wait_for(lambda text: f"{rid} GET /boom 500" in text and "invocation failed" in text)
    status, headers, _ = door.request("GET", "/status/404")
    rid = headers["x-fc-request-id"]
    out = door.wait_for(lambda text: f"{rid} GET /status/404 404" in text)
    line = next(line for line in out.splitlines() if rid in line and "/status/404" in line)
    assert "invocation failed" not in line  # an app's own 404 is a successful invocation


def test_default_domain_forces_a_download_and_says_why_once(door: Local) -> None:
    for _ in range(2):
        status, headers, _ = door.request("GET", PREFIX + "/")
        assert status == 200
        assert headers["Content-Disposition"] == "attachment"
    status, headers, _ = door.request("GET", "/")
    assert status == 200 and "Content-Disposition" not in headers
    out = door.wait_for(lambda text: "Content-Disposition: attachment" in text)
    assert out.count("a browser downloads pages") == 1


def test_custom_domain_does_not_force_a_download(custom: Local) -> None:
    status, headers, _ = custom.request("GET", "/2016-08-15/proxy/shop/storefront/hello/x")
    assert status == 200
    assert "Content-Disposition" not in headers
    assert "a browser downloads pages" not in custom.stdout()


def test_kept_alive_requests_do_not_stall_on_delayed_acks(door: Local) -> None:
    # Headers and body written apart without TCP_NODELAY cost 40 ms or more per response.
    conn = http.client.HTTPConnection("127.0.0.1", door.port, timeout=30)
    times = []
    try:
        for _ in range(15):
            started = time.perf_counter()
            conn.request("GET", "/api/items")
            assert conn.getresponse().read().startswith(b"[")
            times.append(time.perf_counter() - started)
    finally:
        conn.close()
    assert statistics.median(times) < 0.030, times


def test_one_log_line_per_request_and_the_function_output(door: Local) -> None:
    _, headers, _ = door.request("GET", "/api/items")
    rid = headers["x-fc-request-id"]
    # The function writes its End line when the response is closed, maybe after we read it.
    out = door.wait_for(
        lambda text: f"[local] {rid} GET /api/items" in text and f"End RequestId: {rid}" in text
    )
    assert re.search(rf"\[local\] {rid} GET /api/items 200 \d+ ms", out)
    assert f"FC Invoke Start RequestId: {rid}" in out
    assert f"FC Invoke End RequestId: {rid}" in out
    assert_no_secrets(out, door.stderr())


# --- environment, hooks and stopping ---------------------------------------------------


def test_function_gets_fc_environment_from_s_yaml(custom: Local, app_project: Path) -> None:
    status, _, body = custom.request("GET", "/env")
    assert status == 200
    env = json.loads(body)
    assert env["FC_FUNCTION_NAME"] == "storefront"
    assert env["FC_REGION"] == "cn-shanghai"
    assert env["FC_TIMEOUT"] == "20"
    assert env["FC_FUNCTION_MEMORY_SIZE"] == "512"
    assert env["FC_RUNTIME"] == "custom.debian10"
    assert env["FC_FUNC_CODE_PATH"] == str(app_project) + "/"
    assert env["FC_SERVER_PORT"] == env["FC_CUSTOM_LISTEN_PORT"] != str(custom.port)
    assert env["ALIBABA_CLOUD_ACCESS_KEY_ID"] == FAKE_ACCESS_KEY_ID
    assert env["GREETING"] == "hello from s.yaml"
    assert "/var/fc/lang" not in env["PATH"]  # FC's PATH would hide this machine's Python
    assert "PATH, PYTHONPATH" in custom.stdout()


def test_initializer_from_s_yaml_runs_once_before_requests(custom: Local) -> None:
    for _ in range(2):
        assert custom.request("GET", "/hello/x")[0] == 200
    out = custom.stdout()
    assert out.count("FC Initialize Start RequestId:") == 1
    assert out.index("Initialize: POST /initialize -> 200") < out.index("front door on")


def test_hooks_run_at_start_and_at_sigterm_then_exit_0(wrapped: Path, tmp_path: Path) -> None:
    local = Local(tmp_path, "--project", str(wrapped), "--initializer", "--pre-stop")
    try:
        local.wait_ready()
        assert local.request("GET", "/whoami")[0] == 200
        assert local.stop() == 0
    finally:
        local.kill()
    out = local.stdout()
    assert out.count("FC Initialize Start RequestId:") == 1
    assert "FC PreStop Start RequestId:" in out
    assert "PreStop: GET /pre-stop -> 200" in out
    # Lines of this command's own (the function's workers write theirs when they like).
    assert out.index("Initialize: POST /initialize -> 200") < out.index("front door on")
    assert out.index("PreStop: GET /pre-stop -> 200") < out.index("Function stopped")


# --- event calls ----------------------------------------------------------------------


def test_invoke_sends_an_event_and_prints_the_result(wrapped: Path, tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text('{"order": 42}')
    result = run_local("--project", str(wrapped), "--invoke", str(event))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"received": 13, "body": '{"order": 42}'}
    assert "status 200" in result.stderr and "succeeded" in result.stderr
    assert "FC Invoke Start RequestId:" in result.stderr


def test_invoke_without_an_event_route_fails(app_project: Path) -> None:
    args = ["extra:app", "--project", str(app_project), "--invoke", "-"]
    proc = subprocess.run(
        [sys.executable, "-m", "fcmigrate", "local", *args],
        env=python_env(),
        input=b"{}",
        capture_output=True,
        timeout=60,
    )
    stderr = proc.stderr.decode()
    assert proc.returncode == 1, stderr
    assert b"serves HTTP requests only" in proc.stdout
    assert "status 404, x-fc-status 404" in stderr and "failed" in stderr


# --- start-up failures ----------------------------------------------------------------


def test_health_check_fails_for_a_server_on_127_0_0_1(tmp_path: Path) -> None:
    write_bootstrap(
        tmp_path / "fn", 'exec python3 -m http.server --bind 127.0.0.1 "$FC_SERVER_PORT"'
    )
    started = time.monotonic()
    result = run_local("--project", str(tmp_path / "fn"), "--port", "0", "--start-timeout", "30")
    # Found as soon as the process listens, well before the --start-timeout runs out.
    assert time.monotonic() - started < 20
    assert result.returncode == 1
    assert "listens on 127.0.0.1:" in result.stderr
    assert "health check failed on port 9000" in result.stderr
    assert "Serving HTTP on 127.0.0.1" in result.stderr  # the process's own last output
    assert "0.0.0.0:$FC_SERVER_PORT" in result.stderr


def test_health_check_times_out_when_nothing_listens(tmp_path: Path) -> None:
    write_bootstrap(tmp_path / "fn", 'echo "warming up"\nexec sleep 30')
    result = run_local("--project", str(tmp_path / "fn"), "--port", "0", "--start-timeout", "1")
    assert result.returncode == 1
    port = re.search(r"FC_SERVER_PORT=(\d+)", result.stdout)
    assert port is not None
    assert f"health check failed on port {port.group(1)} in 1 seconds" in result.stderr
    assert "warming up" in result.stderr


def test_function_that_exits_at_start_is_reported(tmp_path: Path) -> None:
    write_bootstrap(tmp_path / "fn", 'echo "ImportError: no module named shop" >&2\nexit 3')
    result = run_local("--project", str(tmp_path / "fn"), "--port", "0")
    assert result.returncode == 1
    assert "exited with code 3" in result.stderr
    assert "ImportError: no module named shop" in result.stderr


def test_bootstrap_that_is_not_executable_is_refused(tmp_path: Path) -> None:
    write_bootstrap(tmp_path / "fn", "exit 0")
    (tmp_path / "fn" / "bootstrap").chmod(0o644)
    result = run_local("--project", str(tmp_path / "fn"), "--port", "0")
    assert result.returncode == 2
    assert "CAFilePermission" in result.stderr and "chmod 755" in result.stderr


def test_port_in_use_is_a_one_line_error(wrapped: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_local("--project", str(wrapped), "--port", str(port))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"Error: Port {port} is in use. Use another: fcmigrate local --port {port + 1}"
    )


def test_help_lists_the_options() -> None:
    result = CliRunner().invoke(cli, ["local", "--help"])
    assert result.exit_code == 0
    for option in (
        "--port",
        "--url-style",
        "--custom-domain",
        "--invoke",
        "--project",
        "--start-timeout",
        "--initializer",
        "--pre-stop",
        "--idle-timeout",
    ):
        assert option in result.output


# --- the start command and environment from the deploy config (in-process) -------------


def test_request_ids_have_fc3_shape() -> None:
    ids = {new_request_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(REQUEST_ID.fullmatch(rid) for rid in ids)


# --- hardening: the function behind the front door only ---------------------------------

TINY_APP = """\
def app(environ, start_response):
    start_response("200 OK", [])
    return [b"ok"]
"""


def function_port(local: Local) -> int:
    found = re.search(r"with FC_SERVER_PORT=(\d+)", local.stdout())
    assert found is not None, local.stdout()
    return int(found.group(1))


def listening_addresses(port: int) -> list[str]:
    """Local addresses listening on ``port``, as ``ss`` reports them."""
    result = subprocess.run(
        ["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True, check=True
    )
    return [line.split()[3].rsplit(":", 1)[0] for line in result.stdout.splitlines()]


@pytest.mark.skipif(shutil.which("ss") is None, reason="needs ss (iproute2)")
def test_function_listens_on_127_0_0_1_only(door: Local) -> None:
    port = function_port(door)
    assert listening_addresses(port) == ["127.0.0.1"]
    assert "Under fcmigrate local: listening on 127.0.0.1:" in door.stdout() + door.stderr()
    assert door.request("GET", "/whoami")[0] == 200  # the front door still reaches it


def test_server_bound_to_127_0_0_1_by_the_user_still_fails_fc_health_check(
    tmp_path: Path,
) -> None:
    # Only an every-interface bind is moved to 127.0.0.1; this one would fail on FC.
    project = tmp_path / "fn"
    write_bootstrap(
        project, 'exec python3 -m fcmigrate serve app:app --bind "127.0.0.1:$FC_SERVER_PORT"'
    )
    (project / "app.py").write_text(TINY_APP)
    result = run_local("--project", str(project), "--port", "0", "--start-timeout", "30")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "listens on 127.0.0.1:" in result.stderr
    assert "health check failed on port 9000" in result.stderr


def test_server_of_its_own_on_every_interface_is_served_with_a_warning(tmp_path: Path) -> None:
    write_bootstrap(tmp_path / "fn", 'exec python3 -m http.server --bind 0.0.0.0 "$FC_SERVER_PORT"')
    local = Local(tmp_path, "--project", str(tmp_path / "fn"))
    try:
        out = local.wait_ready().stdout()
        assert local.request("GET", "/")[0] == 200
    finally:
        local.stop()
    assert "listens on every interface of this machine" in out
    assert "FCMIGRATE_LOCAL_HOST" in out


@pytest.mark.parametrize(
    ("binds", "expected"),
    [
        (["0.0.0.0:9000"], ["127.0.0.1:9000"]),
        (["[::]:9000", ":8080"], ["127.0.0.1:9000", "127.0.0.1:8080"]),
        (["127.0.0.1:9000", "10.0.0.5:9000"], ["127.0.0.1:9000", "10.0.0.5:9000"]),
        (["unix:/tmp/app.sock"], ["unix:/tmp/app.sock"]),
    ],
    ids=["ipv4-any", "ipv6-any-and-empty-host", "named-hosts-kept", "unix-socket-kept"],
)
def test_every_interface_binds_move_to_the_local_host(
    binds: list[str], expected: list[str]
) -> None:
    from fcmigrate.runtime.server import LOCAL_HOST_ENV, local_binds

    assert local_binds(binds, {LOCAL_HOST_ENV: "127.0.0.1"}) == expected
    assert local_binds(binds, {}) == binds  # on FC nothing moves


# --- hardening: HTTP framing --------------------------------------------------------------


def raw_exchange(port: int, data: bytes, timeout: float = 10) -> tuple[bytes, float]:
    """Send ``data`` without closing the sending side; everything the front door sends
    until it closes the connection, and the seconds that took."""
    import socket

    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received, time.monotonic() - started


CHUNKED_HEAD = b"POST /events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
LENGTH_HEAD = b"POST /events HTTP/1.1\r\nHost: x\r\nContent-Length: %s\r\n\r\n"


@pytest.mark.parametrize(
    "data",
    [
        CHUNKED_HEAD + b"-1\r\n",
        CHUNKED_HEAD + b"zz\r\nab",
        CHUNKED_HEAD + b"3\r\nabcXY",
        LENGTH_HEAD % b"-5",
        LENGTH_HEAD % b"12abc",
        b"POST /events HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
        b"POST /events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Length: 5\r\n\r\n",
        b"GET /whoami HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: " + b"a" * 70_000,
        b"GET /whoami HTTP/1.1\r\nHost x\r\n\r\n",
    ],
    ids=[
        "chunk-size-minus-1",
        "chunk-size-not-hex",
        "chunk-without-crlf",
        "negative-content-length",
        "content-length-not-a-number",
        "two-content-lengths",
        "transfer-encoding-and-content-length",
        "head-over-64-kb",
        "header-without-colon",
    ],
)
def test_malformed_framing_is_refused_at_once(door: Local, data: bytes) -> None:
    # The connection stays open from the client's side: the answer may not wait for more.
    received, seconds = raw_exchange(door.port, data)
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 "), received[:200]
    assert b"connection: close" in head.lower()
    assert error_of(body)["ErrorCode"] == "InvalidArgument"
    assert seconds < 5


def test_chunk_size_minus_1_does_not_read_the_stream(door: Local) -> None:
    # Before h11 a chunk size of -1 made the front door read the stream to its end.
    import socket

    with socket.create_connection(("127.0.0.1", door.port), timeout=10) as sock:
        sock.sendall(CHUNKED_HEAD + b"-1\r\n")
        block = b"x" * 65536
        sent = 0
        try:
            while sent < 64 << 20:
                sock.sendall(block)
                sent += len(block)
        except (BrokenPipeError, ConnectionResetError):
            pass
        # The front door stopped reading long before 64 MB (the kernel buffers some).
    assert sent < 16 << 20


def test_request_line_control_characters_are_escaped_in_the_console(door: Local) -> None:
    for line in (b"GET /a\x1b[31mred HTTP/1.1", b"GET /a\rb HTTP/1.1"):
        received, _ = raw_exchange(door.port, line + b"\r\nHost: x\r\n\r\n")
        assert received.startswith(b"HTTP/1.1 400 ")
    out = door.wait_for(lambda text: "\\x1b[31mred" in text and "/a\\rb" in text)
    assert "\x1b" not in out
    assert not any(line.startswith("b HTTP/1.1") for line in out.splitlines())


# --- hardening: slow clients --------------------------------------------------------------


@pytest.fixture(scope="module")
def quick_door(wrapped: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Local]:
    """The wrapped sample behind a front door that drops silent clients after 1 s."""
    local = Local(
        tmp_path_factory.mktemp("quick"), "--project", str(wrapped), "--idle-timeout", "1"
    )
    try:
        yield local.wait_ready()
    finally:
        local.stop()


def test_stalled_clients_are_closed_after_the_idle_timeout(quick_door: Local) -> None:
    import socket

    halves = [b"GET /whoami HTTP/1.1\r\nHost: x\r\n"] * 12 + [
        b"POST /events HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"
    ] * 4
    stalled = []
    try:
        for half in halves:
            sock = socket.create_connection(("127.0.0.1", quick_door.port), timeout=10)
            sock.sendall(half)
            stalled.append(sock)
        # While they stall, a normal request is served.
        assert quick_door.request("GET", "/whoami")[0] == 200
        started = time.monotonic()
        for sock in stalled:
            assert sock.recv(1024) == b""  # closed by the front door, nothing answered
        assert time.monotonic() - started < 6
    finally:
        for sock in stalled:
            sock.close()
    assert quick_door.request("GET", "/whoami")[0] == 200
    out = quick_door.wait_for(lambda text: text.count("the client sent nothing for 1 s") >= 16)
    assert "POST /events - (closed: the client sent nothing for 1 s" in out


def test_kept_alive_connection_survives_short_pauses(quick_door: Local) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", quick_door.port, timeout=10)
    try:
        for _ in range(2):
            conn.request("GET", "/whoami")
            response = conn.getresponse()
            assert response.status == 200
            response.read()
            time.sleep(0.3)
        assert conn.sock is not None
    finally:
        conn.close()


# --- the build's own Python -------------------------------------------------------------

#: Stands in for the fcmigrate a build vendors into python/: it answers with its Python.
STUB_SERVE = """\
import http.server
import os
import sys

from fcmigrate_stub_note import NOTE


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("%d.%d" % sys.version_info[:2]).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


host = os.environ["FCMIGRATE_LOCAL_HOST"]
print(NOTE, host, flush=True)
http.server.HTTPServer((host, int(os.environ["FC_SERVER_PORT"])), Handler).serve_forever()
"""


def fake_build(root: Path, python: str) -> Path:
    """A build folder as ``migrate --python X.Y`` leaves it: the bootstrap naming Python
    X.Y, and python/ holding the packages (here a stand-in fcmigrate)."""
    from fcmigrate.runtime.server import LOCAL_BIND_NOTE

    build = root / "build"
    build.mkdir()
    (build / "app.py").write_text(TINY_APP)
    subprocess.run(
        [sys.executable, "-m", "fcmigrate", "wrap", "app:app", "--python", python],
        cwd=build,
        env=python_env(),
        check=True,
        capture_output=True,
    )
    stub = build / "python" / "fcmigrate"
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text("")
    (stub / "__main__.py").write_text(STUB_SERVE)
    (build / "python" / "fcmigrate_stub_note.py").write_text(f"NOTE = {LOCAL_BIND_NOTE!r}\n")
    return build


def test_build_runs_with_its_own_python(tmp_path: Path) -> None:
    from fcmigrate.build.vendor import find_interpreter

    python310 = find_interpreter("3.10")
    if python310 is None or sys.version_info[:2] == (3, 10):
        pytest.skip("needs a Python 3.10 that is not the one running the tests")
    build = fake_build(tmp_path, "3.10")
    env = python_env(drop=["FCMIGRATE_PYTHON"])
    local = Local(tmp_path, "--project", str(build), env=env)
    try:
        out = local.wait_ready().stdout()
        status, _, body = local.request("GET", "/")
    finally:
        local.stop()
    assert (status, body) == (200, b"3.10")
    assert f"Python: 3.10 ({python310}), the build's Python (bootstrap)." in out


def test_build_python_missing_here_is_said_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fcmigrate.build import vendor
    from fcmigrate.local.function import function_python

    other = "3.12" if sys.version_info[:2] != (3, 12) else "3.13"
    build = fake_build(tmp_path, other)
    monkeypatch.delenv("FCMIGRATE_PYTHON", raising=False)
    monkeypatch.setattr(vendor, "find_interpreter", lambda version, explicit=None: None)
    options = LocalOptions(project=build)
    python, note = function_python(options, load_config(build))
    assert python == sys.executable
    assert f"not the build's Python {other} (bootstrap), which is not on this machine" in note
    assert "Install Python" in note and "FCMIGRATE_PYTHON" in note
    assert "\n" not in note


def test_project_without_python_folder_uses_this_python(
    wrapped: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fcmigrate.local.function import function_python

    monkeypatch.delenv("FCMIGRATE_PYTHON", raising=False)
    python, note = function_python(LocalOptions(project=wrapped), load_config(wrapped))
    assert python == sys.executable
    assert "no python/ folder" in note
    monkeypatch.setenv("FCMIGRATE_PYTHON", "/opt/my/python")
    assert function_python(LocalOptions(project=wrapped), load_config(wrapped))[0] == (
        "/opt/my/python"
    )


@pytest.mark.slow
def test_real_build_for_3_10_runs_with_python_3_10(tmp_path: Path) -> None:
    from fcmigrate.build.vendor import find_interpreter

    python310 = find_interpreter("3.10")
    if python310 is None or sys.version_info[:2] == (3, 10):
        pytest.skip("needs a Python 3.10 that is not the one running the tests")
    project = tmp_path / "shopfront"
    shutil.copytree(FLASK_SAMPLE, project)
    build = tmp_path / "build"
    args = ["migrate", str(project), "--python", "3.10", "--out", str(build)]
    built = subprocess.run(
        [sys.executable, "-m", "fcmigrate", *args],
        env=python_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    local = Local(tmp_path, "--project", str(build), env=python_env(drop=["FCMIGRATE_PYTHON"]))
    try:
        out = local.wait_ready().stdout()
        status, _, body = local.request("GET", "/whoami")
        pid = re.search(r"as pid (\d+) with", out)
        assert pid is not None
        argv = Path(f"/proc/{pid.group(1)}/cmdline").read_bytes().split(b"\0")
    finally:
        local.stop()
    assert status == 200 and json.loads(body)["path"] == "/whoami"
    assert argv[0].decode() == python310  # the bootstrap ran the build's Python
    assert f"Python: 3.10 ({python310}), the build's Python (bootstrap)." in out


def test_body_over_32_mb_announced_with_expect_100_is_refused_before_the_upload(
    door: Local,
) -> None:
    head = LENGTH_HEAD % str(MAX_BODY_BYTES + 1).encode()
    head = head.replace(b"\r\n\r\n", b"\r\nExpect: 100-continue\r\n\r\n")
    received, seconds = raw_exchange(door.port, head)
    assert received.startswith(b"HTTP/1.1 400 ")  # no "100 Continue" first
    assert str(MAX_BODY_BYTES).encode() in received
    assert seconds < 5


def test_expect_100_continue_gets_the_body_through(door: Local) -> None:
    import socket

    with socket.create_connection(("127.0.0.1", door.port), timeout=10) as sock:
        extra = b"\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"
        sock.sendall((LENGTH_HEAD % b"5").replace(b"\r\n\r\n", extra))
        assert sock.recv(1024).startswith(b"HTTP/1.1 100 ")
        sock.sendall(b"hello")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert json.loads(answer.partition(b"\r\n\r\n")[2]) == {"received": 5, "body": "hello"}


def test_refused_body_is_drained_up_to_64_mb_then_the_connection_closes(door: Local) -> None:
    import socket

    from fcmigrate.local.frontdoor import MAX_DRAIN_BYTES

    size = 4 * MAX_DRAIN_BYTES
    block = b"x" * (1 << 20)
    sent = 0
    with socket.create_connection(("127.0.0.1", door.port), timeout=30) as sock:
        sock.sendall(LENGTH_HEAD % str(size).encode())
        try:
            while sent < size:
                sock.sendall(block)
                sent += len(block)
        except (BrokenPipeError, ConnectionResetError):
            pass
    # Read and dropped up to the drain limit, then the front door stopped reading.
    assert MAX_DRAIN_BYTES <= sent < MAX_DRAIN_BYTES + (32 << 20)


def test_local_leaves_the_project_as_it_was(tmp_path: Path) -> None:
    """The front door, the server and the app's import write nothing into the project."""
    project = tmp_path / "shopfront"
    shutil.copytree(FLASK_SAMPLE, project, ignore=shutil.ignore_patterns("__pycache__"))

    def hashes() -> dict[str, str]:
        return {
            p.relative_to(project).as_posix(): "dir"
            if p.is_dir()
            else hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(project.rglob("*"))
        }

    before = hashes()
    local = Local(tmp_path, "app:app", "--project", str(project))
    try:
        local.wait_ready()
        status, _, _ = local.request("GET", "/")
        assert status == 200, local.stderr()
    finally:
        local.stop()
    assert hashes() == before
