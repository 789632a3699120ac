"""Finding the WSGI app, its dependencies and its Python version in a project folder.

:func:`detect_app` reads the project's files and never runs them:

Django
    ``manage.py`` -> the ``DJANGO_SETTINGS_MODULE`` it sets -> ``WSGI_APPLICATION`` in that
    settings module (following ``from .base import *``) -> a spec such as
    ``'mysite.wsgi:application'``. Without ``WSGI_APPLICATION`` the spec is the settings
    module, which the loader resolves the way ``runserver`` does. A ``manage.py`` that does
    not import Django is not Django's and is passed over. One that leaves the variable to
    the environment gets it from the environment, a ``wsgi.py``'s ``setdefault``, or the
    project's settings modules (``production`` first; see :func:`_pick_settings`).
Flask and plain WSGI
    ``app.py``, ``wsgi.py``, ``main.py``, ``application.py`` or ``index.py`` at the top of the
    folder, or the ``__init__.py`` of a top-level package, that defines ``app``,
    ``application``, a ``Flask(...)`` / ``Bottle()`` / ``falcon.App()`` /
    ``make_wsgi_app()`` object, or a ``create_app`` / ``make_app`` / ``get_app`` factory (one
    that can be called with no arguments first), at module level (also inside ``with``,
    ``if`` and ``try`` blocks, not under ``if __name__ == "__main__"``). When the folder names
    none, the same modules inside a top-level package (``look/app.py``) are asked, and then
    any other top-level module, or module right inside a top-level package, that makes a
    ``Flask(...)`` / ``Bottle()`` object at module level (``api.py`` started as ``python
    api.py``, ``searx/webapp.py`` served as ``searx.webapp:app``).
    A module that imports its app from another candidate (``wsgi.py`` doing
    ``from myapp import create_app``) is the entry point, and the one it imports is dropped.
    When none is found, a ``Procfile``'s ``web:`` command may name the app.
Dependencies and Python version
    read by :mod:`fcmigrate.build.facts` (``requirements.txt``, ``pyproject.toml``,
    ``.python-version`` ...) and put into :class:`Detected`.

One candidate is the answer; two or more raise :class:`~fcmigrate.errors.FCMigrateError`
listing them and showing ``--app``; none raises one that says what was looked for. With
``app`` given, that spec is used as it is and only the framework is guessed; an app that is
not in the project but installed by a requirement (``httpbin:app``) says so in ``found_in``.

:func:`~fcmigrate.build.importcheck.confirm_import` then imports the app in a child
interpreter, with the folder it runs in read-only as ``/code`` is on FC, and reports the
framework of the object it got. ``detect_app(path, check=True)`` does both.

The API is stable: ``detect_app(path, app=None) -> Detected`` is what ``migrate``,
``wrap`` and ``dockerize`` call when APP is omitted.
"""

from __future__ import annotations

import ast
import dataclasses
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeGuard

from fcmigrate.build.facts import (
    read_python_version,
    read_requirements,
    read_text,
    requirement_providing,
)
from fcmigrate.build.importcheck import confirm_import
from fcmigrate.errors import AppLoadError, FCMigrateError
from fcmigrate.runtime.loader import has_module, parse_spec

__all__ = ["ENTRY_FILES", "Detected", "detect_app"]

#: Top-level files that may hold a Flask or plain WSGI app, in the order they are reported.
#: index.py is what Function Compute's own Flask templates use.
ENTRY_FILES = ("app.py", "wsgi.py", "main.py", "application.py", "index.py")
_APP_NAMES = ("app", "application")
_FACTORY_NAMES = ("create_app", "make_app", "get_app")
#: Folders never searched for packages (they hold no app, or someone else's code).
_NOT_PACKAGES = frozenset(
    {"tests", "test", "docs", "node_modules", "python", "migrations", "build", "dist"}
)
_SETTINGS_ENV = "DJANGO_SETTINGS_MODULE"
#: How many of the project's modules are read to follow an entry module's imports.
_MAX_IMPORTED_FILES = 200
#: Words that name a development configuration in a factory's arguments.
_DEVELOPMENT = re.compile(
    r"(?i)\b(?:dev|development|local|debug)(?=config|settings|\b|_)|Dev(?=Config)"
)


def _production(match: re.Match[str]) -> str:
    """The production word for a development one, in its case (``DevConfig`` ->
    ``ProdConfig``, ``development`` -> ``production``)."""
    word = match.group(0)
    new = "prod" if word.lower() == "dev" else "production"
    return new.capitalize() if word[0].isupper() else new


@dataclass(frozen=True)
class Detected:
    """What :func:`detect_app` found in a project folder.

    ``spec`` is a loader spec (``'mysite.wsgi:application'``, ``'app:app'``,
    ``'myapp:create_app()'``) valid with ``root`` as the current directory. ``framework`` is
    ``'django'``, ``'flask'`` or ``'wsgi'``: a guess from the imports until
    :func:`confirm_import` has looked at the real object. ``requirements`` are requirement
    strings; ``requirements_file`` is the file they came from (pass it to pip as ``-r``), or
    ``None`` when they came from ``pyproject.toml`` or there are none. ``python`` is
    ``'X.Y'`` or ``None``, with ``python_source`` naming where it came from.
    """

    spec: str
    framework: str
    root: Path
    requirements: list[str] = field(default_factory=list)
    python: str | None = None
    settings_module: str | None = None
    requirements_file: Path | None = None
    python_source: str | None = None
    found_in: str = ""
    confirmed: bool = False
    #: What the import check saw that the user should know (a setting that acts differently
    #: on FC).
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Candidate:
    spec: str
    framework: str
    found_in: str
    module: str
    imports: frozenset[str] = frozenset()
    settings_module: str | None = None


