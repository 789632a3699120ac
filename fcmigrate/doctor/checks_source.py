"""Checks on the app's own Python source (static, over the AST) and its Flask app (imported)."""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fcmigrate.doctor import pysource
from fcmigrate.doctor.model import Finding, check, rule
from fcmigrate.doctor.project import Project

SYNTAX_ERROR = rule(
    "FC300",
    "syntax-error",
    "warning",
    why="A file that does not parse cannot be imported; if the app imports it, every FC "
    "instance fails to start.",
    fix="python -m py_compile <file>   # fix what it reports, or delete the file",
)
FILE_WRITE = rule(
    "FC301",
    "file-write",
    "error",
    why="On FC only /tmp is writable: the code folder (/code) is read-only, so the write raises "
    "OSError; at import time the instance never starts.",
    fix="Write under /tmp (tempfile.gettempdir()), log to stdout/stderr, and keep data in a "
    "database, OSS or a NAS mount.",
    severity_note="warning when the write is inside a function the import does not run, "
    "which fails only when it runs",
)
BACKGROUND = rule(
    "FC302",
    "background-work",
    "warning",
    why="FC freezes an instance as soon as no request is in flight and may stop it any time, "
    "so threads, processes and schedulers started by the app stall or die between requests.",
    fix="Do the work inside the request (join the thread), or move it to an FC timer trigger "
    "or asynchronous invocation (fcmigrate serve --event-route).",
)
WEBSOCKET = rule(
    "FC303",
    "websocket",
    "error",
    why="fcmigrate serves the app through FC's HTTP trigger as WSGI request/response calls; "
    "WebSocket connections are not supported there, and frozen instances would stall them.",
    fix="Use plain HTTP (polling or server-sent responses), or a WebSocket service such as "
    "API Gateway WebSocket in front of FC.",
)
APP_IMPORT = rule(
    "FC304",
    "app-import",
    "error",
    why="fcmigrate serve imports the app before it listens; an import that raises makes every "
    "FC instance fail to start.",
    fix="python -c 'import app'   # must succeed with the function's environmentVariables set",
)
SERVER_NAME = rule(
    "FC305",
    "server-name",
    "warning",
    why="Flask matches and builds URLs with SERVER_NAME: requests for FC's hosts (*.fcapp.run, "
    "the fc.aliyuncs.com URL, custom domains) that differ from it get 404.",
    fix="Remove SERVER_NAME: Flask then takes the host from each request.\n"
    'app.config.pop("SERVER_NAME", None)',
)
APPLICATION_ROOT = rule(
    "FC306",
    "application-root",
    "warning",
    why="APPLICATION_ROOT fixes the session cookie's path, but under FC the prefix differs per "
    "URL and fcmigrate sets it per request (SCRIPT_NAME): browsers withhold the cookie elsewhere.",
    fix="Remove APPLICATION_ROOT; for a custom-domain route prefix use "
    "'fcmigrate serve --base-path /prefix'.",
)

_WRITE_MODE = frozenset("wax+")
_OPEN_CALLS = frozenset({"open", "io.open", "codecs.open", "builtins.open"})
_MAKEDIRS = frozenset({"os.makedirs", "os.mkdir"})
_FILE_HANDLERS = frozenset(
    {
        "logging.FileHandler",
        "logging.handlers.RotatingFileHandler",
        "logging.handlers.TimedRotatingFileHandler",
        "logging.handlers.WatchedFileHandler",
    }
)
_PATH_WRITES = frozenset({"write_text", "write_bytes", "mkdir", "touch"})
_THREADS = frozenset(
    {"threading.Thread", "threading.Timer", "multiprocessing.Process", "multiprocessing.Pool"}
)
_SCHEDULERS = frozenset(
    {"BackgroundScheduler", "AsyncIOScheduler", "GeventScheduler", "TornadoScheduler"}
)
_SOCKET_MODULES = frozenset(
    {
        "flask_sock",
        "flask_socketio",
        "flask_sockets",
        "socketio",
        "channels",
        "simple_websocket",
        "geventwebsocket",
    }
)
_SOCKET_SERVERS = ("websockets.server", "websockets.asyncio.server", "websockets.serve")
_HTTP_CLIENT_CALLS = ("requests.", "httpx.", "urllib.request.urlopen", "urllib3.")


