"""The code folder is read-only while an import is checked, as ``/code`` is on FC.

The guard (:mod:`fcmigrate.build.readonly`) runs in real child processes of every Python fcmigrate
builds for that is on this machine; :func:`fcmigrate.build.importcheck.confirm_import` imports the
fixture projects of ``tests/readonly_fixtures`` (copied to a temporary folder) and must leave
them byte for byte as they were.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO, run_main

from fcmigrate.build.detect import detect_app
from fcmigrate.build.importcheck import confirm_import
from fcmigrate.build.readonly import import_environment, tree_state
from fcmigrate.build.render import write_files
from fcmigrate.build.wrap import FC_PATH, WrapOptions, generate
from fcmigrate.errors import AppImportError, AppLoadError

FIXTURES = Path(__file__).parent / "readonly_fixtures"


def _pythons() -> list[str]:
    """This interpreter and one of each other supported version found (pyenv, PATH)."""
    found = {f"{sys.version_info[0]}.{sys.version_info[1]}": sys.executable}
    for version in ("3.10", "3.11", "3.12", "3.13"):
        candidates = [shutil.which(f"python{version}") or ""]
        candidates += sorted(
            glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python{version}"))
        )
        for candidate in candidates:
            if version not in found and candidate and _runs(candidate):
                found[version] = candidate
    return [found[v] for v in sorted(found)]


def _runs(python: str) -> bool:
    try:
        proc = subprocess.run([python, "-c", "pass"], capture_output=True, timeout=30, check=False)
    except OSError:
        return False
    return proc.returncode == 0


def hashes(folder: Path) -> dict[str, str]:
    """Every file and folder under ``folder``: a hash of each file, ``dir`` for folders."""
    return {
        p.relative_to(folder).as_posix(): (
            "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
        )
        for p in sorted(folder.rglob("*"))
    }


def fixture(tmp_path: Path, name: str) -> Path:
    project = tmp_path / name
    shutil.copytree(FIXTURES / name, project)
    return project


# --- the guard in a child process --------------------------------------------------------

#: Each line: a name and the statement that tries it, run with the code folder as cwd.
WRITES = {
    "open_w": "open('new.txt', 'w')",
    "open_a_existing": "open('app.py', 'a')",
    "open_r_plus": "open('app.py', 'r+')",
    "os_open_creat": "os.open('fd.txt', os.O_WRONLY | os.O_CREAT)",
    "write_text": "pathlib.Path('p.txt').write_text('x')",
    "touch_existing": "pathlib.Path('app.py').touch()",
    "mkdir": "os.mkdir('logs')",
    "makedirs_existing_then_new": "os.makedirs('pkg/sub', exist_ok=True)",
    "makedirs_absolute": "os.makedirs(os.path.join(os.getcwd(), 'a', 'b'))",
    "mkstemp": "tempfile.mkstemp(dir='.')",
    "file_handler": "logging.FileHandler('app.log')",
    "sqlite_new": "sqlite3.connect('app.db')",
    "sqlite_new_through_dbapi2": "sqlite3.dbapi2.connect(os.path.abspath('other.db'))",
    "copy": "shutil.copy('app.py', 'copy.py')",
    "rename": "os.rename('app.py', 'moved.py')",
    "replace": "os.replace('app.py', 'moved.py')",
    "remove": "os.remove('app.py')",
    "rmtree": "shutil.rmtree('pkg')",
    "rmdir": "os.rmdir('empty')",
    "symlink": "os.symlink('app.py', 'link.py')",
    "chmod": "os.chmod('app.py', 0o600)",
    "through_a_symlinked_path": "open(os.path.join(LINK, 'via-link.txt'), 'w')",
}
ALLOWED = {
    "read": "open('app.py').read()",
    "read_bytes": "pathlib.Path('app.py').read_bytes()",
    "listdir": "os.listdir('.')",
    "makedirs_existing": "os.makedirs('pkg', exist_ok=True)",
    "sqlite_read_only_uri": "sqlite3.connect('file:data.db?mode=ro', uri=True).execute("
    "'select 1').fetchall()",
    "sqlite_existing_read": "sqlite3.connect('data.db').execute('select * from t').fetchall()",
    "write_outside": "open(os.path.join(OUTSIDE, 'ok.txt'), 'w').write('x')",
    "mkdir_outside": "os.mkdir(os.path.join(OUTSIDE, 'logs'))",
    "sqlite_outside": "sqlite3.connect(os.path.join(OUTSIDE, 'ok.db')).execute("
    "'create table t (x)')",
    "memory_db": "sqlite3.connect(':memory:').execute('create table t (x)')",
}

CHILD = """
import errno, json, logging, os, pathlib, shutil, sqlite3, sys, tempfile
sys.path.insert(0, sys.argv[1])
from fcmigrate.build.readonly import guard
OUTSIDE, LINK, TRIES = sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
record = guard(os.getcwd())
outcome = {}
for name, statement in TRIES.items():
    before = len(record.denied)
    try:
        exec(statement)
        outcome[name] = "done"
    except (OSError, sqlite3.Error) as exc:
        as_on_fc = isinstance(exc, sqlite3.Error) or exc.errno == errno.EROFS
        refused = as_on_fc and len(record.denied) > before
        outcome[name] = "refused" if refused else f"other: {exc!r}"
