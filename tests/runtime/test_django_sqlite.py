"""A Django project's SQLite database in FC's read-only code folder gets a copy in /tmp.

A project in our own words keeps its database beside its code (startproject's default) and
ships it with one table. Served as on FC (FC's variables, the project as the code folder),
the shipped data is read and writes go to a copy under the instance's temporary folder,
never to the code folder. Served on a laptop, the database stays where the settings say.
"""

from __future__ import annotations

import hashlib
import http.client
import sqlite3
import sys
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from helpers import Server, launch, running

SETTINGS = """\
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "sqlite-test-key"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
ROOT_URLCONF = "dbsite.urls"
INSTALLED_APPS = ["django.contrib.contenttypes"]
MIDDLEWARE = []
DATABASES = {
    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3"}
}
"""
URLS = """\
from django.db import connection
from django.http import HttpResponse
from django.urls import path


def visit(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT word FROM shipped")
        word = cursor.fetchone()[0]
        cursor.execute("CREATE TABLE IF NOT EXISTS visits (n INTEGER)")
        cursor.execute("INSERT INTO visits VALUES (1)")
        cursor.execute("SELECT count(*) FROM visits")
        count = cursor.fetchone()[0]
    return HttpResponse(f"{word} {count} {connection.settings_dict['NAME']}")


urlpatterns = [path("", visit)]
"""
WSGI = """\
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dbsite.settings")
application = get_wsgi_application()
"""


def write_project(root: Path) -> Path:
    package = root / "dbsite"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "settings.py").write_text(SETTINGS)
    (package / "urls.py").write_text(URLS)
    (package / "wsgi.py").write_text(WSGI)
    with sqlite3.connect(root / "db.sqlite3") as db:
        db.execute("CREATE TABLE shipped (word TEXT)")
        db.execute("INSERT INTO shipped VALUES ('shipped-row')")
    return root


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    base = tmp_path_factory.mktemp("django-sqlite")
    projects = {name: write_project(base / name) for name in ("fc", "laptop")}
    tmpdir = base / "instance-tmp"
    tmpdir.mkdir()
    envs = {
        "fc": {
            "FC_FUNCTION_NAME": "fn",
            "FC_FUNC_CODE_PATH": str(projects["fc"]),
            "TMPDIR": str(tmpdir),
        },
        "laptop": {},
    }
    before = {name: digest(p / "db.sqlite3") for name, p in projects.items()}
    argv = [sys.executable, "-m", "fcmigrate", "serve", "dbsite.wsgi:application"]
    argv += ["--workers", "2", "--threads", "1"]
    starts = {
        name: partial(
            launch,
            argv,
            cwd=projects[name],
            log_dir=base,
            env=envs[name],
            drop=("DJANGO_SETTINGS_MODULE", "FC_FUNCTION_NAME", "FC_FUNC_CODE_PATH"),
        )
        for name in projects
    }
    with running(starts) as started:
        yield {"servers": started, "projects": projects, "before": before, "tmp": tmpdir}


def get(server: Server) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("GET", "/")
        resp = conn.getresponse()
        body = resp.read().decode()
        assert resp.status == 200, body
        return body
    finally:
        conn.close()


def test_on_fc_writes_go_to_a_copy_in_tmp_and_the_code_folder_is_untouched(
    served: dict[str, object],
) -> None:
    server = served["servers"]["fc"]  # type: ignore[index]
    project: Path = served["projects"]["fc"]  # type: ignore[index]
    copy = served["tmp"] / "fcmigrate-sqlite" / "default-db.sqlite3"  # type: ignore[operator]
    replies = [get(server) for _ in range(4)]
    # Both workers share the one copy: the count goes on across them.
    assert [r.split()[:2] for r in replies] == [["shipped-row", str(n)] for n in range(1, 5)]
    assert replies[0].split()[2] == str(copy)
    assert digest(project / "db.sqlite3") == served["before"]["fc"]  # type: ignore[index]
    deadline = time.monotonic() + 10
    while "read-only code folder" not in server.stderr() and time.monotonic() < deadline:
        time.sleep(0.05)
    line = next(x for x in server.stderr().splitlines() if "read-only code folder" in x)
    assert f"uses a copy of the shipped file at {copy} instead" in line


def test_on_a_laptop_the_database_stays_where_the_settings_say(served: dict[str, object]) -> None:
    server = served["servers"]["laptop"]  # type: ignore[index]
    project: Path = served["projects"]["laptop"]  # type: ignore[index]
    word, count, name = get(server).split()
    assert (word, count, name) == ("shipped-row", "1", str(project / "db.sqlite3"))
    assert "read-only code folder" not in server.stderr()
