"""Importing the app as FC will, in a child interpreter, before anything is deployed.

:func:`confirm_import` runs ``python -m fcmigrate.build.importcheck`` through
:mod:`fcmigrate.build.child` (the project's imports may fail, hang or have side effects),
with the folder it runs in read-only as ``/code`` is on FC (:mod:`fcmigrate.build.readonly`).
It reports the framework of the object it got; an exception inside the user's code prints
the user's traceback and raises :class:`~fcmigrate.errors.AppImportError`, a write under the
code folder raises one that names the file, a spec mistake raises
:class:`~fcmigrate.errors.AppLoadError`.

This module is also the child's program, so at import it needs only the standard library
and the parts of fcmigrate a build's import check carries.
"""

from __future__ import annotations

import ast
import dataclasses
import os
import re
import sys
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from fcmigrate.build.child import install_guard, read_request, run_child, write_answer
from fcmigrate.build.readonly import tree_state
from fcmigrate.errors import AppImportError, AppLoadError, FCMigrateError
from fcmigrate.runtime.import_errors import import_failed as _import_failed
from fcmigrate.runtime.import_errors import missing_variable, user_traceback

if TYPE_CHECKING:
    from fcmigrate.build.detect import Detected

__all__ = [
    "IMPORT_TIMEOUT",
    "OwnMetadataError",
    "UnlistedError",
    "changed_path",
    "confirm_import",
    "read_only_error",
]

IMPORT_TIMEOUT = 120.0
#: How the note on Flask-Assets' build at request time begins (migrate drops it once it has
#: built the bundles itself).
ASSETS_NOTE_START = "Flask-Assets builds the app's bundles into"
#: The program the child runs (``python -m``): this module.
CHILD_MODULE = "fcmigrate.build.importcheck"
_SETTINGS_ENV = "DJANGO_SETTINGS_MODULE"


class UnlistedError(AppImportError):
    """The import failed inside the installed package ``importer`` (name, version) on
    ``module``, a top-level module that nothing installed, and that it does not list a
    dependency for."""

    def __init__(self, message: str, importer: tuple[str, str], module: str):
        super().__init__(message)
        self.importer = importer
        self.module = module