def detect_app(
    path: str | Path,
    app: str | None = None,
    *,
    check: bool = False,
    python: str | None = None,
    pythonpath: Sequence[str | Path] = (),
    env: Mapping[str, str] | None = None,
) -> Detected:
    """Detect the app, dependencies and Python version of the project at ``path``.

    ``app`` (a loader spec) skips the search for the app. ``check=True`` also imports the
    app in a subprocess with :func:`confirm_import` (``python`` and ``pythonpath`` are
    passed on to it). ``env`` is what the function's environment will hold (``migrate
    --env``): a ``DJANGO_SETTINGS_MODULE`` there names the settings of a manage.py that leaves
    them to the environment. Raises :class:`FCMigrateError` for a folder that cannot be read,
    no app, or several apps.
    """
    root = _project_root(path)
    requirements, requirements_file = read_requirements(root)
    version, version_source = read_python_version(root)
    if app is None:
        candidates = _candidates(root, _django_candidate(root, env))
        named = _flaskenv_candidate(root)
        entries = _entries(candidates)
        # None found, or several: `flask run` starts the one .flaskenv names; and where it
        # names the one found, it says how (a factory's arguments).
        if named is not None and (len(entries) != 1 or entries[0].module == named.module):
            candidates = [named]
        chosen = _choose(
            root,
            candidates
            or _procfile_candidates(root, requirements)
            or _django_below(root, requirements)
            or _package_entry_candidates(root)
            or _other_module_candidates(root),
        )
    else:
        try:
            django = _django_candidate(root, env)
        except FCMigrateError:
            # Its advice is "name the app with --app", which the user has just done.
            django = None
        chosen = _explicit(root, app, django, requirements)
    notes: tuple[str, ...] = ()
    head, paren, arguments = chosen.spec.partition("(")
    if chosen.found_in.startswith(".flaskenv") and _DEVELOPMENT.search(arguments):
        production = head + paren + _DEVELOPMENT.sub(_production, arguments)
        notes = (
            f"The app is {chosen.spec}, as FLASK_APP in .flaskenv names it for 'flask run': its "
            "arguments look like a development configuration. If production uses another, "
            f"name it with --app, e.g. --app {production!r}.",
        )
    detected = Detected(
        notes=notes,
        spec=chosen.spec,
        framework=chosen.framework,
        root=root,
        requirements=requirements,
        python=version,
        settings_module=chosen.settings_module,
        requirements_file=requirements_file,
        python_source=version_source,
        found_in=chosen.found_in,
    )
    if check:
        detected = confirm_import(detected, python=python, pythonpath=pythonpath)
    return detected


# --- the folder --------------------------------------------------------------------------


def _project_root(path: str | Path) -> Path:
    root = Path(path).expanduser()
    shown = str(path)
    if not root.exists():
        raise FCMigrateError(
            f"The project folder {shown!r} does not exist. "
            "Pass the folder that holds your app, e.g. 'fcmigrate migrate path/to/project'."
        )
    if not root.is_dir():
        raise FCMigrateError(
            f"{shown!r} is not a folder. Pass the folder that holds your app, "
            "e.g. 'fcmigrate migrate path/to/project'."
        )
    try:
        with os.scandir(root):
            pass
    except OSError as exc:
        raise FCMigrateError(
            f"Cannot read the project folder {shown!r}: {exc.strerror or exc}. "
            f"Make it readable (chmod -R u+rX {shown!r}) or run as its owner."
        ) from None
    return root.resolve()


def _parse(file: Path) -> ast.Module | None:
    try:
        return ast.parse(read_text(file), filename=str(file))
    except (SyntaxError, ValueError):
        # Not ours to report: importing it shows the user the error in their own terms.
        return None


def _module_file(root: Path, module: str) -> Path | None:
    for folder in _import_roots(root):
        base = folder.joinpath(*module.split("."))
        for file in (base.with_suffix(".py"), base / "__init__.py"):
            if file.is_file():
                return file
    return None


# --- Django -----------------------------------------------------------------------------


def _django_candidate(root: Path, env: Mapping[str, str] | None = None) -> _Candidate | None:
    manage = root / "manage.py"
    if not manage.is_file():
        return None
    tree = _parse(manage)
    if tree is not None and not _is_django_manage(tree):
        return None  # another framework's command line (flask.cli, click): not a Django project
    settings = _settings_from(tree) if tree is not None else None
    if settings is None:
        return _django_settings_elsewhere(root, manage, env or {})
    settings_file = _module_file(root, settings)
    if settings_file is None:
        raise FCMigrateError(
            f"manage.py sets DJANGO_SETTINGS_MODULE to {settings!r}, but there is no "
            f"{settings.replace('.', '/')}.py in {str(root)!r}. Fix manage.py, or name the "
            "app with --app 'mysite.wsgi:application'."
        )
    target = _wsgi_application(root, settings, settings_file, depth=0)
    found_in = f"manage.py -> {settings}"
    if target is None:
        return _Candidate(settings, "django", found_in, settings, settings_module=settings)
    module, _, attr = target.rpartition(".")
    return _Candidate(
        f"{module}:{attr}",
        "django",
        f"{found_in} -> WSGI_APPLICATION",
        module,
        settings_module=settings,
    )


