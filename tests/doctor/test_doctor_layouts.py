"""``fcmigrate doctor`` on the layouts and habits of real projects: each case is a false alarm
or a miss that ``bench/doctor_real.py`` found, written small and in our own words."""

from __future__ import annotations

import sys
from pathlib import Path

from test_doctor_projects import (  # noqa: F401 (_hermetic_env: an autouse fixture)
    BOOTSTRAP,
    DEP,
    DJANGO_SETTINGS,
    REQUIREMENTS,
    S_YAML,
    _hermetic_env,
    django_project,
    ids,
    write,
)

from fcmigrate.doctor import diagnose, render_text

MANAGE_PY = """\
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "{settings}")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
"""

WSGI_PY = """\
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "{settings}")
application = get_wsgi_application()
"""


def also_set(root: Path, name: str, value: str) -> None:
    """Add ``name: value`` to the environmentVariables of a project's s.yaml."""
    s_yaml = root / "s.yaml"
    text = s_yaml.read_text()
    s_yaml.write_text(
        text.replace("DJANGO_SECRET_KEY:", f"{name}: {value}\n        DJANGO_SECRET_KEY:")
    )


def wrapped_app(root: Path, files: dict[str, str]) -> Path:
    """A plain WSGI app wrapped for FC, with ``files`` beside it."""
    app = {"app.py": "def app(environ, start_response):\n    return []\n"}
    return write(
        root, {**app, "bootstrap": BOOTSTRAP.format(spec="app:app"), "s.yaml": S_YAML, **files}
    )


# --- where the Django settings are imported from -----------------------------------------------


def test_django_project_one_folder_down_imports_its_settings_from_there(tmp_path: Path) -> None:
    root = write(
        tmp_path / "repo",
        {
            "site/manage.py": MANAGE_PY.format(settings="shop.settings"),
            "site/shop/__init__.py": "",
            "site/shop/settings.py": DJANGO_SETTINGS.replace("DEBUG = False", "DEBUG = True"),
            "site/shop/wsgi.py": WSGI_PY.format(settings="shop.settings"),
        },
    )

    report = diagnose(root)

    # Imported from site/: the import reaches the settings' own first line that needs the
    # environment, instead of failing with "No module named 'shop'".
    [failed] = [f for f in report.findings if f.id == "FC200"]
    assert "KeyError: 'DJANGO_SECRET_KEY'" in failed.message, render_text(report)
    assert (failed.file, failed.line) == ("site/shop/settings.py", 5)


def test_a_src_layout_imports_its_settings_from_src(tmp_path: Path) -> None:
    root = write(
        tmp_path / "repo",
        {
            "manage.py": MANAGE_PY.format(settings="shop.settings"),
            "src/shop/__init__.py": "",
            "src/shop/settings.py": DJANGO_SETTINGS.replace("DEBUG = False", "DEBUG = True"),
        },
    )

    [failed] = [f for f in diagnose(root).findings if f.id == "FC200"]

    assert "KeyError: 'DJANGO_SECRET_KEY'" in failed.message
    assert failed.file == "src/shop/settings.py"


def test_fc_serves_the_settings_the_wsgi_module_names_not_manage_pys(tmp_path: Path) -> None:
    root = django_project(tmp_path / "shop")
    write(
        root,
        {
            "manage.py": MANAGE_PY.format(settings="shop.dev"),
            "shop/dev.py": "from .settings import *\nDEBUG = True\n",
        },
    )

    report = diagnose(root)

    assert report.findings == [], render_text(report)


# --- dependencies listed under another name -------------------------------------------------------


def test_a_namespace_or_framework_prefixed_distribution_counts_as_listed(tmp_path: Path) -> None:
    settings = "import fcmigratens.auth\n" + DJANGO_SETTINGS
    root = django_project(tmp_path / "shop", settings)
    assert ids(root) == ["FC200"]

    write(root, {"requirements.txt": "Django>=4.2\nfcmigratens-auth==2.0\n"})
    report = diagnose(root)
    assert report.findings == [], render_text(report)
    assert any("'fcmigratens'" in n for n in report.notes)

    (root / "shop/settings.py").write_text("import jobqueue\n" + DJANGO_SETTINGS)
    write(root, {"requirements.txt": "Django>=4.2\ndjango-fcmigrate-jobqueue==1.0\n"})
    report = diagnose(root)
    assert report.findings == [], render_text(report)


# --- one problem, one finding ---------------------------------------------------------------------