class OwnMetadataError(AppImportError):
    """The import asks for the installed metadata of the project itself (``distribution``,
    as its pyproject.toml or setup.py names it), which a build of its dependencies lacks."""

    def __init__(self, message: str, distribution: str):
        super().__init__(message)
        self.distribution = distribution


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
    left_out: Mapping[str, str] | None = None,
) -> Detected:
    """Import ``detected.spec`` in a subprocess; return ``detected`` with the real framework.

    ``python`` (default: this interpreter) runs ``python -m fcmigrate.build.importcheck``
    (:mod:`fcmigrate.build.child`'s protocol), so fcmigrate must be importable there: from
    its environment, or from ``pythonpath``. ``isolated`` starts it with ``-s -S``: no
    site-packages, only ``pythonpath`` and the standard library, the way a bare interpreter
    on FC sees a vendored build. ``code_dir`` (default: the project) is the folder the
    import runs in, as FC runs ``/code``; ``env`` replaces this process's environment;
    ``hooks`` (``'module:function'``) are imported after the app. ``left_out`` maps the
    project paths the build did not copy to why: an import that fails on one of them says so.

    The code folder is read-only there, as on FC (:mod:`fcmigrate.build.readonly`): a write
    under it raises ``OSError`` in the child, and if the import then fails, the one-line error
    names the file. No bytecode is written. A spec mistake raises
    :class:`~fcmigrate.errors.AppLoadError`; an exception in the user's code is printed
    (their traceback) and raises :class:`AppImportError`.
    """
    root = detected.root
    folder = root if code_dir is None else Path(code_dir)
    # A write the audit hook cannot see (a subprocess, a C library) still shows here.
    before = tree_state(folder) if code_dir is not None else {}
    reply = run_child(
        ["-m", CHILD_MODULE],
        {"root": str(folder), "spec": detected.spec, "hooks": list(hooks)},
        cwd=folder,
        env=os.environ if env is None else env,
        timeout=timeout,
        doing=f"Importing {detected.spec!r}",
        purpose="to import the app",
        slow_advice="Move slow work (database connections, downloads) out of import time.",
        python=python,
        isolated=isolated,
        pythonpath=list(pythonpath),
        read_only=folder,
    )
    result = reply.answer
    changed = changed_path(before, tree_state(folder)) if code_dir is not None else None
    denied = result.get("read_only")
    if isinstance(denied, dict):
        raise AppImportError(read_only_error(str(result.get("spec") or detected.spec), denied))
    if changed is not None:
        raise AppImportError(read_only_error(detected.spec, {"path": changed}))
    database = result.get("sqlite_in_code")
    if reply.returncode == 0 and isinstance(database, str):
        raise AppImportError(sqlite_in_code_error(detected.spec, database))
    if reply.returncode == 0 and "framework" in result:
        return dataclasses.replace(
            detected,
            framework=str(result["framework"]),
            settings_module=result.get("settings") or detected.settings_module,
            confirmed=True,
            notes=(*detected.notes, *_notes(result)),
        )
    if "error" in result:
        # Said of the project, not of the build's staging folder the check ran in.
        raise AppLoadError(str(result["error"]).replace(str(folder), str(root)))
    stderr = reply.stderr
    if "No module named 'fcmigrate'" in stderr and CHILD_MODULE in stderr:
        raise FCMigrateError(
            f"{python or sys.executable!r} cannot import fcmigrate, so it cannot check the app. "
            "Install fcmigrate for that interpreter, or pass it on pythonpath."
        )
    if folder != root:
        stderr = _shown_in(stderr, folder, root)
    sys.stderr.write(stderr if stderr.endswith("\n") or not stderr else stderr + "\n")
    sys.stderr.flush()
    failure = reply.failure()
    if not result and failure is not None:
        # The child never got to answer: the import ended the interpreter (os._exit, a
        # crash in a C extension), which ends the function's start on FC as well.
        raise AppImportError(
            f"Importing {detected.spec!r} ended the import check before it could answer "
            f"({failure}). Code that exits or crashes the interpreter at import stops the "
            "function from starting on FC too: fix it, and run again."
        )
    variable = result.get("missing_env")
    if not (isinstance(variable, str) and variable.isidentifier()):
        variable = None
    spec = str(result.get("spec") or detected.spec)
    if variable is None:
        file_error = _file_error(spec, result, folder, root, left_out or {})
        if file_error is not None:
            raise AppImportError(file_error)
    distribution = result.get("missing_distribution")
    if variable is None and isinstance(distribution, str) and distribution:
        # Raised inside importlib.metadata or pkg_resources: not their fault, nor the app's code.
        raise _distribution_missing(spec, distribution, detected.root)
    package = result.get("failed_in")
    if variable is None and isinstance(package, str) and package.isidentifier():
        version = result.get("python")
        shown_version = version if isinstance(version, str) else None
        failed = _package_failed(spec, package, folder, shown_version, result)
        raise failed if isinstance(failed, AppImportError) else AppImportError(failed)
    missing = result.get("missing_module")
    if variable is None and isinstance(missing, str) and missing:
        group = _left_out_group(detected.root, missing)
        if group is not None:
            raise AppImportError(_group_left_out(spec, missing, *group))
        sibling = _sibling_module(spec, missing, result.get("failed_from"), folder)
        if sibling is not None:
            raise AppImportError(sibling)
    if variable is None and result.get("error_class") == "builtins.NameError":
        deferred = _needs_deferred_annotations(spec, result, folder)
        if deferred is not None:
            raise AppImportError(deferred)
    if variable is None and result.get("error_class") == "builtins.ImportError":
        gone = _name_gone(spec, str(result.get("message") or ""), folder, detected.requirements)
        if gone is not None:
            raise gone
    raise AppImportError(_import_failed(spec, variable))


#: Python's words for ``from module import name`` when ``module`` has no ``name``.
_CANNOT_IMPORT = re.compile(r"^cannot import name '(\w+)' from '([\w.]+)' \((.+)\)$")


def _name_gone(
    spec: str, message: str, folder: Path, requirements: Sequence[str]
) -> AppImportError | None:
    """The app's own code imports a name that the installed release of a package no longer
    has (``ugettext_lazy``, removed in Django 4.0): the requirements let the build take a
    newer release than the code was written for. A :class:`TooNewError` when they list it
    without a version, which the build may then hold back."""
    from fcmigrate.build.apart import TooNewError

    match = _CANNOT_IMPORT.match(message.strip())
    site = folder / "python"
    if match is None or not match.group(3).startswith(str(site) + os.sep):
        return None
    name, module, file = match.groups()
    found = _distribution_of(
        site, module.split(".")[0], os.path.relpath(file, site).replace(os.sep, "/")
    )
    if found is None:
        return None
    dist, version = found
    listed = [
        r
        for r in requirements
        if _canonical(re.split(r"[\s\[;=<>~!@(]", r.strip(), maxsplit=1)[0]) == _canonical(dist)
    ]
    free = bool(listed) and not re.search(r"[=<>~!]", listed[0])
    how = (
        f"your requirements list it without a version ({listed[0]!r}), so the build took the newest"
        if free
        else "that is the release your requirements allow"
    )
    text = (
        f"Importing {spec!r} failed: your code imports {name!r} from {module!r}, which "
        f"{dist} {version} does not have (traceback above); {how}. Pin the release of "
        f"{dist} your code was written for in your requirements (e.g. from a lock file or "
        "'pip freeze'), or change the import to what that release offers."
    )
    return TooNewError(text, (dist, version), name, module) if free else AppImportError(text)


