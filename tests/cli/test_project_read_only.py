"""``wrap``, ``dockerize`` and ``doctor`` only read the project folder.

Each test runs the real command in a child process on a real project in ``tmp_path``
and compares every path under the project (type, mode, content) before and after. The
fixture apps write beside their code when imported, as many do on a laptop: a log
folder, an SQLite database, a generated secret key. On FC that write fails (``/code`` is
read-only), so ``wrap`` must fail the same way, say so in one line, and leave nothing.
"""

from __future__ import annotations

import hashlib
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO, python_env

from fcmigrate.build.dockerize import VENDOR_DIR

SAMPLES = REPO / "sample_apps"

PLAIN_APP = """\
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]
"""

LOG_FOLDER_APP = """\
import logging
import os

os.makedirs("logs", exist_ok=True)
logging.basicConfig(filename="logs/app.log")

from flask import Flask

app = Flask(__name__)
"""

SQLITE_APP = """\
import os
import sqlite3

HERE = os.path.dirname(os.path.abspath(__file__))
db = sqlite3.connect(os.path.join(HERE, "app.db"))
db.execute("CREATE TABLE IF NOT EXISTS hits (n INTEGER)")

from flask import Flask

app = Flask(__name__)
"""

SECRET_KEY_APP = """\
import os

from flask import Flask

app = Flask(__name__)
key_file = os.path.join(app.root_path, ".secret_key")
if not os.path.exists(key_file):
    with open(key_file, "wb") as out:
        out.write(os.urandom(32))
with open(key_file, "rb") as key:
    app.secret_key = key.read()
"""

READ_ONLY = (
    "but the code folder is read-only on FC (only /tmp is writable). Write it under /tmp "
    "(tempfile.gettempdir()), take its path from an environment variable, or keep data that "
    "must last on NAS or OSS."
)

WRITERS = [
    pytest.param(LOG_FOLDER_APP, "creates the folder 'logs' (app.py line 4)", id="log-folder"),
    pytest.param(SQLITE_APP, "creates the SQLite database 'app.db' (app.py line 5)", id="sqlite"),
    pytest.param(SECRET_KEY_APP, "writes '.secret_key' (app.py line 8)", id="secret-key"),
]


def tree(folder: Path) -> dict[str, str]:
    """Every path under ``folder`` with its type, permission bits and content digest."""
    found: dict[str, str] = {}
    for path in sorted(folder.rglob("*")):
        info = path.lstat()
        if stat.S_ISREG(info.st_mode):
            what = "file " + hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            what = "dir" if stat.S_ISDIR(info.st_mode) else "other"
        found[str(path.relative_to(folder))] = f"{what} {stat.S_IMODE(info.st_mode):o}"
    return found


