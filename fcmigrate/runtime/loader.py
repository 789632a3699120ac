"""Turn an application spec such as ``'mysite.wsgi:application'`` into a WSGI callable.

The grammar is gunicorn's (``gunicorn.util.import_app``), and discovery without a name follows
Flask's ``find_best_app``, so a spec that works with ``gunicorn`` or ``flask run`` works here:

``module``
    Find the application in *module*: an attribute called ``app`` or ``application``; else the
    one WSGI application object in the module (a Flask app, any object whose class has a
    ``wsgi_app`` method, a Django ``WSGIHandler``, or a single callable named like ``webapp``);
    else a factory called ``create_app`` or ``make_app``, called without arguments. A Django
    settings module (one that defines ``INSTALLED_APPS`` or ``ROOT_URLCONF``) resolves to its
    ``WSGI_APPLICATION``.
``module:name`` / ``module:attr.sub``
    The object at that attribute path; it must accept ``(environ, start_response)``.
``module:factory()`` / ``module:factory('/data', debug=False)``
    Call *factory* with the given arguments, which must be Python literals, and use the result.
``path/to/project`` (a directory)
    A Django project: the directory holding ``manage.py`` (its ``DJANGO_SETTINGS_MODULE`` read
    from the file, not run, else from the environment), or the package holding ``settings.py``.

Modules are found in the current directory (or *cwd*), on ``sys.path`` and in ``src/``.
Spec mistakes raise :class:`~fcmigrate.errors.AppLoadError` (one line with the fix); the
app's own exceptions propagate unchanged, so their traceback points at the user's line.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import os
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType, ModuleType
from typing import TYPE_CHECKING, Any, cast

from fcmigrate.errors import AppLoadError

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

__all__ = ["AppSpec", "import_string", "load_app", "parse_spec"]

_APP_NAMES = ("app", "application")
_FACTORY_NAMES = ("create_app", "make_app")
_DJANGO_MARKERS = ("INSTALLED_APPS", "ROOT_URLCONF")
_SETTINGS_ENV = "DJANGO_SETTINGS_MODULE"
# manage.py is read, never run: running it would start Django's command line.
_MANAGE_PY_SETTINGS = re.compile(
    r"""setdefault\(\s*["']DJANGO_SETTINGS_MODULE["']\s*,\s*["']([\w.]+)["']\s*\)"""
)
_WINDOWS_DRIVE = re.compile(r"[A-Za-z]:[\\/]")
_LITERAL_EXAMPLE = "strings, numbers, lists, dicts, True, False, None"


def _frozen_empty() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True)
class AppSpec:
    """A parsed application spec; ``str(spec)`` gives it back in spec syntax.

    *name* is ``None`` when the spec names only a module (discovery applies), and may be a
    dotted attribute path. *call* tells ``module:factory()`` (call with no arguments) apart
    from ``module:factory`` (use the object as it is).
    """

    module: str
    name: str | None = None
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=_frozen_empty, hash=False)
    call: bool = False

    def __post_init__(self) -> None:
        # Callers may pass a list and a dict; store read-only copies so "frozen" holds.
        object.__setattr__(self, "args", tuple(self.args))
        object.__setattr__(self, "kwargs", MappingProxyType(dict(self.kwargs)))

    def __str__(self) -> str:
        if self.name is None:
            return self.module
        text = f"{self.module}:{self.name}"
        if self.call:
            parts = [repr(arg) for arg in self.args]
            parts += [f"{key}={value!r}" for key, value in self.kwargs.items()]
            text += f"({', '.join(parts)})"
        return text