LOGS_SETTINGS = """\
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
LOG_DIR = os.path.join(BASE_DIR, "logs")
os.makedirs(LOG_DIR)
LOGGING = {
    "version": 1,
    "handlers": {
        "file": {
            "class": "logging.FileHandler",
            "filename": os.path.join(LOG_DIR, "shop.log"),
        },
    },
}
"""


def test_a_log_folder_made_at_import_is_one_file_write_not_a_settings_error(
    tmp_path: Path,
) -> None:
    root = django_project(tmp_path / "shop", DJANGO_SETTINGS + LOGS_SETTINGS)

    report = diagnose(root)

    assert [(f.id, f.line, f.severity) for f in report.findings] == [("FC301", 18, "error")], (
        render_text(report)
    )
    assert "/code/logs" in report.findings[0].message


def test_a_log_file_named_after_its_folder_shows_the_file(tmp_path: Path) -> None:
    root = write(
        tmp_path / "shop",
        {
            "app.py": """\
                import logging
                import os

                here = os.path.dirname(__file__)


                def setup():
                    handler = logging.FileHandler(os.path.join(here, "logs", "app.log"))
                    return handler
            """,
        },
    )

    [finding] = [f for f in diagnose(root).findings if f.id == "FC301"]

    assert "/code/logs/app.log" in finding.message


def test_websocket_use_across_files_is_one_finding(tmp_path: Path) -> None:
    root = wrapped_app(
        tmp_path / "shop",
        {
            "live/routing.py": "from channels.routing import URLRouter\n",
            "live/consumers.py": "from channels.generic.websocket import WebsocketConsumer\n",
        },
    )

    [finding] = diagnose(root).findings

    assert finding.id == "FC303"
    assert "live/consumers.py" in finding.message and "live/routing.py" in finding.message


def test_a_frameworks_optional_websocket_server_adapter_is_not_the_apps(tmp_path: Path) -> None:
    root = wrapped_app(
        tmp_path / "shop",
        {
            "shop/minifw.py": """\
                class ServerAdapter:
                    pass


                class SocketServerAdapter(ServerAdapter):
                    def run(self, handler):
                        from geventwebsocket.handler import WebSocketHandler

                        return WebSocketHandler
            """,
        },
    )

    assert ids(root) == []


# --- files the server never runs -----------------------------------------------------------------


def test_scripts_people_run_by_hand_are_not_file_writes_of_the_app(tmp_path: Path) -> None:
    root = wrapped_app(
        tmp_path / "shop",
        {
            "scripts/release_notes.py": 'open("CHANGELOG.md", "w").write("")\n',
            "shop/__init__.py": "",
            "shop/management/commands/backup.py": (
                'import sqlite3\n\ndef handle():\n    sqlite3.connect("data/db.sqlite3")\n'
            ),
            "shop/tests.py": "def test_x(:\n",
            "shop/tests_e2e/helpers.py": 'import os\nos.makedirs("screenshots")\n',
            "shop/browser_tests/helpers.py": 'import os\nos.makedirs("screenshots")\n',
        },
    )
    assert ids(root) == []

    # An app of the project's whose name only ends in "test" is the app's.
    write(root, {"shop/ab_test/views.py": 'open("hits.txt", "w").write("1")\n'})
    assert ids(root) == ["FC301"]


def test_syntax_newer_than_this_python_is_a_note_when_the_project_wants_a_newer_one(
    tmp_path: Path,
) -> None:
    root = wrapped_app(tmp_path / "shop", {"shop/tool.py": "match := (\n"})
    assert ids(root) == ["FC300"]

    newer = f"3.{sys.version_info[1] + 1}"
    write(root, {".python-version": f"{newer}\n"})
    report = diagnose(root)

    assert report.findings == [], render_text(report)
    assert any("shop/tool.py" in n and newer in n for n in report.notes)


# --- pages ----------------------------------------------------------------------------------------


def test_djangos_request_path_keeps_the_prefix(tmp_path: Path) -> None:
    root = django_project(tmp_path / "shop")
    write(
        root,
        {
            "shop/templates/list.html": """\
                <a href="{{ request.path }}?page=2">next</a>
                <form action="{{ request.get_full_path }}" method="post"></form>
            """
        },
    )

    assert ids(root) == []


