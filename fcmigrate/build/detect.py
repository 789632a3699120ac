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
    ``make_wsgi_app()`` object, or a ``create_app`` / ``make_app`` factory, at module level
    (also inside ``with``, ``if`` and ``try`` blocks, not under ``if __name__ == "__main__"``).
    A module that imports its app from another candidate (``wsgi.py`` doing
    ``from myapp import create_app``) is the entry point, and the one it imports is dropped.
    When none is found, a ``Procfile``'s ``web:`` command may name the app.
Dependencies
    ``requirements.txt`` (with its ``-r`` includes), ``uv.lock``, ``Pipfile.lock``, or
    ``pyproject.toml`` (PEP 621 or Poetry): :mod:`fcmigrate.build.requirements`.
Python version
    ``.python-version`` (``3.10`` or ``3.10.13``), else the lowest of 3.10-3.13 that
    ``requires-python`` in ``pyproject.toml`` allows.

One candidate is the answer; two or more raise :class:`~fcmigrate.errors.FCMigrateError`
listing them and showing ``--app``; none raises one that says what was looked for. With
``app`` given, that spec is used as it is and only the framework is guessed; an app that is
not in the project but installed by a requirement (``httpbin:app``) says so in ``found_in``.

:func:`confirm_import` then imports the app in a **subprocess** (the project's imports may
fail, hang or have side effects), with the folder it runs in read-only as ``/code`` is on FC
(:mod:`fcmigrate.build.readonly`), reports the framework of the object it got, and on an
exception inside the user's code prints the user's traceback and raises
:class:`AppImportError`. ``detect_app(path, check=True)`` does both.

The API is stable: ``detect_app(path, app=None) -> Detected`` is what ``migrate``,
``wrap`` and ``dockerize`` call when APP is omitted.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import os
import re
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fcmigrate.errors import AppImportError, AppLoadError, FCMigrateError
from fcmigrate.runtime.import_errors import import_failed as _import_failed
from fcmigrate.runtime.import_errors import import_failure as import_failure
from fcmigrate.runtime.import_errors import missing_variable, user_traceback
from fcmigrate.runtime.loader import has_module, parse_spec
from fcmigrate.build.readonly import tree_state

__all__ = [
    "ENTRY_FILES",
    "SUPPORTED_PYTHONS",
    "AppImportError",
    "Detected",
    "confirm_import",
    "detect_app",
    "lowest_allowed",
    "read_python_version",
    "read_requirements",
    "requirement_providing",
]

