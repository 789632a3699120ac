"""fcmigrate.build.detect and facts: the app, its requirements and its Python in a project folder.

Every scenario is a tiny project under ``tests/detect_fixtures`` (one folder each). Static
detection must not import them; :func:`confirm_import` imports them in a subprocess.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import DJANGO_SAMPLE, FLASK_SAMPLE, REPO

from fcmigrate.build.detect import Detected, detect_app
from fcmigrate.build.facts import lowest_allowed, read_python_version, read_requirements
from fcmigrate.build.importcheck import confirm_import
from fcmigrate.errors import AppImportError, AppLoadError, FCMigrateError

FIXTURES = Path(__file__).resolve().parent / "detect_fixtures"


@pytest.mark.parametrize(
    ("folder", "spec", "framework", "found_in"),
    [
        ("flask_app_py", "app:app", "flask", "app.py"),
        ("plain_wsgi", "wsgi:application", "wsgi", "wsgi.py"),
        ("flask_named", "main:server", "flask", "main.py"),
        ("factory_package", "shop:create_app()", "flask", "shop/__init__.py"),
        ("factory_with_wsgi", "wsgi:app", "flask", "wsgi.py"),
        # `def app(**options)` makes the app; it cannot be one.
        ("factory_named_app", "pkgindex:app()", "wsgi", "pkgindex/__init__.py"),
        ("alias", "app:app", "flask", "app.py"),
        ("import_module_then_attr", "wsgi:application", "flask", "wsgi.py"),
        ("python_version_file", "index:app", "flask", "index.py"),
        ("src_layout", "storefront:create_app()", "flask", "src/storefront/__init__.py"),
        # Nothing at the top names an app: a package's app.py does, with a factory that
        # takes no arguments beside one that does.
        ("package_entry", "gallery.app:get_app()", "wsgi", "gallery/app.py"),
        (
            "django_project",
            "proj.wsgi:application",
            "django",
            "manage.py -> proj.settings -> WSGI_APPLICATION",
        ),
        (
            "django_split_settings",
            "site_cfg.entry:application",
            "django",
            "manage.py -> site_cfg.settings -> WSGI_APPLICATION",
        ),
        ("django_no_wsgi_setting", "bare.settings", "django", "manage.py -> bare.settings"),
    ],
    ids=lambda value: value if "/" not in str(value) else None,
)
def test_detects_the_app_statically(folder: str, spec: str, framework: str, found_in: str) -> None:
    modules_before = set(sys.modules)
    detected = detect_app(FIXTURES / folder)
    assert (detected.spec, detected.framework, detected.found_in) == (spec, framework, found_in)
    assert detected.root == (FIXTURES / folder).resolve()
    assert detected.confirmed is False
    # Nothing of the project was imported into this process.
    assert {"app", "wsgi", "main", "shop", "proj", "site_cfg", "bare", "gallery"}.isdisjoint(
        set(sys.modules) - modules_before
    )


def test_django_settings_module_is_reported() -> None:
    assert detect_app(FIXTURES / "django_project").settings_module == "proj.settings"
    assert detect_app(FIXTURES / "flask_app_py").settings_module is None


def test_sample_apps_are_detected() -> None:
    flask = detect_app(FLASK_SAMPLE)
    django = detect_app(DJANGO_SAMPLE)
    assert (flask.spec, flask.framework, flask.requirements) == ("app:app", "flask", ["Flask>=3"])
    assert (django.spec, django.framework, django.settings_module) == (
        "mysite.wsgi:application",
        "django",
        "mysite.settings",
    )
    assert django.requirements_file == DJANGO_SAMPLE / "requirements.txt"


@pytest.mark.parametrize(
    ("folder", "expected"),
    [
        ("two_files", ["'app:app' (app.py, flask)", "'main:app' (main.py, flask)"]),
        ("two_names", ["'wsgi:app' (wsgi.py, flask)", "'wsgi:application' (wsgi.py, flask)"]),
    ],
)
def test_two_candidates_are_listed_with_the_app_option(folder: str, expected: list[str]) -> None:
    with pytest.raises(FCMigrateError) as info:
        detect_app(FIXTURES / folder)
    message = str(info.value)
    assert message.startswith(f"Found 2 candidate apps in {str(FIXTURES / folder)!r}: ")
    for item in expected:
        assert item in message
    assert message.endswith(f"Choose one with --app, e.g. --app {expected[0].split()[0]}.")
    assert "\n" not in message


@pytest.mark.parametrize("folder", ["no_app", "main_guard_only"])
def test_no_app_says_what_was_looked_for(folder: str) -> None:
    with pytest.raises(FCMigrateError) as info:
        detect_app(FIXTURES / folder)
    message = str(info.value)
    assert message.startswith(f"No WSGI app found in {str(FIXTURES / folder)!r}.")
    for looked_for in ("manage.py", "app.py", "wsgi.py", "main.py", "create_app()", "--app"):
        assert looked_for in message


def test_an_app_made_by_a_paste_deploy_ini_gets_the_way_to_load_it() -> None:
    # pyramid_blogr: production.ini's [app:main] names the package's entry point.
    with pytest.raises(FCMigrateError) as info:
        detect_app(FIXTURES / "paste_deploy")
    assert str(info.value).endswith(
        " 'production.ini' makes the app with PasteDeploy ([app:main] use = egg:blogsite), "
        "which fcmigrate does not read: add a wsgi.py that does, e.g. 'from pyramid.paster "
        "import get_app; app = get_app('production.ini')', and list the project itself ('.') "
        "in requirements.txt so that its entry point is installed. Name the app with --app, "
        "e.g. --app 'app:app' or --app 'mysite.wsgi:application'."
    )


def test_a_script_that_serves_itself_at_import_is_named(tmp_path: Path) -> None:
    """`web: python app.py` with Bottle's module-level routes and a bare run(): importing it
    would start a second server, and there is no app to name with --app."""
    (tmp_path / "Procfile").write_text("web: python app.py\n")
    (tmp_path / "app.py").write_text(
        "import os\n"
        "from bottle import route, run\n\n\n"
        "@route('/')\n"
        "def home():\n"
        "    return 'hi'\n\n\n"
        "if os.environ.get('ON_PAAS'):\n"
        "    run(host='0.0.0.0', port=int(os.environ['PORT']))\n"
        "else:\n"
        "    run(port=8080, reloader=True)\n"
    )
    with pytest.raises(FCMigrateError) as info:
        detect_app(tmp_path)
    assert str(info.value).endswith(
        " 'app.py', which the Procfile's web command 'python app.py' runs, starts its own "
        "server when it is imported (run() at line 11) and names no app that a WSGI server "
        "could import: put that call under 'if __name__ == \"__main__\":' and name the app at "
        "module level (Bottle's default app: 'app = bottle.default_app()'), then run again."
    )

    # Under the guard, it is the usual "no app" line, with --app.
    source = (tmp_path / "app.py").read_text().split("if os.environ")[0]
    (tmp_path / "app.py").write_text(source + "if __name__ == '__main__':\n    run(port=8080)\n")
    with pytest.raises(FCMigrateError) as info:
        detect_app(tmp_path)
    assert "starts its own server" not in str(info.value)
    assert str(info.value).endswith("--app 'mysite.wsgi:application'.")


def test_a_django_project_one_folder_down_is_named(tmp_path: Path) -> None:
    (tmp_path / "frontend").mkdir()
    shutil.copytree(FIXTURES / "django_project", tmp_path / "backend")
    with pytest.raises(FCMigrateError) as info:
        detect_app(tmp_path)
    assert "A Django project's manage.py is in 'backend/': give that folder as the project." in (
        str(info.value)
    )
    assert detect_app(tmp_path / "backend").spec == "proj.wsgi:application"

    # A manage.py whose settings are not found from its own folder is no project root: no hint.
    (tmp_path / "backend" / "proj" / "settings.py").unlink()
    with pytest.raises(FCMigrateError) as info:
        detect_app(tmp_path)
    assert "manage.py is in" not in str(info.value)


def test_the_app_flaskenv_names_is_found_when_the_files_name_none(tmp_path: Path) -> None:
    # The entry file has a name fcmigrate does not look for; `flask run` finds it by .flaskenv.
    (tmp_path / "blog.py").write_text("from flask import Flask\nsite = Flask(__name__)\n")
    (tmp_path / ".flaskenv").write_text("# for flask run\nFLASK_APP=blog.py\nFLASK_DEBUG=1\n")
    found = detect_app(tmp_path)
    assert (found.spec, found.framework) == ("blog:site", "flask")
    assert found.found_in == ".flaskenv (FLASK_APP=blog.py)"


@pytest.mark.parametrize(
    ("files", "spec"),
    [
        # miguelgrinberg/REST-auth's shape: `python api.py`, nothing else names the app.
        ({"api.py": "from flask import Flask\napp = Flask(__name__)\n"}, "api:app"),
        ({"server.py": "import bottle\nsite = bottle.Bottle()\n"}, "server:site"),
        (
            {
                "blog.py": "from flask import Flask\nblog = Flask(__name__)\n",
                # Neither is an app a framework call makes: no second candidate.
                "tasks.py": "from celery import Celery\napp = Celery('blog')\n",
                "run.py": "from blog import blog\napplication = blog\n",
                "test_blog.py": "from flask import Flask\napp = Flask('test')\n",
            },
            "blog:blog",
        ),
    ],
    ids=["api-py", "bottle-object", "beside-helpers"],
)
def test_an_app_object_in_a_top_level_module_of_any_name_is_found(
    tmp_path: Path, files: dict[str, str], spec: str
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    found = detect_app(tmp_path)
    assert (found.spec, found.found_in) == (spec, f"{spec.split(':')[0]}.py")


def _files(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


_SEARX_SHAPE = {
    # searxng's shape: the app is made in a module of the package, and granian serves
    # searx.webapp:app from a shell script; no entry file names it.
    "searx/__init__.py": "import logging\nlogger = logging.getLogger('searx')\n",
    "searx/webapp.py": (
        "import flask\nfrom flask import Flask\nfrom searx import settings_defaults\n"
        "app = Flask(__name__, static_folder=None, template_folder='templates')\n"
        "@app.route('/')\ndef index():\n    return 'ok'\n"
    ),
    "searx/settings_defaults.py": "from flask import Flask\nSETTINGS = {}\n",
    "searx/utils.py": "def helper():\n    return 1\n",
}


@pytest.mark.parametrize(
    ("files", "spec"),
    [
        (_SEARX_SHAPE, "searx.webapp:app"),
        (
            {
                "shop/__init__.py": "",
                "shop/server.py": "import bottle\nsite = bottle.Bottle()\n",
                # Tests, settings and a name alone are not the app.
                "shop/tests.py": "from flask import Flask\napp = Flask('t')\n",
                "shop/test_server.py": "from flask import Flask\napp = Flask('t')\n",
                "shop/settings.py": "from flask import Flask\nbase = Flask('s')\n",
                "shop/config.py": "import falcon\napp = falcon.App()\n",
                "shop/tasks.py": "from celery import Celery\napp = Celery('shop')\n",
            },
            "shop.server:site",
        ),
    ],
    ids=["searx-webapp", "beside-tests-and-settings"],
)
def test_an_app_object_in_a_module_of_a_top_level_package_is_found(
    tmp_path: Path, files: dict[str, str], spec: str
) -> None:
    _files(tmp_path, files)
    found = detect_app(tmp_path)
    module = spec.split(":")[0]
    assert (found.spec, found.found_in) == (spec, module.replace(".", "/") + ".py")


@pytest.mark.parametrize(
    "files",
    [
        # One level only: a module deeper in the package is not asked.
        {
            "shop/__init__.py": "",
            "shop/web/__init__.py": "",
            "shop/web/site.py": "from flask import Flask\napp = Flask(__name__)\n",
        },
        # A folder without __init__.py is no package.
        {"shop/site.py": "from flask import Flask\napp = Flask(__name__)\n"},
        # Made under the main guard, or in a function: not at import.
        {
            "shop/__init__.py": "",
            "shop/site.py": "from flask import Flask\ndef make():\n"
            "    app = Flask(__name__)\n    return app\nif __name__ == '__main__':\n"
            "    app = Flask(__name__)\n",
        },
    ],
    ids=["two-levels-down", "not-a-package", "not-at-module-level"],
)
def test_package_modules_that_make_no_app_at_import_are_passed_over(
    tmp_path: Path, files: dict[str, str]
) -> None:
    _files(tmp_path, files)
    with pytest.raises(
        FCMigrateError, match=r"No WSGI app found.* or module of a top-level package"
    ):
        detect_app(tmp_path)


def test_apps_made_in_a_top_level_module_and_in_a_package_module_are_both_listed(
    tmp_path: Path,
) -> None:
    _files(
        tmp_path,
        {
            "api.py": "from flask import Flask\napp = Flask(__name__)\n",
            "admin/__init__.py": "",
            "admin/site.py": "from flask import Flask\nsite = Flask(__name__)\n",
        },
    )
    with pytest.raises(
        FCMigrateError, match=r"Found 2 candidate apps.*'api:app'.*'admin.site:site'"
    ):
        detect_app(tmp_path)


def test_a_package_module_is_asked_only_when_nothing_else_names_an_app(tmp_path: Path) -> None:
    _files(tmp_path, _SEARX_SHAPE)
    (tmp_path / "searx" / "app.py").write_text("from searx.webapp import app\n")
    assert detect_app(tmp_path).found_in == "searx/app.py"
    (tmp_path / "wsgi.py").write_text("from searx.webapp import app as application\n")
    assert (detect_app(tmp_path).spec, detect_app(tmp_path).found_in) == (
        "wsgi:application",
        "wsgi.py",
    )


def test_an_entry_that_reaches_the_app_through_a_module_of_its_own_is_the_one(
    tmp_path: Path,
) -> None:
    """edwardmuss/bitly_clone_flask's shape: uwsgi serves wsgi.py, which imports app.py, which
    star-imports the package that makes the app. One app, not two candidates."""
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "__init__.py").write_text(
        "from flask import Flask\napp = Flask(__name__)\n"
    )
    (tmp_path / "app.py").write_text("from core import *\nimport core.views\n")
    (tmp_path / "core" / "views.py").write_text("from core import app\n")
    (tmp_path / "wsgi.py").write_text("from app import app\n")
    found = detect_app(tmp_path)
    assert (found.spec, found.framework, found.found_in) == ("wsgi:app", "flask", "wsgi.py")


def test_an_entry_file_naming_what_the_factory_made_is_the_app(tmp_path: Path) -> None:
    """flaskbb's shape: wsgi.py does ``flaskbb = create_app(config="flaskbb.cfg")``, a name of
    its own for the app the package's factory makes; gunicorn serves ``wsgi:flaskbb``."""
    (tmp_path / "forum").mkdir()
    (tmp_path / "forum" / "__init__.py").write_text("from forum.app import create_app\n")
    (tmp_path / "forum" / "app.py").write_text(
        "from flask import Flask\ndef create_app(config=None):\n    return Flask('forum')\n"
    )
    (tmp_path / "wsgi.py").write_text(
        "from forum import create_app\nforum = create_app(config='forum.cfg')\n"
    )
    found = detect_app(tmp_path)
    assert (found.spec, found.found_in) == ("wsgi:forum", "wsgi.py")


