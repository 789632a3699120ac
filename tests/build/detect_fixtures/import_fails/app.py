def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"never served"]


raise RuntimeError("import_fails fixture: boom in the user's module")
