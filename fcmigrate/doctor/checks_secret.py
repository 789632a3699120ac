"""A SECRET_KEY made at random when the app starts, read from the source without running it.

Every FC instance imports the app for itself, so ``os.urandom(24)`` in the settings or the
Flask config gives each instance, and each cold start, a key of its own. The key is judged
only when the source names the random call: in the assignment itself (possibly wrapped in
``str()``, ``.hex()``, ``base64``... or a ``"".join(...)``), or in a name assigned from it.
A random key that is only the fallback of an environment variable (``os.environ.get("X") or
os.urandom(24)``, ``os.getenv("X", secrets.token_hex())``, an ``if`` / ``try`` on
``os.environ``) counts only when the deploy config does not set that variable; a random key
under any other condition (``if DEBUG:``, ``if __name__ == "__main__":``) is left alone.
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterator
from dataclasses import dataclass

from fcmigrate.doctor import pysource
from fcmigrate.doctor.model import Finding, check, rule
from fcmigrate.doctor.project import Project

_NEW_KEY = "python -c 'import secrets; print(secrets.token_hex())'   # makes the key, once"
RANDOM_SECRET_KEY = rule(
    "FC212",
    "random-secret-key",
    "error",
    why="A SECRET_KEY made at random when the app starts differs on every FC instance and after "
    "every cold start, so sessions, CSRF tokens, password-reset links and other data signed by "
    "one instance are rejected by the next: users are logged out at random and form posts fail.",
    fix='SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]   # one fixed key, in environmentVariables\n'
    'app.config["SECRET_KEY"] = os.environ["SECRET_KEY"]   # Flask\n' + _NEW_KEY,
    severity_note="warning when it is the fallback of an environment variable the deploy config "
    "does not set",
)

_SECRET_NAMES = frozenset({"SECRET_KEY", "secret_key"})
_RANDOM_CALLS = frozenset(
    {
        "os.urandom",
        "os.getrandom",
        "uuid.uuid1",
        "uuid.uuid4",
        "django.core.management.utils.get_random_secret_key",
        "django.utils.crypto.get_random_string",
    }
)
_RANDOM_MODULES = ("secrets.", "random.")
_NOT_RANDOM = frozenset({"secrets.compare_digest", "random.seed"})
#: Calls whose result is as random as their arguments.
_WRAPPERS = frozenset({"str", "bytes", "bytearray", "repr", "format"})
_WRAPPER_MODULES = ("base64.", "binascii.", "codecs.", "hashlib.", "hmac.")
_ENV_GETS = ("environ.get", "getenv")


@dataclass(frozen=True)
class RandomKey:
    """Where a SECRET_KEY gets a random value; the place is the random call."""

    file: str
    line: int
    #: The random call as the source names it: ``os.urandom``, ``secrets.token_hex``.
    source: str
    #: The environment variables it is the fallback of; empty when it is the key itself.
    fallback_of: tuple[str, ...]
    #: The assignment as it should read, e.g. ``app.secret_key = os.environ["SECRET_KEY"]``.
    fixed: str


#: What a name is assigned: (value, the statement, the scope it is in).
_Binding = tuple[ast.expr, ast.stmt, ast.AST]


class _Module:
    """One parsed module: its imports, every node's parent and what each name is assigned."""

    def __init__(self, tree: ast.Module) -> None:
        self.tree = tree
        self.imports = pysource.import_map(tree)
        self.parents = {id(c): n for n in ast.walk(tree) for c in ast.iter_child_nodes(n)}
        self.bindings: dict[int, dict[str, list[_Binding]]] = {}
        for scope, nodes in pysource.scopes(tree):
            names: dict[str, list[_Binding]] = {}
            for node in sorted(
                (n for n in nodes if isinstance(n, (ast.Assign, ast.AnnAssign))),
                key=lambda n: (n.lineno, n.col_offset),
            ):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name) and node.value is not None:
                        names.setdefault(target.id, []).append((node.value, node, scope))
            self.bindings[id(scope)] = names

    def qualname(self, node: ast.expr) -> str:
        return pysource.qualname(node, self.imports) or ""

    def names(self, scope: ast.AST, name: str) -> list[_Binding]:
        """What ``name`` is assigned in ``scope``, or at module level if nowhere there."""
        return self.bindings[id(scope)].get(name) or self.bindings[id(self.tree)].get(name, [])

    # --- environment variables -----------------------------------------------------------

    def env_get(self, node: ast.expr) -> str | None:
        """``X`` for ``os.environ.get("X", ...)`` and ``os.getenv("X", ...)``."""
        if isinstance(node, ast.Call) and node.args:
            if self.qualname(node.func).endswith(_ENV_GETS):
                return pysource.string(node.args[0])
        return None

    def env_names(self, node: ast.AST, scope: ast.AST) -> list[str]:
        """The variables ``node`` reads from the environment, directly or through a name
        assigned ``os.environ.get("X")`` (whose truth is then the variable's)."""
        found: list[str | None] = []
        for sub in ast.walk(node):
            if isinstance(sub, ast.Call):
                found.append(self.env_get(sub))
            elif isinstance(sub, ast.Subscript) and self.qualname(sub.value).endswith("environ"):
                found.append(pysource.string(sub.slice))
            elif isinstance(sub, ast.Compare) and isinstance(sub.ops[0], (ast.In, ast.NotIn)):
                if self.qualname(sub.comparators[0]).endswith("environ"):
                    found.append(pysource.string(sub.left))
            elif isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load):
                found += [self.env_get(value) for value, _, _ in self.names(scope, sub.id)]
        return list(dict.fromkeys(name for name in found if name))

    def guard(self, node: ast.AST, scope: ast.AST) -> tuple[str, ...] | None:
        """The variables whose absence makes ``node`` run: ``()`` when it always runs, ``None``
        when it runs under a condition that is not about the environment.
        """
        variables: list[str] = []
        child, parent = node, self.parents.get(id(node))
        while parent is not None and parent is not scope:
            if isinstance(parent, ast.If):
                names = self.env_names(parent.test, scope)
                in_else = any(child is s for s in parent.orelse)
                if child is parent.test:
                    pass
                elif not names or in_else == _is_negative(parent.test):
                    return None
                variables += names
            elif isinstance(parent, ast.ExceptHandler):
                attempt = self.parents.get(id(parent))
                body = getattr(attempt, "body", [])
                names = [n for s in body for n in self.env_names(s, scope)]
                if not names:
                    return None
                variables += names
            child, parent = parent, self.parents.get(id(parent))
        return tuple(dict.fromkeys(variables))

    # --- random values ---------------------------------------------------------------------

    def random(
        self, node: ast.expr | None, scope: ast.AST, seen: set[int] | None = None
    ) -> tuple[ast.Call, str, tuple[str, ...]] | None:
        """(the random call, its name, the variables it is the fallback of) if ``node`` is a
        value made at random. ``seen``: the assignments already followed, each once."""
        if node is None:
            return None
        seen = set() if seen is None else seen
        if isinstance(node, ast.Call):
            return self._random_call(node, scope, seen)
        if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):
            firsts = [self.env_get(v) for v in node.values[:-1]]
            found = self.random(node.values[-1], scope, seen)
            if found is None or not all(firsts):
                return None
            return found[0], found[1], (*(f for f in firsts if f), *found[2])
        if isinstance(node, ast.IfExp):
            names = tuple(self.env_names(node.test, scope))
            branch = node.body if _is_negative(node.test) else node.orelse
            found = self.random(branch, scope, seen) if names else None
            return (found[0], found[1], (*names, *found[2])) if found else None
        if isinstance(node, ast.Name):
            for value, statement, where in self.names(scope, node.id):
                if id(statement) in seen:
                    continue
                seen.add(id(statement))
                guard = self.guard(statement, where)
                found = self.random(value, where, seen) if guard is not None else None
                if found and guard is not None:
                    return found[0], found[1], (*guard, *found[2])
            return None
        if isinstance(node, (ast.Attribute, ast.Subscript, ast.FormattedValue, ast.Starred)):
            return self.random(node.value, scope, seen)
        if isinstance(node, (ast.GeneratorExp, ast.ListComp, ast.SetComp)):
            return self.random(node.elt, scope, seen)
        parts: list[ast.expr] = []
        if isinstance(node, ast.JoinedStr):
            parts = node.values
        elif isinstance(node, ast.BinOp):
            parts = [node.left, node.right]
        return next((f for p in parts if (f := self.random(p, scope, seen))), None)

    def _random_call(
        self, node: ast.Call, scope: ast.AST, seen: set[int]
    ) -> tuple[ast.Call, str, tuple[str, ...]] | None:
        name = self.qualname(node.func)
        variable = self.env_get(node)
        if variable is not None:
            found = self.random(pysource.argument(node, 1, "default"), scope, seen)
            return (found[0], found[1], (variable, *found[2])) if found else None
        if name in _RANDOM_CALLS or (name.startswith(_RANDOM_MODULES) and name not in _NOT_RANDOM):
            return node, name.rsplit(".", 1)[-1] if name.startswith("django.") else name, ()
        func = node.func
        on_literal = isinstance(func, ast.Attribute) and isinstance(func.value, ast.Constant)
        if name in _WRAPPERS or name.startswith(_WRAPPER_MODULES) or on_literal:
            arguments = [*node.args, *(k.value for k in node.keywords)]
            return next((f for a in arguments if (f := self.random(a, scope, seen))), None)
        if isinstance(func, ast.Attribute) and not name:
            return self.random(func.value, scope, seen)  # a method of a value: .hex(), .decode()
        return None


