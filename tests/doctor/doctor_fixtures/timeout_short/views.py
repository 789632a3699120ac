"""Fixture: a view that waits longer than the function timeout (60 s)."""

import time


def report(request):
    time.sleep(90)
    return "done"