def _missing_distribution(exc: BaseException) -> str | None:
    """The distribution whose installed metadata the import asked for and did not find
    (``importlib.metadata.version('x')``, PasteDeploy's ``egg:x``, ``pkg_resources``)."""
    kind = type(exc).__qualname__
    if kind == "PackageNotFoundError" and exc.args and isinstance(exc.args[0], str):
        return exc.args[0]
    if kind == "DistributionNotFound" and exc.args:
        requirement = exc.args[0]
        name = getattr(requirement, "name", None) or getattr(requirement, "project_name", None)
        return name if isinstance(name, str) else None
    return None


def _distribution_missing(spec: str, distribution: str, root: Path) -> AppImportError:
    """The import asks for a distribution's installed metadata, which the build lacks: most
    often the project's own, whose dependencies are installed but not the project itself."""
    from fcmigrate.build.requirements import project_name

    own = project_name(root)
    if own is not None and _canonical(own[0]) == _canonical(distribution):
        return OwnMetadataError(
            f"Importing {spec!r} failed: it asks for the installed metadata of "
            f"{distribution!r} (traceback above), the project itself ({own[1]} names it), "
            "but a build installs the project's dependencies, not the project. List the "
            "project itself ('.') in requirements.txt, so that its metadata and entry points "
            "are installed too, and run again.",
            own[0],
        )
    return AppImportError(
        f"Importing {spec!r} failed: it asks for the installed metadata of the distribution "
        f"{distribution!r} (traceback above), which the build does not have. Add "
        f"{distribution!r} to your requirements, and run again."
    )


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _sibling_module(spec: str, missing: str, importer: object, folder: Path) -> str | None:
    """The error for a module in a subfolder that imports its neighbour as a top-level
    module (``from components import x`` in ``app/app.py``), which only works when that
    subfolder is where Python starts."""
    if not isinstance(importer, str) or "/" not in importer:
        return None
    top = missing.split(".")[0]
    here = PurePosixPath(importer).parent
    beside = folder / here / top
    if not (beside.is_dir() or beside.with_suffix(".py").is_file()):
        return None
    package = ".".join(here.parts)
    return (
        f"Importing {spec!r} failed: {importer!r} imports {top!r} as a top-level module, but "
        f"{top!r} is in '{here}/', beside it, which is on the import path only when Python "
        f"starts in that folder ('python {PurePosixPath(importer).name}' there); the build "
        "starts in the project's folder, as FC does (traceback above). Import it from its "
        f"package ('from {package}.{top} import ...', or 'from .{top} import ...'), and run "
        "again."
    )


_NOT_DEFINED = re.compile(r"^name '(\w+)' is not defined")


def _needs_deferred_annotations(spec: str, result: Mapping[str, Any], folder: Path) -> str | None:
    """The error for code written for Python 3.14, where annotations are evaluated only when
    asked (PEP 649): an annotation naming what the file imports only for type checkers
    (``if TYPE_CHECKING:``) fails on the target Python when its function is defined."""
    from fcmigrate.build.facts import SUPPORTED_PYTHONS

    match = _NOT_DEFINED.match(str(result.get("message") or ""))
    file, line = result.get("failed_from"), result.get("failed_line")
    if match is None or not isinstance(file, str) or not isinstance(line, int):
        return None
    try:
        tree = ast.parse((folder / file).read_bytes())
    except (OSError, SyntaxError, ValueError):
        return None
    name = match.group(1)
    if (
        _defers_annotations(tree)
        or name not in _type_checking_imports(tree)
        or not _annotation_names(tree, name, line)
    ):
        return None
    return (
        f"Importing {spec!r} failed in {file} line {line}: an annotation there names {name!r}, "
        f"which {file} imports only for type checkers (under 'if TYPE_CHECKING:'), so it is "
        "not defined when the code runs (traceback above). Python 3.14 evaluates annotations "
        "only when asked (PEP 649); the Pythons FC runs, "
        f"{SUPPORTED_PYTHONS[0]} to {SUPPORTED_PYTHONS[-1]}, evaluate them when the function "
        f"or class is defined. Add 'from __future__ import annotations' at the top of {file} "
        "(it defers them on any Python 3), or put the annotation in quotes."
    )