def test_a_library_copied_into_static_is_not_the_projects_pages(tmp_path: Path) -> None:
    root = wrapped_app(
        tmp_path / "shop",
        {
            "static/editor/LICENSE.md": "Someone else's licence.\n",
            "static/editor/samples/demo.html": '<script src="/editor/editor.js"></script>\n',
            "static/editor/plugins/browse.js": "var o = { url: '/browser/browse.html' };\n",
        },
    )
    assert ids(root) == []

    write(root, {"static/app.js": 'fetch("/api/items");\n'})
    assert ids(root) == ["FC307"]


# --- read from the source when the import fails -------------------------------------------------


def test_a_base_dir_made_with_an_alias_of_dirname_is_followed(tmp_path: Path) -> None:
    settings = (
        f"import {DEP}\n"
        + DJANGO_SETTINGS.replace(
            '{"ENGINE": "django.db.backends.postgresql", "NAME": "shop"}',
            '{"ENGINE": "django.db.backends.sqlite3", '
            '"NAME": os.path.join(TOP, "data", "db.sqlite3")}',
        )
        + "up = os.path.dirname\nTOP = up(up(os.path.abspath(__file__)))\n"
    )
    root = django_project(tmp_path / "shop", settings)
    write(root, REQUIREMENTS)

    report = diagnose(root)

    assert [f.id for f in report.findings] == ["FC206"], render_text(report)
    assert "/code/data/db.sqlite3" in report.findings[0].message


# --- start commands ------------------------------------------------------------------------------


def test_a_procfile_running_a_bottle_script_is_a_dev_server(tmp_path: Path) -> None:
    root = write(
        tmp_path / "shop",
        {
            "Procfile": "web: python hello.py\n",
            "hello.py": """\
                from bottle import route, run


                @route("/")
                def index():
                    return "hi"


                run(host="0.0.0.0", port=8080)
            """,
        },
    )

    [finding] = diagnose(root).findings

    assert finding.id == "FC101"
    assert "Bottle's run() at hello.py:9" in finding.message


def test_manage_py_runserver_of_a_flask_app_is_not_called_djangos(tmp_path: Path) -> None:
    root = write(
        tmp_path / "shop",
        {
            "manage.py": "from flask_script import Manager\n",
            "Dockerfile": 'ENTRYPOINT ["python3", "manage.py", "runserver"]\n',
        },
    )

    [finding] = diagnose(root).findings

    assert finding.id == "FC101"
    assert "Django" not in finding.message
    assert "`manage.py runserver` (a development server)" in finding.message


def test_sessions_in_a_sqlite_database_are_part_of_its_finding(tmp_path: Path) -> None:
    settings = DJANGO_SETTINGS.replace(
        '{"ENGINE": "django.db.backends.postgresql", "NAME": "shop"}',
        '{"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3"}',
    ).replace(
        'INSTALLED_APPS = ["django.contrib.staticfiles"]',
        'INSTALLED_APPS = ["django.contrib.staticfiles", "django.contrib.sessions"]',
    )
    root = django_project(tmp_path / "shop", settings)

    report = diagnose(root)

    [finding] = report.findings
    assert finding.id == "FC206", render_text(report)
    assert "DATABASES['default'] (which also keeps the sessions) is SQLite" in finding.message


# --- values set at deploy time ---------------------------------------------------------------


PARSES_ITS_URL = """\
import os

url = os.environ.get("SHOP_DB_URL", "")
if url and not url.startswith("postgres://"):
    raise ValueError("cannot parse the database URL")
"""


def test_an_import_that_fails_on_a_deploy_time_stand_in_is_a_note(tmp_path: Path) -> None:
    # A migrate build whose s.yaml reads the database URL from the deploying shell.
    root = django_project(tmp_path / "shop", PARSES_ITS_URL + DJANGO_SETTINGS)
    also_set(root, "SHOP_DB_URL", "${env('SHOP_DB_URL')}")

    report = diagnose(root)

    assert report.findings == [], render_text(report)
    [note] = [n for n in report.notes if "SHOP_DB_URL" in n]
    assert "at deploy time" in note and "cannot parse the database URL" in note


def test_a_deploy_time_value_whose_fallback_needs_it_unset_is_a_note(tmp_path: Path) -> None:
    parses = PARSES_ITS_URL.replace(
        'url = os.environ.get("SHOP_DB_URL", "")\nif url and',
        'url = os.environ.get("SHOP_DB_URL", "sqlite:///shop.db")\nif',
    ).replace('startswith("postgres://")', 'startswith(("postgres://", "sqlite:"))')
    root = django_project(tmp_path / "shop", parses + DJANGO_SETTINGS)
    also_set(root, "SHOP_DB_URL", "${env('SHOP_DB_URL')}")

    assert ids(root) == []  # empty, the URL does not parse; unset, the fallback does


