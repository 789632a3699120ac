"""Cold start of a ``fcmigrate migrate`` build: exec of the bootstrap to the first HTTP 200.

The Django sample (or, with ``--sample flask``, the Flask sample) is built with
``fcmigrate migrate`` for the version of a bare ``python3`` (default ``/usr/bin/python3``: no
Django, no gunicorn), then three ways of starting it are timed in alternating rounds, each
from ``env -i PATH=/usr/bin:/bin`` with bytecode writes off:

* ``build``     the build's ``./bootstrap`` (``python3 -m fcmigrate serve ...``);
* ``no-pyc``    the same, on a copy of the build with every ``.pyc`` removed;
* ``gunicorn``  bare ``python3 -m gunicorn mysite.wsgi:application`` (``app:app``) on the same build
                (``PYTHONPATH=build/python:build``), same bind.

It also prints the size of the build's code.zip and of the fcmigrate package inside it.

Targets (issue 3, §7): build / no-pyc <= 0.4 and build / gunicorn <= 1.0.

    .venv/bin/python bench/coldstart.py [--sample django|flask] [--rounds 7]
        [--python /usr/bin/python3] [--explain]

``--explain`` adds ``python -X importtime`` of both start paths, summed per top-level package,
to show what the bootstrap imports that bare gunicorn does not.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BARE_PATH = "PATH=/usr/bin:/bin"
#: sample -> (project folder, the app as bare gunicorn names it).
SAMPLES = {
    "django": (REPO / "sample_apps" / "django_site", "mysite.wsgi:application"),
    "flask": (REPO / "sample_apps" / "flask_app", "app:app"),
}
SAMPLE = "django"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def version_of(python: str) -> str:
    out = subprocess.run(
        [python, "-I", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def build(work: Path, python: str) -> tuple[Path, Path, Path]:
    project = work / "project"
    shutil.copytree(SAMPLES[SAMPLE][0], project)
    out = work / "build"
    subprocess.run(
        [
            *(sys.executable, "-m", "fcmigrate", "migrate", str(project), "--out", str(out)),
            *("--python", version_of(python), "--interpreter", python, "-q"),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    no_pyc = work / "build-no-pyc"
    shutil.copytree(out, no_pyc, ignore=shutil.ignore_patterns("__pycache__"))
    db = work / "db.sqlite3"
    if SAMPLE != "django":
        return out, no_pyc, db
    subprocess.run(
        [
            *("env", "-i", BARE_PATH, f"DJANGO_DB_PATH={db}", f"PYTHONPATH={out}/python:{out}"),
            *("PYTHONDONTWRITEBYTECODE=1", python, "manage.py", "migrate", "--noinput"),
        ],
        cwd=out,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return out, no_pyc, db


def commands(
    variant: str, out: Path, no_pyc: Path, db: Path, python: str, port: int
) -> tuple[list[str], Path]:
    env = ["env", "-i", BARE_PATH, f"DJANGO_DB_PATH={db}", f"FC_SERVER_PORT={port}"]
    if python != "/usr/bin/python3":
        env.append(f"FCMIGRATE_PYTHON={python}")
    if variant == "build":
        return [*env, "./bootstrap"], out
    if variant == "no-pyc":
        return [*env, "./bootstrap"], no_pyc
    gunicorn = [python, "-m", "gunicorn", SAMPLES[SAMPLE][1], "--bind", f"0.0.0.0:{port}"]
    extra = [f"PYTHONPATH={out}/python:{out}", "PYTHONDONTWRITEBYTECODE=1"]
    return [*env, *extra, *gunicorn], out


def time_to_200(argv: list[str], cwd: Path, port: int, timeout: float = 60) -> float:
    url = f"http://127.0.0.1:{port}/"
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        while time.perf_counter() - start < timeout:
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status == 200:
                        return time.perf_counter() - start
            except (urllib.error.URLError, ConnectionError, OSError):
                if proc.poll() is not None:
                    raise RuntimeError(f"{argv} exited with {proc.returncode}") from None
                time.sleep(0.002)
        raise TimeoutError(f"no 200 from {argv} within {timeout} s")
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(10)


def wall(argv: list[str], cwd: Path, runs: int) -> float:
    """Median wall time (ms) of ``argv`` run to completion ``runs`` times."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, cwd=cwd, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def importtime(argv: list[str], cwd: Path, runs: int) -> dict[str, float]:
    """Median self import time (ms) per module, from ``python -X importtime``."""
    samples: dict[str, list[float]] = defaultdict(list)
    for _ in range(runs):
        proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=True)
        for line in proc.stderr.splitlines():
            match = re.match(r"import time:\s+(\d+) \|\s+\d+ \| *(\S+)", line)
            if match:
                samples[match.group(2)].append(int(match.group(1)) / 1000)
    return {name: statistics.median(values) for name, values in samples.items()}


#: What the master imports before it forks, on each path (the app's import not included).
OURS = (
    "import fcmigrate.runtime.serve, fcmigrate.runtime.loader, fcmigrate.runtime.middleware, "
    "fcmigrate.runtime.server, fcmigrate.runtime.django_support"
)
THEIRS = "import gunicorn.app.wsgiapp, gunicorn.arbiter, gunicorn.workers.sync"


