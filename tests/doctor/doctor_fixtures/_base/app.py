"""Fixture: a plain WSGI app (no framework, so doctor has nothing to import)."""


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
