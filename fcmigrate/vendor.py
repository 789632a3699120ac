"""Vendoring dependencies into a build's ``python/`` folder for FC's interpreter.

pip installs manylinux x86_64 wheels for the *target* Python, whatever runs fcmigrate
(``--only-binary=:all:`` is what makes ``--platform`` and ``--python-version`` safe: pip never
builds a package for the wrong machine). fcmigrate itself is copied from the running
installation, so the build serves with exactly the version that wrote its files.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import fcmigrate
from fcmigrate.errors import FCMigrateError

__all__ = [
    "PipResult",
    "copy_fcmigrate",
    "find_interpreter",
    "pip_install",
    "runtime_requirements",
    "wheel_platforms",
]

Progress = Callable[[str], None]

#: glibc minor version of each custom runtime's Debian release (10: 2.28, 11: 2.31, 12: 2.36):
#: wheels built for a newer glibc than the runtime's would fail to load there.
RUNTIME_GLIBC = {"custom.debian10": 28, "custom.debian11": 31, "custom.debian12": 36}
#: What fcmigrate needs at run time, when its own metadata cannot be read.
FALLBACK_REQUIREMENTS = ("gunicorn>=23", "click>=8.1", "PyYAML>=6")
_REQUIREMENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_NOT_FOUND = re.compile(r"No matching distribution found for (\S+)")
_VERSION_LIST = re.compile(r"(\(from versions: )([^)]*)\)")
_IGNORED_FOR_PYTHON = re.compile(
    r"Ignored the following versions that require a different python version: ([^\n]*)"
)
_REQUIRES_AT_LEAST = re.compile(r"Requires-Python >=\s*(\d+\.\d+)")
_INSTALLED = re.compile(r"^Successfully installed (.+)$", re.MULTILINE)
#: Requirements-file options whose path pip reads relative to the file.
_RELATIVE_OPTION = re.compile(
    r"(\s*(?:-r|--requirement|-c|--constraint|-f|--find-links)(?:\s+|=))(\S+)(.*)"
)


@dataclass
class PipResult:
    """What pip installed: ``['Flask-3.1.3', ...]``, and every line it printed."""

    installed: list[str] = field(default_factory=list)
    output: list[str] = field(default_factory=list)


def wheel_platforms(runtime: str) -> list[str]:
    """pip ``--platform`` tags for ``runtime``: manylinux2014 up to the runtime's glibc."""
    platforms = ["manylinux2014_x86_64"]
    glibc = RUNTIME_GLIBC.get(runtime)
    if glibc is not None:
        # pip does not expand manylinux_2_28 to older tags itself: list each one.
        platforms += [f"manylinux_2_{minor}_x86_64" for minor in range(17, glibc + 1)]
    return platforms


def runtime_requirements() -> list[str]:
    """fcmigrate's own dependencies (gunicorn, click, PyYAML), from its installed metadata."""
    try:
        requires = metadata.requires("fcmigrate") or []
    except metadata.PackageNotFoundError:
        return list(FALLBACK_REQUIREMENTS)
    # Only what the runtime imports: the build side's own tools (uv, pathspec, h11 ...)
    # never go into a build.
    carried = {_normal(requirement_name(r)) for r in FALLBACK_REQUIREMENTS}
    found = [
        r.split(";")[0].strip()
        for r in requires
        if "extra ==" not in r and _normal(requirement_name(r)) in carried
    ]
    return found or list(FALLBACK_REQUIREMENTS)