def _defers_annotations(tree: ast.Module) -> bool:
    return any(
        isinstance(node, ast.ImportFrom)
        and node.module == "__future__"
        and any(alias.name == "annotations" for alias in node.names)
        for node in tree.body
    )


def _type_checking_imports(tree: ast.Module) -> set[str]:
    """The names a module binds only under ``if TYPE_CHECKING:`` (or ``typing.TYPE_CHECKING``)."""
    names: set[str] = set()
    for node in tree.body:
        test = node.test if isinstance(node, ast.If) else None
        flag = test.id if isinstance(test, ast.Name) else getattr(test, "attr", None)
        if flag != "TYPE_CHECKING":
            continue
        for statement in ast.walk(node):
            if isinstance(statement, (ast.Import, ast.ImportFrom)):
                for alias in statement.names:
                    names.add(alias.asname or alias.name.split(".")[0])
    return names


def _annotation_names(tree: ast.Module, name: str, line: int) -> bool:
    """Whether an annotation on ``line`` names ``name``."""
    annotations: list[ast.expr | None] = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            arguments = node.args
            every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
            every += [a for a in (arguments.vararg, arguments.kwarg) if a is not None]
            annotations += [a.annotation for a in every]
            annotations.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            annotations.append(node.annotation)
    return any(
        isinstance(part, ast.Name) and part.id == name and part.lineno == line
        for annotation in annotations
        if annotation is not None
        for part in ast.walk(annotation)
    )


def _left_out_group(root: Path, module: str) -> tuple[str, str] | None:
    from fcmigrate.build.requirements import left_out_group_providing

    return left_out_group_providing(root, module)


def _group_left_out(spec: str, module: str, requirement: str, where: str) -> str:
    """The import needs a package that only a development group of pyproject.toml lists."""
    return (
        f"Importing {spec!r} failed: there is no module named {module!r} (traceback above). "
        f"{requirement!r} installs it, but it is listed in pyproject.toml's {where}, which a "
        "build leaves out, as 'uv sync --no-dev' does. Move it to [project] dependencies if "
        "the app needs it on FC, or import it only in development (e.g. add it to "
        "INSTALLED_APPS only when DEBUG is on)."
    )


def _notes(result: Mapping[str, Any]) -> list[str]:
    """Notes for what the child saw in the imported app."""
    notes = []
    if result.get("ssl_redirect") is True:
        notes.append(
            "Django's SECURE_SSL_REDIRECT is on. FC serves HTTPS at its front door and the "
            "function sees plain HTTP; fcmigrate sets the scheme from X-Forwarded-Proto when "
            "FC sends it, which is not documented, and takes a request without it as HTTPS "
            "(else every request would redirect to itself): a client that calls the function "
            "over plain HTTP is then served without the redirect."
        )
    folder = result.get("assets_auto_build")
    if isinstance(folder, str):
        notes.append(
            f"{ASSETS_NOTE_START} {folder!r} at the first request that "
            "renders one (ASSETS_AUTO_BUILD is on), but the code folder is read-only on FC: "
            "that request fails with a 500. Build them before migrating ('flask assets "
            "build' in the project, so the build ships them) and set ASSETS_AUTO_BUILD = False "
            "in the production config."
        )
    removed = result.get("removed_names")
    if isinstance(removed, dict) and removed:
        packages = sorted(removed)
        shown = "; ".join(
            f"{name} (collections.{', collections.'.join(removed[name][:3])})"
            for name in packages[:4]
        )
        notes.append(
            f"Old releases in the build use names Python 3.10 removed from collections: "
            f"{shown}. fcmigrate's runtime gives them the same classes from collections.abc, "
            "on FC as in this check (FCMIGRATE_COMPAT=0 turns that off); newer releases of "
            f"{', '.join(packages[:4])} are the lasting fix."
        )
    settings = result.get("static_url_settings")
    if isinstance(settings, dict):
        for key, value in sorted(settings.items())[:2]:
            notes.append(
                f"The app's setting {key} is {value!r}, a URL from the site's root: links a "
                f'template writes from it ("{{{{ config.{key} }}}}/...") leave FC\'s '
                "/2016-08-15/proxy/<service>/<function> prefix and are not found there (on a "
                "custom domain served at '/' they work). Build them with url_for('static', "
                f"filename=...), or give {key} the prefixed path with --env."
            )
    return notes


