"""Values the source reads from the environment, worked out without running it.

``os.environ.get("DEBUG", "True")``, ``os.getenv("DEBUG", "1") == "1"``,
``env.bool("DEBUG", default=True)`` (django-environ) and ``config("DEBUG", default=True,
cast=bool)`` (python-decouple) are evaluated with the environment the deploy config gives
the function: a variable it sets has its value, one it does not set falls back to the
default written in the code. Anything else is unknown.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass, field

from fcmigrate.deployconfig import UNRESOLVED_PREFIX
from fcmigrate.doctor import pysource

#: Strings django-environ and python-decouple read as true when cast to bool.
_TRUE_TEXTS = frozenset({"1", "true", "yes", "y", "on", "ok", "t"})
_ENV_GETS = ("environ.get", "getenv")
#: ``env(...)``, ``env.bool(...)``, ``config(...)``: django-environ and python-decouple.
_READER_NAMES = frozenset({"env", "config"})
_READER_CASTS = {"bool": "bool", "str": "str", "int": "int"}
_STRING_METHODS = frozenset({"lower", "upper", "strip", "casefold"})


class Unknown:
    """A value the source does not state (computed, or set at deploy time)."""


UNKNOWN = Unknown()


@dataclass(frozen=True)
class EnvRead:
    """One read of an environment variable: ``default`` is the expression used when unset."""

    variable: str
    default: ast.expr | None
    #: The read raises when the variable is unset and there is no default.
    required: bool
    cast: str | None


@dataclass
class Evaluation:
    """The value, and the variables the deploy config leaves unset that it fell back for."""

    value: object
    defaulted: list[str] = field(default_factory=list)

    @property
    def known(self) -> bool:
        return not isinstance(self.value, Unknown)


def env_read(node: ast.expr, imports: dict[str, str]) -> EnvRead | None:
    """The environment read ``node`` makes, if it is one of the forms doctor knows."""
    if isinstance(node, ast.Subscript):
        name = pysource.qualname(node.value, imports) or ""
        variable = pysource.string(node.slice)
        if name.endswith("environ") and variable:
            return EnvRead(variable, None, True, None)
        return None
    if not isinstance(node, ast.Call) or not node.args:
        return None
    variable = pysource.string(node.args[0])
    if not variable:
        return None
    name = pysource.qualname(node.func, imports) or ""
    if name.endswith(_ENV_GETS):
        return EnvRead(variable, pysource.argument(node, 1, "default"), False, None)
    func = node.func
    cast_keyword = pysource.keyword(node, "cast")
    cast = cast_keyword.id if isinstance(cast_keyword, ast.Name) else None
    if isinstance(func, ast.Name) and func.id in _READER_NAMES | {"decouple.config"}:
        default = pysource.argument(node, 1, "default")
        return EnvRead(variable, default, default is None, cast)
    if name == "decouple.config":
        default = pysource.keyword(node, "default")
        return EnvRead(variable, default, default is None, cast)
    if (
        isinstance(func, ast.Attribute)
        and func.attr in _READER_CASTS
        and isinstance(func.value, ast.Name)
        and func.value.id in _READER_NAMES
    ):
        default = pysource.argument(node, 1, "default")
        return EnvRead(variable, default, default is None, _READER_CASTS[func.attr])
    return None


def _cast(value: object, cast: str | None) -> object:
    if cast is None or isinstance(value, Unknown):
        return value
    if cast == "bool":
        if isinstance(value, str):
            return value.strip().lower() in _TRUE_TEXTS
        return bool(value)
    if cast == "int":
        try:
            return int(str(value))
        except ValueError:
            return UNKNOWN
    return str(value)


class Evaluator:
    """Evaluates expressions of one module with the function's environment ``env``."""

    def __init__(self, tree: ast.Module, env: Mapping[str, str]) -> None:
        self.imports = pysource.import_map(tree)
        self.assignments = pysource.module_assignments(tree)
        self.env = env

    def evaluate(self, node: ast.expr | None) -> Evaluation:
        defaulted: list[str] = []
        value = self._value(node, defaulted, 0)
        return Evaluation(value, list(dict.fromkeys(defaulted)))

    def _value(self, node: ast.expr | None, defaulted: list[str], depth: int) -> object:
        if node is None or depth > 20:
            return UNKNOWN
        depth += 1
        if isinstance(node, ast.Constant):
            return node.value
        read = env_read(node, self.imports)
        if read is not None:
            return self._read(read, defaulted, depth)
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            items = [self._value(e, defaulted, depth) for e in node.elts]
            return UNKNOWN if any(isinstance(i, Unknown) for i in items) else tuple(items)
        if isinstance(node, ast.Name):
            value = self.assignments.get(node.id)
            return self._value(value, defaulted, depth) if value is not None else UNKNOWN
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            operand = self._value(node.operand, defaulted, depth)
            return UNKNOWN if isinstance(operand, Unknown) else not operand
        if isinstance(node, ast.BoolOp):
            return self._bool_op(node, defaulted, depth)
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            return self._compare(node, defaulted, depth)
        if isinstance(node, ast.Call):
            return self._call(node, defaulted, depth)
        return UNKNOWN

    def _read(self, read: EnvRead, defaulted: list[str], depth: int) -> object:
        if read.variable in self.env:
            value = self.env[read.variable]
            if value.startswith(UNRESOLVED_PREFIX):
                return UNKNOWN  # set at deploy time
            return _cast(value, read.cast)
        if read.required:
            return UNKNOWN  # the import raises: FC200 / FC304
        defaulted.append(read.variable)
        return _cast(self._value(read.default, defaulted, depth), read.cast)

    def _bool_op(self, node: ast.BoolOp, defaulted: list[str], depth: int) -> object:
        result: object = UNKNOWN
        for operand in node.values:
            result = self._value(operand, defaulted, depth)
            if isinstance(result, Unknown):
                return UNKNOWN
            if isinstance(node.op, ast.Or) == bool(result):
                return result
        return result

    def _compare(self, node: ast.Compare, defaulted: list[str], depth: int) -> object:
        left = self._value(node.left, defaulted, depth)
        right = self._value(node.comparators[0], defaulted, depth)
        if isinstance(left, Unknown) or isinstance(right, Unknown):
            return UNKNOWN
        op = node.ops[0]
        try:
            if isinstance(op, ast.Eq):
                return left == right
            if isinstance(op, ast.NotEq):
                return left != right
            if isinstance(op, ast.In) and isinstance(right, (tuple, str)):
                return left in right
            if isinstance(op, ast.NotIn) and isinstance(right, (tuple, str)):
                return left not in right
        except TypeError:
            return UNKNOWN
        return UNKNOWN

    def _call(self, node: ast.Call, defaulted: list[str], depth: int) -> object:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in _STRING_METHODS and not node.args:
            value = self._value(func.value, defaulted, depth)
            return getattr(value, func.attr)() if isinstance(value, str) else UNKNOWN
        if isinstance(func, ast.Name) and func.id in ("bool", "int", "str") and node.args:
            value = self._value(node.args[0], defaulted, depth)
            if isinstance(value, Unknown):
                return UNKNOWN
            return bool(value) if func.id == "bool" else _cast(value, func.id)
        return UNKNOWN


def mask(secret: str) -> str:
    """``dev-secret`` -> ``'de********'``: enough to recognise the key, not to use it."""
    shown = secret[:2] if len(secret) > 8 else ""
    return repr(shown + "*" * (len(secret) - len(shown)))
