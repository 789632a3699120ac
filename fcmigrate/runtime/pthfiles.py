"""The ``.pth`` files of the dependencies a build installs beside the code.

A build installs its dependencies into ``python/``, which reaches ``sys.path`` through
``PYTHONPATH``; Python reads ``.pth`` files only in its site directories, so the ones
packages ship there would be skipped, and an app that works in a virtualenv would fail on
FC. setuptools' ``distutils-precedence.pth`` is the common case: it makes ``import
distutils`` work on Python 3.12 and later, whose standard library no longer has it, for apps
that still do ``from distutils.util import strtobool``. :func:`read_path_files` reads them
as Python reads a site directory's (:func:`site.addsitedir`), once per folder.
"""

from __future__ import annotations

import os
import site
from collections.abc import Mapping

__all__ = ["read_path_files"]

_read: set[str] = set()


def read_path_files(environ: Mapping[str, str] = os.environ) -> list[str]:
    """Read the ``.pth`` files of each ``PYTHONPATH`` folder that is not a site directory.

    Returns the folders read this time. Folders Python has read already (its site
    directories) and folders read by an earlier call are left alone.
    """
    done: list[str] = []
    for entry in environ.get("PYTHONPATH", "").split(os.pathsep):
        if not entry:
            continue
        folder = os.path.abspath(entry)
        if folder in _read or folder in _site_directories():
            continue
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        _read.add(folder)
        if any(name.endswith(".pth") for name in names):
            site.addsitedir(folder)
            done.append(folder)
    return done


def _site_directories() -> set[str]:
    folders = list(site.getsitepackages()) if hasattr(site, "getsitepackages") else []
    if site.ENABLE_USER_SITE:
        folders.append(site.getusersitepackages())
    return {os.path.abspath(folder) for folder in folders}
