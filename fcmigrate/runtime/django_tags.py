"""Template tags whose output is cached by key, rendered the same under FC's prefix and at ``/``.

django-compressor's offline ``{% compress %}`` (a manifest keyed by the rendered block) and
``{% cache %}`` would see two blocks for one template, one per prefix. Such a tag renders
with the script prefix ``/``, as at build time, and root-relative URLs in its output
(``href``, ``src``, ``action``, ``formaction``, ``poster``, ``data``, CSS ``url()``) get the
request's prefix afterwards. The tags: ``CompressorNode``, ``CacheNode`` and the classes in
``FCMIGRATE_DJANGO_CACHED_TAGS``. docs/django.md tells the whole story.
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
import re
from collections.abc import Callable, Collection, Mapping
from typing import Any
from urllib.parse import quote

__all__ = ["TAGS_ENV", "prefix_urls", "render_unprefixed"]

logger = logging.getLogger("fcmigrate")

TAGS_ENV = "FCMIGRATE_DJANGO_CACHED_TAGS"
#: Node classes whose output is cached by key, each with the app it needs in INSTALLED_APPS.
CACHED_NODES = {
    "compressor.templatetags.compress.CompressorNode": "compressor",
    "django.templatetags.cache.CacheNode": None,
}

_URL_START = (
    r"""(?P<lead>\b(?:href|src|action|formaction|poster|data)\s*=\s*["']?"""
    r"""|\burl\(\s*["']?)/(?!/)"""
)


@functools.lru_cache(maxsize=64)
def _pattern(prefix: str) -> re.Pattern[str]:
    # Never twice: a URL that already starts with the prefix is left alone.
    already = re.escape(prefix.lstrip("/"))
    return re.compile(rf"{_URL_START}(?!{already}(?:[/?#\"'\s)>]|$))", re.IGNORECASE)


def prefix_urls(markup: str, prefix: str) -> str:
    """``markup`` with ``prefix`` (``/2016-08-15/proxy/svc/fn``) before root-relative URLs."""
    # Percent-encoded: the prefix comes from the request's path and goes into markup that
    # is already escaped, so nothing in it may close a quote or a tag.
    prefix = quote(prefix.rstrip("/"), safe="/%-._~:@")
    if not prefix:
        return markup
    return _pattern(prefix).sub(lambda m: f"{m.group('lead')}{prefix}/", markup)


def _unprefixed(render: Callable[..., Any]) -> Callable[..., Any]:
    from django.urls import get_script_prefix, set_script_prefix
    from django.utils.safestring import SafeData, mark_safe

    @functools.wraps(render)
    def render_unprefixed(self: Any, context: Any, *args: Any, **kwargs: Any) -> Any:
        prefix = get_script_prefix()
        if prefix == "/":
            return render(self, context, *args, **kwargs)
        set_script_prefix("/")
        try:
            output = render(self, context, *args, **kwargs)
        finally:
            set_script_prefix(prefix)
        if not isinstance(output, str):
            return output
        prefixed = prefix_urls(output, prefix)
        # Only percent-encoded URL characters were added to markup that was safe.
        return mark_safe(prefixed) if isinstance(output, SafeData) else prefixed  # noqa: S308

    render_unprefixed._fcmigrate_unprefixed = True  # type: ignore[attr-defined]
    return render_unprefixed


def _node_class(dotted: str) -> type | None:
    module_name, _, class_name = dotted.rpartition(".")
    try:
        found = getattr(importlib.import_module(module_name), class_name, None)
    except ImportError:
        return None
    return found if isinstance(found, type) else None


def render_unprefixed(
    installed_apps: Collection[str], env: Mapping[str, str] | None = None
) -> list[str]:
    """Make the cached tags render without the request's prefix; return the ones changed.

    Call once, after Django is set up. A default tag whose app is not in
    ``installed_apps`` is left alone (importing it could read settings it needs); classes
    named in ``FCMIGRATE_DJANGO_CACHED_TAGS`` that cannot be imported are logged.
    """
    env = os.environ if env is None else env
    named = [item.strip() for item in env.get(TAGS_ENV, "").split(",") if item.strip()]
    wanted = [d for d, app in CACHED_NODES.items() if app is None or app in installed_apps]
    changed: list[str] = []
    for dotted in [*wanted, *(n for n in named if n not in wanted)]:
        cls = _node_class(dotted)
        render = getattr(cls, "render", None)
        if cls is None or not callable(render):
            if dotted in named:
                logger.warning("%s: cannot import a template node class %r.", TAGS_ENV, dotted)
            continue
        if not getattr(render, "_fcmigrate_unprefixed", False):
            setattr(cls, "render", _unprefixed(render))  # noqa: B010
        changed.append(dotted)
    return changed