def fcmigrate(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``fcmigrate ARGS`` in ``cwd``, allowed to write bytecode as Python is by default."""
    return subprocess.run(
        [sys.executable, "-m", "fcmigrate", *args],
        cwd=cwd,
        env=python_env(drop=["PYTHONDONTWRITEBYTECODE"]),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


def make_project(root: Path, app_source: str) -> Path:
    project = root / "proj"
    project.mkdir()
    (project / "app.py").write_text(app_source)
    (project / "requirements.txt").write_text("flask\n")
    return project


# --------------------------------------------------------------------------- wrap


@pytest.mark.parametrize(("source", "what"), WRITERS)
def test_wrap_of_an_app_that_writes_at_import_fails_and_writes_nothing(
    tmp_path: Path, source: str, what: str
) -> None:
    project = make_project(tmp_path, source)
    before = tree(project)

    result = fcmigrate("wrap", "app:app", cwd=project)

    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines() == [f"Error: Importing 'app:app' {what}, {READ_ONLY}"]
    assert result.stdout == ""
    assert tree(project) == before


def test_wrap_of_an_app_that_writes_elsewhere_works(tmp_path: Path) -> None:
    # /tmp is writable on FC too: only the code folder is refused.
    logs = tmp_path / "logs"
    source = LOG_FOLDER_APP.replace('"logs"', repr(str(logs))).replace(
        '"logs/app.log"', repr(str(logs / "app.log"))
    )
    project = make_project(tmp_path, source)
    before = tree(project)

    result = fcmigrate("wrap", "app:app", cwd=project)

    assert result.returncode == 0, result.stderr
    assert (logs / "app.log").is_file()
    after = tree(project)
    assert set(after) - set(before) == {"bootstrap", "s.yaml"}
    assert {p: after[p] for p in before} == before


def test_wrap_writes_no_bytecode_into_the_project(tmp_path: Path) -> None:
    project = make_project(tmp_path, PLAIN_APP)
    (project / "views.py").write_text("MESSAGE = b'hello'\n")
    (project / "app.py").write_text("import views\n\n" + PLAIN_APP)
    before = tree(project)

    result = fcmigrate("wrap", "app:app", cwd=project)

    assert result.returncode == 0, result.stderr
    assert set(tree(project)) - set(before) == {"bootstrap", "s.yaml"}


@pytest.mark.parametrize(
    ("sample", "spec"),
    [("flask_app", "app:app"), ("django_site", "mysite.wsgi:application")],
)
def test_wrap_of_the_samples_adds_only_its_files(tmp_path: Path, sample: str, spec: str) -> None:
    project = tmp_path / sample
    shutil.copytree(SAMPLES / sample, project, ignore=shutil.ignore_patterns("__pycache__"))
    before = tree(project)

    result = fcmigrate("wrap", spec, cwd=project)

    assert result.returncode == 0, result.stderr
    assert "Wrote bootstrap" in result.stdout
    after = tree(project)
    assert set(after) - set(before) == {"bootstrap", "s.yaml"}
    assert {p: after[p] for p in before} == before


def test_wrap_finds_a_src_layout_app(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    (project / "src" / "shop").mkdir(parents=True)
    (project / "src" / "shop" / "__init__.py").write_text(PLAIN_APP)

    result = fcmigrate("wrap", "shop:app", cwd=project)

    assert result.returncode == 0, result.stderr
    assert (project / "bootstrap").is_file()


def test_wrap_into_a_new_folder_finds_the_app_where_python_m_runs(tmp_path: Path) -> None:
    # `python -m fcmigrate` puts the current folder on sys.path; the check sees it too.
    project = make_project(tmp_path, PLAIN_APP)
    out = tmp_path / "deploy" / "fc"

    result = fcmigrate("wrap", "app:app", "--out", str(out), cwd=project)

    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["bootstrap", "s.yaml"]


def test_wrap_into_a_new_folder_names_it_when_the_app_is_missing(tmp_path: Path) -> None:
    out = tmp_path / "new-folder"

    result = fcmigrate("wrap", "no_such_module:app", "--out", str(out), cwd=tmp_path)

    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"Error: No module named 'no_such_module' in {str(out)!r} or on sys.path. Check the "
        "spelling in 'no_such_module:app', or run from the directory that contains "
        "'no_such_module'."
    ]
    assert not out.exists()


def test_wrap_hook_that_writes_at_import_is_named(tmp_path: Path) -> None:
    project = make_project(tmp_path, PLAIN_APP)
    (project / "hooks.py").write_text(
        "open('started.txt', 'w').close()\n\n\ndef on_start(context):\n    pass\n"
    )
    before = tree(project)

    result = fcmigrate("wrap", "app:app", "--on-initialize", "hooks:on_start", cwd=project)

    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines() == [
        f"Error: Importing 'hooks:on_start' writes 'started.txt' (hooks.py line 1), {READ_ONLY}"
    ]
    assert tree(project) == before


def test_wrap_runs_gunicorn_conf_read_only_as_serve_will(tmp_path: Path) -> None:
    project = make_project(tmp_path, PLAIN_APP)
    (project / "gunicorn.conf.py").write_text('open("gunicorn.pid", "w").write("1")\nworkers = 2\n')
    before = tree(project)

    result = fcmigrate("wrap", "app:app", cwd=project)

    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines() == [
        "Error: Importing 'gunicorn.conf.py' writes 'gunicorn.pid' (gunicorn.conf.py line 1), "
        + READ_ONLY
    ]
    assert tree(project) == before


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        pytest.param(
            "app:VERSION",
            "'app:VERSION' is a 'str' object, not a WSGI application. "
            "Use 'app:name' to name the application object.",
            id="not-an-app",
        ),
        pytest.param(
            "app:helper",
            "'app:helper' cannot be called as app(environ, start_response); its signature is "
            "helper(x). If it is an application factory, use 'app:helper()'.",
            id="not-a-wsgi-callable",
        ),
    ],
)
def test_wrap_of_something_not_an_app_is_one_line(tmp_path: Path, spec: str, message: str) -> None:
    project = make_project(tmp_path, 'VERSION = "1.0"\n\n\ndef helper(x):\n    return x\n')
    before = tree(project)

    result = fcmigrate("wrap", spec, cwd=project)

    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"Error: {message}"]
    assert tree(project) == before


# --------------------------------------------------------------------------- dockerize, doctor


@pytest.mark.parametrize(("source", "what"), WRITERS)
def test_dockerize_does_not_import_the_app(tmp_path: Path, source: str, what: str) -> None:
    del what  # dockerize imports nothing, so it has nothing to refuse
    project = make_project(tmp_path, source)
    before = tree(project)

    result = fcmigrate("dockerize", "app:app", cwd=project)

    assert result.returncode == 0, result.stderr
    after = tree(project)
    added = set(after) - set(before)
    # Only what dockerize says it wrote: its files and the vendored fcmigrate copy.
    vendored = VENDOR_DIR.split("/")[0]
    assert {p.split("/")[0] for p in added} == {"Dockerfile", ".dockerignore", "s.yaml", vendored}
    assert not any("__pycache__" in p for p in added)
    assert {p: after[p] for p in before} == before


@pytest.mark.parametrize(("source", "what"), WRITERS)
def test_doctor_leaves_the_project_as_it_was(tmp_path: Path, source: str, what: str) -> None:
    project = make_project(tmp_path, source)
    before = tree(project)

    result = fcmigrate("doctor", cwd=project)

    assert result.returncode in (0, 1), result.stderr
    assert tree(project) == before
