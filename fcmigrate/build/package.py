"""Building the code package: copying the project, precompiling, and ``code.zip``.

The project is copied without secrets (dotenv files, keys, credential folders), version
control, virtualenvs and caches (:mod:`fcmigrate.build.exclude`), what ``.fcignore`` lists, and
links that lead out of the project; every path left out is reported with its reason.

Bytecode is compiled by an interpreter of the *target* version with hash-based
``.pyc`` (``unchecked-hash``): FC unpacks the package fresh on every instance, so bytecode
written at run time is lost, and unzip may change mtimes, which would make timestamp-based
``.pyc`` stale. The zip is deterministic (sorted entries, fixed dates) and keeps each file's
mode: FC refuses a ``bootstrap`` without the exec bit.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import stat
import subprocess
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fcmigrate.build.exclude import IgnoreRules
from fcmigrate.errors import FCMigrateError

__all__ = [
    "BUILD_MARKER",
    "MAX_PACKAGE_BYTES",
    "CopyReport",
    "IgnoreRules",
    "LeftOut",
    "check_replaceable",
    "copy_project",
    "make_zip",
    "mark_build",
    "precompile",
    "remove_foreign_bytecode",
]

Progress = Callable[[str], None]

#: FC's code package limit, read conservatively as decimal megabytes.
MAX_PACKAGE_BYTES = 500 * 1000 * 1000
#: Packages uploaded through the API (not the console or OSS) must be smaller than this.
API_UPLOAD_BYTES = 100 * 1000 * 1000
#: Fixed zip entry date: the same input gives the same bytes.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class LeftOut:
    """A path :func:`copy_project` did not copy, and why (``rule``: the pattern, if one)."""

    path: str
    why: str
    rule: str = ""


@dataclass
class CopyReport:
    """What :func:`copy_project` copied and left out (paths relative to the project)."""

    files: int = 0
    bytes: int = 0
    left_out: list[LeftOut] = field(default_factory=list)
    #: SQLite databases that were copied (by name or by their header).
    databases: list[str] = field(default_factory=list)

    @property
    def skipped(self) -> list[str]:
        return [item.path for item in self.left_out]

    def left_out_lines(self, per_rule: int = 3) -> list[str]:
        """One line per path left out; a count instead when a rule left out many."""
        groups: dict[tuple[str, str], list[str]] = {}
        for item in self.left_out:
            groups.setdefault((item.why, item.rule), []).append(item.path)
        lines: list[str] = []
        for (why, rule), paths in groups.items():
            reason = f"{why}; rule {rule}" if rule else why
            if len(paths) <= per_rule:
                lines += [f"{path} ({reason})" for path in paths]
            else:
                lines.append(f"{len(paths)} paths such as {paths[0]} ({reason})")
        return lines

    def notes(self) -> list[str]:
        if not self.databases:
            return []
        shown = ", ".join(self.databases[:5]) + (" ..." if len(self.databases) > 5 else "")
        return [
            f"Copied SQLite database{'s' if len(self.databases) > 1 else ''} {shown}: FC's "
            "code folder is read-only: a Django app's database there gets a copy in /tmp for "
            "each instance (fcmigrate serve moves it; writes are lost when the instance "
            "stops), any other app can read it but every write fails. Keep data that must "
            "last in a database server or on a NAS mount."
        ]


#: How a SQLite 3 database file starts.
SQLITE_MAGIC = b"SQLite format 3\x00"
SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")


class _NotRegular(Exception):
    pass


def _copy_regular(src: str, dst: str, expected: os.stat_result) -> bytes:
    """Copy the regular file ``src`` to ``dst``; return its first 16 bytes.

    Opened without blocking and checked again once open: a file swapped for a FIFO or a
    device after the walk looked at it is never read.
    """
    fd = os.open(src, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as source:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or (st.st_dev, st.st_ino) != (
            expected.st_dev,
            expected.st_ino,
        ):
            raise _NotRegular(src)
        head = source.read(16)
        with open(dst, "wb") as target:
            target.write(head)
            shutil.copyfileobj(source, target, 1024 * 1024)
    return head


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def copy_project(
    root: Path,
    dest: Path,
    *,
    exclude: Sequence[Path] = (),
    rules: IgnoreRules | None = None,
    skip_top: Sequence[str] = (),
) -> CopyReport:
    """Copy the project at ``root`` into ``dest``, leaving out what must not be deployed.

    Left out, each with its reason in the report: the default exclusions and ``.fcignore``
    (``rules``; see :mod:`fcmigrate.build.exclude`), fcmigrate's own ``.fcmigrate`` folders,
    virtualenvs (any folder holding ``pyvenv.cfg``), the paths in ``exclude`` (the build
    folder itself), top-level names in ``skip_top``, symlinks whose target is outside the
    project (never followed), links to an excluded path, and anything that is not a
    regular file or folder (FIFOs, sockets, devices). Symlinks inside the project are copied
    as what they point to; a link back to a folder it sits in is left out.
    """
    rules = rules if rules is not None else IgnoreRules.from_file(root / ".fcignore")
    excluded = {os.path.realpath(p) for p in exclude}
    top = os.path.realpath(root)
    report = CopyReport()

    def leave(rel: str, why: str, rule: str = "") -> None:
        report.left_out.append(LeftOut(rel, why, rule))

    def ruled_out(rel: str, real: str, is_dir: bool, is_link: bool) -> bool:
        shown = rel + "/" if is_dir else rel
        verdict = rules.verdict(rel, is_dir)
        if verdict is None and is_link and real != top:
            target = os.path.relpath(real, top).replace(os.sep, "/")
            verdict = rules.verdict(target, is_dir)
            if verdict is not None:
                leave(shown, f"links to {target}: {verdict.why}", verdict.rule)
                return True
        if verdict is not None:
            leave(shown, verdict.why, verdict.rule)
            return True
        return False

    def walk(src: str, rel: str, ancestors: tuple[str, ...]) -> None:
        try:
            entries = sorted(os.scandir(src), key=lambda e: e.name)
        except OSError as exc:
            raise FCMigrateError(
                f"Cannot read {src!r}: {exc.strerror or exc}. Make it readable, or list it "
                "in .fcignore."
            ) from None
        os.makedirs(os.path.join(dest, rel), exist_ok=True)
        for entry in entries:
            child = f"{rel}/{entry.name}" if rel else entry.name
            is_link = entry.is_symlink()
            real = os.path.realpath(entry.path)
            if is_link and real != top and not real.startswith(top + os.sep):
                shown = os.readlink(entry.path)
                leave(child, f"symlink to {shown!r}, outside the project: not followed")
                continue
            try:
                info = os.stat(entry.path)
            except OSError:
                leave(child, "broken symlink" if is_link else "cannot be read")
                continue
            if stat.S_ISDIR(info.st_mode):
                if entry.name == ".fcmigrate" or real in excluded:
                    leave(child + "/", "fcmigrate's own files")
                    continue
                if not rel and entry.name in skip_top:
                    leave(child + "/", "rebuilt by fcmigrate")
                    continue
                if os.path.isfile(os.path.join(entry.path, "pyvenv.cfg")):
                    leave(child + "/", "virtualenv (holds pyvenv.cfg)")
                    continue
                if ruled_out(child, real, True, is_link):
                    continue
                if real in ancestors:
                    leave(child + "/", "symlink to a folder it is in: not followed")
                    continue
                walk(entry.path, child, (*ancestors, real))
            elif stat.S_ISREG(info.st_mode):
                if real in excluded:
                    continue
                if not rel and entry.name in skip_top:
                    leave(child, "rebuilt by fcmigrate")
                    continue
                if ruled_out(child, real, False, is_link):
                    continue
                target = os.path.join(dest, child)
                try:
                    head = _copy_regular(entry.path, target, info)
                except _NotRegular:
                    leave(child, "not a regular file")
                    continue
                except OSError as exc:
                    raise FCMigrateError(
                        f"Cannot copy {entry.path!r}: {exc.strerror or exc}. Make it "
                        "readable, or list it in .fcignore."
                    ) from None
                os.chmod(target, stat.S_IMODE(info.st_mode) | stat.S_IRUSR | stat.S_IWUSR)
                report.files += 1
                report.bytes += info.st_size
                if head == SQLITE_MAGIC or entry.name.lower().endswith(SQLITE_SUFFIXES):
                    report.databases.append(child)
            else:
                leave(child, f"{_kind(info.st_mode)}: never read")

    walk(str(root), "", (top,))
    return report


# --- the build folder ---------------------------------------------------------------------

#: Written into every build: ``migrate --force`` replaces only a folder that holds it.
BUILD_MARKER = ".fcmigrate-build"


def mark_build(folder: Path) -> None:
    """Mark ``folder`` as a build of ``fcmigrate migrate``, which ``--force`` may replace."""
    (folder / BUILD_MARKER).write_text(
        "Written by `fcmigrate migrate`: `fcmigrate migrate --force` may delete and rebuild\n"
        "the folder this file is in. Remove this file to keep it from being replaced.\n",
        encoding="utf-8",
    )


def check_replaceable(out: Path) -> None:
    """A one-line error unless ``out`` is missing, empty, or marked by :func:`mark_build`."""
    try:
        if not out.is_dir() or (out / BUILD_MARKER).is_file() or not any(out.iterdir()):
            return
    except OSError as exc:
        raise FCMigrateError(
            f"Cannot read the build folder {str(out)!r}: {exc.strerror or exc}. Name "
            "another folder with --out."
        ) from None
    raise FCMigrateError(
        f"Not replacing {str(out)!r}, even with --force: it was not built by fcmigrate "
        f"(it has no {BUILD_MARKER} file). Name another folder with --out, or empty it "
        "yourself."
    )


# --- bytecode ---------------------------------------------------------------------------


def bytecode_tag(version: str) -> str:
    """``'3.10'`` -> ``'cpython-310'``, the tag in ``__pycache__/x.cpython-310.pyc``."""
    major, minor = version.split(".")
    return f"cpython-{major}{minor}"


def remove_foreign_bytecode(build: Path, keep_tag: str | None) -> int:
    """Delete cached bytecode in ``__pycache__`` folders not tagged ``keep_tag``; return count.

    With ``keep_tag=None`` every ``__pycache__`` goes. Sourceless ``.pyc`` outside
    ``__pycache__`` are left alone: some projects ship code that way on purpose.
    """
    removed = 0
    for cache in sorted(build.rglob("__pycache__")):
        if not cache.is_dir():
            continue
        for file in cache.iterdir():
            if keep_tag is None or f".{keep_tag}." not in file.name:
                if file.is_dir():
                    shutil.rmtree(file)
                else:
                    file.unlink()
                removed += 1
        if not any(cache.iterdir()):
            cache.rmdir()
    return removed


@dataclass
class CompileReport:
    compiled: int = 0
    failed: list[str] = field(default_factory=list)


def precompile(build: Path, interpreter: str, version: str) -> CompileReport:
    """Compile every module under ``build`` with ``interpreter`` (a Python ``version``).

    Hash-based, unchecked: the ``.pyc`` is used as long as it exists, whatever the source
    file's mtime. Files that do not compile (Python 2 leftovers in some packages) are listed
    in the report, not fatal: importing them would fail with or without ``.pyc``.
    """
    argv = [
        interpreter,
        "-I",
        "-m",
        "compileall",
        "-q",
        "-j",
        "0",
        "--invalidation-mode",
        "unchecked-hash",
        str(build),
    ]
    try:
        returncode, stdout, stderr = _run_group(argv, timeout=1800)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise FCMigrateError(f"Cannot run {interpreter!r} -m compileall: {exc}.") from None
    report = CompileReport()
    for line in stdout.splitlines():
        match = re.match(r"\*\*\* Error compiling '(.+)'\.\.\.", line)
        if match:
            report.failed.append(match.group(1))
    tag = bytecode_tag(version)
    report.compiled = sum(1 for _ in build.rglob(f"__pycache__/*.{tag}.pyc"))
    if returncode != 0 and not report.failed:
        raise FCMigrateError(f"{interpreter!r} -m compileall failed: {(stderr or stdout).strip()}")
    return report


def _run_group(argv: list[str], timeout: float) -> tuple[int, str, str]:
    """Run ``argv`` in a process group of its own; on any exception, kill the whole group.

    ``compileall -j 0`` compiles in worker processes: killing only the parent (what
    ``subprocess.run`` does on Ctrl-C or SIGTERM) would leave them writing ``.pyc`` into
    the staging folder while it is being removed.
    """
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    with proc:
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except BaseException:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
            raise
    return proc.returncode, stdout, stderr


# --- the zip -----------------------------------------------------------------------------


def make_zip(build: Path, zip_path: Path) -> int:
    """Write ``build``'s files into ``zip_path``, sorted, dated 1980, modes kept; return size."""
    files: list[tuple[str, Path]] = []
    for dirpath, dirnames, filenames in os.walk(build):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames:
            path = Path(dirpath, name)
            files.append((path.relative_to(build).as_posix(), path))
    files.sort()
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for arcname, path in files:
            mode = stat.S_IMODE(path.stat().st_mode)
            info = zipfile.ZipInfo(arcname, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so unzip honours the mode bits below
            info.external_attr = (stat.S_IFREG | mode) << 16
            size = path.stat().st_size
            with path.open("rb") as src, archive.open(info, "w", force_zip64=size > 2**31) as out:
                shutil.copyfileobj(src, out, 1024 * 1024)
    return zip_path.stat().st_size


def human_size(size: int) -> str:
    """``12345678`` -> ``'12.3 MB'`` (decimal units, as FC's limits are stated)."""
    if size < 1000:
        return f"{size} bytes"
    value = float(size)
    for unit in ("kB", "MB"):
        value /= 1000
        if value < 1000:
            return f"{value:.1f} {unit}"
    return f"{value / 1000:.2f} GB"
