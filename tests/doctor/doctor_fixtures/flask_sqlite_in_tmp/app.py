"""Fixture: a second Flask-SQLAlchemy database in /tmp, set through a config class."""

from flask import Flask


class Config:
    SQLALCHEMY_BINDS = {"cache": "sqlite:////tmp/cache.db"}


app = Flask(__name__)
app.config.from_object(Config)
