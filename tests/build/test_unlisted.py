"""An installed package imports a module it does not list a dependency for.

Flask-Babel 0.12.2 imports pytz, which Babel brought when that release came out and no longer
does. The build installs the distribution that provides the module too, and checks the import
again. The packages are wheels in a --find-links folder, the import check runs for real with
this interpreter, and PyPI's JSON API is a loopback server that knows a few projects.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from helpers import old_wheel

from fcmigrate.build import migrate, wheels
from fcmigrate.build.unlisted import provider_of
from fcmigrate.errors import AppImportError

APP = (
    "import babelish\n\n\ndef app(environ, start_response):\n"
    "    start_response('200 OK', [])\n    return [b'ok']\n"
)
#: What the import check says when nothing is added.
MISSING = (
    "Importing 'app:app' failed inside the installed package 'babelish 0.12.2' (traceback "
    "above): it imports 'tzone', which is not installed, as babelish does not list what "
    "provides it as a dependency on Python {python}. Add the package that provides 'tzone' "
    "to your requirements, or pin a release of babelish that does not need it."
)
PYTHON = f"{sys.version_info[0]}.{sys.version_info[1]}"


@contextmanager
def pypi_json(known: set[str], asked: list[str]) -> Iterator[None]:
    """PyPI's JSON API on loopback, with one release of each project in ``known``; the
    names it is asked for go into ``asked``."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            name = self.path.split("/")[2]
            asked.append(name)
            if name not in known:
                self.send_error(404)
                return
            files = [{"filename": f"{name}-1.0.tar.gz", "upload_time_iso_8601": "2019-01-01"}]
            body = json.dumps({"releases": {"1.0": files}}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    address = f"http://127.0.0.1:{server.server_address[1]}/pypi/{{name}}/json"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(wheels, "PYPI_JSON", address)
        try:
            yield
        finally:
            server.shutdown()
            server.server_close()


def _project(tmp_path: Path, imports: str = "tzone", app: str = APP) -> migrate.MigrateOptions:
    """babelish==0.12.2, the only requirement, imports ``imports``, which it does not list;
    the --find-links folder has the distribution that provides it."""
    links = tmp_path / "wheels"
    links.mkdir()
    old_wheel(links, "babelish", "0.12.2", f"import {imports}\n", requires=["other>=1"])
    old_wheel(links, "other", "2.0", "")
    old_wheel(links, "gunicorn", "23.0.0", "")
    project = tmp_path / "project"
    project.mkdir()
    (project / "app.py").write_text(app)
    (project / "requirements.txt").write_text(
        f"--no-index\n--find-links {links}\nbabelish==0.12.2\n"
    )
    return migrate.MigrateOptions(
        project=project, out=tmp_path / "out" / "build", python=PYTHON, interpreter=sys.executable
    )


def test_the_distribution_pypi_names_for_the_module_is_added_and_the_app_builds(
    tmp_path: Path,
) -> None:
    options = _project(tmp_path)
    old_wheel(tmp_path / "wheels", "tzone", "2019.3", "")
    # A pin the first install has a note for, which the second must not say twice.
    old_wheel(tmp_path / "wheels", "gunicorn", "20.1.0", "")
    with (options.project / "requirements.txt").open("a") as requirements:
        requirements.write("gunicorn==20.1.0\n")
    with pypi_json({"tzone"}, asked := []):
        result = migrate.migrate(options, progress=lambda line: None)
    assert "tzone-2019.3" in result.installed
    assert asked == ["tzone"]
    assert (
        "babelish 0.12.2 imports tzone without listing tzone as a dependency (an older "
        "release of one of its dependencies most likely brought it): the build has tzone "
        "too. Add it to your requirements to build without this second try."
    ) in result.notes
    assert len([n for n in result.notes if "pin 'gunicorn==20.1.0'" in n]) == 1
    assert (tmp_path / "out" / "build" / "python" / "tzone" / "__init__.py").is_file()


def test_a_module_named_otherwise_than_its_distribution_comes_from_the_table(
    tmp_path: Path,
) -> None:
    options = _project(tmp_path, imports="dateutil")
    old_wheel(tmp_path / "wheels", "python_dateutil", "2.8.0", "", package="dateutil")
    with pypi_json(set(), asked := []):
        result = migrate.migrate(options, progress=lambda line: None)
    assert "python_dateutil-2.8.0" in result.installed
    assert asked == []
    assert any(
        note.startswith("babelish 0.12.2 imports dateutil without listing python-dateutil")
        for note in result.notes
    )


def test_without_a_distribution_of_that_name_the_error_stays(tmp_path: Path) -> None:
    options = _project(tmp_path)
    with pypi_json(set(), asked := []), pytest.raises(AppImportError) as info:
        migrate.migrate(options, progress=lambda line: None)
    assert str(info.value) == MISSING.format(python=PYTHON)
    assert asked == ["tzone"]
    assert not (tmp_path / "out").exists()


def test_offline_nothing_is_looked_up_and_the_error_stays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    options = _project(tmp_path)
    old_wheel(tmp_path / "wheels", "tzone", "2019.3", "")
    monkeypatch.setenv("UV_OFFLINE", "1")
    with pypi_json({"tzone"}, asked := []), pytest.raises(AppImportError) as info:
        migrate.migrate(options, progress=lambda line: None)
    assert str(info.value) == MISSING.format(python=PYTHON)
    assert asked == []


def test_a_module_the_apps_own_code_imports_is_the_apps_requirement_to_list(
    tmp_path: Path,
) -> None:
    options = _project(tmp_path, app=f"import babelish\nimport tzone\n\n{APP}")
    old_wheel(tmp_path / "wheels", "tzone", "2019.3", "")
    with pypi_json({"tzone"}, asked := []), pytest.raises(AppImportError) as info:
        migrate.migrate(options, progress=lambda line: None)
    assert str(info.value) == MISSING.format(python=PYTHON)
    assert asked == []


def test_a_distribution_that_does_not_provide_the_module_leaves_the_error_saying_so(
    tmp_path: Path,
) -> None:
    options = _project(tmp_path)
    old_wheel(tmp_path / "wheels", "tzone", "2019.3", "", package="tzone_data")
    with pypi_json({"tzone"}, []), pytest.raises(AppImportError) as info:
        migrate.migrate(options, progress=lambda line: None)
    assert str(info.value) == (
        MISSING.format(python=PYTHON)
        + " (This build added tzone, as babelish 0.12.2 imports tzone without listing it.)"
    )
    assert not (tmp_path / "out").exists()


def test_a_distribution_that_does_not_install_leaves_the_error_saying_so(
    tmp_path: Path,
) -> None:
    options = _project(tmp_path)  # no tzone in the --find-links folder
    with pypi_json({"tzone"}, []), pytest.raises(AppImportError) as info:
        migrate.migrate(options, progress=lambda line: None)
    assert str(info.value) == (
        MISSING.format(python=PYTHON)
        + " (This build tried adding tzone for tzone, but it did not install with your "
        "requirements.)"
    )


@pytest.mark.parametrize(
    ("module", "known", "expected"),
    [
        ("pytz", {"pytz"}, "pytz"),
        ("six.moves", {"six"}, "six"),
        ("yaml", set(), "PyYAML"),
        ("OpenSSL.crypto", set(), "pyOpenSSL"),
        ("unknownmod", set(), None),
        ("urlparse", {"urlparse"}, None),  # Python 2's, not the project of that name
        ("imp", {"imp"}, None),  # removed in Python 3.12
        ("json", {"json"}, None),
    ],
)
def test_provider_of(module: str, known: set[str], expected: str | None) -> None:
    with pypi_json(known, []):
        assert provider_of(module) == expected
