"""Reading Python source without running it: names, scopes and where a path points.

Everything here is a best effort over the AST. A finding is reported only when the source
says it literally (a string path, a number of seconds); anything computed at run time is
left alone rather than guessed.
"""

from __future__ import annotations

import ast
import math
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

#: Flask's attributes that name folders inside the project.
_PROJECT_ATTRS = frozenset({"root_path", "instance_path", "static_folder", "template_folder"})
_PATH_CALLS = frozenset(
    {
        "pathlib.Path",
        "pathlib.PurePath",
        "pathlib.PosixPath",
        "os.path.join",
        "os.path.abspath",
        "os.path.realpath",
        "os.path.normpath",
        "os.path.dirname",
        "os.path.expanduser",
        "os.fspath",
        "str",
    }
)
_TMP_CALLS = frozenset({"tempfile.gettempdir", "tempfile.mkdtemp", "tempfile.mkstemp"})
#: The one folder every FC instance may write (its own, emptied with the instance).
TMP = "/tmp"  # noqa: S108
#: Absolute places that are fine to open for writing on FC.
_SPECIAL_PREFIXES = ("/dev/", "/proc/")


@dataclass(frozen=True)
class Where:
    """Where a path expression points on FC: ``code`` (under /code), ``tmp`` or ``abs``."""

    kind: Literal["code", "tmp", "abs"]
    display: str


@dataclass(frozen=True)
class Context:
    """Where a node sits: inside a function (runs later) and/or under a ``__main__`` guard."""

    in_function: bool
    in_main_guard: bool

    @property
    def at_import(self) -> bool:
        return not self.in_function and not self.in_main_guard


def import_map(tree: ast.Module) -> dict[str, str]:
    """Local name -> what it was imported as (``Thread`` -> ``threading.Thread``)."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    names[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    names[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def imported_modules(tree: ast.Module) -> list[tuple[str, int]]:
    """Every absolute module an ``import`` statement names, with its line."""
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, node.lineno))
    return found


def qualname(node: ast.expr, imports: dict[str, str]) -> str | None:
    """``threading.Thread`` for ``threading.Thread``, ``Thread`` (imported) or ``th.Thread``."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([imports.get(node.id, node.id), *reversed(parts)])


def is_main_guard(test: ast.expr) -> bool:
    if not isinstance(test, ast.Compare) or len(test.ops) != 1:
        return False
    if not isinstance(test.ops[0], ast.Eq):
        return False
    sides = [test.left, test.comparators[0]]
    names = [s for s in sides if isinstance(s, ast.Name) and s.id == "__name__"]
    mains = [s for s in sides if isinstance(s, ast.Constant) and s.value == "__main__"]
    return bool(names and mains)


def walk(tree: ast.AST) -> Iterator[tuple[ast.AST, Context]]:
    """Every node with its :class:`Context`, parents before children."""

    def visit(node: ast.AST, context: Context) -> Iterator[tuple[ast.AST, Context]]:
        for field, value in ast.iter_fields(node):
            children = value if isinstance(value, list) else [value]
            for child in children:
                if not isinstance(child, ast.AST):
                    continue
                inner = context
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) and (
                    field == "body"
                ):
                    inner = Context(True, context.in_main_guard)
                elif isinstance(node, ast.If) and field == "body" and is_main_guard(node.test):
                    inner = Context(context.in_function, True)
                yield child, inner
                yield from visit(child, inner)

    yield from visit(tree, Context(False, False))


def scopes(tree: ast.Module) -> Iterator[tuple[ast.AST, list[ast.AST]]]:
    """(scope, the nodes that belong to it) for the module and each function."""
    functions = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)

    def own_nodes(scope: ast.AST) -> list[ast.AST]:
        found: list[ast.AST] = []
        stack = list(ast.iter_child_nodes(scope))
        while stack:
            node = stack.pop()
            found.append(node)
            if not isinstance(node, functions):
                stack.extend(ast.iter_child_nodes(node))
        return found

    yield tree, own_nodes(tree)
    for node in ast.walk(tree):
        if isinstance(node, functions):
            yield node, own_nodes(node)


def module_assignments(tree: ast.Module) -> dict[str, ast.expr]:
    """Module-level ``NAME = value`` (the last one wins, as at run time)."""
    values: dict[str, ast.expr] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    values[target.id] = node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            if isinstance(node.target, ast.Name):
                values[node.target.id] = node.value
    return values


def assignment_line(tree: ast.Module, name: str) -> int | None:
    """Line of the last module-level assignment to ``name``."""
    line: int | None = None
    for node in tree.body:
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            targets = [node.target]
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            line = node.lineno
    return line


