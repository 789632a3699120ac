"""The function's process under ``fcmigrate local``: started, health-checked, stopped as FC does.

:func:`start_command` picks what FC would run (``APP`` through ``fcmigrate serve``, the
config's start command, or ``bootstrap``), :func:`function_python` the interpreter that
stands in for FC's, and :func:`function_environment` the environment
(:func:`fcmigrate.deployconfig.fc_environment` on top of this machine's). A
:class:`FunctionProcess` relays the output and waits for the port as FC's health check
does, including the case FC cannot see: a server bound to ``127.0.0.1``
(:func:`listen_scope`).
"""

from __future__ import annotations

import collections
import ipaddress
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING

from fcmigrate import fc
from fcmigrate.deployconfig import FunctionConfig, fc_environment
from fcmigrate.errors import FCMigrateError
from fcmigrate.runtime.server import LOCAL_BIND_NOTE, LOCAL_HOST_ENV

if TYPE_CHECKING:
    from fcmigrate.local.command import Console, LocalOptions

#: How long FC waits for the port before "health check failed".
FC_HEALTH_CHECK_SECONDS = 120.0
#: Seconds the child gets between SIGTERM and SIGKILL (FC's own grace is not published).
STOP_GRACE_SECONDS = 10.0


def function_environment(
    config: FunctionConfig,
    project: Path,
    port: int,
    base: Mapping[str, str] | None = None,
    *,
    python: str | None = None,
) -> dict[str, str]:
    """The child's environment: this machine's (``base``), then what FC gives the function
    (:func:`fcmigrate.deployconfig.fc_environment`), then what ``local`` needs here."""
    env = fc_environment(config, project, port, os.environ if base is None else base)
    env.update(
        {
            # The front door's own hosts, allowed where FC's would be (FCMIGRATE_TRUST_FC_HOSTS).
            "FCMIGRATE_LOCAL_HOSTS": "localhost,127.0.0.1,[::1]",
            "PYTHONUNBUFFERED": "1",
            # fcmigrate's server listens here instead of on every interface: on this
            # machine only the front door may reach the function.
            LOCAL_HOST_ENV: "127.0.0.1",
        }
    )
    # The bootstrap looks for FC's Python under /var/fc/lang, then python3 on PATH, which
    # on a laptop may lack fcmigrate: name the interpreter (see function_python).
    if python is None:
        env.setdefault("FCMIGRATE_PYTHON", sys.executable)
    else:
        env["FCMIGRATE_PYTHON"] = python
    return env


class HealthCheckFailed(FCMigrateError):
    exit_code = 1


def _proc_listeners(port: int) -> list[str] | None:
    """Addresses listening on ``port``, from /proc/net/tcp*; ``None`` where there is none."""
    addresses: list[str] = []
    found_table = False
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        try:
            with open(table, encoding="ascii") as f:
                lines = f.read().splitlines()[1:]
        except OSError:
            continue
        found_table = True
        for line in lines:
            fields = line.split()
            if len(fields) < 4 or fields[3] != "0A":  # 0A = LISTEN
                continue
            address, _, port_hex = fields[1].partition(":")
            if int(port_hex, 16) != port or len(address) != width:
                continue
            # The kernel prints each 32-bit word in host (little-endian) order.
            raw = b"".join(
                struct.pack("<I", int(address[i : i + 8], 16)) for i in range(0, width, 8)
            )
            addresses.append(str(ipaddress.ip_address(raw)))
    return addresses if found_table else None


def _is_loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback


