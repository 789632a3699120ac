"""Serving a build's collected static files with WhiteNoise (the request-time half of
:mod:`fcmigrate.build.collectstatic`, which collects them at build time).

A build carries this module, not :mod:`fcmigrate.build.collectstatic`.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable, Collection, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["COLLECTED_DIR", "DEFAULT_MAX_AGE", "STATIC_ROOT_ENV", "find_static_root", "static_app"]

logger = logging.getLogger("fcmigrate")

#: Where the build keeps collected files when ``STATIC_ROOT`` cannot be used. The hyphen keeps
#: it from ever being imported as a package.
COLLECTED_DIR = "fcmigrate-static"
#: Names the collected folder explicitly at serve time (absolute, or relative to the cwd).
STATIC_ROOT_ENV = "FCMIGRATE_STATIC_ROOT"
#: Cache lifetime of files whose name carries no content hash (WhiteNoise's own default).
DEFAULT_MAX_AGE = 60
#: A name that carries a content hash the way django-compressor writes it.
_HASHED_NAME = re.compile(r"\.[0-9a-f]{12}\.[A-Za-z0-9]+$")


def find_static_root(
    settings_root: str | os.PathLike[str] | None,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Path | None:
    """The folder of collected static files to serve, or ``None`` when there is none.

    ``FCMIGRATE_STATIC_ROOT``, then ``./fcmigrate-static``, then ``settings_root``
    (Django's ``STATIC_ROOT``): the first that is a folder.
    """
    env = os.environ if env is None else env
    base = Path.cwd() if cwd is None else cwd
    explicit = env.get(STATIC_ROOT_ENV, "").strip()
    candidates = [Path(explicit)] if explicit else [Path(COLLECTED_DIR)]
    if settings_root:
        candidates.append(Path(settings_root))
    if explicit and not (base / explicit).is_dir():
        logger.warning("%s=%r is not a folder; looking at STATIC_ROOT.", STATIC_ROOT_ENV, explicit)
    for candidate in candidates:
        path = base / candidate
        if path.is_dir():
            return path.resolve()
    return None


class _LazyStatic:
    """``app`` behind WhiteNoise, made on the first request for a static file.

    WhiteNoise reads the whole collected folder when it is made. Deferred, that cost is
    off the cold start (FC's first request is rarely for a static file), and requests
    outside ``prefix`` never reach WhiteNoise at all.
    """

    def __init__(
        self, app: WSGIApplication, prefix: str, make: Callable[[], WSGIApplication]
    ) -> None:
        self.app = app
        self.prefix = prefix
        self._make = make
        self._served: WSGIApplication | None = None
        self._lock = threading.Lock()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if not environ.get("PATH_INFO", "").startswith(self.prefix):
            return self.app(environ, start_response)
        served = self._served
        if served is None:
            with self._lock:
                if self._served is None:
                    self._served = self._make()
                served = self._served
        return served(environ, start_response)


def static_app(
    app: WSGIApplication,
    root: Path,
    prefix: str,
    *,
    hashed: Collection[str] = (),
    hashed_under: Collection[str] = (),
    max_age: int | None = DEFAULT_MAX_AGE,
) -> WSGIApplication:
    """``app`` behind WhiteNoise serving ``root`` at URL path ``prefix`` (``/static/``).

    ``hashed`` are the names (relative to ``root``) that carry a content hash, and so are
    the names in the folders ``hashed_under`` (``CACHE/``, django-compressor's) that end in
    ``.<12 hex digits>.<ext>``: they are cached for ten years and marked ``immutable``;
    everything else for ``max_age`` seconds.
    """
    prefix = "/" + prefix.strip("/") + "/" if prefix.strip("/") else "/"
    names = frozenset(hashed)
    folders = tuple(folder.strip("/") + "/" for folder in hashed_under if folder.strip("/"))

    def immutable(path: str, url: str) -> bool:
        if not url.startswith(prefix):
            return False
        name = url[len(prefix) :]
        if name in names:
            return True
        return name.startswith(folders) and _HASHED_NAME.search(name) is not None

    def make() -> WSGIApplication:
        from whitenoise import WhiteNoise

        served: WSGIApplication = WhiteNoise(
            app,
            root=str(root),
            prefix=prefix,
            max_age=max_age,
            immutable_file_test=immutable,
        )
        return served

    if prefix == "/":
        return make()
    return _LazyStatic(app, prefix, make)