#: Top-level files that may hold a Flask or plain WSGI app, in the order they are reported.
#: index.py is what Function Compute's own Flask templates use.
ENTRY_FILES = ("app.py", "wsgi.py", "main.py", "application.py", "index.py")
_APP_NAMES = ("app", "application")
_FACTORY_NAMES = ("create_app", "make_app")
#: Folders never searched for packages (they hold no app, or someone else's code).
_NOT_PACKAGES = frozenset(
    {"tests", "test", "docs", "node_modules", "python", "migrations", "build", "dist"}
)
_SETTINGS_ENV = "DJANGO_SETTINGS_MODULE"
_PYTHON_VERSION_LINE = re.compile(r"(?:cpython-|python)?(\d+)\.(\d+)(?:\.\d+)?\S*")
_SPECIFIER = re.compile(r"\s*(===|~=|==|!=|<=|>=|<|>)\s*([0-9][0-9a-zA-Z.*+!-]*)\s*")
#: Python versions fcmigrate can build for; requires-python picks the lowest it allows.
SUPPORTED_PYTHONS = ("3.10", "3.11", "3.12", "3.13")
IMPORT_TIMEOUT = 120.0


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
) -> Detected:
    """Detect the app, dependencies and Python version of the project at ``path``.

    ``app`` (a loader spec) skips the search for the app. ``check=True`` also imports the
    app in a subprocess with :func:`confirm_import` (``python`` and ``pythonpath`` are
    passed on to it). Raises :class:`FCMigrateError` for a folder that cannot be read,
    no app, or several apps.
    """
    root = _project_root(path)
    requirements, requirements_file = read_requirements(root)
    version, version_source = read_python_version(root)
    if app is None:
        candidates = _candidates(root, _django_candidate(root))
        chosen = _choose(root, candidates or _procfile_candidates(root, requirements))
    else:
        try:
            django = _django_candidate(root)
        except FCMigrateError:
            # Its advice is "name the app with --app", which the user has just done.
            django = None
        chosen = _explicit(root, app, django, requirements)
    detected = Detected(
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


def _read_text(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise FCMigrateError(
            f"Cannot read {str(file)!r}: {exc.strerror or exc}. "
            f"Make it readable (chmod u+r {str(file)!r})."
        ) from None


def _parse(file: Path) -> ast.Module | None:
    try:
        return ast.parse(_read_text(file), filename=str(file))
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


# --- requirements and Python version ---------------------------------------------------


def read_requirements(root: Path) -> tuple[list[str], Path | None]:
    """Requirement strings, and the requirements file they came from (``None``: another list).

    See :mod:`fcmigrate.build.requirements` for the lists read, in order.
    """
    from fcmigrate.build.requirements import read_requirements as read

    return read(root)


def _pyproject(root: Path) -> dict[str, Any]:
    from fcmigrate.build.requirements import read_toml

    return read_toml(root / "pyproject.toml")


def read_python_version(root: Path) -> tuple[str | None, str | None]:
    """``('X.Y', where it came from)`` from ``.python-version`` or ``requires-python``."""
    file = root / ".python-version"
    if file.is_file():
        for raw in _read_text(file).splitlines():
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            match = _PYTHON_VERSION_LINE.fullmatch(line)
            if match:
                return f"{match.group(1)}.{match.group(2)}", ".python-version"
            break
    pyproject = _pyproject(root)
    project = pyproject.get("project")
    requires = project.get("requires-python") if isinstance(project, dict) else None
    if isinstance(requires, str) and requires.strip():
        version = lowest_allowed(requires)
        if version is not None:
            return version, f"requires-python {requires.strip()!r} in pyproject.toml"
    tool = pyproject.get("tool")
    poetry = tool.get("poetry") if isinstance(tool, dict) else None
    dependencies = poetry.get("dependencies") if isinstance(poetry, dict) else None
    python = dependencies.get("python") if isinstance(dependencies, dict) else None
    if isinstance(python, str) and python.strip():
        from fcmigrate.build.requirements import poetry_constraint

        version = lowest_allowed(poetry_constraint(python))
        if version is not None:
            return version, f"python {python.strip()!r} in pyproject.toml [tool.poetry]"
    return _runtime_txt(root)


def _runtime_txt(root: Path) -> tuple[str | None, str | None]:
    """Heroku's ``runtime.txt`` (``python-3.12.4``), when it names a Python fcmigrate builds
    for: an older one there is where the app ran, not what it needs."""
    file = root / "runtime.txt"
    if file.is_file():
        match = re.fullmatch(r"\s*python-(3)\.(\d+)(?:\.\d+)?\s*", _read_text(file))
        if match and f"3.{match.group(2)}" in SUPPORTED_PYTHONS:
            return f"3.{match.group(2)}", "runtime.txt"
    return None, None


def lowest_allowed(requires_python: str) -> str | None:
    """The lowest of :data:`SUPPORTED_PYTHONS` the specifier allows.

    When it allows none of them, the allowed version nearest to them (the highest below,
    else the lowest above), so that an error can name it; ``None`` if it allows no 3.x.
    """

    def allowed(minor: int) -> bool:
        # A minor version is allowed when some patch release of it is.
        return any(_allows(requires_python, (3, minor, patch)) for patch in range(100))

    supported = [int(v.split(".")[1]) for v in SUPPORTED_PYTHONS]
    for minor in [*supported, *range(supported[0] - 1, -1, -1), *range(supported[-1] + 1, 40)]:
        if allowed(minor):
            return f"3.{minor}"
    return None


def _allows(specifier: str, version: tuple[int, int, int]) -> bool:
    for clause in filter(None, (c.strip() for c in specifier.split(","))):
        match = _SPECIFIER.fullmatch(clause)
        if match is None:
            return True  # not ours to judge; pip will
        op, text = match.groups()
        wildcard = text.endswith(".*")
        parts = tuple(int(p) for p in re.findall(r"\d+", text.removesuffix(".*"))[:3])
        if not _compare(op, version, parts, wildcard):
            return False
    return True


def _compare(op: str, version: tuple[int, ...], parts: tuple[int, ...], wildcard: bool) -> bool:
    if wildcard or op == "~=":
        prefix = parts if wildcard else parts[:-1]
        same = version[: len(prefix)] == prefix
        if op == "!=":
            return not same
        if op == "~=":
            return same and version >= parts + (0,) * (3 - len(parts))
        return same
    padded = parts + (0,) * (3 - len(parts))
    return {
        "==": version == padded,
        "===": version == padded,
        "!=": version != padded,
        ">=": version >= padded,
        "<=": version <= padded,
        ">": version > padded,
        "<": version < padded,
    }[op]


# --- Django -----------------------------------------------------------------------------


def _django_candidate(root: Path) -> _Candidate | None:
    manage = root / "manage.py"
    if not manage.is_file():
        return None
    tree = _parse(manage)
    if tree is not None and not _is_django_manage(tree):
        return None  # another framework's command line (flask.cli, click): not a Django project
    settings = _settings_from(tree) if tree is not None else None
    if settings is None:
        return _django_settings_elsewhere(root, manage)
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


def _django_settings_elsewhere(root: Path, manage: Path) -> _Candidate:
    """The app of a Django project whose manage.py leaves DJANGO_SETTINGS_MODULE to the
    environment: the variable if it is set, else the settings module that a ``wsgi.py``
    sets, else the one settings module of the project (see :func:`_pick_settings`)."""
    variable = os.environ.get(_SETTINGS_ENV, "").strip()
    if variable:
        if _module_file(root, variable) is None:
            raise FCMigrateError(
                f"DJANGO_SETTINGS_MODULE is {variable!r} in the environment, but there is no "
                f"{variable.replace('.', '/')}.py in {str(root)!r}. Set it to the project's "
                "settings module, e.g. DJANGO_SETTINGS_MODULE=mysite.settings."
            )
        found_in = f"manage.py (DJANGO_SETTINGS_MODULE from the environment) -> {variable}"
        return _django_app_of(root, variable, found_in)
    pinned = _settings_set_by_wsgi(root)
    if len(pinned) == 1:
        (settings, wsgi_file), *_ = pinned.items()
        found_in = f"manage.py (no DJANGO_SETTINGS_MODULE) -> {wsgi_file} -> {settings}"
        return _django_app_of(root, settings, found_in)
    found = sorted(pinned) or _settings_modules(root)
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
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "setdefault"
            and len(node.args) == 2
            and _const_str(node.args[0]) == _SETTINGS_ENV
        ):
            return _const_str(node.args[1])
        # os.environ["DJANGO_SETTINGS_MODULE"] = "mysite.settings"
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Subscript) and _const_str(target.slice) == _SETTINGS_ENV:
                return _const_str(node.value)
    return None


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
    return found


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
    imports = frozenset(_imported_modules(module, file, tree))
    framework = _framework_of(tree)
    assigned: dict[str, ast.expr | None] = {}
    app_objects: list[str] = []
    factories: list[str] = []
    for node in _top_level(tree.body):
        for name, value in _assignments(node):
            assigned.setdefault(name, value)
            if value is not None and _is_app_call(value) and name not in app_objects:
                app_objects.append(name)
        if isinstance(node, ast.FunctionDef) and node.name in _FACTORY_NAMES:
            factories.append(node.name)

    names = [n for n in _APP_NAMES if n in assigned]
    if names == ["app", "application"] and _is_alias(assigned["application"], "app"):
        names = ["app"]
    if not names:
        names = app_objects
    specs = [f"{module}:{name}" for name in names]
    if not specs and factories:
        specs = [f"{module}:{factories[0]}()"]
    return [_Candidate(spec, framework, rel, module, imports) for spec in specs]


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


