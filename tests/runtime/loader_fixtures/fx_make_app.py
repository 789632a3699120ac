from fx_common import TextApp


def make_app():
    return TextApp("fx_make_app:make_app()")
