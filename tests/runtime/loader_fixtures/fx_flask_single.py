"""One Flask application under a name that is not ``app``."""

from flask import Flask

server = Flask(__name__)


@server.route("/")
def index():
    return "fx_flask_single:server"
