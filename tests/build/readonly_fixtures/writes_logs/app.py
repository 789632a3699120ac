"""Fixture: a WSGI app that sets up a log file in its own folder when imported."""

import logging
import os

os.makedirs("logs", exist_ok=True)
logging.basicConfig(filename="logs/app.log", level=logging.INFO)
logging.getLogger(__name__).info("starting")


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"logs"]
