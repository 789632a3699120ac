"""Why a requirement could not be installed for the target, and what to do about it.

:func:`explain` turns uv's output into one :class:`FCMigrateError` that names the package,
the reason and the fix: a name the index does not know, a release that needs a newer Python,
an unreachable index, a resolver conflict (condensed to one line), an app pin of gunicorn
below fcmigrate's own, or a package with compiled code and no wheel for the target
(:func:`compiled_error`, with the nearest release that has one, looked up on PyPI).
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from fcmigrate.errors import FCMigrateError

__all__ = [
    "BINARY_TWINS",
    "SERVERS",
    "askers",
    "built_here",
    "compiled_error",
    "compiled_pin",
    "explain",
    "nearest_release",
    "same_series",
    "timeout_error",
    "twins_for_target",
    "unreachable_url",
]

#: Packages whose wheels are published under another name.
BINARY_TWINS = {
    "psycopg2": "psycopg2-binary",
    "pycrypto": "pycryptodome",
    "mysqlclient": "PyMySQL (pure Python; call pymysql.install_as_MySQLdb())",
    "mysql-python": "PyMySQL (pure Python; call pymysql.install_as_MySQLdb())",
    "py-bcrypt": "bcrypt (the same 'bcrypt' module and functions, with wheels)",
}
#: Servers a build does not need: fcmigrate serves the app with its own gunicorn.
SERVERS = frozenset({"uwsgi", "gunicorn", "mod-wsgi", "meinheld", "bjoern", "waitress"})
#: fcmigrate's gunicorn floor, and why it is there.
GUNICORN_WHY = "older releases lack the request-smuggling fixes (CVE-2024-1135, CVE-2024-6827)"
PYPI_JSON = "https://pypi.org/pypi/{name}/json"
LOOKUP_TIMEOUT = 5.0

_BUILD_FAILED = re.compile(r"Failed to (?:download and )?build `([^`=\s]+)==([^`\s]+)`")
_NOT_FOUND = re.compile(
    r"Because ([A-Za-z0-9][A-Za-z0-9._-]*) was not found in the (?:package registry|provided "
    r"package locations)"
)
_NEEDS_PYTHON = re.compile(
    r"([A-Za-z0-9][A-Za-z0-9._-]*)\S* (?:depends? on Python|requires? Python|only supports )"
    r"\s*>=\s*(\d+\.\d+)"
)
#: uv's words when a pinned release needs a newer Python than the target: "the requested
#: Python version (>=3.10) does not satisfy Python>=3.12 and you require django==6.1".
_PINNED_NEEDS_PYTHON = re.compile(
    r"does not satisfy Python\s*>=\s*(\d+\.\d+)(?:\.\d+)? and you require "
    r"([A-Za-z0-9][A-Za-z0-9._-]*)"
)
_FETCH = re.compile(r"Failed to fetch: `?(\S+?)`?$", re.MULTILINE)
_NETWORK = re.compile(
    r"tcp connect error|dns error|Connection refused|timed out|client error \(Connect\)|"
    r"Request failed after|Could not connect|error sending request",
    re.IGNORECASE,
)
_COMPILER = re.compile(
    r"fcmigrate-no-compiler|is not compatible with|compiler|gcc|cc1|Python\.h|"
    r"pg_config|mysql_config|cargo|rustc|meson|cmake",
    re.IGNORECASE,
)


class NeedsNewerPython(FCMigrateError):
    """A requirement has no release for the target Python, only for ``python`` and newer."""

    def __init__(self, message: str, python: str, requirement: str) -> None:
        super().__init__(message)
        self.python = python
        self.requirement = requirement


def _target(python_version: str) -> str:
    return f"CPython {python_version} on manylinux x86_64"


def _name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement.strip())
    return match.group() if match else requirement.strip()


def _parse(output: str) -> tuple[list[str], list[str], list[str]]:
    """uv's ``error:`` lines, ``cause:`` blocks (continuations joined) and ``hint:`` lines."""
    errors: list[str] = []
    causes: list[str] = []
    hints: list[str] = []
    current: list[str] | None = None
    for raw in output.splitlines():
        line = raw.strip()
        cause = re.match(r"(?:cause|Caused by):\s*(.*)", line)
        if raw.startswith("error:"):
            errors.append(raw[len("error:") :].strip())
            current = None
        elif cause:
            causes.append(cause.group(1))
            current = causes
        elif raw.startswith("hint:"):
            hints.append(raw[len("hint:") :].strip())
            current = None
        elif current is causes and raw.startswith("       ") and line:
            causes[-1] += " " + line
        else:
            current = None
    return errors, causes, hints


