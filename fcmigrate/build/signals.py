"""A polite stop: SIGTERM and SIGHUP end a command the way Ctrl-C does.

Python's default for SIGTERM is to die on the spot, so a ``migrate`` stopped by a CI
runner, ``timeout`` or a closed terminal would leave its staging folder and a running pip
behind. Inside :func:`terminate_as_exit` the signal raises :class:`SystemExit` instead:
every ``except BaseException`` / ``finally`` on the way out runs (removing what was
written, killing child processes), and the exit status is the shell's ``128 + signal``.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["terminate_as_exit"]

SIGNALS = (signal.SIGTERM, signal.SIGHUP)


@contextmanager
def terminate_as_exit() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise ``SystemExit(128 + signum)``.

    A second signal while the first unwinds is ignored, so the clean-up is not cut short.
    Outside the main thread (where Python cannot set handlers) nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: FrameType | None) -> None:
        for other in SIGNALS:
            signal.signal(other, signal.SIG_IGN)
        raise SystemExit(128 + signum)

    previous = {signum: signal.signal(signum, stop) for signum in SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
