"""Fixture: a WSGI app that writes nothing; its hooks module does."""


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hooks"]
