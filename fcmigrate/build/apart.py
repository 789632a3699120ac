"""Two installed packages whose releases are years apart: one uses a name the other has
since removed.

An app that pins ``Flask==2.0.1`` and leaves Werkzeug free gets today's Werkzeug, from
which ``werkzeug.urls.url_quote`` is gone: Flask fails at import with ``ImportError: cannot
import name 'url_quote' from 'werkzeug.urls'``. The same happens with pip on any machine;
the target Python has nothing to do with it. Flask-SQLAlchemy 2.5 with SQLAlchemy 2 fails the
same way with ``AttributeError: module 'sqlalchemy' has no attribute '__all__'``.
:func:`apart_error` says so, and names the
fix: the dependency's last release before the pinned package came out, looked up on PyPI
(upload times), or a newer release of the pinned package.

Imported by the import check's parent only, never by its child.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import urllib.error
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from fcmigrate.errors import AppImportError

__all__ = [
    "ApartError",
    "NotYetError",
    "TooNewError",
    "apart_error",
    "latest_of",
    "missing_name",
    "newest_patch",
    "project_date",
    "release_as_of",
    "release_before",
]


class ApartError(AppImportError):
    """:func:`apart_error`'s error: ``importer`` (name, version) uses a name that the
    installed release of ``provider`` no longer has."""

    def __init__(self, message: str, importer: tuple[str, str], provider: tuple[str, str]):
        super().__init__(message)
        self.importer = importer
        self.provider = provider


class TooNewError(AppImportError):
    """The app's own code imports ``name`` from ``module``, which the installed ``provider``
    (name, version), listed in the requirements without a version, no longer has."""

    def __init__(self, message: str, provider: tuple[str, str], name: str, module: str):
        super().__init__(message)
        self.provider = provider
        self.name = name
        self.module = module


def project_date(root: Path) -> datetime | None:
    """When the project in ``root`` last changed: the time of the last Git commit that
    touched it, else the newest modification time of its files (a release archive or a zip
    download keeps the commit's). ``None`` when neither can be read."""
    try:
        reply = subprocess.run(
            ["git", "-C", str(root), "log", "-1", "--format=%ct", "--", "."],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        if reply.returncode == 0 and reply.stdout.strip().isdigit():
            return datetime.fromtimestamp(int(reply.stdout.strip()), timezone.utc)
    except (OSError, subprocess.SubprocessError):
        pass
    newest = 0.0
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in _NOT_THE_PROJECT]
        for name in files:
            if name.endswith(_SOURCE_SUFFIXES):
                try:
                    newest = max(newest, os.stat(os.path.join(folder, name)).st_mtime)
                except OSError:
                    continue
    return datetime.fromtimestamp(newest, timezone.utc) if newest else None


#: Folders of a project that are not its own code (environments, caches, front-end packages).
_NOT_THE_PROJECT = frozenset({"node_modules", "venv", "env", "__pycache__", "site-packages"})
_SOURCE_SUFFIXES = (".py", ".txt", ".toml", ".cfg", ".html", ".lock", ".in")


_CANNOT_IMPORT = re.compile(r"cannot import name '(\w+)' from '([\w.]+)'")
_NO_ATTRIBUTE = re.compile(r"module '([\w.]+)' has no attribute '(\w+)'")


def missing_name(message: str, error_class: str = "builtins.ImportError") -> tuple[str, str] | None:
    """``(name, module)`` of ``ImportError: cannot import name 'x' from 'pkg.mod'`` or
    ``AttributeError: module 'pkg.mod' has no attribute 'x'``."""
    if error_class == "builtins.ImportError":
        match = _CANNOT_IMPORT.search(message)
        return (match.group(1), match.group(2)) if match else None
    if error_class == "builtins.AttributeError":
        match = _NO_ATTRIBUTE.search(message)
        return (match.group(2), match.group(1)) if match else None
    return None


def apart_error(
    spec: str,
    importer: tuple[str, str],
    provider: tuple[str, str],
    name: str,
    module: str,
) -> AppImportError:
    """The one-line error for ``importer`` (name, version) importing ``name`` from
    ``module``, which the installed ``provider`` (name, version) no longer has, or, when the
    importer's release is the newer of the two (the provider held back by the requirements,
    the importer left free), does not have yet."""
    who, when = importer
    dep, dep_version = provider
    if _newer(importer, provider):
        # The importer is the newer one: the release to hold back, if the app leaves it free.
        return _not_yet_error(spec, importer, provider, name, module)
    last = release_before(dep, who, when)
    pin = (
        f"pin {dep}=={last} (its last release before {who} {when} came out)"
        if last
        else f"pin {dep} to a release from before {who} {when} came out"
    )
    return ApartError(
        f"Importing {spec!r} failed inside the installed package '{who} {when}' (traceback "
        f"above): it uses {name!r} from {module!r}, which {dep} {dep_version}, the release "
        f"installed, no longer has. Your requirements hold {who} at {when} but let {dep} move "
        f"on to today's release, as pip would anywhere. Fix: {pin} in your requirements, or "
        f"move {who} to a release that works with {dep} {dep_version}; and run again.",
        importer,
        provider,
    )


def _newer(first: tuple[str, str], second: tuple[str, str]) -> bool:
    """Whether ``first`` (name, version) came out after ``second``, by PyPI's upload times;
    ``False`` when PyPI cannot say."""
    if _offline():
        return False
    times = []
    for name, version in (first, second):
        releases = _releases(name)
        times.append(_first_upload(releases.get(version)) if releases is not None else None)
    return times[0] is not None and times[1] is not None and times[0] > times[1]


class NotYetError(AppImportError):
    """:func:`apart_error`'s error when the importer is the newer one: ``importer`` (name,
    version) uses a name the installed ``provider`` does not have yet; ``last`` is the
    importer's last release before the provider's next series came out (``following``)."""

    def __init__(
        self,
        message: str,
        importer: tuple[str, str],
        provider: tuple[str, str],
        last: str | None,
        following: str | None,
    ):
        super().__init__(message)
        self.importer = importer
        self.provider = provider
        self.last = last
        self.following = following


def _not_yet_error(
    spec: str, importer: tuple[str, str], provider: tuple[str, str], name: str, module: str
) -> NotYetError:
    """sorl-thumbnail 13.4.0, left free, with Django held at 2.0.13: the importer is the
    one to hold back, to its last release before the provider's next series came out."""
    who, when = importer
    dep, dep_version = provider
    following = _next_series(dep, dep_version)
    last = release_before(who, dep, following) if following else None
    if last:
        pin = f"pin {who}=={last} (its last release before {dep} {following} came out)"
    elif following:
        pin = f"pin {who} to a release from before {dep} {following} came out"
    else:
        pin = f"pin {who} to a release from the time of {dep} {dep_version}"
    return NotYetError(
        f"Importing {spec!r} failed inside the installed package '{who} {when}' (traceback "
        f"above): it uses {name!r} from {module!r}, which {dep} {dep_version}, the release "
        f"installed, does not have yet. Your requirements hold {dep} at {dep_version} but let "
        f"{who} move on to today's release, as pip would anywhere. Fix: {pin} in your "
        f"requirements, or move {dep} to a release that {who} {when} works with; and run "
        "again.",
        importer,
        provider,
        last,
        following,
    )


def _next_series(name: str, version: str) -> str | None:
    """The first final release of ``name`` in a newer major.minor series than ``version``
    (2.0.13 -> 2.1)."""
    releases = _releases(name)
    try:
        current = Version(version)
    except InvalidVersion:
        return None
    later: list[Version] = []
    for raw in releases or {}:
        try:
            candidate = Version(raw)
        except InvalidVersion:
            continue
        if not candidate.is_prerelease and candidate.release[:2] > current.release[:2]:
            later.append(candidate)
    return str(min(later)) if later else None


def _offline() -> bool:
    return os.environ.get("UV_OFFLINE", "").lower() in ("1", "true") or bool(
        os.environ.get("UV_NO_INDEX")
    )


def release_before(name: str, other: str, other_version: str) -> str | None:
    """The newest final release of ``name`` uploaded before ``other`` ``other_version``.

    Asks PyPI's JSON API (:data:`fcmigrate.build.wheels.PYPI_JSON`) with a short timeout;
    ``None`` when it cannot be asked or has no answer.
    """
    return release_as_of(name, latest_of({other: other_version}))


def latest_of(pins: dict[str, str]) -> datetime | None:
    """When the newest of ``pins`` (name -> version) came out, or ``None`` if PyPI cannot
    say for one of them."""
    from concurrent.futures import ThreadPoolExecutor

    if not pins or _offline():
        return None
    names = sorted(pins)
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(_releases, names))
    moments = [
        _first_upload(releases.get(pins[name])) if releases else None
        for name, releases in zip(names, answers, strict=True)
    ]
    if not moments or any(moment is None for moment in moments):
        return None
    return max(moment for moment in moments if moment is not None)