def parse_spec(spec: str) -> AppSpec:
    """Parse ``module``, ``module:name``, ``module:attr.sub`` or ``module:factory(args)``.

    Only the syntax is checked; nothing is imported. Factory arguments must be literals and
    are evaluated with :func:`ast.literal_eval`.
    """
    text = spec.strip()
    if not text:
        raise AppLoadError(
            f"The application spec {spec!r} is empty. Use 'module:name', e.g. 'app:app'."
        )
    if _looks_like_path(_split_path_name(text)[0]):
        raise _path_error(spec, text)
    module, colon, expr = (part.strip() for part in text.partition(":"))
    if not module:
        raise AppLoadError(
            f"The application spec {spec!r} has no module name. Use 'module{colon}{expr}'."
        )
    if not _is_dotted(module):
        raise AppLoadError(
            f"{module!r} in {spec!r} is not a module name. "
            "Use a dotted Python module name, e.g. 'mysite.wsgi:application'."
        )
    if not colon:
        return AppSpec(module)
    if not expr:
        raise AppLoadError(
            f"Nothing follows ':' in {spec!r}. Use '{module}:name' to name the application, "
            f"or '{module}' to find it automatically."
        )
    return _parse_expr(spec, module, expr)


def load_app(spec: str, *, cwd: str | None = None) -> WSGIApplication:
    """Import the WSGI application that *spec* names; see the module docstring for the forms.

    *cwd* (default: the current directory) is put at the front of ``sys.path`` unless it is
    already there, so that ``app:app`` finds ``app.py`` in it; a relative directory spec is
    resolved against it.
    """
    root = _prepare_sys_path(cwd)
    text = spec.strip()
    folder = django_folder(text, root)
    if folder is not None:
        return _load_django_folder(folder, spec)
    parsed = parse_spec(text)
    _reject_file_name(parsed.module, spec, root)
    module = _import(parsed.module, spec, root)
    if parsed.name is None:
        return _discover(module, parsed.module, spec, root)
    obj = _lookup(module, parsed.module, parsed.name, spec)
    if parsed.call:
        return _call_factory(obj, parsed, spec)
    if callable(obj) and not _accepts_wsgi_call(obj):
        raise AppLoadError(
            f"{spec!r} cannot be called as app(environ, start_response); its signature is "
            f"{_signature_text(parsed.name, obj)}. "
            f"If it is an application factory, use '{parsed.module}:{parsed.name}()'."
        )
    return _check_app(
        obj,
        repr(spec),
        f"Use '{parsed.module}:name' to name the application object.",
    )


def import_string(spec: str, *, cwd: str | None = None) -> Any:
    """Import ``module:attr`` or ``package.module.attr`` (e.g. a lifecycle hook) and return it.

    *cwd* is handled as in :func:`load_app`. The object is returned as it is; whether it
    must be callable is the caller's business.
    """
    root = _prepare_sys_path(cwd)
    text = spec.strip()
    if ":" in text:
        module, _, attr = (part.strip() for part in text.partition(":"))
        if not module:
            raise AppLoadError(f"{spec!r} has no module name. Use 'module:{attr}'.")
        if not attr:
            raise AppLoadError(f"Nothing follows ':' in {spec!r}. Use '{module}:function'.")
    else:
        module, _, attr = text.rpartition(".")
        if not module:
            raise AppLoadError(
                f"{spec!r} names a module but no attribute in it. "
                f"Use '{text or 'module'}:function'."
            )
    if not _is_dotted(module):
        raise AppLoadError(
            f"{module!r} in {spec!r} is not a module name. "
            "Use 'package.module:function', e.g. 'myproj.hooks:on_start'."
        )
    if not _is_dotted(attr):
        raise AppLoadError(
            f"{attr!r} in {spec!r} is not an attribute name. "
            f"Use '{module}:function', without parentheses or arguments."
        )
    _reject_file_name(module, spec, root)
    return _lookup(_import(module, spec, root), module, attr, spec)


# --- parsing -------------------------------------------------------------------------------


def _is_dotted(text: str) -> bool:
    return bool(text) and all(part.isidentifier() for part in text.split("."))


def _looks_like_path(text: str) -> bool:
    # Backslash is checked on every OS: it can never be part of a module name.
    return "/" in text or "\\" in text or text in (".", "..") or text.startswith("~")