def _file_error(
    spec: str, result: Mapping[str, Any], folder: Path, root: Path, left_out: Mapping[str, str]
) -> str | None:
    """The one line for an import that failed on a file: one the build left out, or one a
    missing file of the project (not a release of the package that opened it)."""
    message = str(result.get("message") or "")
    filename = result.get("filename")
    rel = None
    if isinstance(filename, str) and filename:
        opened = Path(filename) if os.path.isabs(filename) else folder / filename
        try:
            rel = opened.resolve().relative_to(folder.resolve()).as_posix()
        except ValueError:
            rel = None
    for path, why in left_out.items():
        named = rel is not None and (rel == path or rel.startswith(path + "/"))
        name = path.rsplit("/", 1)[-1]
        if named or ("." in name and re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w-])", message)):
            return (
                f"Importing {spec!r} failed, and the error names {path!r} (traceback above), "
                f"which the build leaves out ({why}). If the app cannot start without it, "
                f"ship it with the line '!{path}' in .fcignore."
            )
    if rel is not None and result.get("missing_file") and not (root / rel).exists():
        return (
            f"Importing {spec!r} failed: it opens {rel!r}, which is not in the project "
            "(traceback above). Put the file there before migrating (one that a setup step "
            "downloads too), or take its path from an environment variable."
        )
    return None


#: What a package says when a shared library of the system is missing (ImageMagick for Wand,
#: libmagic, cairo): no pin of the package helps there.
_SYSTEM_LIBRARY = re.compile(
    r"shared librar|cannot open shared object|lib[\w.+-]*\.so\b|library not found|"
    r"no library called|could not find library|failed to find library",
    re.IGNORECASE,
)


def _package_failed(
    spec: str, package: str, folder: Path, version: str | None, result: Mapping[str, Any]
) -> str | AppImportError:
    """The import failed inside a vendored package, not in the project's code: a system
    library it loads is missing, it raised an error of its own (credentials, settings, a
    service), or (a built-in error such as AttributeError) its release may not run on the
    target Python."""
    target = f"Python {version}" if version else "the target Python"
    failed_file = result.get("failed_file")
    dist = _distribution_of(folder / "python", package, failed_file)
    shown = f"{dist[0]} {dist[1]}" if dist else package
    name = dist[0] if dist else package
    message = str(result.get("message") or "")
    error_class = str(result.get("error_class") or "")
    if _SYSTEM_LIBRARY.search(message):
        return (
            f"Importing {spec!r} failed inside the installed package {shown!r} (traceback "
            "above): it loads a shared library of the system that is not here, and FC's "
            "runtime has only what its Debian image has. Build a container image with "
            "'fcmigrate dockerize' and install the library there, or use a package that "
            "bundles it in its wheel."
        )
    missing = result.get("missing_module")
    if isinstance(missing, str) and missing and error_class == "builtins.ModuleNotFoundError":
        site = folder / "python"
        if _names_module(site / str(failed_file or ""), missing):
            return _missing_module(spec, dist, name, missing, target, site)
        return (
            f"Importing {spec!r} failed: there is no module named {missing!r} (traceback "
            f"above), which {name} imports because your code or settings name it (an "
            "INSTALLED_APPS entry, a setting naming a class). Add the package that provides "
            f"{missing.split('.')[0]!r} to your requirements, or stop naming it."
        )
    apart = _apart(spec, dist, folder / "python", message, error_class, result)
    if apart is not None:
        return apart
    if result.get("os_error") or not error_class.startswith("builtins."):
        return (
            f"Importing {spec!r} failed inside the installed package {shown!r}, with its "
            f"error {error_class.removeprefix('builtins.')} (traceback above): the package "
            "refused what the app asks of it at import (credentials, a setting, a service "
            "to connect to), as its message says. Give the app what it needs (--env NAME="
            "VALUE reaches the import check and the function), or move that call out of "
            "import time."
        )
    return (
        f"Importing {spec!r} failed inside the installed package {shown!r}, not in your code "
        f"(traceback above): that release may not run on {target}. Pin a newer release of "
        f"{name} in your requirements (one that supports {target}), and run again."
    )


