"""A pinned package and a free dependency years apart: one imports what the other removed.

The import check runs for real in a child interpreter over a folder of vendored packages;
PyPI's JSON API is a loopback server that knows each package's upload times.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from helpers import old_wheel

from fcmigrate.build import wheels
from fcmigrate.build.detect import detect_app
from fcmigrate.build.importcheck import confirm_import
from fcmigrate.errors import AppImportError

#: Upload times, as PyPI's JSON API gives them.
RELEASES = {
    "webframe": {"2.0.1": "2021-05-21T15:00:00Z", "3.1.0": "2024-11-13T10:00:00Z"},
    "toolbar": {"0.11.0": "2020-02-18T10:00:00Z"},
    "templates": {
        "2.11.1": "2020-01-30T10:00:00Z",
        "3.0.1": "2021-05-18T10:00:00Z",
        "3.1.6": "2025-03-05T10:00:00Z",
    },
    "urltools": {
        "2.0.0": "2021-05-11T10:00:00Z",
        "2.0.1": "2021-05-17T10:00:00Z",
        "2.0.2": "2021-06-01T10:00:00Z",
        "2.1.0rc1": "2021-05-20T10:00:00Z",
        "2.1.0": "2022-03-28T10:00:00Z",
        "3.1.9": "2025-10-01T10:00:00Z",
    },
    "thumbs": {"12.4.1": "2017-11-20T10:00:00Z", "13.4.0": "2025-12-01T10:00:00Z"},
    "webcore": {
        "2.0.13": "2019-02-12T10:00:00Z",
        "2.1": "2018-08-01T10:00:00Z",
        "2.1.1": "2018-08-31T10:00:00Z",
        "2.2": "2019-04-01T10:00:00Z",
        "3.0": "2020-01-01T10:00:00Z",
        "6.1a1": "2026-01-10T10:00:00Z",
        "6.1": "2026-02-01T10:00:00Z",
    },
}


@contextmanager
def pypi_json() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            name = self.path.split("/")[2]
            if name not in RELEASES:
                self.send_error(404)
                return
            body = json.dumps(
                {
                    "releases": {
                        version: [
                            {"filename": f"{name}-{version}.tar.gz", "upload_time_iso_8601": at}
                        ]
                        for version, at in RELEASES[name].items()
                    }
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/pypi/{{name}}/json"
    finally:
        server.shutdown()
        server.server_close()


def _vendored(site: Path, dist: str, files: dict[str, str]) -> None:
    for name, text in files.items():
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_text(text)
    info = site / f"{dist}.dist-info"
    info.mkdir(parents=True)
    (info / "RECORD").write_text("".join(f"{name},,\n" for name in files))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """webframe 2.0.1 imports quote_url from urltools.urls; urltools 3.1.9 dropped it."""
    site = tmp_path / "python"
    _vendored(
        site, "webframe-2.0.1", {"webframe/__init__.py": "from urltools.urls import quote_url\n"}
    )
    _vendored(site, "urltools-3.1.9", {"urltools/__init__.py": "", "urltools/urls.py": "X = 1\n"})
    (tmp_path / "app.py").write_text("import webframe\n\napp = None\n")
    return tmp_path


def test_a_name_gone_from_a_newer_dependency_names_both_and_the_release_to_pin(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pypi_json() as url:
        monkeypatch.setattr(wheels, "PYPI_JSON", url)
        with pytest.raises(AppImportError) as info:
            confirm_import(detect_app(project), pythonpath=[project / "python"])
    assert str(info.value) == (
        "Importing 'app:app' failed inside the installed package 'webframe 2.0.1' (traceback "
        "above): it uses 'quote_url' from 'urltools.urls', which urltools 3.1.9, the "
        "release installed, no longer has. Your requirements hold webframe at 2.0.1 but let "
        "urltools move on to today's release, as pip would anywhere. Fix: pin "
        "urltools==2.0.1 (its last release before webframe 2.0.1 came out) in your "
        "requirements, or move webframe to a release that works with urltools 3.1.9; and "
        "run again."
    )


def test_without_pypi_the_fix_is_said_in_words(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UV_OFFLINE", "1")
    with pytest.raises(AppImportError) as info:
        confirm_import(detect_app(project), pythonpath=[project / "python"])
    message = str(info.value)
    assert "Fix: pin urltools to a release from before webframe 2.0.1 came out" in message
    assert "may not run on Python" not in message


def test_an_attribute_gone_from_a_newer_dependency_is_named_the_same_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Flask-SQLAlchemy 2.5.1 reads sqlalchemy.__all__, which SQLAlchemy 2 no longer has.
    site = tmp_path / "python"
    _vendored(
        site,
        "webframe-2.0.1",
        {"webframe/__init__.py": "import urltools\n\nNAMES = urltools.__all__\n"},
    )
    _vendored(site, "urltools-3.1.9", {"urltools/__init__.py": ""})
    (tmp_path / "app.py").write_text("import webframe\n\napp = None\n")
    with pypi_json() as url:
        monkeypatch.setattr(wheels, "PYPI_JSON", url)
        with pytest.raises(AppImportError) as info:
            confirm_import(detect_app(tmp_path), pythonpath=[site])
    assert "it uses '__all__' from 'urltools', which urltools 3.1.9" in str(info.value)
    assert "Fix: pin urltools==2.0.1" in str(info.value)


def test_a_name_looked_up_inside_the_newer_package_names_the_package_that_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Flask-DebugToolbar 0.11 hands Jinja 'jinja2.ext.with_', which Jinja 3.1 removed; the
    # AttributeError is raised inside Jinja's own import_string.
    site = tmp_path / "python"
    _vendored(
        site,
        "webframe-2.0.1",
        {"webframe/__init__.py": "import urltools\n\nEXT = urltools.load('urltools.ext.with_')\n"},
    )
    _vendored(
        site,
        "urltools-3.1.9",
        {
            "urltools/__init__.py": (
                "import importlib\n\n\ndef load(dotted):\n"
                "    module, _, name = dotted.rpartition('.')\n"
                "    return getattr(importlib.import_module(module), name)\n"
            ),
            "urltools/ext.py": "",
        },
    )
    (tmp_path / "app.py").write_text("import webframe\n\napp = None\n")
    with pypi_json() as url:
        monkeypatch.setattr(wheels, "PYPI_JSON", url)
        with pytest.raises(AppImportError) as info:
            confirm_import(detect_app(tmp_path), pythonpath=[site])
    message = str(info.value)
    assert message.startswith(
        "Importing 'app:app' failed inside the installed package 'webframe 2.0.1' (traceback "
        "above): it uses 'with_' from 'urltools.ext', which urltools 3.1.9, the release "
        "installed, no longer has."
    )
    assert "Fix: pin urltools==2.0.1" in message


def _pinned_and_free(tmp_path: Path, held_body: str, app: str) -> Any:
    """Flask-Foundation's shape: webframe==2.0.1 pinned, urltools left free; today's
    urltools lacks what webframe imports, ``held_body`` is its 2.0.1's ``__init__``."""
    import sys

    from fcmigrate.build import migrate

    wheels_dir = tmp_path / "wheels"
    wheels_dir.mkdir()
    old_wheel(wheels_dir, "webframe", "2.0.1", "from urltools import quote_url\n")
    old_wheel(wheels_dir, "urltools", "2.0.1", held_body)
    old_wheel(wheels_dir, "urltools", "2.0.2", held_body)  # the same series, fixed later
    old_wheel(wheels_dir, "urltools", "3.1.9", "X = 1\n")
    old_wheel(wheels_dir, "gunicorn", "23.0.0", "")
    project = tmp_path / "project"
    project.mkdir()
    (project / "app.py").write_text(app)
    (project / "requirements.txt").write_text(
        f"--no-index\n--find-links {wheels_dir}\nwebframe==2.0.1\nurltools\n"
    )
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    return migrate.MigrateOptions(
        project=project, out=tmp_path / "out" / "build", python=version, interpreter=sys.executable
    )


