"""The PEP 3333 example: a plain function called ``application``."""


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"fx_function:application"]
