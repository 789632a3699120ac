"""Importing the project's Django settings and its WSGI app in a child process.

One child per project, with a timeout, in the project's code folder and the environment FC
gives the function: the deploy config's ``environmentVariables`` plus FC's own variables,
not the shell's (a developer's ``DJANGO_DEBUG=1`` must not decide what FC runs). The child
is :mod:`fcmigrate.doctor._child`, run through :mod:`fcmigrate.build.child`: in its own
session, the whole group killed afterwards, so nothing the project starts at import
outlives the doctor. The code folder is read-only in the child
(:mod:`fcmigrate.build.readonly`), as on FC: the doctor never writes into the project or a
build, and the writes it refused in an import that failed are in
:attr:`ProbeResult.read_only`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from fcmigrate.build.child import run_child
from fcmigrate.deployconfig import FunctionConfig, default_function, fc_environment

#: Seconds the child may take to import the project (cold Django imports take ~1 s).
PROBE_TIMEOUT = 20.0
_SHELL_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TZ", "SYSTEMROOT")


@dataclass
class ProbeResult:
    """``django`` and each ``apps[spec]`` hold ``{"ok": {...}}`` or ``{"error": ...}``."""

    django: dict[str, Any] | None = None
    apps: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Writes under the code folder refused during an import that then failed, in order:
    #: ``{"path": relative path, "event": audit event, "file": source file, "line": n}``.
    read_only: list[dict[str, Any]] = field(default_factory=list)


def probe_environment(code_dir: Path, function: FunctionConfig | None) -> dict[str, str]:
    """The environment FC would give ``function`` (:func:`fcmigrate.deployconfig.fc_environment`),
    with local paths for ``/code`` and only the shell's basics (PATH, HOME, locale)."""
    shell = {name: os.environ[name] for name in _SHELL_ENV if name in os.environ}
    function = function or default_function(code_dir)
    # A value set at deploy time is set on FC: the import sees its placeholder.
    env = fc_environment(function, code_dir, base=shell, keep_unresolved=True)
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # never leave __pycache__ in the user's folder
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_probe(
    code_dir: Path,
    env: Mapping[str, str],
    *,
    django_settings: str | None,
    app_specs: Sequence[str],
    import_paths: Sequence[Path] = (),
    vendored_first: bool = False,
    timeout: float | None = None,
) -> ProbeResult:
    """Import what is asked in one child process; every failure becomes part of the result."""
    if not django_settings and not app_specs:
        return ProbeResult()
    timeout = PROBE_TIMEOUT if timeout is None else timeout
    vendored = code_dir / "python"
    request = {
        "root": str(code_dir),
        "path_front": [*map(str, import_paths), str(code_dir)]
        + ([str(vendored)] if vendored_first and vendored.is_dir() else []),
        # Vendored packages last: wheels built for FC's Python may not load in this one.
        "path_back": [str(vendored)] if vendored.is_dir() and not vendored_first else [],
        "django_settings": django_settings,
        "app_specs": list(app_specs),
    }
    source = resources.files("fcmigrate.doctor").joinpath("_child.py").read_text("utf-8")
    reply = run_child(
        ["-c", source],
        request,
        cwd=code_dir,
        env=env,
        timeout=timeout,
        doing="Importing the project",
        purpose="to import the project",
        read_only=code_dir,
        merge_output=True,
        raise_on_timeout=False,
    )
    return _result(reply.answer, reply.timed_out, timeout, reply.returncode, reply.stdout, request)


def _result(
    raw: dict[str, Any],
    timed_out: bool,
    timeout: float,
    returncode: int | None,
    output: str,
    request: dict[str, Any],
) -> ProbeResult:
    result = ProbeResult(django=raw.get("django"), apps=dict(raw.get("apps") or {}))
    denied = raw.get("read_only")
    if isinstance(denied, list):
        result.read_only = [d for d in denied if isinstance(d, dict) and d.get("path")]
    pending = raw.get("pending")
    if not raw:  # nothing saved: the child failed before its first step
        first = ["django", request["django_settings"]] if request["django_settings"] else None
        pending = first or (["app", request["app_specs"][0]] if request["app_specs"] else None)
    if timed_out:
        failure = f"did not finish importing in {timeout:g} s"
    elif pending is not None:
        tail = output.strip().splitlines()
        failure = f"the import process exited with status {returncode}" + (
            f": {tail[-1][:200]}" if tail else ""
        )
    else:
        return result
    # Only the step that was running failed; the ones after it never ran.
    error = {"error": failure, "file": None, "line": None}
    if pending and pending[0] == "django":
        result.django = error
    elif pending and pending[0] == "app":
        result.apps[pending[1]] = error
    return result