def _split_path_name(text: str) -> tuple[str, str, str]:
    # The colon of a Windows drive ('C:\\proj\\wsgi.py:app') does not start the name.
    start = 2 if _WINDOWS_DRIVE.match(text) else 0
    colon = text.find(":", start)
    if colon < 0:
        return text, "", ""
    return text[:colon], ":", text[colon + 1 :]


def _path_error(spec: str, text: str) -> AppLoadError:
    path, colon, name = _split_path_name(text)
    rel = path.replace("\\", "/").removeprefix("./").rstrip("/").removesuffix(".py")
    rel = rel.removesuffix("/__init__")
    dotted = rel.replace("/", ".")
    if not rel.startswith(("/", "~")) and not _WINDOWS_DRIVE.match(rel) and _is_dotted(dotted):
        return AppLoadError(
            f"{spec!r} is a file path; use the dotted module name '{dotted}{colon}{name}'."
        )
    directory, _, leaf = rel.rpartition("/")
    if directory and leaf.isidentifier():
        return AppLoadError(
            f"{spec!r} is a file path. Use the module name '{leaf}{colon}{name}' with "
            f"cwd set to {directory!r}."
        )
    return AppLoadError(
        f"{spec!r} is a file path. Run from the directory that holds the module and use "
        "its dotted name, e.g. 'mysite.wsgi:application'."
    )


def _parse_expr(spec: str, module: str, expr: str) -> AppSpec:
    unparsable = AppLoadError(
        f"Failed to parse {expr!r} in {spec!r} as an attribute name or a factory call. "
        f"Use '{module}:name' or '{module}:create_app()'."
    )
    try:
        node = ast.parse(expr, mode="eval").body
    except (SyntaxError, ValueError):
        raise unparsable from None
    call = node if isinstance(node, ast.Call) else None
    name = _dotted_name(call.func if call is not None else node)
    if name is None:
        raise unparsable
    if call is None:
        return AppSpec(module, name)
    args = tuple(_literal(arg, spec, module, name) for arg in call.args)
    kwargs: dict[str, Any] = {}
    for keyword in call.keywords:
        if keyword.arg is None:
            raise _not_literal(ast.unparse(keyword), spec, module, name)
        if keyword.arg in kwargs:
            # ast.parse accepts f(x=1, x=2); only the compiler would reject it.
            raise AppLoadError(
                f"The keyword argument {keyword.arg!r} is repeated in {spec!r}. Give it once."
            )
        kwargs[keyword.arg] = _literal(keyword.value, spec, module, name)
    return AppSpec(module, name, args, kwargs, call=True)


def _dotted_name(node: ast.expr) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def _literal(node: ast.expr, spec: str, module: str, name: str) -> Any:
    if isinstance(node, ast.Starred):
        raise _not_literal(ast.unparse(node), spec, module, name)
    try:
        return ast.literal_eval(node)
    # TypeError comes from unhashable keys such as {[1]: 2}.
    except (ValueError, TypeError, RecursionError):
        raise _not_literal(ast.unparse(node), spec, module, name) from None


def _not_literal(source: str, spec: str, module: str, name: str) -> AppLoadError:
    return AppLoadError(
        f"The factory argument {source!r} in {spec!r} is not a literal. "
        f"Pass literals only ({_LITERAL_EXAMPLE}), e.g. '{module}:{name}(\"/data\", debug=False)', "
        "and compute anything else inside the factory."
    )


# --- importing -----------------------------------------------------------------------------


def _prepare_sys_path(cwd: str | None) -> str:
    from fcmigrate.runtime.compat import install
    from fcmigrate.runtime.pthfiles import read_path_files

    root = os.path.abspath(cwd if cwd is not None else os.getcwd())
    read_path_files()
    install()
    _put_on_sys_path(root)
    return root


def _put_on_sys_path(directory: str) -> None:
    if directory not in sys.path:
        sys.path.insert(0, directory)
    # Finders cache directory listings; a project written after startup (a test's tmp_path,
    # a freshly unpacked code package) would otherwise stay invisible.
    importlib.invalidate_caches()