def _choose(root: Path, candidates: list[_Candidate]) -> _Candidate:
    # The module that imports another candidate is the entry point (wsgi.py importing the
    # app package); the imported one is part of it, not a second app.
    entry = [
        c for c in candidates if not any(c is not o and c.module in o.imports for o in candidates)
    ]
    if not entry:
        entry = candidates  # they import each other: no way to tell which is the entry
    entry = [_inherit(c, candidates) for c in entry]
    if len(entry) == 1:
        return entry[0]
    if not entry:
        files = ", ".join(ENTRY_FILES)
        below = _manage_py_below(root)
        hint = (
            f" A Django project's manage.py is in {below!r}: give that folder as the project."
            if below
            else ""
        )
        raise FCMigrateError(
            f"No WSGI app found in {str(root)!r}. Looked for manage.py (Django), for "
            f"{files} or a package's __init__.py defining 'app', 'application', a Flask(...) "
            "object or create_app(), and for the app of a Procfile's web command."
            + hint
            + " Name the app with --app, e.g. --app 'app:app' "
            "or --app 'mysite.wsgi:application'."
        )
    listing = "; ".join(f"{c.spec!r} ({c.found_in}, {c.framework})" for c in entry)
    raise FCMigrateError(
        f"Found {len(entry)} candidate apps in {str(root)!r}: {listing}. "
        f"Choose one with --app, e.g. --app {entry[0].spec!r}."
    )


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


