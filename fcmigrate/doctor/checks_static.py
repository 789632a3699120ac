"""Settings read from the source when they cannot be imported here.

When the Django settings or the Flask app fail to import (a dependency not installed on
this machine, a variable only FC sets), what the source states is still checked: ``DEBUG``
that is on (written, or the default of an environment variable the deploy config does not
set), a ``SECRET_KEY`` written in the code or as such a default, and SQLite files in the
code folder. The Django settings module is the one ``manage.py`` / ``wsgi.py`` name; a
Flask app's config is wherever the source sets ``SECRET_KEY``, ``DATABASE`` or
``SQLALCHEMY_DATABASE_URI`` (``app.config[...]``, a config class, a file for
``from_pyfile``). A secret is never shown, only masked.
"""

from __future__ import annotations

import ast
import posixpath
import re
from collections.abc import Iterator, Mapping

from fcmigrate.doctor import pysource
from fcmigrate.doctor.checks_django import (
    DEBUG,
    INSECURE_SECRET_KEY,
    SECRET_KEY_FALLBACK,
    Place,
    sqlite_finding,
)
from fcmigrate.doctor.checks_flask import config_assignments
from fcmigrate.doctor.envread import EnvRead, Evaluator, env_read, mask
from fcmigrate.doctor.model import Finding, check
from fcmigrate.doctor.project import Project

_DJANGO_KEY_FIX = 'SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]   # set it in environmentVariables'
_FLASK_KEY_FIX = (
    'app.config["SECRET_KEY"] = os.environ["SECRET_KEY"]   # set it in environmentVariables'
)
_SECRET_NAMES = frozenset({"SECRET_KEY", "secret_key"})
_FLASK_DATABASES = frozenset({"SQLALCHEMY_DATABASE_URI", "DATABASE"})
#: Config classes and files for tests or development: their keys and databases never run on FC.
_NOT_PRODUCTION = re.compile(r"test|dev|local|debug", re.IGNORECASE)
_SQLITE_PREFIXES = ("sqlite:///", "sqlite+pysqlite:///")


def _env(project: Project) -> Mapping[str, str]:
    function = project.main_function
    return function.environment if function else {}


def _imported(project: Project) -> bool:
    """Whether the Django settings were imported (their values then come from the import)."""
    result = project.probe.django
    return result is not None and "ok" in result


@check
def check_django_source(project: Project) -> Iterator[Finding]:
    """DEBUG, SECRET_KEY and SQLite in Django settings that could not be imported here."""
    settings_file = project.django_settings_file
    if not settings_file or _imported(project):
        return
    env = _env(project)
    # Where each setting is given its final value: the settings file, or a module it
    # star-imports (``from .base import *``) before.
    last: dict[str, str] = {}
    for rel in settings_chain(project, settings_file):
        tree = project.tree(rel)
        for name in pysource.module_assignments(tree) if tree else {}:
            last[name] = rel
    for name, rel in sorted(last.items()):
        tree = project.tree(rel)
        if tree is None or name not in ("DEBUG", "SECRET_KEY", "DATABASES"):
            continue
        evaluator = Evaluator(tree, env)
        value = pysource.module_assignments(tree)[name]
        branch = _branch_assignment(tree, name, evaluator)
        if branch is not None and name != "DATABASES":
            # if ENVIRONMENT == "production": DEBUG = False (the config sets ENVIRONMENT)
            if name == "DEBUG":
                yield from _debug(project, rel, tree, evaluator, branch[0], branch[1])
            else:
                yield from _secret(project, rel, branch[1], branch[0], evaluator, _DJANGO_KEY_FIX)
            continue
        if name == "DEBUG":
            yield from _debug(project, rel, tree, evaluator, value)
        elif name == "DATABASES":
            replaced = _replaced_from_env(project, settings_chain(project, settings_file))
            for found in _django_sqlite(project, rel, tree, evaluator, value):
                if not any(f"DATABASES[{alias!r}]" in found.message for alias in replaced):
                    yield found
        else:
            line = pysource.assignment_line(tree, name)
            if line is not None:
                yield from _secret(project, rel, line, value, evaluator, _DJANGO_KEY_FIX)


def settings_chain(project: Project, rel: str, depth: int = 0) -> list[str]:
    """``rel`` after the project modules it star-imports at module level, in import order."""
    tree = project.tree(rel)
    if tree is None or depth > 5:
        return [rel]
    chain: list[str] = []
    for statement in tree.body:
        if not isinstance(statement, ast.ImportFrom):
            continue
        if not any(alias.name == "*" for alias in statement.names):
            continue
        imported = _imported_file(project, rel, statement)
        if imported and imported not in chain and imported != rel:
            chain += [f for f in settings_chain(project, imported, depth + 1) if f not in chain]
    return [*chain, rel]


