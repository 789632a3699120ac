"""Names Python 3.10 removed that old releases still import, answered again.

``collections.Mapping`` and the other aliases of :mod:`collections.abc` went in 3.10;
releases from before 2019 (Werkzeug 0.14, MarkupSafe 1.0, SQLAlchemy 1.1) import them.
:func:`install` gives :mod:`collections` a PEP 562 ``__getattr__`` that answers them from
:mod:`collections.abc` and records who asked. ``FCMIGRATE_COMPAT=0`` turns it off.
"""

from __future__ import annotations

import collections
import collections.abc
import logging
import os
import sys
from collections.abc import Mapping
from typing import Any

__all__ = ["ENV", "install", "used"]

ENV = "FCMIGRATE_COMPAT"
#: Each package that used a removed name, with the names it used.
used: dict[str, list[str]] = {}

logger = logging.getLogger("fcmigrate")


def install(environ: Mapping[str, str] = os.environ) -> bool:
    """Answer the removed ``collections`` aliases; whether it was installed now."""
    if environ.get(ENV, "1").strip().lower() in ("0", "false", "no", "off"):
        return False
    if "__getattr__" in vars(collections):  # before 3.10, or installed already
        return False
    removed = frozenset(collections.abc.__all__)

    def __getattr__(name: str) -> Any:
        if name not in removed:
            raise AttributeError(f"module 'collections' has no attribute {name!r}")
        frame = sys._getframe(1)  # `from collections import X` asks through importlib
        while frame.f_back and frame.f_globals.get("__name__", "").startswith("importlib"):
            frame = frame.f_back
        asker = str(frame.f_globals.get("__name__")).partition(".")[0]
        names = used.setdefault(asker, [])
        if not names:
            logger.info("%s uses collections.%s, gone in Python 3.10: given it from "
                        "collections.abc (%s=0: off)", asker, name, ENV)  # fmt: skip
        if name not in names:
            names.append(name)
        return getattr(collections.abc, name)

    setattr(collections, "__getattr__", __getattr__)  # noqa: B010
    return True
