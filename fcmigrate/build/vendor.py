"""Vendoring dependencies into a build's ``python/`` folder for FC's interpreter.

uv resolves and installs the requirements for the *target*: ``--python-version X.Y`` and
``--python-platform x86_64-manylinux_2_NN`` (NN: the runtime's glibc), so environment markers,
``Requires-Python`` and wheel tags are judged for FC's Python, whatever runs fcmigrate.
Pure-Python source distributions are built into wheels; a package with compiled code and no
wheel for the target is refused with the fix (:mod:`fcmigrate.build.wheels`): no C compiler is
offered to the build, and uv rejects a wheel built for this machine. fcmigrate itself is
copied from the running installation, so the build serves with exactly the version that
wrote its files; of its own dependencies only gunicorn is added (``serve`` needs nothing
else).
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from fcmigrate.build.mirrors import MirrorSwap
from fcmigrate.build.signals import terminate_as_exit
from fcmigrate.errors import FCMigrateError

__all__ = [
    "DEFAULT_RESOLVE_TIMEOUT",
    "InstallResult",
    "copy_fcmigrate",
    "find_interpreter",
    "install_requirements",
    "python_platform",
    "resolve_timeout",
    "runtime_requirements",
    "wheel_platforms",
]

Progress = Callable[[str], None]

#: glibc minor version of each custom runtime's Debian release (10: 2.28, 11: 2.31, 12: 2.36):
#: wheels built for a newer glibc than the runtime's would fail to load there.
RUNTIME_GLIBC = {"custom.debian10": 28, "custom.debian11": 31, "custom.debian12": 36}
#: manylinux2014 (glibc 2.17): what a platform without a known glibc gets.
BASE_GLIBC = 17
#: What ``python -m fcmigrate serve`` needs besides the standard library. The build side's
#: tools (click, PyYAML, uv, pathspec, h11 ...) never go into a build.
FALLBACK_REQUIREMENTS = ("gunicorn>=23",)
#: Seconds uv may take to resolve and install, unless --resolve-timeout or the variable says.
DEFAULT_RESOLVE_TIMEOUT = 300.0
RESOLVE_TIMEOUT_ENV = "FCMIGRATE_RESOLVE_TIMEOUT"
_REQUIREMENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_INCLUDE_OPTION = re.compile(r"(\s*(?:-r|--requirement)(?:\s+|=))(\S+)(.*)")
#: Requirements-file options whose path is read relative to the file.
_RELATIVE_OPTION = re.compile(
    r"(\s*(?:-r|--requirement|-c|--constraint|-f|--find-links)(?:\s+|=))(\S+)(.*)"
)


@dataclass
class InstallResult:
    """What was installed: ``['Flask-3.1.3', ...]``, and every line uv printed."""

    installed: list[str] = field(default_factory=list)
    output: list[str] = field(default_factory=list)
    returncode: int = 0
    #: What the build does differently from the requirements, and why.
    notes: list[str] = field(default_factory=list)


def wheel_platforms(runtime: str) -> list[str]:
    """Wheel platform tags for ``runtime``: manylinux2014 up to the runtime's glibc."""
    platforms = ["manylinux2014_x86_64"]
    glibc = RUNTIME_GLIBC.get(runtime)
    if glibc is not None:
        platforms += [f"manylinux_2_{minor}_x86_64" for minor in range(17, glibc + 1)]
    return platforms


def python_platform(runtime: str) -> str:
    """uv's ``--python-platform`` for ``runtime``: ``x86_64-manylinux_2_28`` for debian10."""
    return f"x86_64-manylinux_2_{RUNTIME_GLIBC.get(runtime, BASE_GLIBC)}"


def runtime_requirements() -> list[str]:
    """What the build needs of fcmigrate's dependencies (gunicorn), from its metadata."""
    try:
        requires = metadata.requires("fcmigrate") or []
    except metadata.PackageNotFoundError:
        return list(FALLBACK_REQUIREMENTS)
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


def resolve_timeout(option: float | None, environ: Mapping[str, str] = os.environ) -> float:
    """Seconds allowed to uv: ``option``, else $FCMIGRATE_RESOLVE_TIMEOUT, else the default."""
    if option is not None:
        value, source = option, "--resolve-timeout"
    elif environ.get(RESOLVE_TIMEOUT_ENV, "").strip():
        raw = environ[RESOLVE_TIMEOUT_ENV].strip()
        try:
            value = float(raw)
        except ValueError:
            value = -1.0
        source = f"{RESOLVE_TIMEOUT_ENV}={raw!r}"
    else:
        return DEFAULT_RESOLVE_TIMEOUT
    if not value > 0:
        raise FCMigrateError(
            f"{source} is not a number of seconds above 0. Use e.g. --resolve-timeout 600."
        )
    return float(value)


