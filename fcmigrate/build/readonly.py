"""The code folder is read-only on FC: make it so for an import run on this machine.

On Function Compute only ``/tmp`` is writable; ``/code``, where the package is unpacked,
raises ``OSError: [Errno 30] Read-only file system`` on any write. A check that imports the
app here usually runs as a user who may write everywhere, so file permissions cannot play
FC's part. :func:`guard` does it with an audit hook (:func:`sys.addaudithook`) instead:
every file opened for writing, folder made, file renamed, removed, linked, touched or
chmod-ed, and every SQLite database opened under the code folder raises the same ``OSError``
FC would, and is recorded in :attr:`Guard.denied` with the line of the project's code that
asked for it.

Only this process is guarded: a subprocess or a C extension writing with its own calls is
not seen (:func:`tree_state` lets the parent compare the folder before and after). Run the
child with bytecode writes off (``-B``), or importing would try to write ``__pycache__``.

At import this module needs only the standard library and nothing else of fcmigrate, so a
child process may load it from its file before it imports the project.
:func:`import_environment`, the parent's side, reads the deploy config with
:mod:`fcmigrate.deployconfig` and gives the environment FC would
(:func:`fcmigrate.deployconfig.fc_environment`).
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

__all__ = ["Denied", "Guard", "guard", "import_environment", "tree_state"]

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
#: Audit events that change the file system, and the positions of their path arguments.
_PATH_EVENTS: dict[str, tuple[int, ...]] = {
    "os.mkdir": (0,),
    "os.rename": (0, 1),
    "os.replace": (0, 1),
    "os.remove": (0,),
    "os.rmdir": (0,),
    "os.symlink": (1,),
    "os.link": (1,),
    "os.truncate": (0,),
    "os.utime": (0,),
    "os.chmod": (0,),
    "os.chown": (0,),
    "os.mkfifo": (0,),
    "os.mknod": (0,),
    "os.setxattr": (0,),
    "os.removexattr": (0,),
    "shutil.copyfile": (1,),
    "shutil.copymode": (1,),
    "shutil.copystat": (1,),
    "shutil.copytree": (1,),
    "shutil.rmtree": (0,),
    "shutil.move": (0, 1),
    "shutil.make_archive": (0,),
    "shutil.unpack_archive": (1,),
}
#: Events whose last path argument is relative to a folder descriptor when one is given.
_DIR_FD_EVENTS = ("os.mkdir", "os.remove", "os.rmdir", "os.utime", "os.chmod", "os.chown")


@dataclass(frozen=True)
class Denied:
    """One write the guard refused: the path (relative to the code folder), what asked for
    it, the project's own source line that did (``None`` when none is in the stack), and the
    installed package (top-level name in ``python/``) whose code made the write, if one did."""

    path: str
    event: str
    file: str | None = None
    line: int | None = None
    package: str | None = None

    def where(self) -> str:
        return f"{self.file} line {self.line}" if self.file else ""


@dataclass
class Guard:
    """The code folder and what :func:`guard` refused so far."""

    root: str
    denied: list[Denied] = field(default_factory=list)
    #: SQLite databases under the code folder opened read-only, as FC's disk allows.
    opened: list[Denied] = field(default_factory=list)

    def blame(self, exc: BaseException) -> None:
        """Record a write to a database opened read-only when ``exc`` is SQLite's refusal."""
        if "readonly database" in str(exc) and self.opened:
            last = self.opened[-1]
            self.denied.append(
                Denied(last.path, "sqlite3.write", last.file, last.line, last.package)
            )

    def inside(self, path: Any) -> str | None:
        """``path`` relative to the code folder if it lies in it, else ``None``."""
        if isinstance(path, int) or path is None:
            return None
        try:
            text = os.fsdecode(os.fspath(path))
        except (TypeError, ValueError):
            return None
        if text.startswith("file:"):  # an SQLite URI
            text = text[5:].split("?", 1)[0]
        if not text or text == ":memory:":
            return None
        full = os.path.realpath(os.path.abspath(text))
        if full == self.root:
            return "."
        if full.startswith(self.root + os.sep):
            return os.path.relpath(full, self.root)
        return None

    def source_line(self) -> tuple[str | None, int | None, str | None]:
        """The innermost frame in the code folder's own files (not its python/ folder), and
        the installed package in python/ called from there that made the write, if any."""
        vendored = os.path.join(self.root, "python") + os.sep
        package = None
        frame = sys._getframe(2)
        while frame is not None:
            name = frame.f_code.co_filename
            if name.startswith(vendored):
                top = name[len(vendored) :].split(os.sep)[0].removesuffix(".py")
                if package is None and top != "fcmigrate":
                    package = top
            elif name.startswith(self.root + os.sep):
                return os.path.relpath(name, self.root), frame.f_lineno, package
            frame = frame.f_back  # type: ignore[assignment]
        return None, None, package

    def deny(self, event: str, rel: str, path: Any) -> None:
        self.denied.append(Denied(rel, event, *self.source_line()))
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fsdecode(os.fspath(path)))

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        if event == "open":
            path, mode, flags = args
            writes = (
                bool(set(mode) & set("wax+"))
                if isinstance(mode, str)
                else bool((flags or 0) & _WRITE_FLAGS)
            )
            if writes:
                rel = self.inside(path)
                if rel is not None:
                    self.deny(event, rel, path)
        elif event == "sqlite3.connect":
            path = args[0]
            rel = self.inside(path)
            text = os.fsdecode(os.fspath(path)) if isinstance(path, (str, bytes)) else ""
            read_only = text.startswith("file:") and ("mode=ro" in text or "immutable=1" in text)
            if rel is not None and not read_only:
                self.deny(event, rel, path)
        elif event in _PATH_EVENTS:
            if event in _DIR_FD_EVENTS and args[-1] not in (None, -1):
                return  # relative to an open folder: the call that opened it was checked
            if event == "os.mkdir" and os.path.lexists(os.fspath(args[0])):
                return  # Linux answers EEXIST before EROFS: makedirs(exist_ok=True) passes
            for index in _PATH_EVENTS[event]:
                if index < len(args):
                    rel = self.inside(args[index])
                    if rel is not None:
                        self.deny(event, rel, args[index])