first = record.denied[0].__dict__ if record.denied else None
print(json.dumps({"outcome": outcome, "first": first}))
"""


def _code_folder(tmp_path: Path) -> tuple[Path, Path, Path]:
    code = tmp_path / "code"
    code.mkdir()
    (code / "app.py").write_text("APP = 1\n")
    (code / "pkg").mkdir()
    (code / "pkg" / "__init__.py").write_text("")
    (code / "empty").mkdir()
    import sqlite3

    with sqlite3.connect(code / "data.db") as db:
        db.execute("create table t (x)")
    outside = tmp_path / "tmp"
    outside.mkdir()
    link = tmp_path / "link-to-code"
    link.symlink_to(code)
    return code, outside, link


@pytest.mark.parametrize("python", _pythons())
def test_writes_under_the_code_folder_fail_as_on_fc(tmp_path: Path, python: str) -> None:
    code, outside, link = _code_folder(tmp_path)
    before = hashes(code)
    # SQLite writes with its own calls: the file is opened read-only, as FC's disk makes it.
    write_to_db = {
        "sqlite_existing_write": "sqlite3.connect('data.db').execute('insert into t values (1)')"
    }
    tries = {**WRITES, **ALLOWED, **write_to_db}
    proc = subprocess.run(
        [python, "-B", "-c", CHILD, str(REPO), str(outside), str(link), json.dumps(tries)],
        cwd=code,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["outcome"] == {
        **{name: "refused" for name in WRITES},
        **{name: "done" for name in ALLOWED},
        "sqlite_existing_write": "other: OperationalError('attempt to write a readonly database')",
    }
    assert result["first"] == {
        "path": "new.txt",
        "event": "open",
        "file": None,
        "line": None,
        "package": None,
    }
    assert hashes(code) == before


def test_the_refused_write_names_the_projects_own_line(tmp_path: Path) -> None:
    code, _, _ = _code_folder(tmp_path)
    (code / "python" / "lib").mkdir(parents=True)
    (code / "python" / "lib" / "__init__.py").write_text("def save(path):\n    open(path, 'w')\n")
    (code / "main.py").write_text(
        "import lib\n\ntry:\n    lib.save('out.txt')\nexcept OSError:\n    pass\n"
    )
    script = (
        "import sys\n"
        f"sys.path[:0] = [{str(REPO)!r}, 'python', '.']\n"
        "from fcmigrate.build.readonly import guard\n"
        "record = guard('.')\n"
        "import main\n"
        "print(record.denied)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-B", "-c", script], cwd=code, capture_output=True, text=True, check=True
    )
    assert proc.stdout.strip() == (
        "[Denied(path='out.txt', event='open', file='main.py', line=4, package='lib')]"
    )


def test_a_write_made_by_an_installed_package_names_it(tmp_path: Path) -> None:
    """A task queue's SQLite file made by the package at import, from a path in the app's
    settings: the line names the package and the app's line that called it."""
    project = tmp_path / "project"
    (project / "python" / "queuelib").mkdir(parents=True)
    (project / "python" / "queuelib" / "__init__.py").write_text(
        "import sqlite3\n\n\ndef open_queue(path):\n    return sqlite3.connect(path)\n"
    )
    (project / "app.py").write_text(
        "import queuelib\n\nQUEUE = queuelib.open_queue('tasks.sqlite3')\n\n\n"
        "def app(environ, start_response):\n    return []\n"
    )
    before = hashes(project)
    with pytest.raises(AppImportError) as caught:
        confirm_import(detect_app(project, "app:app"), pythonpath=[project / "python"])
    assert str(caught.value).startswith(
        "Importing 'app:app' creates the SQLite database 'tasks.sqlite3' (in the installed "
        "package 'queuelib', called from app.py line 3), but the code folder is read-only on FC"
    )
    assert hashes(project) == before


