"""Static folders served at URL prefixes, as App Engine's ``handlers: static_dir`` did.

``serve --static-map /static=static`` puts WhiteNoise in front of the app for each mapping,
inside :class:`~fcmigrate.runtime.middleware.FCMiddleware`, so it sees paths without FC's prefix.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from fcmigrate.errors import FCMigrateError

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

__all__ = ["parse_static_map", "static_map_app"]


def parse_static_map(text: str) -> tuple[str, Path]:
    """``/static=static`` -> ``("/static/", Path("static"))``."""
    url, sep, folder = text.partition("=")
    if not sep or not url.startswith("/") or not folder:
        raise FCMigrateError(
            f"Invalid --static-map {text!r}. Use URL=FOLDER, e.g. --static-map /static=static."
        )
    return url.rstrip("/") + "/", Path(folder)


def static_map_app(app: WSGIApplication, maps: Sequence[str]) -> WSGIApplication:
    """``app`` with each ``URL=FOLDER`` of ``maps`` served by WhiteNoise in front of it."""
    try:
        from whitenoise import WhiteNoise
    except ImportError:
        raise FCMigrateError(
            "--static-map needs WhiteNoise: add 'whitenoise' to requirements.txt, or run "
            "`fcmigrate migrate` again, which vendors it for static mappings."
        ) from None
    served = WhiteNoise(app)
    for text in maps:
        url, folder = parse_static_map(text)
        if not folder.is_dir():
            raise FCMigrateError(
                f"The static folder {str(folder)!r} of --static-map {text!r} does not exist "
                "in the function's folder."
            )
        served.add_files(str(folder.resolve()), prefix=url)
    result: WSGIApplication = served
    return result
