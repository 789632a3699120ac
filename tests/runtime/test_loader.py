"""fcmigrate.runtime.loader: a table of specs that load, a table that fail, and the Django paths.

Every scenario is a tiny module under ``tests/loader_fixtures``. Loaded applications are
called through ``wsgiref.validate.validator`` and their body is checked, so a spec that
resolves to the wrong object fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import FrozenInstanceError
from pathlib import Path
from types import ModuleType
from typing import Any
from wsgiref.util import setup_testing_defaults
from wsgiref.validate import validator

import pytest

import fcmigrate
from fcmigrate.errors import AppLoadError, FCMigrateError
from fcmigrate.runtime.loader import AppSpec, import_string, load_app, parse_spec

FIXTURES = (Path(__file__).parent / "loader_fixtures").resolve()
DJANGO_PROJECT = FIXTURES / "djproject"
REPO = Path(fcmigrate.__file__).resolve().parent.parent


def _from_fixtures(module: ModuleType) -> bool:
    locations = [getattr(module, "__file__", None), *getattr(module, "__path__", [])]
    return any(
        location is not None and Path(location).resolve().is_relative_to(FIXTURES)
        for location in locations
    )


@pytest.fixture
def fixtures(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Put the fixture directory on sys.path; afterwards forget every fixture module."""
    # setenv then delenv makes monkeypatch remember the variable, so whatever the loader's
    # os.environ.setdefault writes is undone after the test.
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "placeholder")
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE")
    saved_path = list(sys.path)
    sys.path.insert(0, str(FIXTURES))
    try:
        yield FIXTURES
    finally:
        sys.path[:] = saved_path
        for name, module in list(sys.modules.items()):
            if module is not None and _from_fixtures(module):
                del sys.modules[name]


def call(app: Any) -> tuple[str, str]:
    # wsgiref.validate warns (an error here) when QUERY_STRING is absent.
    environ: dict[str, Any] = {"QUERY_STRING": ""}
    setup_testing_defaults(environ)
    statuses: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        statuses.append(status)
        return lambda data: None

    result = validator(app)(environ, start_response)
    try:
        body = b"".join(result).decode()
    finally:
        result.close()
    return statuses[0], body


# --- parse_spec ----------------------------------------------------------------------------

PARSED = [
    pytest.param("mod", AppSpec("mod"), id="module-only"),
    pytest.param(" pkg.mod : app ", AppSpec("pkg.mod", "app"), id="spaces-stripped"),
    pytest.param("mod:attr.sub", AppSpec("mod", "attr.sub"), id="nested-attr"),
    pytest.param("mod:create_app()", AppSpec("mod", "create_app", call=True), id="call-no-args"),
    pytest.param(
        "pkg:create_app(roots=['/data'], debug=False)",
        AppSpec("pkg", "create_app", (), {"roots": ["/data"], "debug": False}, call=True),
        id="call-kwargs",
    ),
    pytest.param(
        "mod:f(1, 'x', None, (1, 2), {'a': -1.5})",
        AppSpec("mod", "f", (1, "x", None, (1, 2), {"a": -1.5}), call=True),
        id="call-positional-literals",
    ),
    pytest.param("mod:a.b()", AppSpec("mod", "a.b", call=True), id="call-dotted"),
]


@pytest.mark.parametrize(("spec", "expected"), PARSED)
def test_parse_spec(spec: str, expected: AppSpec) -> None:
    assert parse_spec(spec) == expected


def test_parse_spec_is_frozen_and_prints_back() -> None:
    spec = parse_spec("pkg:create_app('/a', debug=False)")
    assert str(spec) == "pkg:create_app('/a', debug=False)"
    assert str(parse_spec("mod:create_app()")) == "mod:create_app()"
    assert str(parse_spec("mod:app")) == "mod:app"
    with pytest.raises(FrozenInstanceError):
        spec.module = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        spec.kwargs["debug"] = True  # type: ignore[index]


def test_parse_spec_imports_nothing(fixtures: Path) -> None:
    parse_spec("fx_raises:app")
    assert "fx_raises" not in sys.modules


# --- load_app: good ------------------------------------------------------------------------