def _is_django_manage(tree: ast.Module) -> bool:
    """A manage.py that imports Django or names DJANGO_SETTINGS_MODULE."""
    return _framework_of(tree) == "django" or any(
        _const_str(node) == _SETTINGS_ENV for node in ast.walk(tree)
    )


def _django_settings_elsewhere(root: Path, manage: Path, env: Mapping[str, str]) -> _Candidate:
    """The app of a Django project whose manage.py leaves DJANGO_SETTINGS_MODULE to the
    environment: the variable the function is given (``env``) or the one set here, else the
    settings module that a ``wsgi.py`` sets, else the one settings module of the project (see
    :func:`_pick_settings`)."""
    given = env.get(_SETTINGS_ENV, "").strip()
    variable = given or os.environ.get(_SETTINGS_ENV, "").strip()
    where = "--env" if given else "the environment"
    if variable:
        if _module_file(root, variable) is None:
            raise FCMigrateError(
                f"DJANGO_SETTINGS_MODULE is {variable!r} in {where}, but there is no "
                f"{variable.replace('.', '/')}.py in {str(root)!r}. Set it to the project's "
                "settings module, e.g. DJANGO_SETTINGS_MODULE=mysite.settings."
            )
        found_in = f"manage.py (DJANGO_SETTINGS_MODULE from {where}) -> {variable}"
        return _django_app_of(root, variable, found_in)
    pinned = _settings_set_by_wsgi(root)
    if len(pinned) == 1:
        (settings, wsgi_file), *_ = pinned.items()
        found_in = f"manage.py (no DJANGO_SETTINGS_MODULE) -> {wsgi_file} -> {settings}"
        return _django_app_of(root, settings, found_in)
    found = sorted(pinned) or _settings_by_condition(root, manage) or _settings_modules(root)
    if not found:
        raise FCMigrateError(
            f"{str(manage)!r} does not set DJANGO_SETTINGS_MODULE and no settings module was "
            "found (looked at the environment, */wsgi.py, */settings.py and */settings/), so "
            "the Django app cannot be found. Set DJANGO_SETTINGS_MODULE, or name the app with "
            "--app, e.g. --app 'mysite.wsgi:application'."
        )
    settings = _pick_settings(root, found)
    others = [m for m in found if m != settings]
    why = f" (chosen over {', '.join(others)})" if others else ""
    found_in = f"manage.py (no DJANGO_SETTINGS_MODULE) -> {settings}{why}"
    return _django_app_of(root, settings, found_in)


def _django_app_of(root: Path, settings: str, found_in: str) -> _Candidate:
    """The candidate for ``settings``: its WSGI_APPLICATION when that module sets these same
    settings itself (so it runs on FC as it is), else the settings module, for which the
    loader sets DJANGO_SETTINGS_MODULE before it imports WSGI_APPLICATION."""
    file = _module_file(root, settings)
    target = _wsgi_application(root, settings, file, depth=0) if file is not None else None
    if target is not None:
        module, _, attr = target.rpartition(".")
        module_file = _module_file(root, module)
        tree = _parse(module_file) if module_file is not None else None
        if tree is not None and _settings_from(tree) == settings:
            return _Candidate(
                f"{module}:{attr}",
                "django",
                f"{found_in} -> WSGI_APPLICATION",
                module,
                settings_module=settings,
            )
    return _Candidate(settings, "django", found_in, settings, settings_module=settings)


def _settings_by_condition(root: Path, manage: Path) -> list[str]:
    """The settings modules between which manage.py chooses by a condition, such as Azure's
    samples: ``settings_module = 'proj.production' if 'WEBSITE_HOSTNAME' in os.environ else
    'proj.settings'`` then ``os.environ.setdefault('DJANGO_SETTINGS_MODULE', settings_module)``.
    The deployed one of them is picked as among any settings modules (:func:`_pick_settings`)."""
    tree = _parse(manage)
    if tree is None:
        return []
    names: set[str] = set()
    values: list[ast.expr] = []
    for node in ast.walk(tree):
        if _sets_settings_default(node):
            argument = node.args[1]
            if isinstance(argument, ast.Name):
                names.add(argument.id)
            else:
                values.append(argument)
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id in names for t in node.targets
        ):
            values.append(node.value)
    found: list[str] = []
    while values:
        value = values.pop(0)
        if isinstance(value, ast.IfExp):
            values += [value.body, value.orelse]
        elif _const_str(value) and _module_file(root, str(_const_str(value))) is not None:
            found.append(str(_const_str(value)))
    found = list(dict.fromkeys(found))
    return found if len(found) > 1 else []


def _settings_set_by_wsgi(root: Path) -> dict[str, str]:
    """``{settings module: wsgi file}`` for the project's wsgi.py files that set one."""
    found: dict[str, str] = {}
    for folder in _import_roots(root):
        for file in [folder / "wsgi.py", *(folder / p / "wsgi.py" for p in _packages(folder))]:
            tree = _parse(file) if file.is_file() else None
            settings = _settings_from(tree) if tree is not None else None
            if settings and _module_file(root, settings) is not None:
                found.setdefault(settings, file.relative_to(root).as_posix())
    return found


