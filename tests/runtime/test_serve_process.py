"""``fcmigrate serve`` as a real process: stopping it, untrusted headers, a bad environment."""

from __future__ import annotations

import http.client
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import StartServer, free_port, python_env

pytestmark = pytest.mark.slow

THREAD_APP = """\
import threading
import time


def poll():
    while True:
        time.sleep(0.1)


threading.Thread(target=poll, name="metrics-poller").start()
threading.Thread(target=poll, name="cache-warmer").start()


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
"""

HELLO_APP = """\
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
"""

GRACEFUL = 2


def get(port: int, path: str = "/", headers: dict[str, str] | None = None) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        resp.read()
        return resp.status, resp.getheader("X-Request-Id") or ""
    finally:
        conn.close()


def test_non_daemon_thread_started_at_import_does_not_keep_a_stopped_server_alive(
    start_server: StartServer, tmp_path: Path
) -> None:
    (tmp_path / "threadapp.py").write_text(THREAD_APP, encoding="utf-8")
    server = start_server(
        [
            sys.executable,
            "-m",
            "fcmigrate",
            "serve",
            "threadapp:app",
            "--workers",
            "1",
            "--graceful-timeout",
            str(GRACEFUL),
        ],
        cwd=tmp_path,
    )
    assert get(server.port)[0] == 200
    started = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    try:
        code = server.proc.wait(GRACEFUL + 8)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running after SIGTERM:\n{server.stderr()}")
    elapsed = time.monotonic() - started
    stderr = server.stderr()
    assert code == 0, stderr
    assert elapsed < GRACEFUL + 5, stderr
    assert "Shutting down: Master" in stderr
    warning = [line for line in stderr.splitlines() if "non-daemon thread" in line]
    assert len(warning) == 1, stderr
    assert "'metrics-poller'" in warning[0] and "'cache-warmer'" in warning[0]


def test_control_plain_gunicorn_preload_lives_on_after_sigterm(
    start_server: StartServer, tmp_path: Path
) -> None:
    # The fault is real: gunicorn with the app imported in the master does not exit.
    (tmp_path / "threadapp.py").write_text(THREAD_APP, encoding="utf-8")
    port = free_port()
    argv = [sys.executable, "-m", "gunicorn", "--preload", "--workers", "1"]
    argv += ["--graceful-timeout", str(GRACEFUL), "--bind", f"127.0.0.1:{port}", "threadapp:app"]
    server = start_server(argv, cwd=tmp_path, port=port)
    server.proc.send_signal(signal.SIGTERM)
    with pytest.raises(subprocess.TimeoutExpired):
        server.proc.wait(GRACEFUL + 3)
    assert "Shutting down: Master" in server.stderr()


def test_untrusted_mode_drops_a_client_sent_scf_request_id(
    start_server: StartServer, tmp_path: Path
) -> None:
    (tmp_path / "hello.py").write_text(HELLO_APP, encoding="utf-8")
    server = start_server(
        [sys.executable, "-m", "fcmigrate", "serve", "hello:app", "--drop-fc-headers"],
        cwd=tmp_path,
    )
    status, rid = get(server.port, headers={"X-Scf-Request-Id": "client-chosen-scf"})
    assert status == 200 and rid and rid != "client-chosen-scf"
    server.terminate()  # every line is written out once the server has stopped
    stdout = server.stdout_path.read_text(errors="replace")
    stderr = server.stderr_path.read_text(errors="replace")
    assert f"FC Invoke Start RequestId: {rid}" in stdout
    assert f"request_id={rid}" in stdout + stderr  # the access log
    assert "client-chosen-scf" not in stdout + stderr


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        pytest.param(
            "--workers abc", "argument -w/--workers: invalid int value: 'abc'", id="bad-int"
        ),
        pytest.param("--no-such-option", "unrecognized arguments: --no-such-option", id="unknown"),
        pytest.param(
            "--forwarded-allow-ips not-an-ip",
            "--forwarded-allow-ips: 'not-an-ip' does not appear to be",
            id="bad-value",
        ),
        pytest.param("--bind '0.0.0.0:1", "no closing quotation", id="unclosed-quote"),
    ],
)
@pytest.mark.parametrize(
    "entry", [["-m", "fcmigrate"], ["-c", "from fcmigrate.cli import main; main()"]]
)
def test_bad_gunicorn_cmd_args_is_one_error_line(
    tmp_path: Path, entry: list[str], value: str, reason: str
) -> None:
    (tmp_path / "hello.py").write_text(HELLO_APP, encoding="utf-8")
    env = python_env({"GUNICORN_CMD_ARGS": value, "FC_SERVER_PORT": str(free_port())})
    done = subprocess.run(
        [sys.executable, *entry, "serve", "hello:app"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"Error: GUNICORN_CMD_ARGS: {reason}"), done.stderr
    assert "unset GUNICORN_CMD_ARGS" in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