def test_tree_state_sees_a_changed_file(tmp_path: Path) -> None:
    code, _, _ = _code_folder(tmp_path)
    before = tree_state(code)
    assert "pkg/__init__.py" in before and "empty" in before
    (code / "pkg" / "__init__.py").write_text("X = 1\n")
    after = tree_state(code)
    assert [p for p in before if before[p] != after.get(p)] == ["pkg/__init__.py"]


# --- confirm_import ------------------------------------------------------------------------


def test_import_that_writes_a_log_fails_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = fixture(tmp_path, "writes_logs")
    before = hashes(project)

    with pytest.raises(AppImportError) as caught:
        confirm_import(detect_app(project))

    assert str(caught.value) == (
        "Importing 'app:app' creates the folder 'logs' (app.py line 6), but the code folder "
        "is read-only on FC (only /tmp is writable). Write it under /tmp "
        "(tempfile.gettempdir()), take its path from an environment variable, or keep data "
        "that must last on NAS or OSS."
    )
    assert "\n" not in str(caught.value)
    assert capsys.readouterr().err == ""  # the line says it all: no traceback
    assert hashes(project) == before


def test_the_folder_made_the_log_file_is_named(tmp_path: Path) -> None:
    project = fixture(tmp_path, "writes_logs")
    (project / "logs").mkdir()  # shipped with the code: only the file is new
    before = hashes(project)

    with pytest.raises(AppImportError, match=r"writes 'logs/app\.log' \(app\.py line 7\)"):
        confirm_import(detect_app(project))
    assert hashes(project) == before


def test_app_that_falls_back_to_tmp_imports_and_writes_nothing_here(tmp_path: Path) -> None:
    project = fixture(tmp_path, "writes_if_it_can")
    before = hashes(project)

    detected = confirm_import(detect_app(project), env={**os.environ, "TMPDIR": str(tmp_path)})

    assert detected.confirmed
    assert hashes(project) == before
    assert (tmp_path / ".secret_key").is_file() and (tmp_path / "app.db").is_file()


def test_hooks_are_imported_in_the_same_check(tmp_path: Path) -> None:
    project = fixture(tmp_path, "hook_writes")
    before = hashes(project)

    assert confirm_import(detect_app(project)).confirmed  # the app alone is fine
    with pytest.raises(AppImportError) as caught:
        confirm_import(detect_app(project), hooks=["hooks:init"])

    assert str(caught.value).startswith(
        "Importing 'hooks:init' writes 'initialized.flag' (hooks.py line 5), but the code "
        "folder is read-only on FC"
    )
    assert hashes(project) == before


