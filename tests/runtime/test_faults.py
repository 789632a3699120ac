"""Faults, each scripted against the real generated bootstrap of the Flask sample.

Every test that depends on a setting fcmigrate chose also runs a control: the same
bootstrap with that setting put back to gunicorn's default, which must fail the same
check. So each test shows both that the fault is survived and that it is fcmigrate's
doing.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from collections.abc import Set as AbstractSet
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from helpers import FLASK_SAMPLE, Server, StartServer, launch, running, wrap_sample

pytestmark = pytest.mark.slow

PREFIX = "/2016-08-15/proxy/svc/fn"
#: FC passes up to 4 KB of path after its own prefix; this is the longest app path.
LONG_NAME = "n" * (4096 - len("/hello/"))
#: gunicorn's own defaults, which fcmigrate changes: the controls put them back.
GUNICORN_DEFAULTS = (
    "--limit-request-line 4094 --forwarder-headers SCRIPT_NAME,PATH_INFO"
    " --forwarded-allow-ips 127.0.0.1,::1"
)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return wrap_sample(FLASK_SAMPLE, "app:app", tmp_path_factory.mktemp("faults"))


def request(
    port: int,
    path: str,
    headers: dict[str, str] | None = None,
    timeout: float = 15,
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def workers_of(pid: int) -> set[int]:
    """The gunicorn master's live children: its workers.

    A killed worker stays listed as a zombie until the master reaps it, so zombies
    (and children gone between the two reads) are left out.
    """
    children: set[int] = set()
    for path in Path(f"/proc/{pid}/task").glob("*/children"):
        children.update(int(child) for child in path.read_text().split())
    return {child for child in children if _alive(child)}


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # The state follows the command name, which is in parentheses and may hold spaces.
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def stable_workers(server: Server, count: int, besides: AbstractSet[int] = frozenset()) -> set[int]:
    """Wait for ``count`` live workers, none of them in ``besides``."""

    def ready() -> set[int] | None:
        workers = workers_of(server.proc.pid)
        return workers if len(workers) == count and not workers & besides else None

    return wait_for(ready, 15, f"{count} new workers" if besides else f"{count} workers")


# --------------------------------------------------------------------------- SIGTERM


@pytest.mark.parametrize(
    ("extra", "survives"),
    [([], True), (["--graceful-timeout", "0"], False)],
    ids=["fcmigrate-defaults", "control-no-grace"],
)
def test_sigterm_during_a_request_lets_it_finish(
    start_server: StartServer, project: Path, extra: list[str], survives: bool
) -> None:
    server = start_server([str(project / "bootstrap"), *extra], cwd=project)
    result: dict[str, Any] = {}

    def slow_request() -> None:
        try:
            result["response"] = request(server.port, f"{PREFIX}/slow?s=2")
        except (OSError, http.client.HTTPException) as exc:
            result["error"] = exc

    client = threading.Thread(target=slow_request)
    client.start()
    # The request is inside the app once its Start line is out.
    wait_for(lambda: "FC Invoke Start" in server.stdout(), 10, "the request to start")
    started = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    client.join(15)
    exit_code = server.proc.wait(15)

    # The bootstrap exec's the server: the signal reached gunicorn, which exits cleanly.
    assert exit_code == 0
    if survives:
        assert "error" not in result, result.get("error")
        status, _, body = result["response"]
        assert (status, body) == (200, b"done")
        assert 1.0 < time.monotonic() - started < 10
    else:
        assert "error" in result, "the control run should have cut the request"


# --------------------------------------------------------------------------- SIGKILL


def test_sigkill_of_every_worker_next_request_is_200(
    start_server: StartServer, project: Path
) -> None:
    server = start_server([str(project / "bootstrap"), "--workers", "2"], cwd=project)
    before = stable_workers(server, 2)
    for pid in before:
        os.kill(pid, signal.SIGKILL)

    # No worker is alive now; the connection waits in the listen queue for a new one.
    status, _, body = request(server.port, f"{PREFIX}/hello/again")
    assert status == 200 and b"again" in body
    # Times out unless both killed workers are replaced by new ones.
    after = stable_workers(server, 2, besides=before)
    assert len(after) == 2
    assert server.proc.poll() is None
    assert "was sent SIGKILL" in server.stderr()


# --------------------------------------------------------------------------- SIGTERM at boot

#: A post_fork hook as apps write them (open a connection, warm a cache), made slow so
#: the stop signal is sure to arrive before the worker has its own signal handlers.
SLOW_POST_FORK = """
import os, pathlib, time