def requirement_providing(module: str, requirements: Sequence[str]) -> str | None:
    """The name of the requirement that installs ``module``'s top-level package, if one does.

    An app may be an installed package rather than a module of the project (``httpbin:app``
    with ``httpbin`` in requirements.txt). A requirement provides the module when its
    distribution name is the module's name (compared as PEP 503 names, so ``Flask-Cors``
    provides ``flask_cors``), or when that distribution is installed here and its metadata
    says it provides the module (``PyYAML`` provides ``yaml``). Nothing is imported.
    """
    # Imported here: the import check runs this module with only a build's python/ folder.
    from importlib import metadata

    from packaging.utils import canonicalize_name

    top = module.partition(".")[0]
    wanted = {canonicalize_name(top)}
    wanted.update(canonicalize_name(d) for d in metadata.packages_distributions().get(top, []))
    for line in requirements:
        name = _requirement_name(line)
        if name is not None and canonicalize_name(name) in wanted:
            return name
    return None


def _requirement_name(line: str) -> str | None:
    """The distribution a requirement line installs: ``name[extra]>=1``, ``name @ URL``, a
    VCS URL with ``#egg=name``, or a path or URL of a wheel or source archive."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import (
        InvalidSdistFilename,
        InvalidWheelFilename,
        parse_sdist_filename,
        parse_wheel_filename,
    )

    try:
        return Requirement(line).name
    except InvalidRequirement:
        pass
    egg = re.search(r"[#&]egg=([A-Za-z0-9][A-Za-z0-9._-]*)", line)
    if egg:
        return egg.group(1)
    file = line.split(";")[0].strip().rstrip("/").rpartition("/")[2]
    try:
        return str(parse_wheel_filename(file)[0])
    except InvalidWheelFilename:
        pass
    try:
        return str(parse_sdist_filename(file)[0])
    except InvalidSdistFilename:
        return None


def _sets_django_settings(tree: ast.Module) -> bool:
    names = {name for node in tree.body for name, _ in _assignments(node)}
    return bool(names & {"INSTALLED_APPS", "ROOT_URLCONF"})


# --- importing in a subprocess ----------------------------------------------------------


def confirm_import(
    detected: Detected,
    *,
    python: str | None = None,
    pythonpath: Sequence[str | Path] = (),
    isolated: bool = False,
    timeout: float = IMPORT_TIMEOUT,
    code_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
    hooks: Sequence[str] = (),
) -> Detected:
    """Import ``detected.spec`` in a subprocess; return ``detected`` with the real framework.

    ``python`` (default: this interpreter) runs ``python -m fcmigrate.build.detect``, so fcmigrate
    must be importable there: from its environment, or from ``pythonpath``. ``isolated``
    starts it with ``-s -S``: no site-packages, only ``pythonpath`` and the standard library,
    the way a bare interpreter on FC sees a vendored build. ``code_dir`` (default: the
    project) is the folder the import runs in, as FC runs ``/code``; ``env`` replaces this
    process's environment; ``hooks`` (``'module:function'``) are imported after the app.

    The code folder is read-only there, as on FC (:mod:`fcmigrate.build.readonly`): a write under
    it raises ``OSError`` in the child, and if the import then fails, the one-line error
    names the file. No bytecode is written. A spec mistake raises
    :class:`~fcmigrate.errors.AppLoadError`; an exception in the user's code is printed
    (their traceback) and raises :class:`AppImportError`.
    """
    root = detected.root
    folder = root if code_dir is None else Path(code_dir)
    env = dict(os.environ if env is None else env)
    env.pop("PYTHONHOME", None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    paths = [str(Path(p)) for p in pythonpath]
    if isolated:
        env["PYTHONPATH"] = os.pathsep.join(paths)
    elif paths:
        env["PYTHONPATH"] = os.pathsep.join([*paths, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    flags = ["-B", "-s", "-S"] if isolated else ["-B"]
    with tempfile.TemporaryDirectory(prefix="fcmigrate-probe-") as tmp:
        result_file = Path(tmp) / "result.json"
        argv = [python or sys.executable, *flags, "-m", "fcmigrate.build.detect"]
        argv += ["--probe", str(folder), detected.spec, str(result_file), *hooks]
        # A write the audit hook cannot see (a subprocess, a C library) still shows here.
        before = tree_state(folder) if code_dir is not None else {}
        try:
            proc = subprocess.run(
                argv,
                cwd=folder,
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise FCMigrateError(
                f"Importing {detected.spec!r} did not finish within {timeout:.0f} s. "
                "Move slow work (database connections, downloads) out of import time."
            ) from None
        except OSError as exc:
            raise FCMigrateError(
                f"Cannot run {argv[0]!r} to import the app: {exc.strerror or exc}."
            ) from None
        result = read_result(result_file)
        changed = changed_path(before, tree_state(folder)) if code_dir is not None else None
    denied = result.get("read_only")
    if isinstance(denied, dict):
        raise AppImportError(read_only_error(str(result.get("spec") or detected.spec), denied))
    if changed is not None:
        raise AppImportError(read_only_error(detected.spec, {"path": changed}))
    if proc.returncode == 0 and "framework" in result:
        return dataclasses.replace(
            detected,
            framework=str(result["framework"]),
            settings_module=result.get("settings") or detected.settings_module,
            confirmed=True,
        )
    if "error" in result:
        raise AppLoadError(str(result["error"]))
    stderr = proc.stderr.decode("utf-8", "replace")
    if "No module named 'fcmigrate'" in stderr and "fcmigrate.build.detect" in stderr:
        raise FCMigrateError(
            f"{argv[0]!r} cannot import fcmigrate, so it cannot check the app. "
            "Install fcmigrate for that interpreter, or pass it on pythonpath."
        )
    if folder != root:
        stderr = _shown_in(stderr, folder, root)
    sys.stderr.write(stderr if stderr.endswith("\n") or not stderr else stderr + "\n")
    sys.stderr.flush()
    variable = result.get("missing_env")
    if not (isinstance(variable, str) and variable.isidentifier()):
        variable = None
    spec = str(result.get("spec") or detected.spec)
    package = result.get("failed_in")
    if variable is None and isinstance(package, str) and package.isidentifier():
        version = result.get("python")
        shown_version = version if isinstance(version, str) else None
        raise AppImportError(_package_failed(spec, package, folder, shown_version))
    raise AppImportError(_import_failed(spec, variable))


def _package_failed(spec: str, package: str, folder: Path, version: str | None) -> str:
    """The import failed inside a vendored package, not in the project's code."""
    target = f"Python {version}" if version else "the target Python"
    dist = _distribution_of(folder / "python", package)
    shown = f"{dist[0]} {dist[1]}" if dist else package
    name = dist[0] if dist else package
    return (
        f"Importing {spec!r} failed inside the installed package {shown!r}, not in your code "
        f"(traceback above): that release may not run on {target}. Pin a newer release of "
        f"{name} in your requirements (one that supports {target}), and run again."
    )