def uv_binary() -> str:
    """The uv executable fcmigrate depends on (the ``uv`` package), else uv on PATH."""
    try:
        from uv import find_uv_bin

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if found:
            return found
    raise FCMigrateError(
        "uv is not installed, and fcmigrate needs it to install the requirements for the "
        "target Python. Run 'pip install uv' (or reinstall fcmigrate) and try again."
    )


def index_options(environ: Mapping[str, str], cwd: Path) -> list[str]:
    """pip's index variables as uv options (uv reads only its own UV_* variables).

    UV_INDEX_URL, UV_EXTRA_INDEX_URL and UV_FIND_LINKS, when set, are uv's and win.
    """
    options: list[str] = []
    if environ.get("PIP_INDEX_URL") and not environ.get("UV_INDEX_URL"):
        options += ["--index-url", environ["PIP_INDEX_URL"]]
    if environ.get("PIP_EXTRA_INDEX_URL") and not environ.get("UV_EXTRA_INDEX_URL"):
        for url in environ["PIP_EXTRA_INDEX_URL"].split():
            options += ["--extra-index-url", url]
    if environ.get("PIP_FIND_LINKS") and not environ.get("UV_FIND_LINKS"):
        for link in environ["PIP_FIND_LINKS"].split():
            # PIP_FIND_LINKS=wheels means the folder here, not one in uv's working folder.
            path = cwd / link
            options += ["--find-links", str(path) if path.exists() else link]
    if environ.get("PIP_NO_INDEX", "").lower() in ("1", "true", "yes", "on"):
        options.append("--no-index")
    return options


def install_requirements(
    target: Path,
    *,
    requirements_file: Path | None,
    requirements: Sequence[str],
    python_version: str,
    runtime: str,
    progress: Progress,
    workdir: Path,
    timeout: float | None = None,
    build_python: str | None = None,
    held: Mapping[str, str] | None = None,
    unlisted: Sequence[str] = (),
) -> InstallResult:
    """Install the app's requirements plus gunicorn into ``target`` for the target Python.

    ``held``: packages the app leaves free held at a release (name -> version), as uv
    constraints: an older release that the app's pinned packages still work with.
    ``unlisted``: distributions installed packages import without listing them, installed
    too.

    ``requirements_file`` is passed to uv as ``-r`` (so its options, includes, constraints
    and hashes work); otherwise ``requirements`` are passed as they are. A requirement on
    fcmigrate itself is left out: the running installation is copied instead. uv's output
    is streamed to ``progress`` line by line. After ``timeout`` seconds (default
    :func:`resolve_timeout`) uv is stopped. Raises :class:`FCMigrateError` with the reason
    and the fix on failure (:func:`fcmigrate.build.wheels.explain`).
    """
    from fcmigrate.build import wheels

    limit = resolve_timeout(None) if timeout is None else timeout
    app_requirements = _app_requirement_lines(requirements_file, requirements)
    editable_notes: list[str] = []
    args = _requirement_args(
        requirements_file, requirements, workdir, target.parent, editable_notes
    )
    requirement_file_args = args[:2] if requirements_file is not None else []
    freeze_notes = _freeze_constraints(requirements_file, args, workdir)
    own = runtime_requirements()
    overrides, override_notes, added = wheels.server_overrides(app_requirements, own)
    override_notes = [*editable_notes, *freeze_notes, *override_notes]
    if overrides:
        override_file = workdir / "fcmigrate-overrides.txt"
        override_file.write_text("\n".join(overrides) + "\n", encoding="utf-8")
        args += ["--override", str(override_file)]
    head = [
        uv_binary(),
        "pip",
        "install",
        "--target",
        str(target),
        # Source builds run with this interpreter: the target's when there is one, so that
        # a build that falls back to pure Python is tagged for the target; markers,
        # Requires-Python and wheel tags are judged for the target below.
        "--python",
        build_python or sys.executable,
        "--python-version",
        python_version,
        "--python-platform",
        python_platform(runtime),
        "--color",
        "never",
        "--no-progress",
        *index_options(os.environ, Path.cwd()),
    ]
    tail = args[len(requirement_file_args) :]
    if held:
        holding = workdir / "fcmigrate-held.txt"
        holding.write_text("".join(f"{k}=={v}\n" for k, v in held.items()), encoding="utf-8")
        tail += ["--constraint", str(holding)]
    tail += unlisted
    base = [*head, *requirement_file_args, *tail]
    env = _uv_env(os.environ)
    notes = list(override_notes)
    extra: list[str] = []
    extra_own: list[str] = []
    moved_twin = retried = False
    #: Index URLs of the requirements files replaced: unreachable mirrors of PyPI.
    replaced_indexes: dict[str, str | None] = {}
    #: Packages whose Git source this machine cannot reach, taken from the index instead.
    from_index: list[str] = []
    extra_index: list[str] = []
    first = True
    while True:
        result = InstallResult(notes=list(notes))
        if not first:
            shutil.rmtree(target, ignore_errors=True)
        first = False
        argv = [*base, *added, *extra, *extra_index, *own, *extra_own]
        timed_out = _run(argv, env, workdir, limit, result, progress)
        text = "\n".join(result.output)
        if timed_out or result.returncode == 0:
            break
        # Each remedy for what stopped this try, at most once (a lower setuptools as often
        # as a build asks for one): what stops the next try is what to fix next, and may
        # be for another remedy (an old sdist built, then a twin without a wheel).
        mirror = _mirror_unreachable(text, requirements_file)
        if mirror is not None and not mirror.replaced.keys() <= replaced_indexes.keys():
            replaced_indexes.update(mirror.replaced)
            requirement_file_args = _requirement_args(
                requirements_file, requirements, workdir, target.parent, [], replaced_indexes
            )
            base = [*head, *requirement_file_args, *tail]
            progress(f"Trying again: {mirror.note}")
            notes.append(mirror.note)
            continue
        unreachable = _git_unreachable(text, from_index)
        moved = (
            None
            if moved_twin or unreachable
            else wheels.twins_for_target(text, added, python_version, runtime)
        )
        retry = None if moved or unreachable or retried else _retry(text, app_requirements, workdir)
        lower = (
            None
            if moved or unreachable or not retried
            else _lower_setuptools(result, text, extra, workdir)
        )
        if unreachable is not None:
            name, note = unreachable
            from_index.append(name)
            index_file = workdir / "fcmigrate-from-index.txt"
            index_file.write_text("\n".join(from_index) + "\n", encoding="utf-8")
            if "--override" not in extra_index:
                extra_index = ["--override", str(index_file)]
        elif moved is not None:
            added, note = moved
            moved_twin = True
        elif retry is not None:
            extra, extra_own, note = retry
            retried = True
        elif lower is not None:
            extra, note = lower
        else:
            break
        progress(f"Trying again: {note}")
        notes.append(note)
    if not timed_out and result.returncode != 0:
        without = _pins_for_target(
            argv,
            text,
            app_requirements,
            python_version,
            runtime,
            target,
            env,
            workdir,
            limit,
            progress,
        )
        if without is not None:
            changed, argv = without
            result = InstallResult(
                installed=changed.installed,
                output=changed.output,
                notes=[*result.notes, *changed.notes],
            )
    if timed_out:
        raise wheels.timeout_error(text, limit)
    if result.returncode != 0:
        raise wheels.explain(
            text,
            python_version=python_version,
            runtime=runtime,
            app_requirements=app_requirements,
            own_requirements=own,
        )
    foreign = wheels.built_here(target)
    if foreign:
        raise wheels.compiled_error(foreign[0], "", python_version, runtime)
    result.notes += _add_pkg_resources(target, argv, env, workdir, limit, progress)
    result.installed = _installed(target)
    return result