def _settings_modules(root: Path) -> list[str]:
    """Django settings modules of the project: ``settings.py`` in the project or in a
    top-level package, or a ``settings/`` package: the package itself when its
    ``__init__.py`` is settings, else each module in it that is."""
    found: list[str] = []
    for folder in _import_roots(root):
        for package in ["", *(f"{p}." for p in _packages(folder))]:
            base = folder.joinpath(*package.split(".")[:-1], "settings")
            name = f"{package}settings"
            if base.with_suffix(".py").is_file():
                if _is_settings_file(base.with_suffix(".py")):
                    found.append(name)
            elif (base / "__init__.py").is_file():
                if _is_settings_file(base / "__init__.py"):
                    found.append(name)
                else:
                    found += [
                        f"{name}.{file.stem}"
                        for file in sorted(base.glob("*.py"))
                        if file.stem.isidentifier() and _is_settings_file(file)
                    ]
    return list(dict.fromkeys(found))


def _is_settings_file(file: Path) -> bool:
    tree = _parse(file)
    return tree is not None and (
        _sets_django_settings(tree)
        or any(
            isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names)
            for node in tree.body
        )
    )


#: Which settings module serves a deployed app when the project has several and nothing
#: names one: the first of these ranks that holds exactly one; more than one is an error.
_DEPLOY_SETTINGS = ("production", "prod")
_NOT_DEPLOY_SETTINGS = frozenset(
    {"base", "common", "default", "defaults", "dev", "development", "local", "test", "tests"}
    | {"testing", "ci"}
)


def _pick_settings(root: Path, found: list[str]) -> str:
    if len(found) == 1:
        return found[0]

    def leaf(module: str) -> str:
        return module.rpartition(".")[2]

    ranks = [[m for m in found if leaf(m) == name] for name in _DEPLOY_SETTINGS]
    ranks.append([m for m in found if leaf(m) not in (*_DEPLOY_SETTINGS, *_NOT_DEPLOY_SETTINGS)])
    for rank in ranks:
        if len(rank) == 1:
            return rank[0]
        if rank:
            break
    else:
        rank = found
    listing = ", ".join(repr(m) for m in rank)
    raise FCMigrateError(
        f"manage.py in {str(root)!r} reads DJANGO_SETTINGS_MODULE from the environment and "
        f"the project has several settings modules ({listing}). Choose one: set "
        f"DJANGO_SETTINGS_MODULE={rank[0]}, or use --app {rank[0]!r}."
    )


def _settings_from(tree: ast.Module) -> str | None:
    for node in ast.walk(tree):
        # os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
        if _sets_settings_default(node):
            return _const_str(node.args[1])
        # os.environ["DJANGO_SETTINGS_MODULE"] = "mysite.settings"
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Subscript) and _const_str(target.slice) == _SETTINGS_ENV:
                return _const_str(node.value)
    return None


