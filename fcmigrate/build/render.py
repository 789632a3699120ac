"""Rendering the template files in ``fcmigrate/build/templates`` and writing them out safely.

Templates use :class:`string.Template` with ``substitute``: a placeholder without a
value is an error, and a literal ``$`` (shell, Serverless Devs variables) is ``$$``.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

from fcmigrate import __version__
from fcmigrate.errors import FCMigrateError


@dataclass(frozen=True)
class OutputFile:
    """A file to write: its path relative to the output folder, text and mode."""

    path: str
    content: str
    mode: int = 0o644


def template_text(name: str) -> str:
    return (
        resources.files("fcmigrate.build")
        .joinpath("templates")
        .joinpath(name)
        .read_text(encoding="utf-8")
    )


def render(template: str, /, **values: Any) -> str:
    """Render ``template`` with ``values`` (``version`` is always available)."""
    values.setdefault("version", __version__)
    return Template(template_text(template)).substitute(values)


def yaml_scalar(value: str) -> str:
    """A YAML scalar for ``value``: a JSON string is valid YAML and needs no escaping rules."""
    return json.dumps(value, ensure_ascii=False)


def yaml_flow_list(values: Iterable[str]) -> str:
    return "[" + ", ".join(yaml_scalar(v) for v in values) + "]"


def check_writable(out_dir: Path, files: Sequence[OutputFile], force: bool) -> None:
    """Refuse, before anything is written, to overwrite files unless ``force``."""
    if out_dir.exists() and not out_dir.is_dir():
        raise FCMigrateError(f"Output path {str(out_dir)!r} exists and is not a folder.")
    if force:
        return
    existing = [f.path for f in files if (out_dir / f.path).exists()]
    if existing:
        names = ", ".join(repr(p) for p in existing)
        raise FCMigrateError(
            f"Not overwriting {names} in {str(out_dir)!r}. Use --force to replace them."
        )


def write_files(out_dir: Path, files: Sequence[OutputFile], *, force: bool = False) -> list[Path]:
    """Write ``files`` into ``out_dir``: all of them, or none.

    Each file is first written to a temporary name beside its target; only when every
    one is written are they renamed into place, so an error leaves nothing half-written.
    """
    check_writable(out_dir, files, force)
    created_dir = not out_dir.exists()
    staged: list[tuple[str, Path]] = []
    try:
        for f in files:
            target = out_dir / f.path
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
            staged.append((tmp, target))
            # newline="" keeps LF: FC refuses a bootstrap with CRLF line endings.
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
                out.write(f.content)
            os.chmod(tmp, f.mode)
        for tmp, target in staged:
            os.replace(tmp, target)
    except OSError as exc:
        for tmp, _ in staged:
            if os.path.exists(tmp):
                os.unlink(tmp)
        if created_dir and out_dir.exists() and not any(out_dir.iterdir()):
            out_dir.rmdir()
        raise FCMigrateError(
            f"Could not write to {str(out_dir)!r}: {exc.strerror or exc}."
        ) from exc
    return [target for _, target in staged]