def _add_pkg_resources(
    target: Path,
    argv: Sequence[str],
    env: Mapping[str, str],
    workdir: Path,
    limit: float,
    progress: Progress,
) -> list[str]:
    """Install setuptools too when installed packages import pkg_resources without listing
    it (:mod:`fcmigrate.build.legacy`); the note that says so. Left as it is when that
    does not resolve with the requirements: the import check then names the package."""
    from fcmigrate.build.legacy import PKG_RESOURCES_REQUIREMENT, pkg_resources_users

    users = pkg_resources_users(target)
    if not users:
        return []
    who = f"{', '.join(users)} {'imports' if len(users) == 1 else 'import'}"
    progress(f"{who} pkg_resources: adding {PKG_RESOURCES_REQUIREMENT}")
    again = InstallResult()
    timed_out = _run([*argv, PKG_RESOURCES_REQUIREMENT], env, workdir, limit, again, progress)
    if timed_out or again.returncode != 0:
        return []
    return [
        f"{who} pkg_resources, which comes with setuptools, without "
        "listing setuptools as a dependency (the virtual environments pip made carried it "
        f"until Python 3.12): the build has {PKG_RESOURCES_REQUIREMENT} too."
    ]


#: uv's words for a source distribution that would not build, and for a resolution that
#: found no set of versions.
_BUILD_FAILED = re.compile(r"Failed to (?:download and )?build|Build backend failed", re.I)
_NO_SOLUTION = re.compile(r"No solution found when resolving|requirements are unsatisfiable")
#: Old source distributions import setuptools APIs its recent releases removed.
LEGACY_SETUPTOOLS = "setuptools<70"
#: What a build's error says when it needs an API removed before that, and the setuptools
#: that still had it; the oldest first, so the lowest ceiling any failed build asks for wins.
_REMOVED_FROM_SETUPTOOLS = (
    # setuptools.Feature (optional features in setup.py, MarkupSafe 1.0): gone in 46.0.
    (re.compile(r"cannot import name 'Feature' from 'setuptools'"), "setuptools<46"),
    # use_2to3=True (sources converted at build time, jsmin 2.2.2): gone in 58.0.
    (re.compile(r"use_2to3 is invalid"), "setuptools<58"),
)