def explain(out: Path, python: str, db: Path, runs: int = 9) -> None:
    env = ["env", "-i", BARE_PATH, f"DJANGO_DB_PATH={db}", f"PYTHONPATH={out}/python:{out}"]
    env.append("PYTHONDONTWRITEBYTECODE=1")
    print("\nWhere the bootstrap's start differs from bare gunicorn's (medians of", runs, "runs):")
    shell = wall(["env", "-i", BARE_PATH, "FCMIGRATE_PYTHON=/bin/true", "./bootstrap"], out, runs)
    bare = wall([*env, python, "-c", "pass"], out, runs)
    ours = wall([*env, python, "-c", OURS], out, runs)
    theirs = wall([*env, python, "-c", THEIRS], out, runs)
    print(f"  bootstrap script up to exec (FCMIGRATE_PYTHON=/bin/true): {shell:6.1f} ms")
    print(f"  python3 -c pass:                                          {bare:6.1f} ms")
    print(f"  python3 -c '<fcmigrate serve imports>':                   {ours:6.1f} ms")
    print(f"  python3 -c '<gunicorn imports>':                          {theirs:6.1f} ms")
    a = importtime([*env, python, "-X", "importtime", "-c", OURS], out, runs)
    b = importtime([*env, python, "-X", "importtime", "-c", THEIRS], out, runs)
    extra: dict[str, float] = defaultdict(float)
    for name, ms in a.items():
        if name not in b:
            extra[name.split(".")[0]] += ms
    print("  modules only the bootstrap imports, self time summed per package:")
    for name, ms in sorted(extra.items(), key=lambda item: item[1], reverse=True)[:12]:
        print(f"    {name:<20}{ms:6.1f} ms")
    print(f"    {'all of them':<20}{sum(extra.values()):6.1f} ms")


def sizes(out: Path) -> str:
    """code.zip's size, and what fcmigrate's own source adds to the build."""
    zip_file = out.with_name("code.zip")
    ours = sum(p.stat().st_size for p in (out / "python" / "fcmigrate").rglob("*.py"))
    files = sum(1 for _ in (out / "python" / "fcmigrate").rglob("*.py"))
    return (
        f"code.zip {zip_file.stat().st_size / 1024:.0f} KB; fcmigrate in the build: "
        f"{files} .py files, {ours / 1024:.0f} KB of source"
    )


def machine() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{platform.platform()}; {cpus} CPUs ({model}); load {load:.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", choices=sorted(SAMPLES), default="django")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--python", default="/usr/bin/python3", help="the bare interpreter")
    parser.add_argument("--explain", action="store_true", help="also run -X importtime")
    args = parser.parse_args()
    python = args.python
    global SAMPLE
    SAMPLE = args.sample
    for module in ("django", "flask", "gunicorn", "fcmigrate"):
        check = subprocess.run(
            ["env", "-i", BARE_PATH, python, "-c", f"import {module}"],
            cwd="/",
            capture_output=True,
            check=False,
        )
        if check.returncode == 0:
            print(f"{python} can import {module}: not a bare interpreter.", file=sys.stderr)
            return 2

    variants = ["build", "no-pyc", "gunicorn"]
    times: dict[str, list[float]] = {v: [] for v in variants}
    with tempfile.TemporaryDirectory(prefix="fcmigrate-coldstart-") as tmp:
        out, no_pyc, db = build(Path(tmp), python)
        # One unmeasured start of each warms the page cache the same for all three.
        for variant in variants:
            port = free_port()
            argv, cwd = commands(variant, out, no_pyc, db, python, port)
            time_to_200(argv, cwd, port)
        for round_ in range(args.rounds):
            order = variants[round_ % 3 :] + variants[: round_ % 3]
            for variant in order:
                port = free_port()
                argv, cwd = commands(variant, out, no_pyc, db, python, port)
                times[variant].append(time_to_200(argv, cwd, port))
        if args.explain:
            explain(out, python, db)
        size = sizes(out)

    med = {v: statistics.median(times[v]) * 1000 for v in variants}
    print(f"\nCold start: exec to first HTTP 200 on GET / ({SAMPLE} sample, built by migrate)")
    print(f"  {size}")
    print(f"  machine: {machine()}")
    print(f"  python:  {python} {version_of(python)}; rounds: {args.rounds}, alternating")
    for v in variants:
        ms = sorted(t * 1000 for t in times[v])
        print(f"  {v:<9} median {med[v]:7.0f} ms   (min {ms[0]:.0f}, max {ms[-1]:.0f})")
    r1 = med["build"] / med["no-pyc"]
    r2 = med["build"] / med["gunicorn"]
    print(f"  (1) build / no-pyc   = {r1:.2f}  target <= 0.4  {'ok' if r1 <= 0.4 else 'MISSED'}")
    print(f"  (2) build / gunicorn = {r2:.2f}  target <= 1.0  {'ok' if r2 <= 1.0 else 'MISSED'}")
    command = f"bench/coldstart.py --sample {SAMPLE} --rounds {args.rounds}"
    print(f"  command: {Path(sys.executable).name} {command}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
