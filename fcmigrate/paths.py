"""Finding the part of a request path that belongs to FC, not to the app.

All values are WSGI strings: PEP 3333 "bytes in str", decoded as latin-1. Nothing here
decodes or re-encodes them, so percent-encoded and non-ASCII paths pass unchanged.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

#: FC 2.0 default-domain prefix: ``/<yyyy-mm-dd>/proxy/<service>[.<qualifier>]/<function>``.
PROXY_PREFIX = re.compile(r"/\d{4}-\d{2}-\d{2}/proxy/[^/]+/[^/]+")
_PROXY_AT_START = re.compile(PROXY_PREFIX.pattern + r"(?=/|\Z)")


def is_under(path: str, prefix: str) -> bool:
    """Whether ``path`` is ``prefix`` or below it, on a segment boundary."""
    return path.startswith(prefix) and (len(path) == len(prefix) or path[len(prefix)] == "/")


def normalize_base_path(value: str) -> str:
    """``api/`` -> ``/api``; ``/`` and empty -> empty (no base path)."""
    # Spaces around the slashes are list formatting ("/api, /v2"), not part of the path.
    value = value.strip().strip("/").strip()
    # "/" (a custom-domain route "/*") means no base path, never SCRIPT_NAME "/".
    return "/" + value if value else ""


def parse_base_paths(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """Base paths from an option or ``FCMIGRATE_BASE_PATH`` (comma separated), longest first."""
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else value
    paths = {p for p in (normalize_base_path(item) for item in items) if p}
    return tuple(sorted(paths, key=len, reverse=True))


@functools.lru_cache(maxsize=64)
def _proxy_form(base_path_header: str) -> str:
    # One function sees one or two distinct values: parse each once.
    candidate = base_path_header.rstrip("/")
    return candidate if PROXY_PREFIX.fullmatch(candidate) else ""


def proxy_prefix(path_info: str, base_path_header: str | None) -> str:
    """The FC 2.0 proxy prefix at the start of ``path_info``, or ``""``.

    ``x-fc-base-path`` is trusted only in the proxy form and only when the path starts
    with it: FC 3.0 gateways have sent other values (``/get``) that belong to the app.
    """
    if base_path_header:
        candidate = _proxy_form(base_path_header)
        if candidate and is_under(path_info, candidate):
            return candidate
    match = _PROXY_AT_START.match(path_info)
    return match.group() if match else ""


def split_prefix(
    path_info: str, base_path_header: str | None = None, base_paths: tuple[str, ...] = ()
) -> tuple[str, str]:
    """Split ``path_info`` into (prefix to move to SCRIPT_NAME, the app's path).

    The FC proxy prefix comes first; one of ``base_paths`` (a custom-domain route such as
    ``/api``) may follow it. The two parts always join back to ``path_info``.
    """
    prefix = proxy_prefix(path_info, base_path_header)
    rest = path_info[len(prefix) :] if prefix else path_info
    for base in base_paths:
        if is_under(rest, base):
            return prefix + base, rest[len(base) :]
    return prefix, rest
