"""Fixture: a view that leaves a thread running after it answers."""

import threading


def send_later(message):
    threading.Thread(target=print, args=(message,), daemon=True).start()
    return "queued"
