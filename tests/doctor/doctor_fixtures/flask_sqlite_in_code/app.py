"""Fixture: Flask-SQLAlchemy's relative SQLite URL, a file in the instance folder."""

from flask import Flask

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///shop.db"