def test_migrate_holds_the_free_dependency_back_and_the_app_builds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fcmigrate.build import migrate

    app = (
        "import webframe\n\n\ndef app(environ, start_response):\n"
        "    start_response('200 OK', [])\n    return [b'ok']\n"
    )
    options = _pinned_and_free(tmp_path, "def quote_url(text):\n    return text\n", app)
    with pypi_json() as url:
        monkeypatch.setattr(wheels, "PYPI_JSON", url)
        result = migrate.migrate(options, progress=lambda line: None)
    assert "urltools-2.0.2" in result.installed
    assert (
        "Your requirements pin webframe==2.0.1 but leave urltools free, and today's urltools "
        "3.1.9 no longer has what webframe uses: urltools==2.0.2, the newest release of the "
        "series urltools was at when webframe 2.0.1 came out, was installed instead. Pin it "
        "in your requirements to build without this second try."
    ) in result.notes


def test_an_error_after_holding_back_says_what_was_held(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fcmigrate.build import migrate

    # The release held back has a fault of its own on this Python.
    body = "import collections\nX = collections.Nope\n"
    options = _pinned_and_free(tmp_path, body, "import webframe\n\napp = None\n")
    with pypi_json() as url:
        monkeypatch.setattr(wheels, "PYPI_JSON", url)
        with pytest.raises(AppImportError) as info:
            migrate.migrate(options, progress=lambda line: None)
    message = str(info.value)
    assert "failed inside the installed package 'urltools 2.0.2'" in message
    assert message.endswith(
        "(Your requirements left urltools free, and today's releases did not work with the "
        "packages you pin: this build held them at urltools==2.0.2, releases from the time "
        "of those packages.)"
    )
    assert not (tmp_path / "out").exists()


def test_a_release_another_pin_refuses_gives_way_to_one_from_the_newest_pins_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Flask 2.0.1 asks for Jinja2>=3.0; Flask-DebugToolbar 0.11.0 (2020) uses jinja2.ext.with_,
    # gone in 3.1. The release from before the toolbar (2.11.1) conflicts with Flask's floor;
    # the one from before Flask 2.0.1, the newest pin (3.0.1), works with both.
    from fcmigrate.build import migrate

    wheels_dir = tmp_path / "wheels"
    wheels_dir.mkdir()
    old_wheel(wheels_dir, "webframe", "2.0.1", "", requires=["templates>=3.0"])
    old_wheel(wheels_dir, "toolbar", "0.11.0", "from templates import with_\n")
    for version, body in (("2.11.1", "with_ = 1\n"), ("3.0.1", "with_ = 1\n"), ("3.1.6", "")):
        old_wheel(wheels_dir, "templates", version, body)
    old_wheel(wheels_dir, "gunicorn", "23.0.0", "")
    project = tmp_path / "project"
    project.mkdir()
    (project / "app.py").write_text(
        "import webframe, toolbar\n\n\ndef app(environ, start_response):\n"
        "    start_response('200 OK', [])\n    return [b'ok']\n"
    )
    (project / "requirements.txt").write_text(
        f"--no-index\n--find-links {wheels_dir}\nwebframe==2.0.1\ntoolbar==0.11.0\n"
    )
    import sys

    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    options = migrate.MigrateOptions(
        project=project, out=tmp_path / "out" / "build", python=version, interpreter=sys.executable
    )
    with pypi_json() as url:
        monkeypatch.setattr(wheels, "PYPI_JSON", url)
        result = migrate.migrate(options, progress=lambda line: None)
    assert "templates-3.0.1" in result.installed
    assert (
        "Your requirements pin toolbar==0.11.0 but leave templates free, and today's templates "
        "3.1.6 no longer has what toolbar uses: templates==3.0.1, the newest release of the "
        "series templates was at on 2021-05-21, when the newest release you pin came out, was "
        "installed instead. Pin it in your requirements to build without this second try."
    ) in result.notes


def test_a_name_not_yet_in_a_held_back_dependency_pins_the_newer_package_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """vitorfs/bootcamp with `django<2.1`: sorl-thumbnail, left free, came as 13.4.0, which
    uses a name Django 2.0.13 does not have yet. The one to pin is sorl-thumbnail."""
    site = tmp_path / "python"
    _vendored(
        site,
        "thumbs-13.4.0",
        {"thumbs/__init__.py": "from webcore.storage import storages\n"},
    )
    _vendored(site, "webcore-2.0.13", {"webcore/__init__.py": "", "webcore/storage.py": ""})
    (tmp_path / "app.py").write_text("import thumbs\n\napp = None\n")
    with pypi_json() as url:
        monkeypatch.setattr(wheels, "PYPI_JSON", url)
        with pytest.raises(AppImportError) as info:
            confirm_import(detect_app(tmp_path), pythonpath=[site])
    assert str(info.value) == (
        "Importing 'app:app' failed inside the installed package 'thumbs 13.4.0' (traceback "
        "above): it uses 'storages' from 'webcore.storage', which webcore 2.0.13, the release "
        "installed, does not have yet. Your requirements hold webcore at 2.0.13 but let thumbs "
        "move on to today's release, as pip would anywhere. Fix: pin thumbs==12.4.1 (its last "
        "release before webcore 2.1 came out) in your requirements, or move webcore to a "
        "release that thumbs 13.4.0 works with; and run again."
    )


def test_a_package_listed_without_a_version_is_held_at_the_projects_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """vitorfs/bootcamp's shape: `django` and `sorl-thumbnail` listed with no version in a
    project last changed in 2020. Its code imports ugettext_lazy, gone from today's Django:
    Django is held at the series of the project's time; then today's sorl-thumbnail uses what
    that Django does not have yet, and is held at its last release before Django's next series."""
    import os
    import sys
    from datetime import datetime, timezone

    from fcmigrate.build import migrate

    wheels_dir = tmp_path / "wheels"
    wheels_dir.mkdir()
    old_wheel(wheels_dir, "webcore", "2.2", "ugettext_lazy = str\n")
    old_wheel(wheels_dir, "webcore", "6.1", "storages = {}\n")
    old_wheel(wheels_dir, "thumbs", "12.4.1", "")
    old_wheel(wheels_dir, "thumbs", "13.4.0", "from webcore import storages\n")
    old_wheel(wheels_dir, "gunicorn", "23.0.0", "")
    project = tmp_path / "project"
    project.mkdir()
    (project / "app.py").write_text(
        "from webcore import ugettext_lazy\nimport thumbs\n\n\n"
        "def app(environ, start_response):\n    start_response('200 OK', [])\n    return [b'ok']\n"
    )
    (project / "requirements.txt").write_text(
        f"--no-index\n--find-links {wheels_dir}\nwebcore\nthumbs\n"
    )
    then = datetime(2019, 6, 1, tzinfo=timezone.utc).timestamp()
    for file in project.iterdir():
        os.utime(file, (then, then))
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    options = migrate.MigrateOptions(
        project=project, out=tmp_path / "out" / "build", python=version, interpreter=sys.executable
    )
    with pypi_json() as url:
        monkeypatch.setattr(wheels, "PYPI_JSON", url)
        result = migrate.migrate(options, progress=lambda line: None)
    assert {"webcore-2.2", "thumbs-12.4.1"} <= set(result.installed)
    assert (
        "Your requirements list webcore without a version, and your code imports "
        "'ugettext_lazy' from 'webcore', which today's webcore 6.1 no longer has: "
        "webcore==2.2, the newest release of the series webcore was at on 2019-06-01, when the "
        "project last changed, was installed instead. Pin it in your requirements to build "
        "without this second try."
    ) in result.notes
    assert (
        "Your requirements leave thumbs free, and today's thumbs 13.4.0 uses what webcore 2.2, "
        "the release the build has, does not have yet: thumbs==12.4.1, its last release before "
        "webcore 3.0 came out, was installed instead. Pin it in your requirements to build "
        "without this second try."
    ) in result.notes


def test_a_package_listed_without_a_version_in_a_project_of_today_is_not_held(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the project changed after the newest release, there is nothing older to take:
    the error names the import and the fix."""
    import sys

    from fcmigrate.build import migrate

    wheels_dir = tmp_path / "wheels"
    wheels_dir.mkdir()
    old_wheel(wheels_dir, "webcore", "2.2", "ugettext_lazy = str\n")
    old_wheel(wheels_dir, "webcore", "6.1", "storages = {}\n")
    old_wheel(wheels_dir, "gunicorn", "23.0.0", "")
    project = tmp_path / "project"
    project.mkdir()
    (project / "app.py").write_text("from webcore import ugettext_lazy\n\napp = None\n")
    (project / "requirements.txt").write_text(f"--no-index\n--find-links {wheels_dir}\nwebcore\n")
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    options = migrate.MigrateOptions(
        project=project, out=tmp_path / "out" / "build", python=version, interpreter=sys.executable
    )
    with pypi_json() as url:
        monkeypatch.setattr(wheels, "PYPI_JSON", url)
        with pytest.raises(AppImportError) as info:
            migrate.migrate(options, progress=lambda line: None)
    assert str(info.value).startswith(
        "Importing 'app:app' failed: your code imports 'ugettext_lazy' from 'webcore', which "
        "webcore 6.1 does not have (traceback above); your requirements list it without a "
        "version ('webcore'), so the build took the newest."
    )
    assert not (tmp_path / "out").exists()
