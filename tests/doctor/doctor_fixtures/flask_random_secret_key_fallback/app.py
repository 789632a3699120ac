"""Fixture: a Flask app that falls back to a random key when a variable is unset."""

import os

from flask import Flask

app = Flask(__name__)
app.config["SECRET_KEY"] = os.environ.get("FLASK_SECRET_KEY") or os.urandom(24)