def explain(
    output: str,
    *,
    python_version: str,
    runtime: str,
    app_requirements: Sequence[str],
    own_requirements: Sequence[str],
) -> FCMigrateError:
    """One error, with the fix, for uv's failed ``output``."""
    errors, causes, hints = _parse(output)
    built = _BUILD_FAILED.search(output)
    if built is not None:
        name, version = built.group(1), built.group(2)
        name = _name(_requirement_for(name, app_requirements) or name)
        flat = re.sub(r"\s+", " ", output)
        if _COMPILER.search(flat) or canonicalize_name(name) in SERVERS | set(BINARY_TWINS):
            return compiled_error(name, version, python_version, runtime)
        return FCMigrateError(
            f"Building {name} {version} from its source distribution failed "
            f"({_build_reason(output)}). Pin a release of {name} that ships a wheel, or "
            "build in a container with 'fcmigrate dockerize'."
        )
    conflict = " ".join(causes)
    if "No solution found" in " ".join(errors):
        return _resolution_error(
            conflict, hints, python_version, app_requirements, own_requirements
        )
    url = unreachable_url(output)
    if url is not None:
        index = url.split("/simple/")[0] + "/simple/" if "/simple/" in url else url
        return FCMigrateError(
            f"The package index {index} cannot be reached ({(causes or errors)[-1]}). Check "
            "the network, or the index URL (-i/--index-url in requirements.txt, "
            "PIP_INDEX_URL or UV_INDEX_URL)."
        )
    mismatch = re.search(r"Hash mismatch for `([^`]+)`", output)
    if mismatch is not None:
        return FCMigrateError(
            f"{mismatch.group(1)} does not match the --hash lines of your requirements: the "
            "hashes are for other files (another release, or another platform's wheel). "
            "Update them (e.g. 'uv pip compile --generate-hashes') and run again."
        )
    reason = "; ".join([*errors, *causes]) or (output.strip().splitlines() or ["uv failed"])[-1]
    return FCMigrateError(
        f"The requirements could not be installed for {_target(python_version)}: {reason}"
    )


def unreachable_url(output: str) -> str | None:
    """The URL uv could not fetch because its host cannot be reached, if that stopped it."""
    fetch = _FETCH.search(output)
    return fetch.group(1) if fetch is not None and _NETWORK.search(output) else None


def _resolution_error(
    conflict: str,
    hints: Sequence[str],
    python_version: str,
    app_requirements: Sequence[str],
    own_requirements: Sequence[str],
) -> FCMigrateError:
    missing = _NOT_FOUND.search(conflict)
    if missing is not None:
        name = missing.group(1)
        asked = _requirement_for(name, app_requirements)
        shown = f"{name!r}" + (f" ({asked!r})" if asked and asked != name else "")
        return FCMigrateError(
            f"No package {shown} on the package index. Check the name in your requirements "
            "(or the index they are installed from)."
        )
    app_gunicorn = _requirement_for("gunicorn", app_requirements)
    own_gunicorn = _requirement_for("gunicorn", own_requirements) or "gunicorn>=23"
    if app_gunicorn and re.search(r"\bgunicorn\b", conflict, re.IGNORECASE):
        return gunicorn_error(app_gunicorn, own_gunicorn)
    said = " ".join([conflict, *hints])
    needs = _NEEDS_PYTHON.findall(said)
    needs += [(name, version) for version, name in _PINNED_NEEDS_PYTHON.findall(said)]
    current = tuple(int(p) for p in python_version.split("."))
    newer = [(n, v) for n, v in needs if tuple(int(p) for p in v.split(".")) > current]
    if newer:
        name = newer[0][0]
        lowest = min((v for n, v in newer if n == name), key=lambda v: [*map(int, v.split("."))])
        asked = _requirement_for(name, app_requirements)
        shown = f"{asked!r}" if asked else repr(name)
        name = _name(asked) if asked else name
        return NeedsNewerPython(
            f"{shown} has no release for Python {python_version}: the releases it allows need "
            f"Python {lowest} or newer. Build for it with --python {lowest} (fcmigrate then "
            "picks custom.debian12, or use a container), or pin an older release of "
            f"{name} in your requirements.",
            lowest,
            asked or name,
        )
    condensed = re.sub(r"\s+", " ", conflict).strip() or "no combination of releases fits"
    return FCMigrateError(
        f"The requirements conflict for {_target(python_version)}: {condensed} Change one of "
        "the pins named there."
    )