def requirement_name(requirement: str) -> str:
    match = _REQUIREMENT_NAME.match(requirement.strip())
    return match.group() if match else requirement.strip()


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pip_install(
    target: Path,
    *,
    requirements_file: Path | None,
    requirements: Sequence[str],
    python_version: str,
    runtime: str,
    progress: Progress,
    workdir: Path,
) -> PipResult:
    """Install the app's requirements plus fcmigrate's into ``target`` for the target Python.

    ``requirements_file`` is passed to pip as ``-r`` (so its options and includes work);
    otherwise ``requirements`` are passed as they are. A requirement on fcmigrate itself is
    left out: the running installation is copied instead. pip's output is streamed to
    ``progress`` line by line. Raises :class:`FCMigrateError` with pip's reason on failure.
    """
    args = _requirement_args(requirements_file, requirements, workdir)
    argv = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--target",
        str(target),
        "--only-binary=:all:",
        "--implementation",
        "cp",
        "--python-version",
        python_version,
        *[arg for platform in wheel_platforms(runtime) for arg in ("--platform", platform)],
        # .pyc written now would be for this interpreter, not the target's.
        "--no-compile",
        "--no-input",
        "--disable-pip-version-check",
        "--progress-bar",
        "off",
        *args,
        *runtime_requirements(),
    ]
    env = dict(os.environ, PYTHONUNBUFFERED="1", PIP_NO_INPUT="1")
    if env.get("PIP_FIND_LINKS"):
        # pip runs in workdir: PIP_FIND_LINKS=wheels means the folder here, not one there.
        links = env["PIP_FIND_LINKS"].split()
        env["PIP_FIND_LINKS"] = " ".join(
            os.path.abspath(x) if os.path.exists(x) else x for x in links
        )
    env.pop("PIP_TARGET", None)
    env.pop("PIP_PREFIX", None)
    result = PipResult()
    try:
        proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=workdir,
            text=True,
            encoding="utf-8",
            errors="replace",
            bufsize=1,
        )
    except OSError as exc:
        raise FCMigrateError(f"Cannot run pip: {exc.strerror or exc}.") from None
    with proc:
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                line = line.rstrip("\n")
                result.output.append(line)
                progress(line)
            returncode = proc.wait()
        except BaseException:
            proc.kill()
            raise
    text = "\n".join(result.output)
    if returncode != 0:
        raise _pip_error(text, python_version)
    for match in _INSTALLED.finditer(text):
        result.installed += match.group(1).split()
    return result


def _requirement_args(
    requirements_file: Path | None, requirements: Sequence[str], workdir: Path
) -> list[str]:
    if requirements_file is None:
        return [r for r in requirements if _normal(requirement_name(r)) != "fcmigrate"]
    lines = requirements_file.read_text(encoding="utf-8", errors="replace").splitlines()
    if not any(_normal(requirement_name(line)) == "fcmigrate" for line in lines):
        return ["-r", str(requirements_file)]
    # Rewrite the file without fcmigrate; includes and local wheel folders keep working from
    # their original folder, as pip resolves them relative to the file.
    kept: list[str] = []
    for line in lines:
        if _normal(requirement_name(line)) == "fcmigrate":
            continue
        option = _RELATIVE_OPTION.match(line)
        if option and not os.path.isabs(option.group(2)) and "://" not in option.group(2):
            line = option.group(1) + str(requirements_file.parent / option.group(2))
            line += option.group(3)
        kept.append(line)
    fd, name = tempfile.mkstemp(prefix="requirements-", suffix=".txt", dir=workdir)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write("\n".join(kept) + "\n")
    return ["-r", name]


def _pip_error(output: str, python_version: str) -> FCMigrateError:
    errors = [line[len("ERROR: ") :] for line in output.splitlines() if line.startswith("ERROR:")]
    reason = " ".join(errors) or (output.strip().splitlines() or ["pip failed"])[-1]
    # pip lists every version it ignored or knows of: keep the error one readable line.
    reason = _VERSION_LIST.sub(_shorten_versions, reason)
    target = f"CPython {python_version} on manylinux x86_64"
    missing = _NOT_FOUND.search(output)
    if "No module named pip" in output:
        return FCMigrateError(
            f"pip is not installed for {sys.executable!r}. Run "
            f"'{sys.executable} -m ensurepip --upgrade' and try again."
        )
    newer = _newer_python_needed(output, python_version)
    if missing is not None and newer is not None:
        requirement = missing.group(1)
        return FCMigrateError(
            f"{requirement_name(requirement)!r} ({requirement!r}) has no release for Python "
            f"{python_version}: the releases that match need Python {newer} or newer. Build "
            f"for it with --python {newer} (and --runtime custom.debian12, or a container), or "
            "pin an older release in your requirements."
        )
    if missing is not None and "(from versions: none)" in output:
        requirement = missing.group(1)
        name = requirement_name(requirement)
        if _index_has(name):
            return FCMigrateError(
                f"{name!r} ({requirement!r}) has no wheel for {target}: the package index "
                "has it only as a source distribution, or with wheels for other Pythons or "
                "platforms, and fcmigrate never builds packages on this machine for FC. "
                f"Pin a version that ships such a wheel, or build one on Linux x86_64 with "
                f"Python {python_version} ('pip wheel --no-deps {requirement} -w wheels') "
                "and run again with PIP_FIND_LINKS=wheels. pip said: " + reason
            )
        return FCMigrateError(
            f"pip found no package {name!r} ({requirement!r}) on the package index. Check "
            "the name in your requirements. pip said: " + reason
        )
    return FCMigrateError(f"pip could not install the requirements for {target}: {reason}")