def number(node: ast.expr | None) -> float | None:
    """A literal int/float (``90``, ``1.5``), a tuple of them summed (requests' timeouts)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        if isinstance(node.value, bool):
            return None
        try:
            value = float(node.value)
        except OverflowError:  # an int literal too large for a float
            return None
        return value if math.isfinite(value) else None
    if isinstance(node, ast.Tuple) and node.elts:
        values = [number(e) for e in node.elts]
        if all(v is not None for v in values):
            return sum(v for v in values if v is not None)
    return None


def keyword(call: ast.Call, name: str) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
    return None


def argument(call: ast.Call, index: int, name: str) -> ast.expr | None:
    """The argument at position ``index`` or given as ``name=``."""
    if len(call.args) > index and not any(isinstance(a, ast.Starred) for a in call.args):
        return call.args[index]
    return keyword(call, name)


def string(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


class PathResolver:
    """Tells where a path expression in one module points on FC, when the source says so."""

    def __init__(self, tree: ast.Module, imports: dict[str, str] | None = None) -> None:
        self.imports = import_map(tree) if imports is None else imports
        self.assignments = module_assignments(tree)

    def where(self, node: ast.expr | None, _depth: int = 0) -> Where | None:
        if node is None or _depth > 20:
            return None
        depth = _depth + 1
        text = string(node)
        if text is not None:
            return literal_where(text)
        if isinstance(node, ast.JoinedStr) and node.values:
            first = node.values[0]
            if isinstance(first, ast.FormattedValue):
                return self.where(first.value, depth)
            prefix = string(first)
            return literal_where(prefix) if prefix else None
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            return _joined(self.where(node.left, depth), [node.right])
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return self.where(node.left, depth)
        if isinstance(node, ast.Name):
            if node.id == "__file__":
                return Where("code", "/code")
            value = self.assignments.get(node.id)
            return self.where(value, depth) if value is not None else None
        if isinstance(node, ast.Attribute):
            if node.attr in _PROJECT_ATTRS:
                return Where("code", "/code")
            return self.where(node.value, depth)
        if isinstance(node, ast.Call):
            name = qualname(node.func, self.imports)
            alias = self.assignments.get(name or "") if isinstance(node.func, ast.Name) else None
            if isinstance(alias, (ast.Name, ast.Attribute)):
                # back = os.path.dirname; BASE_DIR = back(back(__file__))
                name = qualname(alias, self.imports) or name
            if name in _TMP_CALLS:
                return Where("tmp", TMP)
            if name in _PATH_CALLS and node.args:
                base = self.where(node.args[0], depth)
                joins = name in ("os.path.join", "pathlib.Path", "pathlib.PurePath")
                return _joined(base, node.args[1:]) if joins else base
            if isinstance(node.func, ast.Attribute) and name not in _PATH_CALLS:
                # A method on a path: .resolve(), .absolute(), .joinpath('x'), .parent ...
                if node.func.attr == "joinpath":
                    return _joined(self.where(node.func.value, depth), node.args)
                if node.func.attr in {"resolve", "absolute", "with_name", "expanduser"}:
                    return self.where(node.func.value, depth)
        return None


def _joined(base: Where | None, parts: list[ast.expr]) -> Where | None:
    """``base`` with the literal parts joined to it (``/code`` + ``'logs/app.log'``), so that
    a message names the file; where a part is not a literal, the folder known so far."""
    if base is None or base.kind != "code":
        return base
    display = base.display
    for part in parts:
        text = string(part)
        if text is None or text.startswith("/"):
            break
        display = posixpath.normpath(posixpath.join(display, text))
    if display != "/code" and not display.startswith("/code/"):
        return base
    return Where("code", display)


def literal_where(text: str) -> Where | None:
    """Where a literal path string points on FC; ``None`` when it is not a file path."""
    if not text or text == ":memory:" or text.startswith(("~", "file:", "$")):
        return None
    if text.startswith("/"):
        if text == TMP or text.startswith(TMP + "/"):
            return Where("tmp", text)
        if text.startswith(_SPECIAL_PREFIXES):
            return None
        return Where("abs", text)
    if "://" in text:
        return None
    return Where("code", posixpath.normpath(posixpath.join("/code", text)))


def flask_app_names(tree: ast.Module, imports: dict[str, str]) -> set[str]:
    """Module-level names bound to ``Flask(...)`` or ``SocketIO(...)``."""
    names: set[str] = set()
    for name, value in module_assignments(tree).items():
        if isinstance(value, ast.Call):
            called = qualname(value.func, imports) or ""
            if called.rsplit(".", 1)[-1] in ("Flask", "SocketIO"):
                names.add(name)
    return names


_DEV_CALLS = {
    "werkzeug.serving.run_simple": "werkzeug's run_simple()",
    "werkzeug.run_simple": "werkzeug's run_simple()",
    "wsgiref.simple_server.make_server": "wsgiref's make_server()",
    "werkzeug.serving.make_server": "werkzeug's make_server()",
    "bottle.run": "Bottle's run()",
}


def dev_server_calls(tree: ast.Module) -> Iterator[tuple[ast.Call, Context, str]]:
    """Calls that start a development server: ``app.run()``, ``run_simple()``, ``make_server``."""
    imports = import_map(tree)
    apps = flask_app_names(tree, imports) | {"app", "application"}
    for node, context in walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "run":
            target = func.value
            if isinstance(target, ast.Name) and target.id in apps:
                yield node, context, f"{target.id}.run()"
            elif isinstance(target, ast.Call):
                factory = qualname(target.func, imports) or ""
                if factory.rsplit(".", 1)[-1] in ("create_app", "make_app"):
                    yield node, context, f"{factory}().run()"
            continue
        name = qualname(func, imports)
        if name in _DEV_CALLS:
            yield node, context, _DEV_CALLS[name]