_OS_ERRORS = frozenset(
    {"OSError", "IOError", "PermissionError", "FileExistsError", "Exception", "BaseException"}
)


@dataclass(frozen=True)
class Write:
    line: int
    what: str
    where: pysource.Where
    at_import: bool
    #: makedirs/mkdir with exist_ok=True: harmless when the folder ships in the package.
    exist_ok: bool = False


def _handles_os_errors(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(
        (t.id if isinstance(t, ast.Name) else t.attr if isinstance(t, ast.Attribute) else "")
        in _OS_ERRORS
        for t in types
    )


def _guarded(tree: ast.Module) -> set[int]:
    """Nodes inside ``try:`` blocks that catch OSError: the code expects the write to fail."""
    guarded: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(_handles_os_errors(h) for h in node.handlers):
            for statement in node.body:
                guarded.update(id(n) for n in ast.walk(statement))
    return guarded


def _mode_writes(node: ast.expr | None) -> str | None:
    mode = pysource.string(node)
    return mode if mode and set(mode) & _WRITE_MODE else None


def file_writes(tree: ast.Module) -> Iterator[Write]:
    """Writes whose target path the source states (a literal, or the code folder)."""
    resolver = pysource.PathResolver(tree)
    imports = resolver.imports
    guarded = _guarded(tree)
    for node, context in pysource.walk(tree):
        if context.in_main_guard or id(node) in guarded:
            continue
        target: ast.expr | None = None
        what = ""
        exist_ok = False
        if isinstance(node, ast.Call):
            name = pysource.qualname(node.func, imports)
            if name in _OPEN_CALLS:
                mode = _mode_writes(pysource.argument(node, 1, "mode"))
                if mode:
                    target, what = pysource.argument(node, 0, "file"), f"{name}(..., {mode!r})"
            elif name in _MAKEDIRS:
                target, what = pysource.argument(node, 0, "name"), f"{name}()"
                exist_ok = _true(pysource.keyword(node, "exist_ok"))
            elif name in _FILE_HANDLERS:
                target, what = pysource.argument(node, 0, "filename"), f"{name}()"
            elif name == "logging.basicConfig":
                target, what = pysource.keyword(node, "filename"), "logging.basicConfig(filename=)"
            elif name in ("sqlite3.connect", "shelve.open", "dbm.open"):
                target, what = pysource.argument(node, 0, "database"), f"{name}()"
            elif isinstance(node.func, ast.Attribute):
                method = node.func.attr
                if method in _PATH_WRITES:
                    target, what = node.func.value, f"Path.{method}()"
                    exist_ok = method == "mkdir" and _true(pysource.keyword(node, "exist_ok"))
                elif method == "open" and _mode_writes(pysource.argument(node, 0, "mode")):
                    target, what = node.func.value, "Path.open(...)"
        elif isinstance(node, ast.Dict):
            # logging.config.dictConfig / Django's LOGGING: {"class": "...FileHandler", ...}
            entries = {
                pysource.string(k): v for k, v in zip(node.keys, node.values, strict=True) if k
            }
            handler = pysource.string(entries.get("class"))
            if handler and handler.endswith("FileHandler") and "filename" in entries:
                target, what = entries["filename"], f"LOGGING handler {handler}"
        if target is None:
            continue
        where = resolver.where(target)
        if where is not None and where.kind != "tmp":
            yield Write(getattr(node, "lineno", 0), what, where, context.at_import, exist_ok)


def _true(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


@check
def check_source(project: Project) -> Iterator[Finding]:
    settings_file = project.django_settings_file
    code = project.code_path
    # Writes the import really attempted (refused: the code folder is read-only there).
    attempted = {(w.get("file"), w.get("line")): w["path"] for w in project.probe.read_only}
    sockets: list[tuple[str, int, str]] = []
    newer = project.newer_python
    newer_syntax: list[str] = []
    for rel in project.python_files:
        tree = project.tree(rel)
        if tree is None:
            error = project.syntax_errors.get(rel)
            if error is not None and rel != settings_file and newer is not None:
                newer_syntax.append(rel)
            elif error is not None and rel != settings_file:
                yield SYNTAX_ERROR.finding(
                    f"{rel} does not parse: {error.msg}.",
                    file=rel,
                    line=error.lineno,
                    fix=f"python -m py_compile {rel}",
                )
            continue
        folders: list[str] = []  # folders this file creates under /code, reported already
        for write in [] if rel in project.run_by_hand else file_writes(tree):
            if write.where.kind == "abs" and project.writable_dir(write.where.display):
                continue
            if any(write.where.display.startswith(f"{folder}/") for folder in folders):
                continue  # a file in a folder the same module makes: one problem, one finding
            path = attempted.get((rel, write.line))
            if write.exist_ok and write.where.kind == "code" and path is None:
                shipped = code / write.where.display.removeprefix("/code").lstrip("/")
                if shipped.is_dir():
                    continue
            at_import = write.at_import or path is not None
            when = "at import time" if at_import else "when that code runs"
            where = write.where.display if path is None else f"/code/{path}"
            if write.where.kind == "code" and _makes_folder(write.what):
                folders.append(write.where.display)
            yield FILE_WRITE.finding(
                f"{write.what} writes to {where}, which is read-only on FC ({when}).",
                file=rel,
                line=write.line,
                severity="error" if at_import else "warning",
            )
        yield from _background(rel, tree)
        use = websocket_use(rel, tree)
        if use is not None:
            sockets.append((rel, *use))
        yield from _flask_config(rel, tree)
    yield from _websockets(sockets)
    if newer_syntax and newer is not None:
        shown = ", ".join(newer_syntax[:3]) + (" ..." if len(newer_syntax) > 3 else "")
        project.notes.append(
            f"Not parsed by this Python ({sys.version_info[0]}.{sys.version_info[1]}), older "
            f"than the project's {newer[0]} ({newer[1]}): {shown}. Run 'fcmigrate doctor' "
            f"with Python {newer[0]} to check them."
        )


def _makes_folder(what: str) -> bool:
    return what.startswith(("os.makedirs(", "os.mkdir(")) or ".mkdir(" in what


def _is_join(call: ast.Call, imports: dict[str, str]) -> bool:
    func = call.func
    if not isinstance(func, ast.Attribute) or func.attr != "join":
        return False
    if isinstance(func.value, ast.Constant):
        return False  # ", ".join(...)
    return not (pysource.qualname(func, imports) or "").endswith("path.join")


def _background(rel: str, tree: ast.Module) -> Iterator[Finding]:
    imports = pysource.import_map(tree)
    for _, nodes in pysource.scopes(tree):
        calls = [n for n in nodes if isinstance(n, ast.Call)]
        joined = any(_is_join(c, imports) for c in calls)
        for call in calls:
            name = pysource.qualname(call.func, imports) or ""
            if name in _THREADS and not joined:
                daemon = pysource.keyword(call, "daemon")
                kind = (
                    "a daemon thread"
                    if isinstance(daemon, ast.Constant) and daemon.value
                    else ("a process" if name.startswith("multiprocessing") else "a thread")
                )
                yield BACKGROUND.finding(
                    f"{name}() starts {kind} that is never joined, so it keeps working after "
                    "the response.",
                    file=rel,
                    line=call.lineno,
                )
            elif _is_scheduler(name):
                yield BACKGROUND.finding(
                    f"{name}() runs scheduled jobs in the background.", file=rel, line=call.lineno
                )


def _is_scheduler(name: str) -> bool:
    last = name.rsplit(".", 1)[-1]
    if name == "flask_apscheduler.APScheduler":
        return True
    return last in _SCHEDULERS and (name.startswith("apscheduler") or name == last)


def websocket_use(rel: str, tree: ast.Module) -> tuple[int, str] | None:
    """The first line where ``rel`` uses a WebSocket library, and what it does there.

    An import inside a class's method is left out: that is an optional server adapter (a
    framework offering to run on a WebSocket server), which runs only when chosen.
    """
    in_methods = {
        id(node)
        for cls in ast.walk(tree)
        if isinstance(cls, ast.ClassDef)
        for method in cls.body
        if isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef))
        for node in ast.walk(method)
    }
    for node in ast.walk(tree):
        if id(node) in in_methods:
            continue
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules = [node.module]
        for module in modules:
            if module.split(".")[0] in _SOCKET_MODULES or module.startswith(_SOCKET_SERVERS):
                return getattr(node, "lineno", 0), f"imports {module!r}, a WebSocket library"
    imports = pysource.import_map(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and id(node) not in in_methods:
            name = pysource.qualname(node.func, imports) or ""
            if name.startswith(_SOCKET_SERVERS):
                return node.lineno, f"starts a WebSocket server with {name}()"
    return None


def _websockets(places: list[tuple[str, int, str]]) -> Iterator[Finding]:
    """One finding for the project's use of WebSockets, naming the first file and the others."""
    if not places:
        return
    rel, line, what = places[0]
    others = sorted({file for file, _, _ in places[1:]} - {rel})
    more = f" (also {', '.join(others[:3])}{' ...' if len(others) > 3 else ''})" if others else ""
    yield WEBSOCKET.finding(f"{rel} {what}{more}.", file=rel, line=line)


_CONFIG_RULES = {"SERVER_NAME": SERVER_NAME, "APPLICATION_ROOT": APPLICATION_ROOT}


def _harmless(key: str, value: ast.expr) -> bool:
    if isinstance(value, ast.Constant) and value.value is None:
        return True
    return key == "APPLICATION_ROOT" and pysource.string(value) in ("", "/")


#: Config classes that never run on FC: ``TestingConfig``, ``DevConfig``, ``LocalConfig``.
_NOT_PRODUCTION_CLASS = re.compile(r"test|dev|local|debug", re.IGNORECASE)


def flask_config_sets(tree: ast.Module) -> Iterator[tuple[str, int, str | None]]:
    """(key, line, literal value) for ``X.config["SERVER_NAME"] = ...``, ``.update(KEY=)``
    and ``SERVER_NAME = ...`` in a config class (``ProdConfig``; not one for tests or
    development), which ``app.config.from_object()`` loads."""
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.ClassDef)
            and node.name.endswith("Config")
            and not _NOT_PRODUCTION_CLASS.search(node.name)
        ):
            for statement in node.body:
                if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
                    target = statement.targets[0]
                    key = target.id if isinstance(target, ast.Name) else None
                    literal = pysource.string(statement.value)
                    # Only a value written there: os.environ.get("SERVER_NAME") is the config's.
                    if key in _CONFIG_RULES and literal and not _harmless(key, statement.value):
                        yield key, statement.lineno, literal
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if (
                    isinstance(target, ast.Subscript)
                    and isinstance(target.value, ast.Attribute)
                    and target.value.attr == "config"
                ):
                    key = pysource.string(target.slice)
                    if key in _CONFIG_RULES and not _harmless(key, node.value):
                        yield key, node.lineno, pysource.string(node.value)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("update", "from_mapping")
            and isinstance(node.func.value, ast.Attribute)
            and node.func.value.attr == "config"
        ):
            pairs: list[tuple[str | None, ast.expr]] = [(k.arg, k.value) for k in node.keywords]
            for arg in node.args:
                if isinstance(arg, ast.Dict):
                    pairs += [
                        (pysource.string(k), v)
                        for k, v in zip(arg.keys, arg.values, strict=True)
                        if k
                    ]
            for key, value in pairs:
                if key in _CONFIG_RULES and not _harmless(key, value):
                    yield key, node.lineno, pysource.string(value)


