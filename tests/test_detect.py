"""fcmigrate.detect: finding the app, its requirements and its Python in a project folder.

Every scenario is a tiny project under ``tests/detect_fixtures`` (one folder each). Static
detection must not import them; :func:`confirm_import` imports them in a subprocess.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DJANGO_SAMPLE, FLASK_SAMPLE, REPO

from fcmigrate.detect import (
    AppImportError,
    Detected,
    confirm_import,
    detect_app,
    lowest_allowed,
    read_python_version,
    read_requirements,
)
from fcmigrate.errors import AppLoadError, FCMigrateError

FIXTURES = Path(__file__).resolve().parent / "detect_fixtures"


@pytest.mark.parametrize(
    ("folder", "spec", "framework", "found_in"),
    [
        ("flask_app_py", "app:app", "flask", "app.py"),
        ("plain_wsgi", "wsgi:application", "wsgi", "wsgi.py"),
        ("flask_named", "main:server", "flask", "main.py"),
        ("factory_package", "shop:create_app()", "flask", "shop/__init__.py"),
        ("factory_with_wsgi", "wsgi:app", "flask", "wsgi.py"),
        ("alias", "app:app", "flask", "app.py"),
        ("import_module_then_attr", "wsgi:application", "flask", "wsgi.py"),
        ("python_version_file", "index:app", "flask", "index.py"),
        ("src_layout", "storefront:create_app()", "flask", "src/storefront/__init__.py"),
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
    assert {"app", "wsgi", "main", "shop", "proj", "site_cfg", "bare"}.isdisjoint(
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


def test_manage_py_without_settings_is_an_error() -> None:
    with pytest.raises(FCMigrateError, match=r"does not set DJANGO_SETTINGS_MODULE.*--app"):
        detect_app(FIXTURES / "manage_without_settings")


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
    ],
)
def test_missing_variable(code: str, variable: str | None) -> None:
    from fcmigrate.detect import missing_variable

    assert missing_variable(_raised(code)) == variable


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
