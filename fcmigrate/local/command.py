"""``fcmigrate local``: Function Compute's HTTP front door, on the developer's machine.

FC does not hand requests to the app directly. A front door in front of the instance
starts the function's process, waits for its port, checks and rewrites each request, and
applies its own rules to each response. Most "works locally, fails on FC" reports come
from that front door, so this command plays it on localhost, without Docker:

* the start command (``bootstrap``, or ``fcmigrate serve APP``) runs as a child process
  with FC's environment, built from the project's ``s.yaml`` / ``template.yml``
  (:mod:`fcmigrate.deployconfig`), with the Python a build was made for, and listening on
  127.0.0.1 only (FC needs every interface, but here the front door must be the only way
  in): :mod:`fcmigrate.local.function`;
* the port is health-checked the way FC does it, including the case FC cannot see: a
  server bound to ``127.0.0.1`` answers on the laptop and fails on FC;
* requests are served at FC 2.0's ``/2016-08-15/proxy/<service>/<function>/`` path and at
  ``/`` (``*.fcapp.run`` style), with FC's headers added, its limits enforced and its
  response rules applied (forbidden headers dropped, ``x-fc-status`` read, the forced
  download of the default domain): :mod:`fcmigrate.local.frontdoor`;
* lifecycle hooks (``POST /initialize``, ``GET /pre-stop``) and event calls
  (``POST /invoke``) are sent as FC sends them: :mod:`fcmigrate.local.calls`.

This module holds the options, the console and :func:`run`, which ties them together.
Nothing here runs on FC: besides the standard library ``local`` needs h11, which reads
the clients' requests and writes the answers, and PyYAML, which reads the config.
"""

from __future__ import annotations

import errno
import signal
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from fcmigrate.deployconfig import FunctionConfig, load_config
from fcmigrate.errors import FCMigrateError
from fcmigrate.fc import MAX_BODY_BYTES
from fcmigrate.local.calls import initialize, invoke, pre_stop
from fcmigrate.local.frontdoor import IDLE_TIMEOUT_SECONDS, URL_STYLES, FrontDoor
from fcmigrate.local.function import (
    FC_HEALTH_CHECK_SECONDS,
    FunctionProcess,
    function_environment,
    function_python,
    start_command,
)
from fcmigrate.runtime.server import LOCAL_HOST_ENV

EXPOSED_NOTE = (
    "The function listens on every interface of this machine (as FC needs), so other "
    "machines can call it, x-fc-* headers and hooks included, without the front door. "
    f"fcmigrate's own server listens on 127.0.0.1 under fcmigrate local; a server of your "
    f"own can read {LOCAL_HOST_ENV} (set to 127.0.0.1) to do the same."
)


class Console:
    """Whole lines from several threads, to the terminal, flushed at once."""

    def __init__(self, log: IO[bytes], child_out: IO[bytes], child_err: IO[bytes]) -> None:
        self.log_stream = log
        self.child_out = child_out
        self.child_err = child_err
        self._lock = threading.Lock()

    def write(self, stream: IO[bytes], data: bytes) -> None:
        with self._lock:
            try:
                stream.write(data)
                stream.flush()
            except (OSError, ValueError):
                pass  # the terminal went away; the function must not stop for that

    def log(self, message: str) -> None:
        text = "".join(f"[local] {line}\n" for line in message.splitlines() or [""])
        self.write(self.log_stream, text.encode("utf-8", "replace"))


@dataclass
class LocalOptions:
    project: Path = Path(".")
    app: str | None = None
    port: int = 8000
    host: str = "127.0.0.1"
    url_style: str = "both"
    custom_domain: bool = False
    invoke: str | None = None
    start_timeout: float = FC_HEALTH_CHECK_SECONDS
    initializer: bool = False
    pre_stop: bool = False
    idle_timeout: float = IDLE_TIMEOUT_SECONDS


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _read_event(source: str) -> bytes:
    if source == "-":
        data = sys.stdin.buffer.read(MAX_BODY_BYTES + 1)
    else:
        try:
            with open(source, "rb") as f:
                data = f.read(MAX_BODY_BYTES + 1)
        except OSError as exc:
            raise FCMigrateError(
                f"Cannot read the event file {source!r}: {exc.strerror}. "
                "Give a file, or '-' to read the event from stdin."
            ) from None
    if len(data) > MAX_BODY_BYTES:
        raise FCMigrateError(
            f"The event {source!r} is over FC's {MAX_BODY_BYTES // (1024 * 1024)} MB limit "
            "for a synchronous call."
        )
    return data


def _install_stop_signals(stop: threading.Event) -> Callable[[], None]:
    previous = {
        signum: signal.signal(signum, lambda signum, frame: stop.set())
        for signum in (signal.SIGINT, signal.SIGTERM)
    }

    def restore() -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    return restore