def _sets_settings_default(node: ast.AST) -> TypeGuard[ast.Call]:
    """Whether ``node`` is ``<mapping>.setdefault("DJANGO_SETTINGS_MODULE", value)``."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "setdefault"
        and len(node.args) == 2
        and _const_str(node.args[0]) == _SETTINGS_ENV
    )


def _const_str(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _wsgi_application(root: Path, module: str, file: Path, depth: int) -> str | None:
    tree = _parse(file)
    if tree is None:
        return None
    found: str | None = None
    for node in tree.body:
        for name, value in _assignments(node):
            if name == "WSGI_APPLICATION" and value is not None:
                found = _const_str(value) or found
        # settings/__init__.py doing `from .production import *` (the split-settings layout)
        if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
            source = _absolute(module, file, node)
            source_file = _module_file(root, source) if source else None
            if source and source_file is not None and depth < 5:
                found = _wsgi_application(root, source, source_file, depth + 1) or found
    return found


def _absolute(module: str, file: Path, node: ast.ImportFrom) -> str | None:
    if not node.level:
        return node.module
    package = module.split(".")
    if file.name != "__init__.py":
        package = package[:-1]
    if node.level > 1:
        package = package[: len(package) - (node.level - 1)]
    parts = [*package, *([node.module] if node.module else [])]
    return ".".join(parts) if parts else None


# --- Flask and plain WSGI ---------------------------------------------------------------


def _candidates(root: Path, django: _Candidate | None) -> list[_Candidate]:
    found: list[_Candidate] = [django] if django is not None else []
    seen: set[str] = set()
    for folder in _import_roots(root):
        files = [(name.removesuffix(".py"), folder / name) for name in ENTRY_FILES]
        files += [(pkg, folder / pkg / "__init__.py") for pkg in _packages(folder)]
        for module, file in files:
            if module in seen or not file.is_file():
                continue
            if folder != root and has_module(root, module):
                continue  # the root's module of that name is the one that imports
            seen.add(module)
            if not (django and module == django.module):
                found += _module_candidates(root, module, file)
    return _with_wsgi_file(root, found)


def _with_wsgi_file(root: Path, found: list[_Candidate]) -> list[_Candidate]:
    """A Django project whose settings name no WSGI_APPLICATION, beside a ``wsgi.py`` that
    sets those same settings (django-oscar's sandbox), has one app: that file's."""
    django = found[0] if found and found[0].settings_module else None
    if django is None or django.spec != django.settings_module:
        return found
    same = []
    for candidate in found[1:]:
        file = _module_file(root, candidate.module)
        tree = _parse(file) if file is not None else None
        if candidate.framework == "django" and tree is not None:
            if _settings_from(tree) == django.settings_module:
                same.append(candidate)
    if len(same) != 1:
        return found
    (wsgi,) = same
    merged = dataclasses.replace(
        wsgi,
        found_in=f"{django.found_in} -> {wsgi.found_in} (sets the same settings)",
        settings_module=django.settings_module,
    )
    return [merged, *(c for c in found[1:] if c is not wsgi)]


def _package_entry_candidates(root: Path) -> list[_Candidate]:
    """An app in an entry module of a top-level package (``look/app.py`` defining
    ``get_app()``, served as ``look.app:get_app()``). Asked only when nothing else names one:
    such a module is often a part that the package's own ``__init__.py`` or a top-level file
    puts together."""
    found: list[_Candidate] = []
    for folder in _import_roots(root):
        for pkg in _packages(folder):
            for name in ENTRY_FILES:
                file = folder / pkg / name
                if file.is_file():
                    module = f"{pkg}.{name.removesuffix('.py')}"
                    found += _module_candidates(root, module, file)
    return found


#: Top-level files that are never the app's module, whatever they hold.
_NOT_APP_FILES = frozenset({"manage.py", "setup.py", "conftest.py", "noxfile.py", "fabfile.py"})
#: Modules of a package that configure or test the app rather than serve it.
_NOT_APP_MODULES = frozenset(
    {"__init__", "settings", "config", "conf", "configuration", "conftest", "tests", "test"}
    | {"migrations", "setup", "manage"}
)


def _other_module_candidates(root: Path) -> list[_Candidate]:
    """An app object made at module level (``app = Flask(__name__)``) in a top-level file of
    any other name (``api.py``, ``server.py``, ``blog.py``), started as ``python api.py``, or
    in a module right inside a top-level package (``searx/webapp.py``, served as
    ``searx.webapp:app``). Asked last, and only for an object a framework call makes: a name
    alone (``app = ...``) in an arbitrary file is too weak a sign."""
    found: list[_Candidate] = []
    for folder in _import_roots(root):
        for file in sorted(folder.glob("*.py")):
            module = file.stem
            if (
                file.name in ENTRY_FILES
                or file.name in _NOT_APP_FILES
                or not _may_serve(module)
                or (folder != root and has_module(root, module))
            ):
                continue
            found += _made_app_candidates(root, module, file)
        for pkg in _packages(folder):
            if folder != root and has_module(root, pkg):
                continue
            # The package's __init__.py and entry files were asked before.
            for file in sorted((folder / pkg).glob("*.py")):
                if file.name in ENTRY_FILES or file.stem in _NOT_APP_MODULES:
                    continue
                if _may_serve(file.stem):
                    found += _made_app_candidates(root, f"{pkg}.{file.stem}", file)
    return found


def _may_serve(module: str) -> bool:
    """Whether a module of that name may be the one a server imports: not a test."""
    return (
        module.isidentifier()
        and not module.startswith("test")
        and not module.endswith(("_test", "_tests"))
    )


def _made_app_candidates(root: Path, module: str, file: Path) -> list[_Candidate]:
    """The candidates of ``module`` that name an object a framework call makes at its module
    level."""
    tree = _parse(file)
    if tree is None:
        return []
    made = {
        name
        for node in _top_level(tree.body)
        for name, value in _assignments(node)
        if value is not None and _is_app_call(value)
    }
    if not made:
        return []
    return [c for c in _module_candidates(root, module, file) if c.spec.split(":")[1] in made]


def _import_roots(root: Path) -> list[Path]:
    """Where top-level modules are imported from: the project, then src/ (a src layout)."""
    src = root / "src"
    if src.is_dir() and not (src / "__init__.py").is_file():
        return [root, src]
    return [root]


def _packages(root: Path) -> Iterator[str]:
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        if (
            entry.is_dir()
            and entry.name.isidentifier()
            and entry.name not in _NOT_PACKAGES
            and not entry.name.startswith(("test", "."))
            and os.path.isfile(os.path.join(entry.path, "__init__.py"))
        ):
            yield entry.name


def _module_candidates(root: Path, module: str, file: Path) -> list[_Candidate]:
    rel = file.relative_to(root).as_posix()
    tree = _parse(file)
    if tree is None:
        if file.parent == root:
            # An entry file that does not parse is almost surely the app; importing it
            # shows the user their SyntaxError.
            return [_Candidate(module, "wsgi", f"{rel} (does not parse)", module)]
        return []
    imports = _imports_through_project(root, module, file, tree)
    framework = _framework_of(tree)
    assigned: dict[str, ast.expr | None] = {}
    app_objects: list[str] = []
    made_by_factory: list[str] = []
    factories: list[str] = []
    needs_arguments: set[str] = set()
    called: set[str] = set()
    for node in _top_level(tree.body):
        for name, value in _assignments(node):
            assigned.setdefault(name, value)
            if value is not None and _is_app_call(value) and name not in app_objects:
                app_objects.append(name)
            elif value is not None and _is_factory_call(value) and name not in made_by_factory:
                made_by_factory.append(name)
        if isinstance(node, ast.FunctionDef) and node.name in _FACTORY_NAMES:
            factories.append(node.name)
            if not _callable_bare(node):
                # `create_app(image_store)`: another factory calls it with what it needs.
                needs_arguments.add(node.name)
        if isinstance(node, ast.FunctionDef) and not _takes_wsgi_call(node):
            called.add(node.name)

    queues = _task_queue_apps(root, module, file, tree)
    names = [n for n in _APP_NAMES if n in assigned and n not in queues]
    if names == ["app", "application"] and _is_alias(assigned["application"], "app"):
        names = ["app"]
    if not names:
        # `flaskbb = create_app(config="flaskbb.cfg")` in wsgi.py: the object an entry file
        # makes with the project's factory, under a name of its own.
        names = app_objects or made_by_factory
    # `def app(**options)` cannot be app(environ, start_response): it makes the app.
    specs = [f"{module}:{name}()" if name in called else f"{module}:{name}" for name in names]
    if not specs and factories:
        bare = [name for name in factories if name not in needs_arguments]
        specs = [f"{module}:{(bare or factories)[0]}()"]
    return [_Candidate(spec, framework, rel, module, imports) for spec in specs]


#: Task-queue apps, which the Celery docs and Django projects name ``app`` too.
_TASK_QUEUE_CLASSES = frozenset({"Celery", "Huey", "RedisHuey", "SqliteHuey", "Dramatiq"})


def _task_queue_apps(root: Path, module: str, file: Path, tree: ast.Module) -> set[str]:
    """The names ``module`` binds to a task queue's app rather than a WSGI app: made here
    (``app = Celery("proj")``) or imported from a module of the project that makes it
    (wger's ``from wger.celery_configuration import app``)."""
    found = _made_task_queues(tree)
    for node in _top_level(tree.body):
        if not isinstance(node, ast.ImportFrom):
            continue
        source = _absolute(module, file, node)
        source_file = _module_file(root, source) if source else None
        parsed = _parse(source_file) if source_file is not None else None
        if parsed is None:
            continue
        made = _made_task_queues(parsed)
        found |= {alias.asname or alias.name for alias in node.names if alias.name in made}
    return found


def _made_task_queues(tree: ast.Module) -> set[str]:
    made: set[str] = set()
    for node in _top_level(tree.body):
        for name, value in _assignments(node):
            if isinstance(value, ast.Call):
                func = value.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if called in _TASK_QUEUE_CLASSES:
                    made.add(name)
    return made


def _imports_through_project(
    root: Path, module: str, file: Path, tree: ast.Module
) -> frozenset[str]:
    """What ``module`` imports, and what the project's own modules it imports import in turn:
    ``wsgi.py`` -> ``app.py`` (``from core import *``) -> ``core``, so that the app made in
    ``core`` is a part of the entry ``wsgi.py``, not a second app."""
    found = set(_imported_modules(module, file, tree))
    queue = sorted(found)
    seen = {module}
    while queue and len(seen) < _MAX_IMPORTED_FILES:
        name = queue.pop()
        if name in seen:
            continue
        seen.add(name)
        source = _module_file(root, name)
        parsed = _parse(source) if source is not None else None
        if source is None or parsed is None:
            continue
        new = set(_imported_modules(name, source, parsed)) - found
        found |= new
        queue += sorted(new)
    return frozenset(found)


def _top_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    for node in body:
        if isinstance(node, ast.If):
            # The body of `if __name__ == "__main__":` never runs on import; its else does.
            if not _is_main_guard(node.test):
                yield from _top_level(node.body)
            yield from _top_level(node.orelse)
        elif isinstance(node, ast.Try):
            # Any branch may be the one that runs: `try: app = create_app() except ...: ...`
            yield from _top_level(node.body)
            for handler in node.handlers:
                yield from _top_level(handler.body)
            yield from _top_level(node.orelse)
            yield from _top_level(node.finalbody)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            # Pyramid: `with Configurator() as config: ...; app = config.make_wsgi_app()`
            yield from _top_level(node.body)
        else:
            yield node


def _is_main_guard(test: ast.expr) -> bool:
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and any(_const_str(c) == "__main__" for c in test.comparators)
    )


def _assignments(node: ast.AST) -> Iterator[tuple[str, ast.expr | None]]:
    """``(name, value)`` for each module-level name a statement binds."""
    if isinstance(node, ast.Assign):
        for target in node.targets:
            if isinstance(target, ast.Name):
                yield target.id, node.value
    elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        yield node.target.id, node.value
    elif isinstance(node, ast.FunctionDef):
        # `def application(environ, start_response)`: the PEP 3333 example itself.
        yield node.name, None
    elif isinstance(node, ast.ImportFrom):
        # `from app import app` may bind an application; `import app` binds a module.
        for alias in node.names:
            if alias.name != "*":
                yield alias.asname or alias.name, None


def _callable_bare(node: ast.FunctionDef) -> bool:
    """Whether ``node`` can be called with no arguments, as a factory spec ``f()`` does."""
    args = node.args
    positional = args.posonlyargs + args.args
    return len(args.defaults) >= len(positional) and None not in args.kw_defaults


def _takes_wsgi_call(node: ast.FunctionDef) -> bool:
    """Whether ``node`` can be called as ``app(environ, start_response)``."""
    args = node.args
    positional = len(args.posonlyargs) + len(args.args)
    required_keywords = sum(default is None for default in args.kw_defaults)
    return (positional >= 2 or args.vararg is not None) and not required_keywords


def _is_alias(value: ast.expr | None, name: str) -> bool:
    return isinstance(value, ast.Name) and value.id == name


def _is_app_call(value: ast.expr) -> bool:
    """Whether ``value`` makes a WSGI app whatever its name: ``Flask(...)``, ``Bottle()``,
    ``falcon.App()``, Pyramid's ``config.make_wsgi_app()``."""
    if not isinstance(value, ast.Call):
        return False
    func = value.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    if name in ("Flask", "Bottle", "make_wsgi_app"):
        return True
    owner = func.value if isinstance(func, ast.Attribute) else None
    return name in ("App", "API") and isinstance(owner, ast.Name) and owner.id == "falcon"


def _is_factory_call(value: ast.expr) -> bool:
    """Whether ``value`` calls an app factory by its usual names: ``create_app(...)``,
    ``factory.make_app()``."""
    if not isinstance(value, ast.Call):
        return False
    func = value.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return name in _FACTORY_NAMES


def _framework_of(tree: ast.Module) -> str:
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module]
        for name in names:
            top = name.split(".")[0]
            if top in ("flask", "django"):
                return top
    return "wsgi"


