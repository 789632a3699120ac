"""What a project folder says about itself, besides its app: dependencies and Python version.

Read from its files, never by running them:

Dependencies
    ``requirements.txt`` (with its ``-r`` includes), ``uv.lock``, ``Pipfile.lock``, or
    ``pyproject.toml`` (PEP 621 or Poetry): :mod:`fcmigrate.build.requirements`.
    :func:`requirement_providing` says which requirement installs a module that is not in
    the project (``httpbin:app`` with ``httpbin`` in requirements.txt).
Python version
    ``.python-version`` (``3.10`` or ``3.10.13``), else the lowest of 3.10-3.13 that
    ``requires-python`` in ``pyproject.toml`` (or Poetry's ``python`` dependency) allows,
    else the Python that mise's ``mise.toml`` or asdf's ``.tool-versions`` pins, else a
    Heroku ``runtime.txt``.

The app itself, and the Django settings module it runs with, are found by
:mod:`fcmigrate.build.detect`, which puts these facts into its :class:`Detected`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fcmigrate.errors import FCMigrateError

__all__ = [
    "SUPPORTED_PYTHONS",
    "lowest_allowed",
    "python_from_markers",
    "read_python_version",
    "read_requirements",
    "read_text",
    "requirement_providing",
]

_PYTHON_VERSION_LINE = re.compile(r"(?:cpython-|python)?(\d+)\.(\d+)(?:\.\d+)?\S*")
_SPECIFIER = re.compile(r"\s*(===|~=|==|!=|<=|>=|<|>)\s*([0-9][0-9a-zA-Z.*+!-]*)\s*")
#: Python versions fcmigrate can build for; requires-python picks the lowest it allows.
SUPPORTED_PYTHONS = ("3.10", "3.11", "3.12", "3.13")


def read_text(file: Path) -> str:
    """The text of a project file; a clear error when it cannot be read."""
    try:
        return file.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise FCMigrateError(
            f"Cannot read {str(file)!r}: {exc.strerror or exc}. "
            f"Make it readable (chmod u+r {str(file)!r})."
        ) from None


def read_requirements(root: Path) -> tuple[list[str], Path | None]:
    """Requirement strings, and the requirements file they came from (``None``: another list).

    See :mod:`fcmigrate.build.requirements` for the lists read, in order.
    """
    from fcmigrate.build.requirements import read_requirements as read

    return read(root)


def _pyproject(root: Path) -> dict[str, Any]:
    from fcmigrate.build.requirements import read_toml

    return read_toml(root / "pyproject.toml")


def read_python_version(root: Path) -> tuple[str | None, str | None]:
    """``('X.Y', where it came from)`` from ``.python-version`` or ``requires-python``."""
    file = root / ".python-version"
    if file.is_file():
        for raw in read_text(file).splitlines():
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            match = _PYTHON_VERSION_LINE.fullmatch(line)
            if match:
                return f"{match.group(1)}.{match.group(2)}", ".python-version"
            break
    pyproject = _pyproject(root)
    project = pyproject.get("project")
    requires = project.get("requires-python") if isinstance(project, dict) else None
    if isinstance(requires, str) and requires.strip():
        version = lowest_allowed(requires)
        if version is not None:
            return version, f"requires-python {requires.strip()!r} in pyproject.toml"
    tool = pyproject.get("tool")
    poetry = tool.get("poetry") if isinstance(tool, dict) else None
    dependencies = poetry.get("dependencies") if isinstance(poetry, dict) else None
    python = dependencies.get("python") if isinstance(dependencies, dict) else None
    if isinstance(python, str) and python.strip():
        from fcmigrate.build.requirements import poetry_constraint

        version = lowest_allowed(poetry_constraint(python))
        if version is not None:
            return version, f"python {python.strip()!r} in pyproject.toml [tool.poetry]"
    pinned = _version_manager_pin(root)
    return pinned if pinned[0] is not None else _runtime_txt(root)


def _version_manager_pin(root: Path) -> tuple[str | None, str | None]:
    """The Python a version manager's file pins: ``python = "3.11"`` under ``[tools]`` in
    mise's ``mise.toml`` (or ``.mise.toml``), or the first version of the ``python`` line of
    asdf's ``.tool-versions``; the first of a list. Only one fcmigrate builds for counts."""
    from fcmigrate.build.requirements import read_toml

    for name in ("mise.toml", ".mise.toml"):
        try:
            tools = read_toml(root / name).get("tools")
        except FCMigrateError:
            continue  # not the app's to fix for us: passed over
        value = tools.get("python") if isinstance(tools, dict) else None
        if isinstance(value, list):
            value = value[0] if value else None
        if isinstance(value, dict):
            value = value.get("version")
        version = _supported_minor(str(value)) if value is not None else None
        if version is not None:
            return version, f"python {value!r} in {name} [tools]"
    file = root / ".tool-versions"
    if file.is_file():
        for raw in read_text(file).splitlines():
            words = raw.split("#", 1)[0].split()
            if len(words) >= 2 and words[0] == "python":
                version = _supported_minor(words[1])
                if version is not None:
                    return version, ".tool-versions"
    return None, None