def _describe(config: FunctionConfig) -> str:
    methods = ", ".join(config.methods) if config.methods is not None else "any (no HTTP trigger)"
    return (
        f"Function {config.function!r} (service {config.service!r}) from {config.source}: "
        f"region {config.region}, runtime {config.runtime}, timeout {config.timeout} s, "
        f"memory {config.memory} MB, instance concurrency {config.concurrency}, "
        f"methods {methods}"
    )


def run(options: LocalOptions, *, stdout: IO[bytes] | None = None) -> int:
    """Run ``fcmigrate local``; the exit code."""
    if options.url_style not in URL_STYLES:
        raise FCMigrateError(
            f"Unknown URL style {options.url_style!r}. Use one of: {', '.join(URL_STYLES)}."
        )
    project = options.project.resolve()
    if not project.is_dir():
        raise FCMigrateError(f"Project folder {str(options.project)!r} does not exist.")
    options.project = project
    out = stdout or sys.stdout.buffer
    err = sys.stderr.buffer
    invoking = options.invoke is not None
    # With --invoke, stdout holds the result alone: everything else goes to stderr.
    console = Console(err if invoking else out, err if invoking else out, err)

    config = load_config(project)
    config.initializer = config.initializer or options.initializer
    config.pre_stop = config.pre_stop or options.pre_stop
    event = _read_event(options.invoke) if options.invoke is not None else None
    python, python_note = function_python(options, config)
    argv, shown = start_command(options, config, python)

    door: FrontDoor | None = None
    if not invoking:
        try:
            door = FrontDoor(
                (options.host, options.port),
                config=config,
                function_port=0,
                console=console,
                url_style=options.url_style,
                custom_domain=options.custom_domain,
                idle_timeout=options.idle_timeout,
            )
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise FCMigrateError(
                    f"Port {options.port} is in use. Use another: fcmigrate local --port "
                    f"{options.port + 1}"
                ) from None
            raise FCMigrateError(
                f"Cannot listen on {options.host}:{options.port}: {exc.strerror}."
            ) from None

    stop = threading.Event()
    restore_signals = _install_stop_signals(stop)
    function: FunctionProcess | None = None
    ready = False
    try:
        console.log(_describe(config))
        if config.skipped_environment:
            console.log(
                f"Not applied on this machine (they name FC's paths): "
                f"{', '.join(config.skipped_environment)}."
            )
        if config.unset_environment:
            console.log(
                "Read from the deployer's environment by the config, and not set here: "
                f"{', '.join(config.unset_environment)}. Export them to give them to the "
                "function."
            )
        console.log(python_note)
        port = _free_port()
        env = function_environment(config, project, port, python=python)
        function = FunctionProcess(argv, cwd=project, env=env, port=port, console=console)
        console.log(f"Started {shown} as pid {function.proc.pid} with FC_SERVER_PORT={port}.")
        waited = function.wait_healthy(options.start_timeout, stop)
        console.log(f"Health check passed on port {port} after {waited:.1f} s.")
        if function.scope == "all":
            console.log(EXPOSED_NOTE)
        ready = True
        if config.initializer:
            initialize(config, port, console)
        if event is not None:
            return invoke(config, function.port, event, console, out)
        assert door is not None
        return _serve(door, function, stop, console)
    finally:
        if function is not None:
            if ready and config.pre_stop and function.poll() is None:
                pre_stop(config, function.port, console)
            elif ready and function.poll() is None:
                console.log(
                    "No pre-stop hook configured (instanceLifecycleConfig.preStop): "
                    "FC would not call GET /pre-stop either."
                )
            code = function.stop()
            console.log(f"Function stopped (exit code {code}).")
        if door is not None:
            door.server_close()
        restore_signals()


def _serve(
    door: FrontDoor, function: FunctionProcess, stop: threading.Event, console: Console
) -> int:
    door.function_port = function.port
    base = door.url
    console.log(f"Function Compute front door on {base}")
    if door.url_style in ("both", "proxy"):
        console.log(f"  FC 2.0 default domain: {base}{door.proxy_prefix}/")
    if door.url_style in ("both", "fcapp"):
        console.log(f"  fcapp.run style:       {base}/")
    if door.custom_domain:
        console.log("  As a custom domain: no forced download.")
    console.log("Ctrl-C stops (pre-stop runs first when configured).")
    thread = threading.Thread(target=door.serve_forever, kwargs={"poll_interval": 0.2})
    thread.daemon = True
    thread.start()
    code = 0
    while not stop.wait(0.2):
        exit_code = function.poll()
        if exit_code is not None:
            console.log(
                f"The function's process exited with code {exit_code}. On FC the instance "
                "would be replaced; here the front door stops."
            )
            code = 1
            break
    door.shutdown()
    thread.join(5)
    return code