def _distribution_of(site: Path, package: str) -> tuple[str, str] | None:
    """(name, version) of the distribution in ``site`` that installs top-level ``package``."""
    for record in site.glob("*.dist-info/RECORD"):
        text = record.read_text(encoding="utf-8", errors="replace")
        if re.search(rf"^{re.escape(package)}(/|\.py,)", text, re.MULTILINE):
            name, _, rest = record.parent.name.removesuffix(".dist-info").partition("-")
            return name, rest
    return None


def _shown_in(text: str, folder: Path, root: Path) -> str:
    """``text`` with paths of the project's own files in ``folder`` shown in ``root``."""
    pattern = re.escape(str(folder) + os.sep) + r"(?!python" + re.escape(os.sep) + ")"
    return re.sub(pattern, lambda _: str(root) + os.sep, text)


def changed_path(
    before: Mapping[str, tuple[int, int, int]], after: Mapping[str, tuple[int, int, int]]
) -> str | None:
    """The first path (sorted) added, removed or changed between two :func:`tree_state`."""
    changed = sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))
    return changed[0] if changed else None


#: How the one-line error says what an audit event did to a path.
_WRITE_VERBS = {
    "open": "writes",
    "os.mkdir": "creates the folder",
    "sqlite3.connect": "creates the SQLite database",
    "sqlite3.write": "writes to the SQLite database",
    "os.remove": "removes",
    "os.rmdir": "removes",
    "shutil.rmtree": "removes",
    "os.rename": "moves",
    "os.replace": "moves",
    "shutil.move": "moves",
}


