"""Keeping a moved path prefix on the URLs an app sends back in response headers.

With a prefix moved into ``SCRIPT_NAME``, a ``Location``, ``Content-Location`` or
``Refresh`` URL that is a root-relative path (or an absolute URL to the request's own host)
not already under it gets it in front, as nginx's ``proxy_redirect`` does; other hosts,
``//host/...`` and relative paths stay. Values are WSGI strings (latin-1).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from fcmigrate.runtime.paths import is_under

#: Response headers that carry a URL, lower-cased. The middleware checks a header name's
#: length first (7, 8 or 16 characters) to keep the scan cheap on every response.
URL_HEADERS = frozenset({"location", "content-location", "refresh"})

#: ``Refresh: <seconds>[;|,] [url=]['"]<url>['"]``, as browsers parse it.
_REFRESH = re.compile(r"""(\s*[0-9][0-9.]*\s*[;,]?\s*(?:url\s*=\s*)?)(["']?)(.*)""", re.I | re.S)
#: Characters of a path segment (RFC 3986 ``pchar``) besides the unreserved ones.
_PATH_SAFE = "/!$&'()*+,;=:@"
_DEFAULT_PORTS = {"http": ":80", "https": ":443"}


def keep_prefix(
    headers: list[tuple[str, str]], script_name: str, environ: Mapping[str, Any]
) -> list[tuple[str, str]]:
    """``headers`` with ``script_name`` kept on the app's own URLs.

    A changed copy, or ``headers`` itself when nothing changes: an app may pass the same
    list on every request (PEP 3333 allows it).
    """
    result = headers
    prefix: str | None = None
    host: str | None = None
    for i, (name, value) in enumerate(headers):
        lowered = name.lower()
        if lowered not in URL_HEADERS:
            continue
        if prefix is None:
            prefix = _url_path(script_name)
            host = _request_host(environ)
        if lowered == "refresh":
            new = _refresh(value, prefix, host)
        else:
            new = prefixed(value, prefix, host)
        if new != value:
            if result is headers:
                result = list(headers)
            result[i] = (name, new)
    return result


def upgrades_itself(headers: list[tuple[str, str]], environ: Mapping[str, Any]) -> bool:
    """Whether a redirect's ``Location`` is the request's own URL with ``https``: the app
    sends plain-HTTP requests to HTTPS (Django's ``SECURE_SSL_REDIRECT``, Flask-Talisman)."""
    if str(environ.get("wsgi.url_scheme", "http")).lower() != "http":
        return False
    for name, value in headers:
        if name.lower() != "location":
            continue
        scheme, sep, rest = value.partition("://")
        if not sep or scheme.lower() != "https":
            return False
        netloc, slash, tail = rest.partition("/")
        host = _request_host(environ)
        # The host names only: an upgrade may keep a port or drop it.
        if host is None or netloc.lower().rpartition("@")[2].split(":")[0] != host.split(":")[0]:
            return False
        path = (slash + tail).partition("?")[0].partition("#")[0]
        own = str(environ.get("SCRIPT_NAME", "")) + str(environ.get("PATH_INFO", ""))
        return path == _url_path(own or "/")
    return False


def prefixed(url: str, prefix: str, host: str | None) -> str:
    """``url`` with ``prefix`` in front when it points at the app but outside ``prefix``.

    ``prefix`` is URL-encoded (``/2016-08-15/proxy/svc/fn``); ``host`` is the request's
    ``Host`` in lower case without a default port, or ``None`` when it is not known.
    """
    if url[:1] == "/":
        # "//host/x", and "/\host/x" which browsers read the same way, name another host.
        if url[1:2] in ("/", "\\"):
            return url
        return _prefixed_path(url, prefix)
    if host is None:
        return url
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in _DEFAULT_PORTS:
        return url
    end = len(rest)
    for mark in "/?#":
        found = rest.find(mark)
        if found != -1 and found < end:
            end = found
    netloc, tail = rest[:end], rest[end:]
    if _without_default_port(netloc.lower(), scheme) != host:
        return url
    if tail[:1] != "/":
        tail = "/" + tail  # "http://host?q" is the root, "/?q"
    return f"{url[: len(url) - len(rest)]}{netloc}{_prefixed_path(tail, prefix)}"


def _prefixed_path(url: str, prefix: str) -> str:
    path = url
    for mark in "?#":
        path = path.partition(mark)[0]
    if is_under(path, prefix):
        return url
    return prefix + url


def _refresh(value: str, prefix: str, host: str | None) -> str:
    match = _REFRESH.fullmatch(value)
    if match is None:
        return value
    lead, quote_char, rest = match.groups()
    if quote_char:
        end = rest.find(quote_char)
        url, tail = (rest, "") if end == -1 else (rest[:end], rest[end:])
    else:
        url = rest.rstrip()
        tail = rest[len(url) :]
    if not url:
        return value
    return f"{lead}{quote_char}{prefixed(url, prefix, host)}{tail}"


def _url_path(script_name: str) -> str:
    """``SCRIPT_NAME`` (decoded, latin-1) as it appears in a URL (percent-encoded)."""
    try:
        raw = script_name.encode("latin-1")
    except UnicodeEncodeError:  # not a WSGI string: a server that decoded as UTF-8
        raw = script_name.encode("utf-8")
    return quote(raw, safe=_PATH_SAFE)


def _request_host(environ: Mapping[str, Any]) -> str | None:
    scheme = str(environ.get("wsgi.url_scheme", "http")).lower()
    host = environ.get("HTTP_HOST")
    if not host:
        name = environ.get("SERVER_NAME")
        if not name:
            return None
        port = environ.get("SERVER_PORT")
        host = f"{name}:{port}" if port else str(name)
    return _without_default_port(str(host).lower(), scheme)


def _without_default_port(netloc: str, scheme: str) -> str:
    default = _DEFAULT_PORTS.get(scheme)
    if default and netloc.endswith(default):
        return netloc[: -len(default)]
    return netloc