def has_module(folder: str | os.PathLike[str], top: str) -> bool:
    """Whether ``folder`` holds the top-level module or package ``top``."""
    base = os.path.join(folder, top)
    return os.path.isfile(base + ".py") or os.path.isfile(os.path.join(base, "__init__.py"))


def src_folder(root: str | os.PathLike[str], top: str) -> str | None:
    """``root/src`` when the module ``top`` lives there (a "src layout") and not in root."""
    src = os.path.join(root, "src")
    if (
        not has_module(root, top)
        and has_module(src, top)
        and not os.path.isfile(os.path.join(src, "__init__.py"))
    ):
        return src
    return None


def _use_src_layout(name: str, root: str) -> None:
    # A project whose code sits in src/ imports as if src/ were on the path, as it is once
    # the project is installed; nothing else in src/ is made importable.
    src = src_folder(root, name.partition(".")[0])
    if src is not None:
        _put_on_sys_path(src)


def _reject_file_name(module: str, spec: str, root: str) -> None:
    # Checked before importing: importing 'wsgi.py' would run 'wsgi' before failing on '.py'.
    if module.endswith(".py") and os.path.isfile(os.path.join(root, module)):
        suggestion = spec.strip().replace(module, module.removesuffix(".py"), 1)
        raise AppLoadError(f"{spec!r} names a file; use the module name instead: {suggestion!r}.")


def _import(name: str, spec: str, root: str) -> ModuleType:
    _use_src_layout(name, root)
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        missing = exc.name
        if type(exc).__qualname__ == "PackageNotFoundError":
            raise  # a distribution's metadata is missing, not a module
        # Only the module the spec asks for (or its package) being absent is the user's typo.
        # A ModuleNotFoundError for anything else was raised by an import inside the user's
        # code: a missing dependency, which they must see with their own traceback.
        if missing is None or not (name == missing or name.startswith(missing + ".")):
            raise
        raise AppLoadError(_not_found_message(name, missing, spec, root)) from None


def _not_found_message(name: str, missing: str, spec: str, root: str) -> str:
    if name.endswith(".py"):
        return (
            f"No module named {missing!r} in {root!r} or on sys.path. {spec!r} names a file; "
            f"use its module name {name.removesuffix('.py')!r}, run from the directory that "
            "holds it."
        )
    parent, _, leaf = missing.rpartition(".")
    package = sys.modules.get(parent) if parent else None
    if package is not None:
        import difflib
        import pkgutil

        siblings = [info.name for info in pkgutil.iter_modules(getattr(package, "__path__", []))]
        close = difflib.get_close_matches(leaf, siblings, n=1)
        fix = (
            f"Did you mean '{parent}.{close[0]}'?" if close else f"Check the spelling in {spec!r}."
        )
        return f"No module named {missing!r}: package {parent!r} has no module {leaf!r}. {fix}"
    return (
        f"No module named {missing!r} in {root!r} or on sys.path. Check the spelling in "
        f"{spec!r}, or run from the directory that contains {missing.partition('.')[0]!r}."
    )


def _lookup(module: ModuleType, module_name: str, dotted: str, spec: str) -> Any:
    obj: Any = module
    found: list[str] = []
    for part in dotted.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            if found:
                raise AppLoadError(
                    f"Failed to find attribute {dotted!r} in {module_name!r}: "
                    f"{'.'.join(found)!r} has no attribute {part!r}. "
                    f"Check the spelling in {spec!r}."
                ) from None
            public = [name for name in vars(module) if not name.startswith("_")]
            import difflib

            close = difflib.get_close_matches(part, public, n=1)
            fix = (
                f"Did you mean '{module_name}:{close[0]}'?"
                if close
                else f"Use '{module_name}:name' with a name that {module_name!r} defines."
            )
            raise AppLoadError(
                f"Failed to find attribute {part!r} in {module_name!r}. {fix}"
            ) from None
        found.append(part)
    return obj


# --- checking and calling ------------------------------------------------------------------