GOOD = [
    pytest.param("fx_app:app", "fx_app:app", id="module:app"),
    pytest.param("  fx_app:app  ", "fx_app:app", id="surrounding-spaces"),
    pytest.param("fx_app", "fx_app:app", id="discover-app"),
    pytest.param("fx_application", "fx_application:application", id="discover-application"),
    pytest.param("fx_function", "fx_function:application", id="discover-plain-function"),
    pytest.param("fx_alias", "fx_alias:app", id="discover-app-aliased-as-application"),
    pytest.param("fx_single", "fx_single:webapp", id="discover-single-unnamed-app"),
    pytest.param("fx_flask_single", "fx_flask_single:server", id="discover-single-flask-app"),
    pytest.param("fx_create_app", "fx_create_app:create_app()", id="discover-create_app"),
    pytest.param("fx_make_app", "fx_make_app:make_app()", id="discover-make_app"),
    pytest.param("fx_blocks", "fx_blocks:wsgi_app", id="discover-app-made-in-a-with-block"),
    pytest.param("fx_pkg", "roots=None debug=True", id="discover-factory-defaults-in-package"),
    pytest.param("fx_pkg.wsgi", "fx_pkg.wsgi:application", id="discover-in-submodule"),
    pytest.param("fx_create_app:create_app()", "fx_create_app:create_app()", id="factory-call"),
    pytest.param(
        "fx_pkg:create_app(roots=['/data'], debug=False)",
        "roots=['/data'] debug=False",
        id="factory-literal-kwargs",
    ),
    pytest.param(
        "fx_pkg:create_app(('/a', '/b'), False)",
        "roots=('/a', '/b') debug=False",
        id="factory-literal-positional",
    ),
    pytest.param("fx_nested:holder.inner.app", "fx_nested:holder.inner.app", id="nested-attr"),
    pytest.param("fx_nested:holder.make('x')", "fx_nested:holder.make(x)", id="nested-factory"),
    pytest.param("fx_flask_single:server", "fx_flask_single:server", id="flask-by-name"),
]


@pytest.mark.parametrize(("spec", "body"), GOOD)
def test_load_app(fixtures: Path, spec: str, body: str) -> None:
    assert call(load_app(spec, cwd=str(fixtures))) == ("200 OK", body)


def test_cwd_is_put_on_sys_path(fixtures: Path) -> None:
    sys.path.remove(str(fixtures))
    app = load_app("fx_app:app", cwd=str(fixtures))
    assert sys.path[0] == str(fixtures)
    assert call(app)[1] == "fx_app:app"
    load_app("fx_app:app", cwd=str(fixtures))
    assert sys.path.count(str(fixtures)) == 1


def test_cwd_defaults_to_working_directory(fixtures: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sys.path.remove(str(fixtures))
    monkeypatch.chdir(fixtures)
    assert call(load_app("fx_application"))[1] == "fx_application:application"
    assert str(fixtures) in sys.path


def test_a_package_without_its_own_metadata_is_not_a_missing_module(
    fixtures: Path, tmp_path: Path
) -> None:
    """Radicale reads its own version at import; importlib.metadata's PackageNotFoundError
    is a ModuleNotFoundError named after the distribution, here the module itself."""
    import importlib.metadata

    package = tmp_path / "fx_ownmeta"
    package.mkdir()
    (package / "__init__.py").write_text(
        "from importlib.metadata import version\n\nVERSION = version('fx_ownmeta')\napp = None\n"
    )
    try:
        with pytest.raises(importlib.metadata.PackageNotFoundError):
            load_app("fx_ownmeta:app", cwd=str(tmp_path))
    finally:
        sys.modules.pop("fx_ownmeta", None)


def test_src_layout_is_imported_from_src(fixtures: Path, tmp_path: Path) -> None:
    package = tmp_path / "src" / "fx_srcpkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        "def app(environ, start_response):\n"
        "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
        "    return [b'fx_srcpkg:app']\n"
    )
    (package / "hooks.py").write_text("def ready():\n    return 'ready'\n")
    try:
        assert call(load_app("fx_srcpkg:app", cwd=str(tmp_path)))[1] == "fx_srcpkg:app"
        assert str(tmp_path / "src") in sys.path
        assert import_string("fx_srcpkg.hooks:ready", cwd=str(tmp_path))() == "ready"
    finally:
        sys.modules.pop("fx_srcpkg.hooks", None)
        sys.modules.pop("fx_srcpkg", None)