#: Cython 3.0 (2023) no longer builds the extensions of sdists written for Cython 0.29
#: (PyYAML 5.4.1 and older fail with "AttributeError: cython_sources").
_CYTHON_3_BROKE = re.compile(r"AttributeError: cython_sources")
LEGACY_CYTHON = "Cython<3"


def _build_constraints(output: str, used: Sequence[str]) -> list[str] | None:
    """The build tools old sdists get after a failed build in ``output``, given those
    ``used`` already: a lower setuptools as often as a build asks for one, and Cython before
    3.0 once a build needs it. ``None`` when that changes nothing."""
    ceiling = legacy_setuptools(output)
    for line in used:
        if line.startswith("setuptools<") and _ceiling_version(line) <= _ceiling_version(ceiling):
            ceiling = line
    lines = [ceiling]
    if LEGACY_CYTHON in used or _CYTHON_3_BROKE.search(output):
        lines.append(LEGACY_CYTHON)
    return None if lines == list(used) else lines


def _tools_note(lines: Sequence[str], *, several: bool) -> str:
    tools = " and ".join(line.partition("<")[0] for line in lines)
    built = " and ".join(lines)
    if several:
        return (
            f"Old source distributions did not build with today's {tools}; they were built "
            f"with {built}, as when they were released."
        )
    return (
        f"An old source distribution did not build with today's {tools}; it was built "
        f"with {built}, as when it was released."
    )


def legacy_setuptools(output: str) -> str:
    """The setuptools an old source distribution whose build failed with ``output`` needs."""
    for pattern, ceiling in _REMOVED_FROM_SETUPTOOLS:
        if pattern.search(output):
            return ceiling
    return LEGACY_SETUPTOOLS


_GIT_SOURCE = re.compile(r"`([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])? @ (git\+[^`\s]+)`")
#: What git prints when the host of a repository cannot be reached from here.
_UNREACHABLE = re.compile(
    r"Could not resolve host|Failed to connect to|Connection timed out|Network is unreachable|"
    r"Connection refused|unable to access",
    re.I,
)


def _mirror_unreachable(output: str, requirements_file: Path | None) -> MirrorSwap | None:
    """What stands in for a public mirror of PyPI that the requirements name and this
    machine cannot reach (:func:`fcmigrate.build.mirrors.unreachable_mirror`)."""
    from fcmigrate.build import wheels
    from fcmigrate.build.mirrors import unreachable_mirror

    url = wheels.unreachable_url(output)
    if url is None:
        return None
    return unreachable_mirror(url, requirements_file, os.environ)


def _git_unreachable(output: str, done: Sequence[str]) -> tuple[str, str] | None:
    """(name, note) for a requirement on a Git repository that could not be fetched
    because its host cannot be reached from this machine (a registry-only network, GitHub
    blocked): its release on the package index stands in, with a note. ``None`` otherwise,
    and for a name already taken from the index."""
    if "Git operation failed" not in output or not _UNREACHABLE.search(output):
        return None
    for match in _GIT_SOURCE.finditer(output):
        name, url = match.group(1), match.group(2)
        if name in done:
            continue
        host = re.sub(r"^git\+[a-z]+://(?:[^@/]*@)?([^/:]+).*", r"\1", url)
        note = (
            f"{name} is pinned to a Git repository ({url}), but {host} cannot be reached "
            f"from this machine: {name}'s release on the package index was installed "
            "instead. Build where that host is reachable to keep the pinned commit, or pin "
            f"the release you need ({name}==X.Y)."
        )
        return name, note
    return None