def _imported_file(project: Project, rel: str, statement: ast.ImportFrom) -> str | None:
    module = statement.module or ""
    if not statement.level:
        return project.module_file(module, project.code_dir)
    folder = rel.rpartition("/")[0]
    for _ in range(statement.level - 1):
        folder = folder.rpartition("/")[0]
    base = "/".join(p for p in (folder, module.replace(".", "/")) if p)
    for candidate in (f"{base}.py", f"{base}/__init__.py"):
        if project.is_file(candidate):
            return candidate
    return None


def _branch_assignment(
    tree: ast.Module, name: str, evaluator: Evaluator
) -> tuple[ast.expr, int] | None:
    """The value ``name`` gets last in a module-level ``if`` whose condition the deploy
    config's environment decides, when that comes after its plain assignment."""
    after = pysource.assignment_line(tree, name) or 0
    found: tuple[ast.expr, int] | None = None
    for statement in tree.body:
        if not isinstance(statement, ast.If) or statement.lineno < after:
            continue
        test = evaluator.evaluate(statement.test)
        if not test.known:
            continue
        for node in statement.body if test.value else statement.orelse:
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
                if isinstance(target, ast.Name) and target.id == name:
                    found = (node.value, node.lineno)
    return found


def _debug(
    project: Project,
    rel: str,
    tree: ast.Module,
    evaluator: Evaluator,
    value: ast.expr | None,
    line: int | None = None,
) -> Iterator[Finding]:
    if value is None:
        return
    result = evaluator.evaluate(value)
    if not result.known or not result.value:
        return
    line = line or pysource.assignment_line(tree, "DEBUG")
    if result.defaulted:
        shown = " or ".join(result.defaulted)
        message = (
            f"DEBUG defaults to on: {project.config_name} does not set {shown}, so the "
            "default written in the settings applies."
        )
        variable = result.defaulted[0]
        fix = f'DEBUG = os.environ.get("{variable}") == "1"   # off unless the config sets it'
    else:
        message = "DEBUG is on in the settings source."
        fix = DEBUG.fix
    yield DEBUG.finding(message, file=rel, line=line, fix=fix)


def _secret(
    project: Project, rel: str, line: int, value: ast.expr, evaluator: Evaluator, fix: str
) -> Iterator[Finding]:
    """FC202 for a key written in the code, FC203 for one that is an unset variable's default."""
    literal = pysource.string(value)
    if literal:
        yield INSECURE_SECRET_KEY.finding(
            f"SECRET_KEY is written in {rel}:{line} ({mask(literal)}), so everyone who can "
            "read the code has it.",
            file=rel,
            line=line,
            fix=fix,
        )
        return
    read = _outer_read(value, evaluator)
    if read is None or read.variable in _env(project):
        return
    result = evaluator.evaluate(value)
    if result.known and isinstance(result.value, str) and result.value:
        variable = read.variable
        yield SECRET_KEY_FALLBACK.finding(
            f"SECRET_KEY falls back to the key written at {rel}:{line} "
            f"({mask(result.value)}): {project.config_name} does not set {variable}.",
            file=rel,
            line=line,
            fix=f"environmentVariables:\n  {variable}: ${{env('{variable}')}}",
        )


def _outer_read(value: ast.expr, evaluator: Evaluator) -> EnvRead | None:
    """The environment read a value falls back from: ``get("X", d)`` or ``get("X") or d``."""
    if isinstance(value, ast.BoolOp) and isinstance(value.op, ast.Or):
        value = value.values[0]
    return env_read(value, evaluator.imports)


def _sqlite_path(url: str) -> str | None:
    for prefix in _SQLITE_PREFIXES:
        if url.startswith(prefix):
            return url[len(prefix) :].split("?", 1)[0]
    return None


def _place(path: str) -> Place | None:
    where = pysource.literal_where(path)
    return Place(where.kind, where.display) if where else None


def _django_sqlite(
    project: Project, rel: str, tree: ast.Module, evaluator: Evaluator, value: ast.expr | None
) -> Iterator[Finding]:
    if not isinstance(value, ast.Dict):
        return
    line = pysource.assignment_line(tree, "DATABASES")
    resolver = pysource.PathResolver(tree, evaluator.imports)
    for key, database in zip(value.keys, value.values, strict=True):
        alias = pysource.string(key)
        place: Place | None = None
        if isinstance(database, ast.Dict):
            fields = {
                pysource.string(k): v for k, v in zip(database.keys, database.values, strict=True)
            }
            engine = evaluator.evaluate(fields.get("ENGINE")).value
            if isinstance(engine, str) and "sqlite3" in engine:
                place = _path_place(resolver, fields.get("NAME"))
        else:  # dj_database_url.config(default="sqlite:///..."), env.db(default=...)
            url = _url_default(database, evaluator, project)
            path = _sqlite_path(url) if url else None
            place = _place(path) if path else None
        if alias and place is not None and place.kind != "mount":
            found = sqlite_finding(place, f"DATABASES[{alias!r}]", rel, line)
            if found is not None:
                yield found


