"""The app is assigned inside a with block and a try block, the way a Pyramid project uses
its Configurator; a context manager of the standard library stands in for it."""

import contextlib

from fx_common import TextApp

with contextlib.ExitStack() as config:
    try:
        wsgi_app = TextApp("fx_blocks:wsgi_app")
    except ImportError:
        raise