#: Servers with compiled code that a build leaves out (fcmigrate serves with gunicorn).
DROPPED_SERVERS = frozenset({"uwsgi", "mod-wsgi", "meinheld", "bjoern"})
#: gunicorn releases from fcmigrate's floor on: an app pin that allows none of them clashes.
_GUNICORN_RELEASES = ("23.0.0", "24.1.1", "25.0.0", "26.0.0", "27.0.1", "28.0.0", "30.0.0")


#: Packages whose binary twin installs the same import name: taken in their place, since
#: the source package needs a compiler and libpq headers on Linux.
DROP_IN_TWINS = {"psycopg2": "psycopg2-binary"}
#: Copies of standard library modules for old Pythons, found in old frozen requirements:
#: every Python a build targets has the module built in, and the copy, installed, would
#: hide it (or does not install at all: wsgiref 0.1.2 and futures are Python 2 code).
STDLIB_BACKPORTS = {
    "wsgiref": "wsgiref",
    "enum34": "enum",
    "futures": "concurrent.futures",
    "dataclasses": "dataclasses",
    "typing": "typing",
}


def canonical(line: str) -> str:
    """The normalized project name a requirement line names (``""`` for an option line)."""
    return canonicalize_name(_name(line)) if line.strip() and line.strip()[0].isalnum() else ""


def all_pinned(requirements: Sequence[str]) -> bool:
    """Whether every requirement is pinned to one version (``name==1.2.3``): a freeze."""
    from packaging.requirements import InvalidRequirement, Requirement

    pinned = 0
    for line in requirements:
        text = line.split(" #")[0].strip()
        if not text or text.startswith(("-", "#")):
            continue
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            return False
        specs = list(requirement.specifier)
        if len(specs) != 1 or specs[0].operator not in ("==", "==="):
            return False
        pinned += 1
    return pinned > 0


def server_overrides(
    app_requirements: Sequence[str], own_requirements: Sequence[str]
) -> tuple[list[str], list[str], list[str]]:
    """uv ``--override`` lines for the app's server pins and drop-in twins, a note for each,
    and the requirements that take a dropped package's place.

    The app pins its server for where it runs today (a Procfile's gunicorn or uwsgi); the
    build never runs it. A gunicorn pin below fcmigrate's floor gives way to the floor, and
    a compiled server the build does not need is left out (an override whose marker is
    never true), instead of failing the build on a package the function never imports.
    """
    from packaging.requirements import InvalidRequirement, Requirement

    overrides: list[str] = []
    notes: list[str] = []
    added: list[str] = []
    own_gunicorn = _requirement_for("gunicorn", own_requirements) or "gunicorn>=23"
    for line in app_requirements:
        try:
            requirement = Requirement(line.split(" #")[0].strip())
        except InvalidRequirement:
            continue
        key = canonicalize_name(requirement.name)
        if key == "gunicorn" and requirement.specifier:
            allowed = any(requirement.specifier.contains(v) for v in _GUNICORN_RELEASES)
            if not allowed and own_gunicorn not in overrides:
                overrides.append(own_gunicorn)
                notes.append(
                    f"Your requirements pin {str(requirement)!r}; the build has {own_gunicorn} "
                    f"instead, the server fcmigrate runs, as {GUNICORN_WHY}. Where the app "
                    "runs outside FC, the pin still applies: raise it there too."
                )
        elif key in DROPPED_SERVERS:
            overrides.append(f'{requirement.name} ; sys_platform == "fcmigrate-never"')
            notes.append(
                f"Left {str(requirement)!r} out of the build: it is a server with compiled "
                "code, and on FC fcmigrate serves the app with gunicorn."
            )
        elif key in STDLIB_BACKPORTS:
            overrides.append(f'{requirement.name} ; sys_platform == "fcmigrate-never"')
            notes.append(
                f"Left {str(requirement)!r} out of the build: it copies the standard library's "
                f"{STDLIB_BACKPORTS[key]} for older Pythons, which the target has built in "
                "(installed, the copy would hide it)."
            )
        elif key == "psycopg" and "c" in requirement.extras:
            # psycopg 3's `c` extra is psycopg-c, built from source; `binary` is its wheels.
            extras = ",".join(sorted({*requirement.extras} - {"c"} | {"binary"}))
            twin = f"psycopg[{extras}]{requirement.specifier}"
            overrides.append('psycopg-c ; sys_platform == "fcmigrate-never"')
            added.append(twin)
            notes.append(
                f"Installed {twin!r} for {str(requirement)!r}: psycopg's prebuilt wheels "
                "(psycopg-binary, libpq inside), where psycopg-c needs a compiler and libpq "
                "headers here."
            )
        elif key in DROP_IN_TWINS:
            twin = f"{DROP_IN_TWINS[key]}{requirement.specifier}"
            overrides.append(f'{requirement.name} ; sys_platform == "fcmigrate-never"')
            added.append(twin)
            notes.append(
                f"Installed {twin!r} for {str(requirement)!r}: the same module as prebuilt "
                f"wheels, where {requirement.name} itself needs a compiler and libpq here."
            )
    return overrides, notes, added