def _flask_config(rel: str, tree: ast.Module) -> Iterator[Finding]:
    for key, line, value in flask_config_sets(tree):
        shown = f" to {value!r}" if value is not None else ""
        yield _CONFIG_RULES[key].finding(f"{rel} sets Flask's {key}{shown}.", file=rel, line=line)


def import_failed_on_write(project: Project, result: dict[str, Any]) -> bool:
    """Whether an import failed on a write under the code folder, which ``FC301`` reports
    with its path and line: a refused write, or the line of a write the source shows."""
    error = str(result.get("error") or "")
    if "Read-only file system" in error and project.probe.read_only:
        return True
    rel, line = result.get("file"), result.get("line")
    tree = project.tree(rel) if isinstance(rel, str) and rel in project.python_files else None
    return tree is not None and any(write.line == line for write in file_writes(tree))


@check
def check_import_writes(project: Project) -> Iterator[Finding]:
    """Writes under the code folder that importing the project attempted, where the source
    scan did not see them (a path it cannot read, a library doing the write)."""
    scanned = {(rel, write.line) for rel, tree in project.trees() for write in file_writes(tree)}
    reported: set[str] = set()
    for write in project.probe.read_only:
        path = str(write["path"])
        if (write.get("file"), write.get("line")) in scanned or path in reported:
            continue
        reported.add(path)
        yield FILE_WRITE.finding(
            f"Importing the project writes to {path}, which is read-only on FC (at import time).",
            file=write.get("file"),
            line=write.get("line"),
        )


