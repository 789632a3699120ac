"""A Django project's SQLite database beside its code, made in the build with ``migrate``.

startproject keeps ``db.sqlite3`` beside the code and does not ship it. The build makes it
(the project's own migrations, into the build only), and the build then serves as on FC:
each instance works on a copy in /tmp that has every table.
"""

from __future__ import annotations

import http.client
import shutil
import sys
from pathlib import Path

from helpers import launch

from fcmigrate.build.collectstatic import collect_static

FILES = {
    "inn/__init__.py": "",
    "inn/settings.py": """
from pathlib import Path
BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "test-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth"]
MIDDLEWARE = []
ROOT_URLCONF = "inn.urls"
DATABASES = {
    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "data" / "inn.db"},
    "elsewhere": {"ENGINE": "django.db.backends.sqlite3", "NAME": "%(elsewhere)s"},
}
""",
    "inn/urls.py": """
from django.contrib.auth.models import User
from django.http import HttpResponse
from django.urls import path


def guests(request):
    User.objects.create(username=f"guest{User.objects.count()}")
    return HttpResponse(str(User.objects.count()))


urlpatterns = [path("", guests)]
""",
    "inn/wsgi.py": """
import os
from django.core.wsgi import get_wsgi_application
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inn.settings")
application = get_wsgi_application()
""",
}


def write_project(root: Path, elsewhere: Path) -> Path:
    for rel, text in FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text % {"elsewhere": elsewhere} if rel.endswith("settings.py") else text)
    return root


def test_a_missing_sqlite_database_in_the_build_is_made_with_migrate(tmp_path: Path) -> None:
    elsewhere = tmp_path / "var" / "other.db"
    project = write_project(tmp_path / "project", elsewhere)
    build = tmp_path / "build"
    shutil.copytree(project, build)
    lines: list[str] = []
    collect_static(project, build, "inn.settings", progress=lines.append, databases=True)
    assert (build / "data" / "inn.db").is_file()
    assert not (project / "data").exists()  # the project is only read
    assert not elsewhere.exists()  # a database outside the build is not the build's
    assert (
        "Created the SQLite database data/inn.db in the build (manage.py migrate): on FC each "
        "instance starts from a copy of it in /tmp."
    ) in lines

    instance_tmp = tmp_path / "instance-tmp"
    instance_tmp.mkdir()
    server = launch(
        [sys.executable, "-m", "fcmigrate", "serve", "inn.wsgi:application", "--workers", "1"],
        cwd=build,
        log_dir=tmp_path,
        env={
            "FC_FUNCTION_NAME": "fn",
            "FC_FUNC_CODE_PATH": str(build),
            "TMPDIR": str(instance_tmp),
        },
        drop=("DJANGO_SETTINGS_MODULE",),
    ).wait_ready()
    try:
        counts = []
        for _ in range(2):
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            conn.request("GET", "/")
            reply = conn.getresponse()
            counts.append((reply.status, reply.read().decode()))
            conn.close()
    finally:
        server.kill()
    assert counts == [(200, "1"), (200, "2")], server.stderr()[-2000:]
    assert (instance_tmp / "fcmigrate-sqlite" / "default-inn.db").is_file()


def test_without_databases_nothing_is_made(tmp_path: Path) -> None:
    project = write_project(tmp_path / "project", tmp_path / "other.db")
    build = tmp_path / "build"
    shutil.copytree(project, build)
    collect_static(project, build, "inn.settings")
    assert not (build / "data").exists()


def test_an_app_with_models_and_no_migrations_is_named(tmp_path: Path) -> None:
    # wsvincent/drfx: a custom user model whose migrations its README says to make, never
    # committed; migrate makes no table for it, and every login fails.
    project = write_project(tmp_path / "project", tmp_path / "other.db")
    settings = project / "inn" / "settings.py"
    settings.write_text(
        settings.read_text().replace(
            '"django.contrib.auth"]', '"django.contrib.auth", "rooms", "signs"]'
        )
    )
    for app in ("rooms", "signs"):
        (project / app).mkdir()
        (project / app / "__init__.py").write_text("")
    (project / "rooms" / "models.py").write_text(
        "from django.db import models\n\n\nclass Room(models.Model):\n"
        "    number = models.IntegerField()\n"
    )
    (project / "signs" / "models.py").write_text("")  # no models: nothing to migrate
    build = tmp_path / "build"
    shutil.copytree(project, build)
    notes: list[str] = []
    collect_static(project, build, "inn.settings", databases=True, notes=notes)
    assert notes == [
        "The app 'rooms' has models but no migrations, so 'manage.py migrate' makes no tables "
        "for them and the pages that use them fail. Run 'python manage.py makemigrations "
        "rooms' and commit the migrations folder it writes."
    ]
    assert (build / "data" / "inn.db").is_file()  # the other apps' tables are there