def twins_for_target(
    output: str, added: Sequence[str], python_version: str, runtime: str
) -> tuple[list[str], str] | None:
    """A drop-in twin pinned to a release it lacks for the target, moved to the nearest one.

    ``psycopg2==2.7.3`` becomes ``psycopg2-binary==2.7.3``, but the twin may have no such
    release (its first was 2.7.4) or no wheel of it for the target's Python. The pin was
    the app's choice of the source package, which the build replaced: the twin's nearest
    release with a wheel the target loads (:func:`nearest_release`) keeps it as close as
    can be. The new requirement list and a note, or ``None`` when no twin is to blame or
    PyPI cannot be asked.
    """
    from packaging.requirements import InvalidRequirement, Requirement

    for index, line in enumerate(added):
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        pins = [s.version for s in requirement.specifier if s.operator == "=="]
        if len(pins) != 1 or not _blamed(requirement.name, output):
            continue
        nearest = nearest_release(requirement.name, pins[0], python_version, runtime)
        if nearest is None or nearest == pins[0]:
            continue
        source = next((k for k, v in DROP_IN_TWINS.items() if v == requirement.name), "")
        moved = f"{requirement.name}=={nearest}"
        note = (
            f"Installed {moved!r} for '{source}=={pins[0]}': {requirement.name} has no "
            f"{pins[0]} with a wheel for {_target(python_version)}, and {nearest} is the "
            "nearest release that has one."
        )
        return [*added[:index], moved, *added[index + 1 :]], note
    return None


def _blamed(name: str, output: str) -> bool:
    """Whether uv's failure names the package ``name`` (in any spelling)."""
    key = canonicalize_name(name)
    return any(
        canonicalize_name(word) == key
        for word in re.findall(r"[A-Za-z0-9][A-Za-z0-9._-]*(?=[=<>!~ `:]|$)", output)
    )


def gunicorn_error(app: str, own: str) -> FCMigrateError:
    return FCMigrateError(
        f"Your requirements pin {app!r}, but gunicorn is fcmigrate's requirement: it serves "
        f"the app with {own}, as {GUNICORN_WHY}. Remove the gunicorn line from your "
        "requirements, or allow gunicorn>=23."
    )


def _requirement_for(name: str, requirements: Sequence[str]) -> str | None:
    wanted = canonicalize_name(name)
    for line in requirements:
        if canonicalize_name(_name(line)) == wanted:
            return line.split(";")[0].strip()
    return None


def compiled_pin(output: str, app_requirements: Sequence[str]) -> str | None:
    """The app's own requirement line whose package failed to build for want of a compiler.

    ``None`` when the failure is another one, or the package is only a dependency of one
    the app lists (then something installed needs it).
    """
    built = _BUILD_FAILED.search(output)
    if built is None or not _COMPILER.search(re.sub(r"\s+", " ", output)):
        return None
    return _requirement_for(built.group(1), app_requirements)


def target_environment(python_version: str) -> dict[str, str]:
    """Marker variables of FC's CPython ``python_version`` on Linux x86_64."""
    return {
        "implementation_name": "cpython",
        "implementation_version": f"{python_version}.0",
        "os_name": "posix",
        "platform_machine": "x86_64",
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_system": "Linux",
        "platform_version": "",
        "python_full_version": f"{python_version}.0",
        "python_version": python_version,
        "sys_platform": "linux",
        "extra": "",
    }