#: Modules that old packages import without listing the distribution that provides them,
#: because the environments they were made for always had it: -> (what provides it, the
#: requirement line to add, why it was there).
_ONCE_PRESENT = {
    "pkg_resources": (
        "setuptools",
        # setuptools 82 removed pkg_resources.
        "setuptools<82",
        "virtual environments made by pip and virtualenv carried setuptools until Python "
        "3.12, and a build installs only what is listed",
    ),
    "distutils": (
        "setuptools",
        "setuptools",
        "Python 3.12 removed distutils from the standard library; setuptools provides it",
    ),
}


def _names_module(file: Path, module: str) -> bool:
    """Whether ``file`` (a vendored package's source) imports ``module`` itself, rather than
    a name given to it by the app (``import_module(entry)``)."""
    try:
        text = file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    parent, _, last = module.rpartition(".")
    words = [rf"import\s+{re.escape(module)}\b", rf"from\s+{re.escape(module)}\s+import\b"]
    if parent:
        words.append(rf"from\s+{re.escape(parent)}\s+import\s+[^\n]*\b{re.escape(last)}\b")
    return any(re.search(word, text) for word in words)


def _missing_module(
    spec: str, dist: tuple[str, str] | None, name: str, module: str, target: str, site: Path
) -> str | AppImportError:
    """The import failed inside a vendored package (``dist``: name, version) on a module
    that is not there: a part of another installed package that its release no longer has,
    or a distribution the package uses without listing it as a dependency
    (:class:`UnlistedError`, when the package's distribution is known)."""
    shown = f"{dist[0]} {dist[1]}" if dist else name
    top = module.split(".")[0]
    owner = _distribution_of(site, top) if top != module else None
    if owner is not None:
        return (
            f"Importing {spec!r} failed inside the installed package {shown!r} (traceback "
            f"above): it imports {module!r}, which {owner[0]} {owner[1]} no longer has. That "
            f"release of {name} is older than the {owner[0]} it is installed with: pin a "
            f"newer release of {name}, or the older {owner[0]} it was written for."
        )
    if top in _ONCE_PRESENT:
        provider, line, why = _ONCE_PRESENT[top]
        return (
            f"Importing {spec!r} failed inside the installed package {shown!r} (traceback "
            f"above): it imports {top!r}, which comes with {provider}, but does not list "
            f"{provider} as a dependency ({why}). Add {line!r} to your requirements, or pin "
            f"a release of {name} that no longer needs it."
        )
    message = (
        f"Importing {spec!r} failed inside the installed package {shown!r} (traceback above): "
        f"it imports {top!r}, which is not installed, as {name} does not list what provides "
        f"it as a dependency on {target}. Add the package that provides {top!r} to your "
        f"requirements, or pin a release of {name} that does not need it."
    )
    return message if dist is None else UnlistedError(message, dist, top)


def _apart(
    spec: str,
    dist: tuple[str, str] | None,
    site: Path,
    message: str,
    error_class: str,
    result: Mapping[str, Any],
) -> AppImportError | None:
    """The error for a package that uses a name another installed package no longer has
    (:mod:`fcmigrate.build.apart`), else ``None``. When the error was raised inside the
    package that lacks the name (Jinja's ``import_string`` looking up ``jinja2.ext.with_``
    for Flask-DebugToolbar), the package that asked is the nearest other one in the
    traceback."""
    from fcmigrate.build.apart import apart_error, missing_name

    missing = missing_name(message, error_class)
    if missing is None or dist is None:
        return None
    provider = _distribution_of(site, missing[1].split(".")[0])
    if provider is None:
        return None
    importer: tuple[str, str] | None = dist
    if provider[0].lower() == dist[0].lower():
        importer = None
        files = result.get("vendored_files")
        for file in reversed(files if isinstance(files, list) else []):
            other = _distribution_of(site, str(file).split("/")[0].removesuffix(".py"), file)
            if other is not None and other[0].lower() != provider[0].lower():
                importer = other
                break
    if importer is None:
        return None
    return apart_error(spec, importer, provider, *missing)


