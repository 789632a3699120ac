"""Running code in a child interpreter and reading its answer: one protocol for all.

The import check (:mod:`fcmigrate.build.importcheck`), collectstatic
(:mod:`fcmigrate.build.collectstatic`) and the doctor's import probe
(:mod:`fcmigrate.doctor.probe`) run the project's code in a child process, because that code
may fail, hang, exit or write. They all speak the same way:

* The parent writes the **request** as a JSON object to a file and starts
  ``python -B [-s -S] PROGRAM REQUEST_FILE ANSWER_FILE``, ``PROGRAM`` being
  ``-m module`` or ``-c source``. ``-B``: no ``__pycache__`` in the user's folder;
  ``-s -S`` (``isolated``): no site-packages, as a bare interpreter on FC.
* The child reads ``sys.argv[1]`` and writes its **answer**, a JSON object, to
  ``sys.argv[2]``. It may rewrite the answer before each step, so that a step that crashes
  or hangs leaves the earlier ones, and the name of the one that was running, readable.
* The child runs in the working folder and environment the parent names (``PYTHONHOME``
  removed, bytecode writes and output buffering off), in its own session: the whole process
  group is killed when it ends, so nothing the project starts at import outlives it.
* With ``read_only``, the request carries ``"read_only"`` (the folder) and ``"guard"`` (the
  file of :mod:`fcmigrate.build.readonly`); the child installs the guard before it runs the
  project's code, with :func:`install_guard` or by loading that file itself.

:func:`run_child` returns a :class:`Reply`; a child that cannot be started, or does not
finish in time, is one :class:`FCMigrateError` line naming what it was doing.
:meth:`Reply.failure` says in a few words why a child that ran left no usable answer.

The child's side (:func:`read_request`, :func:`write_answer`, :func:`install_guard`) needs
only the standard library, so a program run with ``-m`` can use it before it imports the
project. A ``-c`` program that must not import fcmigrate at all reads and writes the two
files itself: that is the whole protocol.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from fcmigrate.errors import FCMigrateError

__all__ = [
    "ChildTimeout",
    "Reply",
    "install_guard",
    "read_request",
    "run_child",
    "write_answer",
]

#: Exit status of a child that could not write its answer file.
ANSWER_UNWRITABLE = 70


class ChildTimeout(FCMigrateError):
    """The child did not finish in time (it and its process group were killed)."""


@dataclass(frozen=True)
class Reply:
    """What a child left: its answer and how it ended.

    ``answer`` is the JSON object of the answer file, ``{}`` when there is none or it is
    not a JSON object (``garbled``). ``returncode`` is ``None`` for a child that was
    killed at its timeout (``timed_out``, only with ``raise_on_timeout=False``).
    ``stdout`` holds both streams when they were merged.
    """

    answer: dict[str, Any]
    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool = False
    garbled: bool = False

    def failure(self) -> str | None:
        """Why the child left no usable answer, in a few words; ``None`` when it did."""
        if self.timed_out:
            return "it did not finish in time"
        if self.garbled:
            return "it left an answer that is not a JSON object"
        if self.returncode == ANSWER_UNWRITABLE:
            return "it could not write its answer" + _last_line(self.stderr or self.stdout, ": ")
        if self.returncode != 0:
            return f"it exited with status {self.returncode}" + _last_line(
                self.stderr or self.stdout, ": "
            )
        if not self.answer:
            return "it exited without an answer"
        return None


def _last_line(text: str, prefix: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return f"{prefix}{lines[-1][:200]}" if lines else ""


def run_child(
    program: Sequence[str],
    request: Mapping[str, Any],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float,
    doing: str,
    purpose: str,
    slow_advice: str = "",
    python: str | None = None,
    isolated: bool = False,
    pythonpath: Sequence[str | Path] | None = None,
    read_only: Path | None = None,
    merge_output: bool = False,
    raise_on_timeout: bool = True,
) -> Reply:
    """Run ``program`` (``["-m", module]`` or ``["-c", source]``) on ``request``.

    ``python`` (default: this interpreter) runs in ``cwd`` with ``env``. ``pythonpath`` is
    put in front of the environment's ``PYTHONPATH``, or replaces it when ``isolated``;
    ``None`` leaves it alone. ``read_only`` asks the child to guard that folder.

    Raises :class:`FCMigrateError` when ``python`` cannot be started
    (``"Cannot run 'python3.12' {purpose}: ..."``) and :class:`ChildTimeout` when it runs
    longer than ``timeout`` seconds (``"{doing} did not finish within N s. {slow_advice}"``)
    unless ``raise_on_timeout`` is false, when the reply says ``timed_out``.
    """
    interpreter = python or sys.executable
    child_env = dict(env)
    child_env.pop("PYTHONHOME", None)
    child_env["PYTHONDONTWRITEBYTECODE"] = "1"
    child_env["PYTHONUNBUFFERED"] = "1"
    if pythonpath is not None:
        paths = [str(Path(p)) for p in pythonpath]
        if not isolated:
            paths.append(child_env.get("PYTHONPATH", ""))
        child_env["PYTHONPATH"] = os.pathsep.join(paths).rstrip(os.pathsep)
    sent = dict(request)
    if read_only is not None:
        sent["read_only"] = str(read_only)
        sent["guard"] = str(resources.files("fcmigrate.build").joinpath("readonly.py"))
    flags = ["-B", "-s", "-S"] if isolated else ["-B"]
    with tempfile.TemporaryDirectory(prefix="fcmigrate-child-") as tmp:
        request_file = Path(tmp, "request.json")
        answer_file = Path(tmp, "answer.json")
        request_file.write_text(json.dumps(sent), encoding="utf-8")
        argv = [interpreter, *flags, *program, str(request_file), str(answer_file)]
        try:
            proc = subprocess.Popen(
                argv,
                cwd=cwd,
                env=child_env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT if merge_output else subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as exc:
            raise FCMigrateError(
                f"Cannot run {interpreter!r} {purpose}: {exc.strerror or exc}."
            ) from None
        timed_out = False
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc)
            out, err = proc.communicate()
        finally:
            _kill_group(proc)
            if proc.poll() is None:  # interrupted (SIGTERM, Ctrl-C): do not leave it behind
                proc.kill()
                proc.wait()
        answer, garbled = _read_answer(answer_file)
    if timed_out and raise_on_timeout:
        raise ChildTimeout(f"{doing} did not finish within {timeout:.0f} s. {slow_advice}".rstrip())
    return Reply(
        answer=answer,
        returncode=None if timed_out else proc.returncode,
        stdout=(out or b"").decode("utf-8", "replace"),
        stderr=(err or b"").decode("utf-8", "replace"),
        timed_out=timed_out,
        garbled=garbled,
    )


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    if hasattr(os, "killpg"):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    elif proc.poll() is None:  # pragma: no cover - Windows
        proc.kill()


def _read_answer(file: Path) -> tuple[dict[str, Any], bool]:
    """The answer's JSON object, and whether a file was there that held none."""
    try:
        text = file.read_text(encoding="utf-8")
    except OSError:
        return {}, False
    try:
        data = json.loads(text)
    except ValueError:
        return {}, True
    return (data, False) if isinstance(data, dict) else ({}, True)