def askers(target: Path, name: str, python_version: str) -> tuple[list[str], list[str]]:
    """Which installed packages in ``target`` ask for ``name``: those that need it on the
    target, and those that ask only where the target is not (``astroid: python_version <
    "3.8"``), each as one phrase.

    A requirements file frozen on an older Python or another system lists what was needed
    there: a backport, a Windows-only helper. What only an extra asks for is in neither
    list: whether it is needed depends on what asked for the extra.
    """
    from packaging.requirements import InvalidRequirement, Requirement

    key = canonicalize_name(name)
    environment = target_environment(python_version)
    needing: list[str] = []
    elsewhere: list[str] = []
    for meta in sorted(target.glob("*.dist-info/METADATA")):
        text = meta.read_text(encoding="utf-8", errors="replace")
        owner = re.search(r"^Name:\s*(\S+)", text, re.MULTILINE)
        shown = owner.group(1) if owner else meta.parent.name
        for line in re.findall(r"^Requires-Dist:\s*(.+)$", text, re.MULTILINE):
            try:
                requirement = Requirement(line.strip())
            except InvalidRequirement:
                continue
            if canonicalize_name(requirement.name) != key or "extra" in str(requirement.marker):
                continue
            if requirement.marker is None or requirement.marker.evaluate(environment):
                needing.append(shown)
            else:
                elsewhere.append(f"{shown} asks for it only where {requirement.marker}")
    return needing, elsewhere


def _build_reason(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.startswith("      ")]
    errors = [line for line in lines if "error" in line.lower()]
    return (errors or lines or ["no output"])[-1][:300]


def compiled_error(name: str, version: str, python_version: str, runtime: str) -> FCMigrateError:
    """The package has compiled code and no wheel for the target: say why and the fixes."""
    return compiled_errors([(name, version)], python_version, runtime)


def compiled_errors(
    packages: Sequence[tuple[str, str]], python_version: str, runtime: str
) -> FCMigrateError:
    """:func:`compiled_error` for several packages at once, each with its own fix, so that
    a frozen list with two such pins is fixed in one go."""
    from fcmigrate.build.vendor import RUNTIME_GLIBC

    glibc = RUNTIME_GLIBC.get(runtime)
    where = f"FC's glibc (2.{glibc} on {runtime})" if glibc else "FC's glibc"
    shown = [f"{name} {version}" if version else name for name, version in packages]
    single = len(packages) == 1
    fixes = [
        _compiled_fix(name, version, python_version, runtime, "it" if single else name)
        for name, version in packages
    ]
    if all(fix is None for fix in fixes):
        fix = (
            "build a container image with 'fcmigrate dockerize', or replace "
            f"{'it with a package that ships' if single else 'them with packages that ship'} wheels"
        )
    else:
        named = [
            fix or f"replace {name} with a package that ships wheels"
            for (name, _), fix in zip(packages, fixes, strict=True)
        ]
        fix = "; ".join([*named, "or build a container image with 'fcmigrate dockerize'"])
    subject = f"{shown[0]} has" if single else f"{', '.join(shown[:-1])} and {shown[-1]} have"
    return FCMigrateError(
        f"{subject} no wheel for {_target(python_version)}, only source code to compile: "
        "that would need a C compiler here, and the result may not run on "
        f"{where}. Fix: {fix}."
    )


def _compiled_fix(
    name: str, version: str, python_version: str, runtime: str, called: str
) -> str | None:
    key = canonicalize_name(name)
    if key in SERVERS:
        return (
            f"remove {name} from your requirements: the build does not need a server, "
            "fcmigrate serves the app with its own gunicorn"
        )
    if key in BINARY_TWINS:
        return f"replace {called} with {BINARY_TWINS[key]}"
    nearest = nearest_release(name, version, python_version, runtime) if version else None
    if nearest is not None:
        return f"pin {name}=={nearest}, the nearest release with such a wheel"
    return None


def same_series(old: str, new: str, parts: int) -> bool:
    """Whether releases ``old`` and ``new`` share their first ``parts`` version numbers."""
    try:
        before, after = Version(old).release, Version(new).release
    except InvalidVersion:
        return False
    pad = (0,) * parts
    return (before + pad)[:parts] == (after + pad)[:parts]


