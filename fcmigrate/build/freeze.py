"""A ``pip freeze`` kept beside ``requirements.txt`` to hold what it installs.

Some projects list their direct dependencies in ``requirements.txt`` and keep the versions
of everything they install in a freeze beside it (``requirements-lock.txt``,
``constraints.txt``), which their own install applies as constraints (``pip install -r
requirements.txt -c requirements-lock.txt``). Without it, the build would take today's
release of every dependency the requirements leave free: celery 5.4 with a kombu that
needs a newer redis than the one pinned. :func:`freeze_beside` finds such a file; the build
passes it to uv as ``-c``.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["FREEZE_NAMES", "freeze_beside"]

#: Names of a freeze kept beside requirements.txt, in the order they are looked for.
FREEZE_NAMES = ("requirements-lock.txt", "constraints.txt")
#: A line of ``pip freeze``: ``name==version``, perhaps with a marker or a comment.
_PINNED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(\[[^\]]*\])?\s*==\s*[^\s;#]+\s*(;[^#]*)?(#.*)?")


def freeze_beside(requirements_file: Path | None) -> Path | None:
    """The freeze beside ``requirements_file`` (``requirements.txt``), if there is one: a
    file of the names above whose every line is a pin, a comment or blank."""
    if requirements_file is None or requirements_file.name != "requirements.txt":
        return None
    for name in FREEZE_NAMES:
        candidate = requirements_file.parent / name
        try:
            lines = candidate.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            continue
        pins = [
            line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")
        ]
        if pins and all(_PINNED.fullmatch(line) for line in pins):
            return candidate
    return None
