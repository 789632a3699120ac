import os

import falcon


class Listing:
    def __init__(self, folder):
        self.folder = folder

    def on_get(self, req, resp):
        resp.media = sorted(os.listdir(self.folder))


def create_app(folder):
    app = falcon.App()
    app.add_route("/pictures", Listing(folder))
    return app


def get_app():
    return create_app(os.environ.get("GALLERY_FOLDER", "."))
