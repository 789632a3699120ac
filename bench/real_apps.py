"""Migrate real open-source apps with no flags, serve each build as FC would, and walk it.

For every app in ``APPS`` (public repositories, read from local snapshots, never copied into
this repository):

1. export the snapshot's tree into a scratch folder;
2. ``fcmigrate migrate <folder>``, timed, with no flags but ``--env`` for the settings the
   app's own docs ask for (a secret key, a database URL, ``LOG_TO_STDOUT``): these are the
   app's configuration, not workarounds, and the table lists them; the code.zip size is read
   back;
3. start the build's ``./bootstrap`` with the build's target Python, a bare environment (FC's
   variables and the deploy config's ``environmentVariables``, ``HOME`` in a scratch folder)
   and the build folder mounted **read-only** (``unshare -m`` + a read-only bind mount, so even
   root cannot write there, as on FC);
   The app's own release steps (``manage.py migrate``, ``flask db upgrade``) run first, with
   the build's Python, against a database in the function's /tmp;
4. walk it under FC 2.0's prefix ``/2016-08-15/proxy/svc/fn`` with FC's ``Host``: the home
   page (redirects followed, each ``Location`` checked to stay under the prefix), one asset the
   page links to, the app's login redirect, and its first form posted back.

It prints one line per step and a Markdown table for ``docs/real-apps.md``.

    .venv/bin/python bench/real_apps.py --mirror /work/.mirror [--only NAME ...] [--keep]

``--group second`` runs the second group of apps (``SECOND``) instead of the first (and
``third`` to ``ninth`` the later ones);
``--group samples --migrate-only`` migrates more Google Cloud samples, one line each.

``--mirror`` is a folder holding ``owner+name/repo`` git snapshots (bare or not). Needs root
(for ``unshare -m``) and the target Pythons on PATH (``python3.10`` ...).
"""

from __future__ import annotations

import argparse
import html.parser
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
FCMIGRATE = [sys.executable, "-m", "fcmigrate"]
PREFIX = "/2016-08-15/proxy/svc/fn"
ACCOUNT, REGION = "1234567890123456", "cn-hangzhou"
HOST = f"{ACCOUNT}.{REGION}.fc.aliyuncs.com"


@dataclass
class App:
    name: str
    repo: str
    shape: str
    subdir: str = ""
    #: A page that needs a login: its redirect must stay under the prefix.
    protected: str | None = None
    #: The first page walked (an API without a home page: one of its pages).
    home: str = "/"
    #: A page with a form to post back (fields filled with dummy text).
    form: str | None = None
    #: Settings the app's own docs ask for (not workarounds of fcmigrate): given to
    #: ``migrate --env``, so to the import check and the deploy config. ``{tmp}`` is the
    #: function's /tmp.
    env: dict[str, str] = field(default_factory=dict)
    #: The app's own deploy steps (a Procfile's ``release:``), run with the build's Python
    #: against its /tmp database before serving: ``["manage.py", "migrate"]``.
    setup: list[list[str]] = field(default_factory=list)
    #: Stand-ins for what this machine's network lacks, given to ``migrate``'s environment
    #: only (an index the app names under an old host name this machine cannot resolve).
    build_env: dict[str, str] = field(default_factory=dict)


APPS = [
    App(
        "microblog",
        "miguelgrinberg/microblog",
        "Flask tutorial, sdist-only deps, old gunicorn pin, Procfile",
        protected="/",
        form="/auth/login",
        env={"LOG_TO_STDOUT": "1", "DATABASE_URL": "sqlite:///{tmp}/app.db"},
        setup=[["-m", "flask", "--app", "microblog.py", "db", "upgrade"]],
    ),
    App(
        "locallibrary",
        "mdn/django-locallibrary-tutorial",
        "Django 5, RedirectView, LOGIN_URL, runtime.txt",
        protected="/catalog/mybooks/",
        form="/accounts/login/",
        env={"DATABASE_URL": "sqlite:///{tmp}/db.sqlite3"},
        setup=[["manage.py", "migrate", "--noinput"]],
    ),
    App(
        "ctfd",
        "CTFd/CTFd",
        "Flask CTF platform, uv.lock, files written at import",
        form="/setup",
        env={
            "SECRET_KEY": "real-apps-walk-secret",
            "DATABASE_URL": "sqlite:///{tmp}/ctfd.db",
            "UPLOAD_FOLDER": "{tmp}/uploads",
            "LOG_FOLDER": "{tmp}/logs",
            # CTFd keeps its cache in .data/ beside the code unless it has a Redis.
            "REDIS_URL": "redis://127.0.0.1:6379/0",
        },
    ),
    App(
        "httpbin",
        "postmanlabs/httpbin",
        "Flask package (2018), Pipfile.lock, Procfile",
        protected="/redirect-to?url=/get",
    ),
    App(
        "bakerydemo",
        "wagtail/bakerydemo",
        "Wagtail CMS, settings package, uwsgi ini",
        protected="/admin/",
        form="/admin/login/",
        env={"DATABASE_URL": "sqlite:///{tmp}/bakery.db"},
        setup=[["manage.py", "migrate", "--noinput"]],
    ),
    App(
        "blueprint-tutorial",
        "hackersandslackers/flask-blueprint-tutorial",
        "Flask, Poetry project, markers for 3.12, gunicorn.conf.py",
        env={"ENVIRONMENT": "production", "SECRET_KEY": "real-apps-walk-secret"},
    ),
    App(
        "flask-realworld",
        "gothinkster/flask-realworld-example-app",
        "Flask REST API (2019), -r includes, psycopg2",
        protected="/api/user",
        home="/api/articles",
        env={"DATABASE_URL": "sqlite:///{tmp}/conduit.db", "FLASK_APP": "autoapp.py"},
        # Its README's steps: no migrations are committed.
        setup=[["-m", "flask", "db", cmd] for cmd in ("init", "migrate", "upgrade")],
    ),
    App(
        "django-ecommerce",
        "justdjango/django-ecommerce",
        "Django 2.2 (2020), allauth, .env committed, sqlite shipped",
        protected="/order-summary/",
        form="/accounts/login/",
        env={"SECRET_KEY": "real-apps-walk-secret", "DEBUG": "False"},
    ),
    App(
        "flaskr",
        "pallets/flask",
        "Flask tutorial app, pyproject, factory, instance folder",
        subdir="examples/tutorial",
        protected="/create",
        form="/auth/login",
    ),
    App(
        "newspaper",
        "4ka0/newspaper_project",
        "Django 3.1, committed static manifest, decouple, frozen pins",
        protected="/new/",
        form="/users/login/",
        env={
            "SECRET_KEY": "real-apps-walk-secret",
            "ALLOWED_HOSTS": f"{HOST},127.0.0.1",
            "EMAIL_HOST": "localhost",
            "EMAIL_HOST_USER": "walk",
            "EMAIL_HOST_PASSWORD": "walk",
            "EMAIL_PORT": "25",
            "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
            "EMAIL_USE_TLS": "False",
            # Its settings read USE_S3 as a string: empty is off.
            "USE_S3": "",
        },
    ),
    App("bottle", "glasnt/cloudrun-python-examples", "plain WSGI (Bottle)", "bottle-gunicorn"),
    App("falcon", "glasnt/cloudrun-python-examples", "plain WSGI (Falcon)", "falcon-gunicorn"),
]