def _outside_address() -> str | None:
    """This machine's address on its default route (no packet is sent), if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: never routed anywhere real
            address: str = s.getsockname()[0]
        except OSError:
            return None
    return None if _is_loopback(address) else address


def _connects(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def listen_scope(port: int) -> str | None:
    """``"all"`` when FC could reach ``port``, ``"loopback"`` when only 127.0.0.1 could,
    ``None`` when nothing listens."""
    addresses = _proc_listeners(port)
    if addresses is not None:
        if not addresses:
            return None
        return "loopback" if all(_is_loopback(a) for a in addresses) else "all"
    if not _connects("127.0.0.1", port):
        return None
    outside = _outside_address()
    if outside is None or _connects(outside, port):
        return "all"
    return "loopback"


class FunctionProcess:
    """The function's server, started as FC starts it, with its output relayed."""

    def __init__(
        self,
        argv: list[str],
        *,
        cwd: Path,
        env: Mapping[str, str],
        port: int,
        console: Console,
    ) -> None:
        self.argv = argv
        self.port = port
        self.console = console
        self.last_lines: collections.deque[str] = collections.deque(maxlen=20)
        #: Set when fcmigrate's server said it listens on 127.0.0.1 because it was asked to.
        self.loopback_asked = threading.Event()
        #: Where the function listens once healthy: "loopback" or "all" (see listen_scope).
        self.scope: str | None = None
        try:
            self.proc = subprocess.Popen(
                argv,
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                # Its own process group: Ctrl-C reaches only this command, which then runs
                # pre-stop before it stops the function, as FC does.
                start_new_session=True,
            )
        except OSError as exc:
            raise FCMigrateError(f"Cannot start {argv[0]!r}: {exc.strerror}.") from None
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self._relays = [
            threading.Thread(target=self._relay, args=(pipe, stream), daemon=True)
            for pipe, stream in (
                (self.proc.stdout, console.child_out),
                (self.proc.stderr, console.child_err),
            )
        ]
        for relay in self._relays:
            relay.start()

    def _relay(self, pipe: IO[bytes], stream: IO[bytes]) -> None:
        for line in iter(pipe.readline, b""):
            text = line.decode("utf-8", "replace").rstrip("\n")
            if LOCAL_BIND_NOTE in text:
                self.loopback_asked.set()
            self.last_lines.append(text)
            self.console.write(stream, line)
        pipe.close()

    def poll(self) -> int | None:
        return self.proc.poll()

    def wait_healthy(self, timeout: float, cancelled: threading.Event) -> float:
        """Wait for the port as FC's health check does; seconds waited, or raise."""
        started = time.monotonic()
        loopback_checks = 0
        while True:
            waited = time.monotonic() - started
            code = self.proc.poll()
            if code is not None:
                self._flush_relays()
                raise HealthCheckFailed(
                    self._failure(
                        f"The function's process exited with code {code} after {waited:.1f} s, "
                        f"before it listened on port {self.port}."
                    )
                )
            scope = listen_scope(self.port)
            if scope == "all" or (scope == "loopback" and self.loopback_asked.is_set()):
                self.scope = scope
                return waited
            if scope == "loopback":
                # Settled once seen twice: it will not move to 0.0.0.0 by itself, so say
                # now what FC would say after its full wait.
                loopback_checks += 1
                if loopback_checks >= 2:
                    raise HealthCheckFailed(self._loopback_failure(waited))
            if waited >= timeout:
                raise HealthCheckFailed(
                    self._failure(
                        f"Function instance health check failed on port {self.port} in "
                        f"{timeout:g} seconds: nothing listened there."
                    )
                )
            if cancelled.wait(0.1):
                raise FCMigrateError("Stopped before the function was ready.", exit_code=130)

    def _flush_relays(self) -> None:
        for relay in self._relays:
            relay.join(2)

    def _failure(self, headline: str) -> str:
        lines = [
            headline,
            f"On FC this is FunctionNotStarted: the server must listen on 0.0.0.0:$FC_SERVER_PORT "
            f"({self.port} here, {fc.PORT} on FC unless customRuntimeConfig.port says "
            "otherwise).",
        ]
        return "\n".join(lines + self._tail())

    def _loopback_failure(self, waited: float) -> str:
        lines = [
            f"The function listens on 127.0.0.1:{self.port} only (found after {waited:.1f} s).",
            "It answers on this machine, but FC connects from outside the instance and would "
            f'fail with "FunctionNotStarted: Function instance health check failed on port '
            f'{fc.PORT} in {FC_HEALTH_CHECK_SECONDS:g} seconds".',
            "Listen on every interface: --bind 0.0.0.0:$FC_SERVER_PORT (gunicorn), "
            "app.run(host='0.0.0.0', ...) or runserver 0.0.0.0:$FC_SERVER_PORT.",
        ]
        return "\n".join(lines + self._tail())

    def _tail(self) -> list[str]:
        if not self.last_lines:
            return ["The process printed nothing."]
        return ["Last output of the process:", *(f"  | {line}" for line in self.last_lines)]

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> int | None:
        """SIGTERM, wait, then SIGKILL; the whole process group, so no worker survives."""
        if self.proc.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.console.log(f"The function did not stop within {grace:g} s: killing it.")
        self._signal(signal.SIGKILL)
        code = self.proc.wait()
        self._flush_relays()
        return code

    def _signal(self, signum: int) -> None:
        try:
            os.killpg(self.proc.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass


_PYTHON_PROGRAM = re.compile(r"(/var/fc/lang/python3[.\d]*/bin/)?python(3[.\d]*)?")


def _map_code_path(value: str, project: Path) -> str:
    # FC unpacks the code at /code; here the project folder stands in for it.
    if value == "/code" or value.startswith("/code/"):
        return str(project) + value[len("/code") :]
    return value


def _map_command(command: list[str], project: Path, python: str) -> list[str]:
    argv = [_map_code_path(part, project) for part in command]
    # FC's (or the image's) Python is not on this machine: one of this machine's stands in.
    if _PYTHON_PROGRAM.fullmatch(argv[0]):
        argv[0] = python
    return argv


#: Where a build names its Python: the bootstrap's (or a start command's) FC interpreter.
_RECORDED_PYTHON = re.compile(r"/var/fc/lang/python(3\.\d+)/bin/python")


def recorded_python(project: Path, config: FunctionConfig) -> tuple[str, str] | None:
    """The Python X.Y the project was built for, and where that is written; ``None``
    when nothing says.

    ``fcmigrate wrap`` and ``migrate`` write it into the bootstrap (FC's interpreter is
    looked up there first); a start command may name it; else the runtime's own Python.
    """
    try:
        text = (project / "bootstrap").read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    found = _RECORDED_PYTHON.search(text)
    if found:
        return found.group(1), "bootstrap"
    if config.command:
        found = _RECORDED_PYTHON.match(config.command[0])
        if found:
            return found.group(1), f"{config.source}'s command"
    from fcmigrate.build.migrate import RUNTIME_PYTHON

    if config.source != "defaults" and config.runtime in RUNTIME_PYTHON:
        return RUNTIME_PYTHON[config.runtime], f"runtime {config.runtime} in {config.source}"
    return None


def function_python(options: LocalOptions, config: FunctionConfig) -> tuple[str, str]:
    """The interpreter that runs the function's start command, and one line saying why.

    A project with a ``python/`` folder (a ``migrate`` build, or packages vendored by
    hand) holds packages built for one Python X.Y: compiled ones load only there. That
    Python is used when this machine has it; otherwise the one running this command,
    said plainly, so an import error is not blamed on the app's code.
    """
    here = f"{sys.version_info[0]}.{sys.version_info[1]}"
    this = f"{here} ({sys.executable}, the one running fcmigrate local)"
    chosen = os.environ.get("FCMIGRATE_PYTHON")
    if chosen:
        return chosen, f"Python: {chosen}, from FCMIGRATE_PYTHON."
    if options.app or not (config.command or (options.project / "bootstrap").exists()):
        return sys.executable, f"Python: {this}, which runs fcmigrate serve from its packages."
    if not (options.project / "python").is_dir():
        return sys.executable, (
            f"Python: {this}; the project has no python/ folder, so the app's packages "
            "come from this environment."
        )
    recorded = recorded_python(options.project, config)
    if recorded is None:
        return sys.executable, (
            f"Python: {this}; nothing records which Python the packages in python/ are for."
        )
    version, source = recorded
    if version == here:
        return sys.executable, f"Python: {this}, the build's Python {version} ({source})."
    from fcmigrate.build.vendor import find_interpreter

    found = find_interpreter(version)
    if found:
        return found, f"Python: {version} ({found}), the build's Python ({source})."
    return sys.executable, (
        f"Python: {this}, not the build's Python {version} ({source}), which is not on "
        f"this machine: compiled packages in python/ may fail to import here, whatever "
        f"the app's code. Install Python {version}, or set FCMIGRATE_PYTHON."
    )


def start_command(
    options: LocalOptions, config: FunctionConfig, python: str | None = None
) -> tuple[list[str], str]:
    """The argv FC would run, and how to describe it: APP, the config's command, bootstrap.

    ``python`` replaces a start command's FC interpreter (default: this one).
    """
    project = options.project
    if options.app:
        argv = [sys.executable, "-m", "fcmigrate", "serve", options.app]
        return argv, f"fcmigrate serve {options.app}"
    if config.command:
        argv = _map_command(config.command, project, python or sys.executable)
        if "/" in argv[0]:
            _check_executable(project / argv[0], f"{config.source}'s command {config.command[0]!r}")
        shown = " ".join(config.command)
        if argv != config.command:
            shown += f" ({config.source}; here {' '.join(argv)})"
        return argv, shown
    bootstrap = project / "bootstrap"
    if bootstrap.exists():
        _check_executable(bootstrap, "bootstrap")
        return [str(bootstrap)], "./bootstrap"
    from fcmigrate.build.detect import detect_app

    try:
        spec = detect_app(project).spec
    except FCMigrateError as exc:
        raise FCMigrateError(
            f"No bootstrap in {str(project)!r}, and no app found there ({exc}). "
            "Name the app: fcmigrate local app:app, or write a bootstrap: fcmigrate wrap app:app"
        ) from None
    return [sys.executable, "-m", "fcmigrate", "serve", spec], f"fcmigrate serve {spec}"


def _check_executable(path: Path, what: str) -> None:
    if not path.is_file():
        raise FCMigrateError(
            f"{what} is {str(path)!r}, which does not exist. Write it with: fcmigrate wrap APP"
        )
    if not os.access(path, os.X_OK):
        raise FCMigrateError(
            f"{str(path)!r} is not executable, so FC refuses to start it (CAFilePermission). "
            f"Fix: chmod 755 {path}"
        )