def _distribution_of(
    site: Path, package: str, failed_file: object = None
) -> tuple[str, str] | None:
    """(name, version) of the distribution in ``site`` that installs the file that failed
    (exact, so a namespace package such as ``google`` names the right one), else the one
    that installs top-level ``package``."""
    records = sorted(site.glob("*.dist-info/RECORD"))
    patterns = [rf"^{re.escape(package)}(/|\.py,)"]
    if isinstance(failed_file, str) and failed_file:
        patterns.insert(0, rf"^{re.escape(failed_file)},")
    for pattern in patterns:
        for record in records:
            text = record.read_text(encoding="utf-8", errors="replace")
            if re.search(pattern, text, re.MULTILINE):
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
    line = f"{denied['file']} line {denied['line']}" if denied.get("file") else ""
    package = denied.get("package")
    if package:
        called = f", called from {line}" if line else ""
        where = f" (in the installed package {package!r}{called})"
    else:
        where = f" ({line})" if line else ""
    if package == "flask_sqlalchemy" and denied.get("event") == "os.mkdir":
        # Flask-SQLAlchemy 3 keeps a relative SQLite path in the instance folder, made at
        # init_app(): the app's own line is the one that configures it, not a mkdir.
        return (
            f"Importing {spec!r} {verb} {denied['path']!r}{where}: Flask-SQLAlchemy makes the "
            "app's instance folder for a SQLite database given by a relative path "
            "('sqlite:///data.db' is kept as 'instance/data.db'), but the code folder is "
            "read-only on FC (only /tmp is writable). Set SQLALCHEMY_DATABASE_URI to a file "
            f"under /tmp ({_SQLITE_TMP_EXAMPLE!r}, lost when the instance stops) or to a "
            "database server."
        )
    return (
        f"Importing {spec!r} {verb} {denied['path']!r}{where}, but the code folder is "
        "read-only on FC (only /tmp is writable). Write it under /tmp (tempfile.gettempdir()), "
        "take its path from an environment variable, or keep data that must last on NAS or OSS."
    )


_SQLITE_TMP_EXAMPLE = "sqlite:////tmp/app.db"


def sqlite_in_code_error(spec: str, path: str) -> str:
    """The one line for a Flask-SQLAlchemy database that is a missing file in the code folder:
    the app would create it at its first query (``db.create_all()`` at the first request)."""
    return (
        f"The app {spec!r} keeps its SQLite database in the code folder ({path!r}, from "
        "SQLALCHEMY_DATABASE_URI), which is read-only on FC (only /tmp is writable): the file "
        "cannot be created there, and every request that uses the database fails with "
        "'unable to open database file'. Set SQLALCHEMY_DATABASE_URI to a file under /tmp "
        f"({_SQLITE_TMP_EXAMPLE!r}, lost when the instance stops) or to a database server."
    )


def _django_setting(name: str) -> object:
    """A setting of the Django project the child imported (``None`` when unreadable)."""
    try:
        from django.conf import settings

        return getattr(settings, name, None)
    except Exception:  # settings that fail here already loaded for the app: not ours to judge
        return None


def _framework_of_object(obj: Any) -> str:
    names = {f"{cls.__module__}.{cls.__qualname__}" for cls in type(obj).__mro__}
    if "flask.app.Flask" in names:
        return "flask"
    if "django.core.handlers.wsgi.WSGIHandler" in names:
        return "django"
    # Django's handler wrapped in a middleware (``application = Sentry(application)``):
    # the project is still Django's, whose settings and static files the build handles.
    registry = getattr(sys.modules.get("django.apps"), "apps", None)
    if getattr(registry, "ready", False):
        return "django"
    return "wsgi"