def _supported_minor(text: str) -> str | None:
    match = re.fullmatch(r"\s*(3)\.(\d+)(?:\.\d+)?\s*", text)
    version = f"3.{match.group(2)}" if match else None
    return version if version in SUPPORTED_PYTHONS else None


def _runtime_txt(root: Path) -> tuple[str | None, str | None]:
    """Heroku's ``runtime.txt`` (``python-3.12.4``), when it names a Python fcmigrate builds
    for: an older one there is where the app ran, not what it needs."""
    file = root / "runtime.txt"
    if file.is_file():
        match = re.fullmatch(r"\s*python-(3)\.(\d+)(?:\.\d+)?\s*", read_text(file))
        if match and f"3.{match.group(2)}" in SUPPORTED_PYTHONS:
            return f"3.{match.group(2)}", "runtime.txt"
    return None, None


def lowest_allowed(requires_python: str) -> str | None:
    """The lowest of :data:`SUPPORTED_PYTHONS` the specifier allows.

    When it allows none of them, the allowed version nearest to them (the highest below,
    else the lowest above), so that an error can name it; ``None`` if it allows no 3.x.
    """

    def allowed(minor: int) -> bool:
        # A minor version is allowed when some patch release of it is.
        return any(_allows(requires_python, (3, minor, patch)) for patch in range(100))

    supported = [int(v.split(".")[1]) for v in SUPPORTED_PYTHONS]
    for minor in [*supported, *range(supported[0] - 1, -1, -1), *range(supported[-1] + 1, 40)]:
        if allowed(minor):
            return f"3.{minor}"
    return None


def _allows(specifier: str, version: tuple[int, int, int]) -> bool:
    for clause in filter(None, (c.strip() for c in specifier.split(","))):
        match = _SPECIFIER.fullmatch(clause)
        if match is None:
            return True  # not ours to judge; pip will
        op, text = match.groups()
        wildcard = text.endswith(".*")
        parts = tuple(int(p) for p in re.findall(r"\d+", text.removesuffix(".*"))[:3])
        if not _compare(op, version, parts, wildcard):
            return False
    return True


def _compare(op: str, version: tuple[int, ...], parts: tuple[int, ...], wildcard: bool) -> bool:
    if wildcard or op == "~=":
        prefix = parts if wildcard else parts[:-1]
        same = version[: len(prefix)] == prefix
        if op == "!=":
            return not same
        if op == "~=":
            return same and version >= parts + (0,) * (3 - len(parts))
        return same
    padded = parts + (0,) * (3 - len(parts))
    return {
        "==": version == padded,
        "===": version == padded,
        "!=": version != padded,
        ">=": version >= padded,
        "<=": version <= padded,
        ">": version > padded,
        "<": version < padded,
    }[op]