def read_only_error(spec: str, denied: Mapping[str, Any]) -> str:
    """The one line for an import that wrote under the code folder."""
    verb = _WRITE_VERBS.get(str(denied.get("event")), "writes to")
    where = f" ({denied['file']} line {denied['line']})" if denied.get("file") else ""
    return (
        f"Importing {spec!r} {verb} {denied['path']!r}{where}, but the code folder is "
        "read-only on FC (only /tmp is writable). Write it under /tmp (tempfile.gettempdir()), "
        "take its path from an environment variable, or keep data that must last on NAS or OSS."
    )


def read_result(file: Path) -> dict[str, Any]:
    """The JSON object a child process left in ``file``; ``{}`` if it left none or no object."""
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _framework_of_object(obj: Any) -> str:
    names = {f"{cls.__module__}.{cls.__qualname__}" for cls in type(obj).__mro__}
    if "flask.app.Flask" in names:
        return "flask"
    if "django.core.handlers.wsgi.WSGIHandler" in names:
        return "django"
    return "wsgi"


def _probe(root: str, spec: str, result_file: str, *hooks: str) -> int:
    """Child side of :func:`confirm_import`: with ``root`` read-only, import the app and
    the hooks, write what the app is (or what went wrong) to ``result_file``."""
    from fcmigrate.runtime.loader import import_string, load_app
    from fcmigrate.build.readonly import guard

    if root not in sys.path:
        sys.path.insert(0, root)
    record = guard(root)
    denied = record.denied
    result: dict[str, Any] = {}
    current, step_start = spec, 0

    def save(code: int) -> int:
        # Only a refused write of the step that failed: one it survived fails on FC neither.
        if code and len(denied) > step_start:
            result["read_only"] = dataclasses.asdict(denied[step_start])
        result["spec"] = current
        Path(result_file).write_text(json.dumps(result), encoding="utf-8")
        return code

    try:
        app = load_app(spec, cwd=root)
        for current in hooks:
            step_start = len(denied)
            if not callable(import_string(current, cwd=root)):
                raise AppLoadError(f"Hook {current!r} is not callable. Name a function.")
        conf = os.path.join(root, "gunicorn.conf.py")
        if os.path.isfile(conf):
            # `serve` runs the project's gunicorn.conf.py at every start, as gunicorn does.
            import runpy

            current, step_start = "gunicorn.conf.py", len(denied)
            runpy.run_path(conf)
    except AppLoadError as exc:
        result["error"] = str(exc)
        return save(3)
    except (Exception, SystemExit) as exc:
        record.blame(exc)
        sys.stderr.write(user_traceback(exc))
        variable = missing_variable(exc)
        if variable is not None:
            result["missing_env"] = variable
        frames = traceback.extract_tb(exc.__traceback__)
        result["python"] = f"{sys.version_info[0]}.{sys.version_info[1]}"
        vendored = os.path.join(root, "python") + os.sep
        if frames and frames[-1].filename.startswith(vendored):
            top = frames[-1].filename[len(vendored) :].split(os.sep)[0]
            result["failed_in"] = top.removesuffix(".py")
        return save(1)
    result["framework"] = _framework_of_object(app)
    result["settings"] = os.environ.get(_SETTINGS_ENV)
    return save(0)


if __name__ == "__main__" and sys.argv[1:2] == ["--probe"]:
    sys.exit(_probe(*sys.argv[2:]))
