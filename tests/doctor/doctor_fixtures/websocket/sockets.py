"""Fixture: a WebSocket route with flask-sock."""

from flask_sock import Sock

sock = Sock()


@sock.route("/ws")
def echo(ws):
    ws.send(ws.receive())
