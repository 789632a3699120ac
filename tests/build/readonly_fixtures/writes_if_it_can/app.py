"""Fixture: a WSGI app that stores a generated key and a database beside its code if it
may, else in the temporary folder (what a CTF platform or a small blog often does)."""

import os
import secrets
import sqlite3
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def _writable_place() -> str:
    try:
        probe = os.path.join(HERE, ".write-test")
        with open(probe, "w"):
            pass
        os.remove(probe)
        return HERE
    except OSError:
        return tempfile.gettempdir()


PLACE = _writable_place()
KEY_FILE = os.path.join(PLACE, ".secret_key")
if not os.path.exists(KEY_FILE):
    with open(KEY_FILE, "w") as out:
        out.write(secrets.token_hex(16))
DB = sqlite3.connect(os.path.join(PLACE, "app.db"))
DB.execute("CREATE TABLE IF NOT EXISTS visits (n INTEGER)")
DB.commit()


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [PLACE.encode()]