def test_src_is_left_off_the_path_for_a_module_in_the_project(
    fixtures: Path, tmp_path: Path
) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "fx_shadowed.py").write_text("raise RuntimeError('from src')\n")
    (tmp_path / "fx_shadowed.py").write_text(
        "def app(environ, start_response):\n"
        "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
        "    return [b'root']\n"
    )
    try:
        assert call(load_app("fx_shadowed:app", cwd=str(tmp_path)))[1] == "root"
        assert str(tmp_path / "src") not in sys.path
    finally:
        sys.modules.pop("fx_shadowed", None)


# --- load_app: bad -------------------------------------------------------------------------

BAD = [
    pytest.param("", ["The application spec '' is empty. Use 'module:name'"], id="empty"),
    pytest.param(
        "fx_app:",
        ["Nothing follows ':' in 'fx_app:'. Use 'fx_app:name'", "or 'fx_app' to find it"],
        id="nothing-after-colon",
    ),
    pytest.param(
        ":app",
        ["The application spec ':app' has no module name. Use 'module:app'."],
        id="no-module",
    ),
    pytest.param(
        "fx_app:a b",
        ["Failed to parse 'a b' in 'fx_app:a b' as an attribute name or a factory call."],
        id="space-in-name",
    ),
    pytest.param("fx_app:f(", ["Failed to parse 'f(' in 'fx_app:f('"], id="unclosed-paren"),
    pytest.param("fx_app:app()()", ["Failed to parse 'app()()'"], id="double-call"),
    pytest.param("fx_app:app[0]", ["Failed to parse 'app[0]'"], id="subscript"),
    pytest.param(
        "fx_app:f(os.getcwd())",
        [
            "The factory argument 'os.getcwd()' in 'fx_app:f(os.getcwd())' is not a literal.",
            "e.g. 'fx_app:f(\"/data\", debug=False)'",
        ],
        id="non-literal-arg",
    ),
    pytest.param("fx_app:f(*args)", ["'*args'", "is not a literal"], id="star-args"),
    pytest.param("fx_app:f(**opts)", ["'**opts'", "is not a literal"], id="double-star-kwargs"),
    pytest.param("fx_app:f(x={[1]: 2})", ["'{[1]: 2}'", "is not a literal"], id="unhashable-key"),
    pytest.param("fx app:app", ["'fx app' in 'fx app:app' is not a module name."], id="bad-module"),
    pytest.param(
        "fx_app..x", ["'fx_app..x' in 'fx_app..x' is not a module name."], id="empty-part"
    ),
    pytest.param(
        "fx_pkg/wsgi.py:application",
        [
            "'fx_pkg/wsgi.py:application' is a file path; use the dotted module name "
            "'fx_pkg.wsgi:application'."
        ],
        id="file-path",
    ),
    pytest.param(
        "fx_app:f(x=1, x=2)",
        ["The keyword argument 'x' is repeated in 'fx_app:f(x=1, x=2)'. Give it once."],
        id="repeated-kwarg",
    ),
    pytest.param(
        "/srv/site/wsgi.py:app",
        [
            "'/srv/site/wsgi.py:app' is a file path. Use the module name 'wsgi:app' with cwd set "
            "to '/srv/site'."
        ],
        id="absolute-file-path",
    ),
    pytest.param(
        "fx_missing.py",
        [
            "No module named 'fx_missing' in ",
            "'fx_missing.py' names a file; use its module name 'fx_missing'",
        ],
        id="missing-file-name",
    ),
    pytest.param(
        "fx_app.py:app",
        ["'fx_app.py:app' names a file; use the module name instead: 'fx_app:app'."],
        id="file-name",
    ),
    pytest.param(
        "fx_nosuch",
        ["No module named 'fx_nosuch' in ", "Check the spelling in 'fx_nosuch'"],
        id="missing-module",
    ),
    pytest.param(
        "fx_nosuch.wsgi:app",
        ["No module named 'fx_nosuch' in ", "contains 'fx_nosuch'."],
        id="missing-parent-package",
    ),
    pytest.param(
        "fx_pkg.wsgii",
        [
            "No module named 'fx_pkg.wsgii': package 'fx_pkg' has no module 'wsgii'. "
            "Did you mean 'fx_pkg.wsgi'?"
        ],
        id="missing-submodule",
    ),
    pytest.param(
        "fx_app:nosuch",
        [
            "Failed to find attribute 'nosuch' in 'fx_app'. Use 'fx_app:name' with a name that "
            "'fx_app' defines."
        ],
        id="missing-attribute",
    ),
    pytest.param(
        "fx_app:ap",
        ["Failed to find attribute 'ap' in 'fx_app'. Did you mean 'fx_app:app'?"],
        id="misspelt-attribute",
    ),
    pytest.param(
        "fx_nested:holder.nosuch",
        [
            "Failed to find attribute 'holder.nosuch' in 'fx_nested': 'holder' has no attribute "
            "'nosuch'."
        ],
        id="missing-nested-attribute",
    ),
    pytest.param(
        "fx_not_callable:CONFIG",
        [
            "'fx_not_callable:CONFIG' is a 'dict' object, not a WSGI application. "
            "Use 'fx_not_callable:name' to name the application object."
        ],
        id="not-callable",
    ),
    pytest.param(
        "fx_nested:holder.inner",
        ["'fx_nested:holder.inner' is a 'SimpleNamespace' object, not a WSGI application."],
        id="not-callable-nested",
    ),
    pytest.param(
        "fx_not_callable:CONFIG()",
        [
            "'CONFIG' in 'fx_not_callable' is a 'dict' object, so it cannot be called. "
            "Use 'fx_not_callable:CONFIG' without parentheses."
        ],
        id="call-not-callable",
    ),
    pytest.param(
        "fx_create_app:create_app",
        [
            "'fx_create_app:create_app' cannot be called as app(environ, start_response); its "
            "signature is create_app(). If it is an application factory, use "
            "'fx_create_app:create_app()'."
        ],
        id="factory-without-parens",
    ),
    pytest.param(
        "fx_create_app:create_app(1)",
        [
            "Cannot call the factory 'create_app' in 'fx_create_app' as given in "
            "'fx_create_app:create_app(1)': too many positional arguments. "
            "Its signature is create_app();"
        ],
        id="factory-too-many-args",
    ),
    pytest.param(
        "fx_pkg:create_app(unknown=1)",
        [
            "got an unexpected keyword argument 'unknown'",
            "Its signature is create_app(roots=None, debug=True);",
        ],
        id="factory-unknown-kwarg",
    ),
    pytest.param(
        "fx_factory_needs_args:create_app()",
        ["missing a required argument: 'config'", "Its signature is create_app(config);"],
        id="factory-missing-arg",
    ),
    pytest.param(
        "fx_factory_needs_args",
        [
            "Detected the factory 'create_app' in module 'fx_factory_needs_args', but it needs "
            "arguments: create_app(config). Use 'fx_factory_needs_args:create_app(...)'"
        ],
        id="discovered-factory-needs-args",
    ),
    pytest.param(
        "fx_factory_none:create_app()",
        [
            "The result of 'fx_factory_none:create_app()' is None, not a WSGI application. "
            "Make 'create_app' end with 'return app'"
        ],
        id="factory-returns-none",
    ),
    pytest.param(
        "fx_factory_none",
        ["The result of 'fx_factory_none:create_app()' is None"],
        id="discovered-factory-returns-none",
    ),
    pytest.param(
        "fx_two_apps",
        [
            "Found 2 WSGI applications in module 'fx_two_apps' ('public_app', 'admin_app'). "
            "Use 'fx_two_apps:name' to name one, e.g. 'fx_two_apps:public_app'."
        ],
        id="two-apps",
    ),
    pytest.param(
        "fx_two_named",
        ["Found 2 WSGI applications in module 'fx_two_named' ('app', 'application')."],
        id="app-and-application-differ",
    ),
    pytest.param(
        "fx_no_app",
        [
            "Failed to find a WSGI application in module 'fx_no_app'. "
            "Use 'fx_no_app:name' to name one."
        ],
        id="no-app",
    ),
    pytest.param(
        "fx_pkg/",
        ["The directory 'fx_pkg/' holds neither manage.py nor settings.py."],
        id="folder-not-django",
    ),
    pytest.param(
        "djbroken",
        [
            "manage.py' does not set DJANGO_SETTINGS_MODULE, so 'djbroken' cannot be resolved. "
            "Set DJANGO_SETTINGS_MODULE, or use the settings module as the spec, e.g. "
            "'mysite.settings'."
        ],
        id="manage-py-without-settings",
    ),
]


