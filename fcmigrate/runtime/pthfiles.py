"""The ``.pth`` files in ``python/``, which reaches ``sys.path`` through ``PYTHONPATH``:
Python reads them only in site directories, so setuptools' ``distutils-precedence.pth``
(``import distutils`` on Python 3.12+) would be skipped on FC. :func:`read_path_files` reads
them as :func:`site.addsitedir` does, once per folder.
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