# --- the child's side ---------------------------------------------------------------------


def read_request() -> dict[str, Any]:
    """The request the parent sent (``sys.argv[1]``)."""
    with open(sys.argv[1], encoding="utf-8") as file:
        data = json.load(file)
    if not isinstance(data, dict):
        raise ValueError(f"the request in {sys.argv[1]} is not a JSON object")
    return data


def write_answer(answer: Mapping[str, Any]) -> None:
    """Write (or rewrite) the answer (``sys.argv[2]``); exit with :data:`ANSWER_UNWRITABLE`
    and one line on stderr when that is not possible."""
    try:
        with open(sys.argv[2], "w", encoding="utf-8") as file:
            json.dump(answer, file)
    except OSError as exc:
        sys.stderr.write(f"Cannot write the answer to {sys.argv[2]!r}: {exc.strerror or exc}\n")
        sys.stderr.flush()
        os._exit(ANSWER_UNWRITABLE)


def install_guard(request: Mapping[str, Any]) -> Any:
    """Make the folder the request names read-only in this process; the guard, or ``None``.

    The guard module is loaded from the file the request names, so nothing of fcmigrate
    is imported for it.
    """
    root, module_file = request.get("read_only"), request.get("guard")
    if not root or not module_file:
        return None
    import importlib.util

    spec = importlib.util.spec_from_file_location("_fcmigrate_readonly", module_file)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {module_file}")
    module = importlib.util.module_from_spec(spec)
    # dataclasses looks the module up by name while it builds the classes.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.guard(root)