#: A second group, tried after the first was fixed: ``--group second``.
SECOND = [
    App(
        "bluelog",
        "greyli/bluelog",
        "Flask book app (2020), wsgi.py + Procfile, .flaskenv, frozen pins",
        protected="/admin/settings",
        form="/auth/login",
        env={"FLASK_CONFIG": "production", "DATABASE_URL": "sqlite:///{tmp}/bluelog.db"},
        setup=[["-m", "flask", "forge"]],
    ),
    App(
        "albumy",
        "greyli/albumy",
        "Flask book app (2020), factory, no Procfile, Pillow, Whoosh",
        protected="/upload",
        form="/auth/login",
        env={"FLASK_CONFIG": "production", "DATABASE_URL": "sqlite:///{tmp}/albumy.db"},
        setup=[["-m", "flask", "forge"]],
    ),
    App(
        "flasky",
        "miguelgrinberg/flasky",
        "Flask book app, -r chain to heroku.txt, Procfile, config from env",
        protected="/edit-profile",
        form="/auth/login",
        env={
            "FLASK_CONFIG": "heroku",
            "SERVER_NAME": HOST,
            "DATABASE_URL": "sqlite:///{tmp}/flasky.db",
            "FLASK_APP": "flasky.py",
        },
        setup=[["-m", "flask", "deploy"]],
    ),
    App(
        "django-on-docker",
        "testdrivenio/django-on-docker",
        "Django 4.2 in a subfolder, Dockerfile, settings from env",
        subdir="app",
        protected="/admin/",
        form="/admin/login/",
        env={
            "SECRET_KEY": "real-apps-walk-secret",
            "DJANGO_ALLOWED_HOSTS": f"{HOST} 127.0.0.1",
            "SQL_DATABASE": "{tmp}/db.sqlite3",
        },
        setup=[["manage.py", "migrate", "--noinput"]],
    ),
    App(
        "django-realworld",
        "gothinkster/django-realworld-example-app",
        "Django 1.10 DRF API (2017), settings hard-coded",
        home="/api/articles",
        protected="/api/user",
        setup=[["manage.py", "migrate", "--noinput"]],
    ),
    App(
        "styleguide",
        "HackSoftware/Django-Styleguide-Example",
        "Django + DRF + Celery, settings package, Procfile release, runtime.txt",
        home="/admin/login/",
        protected="/admin/",
        form="/admin/login/",
        env={
            "DJANGO_SETTINGS_MODULE": "config.django.production",
            "SECRET_KEY": "real-apps-walk-secret",
            "ALLOWED_HOSTS": HOST,
            "DATABASE_URL": "sqlite:///{tmp}/styleguide.db",
        },
        setup=[["manage.py", "migrate", "--noinput"]],
    ),
    App(
        "wiwik",
        "dsoftwareinc/wiwik",
        "Django 5.2 forum, uv.lock at the root, app in forum/, requires-python ~=3.13",
        protected="/questions/ask",
        form="/userauth/login/",
        env={
            "SECRET_KEY": "real-apps-walk-secret",
            "DJANGO_ALLOWED_HOSTS": f"{HOST} 127.0.0.1",
            "REDIS_HOST": "127.0.0.1",
            "REDIS_CACHE_URL": "redis://127.0.0.1:6379/0",
        },
        setup=[["forum/manage.py", "migrate", "--noinput"]],
    ),
    App(
        "gae-building-an-app",
        "GoogleCloudPlatform/python-docs-samples",
        "Flask, App Engine app.yaml (runtime python314, static handler)",
        subdir="appengine/standard_python3/building-an-app/building-an-app-1",
    ),
    App(
        "run-helloworld",
        "GoogleCloudPlatform/python-docs-samples",
        "Flask, Cloud Run Dockerfile (python:3.14) with gunicorn CMD",
        subdir="run/helloworld",
    ),
    App(
        "run-markdown-editor",
        "GoogleCloudPlatform/python-docs-samples",
        "Flask, app two folders down, calls another service",
        subdir="run/markdown-preview/editor",
        env={"EDITOR_UPSTREAM_RENDER_URL": "http://127.0.0.1:9/"},
    ),
    App(
        "gae-django",
        "GoogleCloudPlatform/python-docs-samples",
        "Django 6, App Engine main.py alias, django-environ, Secret Manager",
        subdir="appengine/standard_python3/django",
        protected="/admin/",
        form="/admin/login/",
        env={"SECRET_KEY": "real-apps-walk-secret", "DATABASE_URL": "sqlite:///{tmp}/gae.db"},
        setup=[["manage.py", "migrate", "--noinput"]],
    ),
]
#: More Google Cloud samples, migrated only (``--group samples --migrate-only``): one line each.
SAMPLE_FOLDERS = [
    *(
        f"appengine/flexible/{name}"
        for name in (
            "hello_world", "hello_world_django", "django_cloudsql", "static_files", "websockets",
            "numpy", "scipy", "analytics", "datastore", "metadata", "pubsub", "storage", "tasks",
            "twilio", "multiple_services/gateway-service",
        )
    ),
    *(
        f"appengine/standard_python3/{name}"
        for name in (
            "custom-server", "warmup", "redis", "cloudsql", "pubsub", "spanner", "bigquery",
            "migration/urlfetch", "bundled-services/mail/wsgi", "bundled-services/mail/django",
            "bundled-services/deferred/flask", "building-an-app/building-an-app-4",
        )
    ),
    *(
        f"run/{name}"
        for name in (
            "django", "idp-sql", "logging-manual", "system-package", "image-processing",
            "pubsub", "hello-broken", "service-auth", "mcp-server",
        )
    ),
    "cloud-sql/postgres/sqlalchemy",
    "endpoints/getting-started",
    "eventarc/audit-storage",
    "eventarc/audit_iam",
]  # fmt: skip
SAMPLES = [
    App(folder, "GoogleCloudPlatform/python-docs-samples", "Google Cloud sample", folder)
    for folder in SAMPLE_FOLDERS
]
#: A third group of Flask apps and plain WSGI apps: ``--group third``.
THIRD = [
    App(
        "flask-base",
        "hack4impact/flask-base",
        "Flask boilerplate (2019 pins), Flask-Script manage.py, Procfile, RQ, app.json",
        protected="/account/manage",
        form="/account/login",
        env={
            "FLASK_CONFIG": "production",
            "SECRET_KEY": "real-apps-walk-secret",
            "MAIL_USERNAME": "walk",
            "MAIL_PASSWORD": "walk",
            "DATABASE_URL": "sqlite:///{tmp}/flask-base.db",
            "REDISTOGO_URL": "redis://127.0.0.1:6379",
        },
        setup=[["manage.py", "recreate_db"], ["manage.py", "setup_prod"]],
    ),
    App(
        "sayhello",
        "greyli/sayhello",
        "Flask book app (2020), module-level app, .flaskenv, Pipfile.lock",
        form="/",
        env={
            "FLASK_APP": "sayhello",
            "SECRET_KEY": "real-apps-walk-secret",
            "DATABASE_URI": "sqlite:///{tmp}/sayhello.db",
        },
        setup=[["-m", "flask", "initdb"]],
    ),
    App(
        "todoism",
        "greyli/todoism",
        "Flask book app (2020), factory, Flask-Login, Babel, Pipfile.lock, forms sent by JS",
        protected="/app",
        env={
            "FLASK_APP": "todoism",
            "FLASK_CONFIG": "production",
            "SECRET_KEY": "real-apps-walk-secret",
            "DATABASE_URL": "sqlite:///{tmp}/todoism.db",
        },
        setup=[["-m", "flask", "initdb"]],
    ),
    App(
        "snakeeyes",
        "nickjj/build-a-saas-app-with-flask",
        "Flask 3 + Celery, Dockerfile (python:3.13), factory in CMD, .env.example, SERVER_NAME",
        form="/contact",
        env={
            "SECRET_KEY": "real-apps-walk-secret",
            "SERVER_NAME": HOST,
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": "1025",
            "MAIL_USE_TLS": "false",
        },
    ),
    App(
        "discover-flask",
        "realpython/discover-flask",
        "Flask tutorial (2014 pins, Python 2), Procfile, Flask-Migrate",
        protected="/",
        form="/login",
        env={
            "APP_SETTINGS": "config.ProductionConfig",
            "DATABASE_URL": "sqlite:///{tmp}/discover.db",
        },
        setup=[["db_create.py"]],
    ),
    App(
        "flask-foundation",
        "JackStouffer/Flask-Foundation",
        "Flask template (2021), factory named in .flaskenv, Flask-Assets",
        protected="/restricted",
        form="/login",
    ),
    App(
        "flaskblog",
        "CoreyMSchafer/code_snippets",
        "Flask tutorial blog in a subfolder (2018 pins), factory, Pillow",
        subdir="Python/Flask_Blog/13-Deployment-Linode",
        protected="/account",
        form="/login",
        env={
            "SECRET_KEY": "real-apps-walk-secret",
            "SQLALCHEMY_DATABASE_URI": "sqlite:///{tmp}/site.db",
            "EMAIL_USER": "walk",
            "EMAIL_PASS": "walk",
        },
        setup=[
            [
                "-c",
                "from flaskblog import db, create_app; "
                "create_app().app_context().push(); db.create_all()",
            ]
        ],
    ),
    App(
        "pypiserver",
        "pypiserver/pypiserver",
        "installed-package app (Bottle), pyproject + uv.lock, factory pypiserver:app()",
        home="/simple/",
    ),
    App(
        "pyramid-blogr",
        "Pylons/pyramid_blogr",
        "Pyramid tutorial (2018), setup.py, PasteDeploy production.ini",
        form="/register",
        setup=[["-m", "pyramid_blogr.scripts.initialize_db", "production.ini"]],
    ),
    App(
        "dash-on-az",
        "JimmySunDance/dash-on-az",
        "Plotly Dash, server = app.server, app in a folder, Dockerfile CMD",
    ),
]

