"""A package whose factory takes arguments."""

from fx_common import TextApp


def create_app(roots=None, debug=True):
    return TextApp(f"roots={roots!r} debug={debug!r}")
