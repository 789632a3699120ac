from fx_common import TextApp


def create_app():
    return TextApp("fx_create_app:create_app()")