def _imported_modules(module: str, file: Path, tree: ast.Module) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(module, file, node)
            if source:
                yield source
                # `from . import app` may name a submodule as well as an attribute.
                yield from (f"{source}.{alias.name}" for alias in node.names)


def _procfile_candidates(root: Path, requirements: Sequence[str]) -> list[_Candidate]:
    """The app that the ``web:`` line of a Procfile serves (``gunicorn httpbin:app``,
    ``waitress-serve --call pypiserver:app``), when its module is in the project or a
    requirement installs it. Asked only when the project's files name no app."""
    from fcmigrate.build.origins import read_procfile

    procfile = root / "Procfile"
    if not procfile.is_file():
        return []
    try:
        spec = read_procfile(procfile).app
    except FCMigrateError:
        return []
    if spec is None:
        return []
    try:
        module = parse_spec(spec).module
    except AppLoadError:
        return []
    module_file = _module_file(root, module)
    if module_file is not None:
        tree = _parse(module_file)
        framework = _framework_of(tree) if tree is not None else "wsgi"
        return [_Candidate(spec, framework, "Procfile", module)]
    source = requirement_providing(module, requirements)
    if source is not None:
        found_in = f"Procfile, installed from the requirement {source!r}"
        return [_Candidate(spec, "wsgi", found_in, module)]
    return []