def _accepts_wsgi_call(obj: Any) -> bool:
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        # Some C callables have no signature to inspect; let the server find out.
        return True
    try:
        signature.bind(None, None)
    except TypeError:
        return False
    return True


def _signature_text(name: str, obj: Any) -> str:
    try:
        return f"{name.rpartition('.')[2]}{inspect.signature(obj)}"
    except (TypeError, ValueError):
        return f"{name}(...)"


def _describe(obj: Any) -> str:
    if obj is None:
        return "None"
    if inspect.ismodule(obj):
        return f"the module {obj.__name__!r}"
    return f"a {type(obj).__name__!r} object"


def _check_app(obj: Any, what: str, fix: str) -> WSGIApplication:
    if not callable(obj):
        raise AppLoadError(f"{what} is {_describe(obj)}, not a WSGI application. {fix}")
    if not _accepts_wsgi_call(obj):
        raise AppLoadError(
            f"{what} cannot be called as app(environ, start_response); its signature is "
            f"{_signature_text(getattr(obj, '__name__', type(obj).__name__), obj)}. {fix}"
        )
    return cast("WSGIApplication", obj)


def _call_factory(factory: Any, parsed: AppSpec, spec: str) -> WSGIApplication:
    name = cast(str, parsed.name)
    if not callable(factory):
        raise AppLoadError(
            f"{name!r} in {parsed.module!r} is {_describe(factory)}, so it cannot be called. "
            f"Use '{parsed.module}:{name}' without parentheses."
        )
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        signature = None
    if signature is not None:
        # Binding first tells "the spec passes the wrong arguments" (the user's typo) apart
        # from a TypeError raised inside the factory (a bug whose traceback they need).
        try:
            signature.bind(*parsed.args, **parsed.kwargs)
        except TypeError as exc:
            raise AppLoadError(
                f"Cannot call the factory {name!r} in {parsed.module!r} as given in {spec!r}: "
                f"{exc}. Its signature is {_signature_text(name, factory)}; "
                "pass arguments that match it."
            ) from None
    app = factory(*parsed.args, **parsed.kwargs)
    short = name.rpartition(".")[2]
    return _check_app(
        app,
        f"The result of {str(parsed)!r}",
        f"Make {short!r} end with 'return app', where app is the WSGI application.",
    )


# --- discovery -----------------------------------------------------------------------------


def _discover(module: ModuleType, module_name: str, spec: str, root: str) -> WSGIApplication:
    if _is_django_settings(module):
        _claim_settings(module_name, spec)
        return _django_app(module, root)

    named = _unique((name, getattr(module, name, None)) for name in _APP_NAMES)
    named = [(name, obj) for name, obj in named if _is_app_object(obj)]
    if len(named) > 1:
        # e.g. app = Flask(...); application = SomeMiddleware(app): serving either could be
        # the mistake, so ask rather than guess.
        raise _several_apps(module_name, [name for name, _ in named])
    if named:
        return cast("WSGIApplication", named[0][1])

    public = [(name, obj) for name, obj in vars(module).items() if not name.startswith("_")]
    for test in (_is_framework_app, _is_app_named_object):
        found = _unique((name, obj) for name, obj in public if test(name, obj))
        if len(found) > 1:
            raise _several_apps(module_name, [name for name, _ in found])
        if found:
            return cast("WSGIApplication", found[0][1])

    for name in _FACTORY_NAMES:
        factory = getattr(module, name, None)
        if inspect.isfunction(factory):
            return _call_discovered_factory(factory, module_name, name)

    settings = _package_settings(module, module_name)
    if settings is not None:
        _claim_settings(settings.__name__, spec)
        return _django_app(settings, root)

    raise AppLoadError(
        f"Failed to find a WSGI application in module {module_name!r}. "
        f"Use '{module_name}:name' to name one."
    )