#: A fourth group of Django apps: ``--group fourth``.
FOURTH = [
    App(
        "healthchecks",
        "healthchecks/healthchecks",
        "Django 6.1, django-compressor with COMPRESS_OFFLINE, WhiteNoise, settings from env",
        protected="/projects/add/",
        form="/accounts/login/",
        env={
            "SECRET_KEY": "real-apps-walk-secret",
            "DEBUG": "False",
            "SITE_ROOT": f"https://{HOST}",
            "DB_NAME": "{tmp}/hc.sqlite",
        },
        setup=[["manage.py", "migrate", "--noinput"]],
    ),
    App(
        "babybuddy",
        "babybuddy/babybuddy",
        "Django 5.2, settings package named by DJANGO_SETTINGS_MODULE only, committed "
        "static manifest, Pipfile + requirements with -i, runtime.txt 3.11",
        protected="/dashboard/",
        form="/login/",
        env={
            "DJANGO_SETTINGS_MODULE": "babybuddy.settings.base",
            "SECRET_KEY": "real-apps-walk-secret",
            "ALLOWED_HOSTS": HOST,
            "DATABASE_URL": "sqlite:///{tmp}/babybuddy.db",
        },
        setup=[["manage.py", "migrate", "--noinput"]],
        # requirements.txt names https://pypi.python.org/simple, PyPI's old host name (it
        # redirects to pypi.org), which this machine cannot resolve.
        build_env={"UV_INDEX_URL": "https://pypi.org/simple"},
    ),
    App(
        "parsifal",
        "vitorfs/parsifal",
        "Django 4.1 (2022), requirements/ folder only, wsgi.py and manage.py name "
        "different settings, django-compressor, decouple",
        protected="/reviews/new/",
        form="/login/",
        env={
            "SECRET_KEY": "real-apps-walk-secret",
            "DEBUG": "False",
            "DATABASE_URL": "sqlite:///{tmp}/parsifal.db",
            "ALLOWED_HOSTS": f"{HOST},127.0.0.1",
            "EMAIL_HOST": "localhost",
            "EMAIL_PORT": "25",
            "EMAIL_HOST_USER": "walk",
            "EMAIL_HOST_PASSWORD": "walk",
            "EMAIL_USE_TLS": "False",
        },
        setup=[["manage.py", "migrate", "--noinput", "--settings=parsifal.settings.production"]],
    ),
    App(
        "djangox",
        "wsvincent/djangox",
        "Django 5.1 starter, django-allauth, debug toolbar, settings hard-coded",
        protected="/accounts/email/",
        form="/accounts/login/",
        setup=[["manage.py", "migrate", "--noinput"]],
    ),
    App(
        "hellodjango-blog",
        "HelloGitHub-Team/HelloDjango-blog-tutorial",
        "Django 2.2 (2020), Pipfile.lock, settings package, haystack + Elasticsearch",
        protected="/admin/",
        form="/admin/login/",
        env={"DJANGO_SECRET_KEY": "real-apps-walk-secret"},
        setup=[["manage.py", "migrate", "--noinput", "--settings=blogproject.settings.production"]],
    ),
    App(
        "djangoblog",
        "liangliangyy/DjangoBlog",
        "Django 5.2 blog, MySQL (mysqlclient), django-compressor, Whoosh, frontend built by npm",
        protected="/admin/",
        form="/login/",
        env={"DJANGO_SECRET_KEY": "real-apps-walk-secret", "DJANGO_DEBUG": "False"},
        setup=[["manage.py", "migrate", "--noinput"]],
    ),
    App(
        "pythonic-news",
        "sebst/pythonic-news",
        "Django 2.2 (2019), frozen macOS pins with dev tools, LOGIN redirects",
        protected="/submit",
        form="/accounts/login/",
        setup=[["manage.py", "migrate", "--noinput"]],
    ),
    App(
        "drf-tutorial",
        "encode/rest-framework-tutorial",
        "Django 6.1 + DRF, uv project (uv.lock, requires-python ==3.13.*), Procfile, app.json",
        form="/api-auth/login/",
        env={
            "ENVIRONMENT": "production",
            "SECRET_KEY": "real-apps-walk-secret",
            "DATABASE_URL": "sqlite:///{tmp}/tutorial.db",
        },
        setup=[["manage.py", "migrate", "--noinput"]],
    ),
    App(
        "beginners-guide",
        "sibtc/django-beginners-guide",
        "Django 1.11 (2017), decouple, .env.example, LOGIN_URL",
        protected="/settings/account/",
        form="/login/",
        env={
            "SECRET_KEY": "real-apps-walk-secret",
            "DEBUG": "False",
            "ALLOWED_HOSTS": f"{HOST},127.0.0.1",
            "DATABASE_URL": "sqlite:///{tmp}/boards.db",
        },
        setup=[["manage.py", "migrate", "--noinput"]],
    ),
    App(
        "linkding",
        "sissbruecker/linkding",
        "Django 6 bookmarks, uv project with uwsgi, settings package chosen in uwsgi.ini, "
        "data/ folder",
        protected="/bookmarks",
        form="/login/",
        setup=[["manage.py", "generate_secret_key"], ["manage.py", "migrate", "--noinput"]],
    ),
]

