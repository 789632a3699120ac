"""Building the code package: copying the project, precompiling, and ``code.zip``.

The project is copied without version control, virtualenvs, caches and what ``.fcignore``
lists. Bytecode is compiled by an interpreter of the *target* version with hash-based
``.pyc`` (``unchecked-hash``): FC unpacks the package fresh on every instance, so bytecode
written at run time is lost, and unzip may change mtimes, which would make timestamp-based
``.pyc`` stale. The zip is deterministic (sorted entries, fixed dates) and keeps each file's
mode: FC refuses a ``bootstrap`` without the exec bit.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import stat
import subprocess
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fcmigrate.errors import FCMigrateError

__all__ = [
    "MAX_PACKAGE_BYTES",
    "SKIP_DIRS",
    "CopyReport",
    "IgnoreRules",
    "copy_project",
    "make_zip",
    "precompile",
    "remove_foreign_bytecode",
]

Progress = Callable[[str], None]

#: FC's code package limit, read conservatively as decimal megabytes.
MAX_PACKAGE_BYTES = 500 * 1000 * 1000
#: Packages uploaded through the API (not the console or OSS) must be smaller than this.
API_UPLOAD_BYTES = 100 * 1000 * 1000
#: Folder names never copied, at any depth.
SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "__pycache__",
        ".fcmigrate",
        "node_modules",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".hypothesis",
    }
)
#: Fixed zip entry date: the same input gives the same bytes.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


class IgnoreRules:
    """Patterns from a ``.fcignore`` file, gitignore style.

    ``#`` starts a comment; ``name`` or ``*.log`` matches at any depth; a pattern with a
    ``/`` is relative to the project folder (``/build``, ``docs/*.pdf``); ``**`` matches any
    number of folders; a trailing ``/`` matches folders only; ``!pattern`` brings back what
    an earlier line excluded. The last matching line wins.
    """

    def __init__(self, lines: Iterable[str] = ()) -> None:
        self.rules: list[tuple[re.Pattern[str], bool, bool, str]] = []
        for raw in lines:
            line = raw.rstrip("\n").rstrip()
            if not line or line.startswith("#"):
                continue
            negate = line.startswith("!")
            pattern = line[1:] if negate else line
            if pattern.startswith("\\"):
                pattern = pattern[1:]
            dir_only = pattern.endswith("/")
            pattern = pattern.strip("/") if dir_only else pattern
            if "/" in pattern.lstrip("/") or pattern.startswith("/"):
                regex = _glob_regex(pattern.lstrip("/"))
            else:
                regex = "(?:.*/)?" + _glob_regex(pattern)
            self.rules.append((re.compile(regex + r"\Z"), negate, dir_only, raw.strip()))

    @classmethod
    def from_file(cls, path: Path) -> IgnoreRules:
        if not path.is_file():
            return cls()
        try:
            return cls(path.read_text(encoding="utf-8", errors="replace").splitlines())
        except OSError as exc:
            raise FCMigrateError(f"Cannot read {str(path)!r}: {exc.strerror or exc}.") from None

    def ignored(self, rel: str, is_dir: bool) -> bool:
        """Whether the path ``rel`` (POSIX, relative to the project) is excluded."""
        result = False
        for regex, negate, dir_only, _ in self.rules:
            if dir_only and not is_dir:
                continue
            if regex.match(rel):
                result = not negate
        return result


def _glob_regex(pattern: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("/**", i) and i + 3 == len(pattern):
            out.append("/.*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                out.append(re.escape("["))
                i += 1
            else:
                # fnmatch knows the bracket syntax ([!a-z]); reuse its translation.
                out.append(fnmatch.translate(pattern[i : end + 1])[4:-3])
                i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out)


@dataclass
class CopyReport:
    """What :func:`copy_project` copied and left out (paths relative to the project)."""

    files: int = 0
    bytes: int = 0
    skipped: list[str] = field(default_factory=list)


def copy_project(
    root: Path,
    dest: Path,
    *,
    exclude: Sequence[Path] = (),
    rules: IgnoreRules | None = None,
    skip_top: Sequence[str] = (),
) -> CopyReport:
    """Copy the project at ``root`` into ``dest``, leaving out what must not be deployed.

    Left out: :data:`SKIP_DIRS`, virtualenvs (any folder holding ``pyvenv.cfg``), the paths
    in ``exclude`` (the build folder itself), top-level names in ``skip_top``, and what
    ``rules`` (``.fcignore``) match. Symlinks are copied as the files they point to.
    """
    rules = rules if rules is not None else IgnoreRules.from_file(root / ".fcignore")
    excluded = {os.path.realpath(p) for p in exclude}
    report = CopyReport()
    visited: set[str] = set()

    def walk(src: str, rel: str) -> None:
        real = os.path.realpath(src)
        if real in visited:
            report.skipped.append(f"{rel or '.'} (symlink loop)")
            return
        visited.add(real)
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
            try:
                is_dir = entry.is_dir()
                is_file = entry.is_file()
            except OSError:
                is_dir = is_file = False
            if is_dir:
                if (
                    entry.name in SKIP_DIRS
                    or (not rel and entry.name in skip_top)
                    or os.path.realpath(entry.path) in excluded
                    or os.path.isfile(os.path.join(entry.path, "pyvenv.cfg"))
                    or rules.ignored(child, True)
                ):
                    report.skipped.append(child + "/")
                    continue
                walk(entry.path, child)
            elif is_file:
                if (not rel and entry.name in skip_top) or rules.ignored(child, False):
                    report.skipped.append(child)
                    continue
                if os.path.realpath(entry.path) in excluded:
                    continue
                target = os.path.join(dest, child)
                try:
                    shutil.copyfile(entry.path, target)
                    mode = os.stat(entry.path).st_mode
                except OSError as exc:
                    raise FCMigrateError(
                        f"Cannot copy {entry.path!r}: {exc.strerror or exc}. Make it "
                        "readable, or list it in .fcignore."
                    ) from None
                os.chmod(target, stat.S_IMODE(mode) | stat.S_IRUSR | stat.S_IWUSR)
                report.files += 1
                report.bytes += os.path.getsize(target)
            else:
                report.skipped.append(f"{child} (broken symlink or special file)")

    walk(str(root), "")
    return report


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
        proc = subprocess.run(
            argv, capture_output=True, text=True, errors="replace", timeout=1800, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise FCMigrateError(f"Cannot run {interpreter!r} -m compileall: {exc}.") from None
    report = CompileReport()
    for line in proc.stdout.splitlines():
        match = re.match(r"\*\*\* Error compiling '(.+)'\.\.\.", line)
        if match:
            report.failed.append(match.group(1))
    tag = bytecode_tag(version)
    report.compiled = sum(1 for _ in build.rglob(f"__pycache__/*.{tag}.pyc"))
    if proc.returncode != 0 and not report.failed:
        raise FCMigrateError(
            f"{interpreter!r} -m compileall failed: {(proc.stderr or proc.stdout).strip()}"
        )
    return report


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
