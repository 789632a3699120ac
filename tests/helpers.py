"""Shared test helpers: real server processes, the CLI in-process, the sample apps,
a clean Python environment. Fixtures live in ``conftest.py``."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import pytest

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent

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


def python_env(
    extra: Mapping[str, str] | None = None, *, drop: Iterable[str] = ()
) -> dict[str, str]:
    """The test process's environment, with this interpreter's bin first on PATH.

    ``python3`` in a started bootstrap then is the interpreter running the tests, which
    has fcmigrate and the sample apps' dependencies installed. The variables named in
    ``drop`` are removed before ``extra`` is added.
    """
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["FCMIGRATE_PYTHON"] = sys.executable
    for name in ("GUNICORN_CMD_ARGS", "FCMIGRATE_BASE_PATH", *drop):
        env.pop(name, None)
    if extra:
        env.update(extra)
    return env


def wrap_sample(sample: Path, spec: str, root: Path, env: Mapping[str, str] | None = None) -> Path:
    """A copy of ``sample`` in ``root`` with the bootstrap ``fcmigrate wrap SPEC`` writes."""
    project = root / sample.name
    shutil.copytree(sample, project)
    subprocess.run(
        [sys.executable, "-m", "fcmigrate", "wrap", spec, "--out", str(project)],
        check=True,
        capture_output=True,
        env=python_env(env),
    )
    return project


def run_bootstrap(
    script: Path, *, cwd: Path, env: Mapping[str, str], args: tuple[str, ...] = ()
) -> dict[str, list[str]]:
    """Run a start script with bash; parse the ``key=value`` lines a stub interpreter printed."""
    result = subprocess.run(
        ["bash", str(script), *args], cwd=cwd, env=dict(env), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    parsed: dict[str, list[str]] = {}
    for line in result.stdout.splitlines():
        key, _, value = line.partition("=")
        parsed.setdefault(key, []).append(value)
    return parsed


def migrate_django(site: Path, env: Mapping[str, str]) -> None:
    """``manage.py migrate`` in ``site`` with exactly ``env``; fails the test on an error."""
    migrated = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=site,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert migrated.returncode == 0, migrated.stderr


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


def launch(
    argv: Sequence[str],
    *,
    cwd: Path,
    log_dir: Path,
    env: Mapping[str, str] | None = None,
    port: int | None = None,
    drop: Iterable[str] = (),
) -> Server:
    """A :class:`Server` on ``port`` (a free one if None), not yet waited for.

    Its environment is :func:`python_env` without ``drop``, with ``FC_SERVER_PORT`` and
    ``env`` added.
    """
    port = port or free_port()
    full_env = python_env({"FC_SERVER_PORT": str(port), **(env or {})}, drop=drop)
    return Server(argv, cwd=cwd, port=port, env=full_env, log_dir=log_dir)


StartServer = Callable[..., Server]


@contextlib.contextmanager
def running(starts: Mapping[str, Callable[[], Server]]) -> Iterator[dict[str, Server]]:
    """Start every server (``name -> launch``), wait until all are ready, stop all after.

    They start side by side, so a module's servers cost one start-up, not one each.
    """
    started: dict[str, Server] = {}
    try:
        for name, start in starts.items():
            started[name] = start()
        for server in started.values():
            server.wait_ready(30)
        yield started
    finally:
        for server in started.values():
            server.kill()


class CliResult(NamedTuple):
    code: int
    out: str
    err: str


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> CliResult:
    """``fcmigrate ARGS`` in this process: its exit status and what it printed."""
    from fcmigrate.cli import main

    capsys.readouterr()
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    return CliResult(code, captured.out, captured.err)


def location_path(resp: Any) -> str:
    """Path and query of a redirect's Location, absolute or not."""
    parts = urlsplit(resp.headers["Location"])
    return parts.path + (f"?{parts.query}" if parts.query else "")


#: A distribution whose only module is a WSGI app, as httpbin or pypiserver ship theirs.
TINY_WHEEL_NAME = "fcm-tiny-wsgi"

TINY_WHEEL_BODY = b"tiny wheel"


def build_tiny_wheel(folder: Path) -> Path:
    """Write the wheel of ``fcm-tiny-wsgi`` 1.0 (module ``fcm_tiny_wsgi``, app ``app``) by
    hand, as the wheel format describes it: no build backend, no network. Return the folder
    that holds it, for ``--find-links``."""
    import base64
    import hashlib
    import zipfile

    dist = "fcm_tiny_wsgi-1.0"
    files = {
        "fcm_tiny_wsgi/__init__.py": (
            "def app(environ, start_response):\n"
            "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
            f"    return [{TINY_WHEEL_BODY!r}]\n"
        ),
        f"{dist}.dist-info/METADATA": (
            f"Metadata-Version: 2.1\nName: {TINY_WHEEL_NAME}\nVersion: 1.0\n"
        ),
        f"{dist}.dist-info/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: fcmigrate-tests\nRoot-Is-Purelib: true\n"
            "Tag: py3-none-any\n"
        ),
        f"{dist}.dist-info/top_level.txt": "fcm_tiny_wsgi\n",
    }
    record = []
    for name, text in files.items():
        digest = hashlib.sha256(text.encode()).digest()
        encoded = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        record.append(f"{name},sha256={encoded},{len(text.encode())}")
    record.append(f"{dist}.dist-info/RECORD,,")
    files[f"{dist}.dist-info/RECORD"] = "\n".join(record) + "\n"
    wheels = folder / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheels / f"{dist}-py3-none-any.whl", "w") as wheel:
        for name, text in files.items():
            wheel.writestr(name, text)
    return wheels


def write_bootstrap(project: Path, script: str) -> None:
    """An executable ``bootstrap`` running ``script`` in ``project`` (made if missing)."""
    project.mkdir(exist_ok=True)
    bootstrap = project / "bootstrap"
    bootstrap.write_text("#!/bin/bash\n" + script + "\n")
    bootstrap.chmod(0o755)


def old_wheel(
    wheels: Path,
    name: str,
    version: str,
    body: str,
    requires: Sequence[str] = (),
    package: str | None = None,
) -> None:
    """Write a pure-Python wheel of ``name`` whose ``__init__`` is ``body``, by hand; its
    package is ``package`` (default: ``name``)."""
    import base64
    import hashlib
    import zipfile

    dist = f"{name}-{version}"
    files = {
        f"{package or name}/__init__.py": body,
        f"{dist}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        + "".join(f"Requires-Dist: {line}\n" for line in requires),
        f"{dist}.dist-info/WHEEL": "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = [
        f"{path},sha256="
        f"{base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b'=').decode()}"
        f",{len(text.encode())}"
        for path, text in files.items()
    ]
    files[f"{dist}.dist-info/RECORD"] = "\n".join([*record, f"{dist}.dist-info/RECORD,,"])
    with zipfile.ZipFile(wheels / f"{dist}-py3-none-any.whl", "w") as whl:
        for path, text in files.items():
            whl.writestr(path, text)