def _retry(
    output: str, app_requirements: Sequence[str], workdir: Path
) -> tuple[list[str], list[str], str] | None:
    """A second way to install what failed: (uv options, more requirements, the note).

    * An old source distribution whose build fails builds with an older setuptools: it was
      written against APIs (``convert_path``, ``setup.py test``) that newer ones removed.
    * Requirements that pin every package (a ``pip freeze``, or a list of top-level pins)
      but conflict were installed as pinned by pip's old resolver, with the dependencies it
      did not list: the pins now win the same way (uv ``--override``: each pin replaces
      what any package asks of that name) and the rest is resolved around them. Servers and
      drop-in twins keep :func:`fcmigrate.build.wheels.server_overrides`' handling.
    """
    from fcmigrate.build import wheels

    # A build that wanted a compiler fails the same way with any setuptools.
    if _BUILD_FAILED.search(output) and NO_COMPILER not in output:
        lines = _build_constraints(output, []) or []
        constraints = workdir / "fcmigrate-build-constraints.txt"
        constraints.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return ["--build-constraint", str(constraints)], [], _tools_note(lines, several=False)
    if _NO_SOLUTION.search(output) and wheels.all_pinned(app_requirements):
        pins = workdir / "fcmigrate-pins-win.txt"
        pins.write_text("\n".join(_winning_pins(app_requirements)) + "\n", encoding="utf-8")
        note = (
            "Your requirements pin every package but conflict with each other (pip's old "
            "resolver let that pass): your pins were kept over what the packages ask for "
            "(uv --override), as pip installed them, and the rest of their dependencies was "
            "resolved around them; the import check tells if anything is amiss."
        )
        return ["--override", str(pins)], [], note
    return None


#: Libraries a requirements file lists for gunicorn's worker classes (``-k gevent``), which
#: the build does not use: a pin of one without a wheel is left out if the code never names it.
WORKER_LIBRARIES = frozenset({"gevent", "eventlet", "greenlet"})

#: How many of the app's pins :func:`_pins_for_target` may change in one build.
MAX_CHANGED_PINS = 5


def _pins_for_target(
    argv: Sequence[str],
    output: str,
    app_requirements: Sequence[str],
    python_version: str,
    runtime: str,
    target: Path,
    env: Mapping[str, str],
    workdir: Path,
    limit: float,
    progress: Progress,
) -> tuple[InstallResult, list[str]] | None:
    """The install again, with the app's pins that need a compiler on the target changed
    where their history says how, and the uv command that did it; ``None`` when that does
    not work (the first failure stands).

    A requirements file frozen on another Python or system pins what was right there, and
    often has no wheel for FC's Python. The build is tried without each such pin, and the
    packages installed then tell what the pin was for
    (:func:`fcmigrate.build.wheels.askers`):

    * asked for only under markers false on the target (``typed-ast`` for a linter below
      Python 3.8, ``backports.zoneinfo`` below 3.9, ``pywin32`` on Windows): left out;
    * needed by another package (``cffi`` for ``cryptography``): the freeze recorded the
      release the resolver picked then, so the nearest release with a wheel for the target
      in the same major version takes its place;
    * asked for by nothing (the app or a framework imports it itself: Pillow for Django's
      ``ImageField``): the app chose that release, so only a release of the same series
      (``psycopg2-binary`` 2.9.9 -> 2.9.10, which added wheels for Python 3.13) takes its
      place;
    * no such release: an error names the pins that stop the build, each with its fix
      (not one that could move, which may be the first to fail).
    """
    from fcmigrate.build import wheels
    from fcmigrate.build.requirements import names_anywhere

    pending: list[str] = []
    while len(pending) < MAX_CHANGED_PINS:
        line = wheels.compiled_pin(output, app_requirements)
        if line is None or line in pending:
            return None
        pending.append(line)
        progress(f"Trying again without {line!r}, to see what needs it")
        trial = InstallResult()
        shutil.rmtree(target, ignore_errors=True)
        leaving = _changing_pins(argv, [requirement_name(x) for x in pending], {}, workdir)
        if _run(leaving, env, workdir, limit, trial, progress):
            return None
        output = "\n".join(trial.output)
        if trial.returncode == 0:
            break
    else:
        return None
    notes: list[str] = []
    left_out: list[str] = []
    raised: dict[str, str] = {}
    blocked: list[tuple[str, str]] = []
    target_name = f"CPython {python_version} on manylinux x86_64"
    for line in pending:
        name = requirement_name(line)
        needing, elsewhere = wheels.askers(target, name, python_version)
        if (
            wheels.canonical(name) in WORKER_LIBRARIES
            and not needing
            and not names_anywhere(target.parent, name)
        ):
            left_out.append(name)
            notes.append(
                f"Left {line!r} out of the build: it has no wheel for {target_name}, nothing "
                "needs it there, and the project's code never names it: it serves gunicorn's "
                f"'-k {name}' workers, and fcmigrate serves the app with its own gunicorn "
                "workers."
            )
            continue
        if elsewhere and not needing:
            left_out.append(name)
            notes.append(
                f"Left {line!r} out of the build: it has no wheel for {target_name}, and "
                f"nothing needs it there ({'; '.join(elsewhere)}). A requirements file frozen "
                "on another Python or system lists it."
            )
            continue
        pinned = re.match(r"\s*[A-Za-z0-9._-]+\s*===?\s*([^\s;,\\]+)\s*$", line)
        if pinned is None:
            return None
        pin = pinned.group(1)
        nearest = wheels.nearest_release(name, pin, python_version, runtime)
        # What another package needs may move within its major version, as its resolver
        # would; the app's own choice only to a release of the same series (2.9.9 -> 2.9.10).
        kept = 1 if needing else 2
        if nearest is None or not wheels.same_series(pin, nearest, kept):
            blocked.append((name, pin))
            continue
        raised[name] = nearest
        if needing:
            notes.append(
                f"Installed '{name}=={nearest}' for {line!r}: {pin} has no wheel for "
                f"{target_name}, {nearest} is the nearest release that has one, and "
                f"{', '.join(needing)} needs it there (a requirements file frozen on another "
                "Python lists the release its resolver picked then)."
            )
        else:
            series = ".".join(pin.split(".")[:2])
            notes.append(
                f"Installed '{name}=={nearest}' for {line!r}: {pin} has no wheel for "
                f"{target_name}, and {nearest}, of the same {series} series, is the nearest "
                "release that has one."
            )
    if blocked:
        # Only these stop the build: the error names them, not a pin that could move.
        blocked.sort(key=lambda pin: wheels.canonical(pin[0]))
        raise wheels.compiled_errors(blocked, python_version, runtime)
    if raised:
        progress(f"Trying again with {', '.join(f'{k}=={v}' for k, v in raised.items())}")
        trial = InstallResult()
        shutil.rmtree(target, ignore_errors=True)
        leaving = _changing_pins(argv, left_out, raised, workdir)
        if _run(leaving, env, workdir, limit, trial, progress) or trial.returncode != 0:
            return None
    trial.notes = notes
    return trial, leaving