@check
def check_app_import(project: Project) -> Iterator[Finding]:
    """Import each app the start commands serve; report failures and a Flask app's config."""
    if not project.app_specs:
        return
    static_keys = {key for _, tree in project.trees() for key, _, _ in flask_config_sets(tree)}
    for spec, result in project.probe.apps.items():
        module = project.spec_module(spec, project.code_dir)
        if "error" in result:
            missing = project.missing_dependency(result["error"])
            if missing is not None:
                project.import_note(f"The app {spec!r}", missing)
                continue
            if import_failed_on_write(project, result):
                continue
            if project.failed_on_deploy_time_values(
                f"The app {spec!r}", result
            ) or project.failed_in_this_environment(f"The app {spec!r}", result):
                continue
            name = spec.partition(":")[0]
            yield APP_IMPORT.finding(
                f"Importing the app {spec!r} failed: {result['error']}",
                file=result.get("file") or module,
                line=result.get("line"),
                fix=f"python -c 'import {name}'   # must succeed with the function's "
                "environmentVariables set",
            )
            continue
        values = result["ok"]
        if not values.get("is_flask"):
            continue
        for key, field in (
            ("SERVER_NAME", "server_name"),
            ("APPLICATION_ROOT", "application_root"),
        ):
            if values.get(field) and key not in static_keys:
                yield _CONFIG_RULES[key].finding(
                    f"The app {spec!r} has {key} = {values[field]!r} once imported.",
                    file=module,
                )


@dataclass(frozen=True)
class TimeoutHint:
    """A literal duration in the source that the function timeout must cover."""

    seconds: float
    what: str
    file: str
    line: int


def timeout_hints(project: Project) -> Iterator[TimeoutHint]:
    """``time.sleep(90)`` and ``requests.get(..., timeout=90)`` with literal numbers."""
    for rel, tree in project.trees():
        imports = pysource.import_map(tree)
        for node, context in pysource.walk(tree):
            if context.in_main_guard or not isinstance(node, ast.Call):
                continue
            name = pysource.qualname(node.func, imports) or ""
            if name in ("time.sleep", "asyncio.sleep"):
                seconds = pysource.number(pysource.argument(node, 0, "seconds"))
                if seconds is not None:
                    yield TimeoutHint(seconds, f"{name}({seconds:g})", rel, node.lineno)
            elif name.startswith(_HTTP_CLIENT_CALLS):
                seconds = pysource.number(pysource.keyword(node, "timeout"))
                if seconds is not None:
                    yield TimeoutHint(
                        seconds, f"{name}(..., timeout={seconds:g})", rel, node.lineno
                    )
