from fx_common import TextApp


def create_app(config):
    return TextApp(f"config={config!r}")
