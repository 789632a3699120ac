"""Fixture: APPLICATION_ROOT set in a config class that from_object() loads."""

from flask import Flask


class Config:
    APPLICATION_ROOT = "/shop"


app = Flask(__name__)
app.config.from_object(Config)