def _entries(candidates: list[_Candidate]) -> list[_Candidate]:
    # The module that imports another candidate is the entry point (wsgi.py importing the
    # app package); the imported one is part of it, not a second app.
    entry = [
        c for c in candidates if not any(c is not o and c.module in o.imports for o in candidates)
    ]
    if not entry:
        entry = candidates  # they import each other: no way to tell which is the entry
    return [_inherit(c, candidates) for c in entry]


def _flaskenv_candidate(root: Path) -> _Candidate | None:
    """The app that ``FLASK_APP`` in the project's ``.flaskenv`` names, in the forms
    ``flask run`` accepts (``microblog.py``, ``app:create_app('prod')``, ``pkg.module``),
    when that module is in the project."""
    from dotenv import dotenv_values

    file = root / ".flaskenv"
    if not file.is_file():
        return None
    value = (dotenv_values(file, encoding="utf-8").get("FLASK_APP") or "").strip()
    path, colon, rest = value.partition(":")
    if path.endswith(".py"):
        path = path[: -len(".py")].replace("/", ".")
    try:
        spec = parse_spec(f"{path}{colon}{rest}")
    except AppLoadError:
        return None
    module_file = _module_file(root, spec.module)
    tree = _parse(module_file) if module_file is not None else None
    if module_file is None or tree is None:
        return None
    found_in = f".flaskenv (FLASK_APP={value})"
    if spec.name is None:
        # `flask run` finds the app in the module as the loader does; name it if we can.
        found = _module_candidates(root, spec.module, module_file)
        if len(found) == 1:
            return dataclasses.replace(found[0], found_in=found_in)
    return _Candidate(str(spec), _framework_of(tree), found_in, spec.module)


def _choose(root: Path, candidates: list[_Candidate]) -> _Candidate:
    entry = _entries(candidates)
    if len(entry) == 1:
        return entry[0]
    if not entry:
        files = ", ".join(ENTRY_FILES)
        below = _manage_py_below(root)
        server = "" if below else _server_at_import_hint(root)
        hint = (
            f" A Django project's manage.py is in {below!r}: give that folder as the project."
            if below
            else _paste_deploy_hint(root) or server
        )
        raise FCMigrateError(
            f"No WSGI app found in {str(root)!r}. Looked for manage.py (Django), for "
            f"{files} or a package's __init__.py defining 'app', 'application', a Flask(...) "
            "object or create_app(), for a Flask(...) object in any other top-level module "
            "or module of a top-level package, and for the app of a Procfile's web command."
            + hint
            + (
                ""
                if hint and hint == server
                else " Name the app with --app, e.g. --app 'app:app' "
                "or --app 'mysite.wsgi:application'."
            )
        )
    listing = "; ".join(f"{c.spec!r} ({c.found_in}, {c.framework})" for c in entry)
    raise FCMigrateError(
        f"Found {len(entry)} candidate apps in {str(root)!r}: {listing}. "
        f"Choose one with --app, e.g. --app {entry[0].spec!r}."
    )