@pytest.mark.parametrize(
    ("hook", "message"),
    [
        ("hooks:missing", "missing"),
        ("nohooks:init", "nohooks"),
        ("app:app", None),  # callable: fine
    ],
)
def test_a_hook_that_is_not_there_is_one_line(
    tmp_path: Path, hook: str, message: str | None
) -> None:
    project = fixture(tmp_path, "hook_writes")
    (project / "hooks.py").write_text("def init(context):\n    return None\n")
    if message is None:
        assert confirm_import(detect_app(project), hooks=[hook]).confirmed
        return
    with pytest.raises(AppLoadError, match=message):
        confirm_import(detect_app(project), hooks=[hook])


def test_a_write_the_guard_cannot_see_is_caught_by_comparing_the_folder(tmp_path: Path) -> None:
    project = fixture(tmp_path, "hook_writes")
    (project / "app.py").write_text(
        (project / "app.py").read_text()
        + "\nimport subprocess\nsubprocess.run(['touch', 'from-a-child'], check=True)\n"
    )
    code = tmp_path / "build"
    shutil.copytree(project, code)
    before = hashes(project)

    with pytest.raises(AppImportError, match="writes to 'from-a-child', but the code folder"):
        confirm_import(detect_app(project), code_dir=code)
    assert hashes(project) == before


