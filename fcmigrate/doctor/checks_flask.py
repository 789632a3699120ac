"""Checks on an imported Flask app's config: a SECRET_KEY written in the code, SQLite files.

The values come from the child process (:mod:`fcmigrate.doctor._child`): the key only as its
length and sha256, which are matched against the project's string literals and the deploy
config's environment values; the databases only as SQLite file paths.
"""

from __future__ import annotations

import ast
import hashlib
import os
import posixpath
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fcmigrate.doctor import pysource
from fcmigrate.doctor.checks_django import (
    INSECURE_SECRET_KEY,
    SECRET_KEY_FALLBACK,
    fc_place,
    sqlite_finding,
)
from fcmigrate.doctor.checks_secret import made_at_random
from fcmigrate.doctor.model import Finding, check
from fcmigrate.doctor.project import Project

_KEY_FIX = 'app.config["SECRET_KEY"] = os.environ["SECRET_KEY"]   # set it in environmentVariables'
_NEW_KEY_FIX = (
    "python -c 'import secrets; print(secrets.token_hex())'   "
    "# a new key for SECRET_KEY in environmentVariables"
)
#: Shorter than this, a key was typed rather than generated (secrets.token_hex() gives 64).
_SHORT_KEY = 16
_SECRET_NAMES = frozenset({"SECRET_KEY", "secret_key"})


@dataclass(frozen=True)
class StringLiteral:
    """Where a string literal is written: the place a matching SECRET_KEY is reported."""

    file: str
    line: int
    #: The literal is (part of) what the source assigns to a SECRET_KEY.
    keyed: bool
    #: The variable of ``os.environ.get("NAME", literal)`` that it is the default of.
    fallback_of: str | None


def config_assignments(tree: ast.Module, names: Collection[str]) -> Iterator[tuple[int, ast.expr]]:
    """(line, value) wherever the source gives a config key in ``names`` a value.

    ``X.config["KEY"] = v``, ``app.secret_key = v``, ``KEY = v`` (a config class or a file for
    ``from_pyfile``), ``KEY=v`` in any call (``from_mapping``, ``update``) and ``{"KEY": v}``.
    """
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(_target_name(t) in names for t in targets):
                yield node.lineno, node.value
        elif isinstance(node, ast.keyword) and node.arg in names:
            yield node.lineno, node.value
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if key is not None and pysource.string(key) in names:
                    yield key.lineno, value


def _target_name(target: ast.expr) -> str | None:
    if isinstance(target, ast.Name):
        return target.id
    if isinstance(target, ast.Attribute):
        return target.attr
    if isinstance(target, ast.Subscript):
        return pysource.string(target.slice)
    return None


def config_line(
    project: Project, key: str, first: str | None, value_end: str = ""
) -> tuple[str | None, int | None]:
    """Where the source sets ``key``: with a literal ending in ``value_end`` if one does (the
    value the app ended up with), else the first place, looking in the file ``first`` first.
    """
    names = _SECRET_NAMES if key == "SECRET_KEY" else {key}
    places: list[tuple[tuple[bool, int, int], str, int]] = []
    for index, rel in enumerate(sorted(project.python_files, key=lambda f: f != first)):
        tree = project.tree(rel)
        for line, value in config_assignments(tree, names) if tree else ():
            texts = [pysource.string(n) for n in ast.walk(value) if isinstance(n, ast.expr)]
            matches = bool(value_end) and any(t and t.endswith(value_end) for t in texts)
            places.append(((not matches, index, line), rel, line))
    if not places:
        return first, None
    _, rel, line = min(places)
    return rel, line


