"""Installing requirements for the target: uv (what ``migrate`` runs) against the old pip path.

Both install the same requirement set into a fresh ``--target`` folder for CPython 3.10 on
manylinux_2_28 x86_64 (custom.debian10), plus gunicorn as a build does:

* ``uv``   ``uv pip install --target T --python-version 3.10 --python-platform
           x86_64-manylinux_2_28 -r R gunicorn>=23``
* ``pip``  ``pip install --target T --python-version 3.10 --platform manylinux2014_x86_64
           --platform manylinux_2_17_x86_64 ... --platform manylinux_2_28_x86_64
           --only-binary=:all: --implementation cp --no-compile -r R gunicorn>=23``

The sets: the two sample apps' requirements and three lists from typical projects (wheels
only, so the pip path can install them too). Each tool keeps its own cache for the whole run
(round 0 fills it and is not counted: the figures are for a repeated build, as on a laptop);
the two tools alternate, and their order flips every round. Prints the median seconds of each
tool per set and the ratio pip / uv. Needs the package index.

    .venv/bin/python bench/resolve.py [--rounds 3] [--python-version 3.10]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from fcmigrate.build.vendor import python_platform, uv_binary, wheel_platforms  # noqa: E402

RUNTIME = "custom.debian10"
SETS: dict[str, list[str]] = {
    "flask sample": (REPO / "sample_apps/flask_app/requirements.txt").read_text().split(),
    "django sample": (REPO / "sample_apps/django_site/requirements.txt").read_text().split(),
    "django api": [
        "Django>=4.2,<5",
        "djangorestframework",
        "psycopg2-binary",
        "celery[redis]",
        "requests",
        "Pillow",
        "python-dotenv",
    ],
    "flask data": [
        "Flask==2.3.3",
        "Flask-SQLAlchemy",
        "Flask-Login",
        "Flask-WTF",
        "pandas",
        "numpy<2",
        "boto3",
    ],
    "service": ["requests", "pydantic>=2", "SQLAlchemy>=2", "alembic", "redis==5.0.1", "PyJWT"],
}


def uv_argv(target: Path, requirements: Path, version: str) -> list[str]:
    return [
        uv_binary(),
        "pip",
        "install",
        "--quiet",
        "--target",
        str(target),
        "--python",
        sys.executable,
        "--python-version",
        version,
        "--python-platform",
        python_platform(RUNTIME),
        "-r",
        str(requirements),
        "gunicorn>=23",
    ]


def pip_argv(target: Path, requirements: Path, version: str) -> list[str]:
    platforms = [arg for p in wheel_platforms(RUNTIME) for arg in ("--platform", p)]
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--target",
        str(target),
        "--only-binary=:all:",
        "--implementation",
        "cp",
        "--python-version",
        version,
        *platforms,
        "--no-compile",
        "-r",
        str(requirements),
        "gunicorn>=23",
    ]


def timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(argv[:4])} ...\n{proc.stdout}{proc.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--python-version", default="3.10")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fcmigrate-bench-resolve-"))
    env = dict(os.environ, UV_CACHE_DIR=str(work / "uv-cache"), PIP_CACHE_DIR=str(work / "pip"))
    times: dict[tuple[str, str], list[float]] = {}
    try:
        for name, lines in SETS.items():
            requirements = work / f"{name.replace(' ', '-')}.txt"
            requirements.write_text("\n".join(lines) + "\n")
            for round_ in range(args.rounds + 1):
                order = ["uv", "pip"] if round_ % 2 == 0 else ["pip", "uv"]
                for tool in order:
                    target = Path(tempfile.mkdtemp(dir=work))
                    make = uv_argv if tool == "uv" else pip_argv
                    seconds = timed(make(target, requirements, args.python_version), env)
                    shutil.rmtree(target)
                    if round_ > 0:
                        times.setdefault((name, tool), []).append(seconds)
        print(f"CPython {args.python_version}, {RUNTIME}; median of {args.rounds} warm rounds")
        print(f"{'set':<15} {'uv s':>8} {'pip s':>8} {'pip/uv':>8}")
        ratios = []
        for name in SETS:
            uv = statistics.median(times[(name, "uv")])
            pip = statistics.median(times[(name, "pip")])
            ratios.append(pip / uv)
            print(f"{name:<15} {uv:>8.2f} {pip:>8.2f} {pip / uv:>8.1f}")
        print(f"{'geometric mean':<33} {statistics.geometric_mean(ratios):>8.1f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