control_socket_disable = True

def post_fork(server, worker):
    pathlib.Path(f"booting-{os.getpid()}").touch()
    time.sleep(3)
"""


@pytest.mark.parametrize("server_kind", ["bootstrap", "control-plain-gunicorn"])
def test_sigterm_while_a_worker_boots_stops_it_without_a_kill(
    start_server: StartServer, tmp_path: Path, server_kind: str
) -> None:
    project = wrap_sample(FLASK_SAMPLE, "app:app", tmp_path / "project")
    (project / "gunicorn.conf.py").write_text(SLOW_POST_FORK)
    if server_kind == "bootstrap":
        argv = [str(project / "bootstrap")]
    else:
        argv = [sys.executable, "-m", "gunicorn", "app:app", "--bind", "127.0.0.1:0"]
    server = start_server(
        [*argv, "--workers", "1", "--graceful-timeout", "5"], cwd=project, ready=False
    )
    booting = wait_for(lambda: list(project.glob("booting-*")), 30, "a worker to boot")
    worker = int(booting[0].name.removeprefix("booting-"))
    server.proc.send_signal(signal.SIGTERM)

    assert server.proc.wait(30) == 0
    # A worker that obeys the TERM logs its own exit; one the master kills does not.
    exited = f"Worker exiting (pid: {worker})" in server.stderr()
    if server_kind == "bootstrap":
        assert exited, server.stderr()
    else:
        # gunicorn alone: the TERM is lost, and the master kills the worker at the end
        # of graceful_timeout.
        assert not exited, server.stderr()


# --------------------------------------------------------------------------- freeze / thaw


def freeze_and_thaw(server: Server, seconds: float) -> None:
    """SIGSTOP the whole process group, then thaw the master first, the workers later.

    Thawing the master first makes the stale-heartbeat check run before any worker can
    refresh its heartbeat: with all thawed at once the control run only sometimes
    shows the kill. The default run must survive this harsher order too.
    """
    os.killpg(server.proc.pid, signal.SIGSTOP)
    time.sleep(seconds)
    os.kill(server.proc.pid, signal.SIGCONT)
    time.sleep(1.5)
    os.killpg(server.proc.pid, signal.SIGCONT)


def test_freeze_longer_than_a_worker_timeout_then_thaw(
    start_server: StartServer, project: Path
) -> None:
    bootstrap = str(project / "bootstrap")
    default = start_server([bootstrap, "--workers", "2"], cwd=project, ready=False)
    # The control: the same bootstrap with a worker timeout shorter than the freeze.
    control = start_server(
        [bootstrap, "--workers", "2", "--timeout", "2"], cwd=project, ready=False
    )
    for server in (default, control):
        server.wait_ready()
        assert request(server.port, f"{PREFIX}/hello/before")[0] == 200
    default_workers = stable_workers(default, 2)

    freezers = [threading.Thread(target=freeze_and_thaw, args=(s, 4.0)) for s in (default, control)]
    for freezer in freezers:
        freezer.start()
    for freezer in freezers:
        freezer.join()

    status, _, body = request(default.port, f"{PREFIX}/hello/after")
    assert status == 200 and b"after" in body
    wait_for(lambda: "WORKER TIMEOUT" in control.stderr(), 10, "the control's WORKER TIMEOUT")
    assert request(control.port, f"{PREFIX}/hello/after")[0] == 200
    # The default run kept the very same workers: nothing was killed or re-imported.
    assert "WORKER TIMEOUT" not in default.stderr()
    assert workers_of(default.proc.pid) == default_workers


# --------------------------------------------------------------------------- bad app


def test_app_that_fails_to_import_stops_at_once_with_its_traceback(
    start_server: StartServer, tmp_path: Path
) -> None:
    project = wrap_sample(FLASK_SAMPLE, "app:app", tmp_path)
    app_py = project / "app.py"
    marker = f"failure-{uuid.uuid4().hex[:8]}"
    app_py.write_text(app_py.read_text() + f"\nraise RuntimeError({marker!r})\n")
    line = app_py.read_text().count("\n")

    started = time.monotonic()
    server = start_server([str(project / "bootstrap")], cwd=project, ready=False)
    exit_code = server.proc.wait(20)
    elapsed = time.monotonic() - started

    assert exit_code != 0
    assert elapsed < 10
    stderr = server.stderr()
    assert f'File "{app_py}", line {line}, in <module>' in stderr
    assert f"RuntimeError: {marker}" in stderr
    # The app is imported before gunicorn starts: FC's health check never sees a port
    # that answers nothing but errors.
    assert "Listening at" not in stderr
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", server.port), timeout=1):
        pass


# --------------------------------------------------------------------------- shared servers


@pytest.fixture(scope="module")
def servers(project: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Server]]:
    """The bootstrap as generated, and a control with gunicorn's defaults put back."""
    root = tmp_path_factory.mktemp("shared-servers")
    bootstrap = partial(launch, [str(project / "bootstrap")], cwd=project, log_dir=root)
    starts = {
        "fcmigrate": bootstrap,
        "control": partial(bootstrap, env={"GUNICORN_CMD_ARGS": GUNICORN_DEFAULTS}),
    }
    with running(starts) as started:
        yield started