def _text(node: ast.AST) -> str | None:
    """A str or bytes literal as the child hashes a key (bytes decoded as UTF-8)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)):
        value = node.value
        return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    return None


def _is_env_get(node: ast.expr) -> bool:
    name = pysource.qualname(node.func, {}) if isinstance(node, ast.Call) else None
    return bool(name and name.endswith(("environ.get", "getenv")))


def _fallbacks(tree: ast.Module) -> dict[int, str]:
    """Literal node id -> NAME: ``os.environ.get("NAME", lit)``, ``getenv("NAME") or lit``."""
    found: dict[int, str] = {}
    for node in ast.walk(tree):
        call, default = None, None
        if isinstance(node, ast.Call) and _is_env_get(node):
            call, default = node, pysource.argument(node, 1, "default")
        elif isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):
            first = node.values[0]
            if isinstance(first, ast.Call) and _is_env_get(first):
                call, default = first, node.values[-1]
        name = pysource.string(call.args[0]) if call is not None and call.args else None
        if name and default is not None:
            found[id(default)] = name
    return found


def secret_literals(project: Project, length: int) -> dict[str, StringLiteral]:
    """sha256 -> where it is written, for the project's string literals ``length`` long.

    Of several places, one that assigns a SECRET_KEY wins, then the first.
    """
    places: dict[str, list[tuple[tuple[bool, int, int], StringLiteral]]] = {}
    for index, (rel, tree) in enumerate(project.trees()):
        keyed = {
            id(node)
            for _, value in config_assignments(tree, _SECRET_NAMES)
            for node in ast.walk(value)
        }
        fallbacks = _fallbacks(tree)
        for node in ast.walk(tree):
            text = _text(node)
            if text is None or len(text) != length or not isinstance(node, ast.expr):
                continue
            digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
            literal = StringLiteral(rel, node.lineno, id(node) in keyed, fallbacks.get(id(node)))
            rank = (not literal.keyed, index, node.lineno)
            places.setdefault(digest, []).append((rank, literal))
    return {digest: min(found, key=lambda item: item[0])[1] for digest, found in places.items()}


@check
def check_flask_app(project: Project) -> Iterator[Finding]:
    """The SECRET_KEY and the SQLite files of each Flask app the start commands serve."""
    if not project.app_specs:
        return
    for spec, result in project.probe.apps.items():
        values = result.get("ok")
        if not values or not values.get("is_flask"):
            continue
        module = project.spec_module(spec, project.code_dir)
        yield from _secret_key(project, spec, module, values)
        yield from _sqlite(project, spec, module, values)


def _in_instance_folder(project: Project, rel: str, instance_path: Any) -> bool:
    """Whether the project file ``rel`` is in the app's instance folder."""
    if not isinstance(instance_path, str):
        return False
    folder = project.rel(Path(instance_path))
    return bool(folder) and not folder.startswith("/") and rel.startswith(f"{folder}/")


def _secret_key(
    project: Project, spec: str, module: str | None, values: dict[str, Any]
) -> Iterator[Finding]:
    secret = values.get("secret_key") or {}
    # No key is no finding: an app without sessions or signed data needs none.
    if not secret.get("set"):
        return
    digest, length = secret["sha256"], secret.get("length", 0)
    from_env = project.env_digests.get(digest)
    if from_env is not None and from_env.deferred:
        return  # set at deploy time (${env(...)}): not knowable here
    literal = secret_literals(project, length).get(digest) if from_env is None else None
    # instance/config.py is where Flask's docs put the production key, outside version
    # control: only a short key there is reported.
    kept_apart = literal is not None and _in_instance_folder(
        project, literal.file, values.get("instance_path")
    )
    if literal is not None and not kept_apart:
        where = f"{literal.file}:{literal.line}"
        variable = literal.fallback_of
        if variable:
            yield SECRET_KEY_FALLBACK.finding(
                f"The app {spec!r} falls back to the SECRET_KEY written at {where}: "
                f"{project.config_name} does not set {variable}.",
                file=literal.file,
                line=literal.line,
                fix=f"environmentVariables:\n  {variable}: ${{env('{variable}')}}",
            )
        else:
            yield INSECURE_SECRET_KEY.finding(
                f"The app {spec!r} has the SECRET_KEY written at {where}, so everyone who can "
                "read the code can sign its sessions.",
                file=literal.file,
                line=literal.line,
                fix=_KEY_FIX,
            )
        return
    if from_env is None and made_at_random(project):
        return  # one random key of many: FC212 reports it
    if length < _SHORT_KEY or secret.get("unique_chars", 0) < 5:
        file: str | None
        line: int | None
        if from_env is not None:
            file, line = from_env.file, from_env.line
        elif literal is not None:
            file, line = literal.file, literal.line
        else:
            file, line = config_line(project, "SECRET_KEY", module)
        yield INSECURE_SECRET_KEY.finding(
            f"The app {spec!r} has a SECRET_KEY of only {length} characters, short enough "
            "to guess (secrets.token_hex() makes 64).",
            file=file,
            line=line,
            fix=_NEW_KEY_FIX,
        )


def _sqlite_fix(key: str, display: str) -> str | None:
    if key == "DATABASE":
        name = posixpath.basename(display)
        return (
            f'app.config["DATABASE"] = "/mnt/nas/{name}"   # on a NAS mount (nasConfig)\n'
            "or use a database server (ApsaraDB RDS for MySQL/PostgreSQL)."
        )
    if key == "SQLALCHEMY_DATABASE_URI":
        return (
            'app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]   # ApsaraDB RDS\n'
            "or a file on a NAS mount (nasConfig): sqlite:////mnt/nas/app.db"
        )
    return None


def _sqlite(
    project: Project, spec: str, module: str | None, values: dict[str, Any]
) -> Iterator[Finding]:
    instance = values.get("instance_path")
    for entry in values.get("sqlite") or []:
        key, written = str(entry["key"]), str(entry["path"])
        path = written
        if entry.get("in_instance") and instance and not os.path.isabs(path):
            path = os.path.join(instance, path)
        place = fc_place(project, path)
        if place is None or place.kind == "mount":
            continue
        file, line = config_line(project, key.partition("[")[0], module, written)
        found = sqlite_finding(
            place, f"{key} of the app {spec!r}", file, line, _sqlite_fix(key, place.display)
        )
        if found is not None:
            yield found
