def make_app(root):
    def serve(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [("index of " + root).encode()]

    return serve