def guard(root: str | os.PathLike[str]) -> Guard:
    """Make writes under ``root`` fail in this process as they do on FC; return the record.

    An audit hook cannot be removed: install it only in a process that exists to check.
    """
    hook = Guard(os.path.realpath(os.fspath(root)))
    sys.addaudithook(hook)
    _read_only_sqlite(hook)
    return hook


def _read_only_sqlite(hook: Guard) -> None:
    """``sqlite3.connect()`` of a file under the code folder, as on FC's read-only disk.

    SQLite falls back to read-only when it cannot open a file for writing: an existing
    database can be read there, and a write to it raises "attempt to write a readonly
    database"; a missing one raises "unable to open database file". The library writes with
    its own calls, past the audit hook, so the file is opened with ``mode=ro`` here instead.
    """
    try:
        import sqlite3
    except ImportError:  # a Python built without it
        return
    original = sqlite3.connect

    def connect(database: Any, *args: Any, **kwargs: Any) -> Any:
        rel = None if kwargs.get("uri") else hook.inside(database)
        if rel is None:
            return original(database, *args, **kwargs)
        path = os.path.realpath(os.path.abspath(os.fsdecode(os.fspath(database))))
        if not os.path.isfile(path):
            hook.denied.append(Denied(rel, "sqlite3.connect", *hook.source_line()))
            raise sqlite3.OperationalError("unable to open database file")
        kwargs["uri"] = True
        connection = original(f"file:{quote(path)}?mode=ro", *args, **kwargs)
        hook.opened.append(Denied(rel, "sqlite3.connect", *hook.source_line()))
        return connection

    sqlite3.connect = sqlite3.dbapi2.connect = connect


def tree_state(root: str | os.PathLike[str]) -> dict[str, tuple[int, int, int]]:
    """Every path under ``root`` with its type, size and modification time, to compare."""
    base = os.fspath(root)
    state: dict[str, tuple[int, int, int]] = {}
    for folder, dirs, files in os.walk(base):
        for name in dirs + files:
            full = os.path.join(folder, name)
            try:
                info = os.lstat(full)
            except OSError:
                continue
            state[os.path.relpath(full, base)] = (info.st_mode, info.st_size, info.st_mtime_ns)
    return state


def import_environment(
    code_dir: Path, home: Path, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment FC starts the function with, for a build in ``code_dir``.

    Nothing of this shell (its PATH, PYTHONPATH, VIRTUAL_ENV, ...): FC's PATH, the deploy
    config's ``environmentVariables`` in ``code_dir``, FC's own ``FC_*`` variables,
    ``PYTHONPATH`` as the bootstrap sets it (``/code/python:/code``, here ``code_dir``), and
    ``home``, a scratch folder, standing in for ``/tmp`` as ``HOME`` and ``TMPDIR``. A
    config value read at deploy time (``${env('NAME')}``) comes from this environment, as
    ``s deploy`` takes it; ``extra`` (``migrate --env``) is added last.
    """
    from fcmigrate.build.wrap import FC_PATH
    from fcmigrate.deployconfig import fc_environment as function_environment
    from fcmigrate.deployconfig import load_config

    base = {
        "PATH": FC_PATH,
        "HOME": str(home),
        "TMPDIR": str(home),
        "LANG": "C.UTF-8",
    }
    env = function_environment(load_config(code_dir), code_dir, base=base)
    env.update(extra or {})
    env["PYTHONPATH"] = os.pathsep.join([str(code_dir / "python"), str(code_dir)])
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env