@pytest.mark.parametrize(("spec", "fragments"), BAD)
def test_load_app_bad(fixtures: Path, spec: str, fragments: list[str]) -> None:
    with pytest.raises(AppLoadError) as excinfo:
        load_app(spec, cwd=str(fixtures))
    message = str(excinfo.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message
    assert isinstance(excinfo.value, FCMigrateError)


@pytest.mark.parametrize(
    "spec", ["", "fx_app:", ":app", "fx_app:a b", "fx_app:f(", "fx_app:f(os.getcwd())"]
)
def test_parse_spec_bad(spec: str) -> None:
    with pytest.raises(AppLoadError):
        parse_spec(spec)


# --- errors inside the user's code keep their type and traceback ---------------------------


def test_exception_in_user_module_propagates(fixtures: Path) -> None:
    with pytest.raises(RuntimeError, match="fails on import on purpose") as excinfo:
        load_app("fx_raises:app", cwd=str(fixtures))
    assert not isinstance(excinfo.value, FCMigrateError)
    assert Path(excinfo.traceback[-1].path) == fixtures / "fx_raises.py"


def test_missing_dependency_of_user_module_propagates(fixtures: Path) -> None:
    with pytest.raises(ModuleNotFoundError) as excinfo:
        load_app("fx_missing_dep", cwd=str(fixtures))
    assert type(excinfo.value) is ModuleNotFoundError
    assert excinfo.value.name == "fx_not_installed_dependency"
    assert fixtures / "fx_missing_dep.py" in [Path(entry.path) for entry in excinfo.traceback]


@pytest.mark.parametrize("spec", ["fx_factory_typeerror:create_app()", "fx_factory_typeerror"])
def test_type_error_inside_factory_propagates(fixtures: Path, spec: str) -> None:
    with pytest.raises(TypeError, match="has no len") as excinfo:
        load_app(spec, cwd=str(fixtures))
    assert not isinstance(excinfo.value, FCMigrateError)
    assert Path(excinfo.traceback[-1].path) == fixtures / "fx_factory_typeerror.py"


# --- import_string -------------------------------------------------------------------------

HOOKS = [
    pytest.param("fx_hooks:on_start", "started", id="colon"),
    pytest.param("fx_hooks.on_start", "started", id="dotted"),
    pytest.param("fx_hooks:Hooks.on_stop", "stopped", id="nested-attr"),
]


@pytest.mark.parametrize(("spec", "result"), HOOKS)
def test_import_string(fixtures: Path, spec: str, result: str) -> None:
    assert import_string(spec, cwd=str(fixtures))() == result


BAD_HOOKS = [
    pytest.param(
        "fx_hooks",
        "'fx_hooks' names a module but no attribute in it. Use 'fx_hooks:function'.",
        id="module-only",
    ),
    pytest.param(
        "fx_hooks:", "Nothing follows ':' in 'fx_hooks:'. Use 'fx_hooks:function'.", id="empty-attr"
    ),
    pytest.param(
        ":on_start", "':on_start' has no module name. Use 'module:on_start'.", id="no-module"
    ),
    pytest.param(
        "fx_hooks:on_start()",
        "'on_start()' in 'fx_hooks:on_start()' is not an attribute name. Use 'fx_hooks:function', "
        "without parentheses or arguments.",
        id="call",
    ),
    pytest.param("fx_nosuch:f", "No module named 'fx_nosuch' in ", id="missing-module"),
    pytest.param(
        "fx_hooks:on_stat",
        "Failed to find attribute 'on_stat' in 'fx_hooks'. Did you mean 'fx_hooks:on_start'?",
        id="misspelt-attribute",
    ),
]


@pytest.mark.parametrize(("spec", "fragment"), BAD_HOOKS)
def test_import_string_bad(fixtures: Path, spec: str, fragment: str) -> None:
    with pytest.raises(AppLoadError) as excinfo:
        import_string(spec, cwd=str(fixtures))
    assert fragment in str(excinfo.value)


# --- Django --------------------------------------------------------------------------------

# Django configures its settings and app registry once per process, so every successful
# Django load runs in a fresh interpreter and reports back as JSON.
DJANGO_SCRIPT = """
import json, os, sys
from wsgiref.util import setup_testing_defaults
from wsgiref.validate import validator
from fcmigrate.runtime.loader import load_app

app = load_app(sys.argv[1], cwd=sys.argv[2])
environ = {"QUERY_STRING": ""}
setup_testing_defaults(environ)
statuses = []

def start_response(status, headers, exc_info=None):
    statuses.append(status)
    return lambda data: None

result = validator(app)(environ, start_response)
try:
    body = b"".join(result).decode()
finally:
    result.close()
print(json.dumps({
    "status": statuses[0],
    "body": body,
    "env": os.environ.get("DJANGO_SETTINGS_MODULE"),
    "source": getattr(app, "fixture_source", None),
    "type": type(app).__name__,
}))
"""

DJANGO = [
    pytest.param(
        "fxsite.settings",
        DJANGO_PROJECT,
        None,
        "fxsite.settings",
        "fxsite/wsgi.py",
        id="settings-module",
    ),
    pytest.param(
        "djproject",
        FIXTURES,
        None,
        "fxsite.settings",
        "fxsite/wsgi.py",
        id="folder-with-manage-py",
    ),
    pytest.param(
        str(DJANGO_PROJECT),
        "/",
        None,
        "fxsite.settings",
        "fxsite/wsgi.py",
        id="absolute-folder-with-manage-py",
    ),
    pytest.param(
        "djproject/fxsite",
        FIXTURES,
        None,
        "fxsite.settings",
        "fxsite/wsgi.py",
        id="package-folder-with-settings-py",
    ),
    pytest.param(
        "fxsite",
        DJANGO_PROJECT,
        None,
        "fxsite.settings",
        "fxsite/wsgi.py",
        id="package-with-settings-module",
    ),
    pytest.param(
        "fxsite.wsgi",
        DJANGO_PROJECT,
        None,
        "fxsite.settings",
        "fxsite/wsgi.py",
        id="wsgi-module",
    ),
    pytest.param(
        "fxsite.settings_nowsgi",
        DJANGO_PROJECT,
        None,
        "fxsite.settings_nowsgi",
        None,
        id="no-WSGI_APPLICATION-falls-back",
    ),
    pytest.param(
        "djproject",
        FIXTURES,
        "fxsite.settings_nowsgi",
        "fxsite.settings_nowsgi",
        None,
        id="exported-settings-beat-manage-py",
    ),
]


@pytest.mark.parametrize(("spec", "cwd", "env_settings", "settings", "source"), DJANGO)
def test_load_django(
    tmp_path: Path,
    spec: str,
    cwd: Path | str,
    env_settings: str | None,
    settings: str,
    source: str | None,
) -> None:
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONPATH"] = str(REPO)
    if env_settings is not None:
        env["DJANGO_SETTINGS_MODULE"] = env_settings
    # Run from an empty directory so only the loader's cwd handling can find the project.
    completed = subprocess.run(
        [sys.executable, "-W", "error", "-c", DJANGO_SCRIPT, spec, str(cwd)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout)
    assert report == {
        "status": "200 OK",
        "body": f"hello from {settings}",
        "env": settings,
        "source": source,
        "type": "WSGIHandler",
    }


def test_django_folder_whose_manage_py_leaves_the_settings_to_the_environment(
    tmp_path: Path,
) -> None:
    import shutil

    site = tmp_path / "site"
    shutil.copytree(DJANGO_PROJECT, site)
    manage = site / "manage.py"
    manage.write_text(
        manage.read_text().replace(
            'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fxsite.settings")', "pass"
        )
    )
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONPATH"] = str(REPO)
    argv = [sys.executable, "-W", "error", "-c", DJANGO_SCRIPT, "site", str(tmp_path)]

    def run(extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            argv, cwd=tmp_path, env={**env, **extra}, capture_output=True, text=True, timeout=120
        )

    exported = run({"DJANGO_SETTINGS_MODULE": "fxsite.settings_nowsgi"})
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout)["body"] == "hello from fxsite.settings_nowsgi"

    unset = run({})
    assert unset.returncode != 0
    assert "does not set DJANGO_SETTINGS_MODULE, so 'site' cannot be resolved. Set " in (
        unset.stderr
    )


def test_django_settings_conflict_with_environment(
    fixtures: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "other.settings")
    with pytest.raises(AppLoadError) as excinfo:
        load_app("fxsite.settings", cwd=str(DJANGO_PROJECT))
    assert str(excinfo.value) == (
        "DJANGO_SETTINGS_MODULE is 'other.settings', but 'fxsite.settings' names "
        "'fxsite.settings'. Use 'other.settings' as the application spec, or unset "
        "DJANGO_SETTINGS_MODULE."
    )
    assert os.environ["DJANGO_SETTINGS_MODULE"] == "other.settings"


def test_django_bad_wsgi_application(fixtures: Path) -> None:
    with pytest.raises(AppLoadError) as excinfo:
        load_app("fxsite.settings_badwsgi", cwd=str(DJANGO_PROJECT))
    assert str(excinfo.value).startswith(
        "WSGI_APPLICATION = 'fxsite.nosuch.application' in 'fxsite.settings_badwsgi' does not "
        "resolve: No module named 'fxsite.nosuch': package 'fxsite' has no module 'nosuch'."
    )
    assert os.environ["DJANGO_SETTINGS_MODULE"] == "fxsite.settings_badwsgi"


def test_fixture_cleanup_leaves_no_fixture_modules() -> None:
    # Runs after tests that imported fixtures (pytest keeps file order): nothing may linger.
    assert [name for name, mod in sys.modules.items() if mod and _from_fixtures(mod)] == []
    assert str(FIXTURES) not in sys.path
    assert str(DJANGO_PROJECT) not in sys.path


#: A package's .pth file that puts in a module the standard library no longer has, as
#: setuptools' distutils-precedence.pth does for ``distutils`` on Python 3.12 and later.
PTH_SHIM = """\
import importlib.abc, importlib.util, sys

RUNS = []


class Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path=None, target=None):
        if name == "fx_gone_from_stdlib":
            return importlib.util.spec_from_loader(name, self)
        return None

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        module.strtobool = lambda text: text.lower() in ("1", "true", "yes", "on")


def install():
    RUNS.append(1)
    sys.meta_path.insert(0, Finder())
"""


def test_pth_files_of_the_installed_dependencies_are_read(tmp_path: Path) -> None:
    code = tmp_path / "code"
    deps = code / "python"
    deps.mkdir(parents=True)
    (deps / "fx_pth_shim.py").write_text(PTH_SHIM)
    (deps / "fx-shim-precedence.pth").write_text("import fx_pth_shim; fx_pth_shim.install()\n")
    (code / "app.py").write_text(
        "from fx_gone_from_stdlib import strtobool\n"
        "DEBUG = strtobool('false')\n"
        "def app(environ, start_response):\n"
        "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
        "    return [b'debug=%r' % DEBUG]\n"
    )
    script = (
        "import json, fx_pth_shim\n"
        "from fcmigrate.runtime.loader import load_app\n"
        "load_app('app:app', cwd='.'); load_app('app:app', cwd='.')\n"
        "print(json.dumps(len(fx_pth_shim.RUNS)))\n"
    )
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": os.pathsep.join(
            [str(deps), str(code), str(Path(fcmigrate.__file__).parents[1])]
        ),
    }
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=code, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == 1  # read once, however often the app is loaded
