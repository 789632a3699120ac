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

``--mirror DIR`` adds the real projects of ``bench/real_apps.py`` (``--group``, default the
first): each one's own dependency list, as ``migrate`` reads it, for the Python ``migrate``
would build for. A tool that cannot install a list is shown as failing, with its last line
(pip's binary-only path refuses sdist-only packages), and the ratio is taken where both
install the same number of packages (pip judges markers for its own Python, and may install
fewer).

    .venv/bin/python bench/resolve.py [--rounds 3] [--python-version 3.10]
    .venv/bin/python bench/resolve.py --mirror /work/.mirror [--group first] [--only-real]
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
from dataclasses import dataclass
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


def timed(argv: list[str], env: dict[str, str], cwd: Path) -> float | str:
    """Seconds taken, or the last line of the tool's output when it failed."""
    started = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=cwd, check=False)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        lines = [line.strip() for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
        return (lines or ["no output"])[-1][:120]
    return elapsed


@dataclass
class Case:
    name: str
    requirements: Path
    python: str
    cwd: Path


def real_cases(mirror: Path, group: str, work: Path) -> list[Case]:
    """The dependency lists of the real projects in ``group``, as ``migrate`` reads them."""
    sys.path.insert(0, str(REPO / "bench"))
    import real_apps

    from fcmigrate.build.facts import SUPPORTED_PYTHONS, read_python_version
    from fcmigrate.build.requirements import read_requirements

    cases = []
    for app in real_apps.GROUPS[group]:
        into = work / "apps" / app.name
        into.mkdir(parents=True)
        try:
            real_apps.export(mirror, app, into)
        except (OSError, subprocess.CalledProcessError):
            print(f"{app.name}: no snapshot under {mirror}, left out")
            continue
        root = into / app.subdir if app.subdir else into
        lines, file = read_requirements(root)
        if file is None:
            if not lines:
                continue
            file = work / f"{app.name}.txt"
            file.write_text("\n".join(lines) + "\n")
        python = read_python_version(root)[0]
        python = python if python in SUPPORTED_PYTHONS else "3.10"
        cases.append(Case(app.name, file, python, root))
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--python-version", default="3.10")
    parser.add_argument("--mirror", type=Path, help="a folder of real projects' snapshots")
    parser.add_argument("--group", default="first", help="bench/real_apps.py's group")
    parser.add_argument("--only-real", action="store_true", help="leave the fixed sets out")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fcmigrate-bench-resolve-"))
    env = dict(os.environ, UV_CACHE_DIR=str(work / "uv-cache"), PIP_CACHE_DIR=str(work / "pip"))
    times: dict[tuple[str, str], list[float | str]] = {}
    installed: dict[tuple[str, str], int] = {}
    cases = []
    if not args.only_real:
        for name, lines in SETS.items():
            requirements = work / f"{name.replace(' ', '-')}.txt"
            requirements.write_text("\n".join(lines) + "\n")
            cases.append(Case(name, requirements, args.python_version, work))
    try:
        if args.mirror is not None:
            cases += real_cases(args.mirror.resolve(), args.group, work)
        for case in cases:
            for round_ in range(args.rounds + 1):
                order = ["uv", "pip"] if round_ % 2 == 0 else ["pip", "uv"]
                for tool in order:
                    target = Path(tempfile.mkdtemp(dir=work))
                    make = uv_argv if tool == "uv" else pip_argv
                    seconds = timed(make(target, case.requirements, case.python), env, case.cwd)
                    # How many distributions it installed: pip judges markers by its own
                    # Python, and may "succeed" with a list that installs nothing.
                    installed[(case.name, tool)] = len(list(target.glob("*.dist-info")))
                    shutil.rmtree(target)
                    if round_ > 0:
                        times.setdefault((case.name, tool), []).append(seconds)
        print(f"{RUNTIME} and the CPython each set is for; median of {args.rounds} warm rounds")
        print(
            f"{'set':<22} {'Python':>6} {'uv s':>8} {'pip s':>8} {'pip/uv':>8} "
            f"{'uv pkgs':>8} {'pip pkgs':>8}"
        )
        ratios = []
        failed: list[str] = []
        for case in cases:
            shown = {}
            for tool in ("uv", "pip"):
                runs = times[(case.name, tool)]
                errors = [run for run in runs if isinstance(run, str)]
                if errors:
                    failed.append(f"{case.name}: {tool} fails: {errors[0]}")
                    shown[tool] = None
                else:
                    shown[tool] = statistics.median(float(run) for run in runs)
            uv, pip = shown["uv"], shown["pip"]
            ratio = f"{pip / uv:>8.1f}" if uv and pip else f"{'-':>8}"
            short = installed[(case.name, "uv")] - installed[(case.name, "pip")]
            if uv and pip and short > 0:
                # Not the same install: pip judged markers for its own Python.
                failed.append(f"{case.name}: pip installed {short} fewer, left out of the mean")
            elif uv and pip:
                ratios.append(pip / uv)
            cells = [f"{value:>8.2f}" if value else f"{'fails':>8}" for value in (uv, pip)]
            counts = " ".join(
                f"{installed[(case.name, tool)] if shown[tool] else '-':>8}"
                for tool in ("uv", "pip")
            )
            print(f"{case.name:<22} {case.python:>6} {cells[0]} {cells[1]} {ratio} {counts}")
        if ratios:
            mean = statistics.geometric_mean(ratios)
            print(f"{'geometric mean, where both install alike':<47} {mean:>8.1f}")
        for line in failed:
            print(line)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