def _changing_pins(
    argv: Sequence[str], out: Sequence[str], raised: Mapping[str, str], workdir: Path
) -> list[str]:
    """``argv`` with the packages ``out`` left out and those in ``raised`` at their new
    release: dropped from its override files, then overridden anew (left out by a marker
    that is never true)."""
    from fcmigrate.build import wheels

    keys = {wheels.canonical(name) for name in [*out, *raised]}
    changed: list[str] = []
    for index, arg in enumerate(argv):
        if index and argv[index - 1] == "--override":
            kept = [
                line
                for line in Path(arg).read_text(encoding="utf-8").splitlines()
                if wheels.canonical(line) not in keys
            ]
            arg = str(workdir / f"fcmigrate-changed-{index}.txt")
            Path(arg).write_text("\n".join(kept) + "\n", encoding="utf-8")
        changed.append(arg)
    overrides = workdir / "fcmigrate-changed-pins.txt"
    overrides.write_text(
        "".join(f'{name} ; sys_platform == "fcmigrate-never"\n' for name in out)
        + "".join(f"{name}=={version}\n" for name, version in raised.items()),
        encoding="utf-8",
    )
    return [*changed, "--override", str(overrides)]


def _lower_setuptools(
    result: InstallResult, output: str, options: list[str], workdir: Path
) -> tuple[list[str], str] | None:
    """The retry's options with older build tools, when a build in ``output`` asks for a
    setuptools below the ceiling ``options`` already gave, or for Cython before 3.0;
    ``None`` otherwise."""
    if result.returncode == 0 or "--build-constraint" not in options:
        return None
    if not _BUILD_FAILED.search(output) or NO_COMPILER in output:
        return None
    constraints = Path(options[options.index("--build-constraint") + 1])
    used = constraints.read_text(encoding="utf-8").split()
    lines = _build_constraints(output, used)
    if lines is None:
        return None
    constraints = workdir / "fcmigrate-build-constraints.txt"
    constraints.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return ["--build-constraint", str(constraints)], _tools_note(lines, several=True)


def _ceiling_version(ceiling: str) -> int:
    return int(ceiling.rpartition("<")[2])


def _winning_pins(app_requirements: Sequence[str]) -> list[str]:
    """The app's pins as uv overrides, minus the servers and twins handled elsewhere."""
    from packaging.requirements import InvalidRequirement, Requirement

    from fcmigrate.build import wheels

    handled = {"gunicorn", *wheels.DROPPED_SERVERS, *wheels.DROP_IN_TWINS, *wheels.STDLIB_BACKPORTS}
    pins = []
    for line in app_requirements:
        text = line.split(" #")[0].split(" --hash")[0].strip()
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            continue
        if wheels.canonical(requirement.name) not in handled:
            pins.append(str(requirement))
    return pins


#: Offered to builds of source distributions as their C and C++ compiler: no such program
#: exists, so a package that needs one fails (or falls back to pure Python) instead of
#: compiling for this machine's Python and glibc.
NO_COMPILER = "fcmigrate-no-compiler"


def _uv_env(environ: Mapping[str, str]) -> dict[str, str]:
    env = dict(environ, PYTHONUNBUFFERED="1", NO_COLOR="1", CC=NO_COMPILER, CXX=NO_COMPILER)
    for name in ("UV_PYTHON", "UV_SYSTEM_PYTHON", "PIP_TARGET", "PIP_PREFIX"):
        env.pop(name, None)
    return env