def test_traceback_shows_the_projects_files_not_the_build(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = fixture(tmp_path, "hook_writes")
    (project / "app.py").write_text("raise RuntimeError('boom')\n")
    code = tmp_path / "build"
    shutil.copytree(project, code)

    with pytest.raises(AppImportError):
        confirm_import(detect_app(project, app="app:app"), code_dir=code)

    err = capsys.readouterr().err
    assert f'File "{project / "app.py"}", line 1' in err
    assert str(code) not in err


def test_dockerize_only_adds_its_own_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """dockerize's checks read the project: an app that logs beside its code is not run."""
    project = fixture(tmp_path, "writes_logs")
    before = hashes(project)

    result = run_main(capsys, "dockerize", "--out", str(project))

    assert result.code == 0, result.err
    after = hashes(project)
    assert {name: after[name] for name in before} == before
    assert not (project / "logs").exists()
    assert {"Dockerfile", ".dockerignore", "s.yaml"} <= set(after) - set(before)


def test_fc_environment_is_the_deploy_configs_not_the_shells(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = tmp_path / "build"
    code.mkdir()
    write_files(code, generate(WrapOptions(app="app:app", name="shop", concurrency=4)))
    monkeypatch.setenv("VIRTUAL_ENV", str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    home = tmp_path / "tmp"

    env = import_environment(code, home)

    assert "VIRTUAL_ENV" not in env
    assert env["PATH"] == FC_PATH
    assert env["PYTHONPATH"] == f"{code / 'python'}{os.pathsep}{code}"
    assert env["FCMIGRATE_CONCURRENCY"] == "4"  # from s.yaml's environmentVariables
    assert env["FC_FUNCTION_NAME"] == "shop"
    assert env["FC_FUNC_CODE_PATH"] == f"{code}{os.sep}"
    assert env["FC_SERVER_PORT"] == "9000"
    assert env["HOME"] == env["TMPDIR"] == str(home)


def test_a_refused_write_the_app_survived_is_not_blamed_for_a_later_failure(
    tmp_path: Path,
) -> None:
    project = fixture(tmp_path, "writes_if_it_can")
    env = {**os.environ, "TMPDIR": str(tmp_path)}

    with pytest.raises(AppLoadError, match="'nothing'"):
        confirm_import(detect_app(project), env=env, hooks=["app:nothing"])


def _sqlite_project(tmp_path: Path, statement: str) -> Path:
    import sqlite3

    project = tmp_path / "lookup"
    project.mkdir()
    with sqlite3.connect(project / "cities.db") as db:
        db.execute("create table city (name text)")
        db.execute("insert into city values ('Hangzhou')")
    (project / "app.py").write_text(
        "import sqlite3\n\n"
        "DB = sqlite3.connect('cities.db')\n"
        f"{statement}\n\n\n"
        "def app(environ, start_response):\n"
        "    start_response('200 OK', [])\n"
        "    return [b'']\n"
    )
    return project


def test_an_app_may_read_a_shipped_sqlite_database(tmp_path: Path) -> None:
    project = _sqlite_project(tmp_path, "CITIES = DB.execute('select name from city').fetchall()")
    before = hashes(project)

    assert confirm_import(detect_app(project)).confirmed
    assert hashes(project) == before


def test_writing_to_a_shipped_sqlite_database_fails_in_one_line(tmp_path: Path) -> None:
    project = _sqlite_project(tmp_path, "DB.execute(\"insert into city values ('Beijing')\")")
    before = hashes(project)

    with pytest.raises(AppImportError) as caught:
        confirm_import(detect_app(project))

    assert str(caught.value).startswith(
        "Importing 'app:app' writes to the SQLite database 'cities.db' (app.py line 3), but "
        "the code folder is read-only on FC"
    )
    assert hashes(project) == before


# --- Flask-SQLAlchemy's database file in the code folder -------------------------------------


def _flask_sqlalchemy_project(tmp_path: Path, uri: str) -> Path:
    """An app whose Flask-SQLAlchemy is vendored in its python/ folder, as in a build."""
    package = Path(pytest.importorskip("flask_sqlalchemy").__file__).parent
    project = tmp_path / "project"
    shutil.copytree(package, project / "python" / "flask_sqlalchemy")
    (project / "app.py").write_text(
        "import os\n"
        "from flask import Flask\n"
        "from flask_sqlalchemy import SQLAlchemy\n\n"
        "db = SQLAlchemy()\n"
        "app = Flask(__name__)\n"
        f"app.config['SQLALCHEMY_DATABASE_URI'] = {uri}\n"
        "db.init_app(app)\n"
    )
    return project


def test_a_relative_sqlite_path_names_flask_sqlalchemys_instance_folder(tmp_path: Path) -> None:
    """Flask-SQLAlchemy 3 puts 'sqlite:///notes.db' in the instance folder, which it makes at
    init_app(): the line says why, and which setting to change."""
    project = _flask_sqlalchemy_project(tmp_path, "'sqlite:///notes.db'")

    with pytest.raises(AppImportError) as caught:
        confirm_import(detect_app(project), pythonpath=[project / "python"])

    message = str(caught.value)
    assert message.startswith(
        "Importing 'app:app' creates the folder 'instance' (in the installed package "
        "'flask_sqlalchemy', called from app.py line 8): Flask-SQLAlchemy makes the app's "
        "instance folder for a SQLite database given by a relative path"
    )
    assert "Set SQLALCHEMY_DATABASE_URI to a file under /tmp" in message
    assert "\n" not in message
    assert not (project / "instance").exists()


def test_a_sqlite_database_the_app_would_create_in_the_code_folder_is_one_line(
    tmp_path: Path,
) -> None:
    """An absolute path beside the code imports fine, and the file is only made at the first
    query (db.create_all() at the first request): every such request would fail on FC."""
    uri = "'sqlite:///' + os.path.join(os.path.dirname(__file__), 'data', 'notes.db')"
    project = _flask_sqlalchemy_project(tmp_path, uri)
    (project / "data").mkdir()
    before = hashes(project)

    with pytest.raises(AppImportError) as caught:
        confirm_import(detect_app(project), pythonpath=[project / "python"])

    assert str(caught.value).startswith(
        "The app 'app:app' keeps its SQLite database in the code folder ('data/notes.db', from "
        "SQLALCHEMY_DATABASE_URI), which is read-only on FC"
    )
    assert hashes(project) == before

    # Shipped with the code, the database can at least be read there.
    (project / "data" / "notes.db").write_bytes(b"")
    assert confirm_import(detect_app(project), pythonpath=[project / "python"]).confirmed
    # Under /tmp (here: outside the project) it is the app's to make at run time.
    other = _flask_sqlalchemy_project(tmp_path / "b", f"'sqlite:///{tmp_path}/notes.db'")
    assert confirm_import(detect_app(other), pythonpath=[other / "python"]).confirmed
