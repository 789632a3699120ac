"""Fixture: one SQLite connection per request, opened from the configured path."""

import sqlite3

from flask import current_app, g


def connection():
    if "db" not in g:
        g.db = sqlite3.connect(current_app.config["DATABASE"])
    return g.db


def close(error=None):
    db = g.pop("db", None)
    if db is not None:
        db.close()
