"""Fixture: a Flask app whose SECRET_KEY is written in the code."""

from flask import Flask

app = Flask(__name__)
app.config["SECRET_KEY"] = "fixture-flask-key-written-in-the-code"
