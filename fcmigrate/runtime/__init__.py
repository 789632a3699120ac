"""What runs on FC: the only part of fcmigrate a build carries.

The middleware, the request context, FC's path prefixes, the app loader, ``serve`` and the
gunicorn application, Django and static files at request time, scheduled jobs and the
import-failure report. Nothing here imports :mod:`fcmigrate.build`, :mod:`fcmigrate.local`,
:mod:`fcmigrate.doctor` or :mod:`fcmigrate.cli`, nor click or PyYAML.
"""