def _run(
    argv: Sequence[str],
    env: Mapping[str, str],
    cwd: Path,
    limit: float,
    result: InstallResult,
    progress: Progress,
) -> bool:
    """Run uv in its own process group, streaming its lines; ``True`` if it ran out of time.

    Ctrl-C, SIGTERM and the time limit stop the whole group: uv and the builds it started.
    """
    try:
        proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            text=True,
            encoding="utf-8",
            errors="replace",
            bufsize=1,
            start_new_session=True,
        )
    except OSError as exc:
        raise FCMigrateError(f"Cannot run uv ({argv[0]}): {exc.strerror or exc}.") from None
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        _stop_group(proc)

    timer = threading.Timer(limit, expire)
    timer.daemon = True
    with proc, terminate_as_exit():
        timer.start()
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                line = line.rstrip("\n")
                result.output.append(line)
                if not line.startswith("Using "):
                    # "Using CPython 3.11 interpreter": the one that builds pure-Python
                    # sources, not the target; saying it would only confuse.
                    progress(line)
            result.returncode = proc.wait()
        except BaseException:
            _stop_group(proc)
            raise
        finally:
            timer.cancel()
    return expired.is_set()


def _stop_group(proc: subprocess.Popen[str]) -> None:
    """SIGTERM to ``proc``'s process group, SIGKILL if it is still there after 5 seconds."""
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _installed(target: Path) -> list[str]:
    """``['Flask-3.1.3', ...]`` from the ``*.dist-info`` folders in ``target``."""
    found: list[str] = []
    for info in sorted(target.glob("*.dist-info")):
        try:
            meta = metadata.Distribution.at(info).metadata
        except OSError:
            continue
        if meta["Name"] and meta["Version"]:
            found.append(f"{meta['Name']}-{meta['Version']}")
    return found


def _app_requirement_lines(
    requirements_file: Path | None, requirements: Sequence[str]
) -> list[str]:
    if requirements_file is None:
        return list(requirements)
    from fcmigrate.build.requirements import requirement_lines

    # Strict: uv would fail on these with a message that does not say the fix.
    return requirement_lines(requirements_file, strict=True)


def _freeze_constraints(
    requirements_file: Path | None, args: list[str], workdir: Path
) -> list[str]:
    """Add the freeze kept beside requirements.txt to ``args`` as constraints; its note.

    Its lines for what the build handles itself (gunicorn, servers it leaves out, twins,
    standard-library copies) are left out: those follow :func:`wheels.server_overrides`.
    """
    from fcmigrate.build import wheels
    from fcmigrate.build.freeze import freeze_beside

    freeze = freeze_beside(requirements_file)
    if freeze is None:
        return []
    handled = {"gunicorn", *wheels.DROPPED_SERVERS, *wheels.DROP_IN_TWINS, *wheels.STDLIB_BACKPORTS}
    lines = freeze.read_text(encoding="utf-8").splitlines()
    kept = [line for line in lines if wheels.canonical(line) not in handled]
    constraints = workdir / "fcmigrate-freeze-constraints.txt"
    constraints.write_text("\n".join(kept) + "\n", encoding="utf-8")
    args += ["-c", str(constraints)]
    return [
        f"{freeze.name} pins what requirements.txt installs: applied as constraints (-c), "
        "so the dependencies requirements.txt leaves free come in at the versions the "
        "project was frozen with."
    ]


#: A requirement that is a folder of the project: ``.``, ``./libs/tool``.
_LOCAL_PATH = re.compile(r"\s*(\.{1,2}(?:/\S*)?)\s*(?:#.*)?$")
#: A line naming an index: ``-i URL``, ``--extra-index-url=URL``.
_INDEX_OPTION = re.compile(r"(\s*(?:-i|--index-url|--extra-index-url)(?:\s+|=))(\S+)(.*)")
#: An editable requirement: ``-e .``, ``--editable=git+https://...#egg=name``.
_EDITABLE_OPTION = re.compile(r"\s*(?:-e|--editable)(?:\s+|=)(\S+)")


def _requirement_args(
    requirements_file: Path | None,
    requirements: Sequence[str],
    workdir: Path,
    code_copy: Path | None = None,
    notes: list[str] | None = None,
    indexes: Mapping[str, str | None] | None = None,
) -> list[str]:
    """uv's arguments for the requirements; ``notes`` gets what the build installs
    otherwise than the file says (an editable line, installed as a regular package).
    ``indexes``: index URLs of the files to replace (``None``: to leave out)."""
    if requirements_file is None:
        return [r for r in requirements if _normal(requirement_name(r)) != "fcmigrate"]
    used = _uv_requirements_file(
        requirements_file,
        workdir,
        code_copy,
        notes=notes if notes is not None else [],
        indexes=indexes or {},
    )
    return ["-r", str(used)]