#: A sixth group of Flask and plain-WSGI apps: ``--group sixth``.
SIXTH = [
    App(
        "microblog-api",
        "miguelgrinberg/microblog-api",
        "Flask 3 API (APIFairy, Alchemical, Alembic), pip-compile pins + pyproject, Procfile, "
        "app.json",
        protected="/api/me",
        env={
            "SECRET_KEY": "real-apps-walk-secret",
            "DATABASE_URL": "sqlite:///{tmp}/microblog-api.db",
        },
        setup=[["-m", "alembic", "upgrade", "head"]],
    ),
    App(
        "flaskr-tdd",
        "mjhea0/flaskr-tdd",
        "Flask 3 in a package, module-level app, Procfile, runtime.txt 3.12, Flask-SQLAlchemy",
        form="/login",
        env={"DATABASE_URL": "sqlite:///{tmp}/flaskr.db"},
        setup=[["create_db.py"]],
    ),
    App(
        "argon-dashboard",
        "app-generator/flask-argon-dashboard",
        "Flask 2.2 dashboard, factory + blueprints, Flask-Login/WTF/Migrate/RESTX, render.yaml, "
        "Dockerfile, gunicorn-cfg.py",
        protected="/index",
        form="/login",
        env={"SECRET_KEY": "real-apps-walk-secret"},
    ),
    App(
        "smorest-api",
        "tecladocode/rest-apis-flask-python",
        "Flask-Smorest API in a course folder, factory create_app(db_url=None), Flask-Migrate, "
        ".python-version, Dockerfile running flask run",
        subdir="project/06-add-db-migrations",
        home="/store",
        setup=[["-m", "flask", "--app", "app", "db", "upgrade"]],
    ),
    App(
        "admin-babel",
        "pallets-eco/flask-admin",
        "Flask-Admin + Flask-Babel example, uv pyproject only, path source ../../",
        subdir="examples/babel",
        protected="/admin/user/",
    ),
    App(
        "wtform-tutorial",
        "hackersandslackers/flask-wtform-tutorial",
        "Flask-WTF, Poetry project, factory in a package, wsgi.py, gunicorn.conf.py",
        form="/contact",
        env={"SECRET_KEY": "real-apps-walk-secret"},
    ),
    App(
        "falcon-look",
        "falconry/falcon",
        "Falcon tutorial app, get_app() factory, requirements/ folder without .txt",
        subdir="examples/look",
        home="/images",
        env={"LOOK_STORAGE_PATH": "{tmp}"},
    ),
    App(
        "heroku-bottle",
        "yuu-eguci/heroku-bottle",
        "Bottle (2019), Pipfile + requirements.txt, Procfile 'python app.py', run() at import",
        home="/tpl",
    ),
]

#: A fifth group of Django apps: ``--group fifth``.
FIFTH = [
    App(
        "getting-started",
        "heroku/python-getting-started",
        "Django 6 Heroku starter, WhiteNoise, gunicorn.conf.py, .python-version 3.14, app.json",
        env={"DJANGO_SECRET_KEY": "real-apps-walk-secret"},
        setup=[["manage.py", "migrate", "--noinput"]],
    ),
    App(
        "djangocms-quickstart",
        "django-cms/django-cms-quickstart",
        "django CMS 4 (CMS), pip-compile requirements with uwsgi, WhiteNoise, i18n, Dockerfile",
        protected="/admin/",
        form="/admin/login/",
        env={
            "SECRET_KEY": "real-apps-walk-secret",
            "DATABASE_URL": "sqlite:///{tmp}/cms.db",
            "DOMAIN": HOST,
            "SECURE_SSL_REDIRECT": "False",
            "DEFAULT_STORAGE_DSN": "file:///{tmp}/media/?url=%2Fmedia%2F",
        },
        setup=[["manage.py", "migrate", "--noinput"]],
    ),
    App(
        "celery-project",
        "testdrivenio/django-celery-project",
        "Django 5.1 + Celery + Channels, sqlite shipped, settings from env, compose files",
        home="/form/",
        protected="/admin/",
        form="/admin/login/",
        env={
            "DEBUG": "0",
            "SECRET_KEY": "real-apps-walk-secret",
            "DJANGO_ALLOWED_HOSTS": "*",
            "SQL_DATABASE": "{tmp}/celery.db",
            "CELERY_BROKER": "redis://127.0.0.1:6379/0",
            "CELERY_BACKEND": "redis://127.0.0.1:6379/0",
            "CHANNELS_REDIS": "redis://127.0.0.1:6379/0",
        },
        setup=[["manage.py", "migrate", "--noinput"]],
    ),
    App(
        "drfx",
        "wsvincent/drfx",
        "Django 3.1 + DRF (2020), Pipfile without lock pins, custom user model, allauth",
        home="/api-auth/login/",
        protected="/admin/",
        form="/api-auth/login/",
        setup=[["manage.py", "migrate", "--noinput"]],
    ),
    App(
        "shynet",
        "milesmcc/shynet",
        "Django 4 analytics, Poetry project, manage.py in a subfolder, Celery, WhiteNoise",
        protected="/dashboard/",
        form="/accounts/login/",
        env={
            "DJANGO_SECRET_KEY": "real-apps-walk-secret",
            "ALLOWED_HOSTS": HOST,
            "CSRF_TRUSTED_ORIGINS": f"https://{HOST}",
            "SQLITE": "True",
            "DB_NAME": "{tmp}/shynet.db",
            "ACCOUNT_EMAIL_VERIFICATION": "none",
        },
        setup=[["shynet/manage.py", "migrate", "--noinput"]],
    ),
    App(
        "wagtail-guide",
        "wagtail/guide",
        "Wagtail 7 user guide, Poetry with groups, wagtail-localize (i18n), Python >=3.14, "
        "webpack frontend",
        protected="/admin/",
        form="/admin/login/",
        env={"SECRET_KEY": "real-apps-walk-secret", "DATABASE_URL": "sqlite:///{tmp}/guide.db"},
        # Without a REDIS_URL its settings cache in the database: its Makefile and settings
        # say to run createcachetable.
        setup=[["manage.py", "migrate", "--noinput"], ["manage.py", "createcachetable"]],
    ),
    App(
        "ephios",
        "ephios-dev/ephios",
        "Django 5.2 shift planner, src layout, uv.lock, django-environ, i18n, compressor",
        protected="/events/",
        form="/accounts/login/",
        env={
            "DEBUG": "False",
            "SECRET_KEY": "real-apps-walk-secret",
            "DATABASE_URL": "sqlite:///{tmp}/ephios.db",
            "ALLOWED_HOSTS": HOST,
            "SITE_URL": f"https://{HOST}{PREFIX}",
            "EMAIL_URL": "consolemail://",
            "DEFAULT_FROM_EMAIL": "webmaster@localhost",
            "SERVER_EMAIL": "root@localhost",
            "ADMINS": "Root User <root@localhost>",
            "DATA_DIR": "{tmp}/data",
        },
        setup=[["manage.py", "migrate", "--noinput"]],
    ),
    App(
        "bookstore",
        "wsvincent/djangoforprofessionals",
        "Django 4.0 book app in a subfolder, environs, custom user model, allauth, "
        "committed staticfiles, heroku.yml",
        subdir="ch18-deployment",
        protected="/books/",
        form="/accounts/login/",
        env={
            "DJANGO_SECRET_KEY": "real-apps-walk-secret",
            "DATABASE_URL": "sqlite:///{tmp}/books.db",
        },
        setup=[["manage.py", "migrate", "--noinput"]],
    ),
]