def target_tags(python_version: str, runtime: str) -> set[Tag]:
    """Every wheel tag FC's CPython ``python_version`` on ``runtime`` can load."""
    from fcmigrate.build.vendor import wheel_platforms

    version = tuple(int(p) for p in python_version.split("."))
    platforms = [
        *reversed(wheel_platforms(runtime)),
        "manylinux2010_x86_64",
        "manylinux1_x86_64",
    ]
    return {
        *cpython_tags(version, platforms=platforms),
        *compatible_tags(version, platforms=platforms),
    }


def nearest_release(
    name: str, version: str, python_version: str, runtime: str, *, url: str | None = None
) -> str | None:
    """The release of ``name`` nearest to ``version`` with a wheel the target loads.

    The first such release after ``version``, else the last one before it. Asks PyPI's JSON
    API with a short timeout; ``None`` when it cannot be asked (offline, another index).
    """
    if os.environ.get("UV_OFFLINE", "").lower() in ("1", "true") or os.environ.get("UV_NO_INDEX"):
        return None
    address = (url or PYPI_JSON).format(name=canonicalize_name(name))
    try:
        with urllib.request.urlopen(address, timeout=LOOKUP_TIMEOUT) as response:  # noqa: S310
            data = json.load(response)
        releases = data["releases"]
        pinned = Version(version)
    except (OSError, ValueError, KeyError, TypeError, InvalidVersion, urllib.error.URLError):
        return None
    tags = target_tags(python_version, runtime)
    usable: list[Version] = []
    for raw, files in releases.items():
        try:
            release = Version(raw)
        except InvalidVersion:
            continue
        if release.is_prerelease or not isinstance(files, list):
            continue
        if any(_loads(f, tags) for f in files if isinstance(f, dict)):
            usable.append(release)
    later = sorted(v for v in usable if v > pinned)
    if later:
        return str(later[0])
    earlier = sorted(v for v in usable if v < pinned)
    return str(earlier[-1]) if earlier else None


def _loads(file: dict[str, object], tags: set[Tag]) -> bool:
    filename = file.get("filename")
    if file.get("yanked") or not isinstance(filename, str) or not filename.endswith(".whl"):
        return False
    try:
        wheel_tags = parse_wheel_filename(filename)[3]
    except InvalidWheelFilename:
        return False
    return not tags.isdisjoint(wheel_tags)


def built_here(target: Path) -> list[str]:
    """Names of installed packages whose wheel was built for this machine (``linux_*``) with
    compiled code in it.

    A source build whose C extension is optional (SQLAlchemy 1.x, PyYAML) falls back to pure
    Python without a compiler, but its wheel keeps the platform tag: it holds no compiled
    file, so it runs anywhere the target Python does.
    """
    found = []
    for wheel in sorted(target.glob("*.dist-info/WHEEL")):
        text = wheel.read_text(encoding="utf-8", errors="replace")
        tags = re.findall(r"^Tag:\s*\S+-\S+-(\S+)$", text, re.MULTILINE)
        if any(tag.startswith("linux_") for tag in tags) and _has_compiled_files(wheel.parent):
            found.append(wheel.parent.name.split("-")[0])
    return found


def _has_compiled_files(dist_info: Path) -> bool:
    """Whether the distribution's RECORD lists a shared library (``.so``)."""
    record = dist_info / "RECORD"
    if not record.is_file():
        return True  # cannot tell: assume the worst
    for line in record.read_text(encoding="utf-8", errors="replace").splitlines():
        name = line.split(",", 1)[0]
        if name.endswith(".so") or ".so." in name or name.endswith(".pyd"):
            return True
    return False


def timeout_error(output: str, limit: float) -> FCMigrateError:
    """uv ran out of time: say what it was doing, and the two ways out."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    steps = [line for line in lines if not line.startswith("Using ")]
    last = f" (last step: {steps[-1]!r})" if steps else ""
    return FCMigrateError(
        f"Installing the requirements took more than {limit:g} seconds and was stopped{last}. "
        "A resolver this slow is backtracking through many releases: pin the packages in "
        "your requirements more tightly, or allow more time with --resolve-timeout SECONDS "
        "(or FCMIGRATE_RESOLVE_TIMEOUT)."
    )
