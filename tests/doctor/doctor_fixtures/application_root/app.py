"""Fixture: APPLICATION_ROOT set through a config class (seen only by importing)."""

from flask import Flask


class Config:
    APPLICATION_ROOT = "/shop"


app = Flask(__name__)
app.config.from_object(Config)
