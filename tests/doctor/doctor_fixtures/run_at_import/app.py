"""Fixture: app.run() at module level, in the module the bootstrap imports."""

from flask import Flask

app = Flask(__name__)
app.run(host="0.0.0.0", port=9000)