def requirement_providing(module: str, requirements: Sequence[str]) -> str | None:
    """The name of the requirement that installs ``module``'s top-level package, if one does.

    An app may be an installed package rather than a module of the project (``httpbin:app``
    with ``httpbin`` in requirements.txt). A requirement provides the module when its
    distribution name is the module's name (compared as PEP 503 names, so ``Flask-Cors``
    provides ``flask_cors``), or when that distribution is installed here and its metadata
    says it provides the module (``PyYAML`` provides ``yaml``). Nothing is imported.
    """
    # Imported here: packaging is needed only when an app is not in the project.
    from importlib import metadata

    from packaging.utils import canonicalize_name

    top = module.partition(".")[0]
    wanted = {canonicalize_name(top)}
    wanted.update(canonicalize_name(d) for d in metadata.packages_distributions().get(top, []))
    for line in requirements:
        name = _requirement_name(line)
        if name is not None and canonicalize_name(name) in wanted:
            return name
    return None


def _requirement_name(line: str) -> str | None:
    """The distribution a requirement line installs: ``name[extra]>=1``, ``name @ URL``, a
    VCS URL with ``#egg=name``, or a path or URL of a wheel or source archive."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import (
        InvalidSdistFilename,
        InvalidWheelFilename,
        parse_sdist_filename,
        parse_wheel_filename,
    )

    try:
        return Requirement(line).name
    except InvalidRequirement:
        pass
    egg = re.search(r"[#&]egg=([A-Za-z0-9][A-Za-z0-9._-]*)", line)
    if egg:
        return egg.group(1)
    file = line.split(";")[0].strip().rstrip("/").rpartition("/")[2]
    try:
        return str(parse_wheel_filename(file)[0])
    except InvalidWheelFilename:
        pass
    try:
        return str(parse_sdist_filename(file)[0])
    except InvalidSdistFilename:
        return None


def python_from_markers(requirements: Sequence[str]) -> tuple[str, str] | None:
    """The lowest supported Python for which every package of ``requirements`` is installed,
    judged by their environment markers, and the line that raises it there; ``None`` when
    the lowest supported Python already has them all, or no Python does.

    ``Django==6.0.5; python_version >= "3.12"`` and nothing else naming Django means the
    app has Django only from Python 3.12 on: a build for an older Python would lack it. A
    package with a line for older Pythons too (a lock's ``numpy==2.2.6; python_version <
    "3.11"`` beside ``numpy==2.3.1; python_version >= "3.11"``) sets no floor, and one no
    supported Python installs (a backport for Python 2, a Windows-only package) is left out.
    """
    from packaging.markers import default_environment
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    lines: dict[str, list[tuple[str, set[str]]]] = {}
    for line in requirements:
        text = line.split(" #")[0].strip()
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            continue
        versions = set(SUPPORTED_PYTHONS)
        if requirement.marker is not None:
            environment = {str(k): str(v) for k, v in default_environment().items()}
            environment.update(sys_platform="linux", platform_system="Linux")
            versions = {
                v
                for v in SUPPORTED_PYTHONS
                if requirement.marker.evaluate(
                    {**environment, "python_version": v, "python_full_version": f"{v}.0"}
                )
            }
        lines.setdefault(canonicalize_name(requirement.name), []).append((text, versions))
    lowest = SUPPORTED_PYTHONS[0]
    for version in SUPPORTED_PYTHONS:
        missing = [
            entries
            for entries in lines.values()
            if any(v for _, v in entries) and not any(version in v for _, v in entries)
        ]
        if not missing:
            if version == lowest:
                return None
            raising = [
                text
                for entries in lines.values()
                if not any(lowest in v for _, v in entries)
                for text, versions in entries
                if version in versions
            ]
            return version, raising[0]
    return None
