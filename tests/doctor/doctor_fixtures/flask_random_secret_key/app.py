"""Fixture: a Flask app that makes its SECRET_KEY at random when it starts."""

import os

from flask import Flask

app = Flask(__name__)
app.secret_key = os.urandom(24)