def test_4kb_path_under_the_prefix_is_not_414(servers: dict[str, Server]) -> None:
    path = f"{PREFIX}/hello/{LONG_NAME}"
    status, _, body = request(servers["fcmigrate"].port, path)
    assert status == 200
    assert LONG_NAME.encode() in body
    assert request(servers["control"].port, path)[0] == 414


@pytest.mark.parametrize("path", [f"{PREFIX}/whoami", "/whoami"], ids=["prefixed", "plain"])
def test_client_sent_script_name_header_is_ignored(servers: dict[str, Server], path: str) -> None:
    expected = PREFIX if path.startswith(PREFIX) else ""
    headers = {"SCRIPT_NAME": "/evil", "PATH_INFO": "/evil"}
    status, _, body = request(servers["fcmigrate"].port, path, headers)
    assert status == 200
    data = json.loads(body)
    assert (data["script_name"], data["path"]) == (expected, "/whoami")
    assert data["url_for_hello"] == f"{expected}/hello/x"

    # gunicorn's default trusts the header from loopback: an error, or /evil in URLs.
    status, _, body = request(servers["control"].port, path, headers)
    assert status != 200 or json.loads(body)["script_name"] == "/evil"


def test_burst_at_concurrency_32_all_200(servers: dict[str, Server]) -> None:
    server = servers["fcmigrate"]
    clients, per_client = 32, 6
    barrier = threading.Barrier(clients)
    failures: list[str] = []
    sent: list[str] = []

    def client(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        barrier.wait()
        try:
            for n in range(per_client):
                rid = f"burst-{index}-{n}-{uuid.uuid4().hex[:6]}"
                sent.append(rid)
                # One slow request each, so the 32 clients outnumber the server's threads.
                path = f"{PREFIX}/slow?s=0.2" if n == 0 else f"{PREFIX}/whoami"
                conn.request("GET", path, headers={"x-fc-request-id": rid})
                resp = conn.getresponse()
                body = resp.read()
                if resp.status != 200 or resp.getheader("X-Request-Id") != rid:
                    failures.append(f"{rid}: {resp.status} {resp.getheader('X-Request-Id')}")
                elif n and json.loads(body)["request_id"] != rid:
                    failures.append(f"{rid}: the app saw {json.loads(body)['request_id']}")
        except (OSError, http.client.HTTPException) as exc:
            failures.append(f"client {index}: {exc!r}")
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert failures == []
    assert len(sent) == clients * per_client

    # Every request got its Start and End lines, whole. The End line is written when
    # the server closes the response, just after the client has it: wait a moment.
    def missing() -> list[str]:
        lines = set(server.stdout().splitlines())
        return [
            rid
            for rid in sent
            if f"FC Invoke Start RequestId: {rid}" not in lines
            or f"FC Invoke End RequestId: {rid}" not in lines
        ]

    deadline = time.monotonic() + 5
    while missing() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert missing() == []
