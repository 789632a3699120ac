"""Fixture: the application factory of Flask's tutorial (flaskr), retold.

Development defaults are set first; an optional config.py in the instance folder replaces
them in production. The SQLite file sits in the instance folder, which is inside /code on FC.
"""

import os

from flask import Flask


def create_app(overrides=None):
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        SECRET_KEY="dev",
        DATABASE=os.path.join(app.instance_path, "journal.sqlite"),
    )
    if overrides:
        app.config.update(overrides)
    else:
        app.config.from_pyfile("config.py", silent=True)
    try:
        os.makedirs(app.instance_path)
    except OSError:
        pass  # it exists, or the code folder is read-only (FC)

    from journal import store

    app.teardown_appcontext(store.close)
    return app