def test_settings_that_manage_py_chooses_by_a_condition_are_picked_for_deployment(
    tmp_path: Path,
) -> None:
    """Azure's Django samples: manage.py and wsgi.py choose production settings only when
    Azure's own WEBSITE_HOSTNAME is set, which FC never sets."""
    choose = (
        "import os\n"
        "def main():\n"
        "    module = 'proj.production' if 'WEBSITE_HOSTNAME' in os.environ "
        "else 'proj.settings'\n"
        "    os.environ.setdefault('DJANGO_SETTINGS_MODULE', module)\n"
        "    from django.core.management import execute_from_command_line\n"
    )
    (tmp_path / "manage.py").write_text(choose)
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "__init__.py").write_text("")
    (tmp_path / "proj" / "settings.py").write_text(
        "DEBUG = True\nWSGI_APPLICATION = 'proj.wsgi.application'\n"
    )
    (tmp_path / "proj" / "production.py").write_text("from .settings import *\nDEBUG = False\n")
    (tmp_path / "proj" / "wsgi.py").write_text(
        choose.replace("def main():\n", "if True:\n")
        + "from django.core.wsgi import get_wsgi_application\n"
        + "application = get_wsgi_application()\n"
    )
    found = detect_app(tmp_path)
    assert (found.spec, found.settings_module, found.found_in) == (
        "proj.production",
        "proj.production",
        "manage.py (no DJANGO_SETTINGS_MODULE) -> proj.production (chosen over proj.settings)",
    )


def test_an_app_made_under_the_main_guard_of_another_module_is_not_found(tmp_path: Path) -> None:
    (tmp_path / "serve.py").write_text(
        "from flask import Flask\nif __name__ == '__main__':\n    app = Flask(__name__)\n"
    )
    with pytest.raises(FCMigrateError, match="No WSGI app found"):
        detect_app(tmp_path)