def _server_at_import_hint(root: Path) -> str:
    """What to do when a script serves the app itself at import (``run(...)`` at module
    level, started as ``python app.py``) and names no app a WSGI server could import."""
    scripts = [root / name for name in ENTRY_FILES]
    command = _procfile_script(root)
    if command is not None:
        scripts.insert(0, root / command[1])
    for script in scripts:
        tree = _parse(script) if script.is_file() else None
        if tree is None:
            continue
        for node in _top_level(tree.body):
            if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)):
                continue
            func = node.value.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name not in ("run", "serve", "run_simple", "serve_forever"):
                continue
            rel = script.relative_to(root).as_posix()
            started = (
                f", which the Procfile's web command {command[0]!r} runs,"
                if command and command[1] == rel
                else ""
            )
            return (
                f" {rel!r}{started} starts its own server when it is imported "
                f"({ast.unparse(func)}() at line {node.lineno}) and names no app that a WSGI "
                "server could import: put that call under 'if __name__ == \"__main__\":' and "
                "name the app at module level (Bottle's default app: 'app = "
                "bottle.default_app()'), then run again."
            )
    return ""


def _procfile_script(root: Path) -> tuple[str, str] | None:
    """``(command, script)`` when the Procfile's web command is ``python script.py``."""
    try:
        lines = read_text(root / "Procfile").splitlines() if (root / "Procfile").is_file() else []
    except OSError:
        return None
    for line in lines:
        match = re.match(r"^web\s*:\s*(.*)$", line.strip())
        words = match.group(1).split() if match else []
        while words and re.fullmatch(r"[A-Za-z_]\w*=\S*", words[0]):
            words = words[1:]
        if (
            len(words) >= 2
            and re.fullmatch(r"python[0-9.]*", words[0])
            and words[1].endswith(".py")
        ):
            return " ".join(words), words[1]
    return None


def _paste_deploy_hint(root: Path) -> str:
    """What to do when the app is made by a PasteDeploy ``.ini`` (Pyramid's projects)."""
    for name in ("production.ini", "development.ini"):
        text = read_text(root / name) if (root / name).is_file() else ""
        match = re.search(r"^\[app:main\][^\[]*?^use\s*=\s*(\S+)", text, re.M | re.S)
        if match:
            return (
                f" {name!r} makes the app with PasteDeploy ([app:main] use = {match.group(1)}), "
                "which fcmigrate does not read: add a wsgi.py that does, e.g. 'from "
                f"pyramid.paster import get_app; app = get_app({name!r})', and list the "
                "project itself ('.') in requirements.txt so that its entry point is installed."
            )
    return ""


def _manage_py_below(root: Path) -> str | None:
    """The one folder right below ``root`` holding a manage.py (``backend/``), if one does."""
    try:
        folders = [e.name for e in os.scandir(root) if e.is_dir() and not e.name.startswith(".")]
    except OSError:
        return None
    found = sorted(name for name in folders if (root / name / "manage.py").is_file())
    if len(found) != 1:
        return None
    try:
        # Only a manage.py whose settings are found from its own folder makes that the project.
        if _django_candidate(root / found[0]) is None:
            return None  # not Django's manage.py
    except FCMigrateError:
        return None
    return found[0] + "/"


def _django_below(root: Path, requirements: Sequence[str]) -> list[_Candidate]:
    """The Django project one folder down (``forum/manage.py``) when the dependencies are
    listed at the root and not beside it: the repository is the project, and the folder is
    where its code is imported from (a folder spec, as ``--app forum`` gives it). A folder
    with its own requirements is a project of its own: :func:`_choose` names it instead."""
    below = _manage_py_below(root)
    if below is None or not requirements:
        return []
    if read_requirements(root / below)[0]:
        return []
    folder = below.rstrip("/")
    found_in = f"{below}manage.py, with the dependencies at the project's root"
    try:
        inner = _django_candidate(root / folder)
    except FCMigrateError:
        inner = None  # the import check names what is wrong with its manage.py
    settings = inner.settings_module if inner is not None else None
    return [_Candidate(folder, "django", found_in, folder, settings_module=settings)]


def _inherit(entry: _Candidate, candidates: list[_Candidate]) -> _Candidate:
    for other in candidates:
        if other is not entry and other.module in entry.imports:
            framework = entry.framework if entry.framework != "wsgi" else other.framework
            return dataclasses.replace(
                entry,
                framework=framework,
                settings_module=entry.settings_module or other.settings_module,
            )
    return entry


def _explicit(
    root: Path, app: str, django: _Candidate | None, requirements: Sequence[str]
) -> _Candidate:
    text = app.strip()
    folder = (root / text).resolve() if text else root
    if text and folder.is_dir() and ((folder / "manage.py").is_file() or "/" in text):
        # A Django project folder spec, as `fcmigrate serve` accepts it.
        settings = django.settings_module if django and folder == root else None
        return _Candidate(text, "django", "--app", text, settings_module=settings)
    parsed = parse_spec(text)
    settings = django.settings_module if django else None
    if django is not None and parsed.module in (django.module, django.settings_module):
        return _Candidate(text, "django", "--app", parsed.module, settings_module=settings)
    file = _module_file(root, parsed.module)
    tree = _parse(file) if file is not None else None
    framework = _framework_of(tree) if tree is not None else "wsgi"
    if framework == "django" or (tree is not None and _sets_django_settings(tree)):
        return _Candidate(text, "django", "--app", parsed.module, settings_module=settings)
    source = requirement_providing(parsed.module, requirements) if file is None else None
    found_in = "--app" if source is None else f"--app, installed from the requirement {source!r}"
    return _Candidate(text, framework, found_in, parsed.module)


def _sets_django_settings(tree: ast.Module) -> bool:
    names = {name for node in tree.body for name, _ in _assignments(node)}
    return bool(names & {"INSTALLED_APPS", "ROOT_URLCONF"})
