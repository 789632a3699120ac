"""A small package index whose app() builds the WSGI app from keyword options."""


def app(**options):
    from pkgindex.server import make_app

    return make_app(root=options.get("root", "/tmp/packages"))