def _unique(pairs: Iterable[tuple[str, Any]]) -> list[tuple[str, Any]]:
    # `application = app` is an alias, not a second application.
    seen: set[int] = set()
    result = []
    for name, obj in pairs:
        if obj is not None and id(obj) not in seen:
            seen.add(id(obj))
            result.append((name, obj))
    return result


def _several_apps(module_name: str, names: list[str]) -> AppLoadError:
    listing = ", ".join(repr(name) for name in names)
    return AppLoadError(
        f"Found {len(names)} WSGI applications in module {module_name!r} ({listing}). "
        f"Use '{module_name}:name' to name one, e.g. '{module_name}:{names[0]}'."
    )


def _is_app_object(obj: Any) -> bool:
    # Plain functions count: `def application(environ, start_response)` is the PEP 3333 example.
    return (
        callable(obj)
        and not inspect.isclass(obj)
        and not inspect.ismodule(obj)
        and _accepts_wsgi_call(obj)
    )


def _is_instance(obj: Any) -> bool:
    return callable(obj) and not (
        inspect.isclass(obj) or inspect.ismodule(obj) or inspect.isroutine(obj)
    )


def _is_framework_app(name: str, obj: Any) -> bool:
    if not _is_instance(obj):
        return False
    # Frameworks are only looked up when the user's module has imported them already;
    # importing Flask or Django here just to test isinstance() would cost startup time.
    for module_name, class_name in (
        ("flask", "Flask"),
        ("django.core.handlers.wsgi", "WSGIHandler"),
    ):
        cls = getattr(sys.modules.get(module_name), class_name, None)
        if isinstance(cls, type) and isinstance(obj, cls):
            return True
    return callable(getattr(type(obj), "wsgi_app", None))


def _is_app_named_object(name: str, obj: Any) -> bool:
    words = name.lower().split("_")
    app_like = any(word.endswith(("app", "application")) or word == "wsgi" for word in words)
    return app_like and _is_instance(obj) and _accepts_wsgi_call(obj)


def _call_discovered_factory(factory: Any, module_name: str, name: str) -> WSGIApplication:
    try:
        inspect.signature(factory).bind()
    except TypeError:
        raise AppLoadError(
            f"Detected the factory {name!r} in module {module_name!r}, but it needs arguments: "
            f"{_signature_text(name, factory)}. "
            f"Use '{module_name}:{name}(...)' with literal arguments, "
            f"e.g. '{module_name}:{name}(\"/data\")'."
        ) from None
    return _check_app(
        factory(),
        f"The result of '{module_name}:{name}()'",
        f"Make {name!r} end with 'return app', where app is the WSGI application.",
    )


# --- Django --------------------------------------------------------------------------------


def _is_django_settings(module: ModuleType) -> bool:
    namespace = vars(module)
    return any(marker in namespace for marker in _DJANGO_MARKERS)


def _package_settings(module: ModuleType, module_name: str) -> ModuleType | None:
    if not hasattr(module, "__path__"):
        return None
    name = f"{module_name}.settings"
    if importlib.util.find_spec(name) is None:
        return None
    settings = importlib.import_module(name)
    return settings if _is_django_settings(settings) else None


def _claim_settings(settings_name: str, spec: str) -> None:
    current = os.environ.setdefault(_SETTINGS_ENV, settings_name)
    # Django would configure itself from the environment, not from the module the spec names:
    # serving one project's WSGI_APPLICATION with another settings module is never intended.
    if current != settings_name:
        raise AppLoadError(
            f"DJANGO_SETTINGS_MODULE is {current!r}, but {spec!r} names {settings_name!r}. "
            f"Use {current!r} as the application spec, or unset DJANGO_SETTINGS_MODULE."
        )


def django_folder(text: str, root: str) -> str | None:
    """The Django project folder the spec ``text`` names from ``root`` (``forum``, holding
    ``manage.py``), or ``None`` when it names a module."""
    if not text:
        return None
    path = os.path.normpath(os.path.join(root, os.path.expanduser(text)))
    if not os.path.isdir(path):
        return None
    # A bare name such as 'mysite' is a folder spec only when manage.py says so; otherwise it
    # may be a package to import.
    if _looks_like_path(text) or os.path.isfile(os.path.join(path, "manage.py")):
        return path
    return None