def _shorten_versions(match: re.Match[str]) -> str:
    versions = match.group(2).split(", ")
    if len(versions) <= 6:
        return match.group(0)
    shown = ", ".join([*versions[:2], "...", *versions[-3:]])
    return f"{match.group(1)}{shown})"


def _newer_python_needed(output: str, python_version: str) -> str | None:
    """The lowest X.Y that pip's ignored releases ask for, when all need a newer Python."""
    ignored = _IGNORED_FOR_PYTHON.search(output)
    if ignored is None:
        return None
    current = tuple(int(part) for part in python_version.split("."))
    needed = []
    for spec in _REQUIRES_AT_LEAST.findall(ignored.group(1)):
        version = tuple(int(part) for part in spec.split("."))
        if version <= current:
            return None  # some release wants something else than a newer Python
        needed.append(version)
    if not needed:
        return None
    return ".".join(str(part) for part in min(needed))


def _index_has(name: str) -> bool:
    """Whether the index knows ``name`` at all, in any form (sdist included)."""
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "index", "versions", name, "--disable-pip-version-check"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0 and "Available versions:" in proc.stdout


def copy_fcmigrate(target: Path) -> Path:
    """Copy the running fcmigrate package (templates included, bytecode not) into ``target``."""
    source = Path(fcmigrate.__file__).resolve().parent
    dest = target / "fcmigrate"
    if dest.exists():
        shutil.rmtree(dest)
    for info in target.glob("fcmigrate-*.dist-info"):
        shutil.rmtree(info)
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dest


# --- the target interpreter --------------------------------------------------------------


def find_interpreter(version: str, explicit: str | None = None) -> str | None:
    """A CPython ``version`` interpreter on this machine, or ``None``.

    ``explicit`` (``--interpreter``) must be one. Otherwise: this interpreter if its version
    matches; ``pythonX.Y`` on PATH; ``uv python find X.Y``; pyenv's
    ``$PYENV_ROOT/versions/X.Y.*``; ``/usr/bin``, ``/usr/local/bin``. Each is run once to check
    its version (a pyenv shim may exist and still fail).
    """
    if explicit:
        found = _version_of(explicit)
        if found != version:
            what = f"Python {found}" if found else "not a working CPython interpreter"
            raise FCMigrateError(
                f"--interpreter {explicit!r} is {what}, but the target is {version}. "
                f"Pass a Python {version} interpreter, e.g. --interpreter /usr/bin/python{version}."
            )
        return explicit
    if f"{sys.version_info[0]}.{sys.version_info[1]}" == version:
        return sys.executable
    for candidate in _candidates(version):
        if _version_of(candidate) == version:
            return candidate
    return None


def _candidates(version: str) -> list[str]:
    found: list[str] = []
    on_path = shutil.which(f"python{version}")
    if on_path:
        found.append(on_path)
    uv = shutil.which("uv")
    if uv:
        try:
            proc = subprocess.run(
                [uv, "python", "find", "--no-python-downloads", version],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
            if proc.returncode == 0 and proc.stdout.strip():
                found.append(proc.stdout.strip().splitlines()[-1])
        except (OSError, subprocess.TimeoutExpired):
            pass
    pyenv_root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    pattern = os.path.join(pyenv_root, "versions", f"{version}.*", "bin", f"python{version}")
    found += sorted(glob.glob(pattern), key=_patch_level, reverse=True)
    found += [f"/usr/bin/python{version}", f"/usr/local/bin/python{version}"]
    return [c for i, c in enumerate(found) if c not in found[:i] and os.access(c, os.X_OK)]


def _patch_level(path: str) -> tuple[int, ...]:
    name = Path(path).parent.parent.name
    return tuple(int(p) if p.isdigit() else -1 for p in name.split("."))


def _version_of(python: str) -> str | None:
    code = "import sys; print(sys.implementation.name, '%d.%d' % sys.version_info[:2])"
    try:
        proc = subprocess.run(
            [python, "-I", "-c", code],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    parts = proc.stdout.split()
    if proc.returncode != 0 or len(parts) != 2 or parts[0] != "cpython":
        return None
    return parts[1]
