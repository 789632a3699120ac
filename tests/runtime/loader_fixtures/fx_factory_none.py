from fx_common import TextApp


def create_app():
    app = TextApp("never returned")  # the bug under test: no `return app`
    del app
