"""A Pyramid-style package: PasteDeploy calls main() with the .ini file's settings."""


def main(global_config, **settings):
    from pyramid.config import Configurator

    with Configurator(settings=settings) as config:
        config.scan()
    return config.make_wsgi_app()
