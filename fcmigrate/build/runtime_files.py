"""The part of fcmigrate a build carries: what ``python -m fcmigrate serve`` can import.

A build's ``python/`` (``migrate``) and a container image's final stage (``dockerize``) hold
the ``fcmigrate/runtime`` folder, ``fc.py``, ``errors.py`` and the package's ``__init__`` and
``__main__``, nothing else of fcmigrate: no CLI, no builder, no local front door, no doctor, no
templates. A test checks that these import nothing else of fcmigrate (so a runtime module that
starts importing the build side fails there), and another serves with everything else blocked.

``python -m fcmigrate.runtime_files SITE_PACKAGES`` copies them from the running fcmigrate
into ``SITE_PACKAGES/fcmigrate`` (the image's build stage does this).
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["RUNTIME_MODULES", "TOP_LEVEL", "copy_package", "copy_runtime", "runtime_files"]

PACKAGE = Path(__file__).resolve().parent.parent

#: fcmigrate's top-level modules a build carries, beside the whole ``runtime`` folder.
TOP_LEVEL = ("__init__", "__main__", "errors", "fc")

#: What a build carries, as module paths inside fcmigrate (``runtime.middleware``).
RUNTIME_MODULES = TOP_LEVEL + tuple(
    f"runtime.{path.stem}" for path in sorted((PACKAGE / "runtime").glob("*.py"))
)


def runtime_files(package: Path = PACKAGE) -> list[Path]:
    """The source files of :data:`RUNTIME_MODULES` in ``package`` (an fcmigrate folder)."""
    return [package / (name.replace(".", "/") + ".py") for name in RUNTIME_MODULES]


def copy_runtime(target: Path) -> Path:
    """Replace ``target/fcmigrate`` (and any fcmigrate metadata there) with the runtime."""
    dest = target / "fcmigrate"
    if dest.exists():
        shutil.rmtree(dest)
    for info in target.glob("fcmigrate-*.dist-info"):
        shutil.rmtree(info)
    for source in runtime_files():
        copied = dest / source.relative_to(PACKAGE)
        copied.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, copied)
    return dest


def copy_package(target: Path) -> Path:
    """Copy all of the running fcmigrate (no bytecode) to ``target/fcmigrate``: for the
    build's own checks, which run beside a build and are not part of it."""
    dest = target / "fcmigrate"
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(PACKAGE, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dest


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("Usage: python -m fcmigrate.runtime_files SITE_PACKAGES", file=sys.stderr)
        return 2
    copy_runtime(Path(args[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
