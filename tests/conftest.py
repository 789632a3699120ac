"""Shared helpers for tests that start real processes and talk HTTP to them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "sample_apps"
FLASK_SAMPLE = SAMPLES / "flask_app"
DJANGO_SAMPLE = SAMPLES / "django_site"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for_port(port: int, proc: subprocess.Popen[bytes] | None, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listened on port {port} within {timeout} s")


def python_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The test process's environment, with this interpreter's bin first on PATH.

    ``python3`` in a started bootstrap then is the interpreter running the tests, which
    has fcmigrate and the sample apps' dependencies installed.
    """
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["FCMIGRATE_PYTHON"] = sys.executable
    env.pop("GUNICORN_CMD_ARGS", None)
    env.pop("FCMIGRATE_BASE_PATH", None)
    if extra:
        env.update(extra)
    return env


class Server:
    """A real server process on a free port; its stdout and stderr go to files."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        port: int,
        env: Mapping[str, str],
        log_dir: Path,
    ) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.stdout_path = log_dir / f"server-{port}.out"
        self.stderr_path = log_dir / f"server-{port}.err"
        self._out = open(self.stdout_path, "wb")
        self._err = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdout=self._out,
            stderr=self._err,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 30) -> Server:
        try:
            wait_for_port(self.port, self.proc, timeout)
        except Exception as exc:
            raise AssertionError(f"{exc}\nstderr:\n{self.stderr()}") from exc
        return self

    def stdout(self) -> str:
        self._out.flush()
        return self.stdout_path.read_text(errors="replace")

    def stderr(self) -> str:
        self._err.flush()
        return self.stderr_path.read_text(errors="replace")

    def terminate(self, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        finally:
            self.kill()

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(10)
        else:
            # The master is gone; make sure no worker outlives it.
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self._out.close()
        self._err.close()


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[object]:
    """``start_server(argv, cwd=..., env=...)`` -> a ready :class:`Server` on a free port.

    The port is given to the process as ``FC_SERVER_PORT``. Every server is stopped after
    the test.
    """
    servers: list[Server] = []

    def start(
        argv: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str] | None = None,
        port: int | None = None,
        ready: bool = True,
        timeout: float = 30,
    ) -> Server:
        port = port or free_port()
        full_env = python_env({"FC_SERVER_PORT": str(port), **(env or {})})
        server = Server(argv, cwd=cwd, port=port, env=full_env, log_dir=tmp_path)
        servers.append(server)
        return server.wait_ready(timeout) if ready else server

    yield start
    for server in servers:
        server.kill()