def _probe(request: Mapping[str, Any]) -> int:
    """Child side of :func:`confirm_import`: with the code folder read-only, import the app
    and the hooks, and answer what the app is (or what went wrong)."""
    from fcmigrate.runtime.loader import import_string, load_app

    root, spec, hooks = str(request["root"]), str(request["spec"]), list(request["hooks"])
    if root not in sys.path:
        sys.path.insert(0, root)
    record = install_guard(request)
    denied = record.denied
    result: dict[str, Any] = {}
    current, step_start = spec, 0

    def save(code: int) -> int:
        from fcmigrate.runtime.compat import used

        # Only a refused write of the step that failed: one it survived fails on FC neither.
        if code and len(denied) > step_start:
            result["read_only"] = dataclasses.asdict(denied[step_start])
        result["spec"] = current
        if used:
            result["removed_names"] = used
        write_answer(result)
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
        if isinstance(exc, ModuleNotFoundError) and exc.name:
            result["missing_module"] = exc.name
        distribution = _missing_distribution(exc)
        if distribution:
            result["missing_distribution"] = distribution
        result["message"] = str(exc)[:2000]
        if isinstance(exc, OSError) and isinstance(exc.filename, (str, bytes)):
            result["filename"] = os.fsdecode(exc.filename)
            result["missing_file"] = isinstance(exc, FileNotFoundError)
        # The runtime's answer for a name Python removed is not where the failure is.
        frames = [
            frame
            for frame in traceback.extract_tb(exc.__traceback__)
            if not frame.filename.endswith(os.path.join("runtime", "compat.py"))
        ]
        result["python"] = f"{sys.version_info[0]}.{sys.version_info[1]}"
        vendored = os.path.join(root, "python") + os.sep
        own = os.path.join(os.path.realpath(root), "")
        if frames and os.path.realpath(frames[-1].filename).startswith(own):
            result["failed_from"] = os.path.relpath(
                os.path.realpath(frames[-1].filename), own
            ).replace(os.sep, "/")
            result["failed_line"] = frames[-1].lineno
        result["vendored_files"] = [
            frame.filename[len(vendored) :].replace(os.sep, "/")
            for frame in frames[-30:]
            if frame.filename.startswith(vendored)
        ]
        if frames and frames[-1].filename.startswith(vendored):
            inside = frames[-1].filename[len(vendored) :]
            result["failed_in"] = inside.split(os.sep)[0].removesuffix(".py")
            result["failed_file"] = inside.replace(os.sep, "/")
        result["error_class"] = f"{type(exc).__module__}.{type(exc).__qualname__}"
        result["os_error"] = isinstance(exc, OSError)
        return save(1)
    result["framework"] = _framework_of_object(app)
    result["settings"] = os.environ.get(_SETTINGS_ENV)
    if result["framework"] == "django":
        result["ssl_redirect"] = _django_setting("SECURE_SSL_REDIRECT") is True
    assets = _assets_built_at_request(app, root)
    if assets is not None:
        result["assets_auto_build"] = assets
    static_urls = _static_url_settings(app)
    if static_urls:
        result["static_url_settings"] = static_urls
    database = _missing_sqlite_in(app, root)
    if database is not None:
        result["sqlite_in_code"] = database
    return save(0)


#: Flask's own settings that hold a path from the site's root on purpose.
_FLASK_PATH_SETTINGS = frozenset({"APPLICATION_ROOT", "SESSION_COOKIE_PATH"})


def _static_url_settings(app: Any) -> dict[str, str]:
    """The app's own settings that hold a URL into its static files from the site's root
    (``ASSETS_ROOT = '/static/assets'``): templates that write them into links skip the
    prefix that the URLs Flask builds carry."""
    static = getattr(app, "static_url_path", None)
    config = getattr(app, "config", None)
    if not (isinstance(static, str) and static.startswith("/") and isinstance(config, dict)):
        return {}
    return {
        str(key): value
        for key, value in config.items()
        if isinstance(value, str)
        and key not in _FLASK_PATH_SETTINGS
        and (value.rstrip("/") == static or value.startswith(static + "/"))
    }


def _missing_sqlite_in(app: Any, root: str) -> str | None:
    """A SQLite file under ``root`` that the app's Flask-SQLAlchemy engines use and that is
    not there: the app would create it, which FC's read-only code folder refuses."""
    state = getattr(app, "extensions", {}).get("sqlalchemy") if hasattr(app, "config") else None
    if state is None:
        return None
    top = os.path.realpath(root)
    try:
        with app.app_context():
            engines = getattr(state, "engines", None)  # Flask-SQLAlchemy 3
            if engines is None:  # 2.x keeps the extension on its state object
                engines = {None: state.db.get_engine(app)}
            databases = [
                engine.url.database
                for engine in engines.values()
                if engine.url.get_backend_name() == "sqlite"
            ]
    except Exception:  # an engine that cannot be made here fails on FC the same way
        return None
    for database in databases:
        if not database or database == ":memory:" or database.startswith("file:"):
            continue
        path = os.path.realpath(os.path.join(top, database))
        if path.startswith(top + os.sep) and not os.path.exists(path):
            return os.path.relpath(path, top).replace(os.sep, "/")
    return None


def _assets_built_at_request(app: Any, root: str) -> str | None:
    """The folder under ``root`` where Flask-Assets (webassets) would build the app's
    bundles at the first request that renders one, if it would (``ASSETS_AUTO_BUILD``)."""
    env = getattr(getattr(app, "jinja_env", None), "assets_environment", None)
    if env is None:
        return None
    try:
        # An Environment() bound later with init_app(app) reads its settings from the app.
        with app.app_context():
            if not env.auto_build or not list(env):
                return None
            directory = os.path.realpath(str(env.directory))
    except Exception:  # not webassets' Environment after all
        return None
    top = os.path.realpath(root)
    if directory != top and not directory.startswith(top + os.sep):
        return None
    return os.path.relpath(directory, top).replace(os.sep, "/")


if __name__ == "__main__":
    sys.exit(_probe(read_request()))