#: Options pip takes at the end of a requirement line and applies to the whole install
#: (``psycopg2 --no-binary psycopg2``, psycopg2's advice from 2018); uv takes them only on a
#: line of their own, and refuses the line otherwise.
_PIP_LINE_OPTION = re.compile(
    r"\s+(--(?:no-binary|only-binary)(?:\s+|=)\S+|--prefer-binary)(?=\s|$)"
)


def _uv_requirements_file(
    file: Path,
    workdir: Path,
    code_copy: Path | None,
    depth: int = 0,
    *,
    notes: list[str],
    indexes: Mapping[str, str | None],
) -> Path:
    """``file`` as uv should read it: the file itself, or a copy in ``workdir`` without
    fcmigrate, with the project's own folders made absolute, editable lines as regular
    requirements (with a note each), the index URLs in ``indexes`` replaced, and pip's
    line options on lines of their own. Included files (``-r``) get the same, each only
    when it needs it."""
    from fcmigrate.build.requirements import editable_as_regular, is_url

    lines = file.read_text(encoding="utf-8", errors="replace").splitlines()
    kept: list[str] = []
    changed = False
    for number, line in enumerate(lines, start=1):
        if _normal(requirement_name(line)) == "fcmigrate":
            changed = True
            continue
        include = _INCLUDE_OPTION.match(line)
        if include and depth < 10 and (file.parent / include.group(2)).is_file():
            nested = file.parent / include.group(2)
            used = _uv_requirements_file(
                nested, workdir, code_copy, depth + 1, notes=notes, indexes=indexes
            )
            if used != nested:
                changed = True
                line = include.group(1) + str(used) + include.group(3)
        # Includes and local wheel folders keep working from their original folder, as
        # pip resolves them relative to the file.
        option = _RELATIVE_OPTION.match(line)
        if option and not os.path.isabs(option.group(2)) and "://" not in option.group(2):
            line = option.group(1) + str(file.parent / option.group(2)) + option.group(3)
        index = _INDEX_OPTION.match(line)
        if index and index.group(2) in indexes:
            changed = True
            replacement = indexes[index.group(2)]
            if replacement is None:
                continue
            line = index.group(1) + replacement + index.group(3)
        editable = _EDITABLE_OPTION.match(line)
        if editable:
            changed = True
            target = editable.group(1)
            notes.append(_editable_note(file, number, target))
            if not is_url(target):
                line = _local_folder(file, number, target, code_copy, editable=True)
            else:
                line = editable_as_regular(target)
        path = _LOCAL_PATH.match(line)
        if path:
            changed = True
            line = _local_folder(file, number, path.group(1), code_copy)
        body = re.sub(r"(^|\s)#.*", "", line).rstrip()
        moved = _PIP_LINE_OPTION.findall(body)
        if moved and not body.lstrip().startswith("-"):
            changed = True
            kept.append(_PIP_LINE_OPTION.sub("", body))
            kept += [option.strip() for option in moved]
            continue
        kept.append(line)
    if not changed:
        return file
    fd, name = tempfile.mkstemp(prefix="requirements-", suffix=".txt", dir=workdir)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write("\n".join(kept) + "\n")
    return Path(name)


def _local_folder(
    file: Path, number: int, folder: str, code_copy: Path | None, *, editable: bool = False
) -> str:
    """The absolute path of a folder a requirements line installs: the project itself
    ('.') or a folder in it, which pip reads from the project's folder (where it runs), is
    built from the build's copy (the project is only read)."""
    if os.path.isabs(folder):
        return folder
    base = file.parent
    if code_copy is not None and (code_copy / folder).exists():
        base = code_copy
    elif editable and not (base / folder).is_dir():
        raise FCMigrateError(
            f"{file.name} line {number}: '-e {folder}' names no folder of the project (looked "
            f"in {str(base / folder)!r}). Write the path of the folder to install, from the "
            "project's folder (-e ./libs/tool), or remove the line."
        )
    return str((base / folder).resolve())


def _editable_note(file: Path, number: int, target: str) -> str:
    return (
        f"{file.name} line {number}: '-e {target}' was installed as a regular (non-editable) "
        "package, since FC's code folder is a copy: an editable install would point at a "
        "folder of this machine."
    )


def copy_fcmigrate(target: Path) -> Path:
    """Copy fcmigrate's runtime (:mod:`fcmigrate.build.runtime_files`, no bytecode) into
    ``target``."""
    from fcmigrate.build.runtime_files import copy_runtime

    return copy_runtime(target)


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
    try:
        uv: str | None = uv_binary()
    except FCMigrateError:
        uv = None
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
