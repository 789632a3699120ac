import flask

server = flask.Flask(__name__)


@server.get("/")
def home():
    return "flask_named"
