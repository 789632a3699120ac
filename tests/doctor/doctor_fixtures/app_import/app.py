"""Fixture: a Flask app that needs a package this machine does not have."""

import fcmigrate_doctor_fixture_missing_package  # noqa: F401
import flask

app = flask.Flask(__name__)