def _load_django_folder(folder: str, spec: str) -> WSGIApplication:
    manage_py = os.path.join(folder, "manage.py")
    if os.path.isfile(manage_py):
        settings_name = _settings_from_manage_py(manage_py, spec)
        _put_on_sys_path(folder)
        # manage.py itself uses setdefault, so an exported DJANGO_SETTINGS_MODULE wins over
        # the file here exactly as it does for `python manage.py runserver`.
        settings_name = os.environ.setdefault(_SETTINGS_ENV, settings_name)
        return _django_app(_import(settings_name, spec, folder), folder)

    if os.path.isfile(os.path.join(folder, "settings.py")):
        package = os.path.basename(folder)
        if not package.isidentifier():
            raise AppLoadError(
                f"The directory {spec!r} holds settings.py, but {package!r} is not a valid "
                "package name. Rename the directory, e.g. to 'mysite'."
            )
        parent = os.path.dirname(folder)
        _put_on_sys_path(parent)
        settings_name = f"{package}.settings"
        settings = _import(settings_name, spec, parent)
        if not _is_django_settings(settings):
            raise AppLoadError(
                f"{settings_name!r} in {spec!r} defines neither INSTALLED_APPS nor ROOT_URLCONF, "
                "so it is not Django settings. Use 'module:name' to name the application."
            )
        _claim_settings(settings_name, spec)
        return _django_app(settings, parent)

    raise AppLoadError(
        f"The directory {spec!r} holds neither manage.py nor settings.py. Use 'module:name' "
        "with cwd set to the directory that holds the module, e.g. 'wsgi:application'."
    )


def _settings_from_manage_py(manage_py: str, spec: str) -> str:
    with open(manage_py, encoding="utf-8", errors="replace") as file:
        match = _MANAGE_PY_SETTINGS.search(file.read())
    if match is None:
        # A manage.py that leaves the settings to the environment, as Django then does.
        exported = os.environ.get(_SETTINGS_ENV, "").strip()
        if exported:
            return exported
        raise AppLoadError(
            f"{manage_py!r} does not set DJANGO_SETTINGS_MODULE, so {spec!r} cannot be resolved. "
            "Set DJANGO_SETTINGS_MODULE, or use the settings module as the spec, e.g. "
            "'mysite.settings'."
        )
    return match.group(1)


def _django_app(settings: ModuleType, root: str) -> WSGIApplication:
    settings_name = settings.__name__
    target = vars(settings).get("WSGI_APPLICATION")
    if target is None:
        # What Django's runserver does when WSGI_APPLICATION is unset.
        try:
            django_wsgi = importlib.import_module("django.core.wsgi")
        except ModuleNotFoundError as exc:
            if exc.name not in ("django", "django.core", "django.core.wsgi"):
                raise
            raise AppLoadError(
                f"{settings_name!r} is Django settings, but Django is not installed. "
                "Add 'django' to requirements.txt and run 'pip install django'."
            ) from None
        return cast("WSGIApplication", django_wsgi.get_wsgi_application())
    if not isinstance(target, str) or not _is_dotted(target) or "." not in target:
        raise AppLoadError(
            f"WSGI_APPLICATION in {settings_name!r} is {target!r}. Set it to the dotted path "
            "of the application, e.g. WSGI_APPLICATION = 'mysite.wsgi.application'."
        )
    module_name, _, attr = target.rpartition(".")
    try:
        app = _lookup(_import(module_name, target, root), module_name, attr, target)
    except AppLoadError as exc:
        raise AppLoadError(
            f"WSGI_APPLICATION = {target!r} in {settings_name!r} does not resolve: {exc}"
        ) from None
    return _check_app(
        app,
        f"WSGI_APPLICATION = {target!r} in {settings_name!r}",
        "Point it at the object that get_wsgi_application() returned.",
    )
