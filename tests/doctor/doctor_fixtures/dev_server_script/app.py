"""Fixture: the official FC template's way: Flask's own server under __main__."""

from flask import Flask

app = Flask(__name__)

if __name__ == "__main__":
    app.run(host="0.0.0.0", port=9000)
