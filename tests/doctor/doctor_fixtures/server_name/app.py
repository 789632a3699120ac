"""Fixture: SERVER_NAME set, so only one host name routes."""

from flask import Flask

app = Flask(__name__)
app.config["SERVER_NAME"] = "www.example.com"
