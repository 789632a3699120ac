"""Fixture: a Flask app that falls back to a development key when a variable is unset."""

import os

from flask import Flask

app = Flask(__name__)
app.secret_key = os.environ.get("FLASK_SECRET_KEY", "fixture-dev-only-fallback-key")