#: A seventh group of tutorials and small products a new user brings: ``--group seventh``.
SEVENTH = [
    App(
        "django-todo",
        "shreys7/django-todo",
        "Django todo tutorial (2019-2022), no requirements file, sqlite and staticfiles committed",
        setup=[["manage.py", "migrate", "--noinput"]],
    ),
    App(
        "poll-app",
        "devmahmud/Django-Poll-App",
        "Django 4.2 polls tutorial with accounts, DEBUG on, ALLOWED_HOSTS empty, seeder script",
        protected="/polls/list/",
        form="/accounts/login/",
        setup=[["manage.py", "migrate", "--noinput"]],
    ),
    App(
        "dfb-blog",
        "wsvincent/djangoforbeginners",
        "Django book blog with login (ch08), no requirements file, templates at the top",
        subdir="ch08-blog-users",
        protected="/post/new/",
        form="/accounts/login/",
        setup=[["manage.py", "migrate", "--noinput"]],
    ),
    App(
        "azure-quickstart",
        "Azure-Samples/msdocs-python-django-webapp-quickstart",
        "Django quickstart, production settings chosen by Azure's WEBSITE_HOSTNAME, unpinned "
        "requirements, azure.yaml",
        env={"SECRET_KEY": "real-apps-walk-secret"},
    ),
    App(
        "bootcamp",
        "vitorfs/bootcamp",
        "Django 2 social network (2018-2020), settings package, Channels, django-environ, "
        "runtime.txt 3.6, Procfile daphne",
        protected="/news/",
        form="/accounts/login/",
        env={
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "DATABASE_URL": "sqlite:///{tmp}/bootcamp.db",
            "SECRET_KEY": "real-apps-walk-secret",
            "ALLOWED_HOSTS": "*",
            "ADMIN_URL": "admin/",
            "REDIS_URL": "redis://127.0.0.1:6379",
            "SECURE_SSL_REDIRECT": "False",
            "AWS_ACCESS_KEY_ID": "",
            "AWS_SECRET_ACCESS_KEY": "",
            "AWS_STORAGE_BUCKET_NAME": "",
            "MAILGUN_API_KEY": "",
            "MAILGUN_SENDER_DOMAIN": "",
            "SENTRY_DSN": "",
        },
        setup=[["manage.py", "migrate", "--noinput"]],
    ),
    App(
        "rest-auth",
        "miguelgrinberg/REST-auth",
        "Flask REST API with HTTP auth (2013-2022), single api.py, sqlite beside the code",
        home="/api/resource",
        protected="/api/resource",
    ),
    App(
        "restful-login",
        "melihcolpan/flask-restful-login",
        "Flask-RESTful API with JWT, create_app() in main.py, sqlite path beside the code",
        protected="/data_user",
        env={
            "SECRET_KEY": "real-apps-walk-secret",
            "JWT_SECRET": "real-apps-walk-jwt",
            "REFRESH_JWT_SECRET": "real-apps-walk-refresh",
        },
    ),
    App(
        "tinly",
        "edwardmuss/bitly_clone_flask",
        "Flask URL shortener with Flask-Login (2022), venv committed, uwsgi ini, "
        "sqlite beside the code",
        protected="/dashboard",
        form="/login",
    ),
]

#: An eighth group of Flask and Django apps of different shapes: ``--group eighth``.
EIGHTH = [
    App(
        "flask-web-app",
        "techwithtim/Flask-Web-App-Tutorial",
        "Flask notes tutorial (2021-2024), website/ package, main.py, Flask-SQLAlchemy with "
        "a relative SQLite path",
        protected="/",
        form="/login",
    ),
    App(
        "learning-log",
        "ehmatthes/pcc_3e",
        "Django 4.1 book project (ch. 20), platformshconfig, a beta Django pin, DEBUG on",
        subdir="chapter_20/deploying_learning_log",
        protected="/topics/",
        form="/accounts/login/",
        setup=[["manage.py", "migrate", "--noinput"]],
    ),
    App(
        "flask-on-docker",
        "testdrivenio/flask-on-docker",
        "Flask in services/web, a Flask CLI manage.py, .env.prod-sample, Dockerfile.prod",
        subdir="services/web",
        # Its .env.prod-sample names the app for its manage.py (a Flask CLI).
        env={"DATABASE_URL": "sqlite:///{tmp}/hello.db", "FLASK_APP": "project/__init__.py"},
        setup=[["manage.py", "create_db"]],
    ),
    App(
        "recipe-api",
        "LondonAppDeveloper/recipe-app-api",
        "Django 2.1 DRF API (2019), project in app/, requirements at the root, PostgreSQL",
        protected="/admin/",
        form="/admin/login/",
        env={"DB_HOST": "127.0.0.1", "DB_NAME": "app", "DB_USER": "app", "DB_PASS": "app"},
        setup=[["manage.py", "migrate", "--noinput"]],
    ),
    App(
        "flaskbb",
        "flaskbb/flaskbb",
        "Flask forum product, uv.lock, requirements with '-e .', wsgi.py naming its config file",
        form="/auth/login",
    ),
    App(
        "searxng",
        "searxng/searxng",
        "Flask metasearch product, app in searx/webapp.py, granian in a container entrypoint, "
        "settings.yml",
        env={"SEARXNG_SECRET": "real-apps-walk-secret"},
    ),
    App(
        "lithium",
        "wsvincent/lithium",
        "Django 6 starter, uv.lock, django-allauth, debug toolbar, ALLOWED_HOSTS hard-coded",
        protected="/admin/",
        form="/accounts/login/",
        setup=[["manage.py", "migrate", "--noinput"]],
    ),
    App(
        "isso",
        "posativ/isso",
        "comment server (plain WSGI on Werkzeug), setup.py, config file, misaka (C extension)",
    ),
    App(
        "flask-bones",
        "cburmeister/flask-bones",
        "Flask app (2019), factory, Flask-Babel, Flask-Assets, PostgreSQL, memcached, RQ",
        form="/login",
    ),
    App(
        "pinry",
        "pinry/pinry",
        "Django 3 pin board, Poetry + requirements with a mirror index, settings package, "
        "a Vue frontend",
        protected="/admin/",
        form="/admin/login/",
        setup=[["manage.py", "migrate", "--noinput"]],
    ),
    App(
        "soft-ui",
        "app-generator/flask-soft-ui-dashboard",
        "Flask dashboard template, .env committed, committed SQLite, Dockerfile with "
        "gunicorn-cfg.py, ASSETS_ROOT",
        protected="/index",
        form="/login",
        env={"SECRET_KEY": "real-apps-walk-secret"},
    ),
    App(
        "django-blog",
        "CoreyMSchafer/code_snippets",
        "Django 2.1 tutorial blog (Heroku chapter), Pillow, django-storages, Procfile",
        subdir="Django_Blog/13-Deployment-Heroku/django_project",
        protected="/profile/",
        form="/login/",
        env={
            "SECRET_KEY": "real-apps-walk-secret",
            "DEBUG_VALUE": "False",
            "EMAIL_USER": "walk",
            "EMAIL_PASS": "walk",
        },
        setup=[["manage.py", "migrate", "--noinput"]],
    ),
]

