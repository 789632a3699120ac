"""Finding the part of a request path that belongs to FC, not to the app.

All values are WSGI strings: PEP 3333 "bytes in str", decoded as latin-1. Nothing here
decodes or re-encodes them, so percent-encoded and non-ASCII paths pass unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from fcmigrate.fc import PROXY_PREFIX

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


#: x-fc-base-path value -> its proxy prefix ("" when not in the proxy form). One function
#: sees one or two distinct values: each is parsed once. Bounded: off FC anyone can send it.
_PROXY_FORMS: dict[str, str] = {}


def _proxy_form(base_path_header: str) -> str:
    candidate = base_path_header.rstrip("/")
    if not PROXY_PREFIX.fullmatch(candidate):
        candidate = ""
    if len(_PROXY_FORMS) < 64:
        _PROXY_FORMS[base_path_header] = candidate
    return candidate


def proxy_prefix(path_info: str, base_path_header: str | None) -> str:
    """The FC 2.0 proxy prefix at the start of ``path_info``, or ``""``.

    ``x-fc-base-path`` is trusted only in the proxy form and only when the path starts
    with it: FC 3.0 gateways have sent other values (``/get``) that belong to the app.
    """
    return split_prefix(path_info, base_path_header)[0]


def split_prefix(
    path_info: str, base_path_header: str | None = None, base_paths: tuple[str, ...] = ()
) -> tuple[str, str]:
    """Split ``path_info`` into (prefix to move to SCRIPT_NAME, the app's path).

    The FC proxy prefix (:func:`proxy_prefix`) comes first; one of ``base_paths`` (a
    custom-domain route such as ``/api``) may follow it. The two parts always join back
    to ``path_info``.
    """
    # One function, no calls on the common path: this runs on every request FC 2.0's
    # default domain sends.
    prefix = ""
    if base_path_header:
        candidate = _PROXY_FORMS.get(base_path_header)
        if candidate is None:
            candidate = _proxy_form(base_path_header)
        # is_under(), inlined.
        size = len(candidate)
        if (
            size
            and path_info.startswith(candidate)
            and (len(path_info) == size or path_info[size] == "/")
        ):
            prefix = candidate
    if not prefix:
        match = _PROXY_AT_START.match(path_info)
        if match:
            prefix = match.group()
    rest = path_info[len(prefix) :] if prefix else path_info
    for base in base_paths:
        if is_under(rest, base):
            return prefix + base, rest[len(base) :]
    return prefix, rest
