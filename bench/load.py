"""Sustained load on the Django sample through the generated bootstrap.

A benchmark, not a test: it starts the bootstrap ``fcmigrate wrap`` writes for a copy of
``sample_apps/django_site`` (SQLite in a temporary folder), sends requests under FC's
``/2016-08-15/proxy/...`` prefix with FC's headers (credentials included) at a fixed
concurrency for a fixed time, and reports:

* requests per second, p50 and p99 latency, errors (non-2xx/3xx and socket errors);
* the resident memory of the master and its workers, sampled every few seconds;
* the open file descriptors of each process at the start and at the end.

It exits 1 if there was any error, if the set of server processes changed (a worker
died or was replaced), or if any process holds more file descriptors at the end.

Run:  .venv/bin/python bench/load.py [--duration 60] [--concurrency 50]

Uses ``wrk`` when it is on PATH (Debian: ``apt-get install wrk``; with ``--install``
the script runs that itself when it is root), else a Python client of threads, which
is slower than the server and so measures less.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "sample_apps" / "django_site"
PREFIX = "/2016-08-15/proxy/bench-svc/bench-fn"
FC_HEADERS = {
    "x-fc-request-id": "1-67adb489-15d49184-2d4fa002fa2b",
    "x-fc-control-path": "/http-invoke",
    "x-fc-function-name": "bench-fn",
    "x-fc-base-path": PREFIX + "/",
    "x-fc-access-key-id": "STS.bench-key-id",
    "x-fc-access-key-secret": "bench-secret",
    "x-fc-security-token": "bench-token",
}


@dataclass
class Load:
    tool: str
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx_3xx: int
    socket_errors: int


@dataclass
class Sample:
    at: float
    rss_mib: dict[int, float]

    @property
    def total(self) -> float:
        return sum(self.rss_mib.values())


@dataclass
class Report:
    machine: dict[str, str]
    load: Load
    memory: list[Sample] = field(default_factory=list)
    fds_start: dict[int, int] = field(default_factory=dict)
    fds_end: dict[int, int] = field(default_factory=dict)
    processes_start: list[int] = field(default_factory=list)
    processes_end: list[int] = field(default_factory=list)
    log_problems: list[str] = field(default_factory=list)


# -- the server ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def run(argv: list[str], **kwargs: Any) -> None:
    subprocess.run(argv, check=True, capture_output=True, **kwargs)


def prepare(root: Path) -> tuple[Path, dict[str, str]]:
    """A wrapped, migrated copy of the Django sample, and the environment to run it."""
    project = root / "django_site"
    shutil.copytree(SAMPLE, project)
    env = dict(os.environ)
    env.pop("GUNICORN_CMD_ARGS", None)
    env.update(
        DJANGO_DB_PATH=str(root / "db.sqlite3"),
        FCMIGRATE_PYTHON=sys.executable,
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    )
    fcmigrate = [sys.executable, "-m", "fcmigrate"]
    run([*fcmigrate, "wrap", "mysite.wsgi:application", "--out", str(project)], env=env)
    run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=project, env=env)
    return project, env


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the bootstrap exited with {proc.returncode} before listening")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listened on port {port} within {timeout} s")


def processes(master: int) -> list[int]:
    children: list[int] = []
    for path in Path(f"/proc/{master}/task").glob("*/children"):
        children += [int(pid) for pid in path.read_text().split()]
    return [master, *sorted(children)]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def warm_up(url: str, concurrency: int) -> None:
    """One round of requests at full concurrency, so every thread has its DB connection."""

    def one() -> None:
        for _ in range(3):
            get(url)

    threads = [threading.Thread(target=one) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def get(url: str) -> int:
    host, _, path = url.removeprefix("http://").partition("/")
    conn = http.client.HTTPConnection(host, timeout=30)
    try:
        conn.request("GET", "/" + path, headers=FC_HEADERS)
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


# -- the load ------------------------------------------------------------------------------

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(output: str, seconds: float) -> Load:
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sock = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return Load(
        tool="wrk",
        requests=requests,
        seconds=seconds,
        rps=rps,
        p50_ms=p50,
        p99_ms=p99,
        non_2xx_3xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(n) for n in sock.groups()) if sock else 0,
    )


def start_wrk(wrk: str, url: str, concurrency: int, duration: int) -> subprocess.Popen[str]:
    argv = [wrk, "-t2", f"-c{concurrency}", f"-d{duration}s", "--latency", "--timeout", "10s"]
    for name, value in FC_HEADERS.items():
        argv += ["-H", f"{name}: {value}"]
    return subprocess.Popen(
        [*argv, url], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


class PythonClient:
    """Keep-alive clients on threads, for machines without wrk."""

    def __init__(self, url: str, concurrency: int, duration: int) -> None:
        self.url, self.concurrency, self.duration = url, concurrency, duration
        self.latencies: list[float] = []
        self.non_2xx_3xx = 0
        self.socket_errors = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run)

    def start(self) -> None:
        self._thread.start()

    def poll(self) -> bool:
        return not self._thread.is_alive()

    def _client(self, deadline: float) -> None:
        host, _, path = self.url.removeprefix("http://").partition("/")
        conn = http.client.HTTPConnection(host, timeout=10)
        mine: list[float] = []
        bad = errors = 0
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                conn.request("GET", "/" + path, headers=FC_HEADERS)
                resp = conn.getresponse()
                resp.read()
                bad += not 200 <= resp.status < 400
            except (OSError, http.client.HTTPException):
                errors += 1
                conn.close()
                conn = http.client.HTTPConnection(host, timeout=10)
                continue
            mine.append((time.perf_counter() - started) * 1000)
        conn.close()
        with self._lock:
            self.latencies += mine
            self.non_2xx_3xx += bad
            self.socket_errors += errors

    def _run(self) -> None:
        deadline = time.monotonic() + self.duration
        threads = [
            threading.Thread(target=self._client, args=(deadline,)) for _ in range(self.concurrency)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def result(self) -> Load:
        ordered = sorted(self.latencies) or [0.0]

        def pct(p: float) -> float:
            return ordered[min(len(ordered) - 1, int(len(ordered) * p))]

        return Load(
            tool="python threads",
            requests=len(self.latencies),
            seconds=self.duration,
            rps=len(self.latencies) / self.duration,
            p50_ms=pct(0.50),
            p99_ms=pct(0.99),
            non_2xx_3xx=self.non_2xx_3xx,
            socket_errors=self.socket_errors,
        )


def find_wrk(install: bool) -> str | None:
    wrk = shutil.which("wrk")
    if wrk is None and install and os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk not found: apt-get install -y wrk", file=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], capture_output=True)
        wrk = shutil.which("wrk")
    return wrk


# -- the report -----------------------------------------------------------------------------


def machine_info() -> dict[str, str]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
    import django
    import gunicorn

    return {
        "cpu": cpu,
        "cpus": str(len(os.sched_getaffinity(0))),
        "memory": f"{mem_kib / 1024 / 1024:.0f} GiB",
        "kernel": platform.release(),
        "python": platform.python_version(),
        "gunicorn": gunicorn.__version__,
        "django": django.get_version(),
        "load average": " ".join(f"{n:.2f}" for n in os.getloadavg()),
    }


def render(report: Report, concurrency: int) -> str:
    load = report.load
    lines = [
        f"Machine: {report.machine['cpus']} CPUs ({report.machine['cpu']}), "
        f"{report.machine['memory']}, Linux {report.machine['kernel']}, "
        f"Python {report.machine['python']}, gunicorn {report.machine['gunicorn']}, "
        f"Django {report.machine['django']}; load average before the run: "
        f"{report.machine['load average']}",
        f"Load: {load.tool}, concurrency {concurrency}, {load.seconds:.0f} s, "
        f"GET {PREFIX}/ (Django home page: template + one SQLite query)",
        "",
        "| figure | value |",
        "| --- | --- |",
        f"| requests | {load.requests} |",
        f"| requests/s | {load.rps:.0f} |",
        f"| latency p50 | {load.p50_ms:.1f} ms |",
        f"| latency p99 | {load.p99_ms:.1f} ms |",
        f"| errors (non-2xx/3xx + socket) | {load.non_2xx_3xx + load.socket_errors} |",
        f"| server processes start -> end | {len(report.processes_start)} -> "
        f"{len(report.processes_end)} (same pids: "
        f"{report.processes_start == report.processes_end}) |",
    ]
    first, last = report.memory[0], report.memory[-1]
    peak = max(sample.total for sample in report.memory)
    lines.append(
        f"| RSS, all processes: start / end / peak | {first.total:.1f} / {last.total:.1f} / "
        f"{peak:.1f} MiB |"
    )
    fds = ", ".join(
        f"{pid}: {report.fds_start.get(pid, '?')} -> {report.fds_end.get(pid, '?')}"
        for pid in report.processes_end
    )
    lines.append(f"| open fds per process, start -> end | {fds} |")
    lines += ["", "RSS samples (MiB, master + workers):"]
    for sample in report.memory:
        per = " + ".join(f"{mib:.1f}" for mib in sample.rss_mib.values())
        lines.append(f"  t={sample.at:5.1f}s  {sample.total:6.1f}  ({per})")
    if report.log_problems:
        lines += ["", "Server log problems:", *report.log_problems]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=60, help="seconds of load (60)")
    parser.add_argument("--concurrency", type=int, default=50, help="connections (50)")
    parser.add_argument("--sample-every", type=float, default=5.0, help="RSS sampling (5 s)")
    parser.add_argument("--python-client", action="store_true", help="do not use wrk")
    parser.add_argument("--install", action="store_true", help="apt-get install wrk if missing")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args(argv)

    wrk = None if args.python_client else find_wrk(args.install)
    machine = machine_info()
    with tempfile.TemporaryDirectory(prefix="fcmigrate-load-") as tmp:
        root = Path(tmp)
        project, env = prepare(root)
        port = free_port()
        env["FC_SERVER_PORT"] = str(port)
        out, err = open(root / "stdout.log", "wb"), open(root / "stderr.log", "wb")
        proc = subprocess.Popen(
            [str(project / "bootstrap")],
            cwd=project,
            env=env,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
        try:
            wait_for_port(port, proc)
            url = f"http://127.0.0.1:{port}{PREFIX}/"
            if get(url) != 200:
                raise SystemExit(f"GET {url} did not answer 200")
            warm_up(url, args.concurrency)
            time.sleep(1)

            pids = processes(proc.pid)
            fds_start = {pid: fd_count(pid) for pid in pids}
            memory: list[Sample] = []
            started = time.monotonic()
            client: Any
            if wrk:
                client = start_wrk(wrk, url, args.concurrency, args.duration)
            else:
                client = PythonClient(url, args.concurrency, args.duration)
                client.start()
            next_sample = started
            while client.poll() is None if wrk else not client.poll():
                if time.monotonic() >= next_sample:
                    memory.append(
                        Sample(
                            time.monotonic() - started,
                            {pid: rss_mib(pid) for pid in processes(proc.pid)},
                        )
                    )
                    next_sample += args.sample_every
                time.sleep(0.1)
            elapsed = time.monotonic() - started
            if wrk:
                output = client.stdout.read()
                load = parse_wrk(output, elapsed)
            else:
                load = client.result()
            time.sleep(1)  # let the last keep-alive connections close
            pids_end = processes(proc.pid)
            memory.append(
                Sample(time.monotonic() - started, {pid: rss_mib(pid) for pid in pids_end})
            )
            fds_end = {pid: fd_count(pid) for pid in pids_end}
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
            out.close()
            err.close()
        error_log = (root / "stderr.log").read_text(errors="replace")
        problems = [
            line
            for line in error_log.splitlines()
            if re.search(r"Traceback|WORKER TIMEOUT|\[ERROR\]|\[CRITICAL\]", line)
        ]
        secrets_logged = sum(
            (root / name).read_text(errors="replace").count(FC_HEADERS[header])
            for name in ("stdout.log", "stderr.log")
            for header in ("x-fc-access-key-secret", "x-fc-security-token")
        )
        if secrets_logged:
            problems.append(f"credential values found in the logs {secrets_logged} times")

    report = Report(
        machine=machine,
        load=load,
        memory=memory,
        fds_start=fds_start,
        fds_end=fds_end,
        processes_start=pids,
        processes_end=pids_end,
        log_problems=problems,
    )
    print(render(report, args.concurrency))
    if args.json:
        data = asdict(report)
        data["memory"] = [{"at": s.at, "rss_mib": s.rss_mib} for s in memory]
        args.json.write_text(json.dumps(data, indent=2))

    failed = []
    if load.non_2xx_3xx or load.socket_errors:
        failed.append("errors")
    if pids != pids_end:
        failed.append("server processes changed")
    if any(fds_end.get(pid, 0) > count for pid, count in fds_start.items()):
        failed.append("file descriptors grew")
    if problems:
        failed.append("problems in the server log")
    if failed:
        print(f"\nFAILED: {', '.join(failed)}")
        return 1
    print("\nOK: no errors, same processes, no fd growth")
    return 0


if __name__ == "__main__":
    sys.exit(main())