def _is_negative(test: ast.expr) -> bool:
    """Whether ``test`` is true when a variable is missing: ``not ...``, ``not in``, ``is None``."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return True
    if isinstance(test, ast.Compare) and len(test.ops) == 1:
        op, right = test.ops[0], test.comparators[0]
        empty = isinstance(right, ast.Constant) and right.value in (None, "")
        return isinstance(op, ast.NotIn) or (isinstance(op, (ast.Is, ast.Eq)) and empty)
    return False


def _key_targets(node: ast.AST, at_module: bool) -> Iterator[tuple[ast.expr, str]]:
    """(value, the start of the assignment) wherever ``node`` gives a SECRET_KEY a value.

    As :func:`fcmigrate.doctor.checks_flask.config_assignments`, but a plain ``SECRET_KEY = v``
    only at module or class level: inside a function it is a local variable.
    """
    if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
        for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
            if isinstance(target, ast.Name) and target.id in _SECRET_NAMES and at_module:
                yield node.value, f"{target.id} = "
            elif isinstance(target, ast.Attribute) and target.attr in _SECRET_NAMES:
                yield node.value, f"{ast.unparse(target)} = "
            elif isinstance(target, ast.Subscript):
                name = pysource.string(target.slice)
                if name in _SECRET_NAMES:
                    yield node.value, f'{ast.unparse(target.value)}["{name}"] = '
    elif isinstance(node, ast.keyword) and node.arg in _SECRET_NAMES:
        yield node.value, f"{node.arg}="
    elif isinstance(node, ast.Dict):
        for key, value in zip(node.keys, node.values, strict=True):
            text = pysource.string(key)
            if text in _SECRET_NAMES:
                yield value, f'"{text}": '


def random_keys(project: Project) -> list[RandomKey]:
    """Every place in the project's Python files where a SECRET_KEY is made at random."""
    variable = "DJANGO_SECRET_KEY" if project.django_settings else "SECRET_KEY"
    found: dict[tuple[str, int, int], RandomKey] = {}
    for rel, tree in project.trees():
        module = _Module(tree)
        for scope, nodes in pysource.scopes(tree):
            for node in sorted(
                nodes, key=lambda n: (getattr(n, "lineno", 0), getattr(n, "col_offset", 0))
            ):
                for value, start in _key_targets(node, scope is tree):
                    guard = module.guard(node, scope)
                    made = module.random(value, scope) if guard is not None else None
                    if made is None or guard is None:
                        continue
                    call, source, inner = made
                    place = (rel, call.lineno, call.col_offset)
                    found.setdefault(
                        place,
                        RandomKey(
                            rel,
                            call.lineno,
                            source,
                            tuple(dict.fromkeys((*guard, *inner))),
                            f'{start}os.environ["{variable}"]',
                        ),
                    )
    return sorted(found.values(), key=lambda k: (k.file, k.line))


