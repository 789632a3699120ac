"""A Django view's unhandled exception reaches FC's log with ``DEBUG`` off.

Django prints the traceback of a 500 only with ``DEBUG`` on; in production it mails it to
``ADMINS`` and the log stays empty. A project in our own words, with no ``LOGGING``
setting, is served by ``fcmigrate serve``; another copy of it configures ``LOGGING``
itself, which fcmigrate leaves alone.
"""

from __future__ import annotations

import http.client
import sys
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from helpers import Server, launch, running

SETTINGS = """\
SECRET_KEY = "errors-test-key"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
ROOT_URLCONF = "errsite.urls"
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth"]
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
DATABASES = {}
"""
OWN_LOGGING = """
LOGGING = {
    "version": 1,
    "handlers": {"quiet": {"class": "logging.NullHandler"}},
    "loggers": {"django.request": {"handlers": ["quiet"], "propagate": False}},
}
"""
URLS = """\
from django.http import HttpResponse
from django.urls import path


def fine(request):
    return HttpResponse("fine")


def broken(request):
    raise RuntimeError("the ledger is out of balance")


urlpatterns = [path("", fine), path("broken/", broken)]
"""
WSGI = """\
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "errsite.settings")
application = get_wsgi_application()
"""
SECRET = "fc-secret-value-that-must-not-leak"


def write_project(root: Path, *, own_logging: bool) -> Path:
    package = root / "errsite"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "settings.py").write_text(SETTINGS + (OWN_LOGGING if own_logging else ""))
    (package / "urls.py").write_text(URLS)
    (package / "wsgi.py").write_text(WSGI)
    return root


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Server]]:
    base = tmp_path_factory.mktemp("django-errors")
    argv = [sys.executable, "-m", "fcmigrate", "serve", "errsite.wsgi:application"]
    argv += ["--workers", "1", "--threads", "2"]
    starts = {
        name: partial(
            launch,
            argv,
            cwd=write_project(base / name, own_logging=name == "own"),
            log_dir=base,
            drop=("DJANGO_SETTINGS_MODULE",),
        )
        for name in ("default", "own")
    }
    with running(starts) as started:
        yield started


def get(server: Server, path: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request(
            "GET",
            path,
            headers={"x-fc-request-id": "req-broken-1", "x-fc-access-key-secret": SECRET},
        )
        resp = conn.getresponse()
        return resp.status, resp.read().decode()
    finally:
        conn.close()


def logged(server: Server, text: str) -> str:
    deadline = time.monotonic() + 10
    while text not in server.stderr() and time.monotonic() < deadline:
        time.sleep(0.05)
    return server.stderr()


def test_a_500_is_logged_with_its_traceback_and_request_id(servers: dict[str, Server]) -> None:
    status, body = get(servers["default"], "/broken/")
    assert status == 500
    assert "ledger" not in body  # the client still sees Django's plain error page
    log = logged(servers["default"], "RuntimeError: the ledger is out of balance")
    assert "RuntimeError: the ledger is out of balance" in log
    lines = log.splitlines()
    first = next(line for line in lines if "Internal Server Error: /broken/" in line)
    assert "[req-broken-1]" in first and "django.request" in first
    assert log.count("Internal Server Error: /broken/") == 1
    assert SECRET not in log


def test_a_project_logging_of_its_own_is_left_alone(servers: dict[str, Server]) -> None:
    status, _ = get(servers["own"], "/broken/")
    assert status == 500
    assert get(servers["own"], "/")[0] == 200
    # The request after it is logged (access log): the 500's record had its chance.
    log = logged(servers["own"], '"GET / HTTP/1.1" 200')
    assert "Internal Server Error" not in log
    assert "the ledger is out of balance" not in log