def test_an_import_failure_unrelated_to_deploy_time_values_stays_an_error(tmp_path: Path) -> None:
    settings = 'raise RuntimeError("CACHE_HOST is not set")\n' + DJANGO_SETTINGS
    root = django_project(tmp_path / "shop", settings)

    report = diagnose(root)

    assert [f.id for f in report.findings] == ["FC200"], render_text(report)


def test_server_name_in_a_production_config_class_is_found(tmp_path: Path) -> None:
    root = wrapped_app(
        tmp_path / "shop",
        {
            "settings.py": """\
                class BaseConfig:
                    DEBUG = False


                class ProductionConfig(BaseConfig):
                    SERVER_NAME = "shop.example"


                class DevelopmentConfig(BaseConfig):
                    SERVER_NAME = "localhost:5000"
            """,
        },
    )

    [finding] = diagnose(root).findings

    assert (finding.id, finding.file, finding.line) == ("FC305", "settings.py", 6)


def test_sqlite_replaced_from_a_variable_the_config_sets_is_not_reported(tmp_path: Path) -> None:
    settings = (
        f"import {DEP}\n"
        + DJANGO_SETTINGS.replace(
            '{"ENGINE": "django.db.backends.postgresql", "NAME": "shop"}',
            '{"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3"}',
        )
        + 'if "DATABASE_URL" in os.environ:\n'
        + '    DATABASES["default"] = dj_database_url.config(conn_max_age=500)\n'
    )
    root = django_project(tmp_path / "shop", settings)
    write(root, REQUIREMENTS)
    assert ids(root) == ["FC206"]  # the config does not set DATABASE_URL: SQLite it is

    also_set(root, "DATABASE_URL", "${env('DATABASE_URL')}")
    assert ids(root) == []


def test_a_dockerfile_beside_a_custom_runtime_config_is_not_what_fc_runs(tmp_path: Path) -> None:
    dockerfile = {"Dockerfile": 'CMD ["python3", "manage.py", "runserver", "0.0.0.0:8000"]\n'}
    assert ids(write(tmp_path / "alone", dockerfile)) == ["FC101"]

    root = wrapped_app(tmp_path / "shop", dockerfile)

    assert ids(root) == []


def test_settings_switched_by_a_variable_the_config_sets_are_read_on_that_branch(
    tmp_path: Path,
) -> None:
    settings = (
        f"import {DEP}\n"
        + DJANGO_SETTINGS.replace("DEBUG = False", "DEBUG = True").replace(
            'SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]',
            'SECRET_KEY = "a-development-key-written-in-the-settings-by-hand"',
        )
        + 'STAGE = os.getenv("STAGE", "development")\n'
        + 'if STAGE == "production":\n'
        + "    DEBUG = False\n"
        + '    SECRET_KEY = os.getenv("DJANGO_SECRET_KEY")\n'
    )
    root = django_project(tmp_path / "shop", settings)
    write(root, REQUIREMENTS)
    assert sorted(ids(root)) == ["FC201", "FC202"]  # STAGE unset: the development values

    also_set(root, "STAGE", "production")
    assert ids(root) == []


def test_a_build_is_imported_with_its_own_packages_over_doctors(tmp_path: Path) -> None:
    # The build pins an older release of a package doctor's environment has newer (a name
    # the newer one dropped): the build's is what FC runs.
    root = wrapped_app(
        tmp_path / "build",
        {
            "app.py": """\
                from yaml import name_only_the_pinned_release_has

                def app(environ, start_response):
                    return []
            """,
            "python/yaml/__init__.py": "name_only_the_pinned_release_has = 1\n",
        },
    )

    report = diagnose(root)

    assert report.findings == [], render_text(report)


def test_a_build_whose_packages_load_only_on_fcs_python_is_a_note(tmp_path: Path) -> None:
    files = {
        "app.py": """\
            from yaml import name_only_the_pinned_release_has

            def app(environ, start_response):
                return []
        """,
        "python/yaml/__init__.py": 'raise ImportError("this wheel is for another Python")\n',
    }
    root = wrapped_app(tmp_path / "shop", files)
    assert ids(root) == ["FC304"]  # not a migrate build: nothing says FC's Python imports it

    write(root, {"python/fcmigrate/__init__.py": ""})
    report = diagnose(root)

    assert report.findings == [], render_text(report)
    assert any("checked this import with FC's Python" in n for n in report.notes)
