"""A WSGI application object whose body says which fixture produced it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any


class TextApp:
    def __init__(self, text: str) -> None:
        self.text = text

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
        return [self.text.encode()]
