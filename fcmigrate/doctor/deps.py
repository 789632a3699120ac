"""Imports that fail only because a listed dependency is not installed on this machine.

Doctor imports the project with the local Python. A package the project lists in
``requirements.txt`` (or ``pyproject.toml``) but that is not installed here is not a problem
on FC, where ``fcmigrate migrate`` vendors it: such a failure is a note, not a finding. A
module that is neither the project's nor listed stays an error, since FC will miss it too.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from pathlib import Path

from fcmigrate.build.unlisted import DISTRIBUTIONS
from fcmigrate.errors import FCMigrateError

_MISSING = re.compile(r"(?:ModuleNotFoundError|ImportError): No module named '([\w.]+)'")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def normalize(name: str) -> str:
    """A distribution or import name as pip compares them: case and ``-_.`` folded."""
    return re.sub(r"[-_.]+", "_", name).lower()


def requirement_names(folder: Path) -> frozenset[str]:
    """The normalized names the project lists as requirements (none when unreadable)."""
    from fcmigrate.build.facts import read_requirements

    try:
        requirements, _ = read_requirements(folder)
    except FCMigrateError:
        return frozenset()
    names = (_NAME.match(r.strip()) for r in requirements)
    return frozenset(normalize(m.group(0)) for m in names if m)


def missing_module(error: str) -> str | None:
    """The top-level module an import error says is missing: ``flask_sqlalchemy``."""
    match = _MISSING.search(error)
    return match.group(1).split(".")[0] if match else None


def is_listed(module: str, requirements: Collection[str], vendored: Iterable[Path] = ()) -> bool:
    """Whether ``module`` comes from a listed requirement or a vendored folder's package."""
    if any(
        (folder / module).is_dir() or (folder / f"{module}.py").is_file() for folder in vendored
    ):
        return True
    name = normalize(module)
    candidates = {
        name,
        f"py{name}",
        f"python_{name}",
        f"django_{name}",
        f"flask_{name}",
        normalize(DISTRIBUTIONS.get(module, name)),
    }
    if candidates & set(requirements):
        return True
    # A namespace package (google.auth from google-auth) or a distribution named after its
    # framework and the module (scheduler from django-tasks-scheduler).
    return any(r.startswith(f"{name}_") or r.endswith(f"_{name}") for r in requirements)