def release_as_of(name: str, came_out: datetime | None) -> str | None:
    """The newest final release of ``name`` uploaded before ``came_out``."""
    if came_out is None or _offline():
        return None
    releases = _releases(name)
    if releases is None:
        return None
    before: list[Version] = []
    for raw, files in releases.items():
        try:
            version = Version(raw)
        except InvalidVersion:
            continue
        uploaded = _first_upload(files)
        if not version.is_prerelease and uploaded is not None and uploaded < came_out:
            before.append(version)
    return str(max(before)) if before else None


def newest_patch(name: str, version: str) -> str:
    """The newest final release of ``name`` in the series of ``version`` (2.8 -> 2.8.1):
    the same API, with the fixes that later Pythons needed. ``version`` when PyPI cannot
    say."""
    releases = None if _offline() else _releases(name)
    try:
        series = Version(version).release[:2]
    except InvalidVersion:
        return version
    found = [Version(version)]
    for raw in releases or {}:
        try:
            candidate = Version(raw)
        except InvalidVersion:
            continue
        if not candidate.is_prerelease and candidate.release[:2] == series:
            found.append(candidate)
    return str(max(found))


def _releases(name: str) -> dict[str, object] | None:
    from fcmigrate.build import wheels

    address = wheels.PYPI_JSON.format(name=canonicalize_name(name))
    try:
        with urllib.request.urlopen(address, timeout=wheels.LOOKUP_TIMEOUT) as response:  # noqa: S310
            releases = json.load(response)["releases"]
    except (OSError, ValueError, KeyError, TypeError, urllib.error.URLError):
        return None
    return releases if isinstance(releases, dict) else None


def _first_upload(files: object) -> datetime | None:
    if not isinstance(files, list):
        return None
    times = []
    for file in files:
        if isinstance(file, dict) and not file.get("yanked"):
            stamp = file.get("upload_time_iso_8601") or file.get("upload_time")
            try:
                moment = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
            except ValueError:
                continue
            times.append(moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc))
    return min(times) if times else None
