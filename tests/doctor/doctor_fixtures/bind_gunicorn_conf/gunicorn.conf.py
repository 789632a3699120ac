"""Fixture: a gunicorn config that binds the loopback address only."""

bind = "127.0.0.1:9000"
timeout = 0