def test_flaskenv_chooses_among_several_apps_with_its_factory_arguments(tmp_path: Path) -> None:
    for name in ("app.py", "main.py"):
        (tmp_path / name).write_text(
            "from flask import Flask\ndef create_app(config='dev'):\n    return Flask(__name__)\n"
        )
    with pytest.raises(FCMigrateError, match="Found 2 candidate apps"):
        detect_app(tmp_path)
    (tmp_path / ".flaskenv").write_text("export FLASK_APP=\"main:create_app('prod')\"\n")
    assert detect_app(tmp_path).spec == "main:create_app('prod')"
    # With one app found, a FLASK_APP naming its module says how to call its factory.
    (tmp_path / "main.py").unlink()
    assert detect_app(tmp_path).spec == "app:create_app()"
    (tmp_path / ".flaskenv").write_text("FLASK_APP=app:create_app('prod')\n")
    assert detect_app(tmp_path).spec == "app:create_app('prod')"
    assert detect_app(tmp_path).notes == ()
    # A development configuration, which `flask run` is for, is taken with a note.
    (tmp_path / ".flaskenv").write_text("FLASK_APP=app:create_app('app.settings.DevConfig')\n")
    found = confirm_import(detect_app(tmp_path))
    assert found.spec == "app:create_app('app.settings.DevConfig')"
    assert found.notes[0] == (
        "The app is app:create_app('app.settings.DevConfig'), as FLASK_APP in .flaskenv names "
        "it for 'flask run': its arguments look like a development configuration. If "
        "production uses another, name it with --app, e.g. --app "
        "\"app:create_app('app.settings.ProdConfig')\"."
    )
    (tmp_path / ".flaskenv").write_text("FLASK_APP=main:create_app('prod')\n")
    assert detect_app(tmp_path).spec == "app:create_app()"  # names no module of the project
    (tmp_path / "main.py").write_text((tmp_path / "app.py").read_text())
    # A FLASK_APP naming no module of the project leaves the choice to the user, as before.
    (tmp_path / ".flaskenv").write_text("FLASK_APP=elsewhere.py\n")
    with pytest.raises(FCMigrateError, match="Found 2 candidate apps"):
        detect_app(tmp_path)


def test_manage_py_without_settings_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
    with pytest.raises(FCMigrateError) as info:
        detect_app(FIXTURES / "manage_without_settings")
    message = str(info.value)
    assert "does not set DJANGO_SETTINGS_MODULE and no settings module was found" in message
    assert "Set DJANGO_SETTINGS_MODULE, or name the app with --app" in message


def test_explicit_app_wins_over_detection() -> None:
    detected = detect_app(FIXTURES / "two_files", app="main:app")
    assert (detected.spec, detected.framework, detected.found_in) == ("main:app", "flask", "--app")
    django = detect_app(FIXTURES / "django_project", app="proj.wsgi:application")
    assert (django.framework, django.settings_module) == ("django", "proj.settings")


def test_explicit_app_with_a_bad_spec_is_the_loaders_error() -> None:
    with pytest.raises(AppLoadError, match="is a file path; use the dotted module name 'app:app'"):
        detect_app(FIXTURES / "flask_app_py", app="./app.py:app")


