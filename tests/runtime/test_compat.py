"""Old releases that import the collections aliases Python 3.10 removed run under serve and
pass the import check, with a note; FCMIGRATE_COMPAT=0 gives Python's own error back."""

from __future__ import annotations

import http.client
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import StartServer, python_env

from fcmigrate.build.detect import detect_app
from fcmigrate.build.importcheck import confirm_import
from fcmigrate.errors import AppImportError

# Werkzeug 0.14's shape: a package of its time imports the aliases from collections.
OLD_PACKAGE = """\
from collections import Mapping, MutableMapping
import collections


class Headers(MutableMapping):
    def __init__(self):
        self._d = {}

    def __getitem__(self, k):
        return self._d[k]

    def __setitem__(self, k, v):
        self._d[k] = v

    def __delitem__(self, k):
        del self._d[k]

    def __iter__(self):
        return iter(self._d)

    def __len__(self):
        return len(self._d)


def is_mapping(value):
    return isinstance(value, collections.Container) and isinstance(value, Mapping)
"""

APP = """\
from oldpkg import Headers, is_mapping


def app(environ, start_response):
    headers = Headers()
    headers["x"] = "1"
    body = f"{is_mapping(headers)} {len(headers)}".encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "oldpkg").mkdir(parents=True)
    (root / "oldpkg" / "__init__.py").write_text(OLD_PACKAGE)
    (root / "app.py").write_text(APP)
    return root


def test_the_aliases_are_gone_without_the_runtime(project: Path) -> None:
    # What the app meets on FC's Python when nothing answers the old names.
    proc = subprocess.run(
        [sys.executable, "-c", "import app"], cwd=project, capture_output=True, text=True
    )
    assert "cannot import name 'Mapping' from 'collections'" in proc.stderr


def test_serve_answers_the_removed_names(start_server: StartServer, project: Path) -> None:
    server = start_server([sys.executable, "-m", "fcmigrate", "serve", "app:app"], cwd=project)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=15)
    try:
        conn.request("GET", "/")
        response = conn.getresponse()
        assert (response.status, response.read()) == (200, b"True 1")
    finally:
        conn.close()
    assert (
        "oldpkg uses collections.Mapping, gone in Python 3.10: given it from collections.abc "
        "(FCMIGRATE_COMPAT=0: off)" in server.stderr()
    )


def test_the_import_check_passes_with_a_note_naming_the_package(project: Path) -> None:
    detected = confirm_import(detect_app(project))
    assert detected.spec == "app:app"
    note = [n for n in detected.notes if "Python 3.10 removed" in n]
    assert note == [
        "Old releases in the build use names Python 3.10 removed from collections: oldpkg "
        "(collections.Mapping, collections.MutableMapping). "
        "fcmigrate's runtime gives them the same classes from collections.abc, on FC as in "
        "this check (FCMIGRATE_COMPAT=0 turns that off); newer releases of oldpkg are the "
        "lasting fix."
    ]


def test_turned_off_the_import_fails_as_python_says(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FCMIGRATE_COMPAT", "0")
    with pytest.raises(AppImportError):
        confirm_import(detect_app(project))
    proc = subprocess.run(
        [sys.executable, "-m", "fcmigrate", "serve", "app:app"],
        cwd=project,
        capture_output=True,
        text=True,
        env=python_env({"FCMIGRATE_COMPAT": "0", "FC_SERVER_PORT": "1"}),
        timeout=60,
    )
    assert proc.returncode != 0
    assert "cannot import name 'Mapping' from 'collections'" in proc.stderr
