"""The part of fcmigrate a build carries: what ``python -m fcmigrate serve`` can import.

A build's ``python/`` (``migrate``) and a container image's final stage (``dockerize``) hold
these modules and nothing else of fcmigrate: no CLI, no builder, no local front door, no
doctor, no templates. :data:`RUNTIME_MODULES` is checked by a test against the imports of
the modules it names (so one that starts importing a module left out fails there) and by
a test that serves with every other fcmigrate module blocked.

``python -m fcmigrate.runtime_files SITE_PACKAGES`` copies them from the running fcmigrate
into ``SITE_PACKAGES/fcmigrate`` (the image's build stage does this).
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["RUNTIME_MODULES", "copy_package", "copy_runtime", "runtime_files"]

#: fcmigrate's modules that ``serve`` imports, at start or lazily on some request or option.
RUNTIME_MODULES = (
    "__init__",
    "__main__",
    "context",
    "django_support",
    "django_tags",
    "errors",
    "fc",
    "import_errors",
    "jobs",
    "loader",
    "middleware",
    "paths",
    "redirects",
    "serve",
    "server",
    "staticmap",
    "staticserve",
)

PACKAGE = Path(__file__).resolve().parent


def runtime_files(package: Path = PACKAGE) -> list[Path]:
    """The source files of :data:`RUNTIME_MODULES` in ``package``."""
    return [package / f"{name}.py" for name in RUNTIME_MODULES]


def copy_runtime(target: Path) -> Path:
    """Replace ``target/fcmigrate`` (and any fcmigrate metadata there) with the runtime."""
    dest = target / "fcmigrate"
    if dest.exists():
        shutil.rmtree(dest)
    for info in target.glob("fcmigrate-*.dist-info"):
        shutil.rmtree(info)
    dest.mkdir(parents=True)
    for source in runtime_files():
        shutil.copyfile(source, dest / source.name)
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