def test_missing_folder_and_file_are_clear_errors(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(FCMigrateError, match=r"The project folder '.*nope' does not exist\."):
        detect_app(missing)
    file = tmp_path / "file.txt"
    file.write_text("x")
    with pytest.raises(FCMigrateError, match=r"'.*file\.txt' is not a folder\."):
        detect_app(file)


# --- requirements and Python version ---------------------------------------------------


def test_requirements_txt_with_includes_comments_and_options() -> None:
    requirements, source = read_requirements(FIXTURES / "requirements_include")
    assert source == FIXTURES / "requirements_include" / "requirements.txt"
    assert requirements == [
        "itsdangerous>=2",
        "Flask>=3",
        'gunicorn>=23      ; python_version >= "3.10"',
    ]


def test_pyproject_dependencies_and_requires_python() -> None:
    detected = detect_app(FIXTURES / "pyproject_project")
    assert detected.requirements == ["Flask>=3", "itsdangerous"]
    assert detected.requirements_file is None
    assert detected.python == "3.11"
    assert detected.python_source == "requires-python '>=3.11' in pyproject.toml"


def test_python_version_file() -> None:
    assert read_python_version(FIXTURES / "python_version_file") == ("3.12", ".python-version")
    assert read_python_version(FIXTURES / "flask_app_py") == (None, None)


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param(
            {"pyproject.toml": '[tool.poetry.dependencies]\npython = "^3.12,<4"\n'},
            ("3.12", "python '^3.12,<4' in pyproject.toml [tool.poetry]"),
            id="poetry-caret",
        ),
        pytest.param(
            {"pyproject.toml": '[tool.poetry.dependencies]\npython = "~3.11"\n'},
            ("3.11", "python '~3.11' in pyproject.toml [tool.poetry]"),
            id="poetry-tilde",
        ),
        pytest.param({"runtime.txt": "python-3.11.9\n"}, ("3.11", "runtime.txt"), id="heroku"),
        # Where an app last ran on Heroku is not what it needs: an old one is passed over.
        pytest.param({"runtime.txt": "python-3.6.15\n"}, (None, None), id="heroku-old"),
        pytest.param(
            {"runtime.txt": "python-3.12.1", ".python-version": "3.11\n"},
            ("3.11", ".python-version"),
            id="python-version-first",
        ),
        # searxng's: setup.py says >=3.10, but the code needs 3.11 (tomllib), as mise.toml says.
        pytest.param(
            {"mise.toml": '[tools]\n# minimal version we support\npython = "3.11"\nnode = "25"\n'},
            ("3.11", "python '3.11' in mise.toml [tools]"),
            id="mise",
        ),
        pytest.param(
            {
                ".mise.toml": '[tools]\npython = ["3.12.4", "3.11"]\n',
                "runtime.txt": "python-3.10.1",
            },
            ("3.12", "python '3.12.4' in .mise.toml [tools]"),
            id="mise-list-before-runtime-txt",
        ),
        pytest.param(
            {".tool-versions": "nodejs 20.1.0\npython 3.13.1 3.12.0  # asdf\n"},
            ("3.13", ".tool-versions"),
            id="asdf",
        ),
        pytest.param(
            {".tool-versions": "python 3.8.10\n", "mise.toml": "[tools\npython = 3.11"},
            (None, None),
            id="old-or-broken-pins",
        ),
        pytest.param(
            {
                "pyproject.toml": "[project]\nrequires-python = '>=3.10'\n",
                "mise.toml": '[tools]\npython = "3.12"\n',
            },
            ("3.10", "requires-python '>=3.10' in pyproject.toml"),
            id="requires-python-first",
        ),
    ],
)
def test_python_version_from_poetry_and_runtime_txt(
    tmp_path: Path, files: dict[str, str], expected: tuple[str | None, str | None]
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    assert read_python_version(tmp_path) == expected


def test_setup_py_and_setup_cfg_install_requires_are_read_without_running_setup(
    tmp_path: Path,
) -> None:
    # Pyramid's scaffolds: the dependencies are in setup.py only, in a module-level name.
    (tmp_path / "setup.py").write_text(
        "import sys\n"
        "from setuptools import setup\n"
        "raise SystemExit('setup.py was run')\n"
        "requires = ['pyramid>=1.10', 'waitress']\n"
        "tests_require = ['pytest']\n"
        "setup(name='blogr', install_requires=requires + [\"SQLAlchemy<2; python_version>'3'\"],\n"
        "      extras_require={'testing': tests_require})\n"
    )
    assert read_requirements(tmp_path) == (
        ["pyramid>=1.10", "waitress", "SQLAlchemy<2; python_version>'3'"],
        None,
    )
    (tmp_path / "setup.cfg").write_text(
        "[metadata]\nname = blogr\n\n[options]\ninstall_requires =\n"
        "    flask>=2  # the web framework\n    requests\n"
    )
    assert read_requirements(tmp_path) == (["flask>=2", "requests"], None)


def test_requirements_txt_wins_over_pyproject(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "pyproject_project", tmp_path, dirs_exist_ok=True)
    (tmp_path / "requirements.txt").write_text("Flask==3.1.3\n")
    assert read_requirements(tmp_path) == (["Flask==3.1.3"], tmp_path / "requirements.txt")


@pytest.mark.parametrize(
    ("requires", "expected"),
    [
        (">=3.8", "3.10"),
        (">=3.11,<3.13", "3.11"),
        ("~=3.12", "3.12"),
        ("==3.13.*", "3.13"),
        (">3.10", "3.10"),  # 3.10.1 is above 3.10
        (">=3.10.4", "3.10"),
        ("!=3.10.*, >=3.9", "3.11"),
        ("<3.10", "3.9"),  # nearest unsupported one, so an error can name it
        (">=3.14", "3.14"),
        ("==2.7.*", None),
    ],
)
def test_lowest_allowed_python(requires: str, expected: str | None) -> None:
    assert lowest_allowed(requires) == expected


def test_invalid_pyproject_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project\nname = 1\n")
    (tmp_path / "app.py").write_text("app = None\n")
    with pytest.raises(FCMigrateError, match=r"pyproject\.toml' is not valid TOML"):
        detect_app(tmp_path)


# --- importing in a subprocess ----------------------------------------------------------


def test_confirm_import_reports_the_real_framework() -> None:
    detected = detect_app(FIXTURES / "plain_wsgi", check=True)
    assert (detected.framework, detected.confirmed) == ("wsgi", True)
    flask = detect_app(FIXTURES / "factory_with_wsgi", check=True)
    assert (flask.spec, flask.framework) == ("wsgi:app", "flask")
    django = detect_app(DJANGO_SAMPLE, check=True)
    assert (django.framework, django.settings_module) == ("django", "mysite.settings")
    # The project got no bytecode from the check.
    assert not list((FIXTURES / "factory_with_wsgi").rglob("__pycache__"))


def test_confirm_import_of_a_src_layout(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(FIXTURES / "src_layout", project)
    detected = detect_app(project, check=True)
    assert (detected.spec, detected.framework, detected.confirmed) == (
        "storefront:create_app()",
        "flask",
        True,
    )
    # Named explicitly, it is found in src/ as well.
    explicit = detect_app(project, app="storefront:create_app()")
    assert explicit.framework == "flask"


def test_a_module_in_root_wins_over_src(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "src_layout", tmp_path, dirs_exist_ok=True)
    package = tmp_path / "storefront"
    package.mkdir()
    (package / "__init__.py").write_text("from flask import Flask\n\napp = Flask(__name__)\n")
    detected = detect_app(tmp_path)
    assert (detected.spec, detected.found_in) == ("storefront:app", "storefront/__init__.py")

    # A plain module of that name shadows the src/ package too, as on the import path.
    shutil.rmtree(package)
    (tmp_path / "storefront.py").write_text("VALUE = 1\n")
    with pytest.raises(FCMigrateError, match="No WSGI app found"):
        detect_app(tmp_path)


def _raised(code: str) -> BaseException:
    try:
        exec(code, {})
    except BaseException as exc:  # the exception is what is tested
        return exc
    raise AssertionError("nothing raised")


@pytest.mark.parametrize(
    ("code", "variable"),
    [
        ("import os; os.environ['FCM_UNSET_A']", "FCM_UNSET_A"),
        ("raise KeyError('FCM_UNSET_B')", None),  # a KeyError, but not from os.environ
        ("{}['FCM_UNSET_C']", None),
        (
            "raise RuntimeError('Set the DATABASE_URL environment variable')",  # django-environ
            "DATABASE_URL",
        ),
        ("raise RuntimeError('Environment variable \"API_KEY\" not set')", "API_KEY"),  # environs
        (
            "raise RuntimeError('SECRET_KEY not found. Declare it as envvar or define a default"
            " value.')",  # python-decouple
            "SECRET_KEY",
        ),
        ("raise RuntimeError('boom')", None),
        # An app's own words, for a variable that is not set; not when it is set (PATH).
        ("raise Exception('FCM_UNSET_DB_USER needs to be set.')", "FCM_UNSET_DB_USER"),
        ("raise ValueError('FCM_UNSET_API_TOKEN is required')", "FCM_UNSET_API_TOKEN"),
        ("raise Exception('HOME_PATH_X must be set: see README')", "HOME_PATH_X"),
        ("raise Exception('ValueError is not set right')", None),
    ],
)
def test_missing_variable(code: str, variable: str | None) -> None:
    from fcmigrate.runtime.import_errors import missing_variable

    assert missing_variable(_raised(code)) == variable


def test_an_apps_own_words_name_no_variable_that_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    from fcmigrate.runtime.import_errors import missing_variable

    monkeypatch.setenv("FCM_SET_DB_USER", "app")
    assert missing_variable(_raised("raise Exception('FCM_SET_DB_USER needs to be set.')")) is None


def test_import_failure_shows_the_users_traceback(capfd: pytest.CaptureFixture[str]) -> None:
    detected = detect_app(FIXTURES / "import_fails")
    assert detected.spec == "app:app"
    with pytest.raises(AppImportError) as info:
        confirm_import(detected)
    assert info.value.exit_code == 1
    assert str(info.value) == (
        "Importing 'app:app' failed in your code (traceback above). Fix it and run again; "
        "if the wrong app was picked, name the right one with --app."
    )
    err = capfd.readouterr().err
    assert "Traceback (most recent call last):" in err
    assert f'File "{FIXTURES / "import_fails" / "app.py"}", line 6' in err
    assert "RuntimeError: import_fails fixture: boom in the user's module" in err


def test_an_import_that_ends_the_interpreter(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "app.py").write_text(
        "import os, sys\n\nsys.stderr.write('closing down\\n')\nos._exit(4)\napp = None\n"
    )
    with pytest.raises(AppImportError) as info:
        confirm_import(detect_app(tmp_path))
    assert str(info.value) == (
        "Importing 'app:app' ended the import check before it could answer (it exited with "
        "status 4: closing down). Code that exits or crashes the interpreter at import stops "
        "the function from starting on FC too: fix it, and run again."
    )
    assert "closing down" in capfd.readouterr().err


def test_an_import_that_hangs_is_stopped(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("import time\n\ntime.sleep(60)\napp = None\n")
    with pytest.raises(FCMigrateError) as info:
        confirm_import(detect_app(tmp_path), timeout=2)
    assert str(info.value) == (
        "Importing 'app:app' did not finish within 2 s. "
        "Move slow work (database connections, downloads) out of import time."
    )


def test_syntax_error_in_an_entry_file(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "app.py").write_text("from flask import Flask\n\napp = Flask(__name__\n")
    detected = detect_app(tmp_path)
    assert (detected.spec, detected.found_in) == ("app", "app.py (does not parse)")
    with pytest.raises(AppImportError):
        confirm_import(detected)
    assert "SyntaxError" in capfd.readouterr().err


def test_spec_mistake_found_by_import_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("def create_app(config):\n    return None\n")
    detected = detect_app(tmp_path)
    assert detected.spec == "app:create_app()"
    with pytest.raises(AppLoadError, match=r"Cannot call the factory 'create_app'"):
        confirm_import(detected)


def test_confirm_import_isolated_sees_only_pythonpath(tmp_path: Path) -> None:
    # -s -S: this environment's Flask is invisible, as on FC with nothing vendored.
    detected = detect_app(FIXTURES / "flask_app_py")
    fcmigrate_only = tmp_path / "python"
    shutil.copytree(REPO / "fcmigrate", fcmigrate_only / "fcmigrate")
    with pytest.raises(AppImportError):
        confirm_import(detected, pythonpath=[fcmigrate_only], isolated=True)


def test_detected_is_frozen() -> None:
    detected = detect_app(FIXTURES / "plain_wsgi")
    assert isinstance(detected, Detected)
    with pytest.raises(AttributeError):
        detected.spec = "other:app"  # type: ignore[misc]


# --- `fcmigrate wrap` without APP -----------------------------------------------------


def test_wrap_without_app_uses_detection(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    shutil.copytree(FLASK_SAMPLE, project)
    proc = subprocess.run(
        [sys.executable, "-m", "fcmigrate", "wrap", "--out", str(project)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    bootstrap = (project / "bootstrap").read_text()
    assert "-m fcmigrate serve app:app" in bootstrap


def test_wrap_without_app_in_a_folder_with_two(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "two_files", tmp_path, dirs_exist_ok=True)
    proc = subprocess.run(
        [sys.executable, "-m", "fcmigrate", "wrap", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("Error: Found 2 candidate apps in ")
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "bootstrap").exists()


# --- apps in real projects: blocks, installed packages, other manage.py files -----------


def write_project(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        file = root / rel
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(text)
    return root


PYRAMID_WITH = """\
from pyramid.config import Configurator
from pyramid.response import Response


def hello(request):
    return Response("hello")


with Configurator() as config:
    config.add_route("hello", "/")
    config.add_view(hello, route_name="hello")
    app = config.make_wsgi_app()
"""
TRY_EXCEPT = """\
import logging

try:
    from shop.factory import build
    app = build()
except ImportError:
    logging.exception("the shop could not start")
    raise
"""
IF_ELSE = """\
import os
from werkzeug.debug import DebuggedApplication
from site_core import make

if os.environ.get("SITE_DEBUG"):
    application = DebuggedApplication(make(), evalex=True)
else:
    application = make()
"""
MAIN_GUARD_ELSE = """\
from site_core import make

if __name__ == "__main__":
    from wsgiref.simple_server import make_server
    make_server("", 8000, make()).serve_forever()
else:
    application = make()
"""
PYRAMID_OTHER_NAME = """\
from pyramid.config import Configurator

with Configurator(settings={}) as config:
    config.scan("views")
    wsgi_app = config.make_wsgi_app()
"""


@pytest.mark.parametrize(
    ("files", "spec", "framework"),
    [
        pytest.param({"app.py": PYRAMID_WITH}, "app:app", "wsgi", id="pyramid-with"),
        pytest.param({"wsgi.py": TRY_EXCEPT}, "wsgi:app", "wsgi", id="try-except"),
        pytest.param({"wsgi.py": IF_ELSE}, "wsgi:application", "wsgi", id="if-else"),
        pytest.param({"main.py": MAIN_GUARD_ELSE}, "main:application", "wsgi", id="main-else"),
        pytest.param({"wsgi.py": PYRAMID_OTHER_NAME}, "wsgi:wsgi_app", "wsgi", id="pyramid-name"),
        pytest.param(
            {"main.py": "import bottle\n\nweb = bottle.Bottle()\n"}, "main:web", "wsgi", id="bottle"
        ),
        pytest.param(
            {"app.py": "import falcon\n\napi = falcon.App()\n"}, "app:api", "wsgi", id="falcon"
        ),
        pytest.param(
            {
                "app.py": "from flask import Flask\n\ntry:\n    import sentry_sdk\nexcept "
                "ImportError:\n    server = Flask(__name__)\n"
            },
            "app:server",
            "flask",
            id="flask-in-except",
        ),
    ],
)
def test_an_app_assigned_in_a_block_is_found(
    tmp_path: Path, files: dict[str, str], spec: str, framework: str
) -> None:
    detected = detect_app(write_project(tmp_path, files))
    assert (detected.spec, detected.framework) == (spec, framework)


@pytest.mark.parametrize(
    "code",
    [
        pytest.param(
            "if __name__ == '__main__':\n    with open('x') as f:\n        app = f\n", id="guarded"
        ),
        pytest.param(
            "def serve():\n    with make() as config:\n        app = config.make_wsgi_app()\n",
            id="in-a-function",
        ),
        pytest.param(
            "class Site:\n    try:\n        app = None\n    finally:\n        pass\n", id="class"
        ),
    ],
)
def test_an_app_that_is_not_module_level_is_not_found(tmp_path: Path, code: str) -> None:
    (tmp_path / "app.py").write_text(code)
    with pytest.raises(FCMigrateError, match="No WSGI app found"):
        detect_app(tmp_path)


def test_an_app_in_a_with_block_imports(tmp_path: Path) -> None:
    # A context manager of the standard library stands in for Pyramid's Configurator.
    (tmp_path / "wsgi.py").write_text(
        "import contextlib\n\n"
        "def hello(environ, start_response):\n"
        "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
        "    return [b'hello']\n\n"
        "with contextlib.ExitStack() as stack:\n"
        "    application = hello\n"
    )
    detected = detect_app(tmp_path, check=True)
    assert (detected.spec, detected.framework, detected.confirmed) == (
        "wsgi:application",
        "wsgi",
        True,
    )


@pytest.mark.parametrize(
    ("spec", "requirements", "source"),
    [
        ("httpbin:app", "httpbin==0.10.2\n", "httpbin"),
        ("pypiserver:app()", "pypiserver[passlib]>=2 ; python_version >= '3.8'\n", "pypiserver"),
        ("flask_cors.sample:app", "Flask-Cors\n", "Flask-Cors"),
        ("httpbin:app", "httpbin @ https://example.invalid/httpbin-0.10.2.tar.gz\n", "httpbin"),
        ("httpbin:app", "git+https://example.invalid/httpbin.git#egg=httpbin\n", "httpbin"),
        ("httpbin:app", "./wheels/httpbin-0.10.2-py3-none-any.whl\n", "httpbin"),
        # Distribution and module names differ: the metadata installed here tells.
        ("yaml:app", "PyYAML>=6\n", "PyYAML"),
    ],
)
def test_an_app_from_an_installed_package_names_its_requirement(
    tmp_path: Path, spec: str, requirements: str, source: str
) -> None:
    (tmp_path / "requirements.txt").write_text(requirements)
    (tmp_path / "Procfile").write_text(f"web: gunicorn '{spec}'\n")
    detected = detect_app(tmp_path, app=spec)
    assert (detected.spec, detected.framework) == (spec, "wsgi")
    assert detected.found_in == f"--app, installed from the requirement {source!r}"


@pytest.mark.parametrize(
    ("spec", "requirements"),
    [
        ("httpbin:app", "Flask>=3\n"),
        ("httpbin:app", "httpbin-extras\n"),  # another distribution whose name starts alike
        ("httpbin:app", ""),
    ],
)
def test_an_app_that_no_requirement_installs_is_only_the_app_option(
    tmp_path: Path, spec: str, requirements: str
) -> None:
    (tmp_path / "requirements.txt").write_text(requirements)
    assert detect_app(tmp_path, app=spec).found_in == "--app"


FLASK_CLI_MANAGE = """\
import click
from flask.cli import FlaskGroup

from wsgi import app


@click.group(cls=FlaskGroup, create_app=lambda: app)
def cli():
    pass


if __name__ == "__main__":
    cli()
"""
CLICK_MANAGE = """\
import click


@click.command()
def seed():
    click.echo("seeding")


if __name__ == "__main__":
    seed()
"""


@pytest.mark.parametrize("manage", [FLASK_CLI_MANAGE, CLICK_MANAGE], ids=["flask-cli", "click"])
def test_a_manage_py_that_is_not_djangos_is_passed_over(tmp_path: Path, manage: str) -> None:
    write_project(
        tmp_path,
        {"manage.py": manage, "wsgi.py": "from flask import Flask\n\napp = Flask(__name__)\n"},
    )
    detected = detect_app(tmp_path)
    assert (detected.spec, detected.framework, detected.found_in) == (
        "wsgi:app",
        "flask",
        "wsgi.py",
    )


def test_a_manage_py_that_is_not_djangos_beside_no_app(tmp_path: Path) -> None:
    (tmp_path / "manage.py").write_text(CLICK_MANAGE)
    with pytest.raises(FCMigrateError, match="No WSGI app found"):
        detect_app(tmp_path)


ENV_MANAGE = """\
import os
import sys

if __name__ == "__main__":
    if "DJANGO_SETTINGS_MODULE" not in os.environ:
        sys.exit("Set DJANGO_SETTINGS_MODULE")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
"""
COMPUTED_MANAGE = """\
import os
import sys

if __name__ == "__main__":
    stage = os.environ.get("STAGE", "dev")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", f"shop.settings.{stage}")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
"""
SETTINGS = 'INSTALLED_APPS = []\nROOT_URLCONF = "shop.urls"\n'
WSGI_PINNED = """\
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings.production")
application = get_wsgi_application()
"""
WSGI_FROM_ENV = """\
from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()
"""


def settings_package(*names: str, wsgi: str = WSGI_FROM_ENV) -> dict[str, str]:
    files = {
        "shop/__init__.py": "",
        "shop/wsgi.py": wsgi,
        "shop/settings/__init__.py": "",
        "shop/settings/base.py": SETTINGS + 'WSGI_APPLICATION = "shop.wsgi.application"\n',
    }
    files.update({f"shop/settings/{n}.py": "from .base import *  # noqa: F403\n" for n in names})
    return files


@pytest.mark.parametrize("manage", [ENV_MANAGE, COMPUTED_MANAGE], ids=["environ", "computed"])
@pytest.mark.parametrize(
    ("files", "spec", "settings", "found_in"),
    [
        pytest.param(
            {"shop/__init__.py": "", "shop/settings.py": SETTINGS},
            "shop.settings",
            "shop.settings",
            "manage.py (no DJANGO_SETTINGS_MODULE) -> shop.settings",
            id="settings-py",
        ),
        pytest.param(
            settings_package("dev", "production", "test", wsgi=WSGI_PINNED),
            "shop.wsgi:application",
            "shop.settings.production",
            "manage.py (no DJANGO_SETTINGS_MODULE) -> shop/wsgi.py -> shop.settings.production "
            "-> WSGI_APPLICATION",
            id="named-by-wsgi-py",
        ),
        pytest.param(
            settings_package("local", "production", "test"),
            "shop.settings.production",
            "shop.settings.production",
            "manage.py (no DJANGO_SETTINGS_MODULE) -> shop.settings.production (chosen over "
            "shop.settings.base, shop.settings.local, shop.settings.test)",
            id="production-wins",
        ),
        pytest.param(
            settings_package("dev", "prod"),
            "shop.settings.prod",
            "shop.settings.prod",
            "manage.py (no DJANGO_SETTINGS_MODULE) -> shop.settings.prod (chosen over "
            "shop.settings.base, shop.settings.dev)",
            id="prod-wins",
        ),
        pytest.param(
            settings_package("local", "staging"),
            "shop.settings.staging",
            "shop.settings.staging",
            "manage.py (no DJANGO_SETTINGS_MODULE) -> shop.settings.staging (chosen over "
            "shop.settings.base, shop.settings.local)",
            id="not-a-dev-name",
        ),
        pytest.param(
            {
                **settings_package("production"),
                "shop/settings/__init__.py": "from .production import *  # noqa: F403\n",
            },
            "shop.settings",
            "shop.settings",
            "manage.py (no DJANGO_SETTINGS_MODULE) -> shop.settings",
            id="package-is-settings",
        ),
    ],
)
def test_a_django_manage_py_that_leaves_the_settings_to_the_environment(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    manage: str,
    files: dict[str, str],
    spec: str,
    settings: str,
    found_in: str,
) -> None:
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
    detected = detect_app(write_project(tmp_path, {"manage.py": manage, **files}))
    assert (detected.spec, detected.framework, detected.settings_module) == (
        spec,
        "django",
        settings,
    )
    assert detected.found_in == found_in


def test_django_settings_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_project(tmp_path, {"manage.py": ENV_MANAGE, **settings_package("dev", "production")})
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "shop.settings.dev")
    detected = detect_app(tmp_path)
    # wsgi.py sets nothing, so the spec is the settings module: the loader then sets it.
    assert (detected.spec, detected.settings_module) == ("shop.settings.dev", "shop.settings.dev")
    assert detected.found_in == (
        "manage.py (DJANGO_SETTINGS_MODULE from the environment) -> shop.settings.dev"
    )

    # The same settings as wsgi.py sets: wsgi.py's application runs as it is.
    (tmp_path / "shop" / "wsgi.py").write_text(WSGI_PINNED)
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "shop.settings.production")
    assert detect_app(tmp_path).spec == "shop.wsgi:application"

    # A literal in manage.py is what it always was: the environment is not consulted.
    (tmp_path / "manage.py").write_text(
        "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'shop.settings.base')\n"
    )
    assert detect_app(tmp_path).settings_module == "shop.settings.base"


def test_django_settings_given_to_the_function_choose_among_several(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``migrate --env DJANGO_SETTINGS_MODULE=...`` is what the function will run with: it
    names the settings of a manage.py that leaves them to the environment, over the shell's."""
    write_project(tmp_path, {"manage.py": ENV_MANAGE, **settings_package("ci", "dev")})
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "shop.settings.ci")
    detected = detect_app(tmp_path, env={"DJANGO_SETTINGS_MODULE": "shop.settings.base"})
    assert (detected.spec, detected.settings_module) == ("shop.settings.base", "shop.settings.base")
    assert detected.found_in == (
        "manage.py (DJANGO_SETTINGS_MODULE from --env) -> shop.settings.base"
    )

    monkeypatch.delenv("DJANGO_SETTINGS_MODULE")
    with pytest.raises(FCMigrateError, match=r"is 'shop\.settings\.nope' in --env, but there"):
        detect_app(tmp_path, env={"DJANGO_SETTINGS_MODULE": "shop.settings.nope"})


@pytest.mark.parametrize(
    ("files", "env", "fragments"),
    [
        pytest.param(
            settings_package("dev", "production"),
            "shop.settings.nosuch",
            [
                "DJANGO_SETTINGS_MODULE is 'shop.settings.nosuch' in the environment",
                "no shop/settings/nosuch.py in ",
            ],
            id="environment-names-no-module",
        ),
        pytest.param(
            settings_package("dev", "local"),
            None,
            [
                "several settings modules ('shop.settings.base', 'shop.settings.dev', "
                "'shop.settings.local')",
                "DJANGO_SETTINGS_MODULE=shop.settings.base",
                "--app",
            ],
            id="only-dev-names",
        ),
        pytest.param(
            {
                **settings_package("production"),
                "blog/__init__.py": "",
                "blog/settings/__init__.py": "",
                "blog/settings/production.py": SETTINGS,
            },
            None,
            ["several settings modules ('blog.settings.production', 'shop.settings.production')"],
            id="two-production-ranks",
        ),
        pytest.param(
            {"shop/__init__.py": "", "shop/settings.py": "DEBUG = True\n"},
            None,
            ["no settings module was found", "--app"],
            id="not-settings",
        ),
    ],
)
def test_django_settings_that_cannot_be_chosen(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    files: dict[str, str],
    env: str | None,
    fragments: list[str],
) -> None:
    if env is None:
        monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
    else:
        monkeypatch.setenv("DJANGO_SETTINGS_MODULE", env)
    write_project(tmp_path, {"manage.py": ENV_MANAGE, **files})
    with pytest.raises(FCMigrateError) as info:
        detect_app(tmp_path)
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message


def test_a_manage_py_below_that_is_not_djangos_is_not_named(tmp_path: Path) -> None:
    (tmp_path / "tools").mkdir()
    (tmp_path / "tools" / "manage.py").write_text(CLICK_MANAGE)
    with pytest.raises(FCMigrateError) as info:
        detect_app(tmp_path)
    assert "manage.py is in" not in str(info.value)


DJANGO_BASE = """\
SECRET_KEY = "not-a-secret"
INSTALLED_APPS = ["django.contrib.contenttypes"]
ROOT_URLCONF = "shop.urls"
WSGI_APPLICATION = "shop.wsgi.application"
DATABASES = {}
"""


def test_django_settings_chosen_from_the_project_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
    write_project(
        tmp_path,
        {
            "manage.py": ENV_MANAGE,
            "shop/__init__.py": "",
            "shop/urls.py": "urlpatterns = []\n",
            "shop/wsgi.py": WSGI_FROM_ENV,
            "shop/settings/__init__.py": "",
            "shop/settings/base.py": DJANGO_BASE,
            "shop/settings/local.py": "from .base import *  # noqa: F403\n\nDEBUG = True\n",
            "shop/settings/production.py": "from .base import *  # noqa: F403\n\nDEBUG = False\n",
        },
    )
    # The spec alone makes the app start: the settings module sets DJANGO_SETTINGS_MODULE.
    detected = detect_app(tmp_path, check=True)
    assert (detected.spec, detected.framework, detected.settings_module, detected.confirmed) == (
        "shop.settings.production",
        "django",
        "shop.settings.production",
        True,
    )


@pytest.mark.parametrize(
    ("procfile", "files", "spec", "found_in"),
    [
        pytest.param(
            "web: gunicorn httpbin:app --bind 0.0.0.0:$PORT\n",
            {"requirements.txt": "httpbin==0.10.2\ngunicorn\n"},
            "httpbin:app",
            "Procfile, installed from the requirement 'httpbin'",
            id="gunicorn-installed",
        ),
        pytest.param(
            "release: python seed.py\nweb: waitress-serve --port=$PORT --call pypiserver:app\n",
            {"requirements.txt": "pypiserver>=2\nwaitress\n"},
            "pypiserver:app()",
            "Procfile, installed from the requirement 'pypiserver'",
            id="waitress-call",
        ),
        pytest.param(
            "web: gunicorn -b localhost:8000 'shop.server:build(\"prod\")'  # served by Heroku\n",
            {"shop/__init__.py": "", "shop/server.py": "def build(stage):\n    pass\n"},
            'shop.server:build("prod")',
            "Procfile",
            id="project-module-with-factory",
        ),
        pytest.param(
            "web: granian --interface wsgi --port $PORT --working-dir . shop.server\n",
            {"shop/__init__.py": "", "shop/server.py": "def app(environ, start_response):\n"},
            "shop.server:app",
            "Procfile",
            id="granian-wsgi",
        ),
        pytest.param(
            "web: sh container/entrypoint.sh\n",
            {
                "container/entrypoint.sh": "#!/bin/sh\nexec granian shop.server:app\n",
                "shop/__init__.py": "",
                "shop/server.py": "def app(environ, start_response):\n",
            },
            "shop.server:app",
            "Procfile",
            id="granian-in-a-script",
        ),
    ],
)
def test_a_procfile_names_the_app_when_nothing_else_does(
    tmp_path: Path, procfile: str, files: dict[str, str], spec: str, found_in: str
) -> None:
    write_project(tmp_path, {"Procfile": procfile, **files})
    detected = detect_app(tmp_path)
    assert (detected.spec, detected.found_in) == (spec, found_in)


@pytest.mark.parametrize(
    ("procfile", "files"),
    [
        pytest.param("web: gunicorn httpbin:app\n", {"requirements.txt": "Flask\n"}, id="no-req"),
        pytest.param("worker: celery -A tasks:app worker\n", {}, id="no-web-line"),
        pytest.param("web: gunicorn a:app b:app\n", {"a.py": "", "b.py": ""}, id="two-specs"),
        pytest.param("web: gunicorn 'unclosed:app\n", {"unclosed.py": ""}, id="bad-quoting"),
        pytest.param("web: uvicorn main:app\n", {"main.py": ""}, id="asgi-server"),
        pytest.param(
            "web: granian --interface asgi main:app\n", {"main.py": ""}, id="granian-asgi"
        ),
    ],
)
def test_a_procfile_that_names_no_usable_app(
    tmp_path: Path, procfile: str, files: dict[str, str]
) -> None:
    write_project(tmp_path, {"Procfile": procfile, **files})
    with pytest.raises(FCMigrateError, match=r"No WSGI app found.*a Procfile's web command"):
        detect_app(tmp_path)


def test_a_procfile_does_not_add_a_second_candidate(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        {
            "Procfile": "web: gunicorn wsgi:app\n",
            "wsgi.py": "from flask import Flask\napp = Flask('x')\n",
        },
    )
    assert detect_app(tmp_path).found_in == "wsgi.py"


def test_a_django_project_one_folder_down_with_the_dependencies_at_the_root(
    tmp_path: Path,
) -> None:
    # The repository lists the dependencies; the Django project is the one folder below.
    shutil.copytree(FIXTURES / "django_project", tmp_path / "site")
    (tmp_path / "site" / "requirements.txt").unlink(missing_ok=True)
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "site"\nversion = "1"\ndependencies = ["Django>=4.2"]\n'
    )
    detected = detect_app(tmp_path)
    assert (detected.spec, detected.framework) == ("site", "django")
    assert detected.found_in == "site/manage.py, with the dependencies at the project's root"
    assert detected.requirements == ["Django>=4.2"]
    # Its manage.py names the settings (imported from the folder), for collectstatic.
    assert detected.settings_module == "proj.settings"

    # With requirements of its own beside manage.py, the folder is a project: it is named.
    (tmp_path / "site" / "requirements.txt").write_text("Django>=4.2\n")
    with pytest.raises(FCMigrateError, match=r"manage\.py is in 'site/': give that folder"):
        detect_app(tmp_path)


@pytest.mark.parametrize(
    ("pyproject", "where"),
    [
        (
            '[dependency-groups]\ndev = ["pytest>=8", "Devonly-Helper>=1.4,<2"]\n',
            "dependency group 'dev'",
        ),
        (
            '[tool.poetry.group.test.dependencies]\ndevonly-helper = "^1.4"\n',
            "Poetry group 'test'",
        ),
    ],
)
def test_an_import_of_a_development_group_names_the_group(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], pyproject: str, where: str
) -> None:
    # The app imports a package only a development group installs (a uv sync or poetry
    # install environment has it; a build, like `uv sync --no-dev`, does not).
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "site"\nversion = "1"\ndependencies = []\n\n' + pyproject
    )
    (tmp_path / "app.py").write_text(
        "import devonly_helper\n\n\ndef app(environ, start_response):\n    return []\n"
    )
    with pytest.raises(AppImportError) as info:
        confirm_import(detect_app(tmp_path))
    shown = "Devonly-Helper>=1.4,<2" if "dependency" in where else "devonly-helper"
    assert str(info.value) == (
        "Importing 'app:app' failed: there is no module named 'devonly_helper' (traceback "
        f"above). {shown!r} installs it, but it is listed in pyproject.toml's {where}, which "
        "a build leaves out, as 'uv sync --no-dev' does. Move it to [project] dependencies if "
        "the app needs it on FC, or import it only in development (e.g. add it to "
        "INSTALLED_APPS only when DEBUG is on)."
    )
    assert "ModuleNotFoundError: No module named 'devonly_helper'" in capfd.readouterr().err


@pytest.mark.parametrize(
    ("files", "names_it"),
    [
        pytest.param(
            {
                "setup.py": (
                    "from setuptools import setup\n\nNAME = 'fcm-walk_site'\n\n"
                    "setup(name=NAME, install_requires=['flask'])\n"
                )
            },
            "setup.py",
            id="setup.py",
        ),
        pytest.param(
            {"setup.cfg": "[metadata]\nname = fcm.walk.site\n\n[options]\ninstall_requires =\n"},
            "setup.cfg",
            id="setup.cfg",
        ),
        pytest.param(
            {"pyproject.toml": '[project]\nname = "FCM_Walk_Site"\ndependencies = []\n'},
            "pyproject.toml",
            id="pyproject",
        ),
    ],
)
def test_the_project_s_own_metadata_asked_for_at_import_is_named(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], files: dict[str, str], names_it: str
) -> None:
    # The build installs what setup.py lists, not the project: its metadata and entry points
    # (PasteDeploy's egg:, importlib.metadata.version of itself) are not there.
    write_project(
        tmp_path,
        {
            **files,
            "app.py": (
                "from importlib.metadata import version\n\n"
                "VERSION = version('fcm-walk-site')\n\n\n"
                "def app(environ, start_response):\n    return []\n"
            ),
        },
    )
    with pytest.raises(AppImportError) as info:
        confirm_import(detect_app(tmp_path))
    assert str(info.value) == (
        "Importing 'app:app' failed: it asks for the installed metadata of 'fcm-walk-site' "
        f"(traceback above), the project itself ({names_it} names it), but a build installs "
        "the project's dependencies, not the project. List the project itself ('.') in "
        "requirements.txt, so that its metadata and entry points are installed too, and run "
        "again."
    )
    assert "PackageNotFoundError: No package metadata was found for fcm-walk-site" in (
        capfd.readouterr().err
    )

    # Another distribution's: named as a requirement to add.
    (tmp_path / "app.py").write_text(
        "from importlib.metadata import version\n\nOTHER = version('fcm-not-listed')\napp = None\n"
    )
    with pytest.raises(AppImportError, match=r"the distribution 'fcm-not-listed' \(traceback"):
        confirm_import(detect_app(tmp_path))


def test_an_ssl_redirect_in_django_settings_is_noted(tmp_path: Path) -> None:
    # FC's front door speaks HTTPS; the function sees HTTP unless X-Forwarded-Proto says so.
    shutil.copytree(FIXTURES / "django_project", tmp_path / "site")
    assert confirm_import(detect_app(tmp_path / "site")).notes == ()
    with (tmp_path / "site" / "proj" / "settings.py").open("a") as settings:
        settings.write("SECURE_SSL_REDIRECT = True\n")
    detected = confirm_import(detect_app(tmp_path / "site"))
    assert detected.confirmed
    [note] = detected.notes
    assert note.startswith("Django's SECURE_SSL_REDIRECT is on. FC serves HTTPS at its front door")
    assert "takes a request without it as HTTPS" in note


ASSETS_APP = """\
from flask import Flask
from flask_assets import Bundle, Environment

app = Flask(__name__)
app.config["ASSETS_AUTO_BUILD"] = {auto}
{bind}
assets.register("site_css", Bundle("css/base.css", "css/page.css", output="gen/site.css"))
"""


@pytest.mark.parametrize(
    "bind", ["assets = Environment(app)", "assets = Environment()\nassets.init_app(app)"]
)
@pytest.mark.parametrize("auto", [True, False])
def test_flask_assets_building_bundles_at_request_time_is_noted(
    tmp_path: Path, auto: bool, bind: str
) -> None:
    # flask-base and Flask-Foundation: the first page that renders a bundle writes it into
    # static/, which is read-only on FC.
    (tmp_path / "static" / "css").mkdir(parents=True)
    for name in ("base", "page"):
        (tmp_path / "static" / "css" / f"{name}.css").write_text(f".{name} {{ margin: 0 }}\n")
    (tmp_path / "app.py").write_text(ASSETS_APP.format(auto=auto, bind=bind))
    detected = confirm_import(detect_app(tmp_path))
    assert detected.confirmed
    if not auto:
        assert detected.notes == ()
        return
    assert detected.notes == (
        "Flask-Assets builds the app's bundles into 'static' at the first request that "
        "renders one (ASSETS_AUTO_BUILD is on), but the code folder is read-only on FC: that "
        "request fails with a 500. Build them before migrating ('flask assets build' in the "
        "project, so the build ships them) and set ASSETS_AUTO_BUILD = False in the "
        "production config.",
    )


def test_a_setting_holding_a_static_url_from_the_root_is_noted(tmp_path: Path) -> None:
    """A dashboard's templates write '{{ config.ASSETS_ROOT }}/css/app.css' with
    ASSETS_ROOT = '/static/assets': the links skip FC's prefix, which url_for would add."""
    (tmp_path / "app.py").write_text(
        "from flask import Flask\n\n"
        "app = Flask(__name__)\n"
        "app.config['ASSETS_ROOT'] = '/static/assets'\n"
        "app.config['HOME_URL'] = '/'\n"
        "app.config['UPLOAD_FOLDER'] = '/srv/uploads'\n"
        "app.config['APPLICATION_ROOT'] = '/'\n"
    )
    [note] = confirm_import(detect_app(tmp_path)).notes
    assert note == (
        "The app's setting ASSETS_ROOT is '/static/assets', a URL from the site's root: links "
        'a template writes from it ("{{ config.ASSETS_ROOT }}/...") leave FC\'s '
        "/2016-08-15/proxy/<service>/<function> prefix and are not found there (on a custom "
        "domain served at '/' they work). Build them with url_for('static', filename=...), or "
        "give ASSETS_ROOT the prefixed path with --env."
    )


def test_a_neighbour_imported_as_a_top_level_module_is_named(tmp_path: Path) -> None:
    # dash-on-az: app/app.py does 'from components import *' for app/components/, which
    # works when started inside app/ only.
    (tmp_path / "board" / "parts").mkdir(parents=True)
    (tmp_path / "board" / "__init__.py").write_text("")
    (tmp_path / "board" / "parts" / "__init__.py").write_text("CARD = 'card'\n")
    (tmp_path / "board" / "main.py").write_text(
        "from parts import CARD\n\n\ndef server(environ, start_response):\n    return []\n"
    )
    with pytest.raises(AppImportError) as info:
        confirm_import(detect_app(tmp_path, app="board.main:server"))
    assert str(info.value) == (
        "Importing 'board.main:server' failed: 'board/main.py' imports 'parts' as a top-level "
        "module, but 'parts' is in 'board/', beside it, which is on the import path only when "
        "Python starts in that folder ('python main.py' there); the build starts in the "
        "project's folder, as FC does (traceback above). Import it from its package ('from "
        "board.parts import ...', or 'from .parts import ...'), and run again."
    )


def test_a_file_missing_from_the_project_is_not_blamed_on_the_package_that_opens_it(
    tmp_path: Path,
) -> None:
    # A data file the app hands to an installed package (a GeoIP reader's shape), absent.
    (tmp_path / "python" / "datareader").mkdir(parents=True)
    (tmp_path / "python" / "datareader" / "__init__.py").write_text(
        "def open_database(path):\n    return open(path, 'rb')\n"
    )
    (tmp_path / "app.py").write_text(
        "import os\nimport datareader\n\n"
        "HERE = os.path.dirname(os.path.abspath(__file__))\n"
        "READER = datareader.open_database(os.path.join(HERE, 'data', 'cities.mmdb'))\n"
        "app = None\n"
    )
    with pytest.raises(AppImportError) as info:
        confirm_import(detect_app(tmp_path), pythonpath=[tmp_path / "python"])
    assert str(info.value) == (
        "Importing 'app:app' failed: it opens 'data/cities.mmdb', which is not in the project "
        "(traceback above). Put the file there before migrating (one that a setup step "
        "downloads too), or take its path from an environment variable."
    )


def test_an_import_that_needs_a_file_the_build_left_out_names_it(tmp_path: Path) -> None:
    project, build = tmp_path / "project", tmp_path / "build"
    for folder in (project, build):
        folder.mkdir()
        (folder / "app.py").write_text(
            "import os\n\n"
            "if not os.path.isfile(os.path.join(os.path.dirname(__file__), '.env')):\n"
            "    raise RuntimeError('No local .env found: no secrets.')\n"
            "app = None\n"
        )
    (project / ".env").write_text("SECRET_KEY=x\n")
    why = "dotenv file: local secrets; give settings to the function as environment variables"
    with pytest.raises(AppImportError) as info:
        confirm_import(detect_app(project), code_dir=build, left_out={".env": why})
    assert str(info.value) == (
        "Importing 'app:app' failed, and the error names '.env' (traceback above), which the "
        f"build leaves out ({why}). If the app cannot start without it, ship it with the line "
        "'!.env' in .fcignore."
    )


def _vendored(site: Path, dist: str, files: dict[str, str]) -> None:
    """``files`` installed in ``site`` as the distribution ``dist`` (``name-version``)."""
    for name, text in files.items():
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_text(text)
    info = site / f"{dist}.dist-info"
    info.mkdir(parents=True)
    (info / "RECORD").write_text("".join(f"{name},,\n" for name in files))


def test_an_error_a_package_raises_itself_is_not_blamed_on_its_release(tmp_path: Path) -> None:
    # A client library that wants credentials at import, in a namespace package shared
    # with another distribution: the error names the one whose file raised.
    site = tmp_path / "python"
    _vendored(site, "nsp_alpha-1.0", {"nsp/alpha/__init__.py": ""})
    _vendored(
        site,
        "nsp_omega-2.0",
        {
            "nsp/omega/__init__.py": (
                "class CredentialsError(Exception):\n    pass\n\n\n"
                "def client():\n    raise CredentialsError('no default credentials')\n"
            )
        },
    )
    (tmp_path / "app.py").write_text(
        "from nsp import omega\n\nCLIENT = omega.client()\napp = None\n"
    )
    with pytest.raises(AppImportError) as info:
        confirm_import(detect_app(tmp_path), pythonpath=[site])
    assert str(info.value) == (
        "Importing 'app:app' failed inside the installed package 'nsp_omega 2.0', with its "
        "error nsp.omega.CredentialsError (traceback above): the package refused what the app "
        "asks of it at import (credentials, a setting, a service to connect to), as its "
        "message says. Give the app what it needs (--env NAME=VALUE reaches the import check "
        "and the function), or move that call out of import time."
    )


@pytest.mark.parametrize(
    ("requirement", "how"),
    [
        (
            "Oldframe",
            "your requirements list it without a version ('Oldframe'), so the build "
            "took the newest",
        ),
        ("oldframe>=1", "that is the release your requirements allow"),
    ],
)
def test_a_name_the_installed_release_no_longer_has_names_the_release(
    tmp_path: Path, requirement: str, how: str
) -> None:
    """vitorfs/bootcamp: `django  # pyup: < 2.1` took Django 6, and its code imports
    ugettext_lazy, which Django 4.0 removed."""
    site = tmp_path / "python"
    _vendored(
        site,
        "oldframe-6.0.1",
        {"oldframe/__init__.py": "", "oldframe/text.py": "def gettext_lazy(s):\n    return s\n"},
    )
    (tmp_path / "requirements.txt").write_text(f"{requirement}  # pyup: < 2.1\n")
    (tmp_path / "app.py").write_text("from oldframe.text import ugettext_lazy\n\napp = None\n")
    with pytest.raises(AppImportError) as info:
        confirm_import(detect_app(tmp_path), pythonpath=[site])
    assert str(info.value) == (
        "Importing 'app:app' failed: your code imports 'ugettext_lazy' from 'oldframe.text', "
        f"which oldframe 6.0.1 does not have (traceback above); {how}. Pin the release of "
        "oldframe your code was written for in your requirements (e.g. from a lock file or "
        "'pip freeze'), or change the import to what that release offers."
    )


def test_a_missing_system_library_is_named_as_such(tmp_path: Path) -> None:
    site = tmp_path / "python"
    _vendored(
        site,
        "imagebind-0.6.13",
        {"imagebind/__init__.py": "raise ImportError('MagickWand shared library not found.')\n"},
    )
    (tmp_path / "app.py").write_text("import imagebind\n\napp = None\n")
    with pytest.raises(AppImportError) as info:
        confirm_import(detect_app(tmp_path), pythonpath=[site])
    assert str(info.value) == (
        "Importing 'app:app' failed inside the installed package 'imagebind 0.6.13' (traceback "
        "above): it loads a shared library of the system that is not here, and FC's runtime "
        "has only what its Debian image has. Build a container image with 'fcmigrate "
        "dockerize' and install the library there, or use a package that bundles it in its "
        "wheel."
    )


def test_a_spec_naming_no_module_is_said_of_the_project_not_the_build(tmp_path: Path) -> None:
    project, build = tmp_path / "project", tmp_path / "project" / ".fcmigrate" / "build"
    build.mkdir(parents=True)
    with pytest.raises(AppLoadError) as info:
        confirm_import(detect_app(project, app="nomodule:app"), code_dir=build)
    assert str(project) in str(info.value)
    assert ".fcmigrate" not in str(info.value)


def test_an_annotation_of_a_name_imported_for_type_checkers_is_named(tmp_path: Path) -> None:
    """flaskbb's plugins/manager.py, written for Python 3.14's deferred annotations."""
    (tmp_path / "app.py").write_text(
        "from flask import Flask\n\nfrom plugins import Meta\n\napp = Flask(__name__)\n"
    )
    plugins = (
        "from typing import TYPE_CHECKING\n\n"
        "if TYPE_CHECKING:\n"
        "    from importlib.metadata import Distribution\n\n\n"
        "class Meta:\n"
        "    def __init__(self, dist: Distribution) -> None:\n"
        "        self.name = dist.name\n"
    )
    (tmp_path / "plugins.py").write_text(plugins)
    with pytest.raises(AppImportError) as info:
        confirm_import(detect_app(tmp_path))
    message = str(info.value)
    assert message.startswith(
        "Importing 'app:app' failed in plugins.py line 8: an annotation there names "
        "'Distribution', which plugins.py imports only for type checkers"
    )
    assert "Add 'from __future__ import annotations' at the top of plugins.py" in message
    # With annotations deferred, or the name imported for real, the import passes.
    (tmp_path / "plugins.py").write_text("from __future__ import annotations\n\n" + plugins)
    assert confirm_import(detect_app(tmp_path)).confirmed


def test_a_name_error_outside_annotations_is_the_codes_own(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        "from typing import TYPE_CHECKING\n\n"
        "if TYPE_CHECKING:\n"
        "    from importlib.metadata import Distribution\n\n"
        "print(Distribution)\n"
        "app = None\n"
    )
    with pytest.raises(AppImportError, match="failed in your code"):
        confirm_import(detect_app(tmp_path))


def test_a_celery_app_named_app_is_not_a_second_wsgi_app(tmp_path: Path) -> None:
    """wger's package ``__init__.py`` imports its Celery app as ``app``, as Celery's Django
    guide does under another name: the project's one app is Django's."""
    manage = "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'shop.settings.base')\n"
    files = {"manage.py": manage, **settings_package()}
    files["shop/__init__.py"] = "from shop.celery_configuration import app\n"
    files["shop/celery_configuration.py"] = "from celery import Celery\n\napp = Celery('shop')\n"
    write_project(tmp_path, files)
    assert detect_app(tmp_path).spec == "shop.wsgi:application"
    # A WSGI app imported under the same name is still a candidate.
    (tmp_path / "shop" / "celery_configuration.py").write_text(
        "from flask import Flask\n\napp = Flask('shop')\n"
    )
    with pytest.raises(FCMigrateError, match="Found 2 candidate apps"):
        detect_app(tmp_path)


def test_a_wsgi_file_setting_the_same_settings_is_the_django_app(tmp_path: Path) -> None:
    """django-oscar's sandbox: settings.py names no WSGI_APPLICATION, and its wsgi.py sets
    the settings manage.py sets."""
    manage = "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'settings')\n"
    wsgi = (
        "import os\n\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'settings')\n\n"
        "from django.core.wsgi import get_wsgi_application\n\n"
        "application = get_wsgi_application()\n"
    )
    write_project(tmp_path, {"manage.py": manage, "settings.py": SETTINGS, "wsgi.py": wsgi})
    detected = detect_app(tmp_path)
    assert (detected.spec, detected.settings_module) == ("wsgi:application", "settings")
    assert detected.found_in == "manage.py -> settings -> wsgi.py (sets the same settings)"
    # A wsgi.py with other settings is another app: the choice stays the user's.
    (tmp_path / "wsgi.py").write_text(wsgi.replace("'settings'", "'settings_live'"))
    (tmp_path / "settings_live.py").write_text(SETTINGS)
    with pytest.raises(FCMigrateError, match="Found 2 candidate apps"):
        detect_app(tmp_path)