def _unset(project: Project, key: RandomKey) -> bool:
    """Whether FC would run the random value: nothing it falls back from is set."""
    function = project.main_function
    env = function.environment if function else {}
    return not any(name in env for name in key.fallback_of)


def made_at_random(project: Project, files: Collection[str] | None = None) -> bool:
    """Whether the app runs with a random SECRET_KEY (from ``files``, if given) on FC.

    The key the import probe saw is then one of many, so its length says nothing.
    """
    return any(
        _unset(project, key) for key in random_keys(project) if files is None or key.file in files
    )


@check
def check_random_secret_key(project: Project) -> Iterator[Finding]:
    config = project.config_name
    for key in random_keys(project):
        if not key.fallback_of:
            yield RANDOM_SECRET_KEY.finding(
                f"SECRET_KEY is {key.source}(), a new key at each start: every FC instance "
                "and cold start signs with its own.",
                file=key.file,
                line=key.line,
                fix=f"{key.fixed}   # one fixed key, in environmentVariables\n{_NEW_KEY}",
            )
        elif _unset(project, key):
            variable = key.fallback_of[0]
            shown = " or ".join(key.fallback_of)
            yield RANDOM_SECRET_KEY.finding(
                f"SECRET_KEY falls back to {key.source}(), a new key at each start: "
                f"{config} does not set {shown}.",
                file=key.file,
                line=key.line,
                fix=f"environmentVariables:\n  {variable}: ${{env('{variable}')}}",
                severity="warning",
            )