#: Platform starter apps: what a user moving off another PaaS brings, with that platform's
#: settings given as its docs name them. The PostgreSQL ones need a server at 127.0.0.1
#: with a role and database ``app`` (password ``app``).
NINTH = [
    App(
        "do-django",
        "digitalocean/sample-django",
        "DigitalOcean App Platform Django sample, dj-database-url, DJANGO_ALLOWED_HOSTS",
        protected="/admin/",
        form="/admin/login/",
        env={
            "DATABASE_URL": "sqlite:///{tmp}/db.sqlite3",
            "DJANGO_ALLOWED_HOSTS": f"{HOST},127.0.0.1",
        },
        setup=[["manage.py", "migrate", "--noinput"]],
    ),
    App(
        "do-flask",
        "digitalocean/sample-flask",
        "DigitalOcean App Platform Flask sample, Procfile with a gunicorn config file",
    ),
    App(
        "az-flask-pg",
        "Azure-Samples/msdocs-flask-postgresql-sample-app",
        "Azure App Service Flask sample, Flask-Migrate, PostgreSQL from DB* variables",
        form="/create",
        env={"DBUSER": "app", "DBPASS": "app", "DBHOST": "127.0.0.1", "DBNAME": "app"},
        setup=[["-m", "flask", "--app", "app.py", "db", "upgrade"]],
    ),
    App(
        "az-django-pg",
        "Azure-Samples/msdocs-django-postgresql-sample-app",
        "Azure App Service Django sample, production settings picked by WEBSITE_HOSTNAME, "
        "PostgreSQL, django-redis sessions",
        form="/create",
        protected="/admin/",
        env={
            "WEBSITE_HOSTNAME": HOST,
            "SECRET_KEY": "real-apps-walk-secret",
            "AZURE_POSTGRESQL_NAME": "app",
            "AZURE_POSTGRESQL_HOST": "127.0.0.1",
            "AZURE_POSTGRESQL_USER": "app",
            "AZURE_POSTGRESQL_PASSWORD": "app",
            "AZURE_REDIS_CONNECTIONSTRING": "redis://127.0.0.1:6379/2",
        },
        setup=[["manage.py", "migrate", "--noinput"]],
    ),
    App(
        "render-django",
        "render-examples/django",
        "Render Django example, ALLOWED_HOSTS from RENDER_EXTERNAL_HOSTNAME, build.sh",
        protected="/admin/",
        form="/admin/login/",
        env={
            "RENDER": "1",
            "RENDER_EXTERNAL_HOSTNAME": HOST,
            "SECRET_KEY": "real-apps-walk-secret",
            "DATABASE_URL": "postgresql://app:app@127.0.0.1:5432/app",
        },
        setup=[["manage.py", "migrate", "--noinput"]],
    ),
    App(
        "login-register",
        "egorsmkv/simple-django-login-and-register",
        "Django login/sign-up starter, project in source/, uv.lock, SQLite in the code folder",
        form="/accounts/log-in/",
        setup=[["source/manage.py", "migrate", "--noinput"]],
    ),
    App(
        "fly-django",
        "fly-apps/hello-django",
        "Fly.io Django example, ALLOWED_HOSTS from FLY_APP_NAME, Dockerfile, fly.toml statics",
        protected="/admin/",
        form="/admin/login/",
        env={"FLY_APP_NAME": ACCOUNT},
    ),
    App(
        "celery-example",
        "miguelgrinberg/flask-celery-example",
        "Flask with Celery on Redis and Flask-Mail, everything pinned as of 2020 (Flask 1.1.1)",
    ),
    App(
        "render-flask",
        "render-examples/flask-hello-world",
        "Render Flask hello world",
    ),
    App(
        "railway-django",
        "railwayapp-templates/django",
        "Railway Django template, railway.json start command, PostgreSQL from PG* variables, "
        "no home page",
        home="/admin/login/",
        protected="/admin/",
        form="/admin/login/",
        env={
            "PGDATABASE": "app",
            "PGUSER": "app",
            "PGPASSWORD": "app",
            "PGHOST": "127.0.0.1",
            "PGPORT": "5432",
        },
        setup=[["manage.py", "migrate", "--noinput"]],
    ),
]

#: Larger products and sandboxes: their own production settings, several settings modules,
#: a project one folder down.
TENTH = [
    App("djangogirls", "DjangoGirls/djangogirls", "Django site of a real organisation, Procfile"),
    App(
        "pythondotorg",
        "python/pythondotorg",
        "python.org's Django site, apps/ package, Procfile, .python-version 3.14",
        env={"DATABASE_URL": "postgres://app:app@127.0.0.1:5432/pydotorg"},
        # Its Makefile's set-up: the migrations, then the database cache's table.
        setup=[["manage.py", "migrate", "--noinput"], ["manage.py", "createcachetable"]],
    ),
    App(
        "wger",
        "wger-project/wger",
        "Django fitness product, uv.lock, settings/ at the root, a Celery app named app",
        env={
            "DJANGO_DB_ENGINE": "django.db.backends.postgresql",
            "DJANGO_DB_DATABASE": "wger",
            "DJANGO_DB_USER": "app",
            "DJANGO_DB_PASSWORD": "app",
            "DJANGO_DB_HOST": "127.0.0.1",
            "SECRET_KEY": "real-apps-walk-secret",
        },
        setup=[["manage.py", "migrate", "--noinput"]],
    ),
    App(
        "oscar-sandbox",
        "django-oscar/django-oscar",
        "Django e-commerce framework's sandbox site",
        subdir="sandbox",
    ),
    App("radicale", "Kozea/Radicale", "CalDAV server, plain WSGI, pyproject.toml"),
    App("redash", "getredash/redash", "Flask BI product, Poetry, many compiled pins"),
    App(
        "taiga",
        "taigaio/taiga-back",
        "Django project-management API, settings/ package, PostgreSQL taiga/taiga in its code",
        home="/api/v1/",
        setup=[["manage.py", "migrate", "--noinput"]],
    ),
    App("netbox", "netbox-community/netbox", "Django product, project in netbox/, PostgreSQL"),
    App("flask-boilerplate", "realpython/flask-boilerplate", "Flask boilerplate, no requirements"),
    App(
        "silk-project",
        "jazzband/django-silk",
        "Django profiler's example project, requirements at the root",
        subdir="project",
    ),
]

GROUPS = {
    "first": APPS,
    "second": SECOND,
    "third": THIRD,
    "fourth": FOURTH,
    "fifth": FIFTH,
    "sixth": SIXTH,
    "seventh": SEVENTH,
    "eighth": EIGHTH,
    "ninth": NINTH,
    "tenth": TENTH,
    "samples": SAMPLES,
}


@dataclass
class Result:
    app: App
    commit: str = ""
    migrate: str = "not run"
    seconds: float = 0.0
    zip_bytes: int = 0
    python: str = ""
    steps: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def no_workaround(self) -> bool:
        return (
            self.migrate == "ok"
            and all(not v.startswith("FAIL") for v in self.steps.values())
            and bool(self.steps)
        )