def _path_place(resolver: pysource.PathResolver, node: ast.expr | None) -> Place | None:
    """Where a path expression points, with the file name it ends in when that is written:
    ``BASE_DIR / "db.sqlite3"``, ``os.path.join(BASE_DIR, "db.sqlite3")``."""
    where = resolver.where(node)
    if where is None:
        return None
    tail: ast.expr | None = None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        tail = node.right
    elif isinstance(node, ast.Call) and len(node.args) > 1:
        tail = node.args[-1]
    name = pysource.string(tail)
    joined = name and where.kind == "code" and not where.display.endswith(f"/{name}")
    display = posixpath.join(where.display, name) if joined and name else where.display
    return Place(where.kind, display)


def _replaced_from_env(project: Project, chain: list[str]) -> set[str]:
    """Aliases of ``DATABASES`` that the settings replace later from a variable the deploy
    config sets: ``DATABASES["default"] = dj_database_url.config()`` (or ``.update(...)``),
    also under ``if "DATABASE_URL" in os.environ:``."""
    env = _env(project)
    replaced: set[str] = set()
    for rel in chain:
        tree = project.tree(rel)
        for node in ast.walk(tree) if tree else ():
            target: ast.expr | None = None
            value: ast.expr | None = None
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target, value = node.targets[0], node.value
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "update"
                and node.args
            ):
                target, value = node.func.value, node.args[0]
            if not (
                isinstance(target, ast.Subscript)
                and isinstance(target.value, ast.Name)
                and target.value.id == "DATABASES"
                and isinstance(value, ast.Call)
            ):
                continue
            alias = pysource.string(target.slice)
            variable = pysource.string(pysource.keyword(value, "env")) or "DATABASE_URL"
            if alias and variable in env:
                replaced.add(alias)
    return replaced


def _url_default(node: ast.expr, evaluator: Evaluator, project: Project) -> str | None:
    """The database URL a call falls back to when the deploy config sets no variable."""
    if not isinstance(node, ast.Call):
        return None
    env = _env(project)
    variable = pysource.string(pysource.keyword(node, "env")) or "DATABASE_URL"
    if variable in env:
        return None
    for argument in [*node.args, *(k.value for k in node.keywords if k.arg == "default")]:
        result = evaluator.evaluate(argument)
        if result.known and isinstance(result.value, str):
            return result.value
    return None


# --- Flask ---------------------------------------------------------------------------------------


def _flask_imported(project: Project) -> bool:
    if not project.app_specs:
        return False
    return any((r.get("ok") or {}).get("is_flask") for r in project.probe.apps.values())


def _uses_flask(project: Project) -> bool:
    return any(
        name.split(".")[0] == "flask"
        for _, tree in project.trees()
        for name, _ in pysource.imported_modules(tree)
    )


@check
def check_flask_source(project: Project) -> Iterator[Finding]:
    """SECRET_KEY and SQLite in a Flask app's config when the app could not be imported here."""
    if project.django_settings or not _uses_flask(project) or _flask_imported(project):
        return
    env = _env(project)
    for rel, tree in project.trees():
        if _NOT_PRODUCTION.search(rel.rpartition("/")[2].removesuffix(".py")):
            continue
        evaluator = Evaluator(tree, env)
        skipped = _not_production_nodes(tree)
        # instance/config.py is where Flask's docs keep the production key, out of the code.
        kept_apart = rel.startswith("instance/")
        for line, value in config_assignments(tree, _SECRET_NAMES):
            if not kept_apart and id(value) not in skipped:
                yield from _secret(project, rel, line, value, evaluator, _FLASK_KEY_FIX)
        for line, value in config_assignments(tree, _FLASK_DATABASES):
            if id(value) in skipped:
                continue
            place = _flask_sqlite(tree, value, evaluator)
            if place is not None and place.kind != "mount":
                found = sqlite_finding(place, "The app's database", rel, line)
                if found is not None:
                    yield found


def _not_production_nodes(tree: ast.Module) -> set[int]:
    """Nodes inside config classes for tests or development (``TestingConfig``, ``DevConfig``)."""
    return {
        id(node)
        for cls in ast.walk(tree)
        if isinstance(cls, ast.ClassDef) and _NOT_PRODUCTION.search(cls.name)
        for node in ast.walk(cls)
    }


def _flask_sqlite(tree: ast.Module, value: ast.expr, evaluator: Evaluator) -> Place | None:
    """Where a ``sqlite:///`` URL in a Flask config puts the file on FC.

    A relative file is in the instance folder (``/code/instance``), as Flask-SQLAlchemy 3
    reads it.
    """
    if isinstance(value, ast.JoinedStr) and value.values:
        prefix = pysource.string(value.values[0])
        if prefix and _sqlite_path(prefix) == "" and len(value.values) > 1:
            part = value.values[1]
            if isinstance(part, ast.FormattedValue):
                where = pysource.PathResolver(tree, evaluator.imports).where(part.value)
                return Place(where.kind, where.display) if where else None
        return None
    result = evaluator.evaluate(value)
    if not result.known or not isinstance(result.value, str):
        return None
    path = _sqlite_path(result.value)
    if not path:
        return None
    if not path.startswith("/"):
        path = posixpath.join("instance", path)
    return _place(path)