def export(mirror: Path, app: App, into: Path) -> str:
    git_dir = mirror / app.repo.replace("/", "+") / "repo"
    commit = subprocess.run(
        ["git", "-C", str(git_dir), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    archive = subprocess.run(
        [
            "git",
            "-C",
            str(git_dir),
            "archive",
            "--format=tar",
            "HEAD",
            *([app.subdir] if app.subdir else []),
        ],
        capture_output=True,
    )
    if archive.returncode == 0:
        subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    else:
        _export_present(git_dir, app.subdir, into)
    return commit


def _export_present(git_dir: Path, subdir: str, into: Path) -> None:
    """Write the tree file by file, leaving out the large blobs a snapshot does not hold, each
    with the commit's time, as ``git archive`` (and a download of the repository) gives."""
    when = int(
        subprocess.run(
            ["git", "-C", str(git_dir), "log", "-1", "--format=%ct", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    listing = subprocess.run(
        ["git", "-C", str(git_dir), "ls-tree", "-r", "-z", "HEAD", *([subdir] if subdir else [])],
        capture_output=True,
        check=True,
    ).stdout.decode()
    for entry in filter(None, listing.split("\0")):
        meta, path = entry.split("\t", 1)
        mode, kind, sha = meta.split()
        if kind != "blob":
            continue
        blob = subprocess.run(
            ["git", "-C", str(git_dir), "cat-file", "blob", sha], capture_output=True
        )
        if blob.returncode != 0:
            print(f"  (not in the snapshot, left out: {path})", flush=True)
            continue
        target = into / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if mode == "120000":
            target.symlink_to(blob.stdout.decode())
        else:
            target.write_bytes(blob.stdout)
            if mode == "100755":
                target.chmod(0o755)
            os.utime(target, (when, when))


#: Runs a release step (``python ARGS``) as the function's Python runs the app: with the
#: build's fcmigrate runtime answering what the app's old releases ask of a newer Python.
RELEASE_STEP = """
import os, runpy, sys
try:
    from fcmigrate.runtime.compat import install
except ImportError:
    pass
else:
    install()
args = sys.argv[1:]
if args[0] == "-m":
    sys.argv = [args[1], *args[2:]]
    runpy.run_module(args[1], run_name="__main__", alter_sys=True)
elif args[0] == "-c":
    sys.argv = ["-c", *args[2:]]
    exec(compile(args[1], "<string>", "exec"), {"__name__": "__main__"})
else:
    sys.argv = args
    # As `python path/manage.py` does: the script's folder first on the path.
    sys.path.insert(0, os.path.dirname(os.path.abspath(args[0])))
    runpy.run_path(args[0], run_name="__main__")
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


ENV_KEYS = ("environmentVariables", "EnvironmentVariables")


def _env_blocks(node: object) -> dict[str, str]:
    found: dict[str, str] = {}
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ENV_KEYS and isinstance(value, dict):
                found.update({str(k): str(v) for k, v in value.items()})
            else:
                found.update(_env_blocks(value))
    elif isinstance(node, list):
        for item in node:
            found.update(_env_blocks(item))
    return found


def deploy_env(build: Path) -> dict[str, str]:
    for name in ("s.yaml", "template.yml"):
        path = build / name
        if path.exists():
            return _env_blocks(yaml.safe_load(path.read_text()))
    return {}


def target_python(build: Path) -> str | None:
    match = re.search(r"/var/fc/lang/python(3\.\d+)/bin", (build / "bootstrap").read_text())
    return match.group(1) if match else None


def interpreter_for(version: str) -> str | None:
    for base in sorted(Path("/root/.pyenv/versions").glob(f"{version}.*")):
        candidate = base / "bin" / f"python{version}"
        if candidate.exists():
            return str(candidate)
    return shutil.which(f"python{version}")


class _Page(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.assets: list[str] = []
        self.forms: list[dict[str, object]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "link" and "stylesheet" in a.get("rel", "") and a.get("href"):
            self.assets.append(a["href"])
        elif tag in ("script", "img") and a.get("src"):
            self.assets.append(a["src"])
        elif tag == "form" and a.get("method", "get").lower() == "post":
            self.forms.append({"action": a.get("action", ""), "fields": {}})
        elif tag in ("input", "textarea") and self.forms and a.get("name"):
            kind = a.get("type", "text").lower()
            value = a.get("value", "")
            if kind in ("text", "password", "email") or tag == "textarea":
                value = value or "fcmigrate-walk"
            if kind not in ("submit", "checkbox", "radio", "file", "image", "button"):
                self.forms[-1]["fields"][a["name"]] = value  # type: ignore[index]


class Client:
    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        send = {
            "Host": HOST,
            "User-Agent": "fcmigrate-real-apps",
            "x-fc-request-id": os.urandom(8).hex(),
        }
        if self.cookies:
            send["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        send.update(headers or {})
        conn.request(method, path, body=body, headers=send)
        resp = conn.getresponse()
        data = resp.read()
        for key, value in resp.getheaders():
            if key.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        hdrs = {k.lower(): v for k, v in resp.getheaders()}
        conn.close()
        return resp.status, hdrs, data


def local_path(url: str, base: str) -> str | None:
    """``url`` as seen from page ``base`` -> a path on this server, or None if elsewhere."""
    joined = urllib.parse.urljoin(f"https://{HOST}{base}", url)
    parts = urllib.parse.urlsplit(joined)
    if parts.netloc != HOST:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def follow(client: Client, path: str, steps: int = 6) -> tuple[int, str, bytes, str | None]:
    """GET ``path``, following redirects; the last status, path, body and any bad Location."""
    for _ in range(steps):
        status, headers, body = client.request("GET", path)
        if status in (301, 302, 303, 307, 308) and "location" in headers:
            nxt = local_path(headers["location"], path)
            if nxt is None or (not nxt.startswith(PREFIX + "/") and nxt != PREFIX):
                return status, path, body, headers["location"]
            path = nxt
            continue
        return status, path, body, None
    return status, path, body, None


def walk(client: Client, app: App) -> dict[str, str]:
    steps: dict[str, str] = {}
    status, path, body, escaped = follow(client, PREFIX + app.home)
    if escaped:
        steps["home"] = f"FAIL redirect left the prefix: {escaped}"
    else:
        steps["home"] = (
            f"{status} {path[len(PREFIX) :] or '/'}"
            if status < 400
            else f"FAIL {status} {path[len(PREFIX) :]}"
        )
    page = _Page()
    page.feed(body.decode("utf-8", "replace"))
    asset = next((p for p in (local_path(a, path) for a in page.assets) if p), None)
    if asset is None:
        steps["asset"] = "n/a (no local asset linked)"
    else:
        a_status, _, _ = client.request("GET", asset)
        ok = a_status == 200 and asset.startswith(PREFIX)
        shown = asset[len(PREFIX) :] if asset.startswith(PREFIX) else asset
        steps["asset"] = f"{'' if ok else 'FAIL '}{a_status} {shown}"
    if app.protected:
        p_status, headers, _ = client.request("GET", PREFIX + app.protected)
        location = headers.get("location", "")
        if p_status in (301, 302, 303, 307, 308):
            target = local_path(location, PREFIX + app.protected)
            ok = target is not None and target.startswith(PREFIX + "/")
            steps["redirect"] = f"{'' if ok else 'FAIL '}{p_status} -> {location}"
        else:
            steps["redirect"] = f"{'FAIL ' if p_status >= 500 else ''}{p_status} (no redirect)"
    if app.form:
        f_status, f_path, f_body, escaped = follow(client, PREFIX + app.form)
        form_page = _Page()
        form_page.feed(f_body.decode("utf-8", "replace"))
        if escaped or f_status >= 400 or not form_page.forms:
            steps["post"] = f"FAIL form page {f_status} {escaped or ''}".strip()
        else:
            form = form_page.forms[0]
            action = local_path(str(form["action"]) or f_path, f_path) or f_path
            data = urllib.parse.urlencode(form["fields"]).encode()  # type: ignore[arg-type]
            s, h, _ = client.request(
                "POST",
                action,
                body=data,
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Referer": f"https://{HOST}{f_path}",
                    "Origin": f"https://{HOST}",
                },
            )
            loc = h.get("location", "")
            bad = (
                s >= 500
                or s == 403
                or (loc and not (local_path(loc, action) or "").startswith(PREFIX))
            )
            steps["post"] = f"{'FAIL ' if bad else ''}{s}{' -> ' + loc if loc else ''}"
    return steps


def serve_and_walk(build: Path, app: App, result: Result, logs: Path) -> None:
    version = target_python(build)
    python = interpreter_for(version) if version else None
    result.python = version or "?"
    if python is None:
        result.steps["serve"] = f"FAIL no Python {version} here"
        return
    port = free_port()
    home = Path(tempfile.mkdtemp(prefix="fc-tmp-"))
    env = {
        "PATH": f"{Path(python).parent}:/usr/bin:/bin",
        "HOME": str(home),
        "TMPDIR": str(home),
        "FC_SERVER_PORT": str(port),
        "FC_FUNCTION_NAME": "fn",
        "FC_SERVICE_NAME": "svc",
        "FC_REGION": REGION,
        "FC_ACCOUNT_ID": ACCOUNT,
        "FC_FUNC_CODE_PATH": str(build) + "/",
        "FCMIGRATE_PYTHON": python,
    }
    given = {name: value.format(tmp=home) for name, value in app.env.items()}
    for name, value in deploy_env(build).items():
        # What `s deploy` does with ${env('NAME')}: the deployer's value.
        reference = re.fullmatch(r"\$\{env\('(\w+)'\)\}", value)
        env[name] = given.get(reference.group(1), "") if reference else value
    env.update(given)
    for step in app.setup:
        run = subprocess.run(
            [python, "-c", RELEASE_STEP, *step],
            cwd=build,
            env={**env, "PYTHONPATH": f"{build}/python:{build}"},
            capture_output=True,
            text=True,
            timeout=300,
        )
        (logs / f"{app.name.replace('/', '_')}.setup.log").write_text(run.stdout + run.stderr)
        if run.returncode != 0:
            result.steps["setup"] = f"FAIL {' '.join(step)}"
            return
    script = (
        'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && cd "$1" && exec ./bootstrap'
    )
    log = open(logs / f"{app.name.replace('/', '_')}.serve.log", "wb")
    proc = subprocess.Popen(
        ["unshare", "-m", "sh", "-c", script, "sh", str(build)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                result.steps["serve"] = "FAIL exited at start (see log)"
                return
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.3)
        else:
            result.steps["serve"] = "FAIL did not listen in 60 s"
            return
        try:
            result.steps.update(walk(Client(port), app))
        except Exception as exc:
            result.steps["walk"] = f"FAIL {type(exc).__name__}: {exc}"
    finally:
        stop(proc)
        log.close()
        shutil.rmtree(home, ignore_errors=True)


def stop(proc: subprocess.Popen[bytes]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(15)
            return
        except subprocess.TimeoutExpired:
            continue


def run_app(
    mirror: Path, app: App, scratch: Path, logs: Path, *, migrate_only: bool = False
) -> Result:
    result = Result(app)
    slug = app.name.replace("/", "_")
    project = scratch / slug
    project.mkdir()
    result.commit = export(mirror, app, project)
    if app.subdir:
        project = project / app.subdir
    started = time.monotonic()
    tmp = scratch / f"{slug}-tmp"
    tmp.mkdir()
    env_args = [f"--env={k}={v.format(tmp=tmp)}" for k, v in app.env.items()]
    proc = subprocess.run(
        [*FCMIGRATE, "migrate", str(project), *env_args],
        capture_output=True,
        text=True,
        env={**os.environ, **app.build_env},
    )
    result.seconds = time.monotonic() - started
    (logs / f"{slug}.migrate.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        errors = [
            line for line in (proc.stdout + proc.stderr).splitlines() if line.startswith("Error")
        ]
        result.migrate = "FAIL " + (
            errors[-1] if errors else (proc.stderr.strip().splitlines() or ["?"])[-1]
        )
        return result
    result.migrate = "ok"
    zip_path = project / ".fcmigrate" / "code.zip"
    result.zip_bytes = zip_path.stat().st_size if zip_path.exists() else 0
    if not migrate_only:
        serve_and_walk(project / ".fcmigrate" / "build", app, result, logs)
    return result


def table(results: list[Result], *, migrate_only: bool = False) -> str:
    lines = [
        "| app | shape | commit | app's own settings | migrate | time | code.zip | Python "
        "| walk | no workaround |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        walk_text = "; ".join(f"{k}: {v}" for k, v in r.steps.items()) or "-"
        own = [f"`{name}`" for name in r.app.env] + [f"`{' '.join(step)}`" for step in r.app.setup]
        lines.append(
            f"| {r.app.name} ([{r.app.repo}](https://github.com/{r.app.repo})) | {r.app.shape} | "
            f"`{r.commit[:10]}` | {', '.join(own) or '-'} | {r.migrate} | {r.seconds:.0f} s | "
            f"{r.zip_bytes / 1e6:.1f} MB | {r.python} | {walk_text} | "
            f"{'yes' if r.no_workaround else 'no'} |"
        )
    if migrate_only:
        count = sum(r.migrate == "ok" for r in results)
        lines.append(f"\n{count} of {len(results)} migrate (not served).")
    else:
        count = sum(r.no_workaround for r in results)
        lines.append(f"\n{count} of {len(results)} with no workaround.")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror", type=Path, default=Path("/work/.mirror"))
    parser.add_argument("--group", choices=sorted(GROUPS), default="first")
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument(
        "--migrate-only", action="store_true", help="migrate, but neither serve nor walk"
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="real-apps-"))
    scratch.chmod(0o755)
    logs = scratch / "logs"
    logs.mkdir()
    results = []
    for app in GROUPS[args.group]:
        if args.only and app.name not in args.only:
            continue
        result = run_app(args.mirror, app, scratch, logs, migrate_only=args.migrate_only)
        results.append(result)
        print(
            f"{app.name}: migrate {result.migrate} ({result.seconds:.0f} s) "
            f"{json.dumps(result.steps)}",
            flush=True,
        )
    print()
    print(table(results, migrate_only=args.migrate_only))
    print(f"\nlogs: {logs}")
    if args.json:
        args.json.write_text(
            json.dumps(
                [
                    {
                        "app": r.app.name,
                        "repo": r.app.repo,
                        "commit": r.commit,
                        "migrate": r.migrate,
                        "seconds": round(r.seconds, 1),
                        "zip_bytes": r.zip_bytes,
                        "python": r.python,
                        "steps": r.steps,
                        "no_workaround": r.no_workaround,
                    }
                    for r in results
                ],
                indent=2,
            )
        )
    if not args.keep:
        for app_dir in scratch.iterdir():
            if app_dir.name != "logs":
                shutil.rmtree(app_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
