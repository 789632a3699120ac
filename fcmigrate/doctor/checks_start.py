"""Checks on how FC starts the app: the bootstrap file and every start command."""

from __future__ import annotations

import ast
import json
import math
import os
import shlex
from collections.abc import Iterator
from dataclasses import dataclass

from fcmigrate.doctor import pysource
from fcmigrate.doctor.commands import (
    GUNICORN_VALUE_OPTIONS,
    Launch,
    StartCommand,
    is_local_host,
    parse_options,
    port_value,
    split_bind,
)
from fcmigrate.doctor.model import Finding, check, rule
from fcmigrate.doctor.project import Project

NO_START = rule(
    "FC100",
    "no-start-command",
    "warning",
    why="FC's custom runtime starts the app by running /code/bootstrap (or the configured "
    "command); with neither, the function never answers.",
    fix="fcmigrate wrap app:app   # writes bootstrap and s.yaml",
)
DEV_SERVER = rule(
    "FC101",
    "dev-server",
    "error",
    why="A development server handles one request at a time, listens on 127.0.0.1 by default "
    "(FC's health check on 0.0.0.0:9000 then fails) and is not meant for production.",
    fix='exec python3 -m fcmigrate serve app:app "$@"   # gunicorn on 0.0.0.0:$FC_SERVER_PORT',
)
RUN_AT_IMPORT = rule(
    "FC102",
    "run-at-import",
    "error",
    why="The module the server imports starts Flask's development server while it is being "
    "imported, so the real server never starts and FC's health check times out.",
    fix='if __name__ == "__main__":\n    app.run()',
)
BIND_LOCALHOST = rule(
    "FC103",
    "bind-localhost",
    "error",
    why="FC's health check connects from outside the process's loopback: a server on "
    "127.0.0.1 fails with 'health check failed on port 9000' (FunctionNotStarted).",
    fix="--bind 0.0.0.0:${FC_SERVER_PORT:-9000}",
)
PORT_MISMATCH = rule(
    "FC104",
    "port-mismatch",
    "error",
    why="FC waits for the server on the configured port (customRuntimeConfig.port / caPort, "
    "default 9000); a server on another port is never found and the start fails.",
    fix="--bind 0.0.0.0:${FC_SERVER_PORT:-9000}",
)
BOOTSTRAP_MISSING = rule(
    "FC105",
    "bootstrap-missing",
    "error",
    why="The custom runtime runs /code/bootstrap when no other command is configured; "
    "without the file the function cannot start.",
    fix="fcmigrate wrap app:app   # writes an executable bootstrap",
)
BOOTSTRAP_MODE = rule(
    "FC106",
    "bootstrap-not-executable",
    "error",
    why="FC refuses a bootstrap without execute permission (CAFilePermission); it needs "
    "mode 755 or 777, inside the zip too.",
    fix="chmod 755 bootstrap",
)
BOOTSTRAP_CRLF = rule(
    "FC107",
    "bootstrap-crlf",
    "error",
    why="With Windows line endings the kernel looks for '/bin/bash\\r' and every command gets "
    "a stray '\\r', so the bootstrap fails before the app starts.",
    fix="sed -i 's/\\r$//' bootstrap   # or: dos2unix bootstrap",
)
BOOTSTRAP_SHEBANG = rule(
    "FC108",
    "bootstrap-shebang",
    "error",
    why="FC executes the bootstrap directly; without '#!/bin/bash' on its first line the "
    "kernel cannot run it (exec format error).",
    fix="#!/bin/bash   # as the very first line, no blank line or byte-order mark before it",
    severity_note="warning when it names Python instead of a shell",
)
GUNICORN_TIMEOUT = rule(
    "FC109",
    "gunicorn-timeout",
    "warning",
    why="FC freezes idle instances; on thaw a gunicorn with a worker timeout sees stale "
    "heartbeats and kills every worker, so the next request waits for a re-import.",
    fix="--timeout 0   # FC enforces the function timeout itself",
)

_SHELLS = frozenset({"bash", "sh", "dash"})


@dataclass(frozen=True)
class Setting:
    """A server setting and where it was read: the command line, the env or a config file."""

    value: str
    file: str | None
    line: int | None
    source: str


def finding_place(command: StartCommand, setting: Setting) -> tuple[str, int | None]:
    """Where to report ``setting``: the config file that sets it, else the command."""
    if setting.file is not None:
        return setting.file, setting.line
    return command.file, command.line


def _subject(command: StartCommand, setting: Setting) -> tuple[str, str]:
    """(what to name in the message, where the value came from when that is not obvious)."""
    if setting.file is not None:
        return (f"{setting.file}:{setting.line}" if setting.line else setting.file), ""
    origin = "" if setting.source == "the command line" else f" ({setting.source})"
    return command.where, origin


def _gunicorn_config(project: Project, command: StartCommand, launch: Launch) -> str | None:
    if launch.config_file:
        return project.local_file(launch.config_file, command.cwd)
    rel = f"{command.cwd}/gunicorn.conf.py" if command.cwd else "gunicorn.conf.py"
    return rel if project.is_file(rel) else None


def _config_values(project: Project, rel: str, name: str) -> tuple[list[str], int] | None:
    """``name`` in a gunicorn config file: its literal values, ``[]`` when computed, ``None``
    when the file does not set it (or cannot be read)."""
    tree = project.tree(rel)
    if tree is None:
        return None
    value = pysource.module_assignments(tree).get(name)
    line = pysource.assignment_line(tree, name)
    if value is None or line is None:
        return None
    if isinstance(value, (ast.List, ast.Tuple)):
        items = [pysource.string(v) for v in value.elts]
        return ([i for i in items if i is not None], line) if all(items) else ([], line)
    if isinstance(value, ast.Constant) and isinstance(value.value, (str, int, float)):
        return [str(value.value)], line
    return [], line


def _env(command: StartCommand, launch: Launch) -> dict[str, str]:
    return {**command.env, **launch.env}


def effective(project: Project, command: StartCommand, launch: Launch, name: str) -> list[Setting]:
    """``bind`` or ``timeout`` as gunicorn resolves it for this command (empty: fine or unknown).

    Precedence as in gunicorn: command line, then GUNICORN_CMD_ARGS, then the config file,
    then the server's default.
    """
    env = _env(command, launch)
    if name == "bind":
        explicit = launch.binds
    else:
        explicit = [launch.timeout] if launch.timeout is not None else []
    if explicit:
        return [Setting(value, None, None, "the command line") for value in explicit]
    if not launch.reads_gunicorn_config:
        if name == "bind" and launch.default_bind:
            return [Setting(launch.default_bind, None, None, f"{launch.kind}'s default")]
        return []
    cmd_args = env.get("GUNICORN_CMD_ARGS")
    if cmd_args:
        try:
            words = shlex.split(cmd_args)
        except ValueError:
            return []
        options, _ = parse_options(words, GUNICORN_VALUE_OPTIONS)
        names = ("-b", "--bind") if name == "bind" else ("-t", "--timeout")
        values = [v for n, v in options if n in names and v is not None]
        if values:
            return [Setting(v, None, None, "GUNICORN_CMD_ARGS") for v in values]
    config = _gunicorn_config(project, command, launch)
    if config:
        found = _config_values(project, config, name)
        if found is not None:  # set there; [] when computed at run time, so unknown
            values, line = found
            return [Setting(v, config, line, config) for v in values]
    if launch.kind == "fcmigrate":
        return []  # fcmigrate's defaults: 0.0.0.0:${FC_SERVER_PORT:-9000}, timeout 0
    if name == "bind":
        if env.get("PORT"):
            return [Setting(f"0.0.0.0:{env['PORT']}", None, None, "gunicorn's default with $PORT")]
        return [Setting(launch.default_bind or "", None, None, "gunicorn's default")]
    return [Setting("30", None, None, "gunicorn's default")]


def worker_timeout(
    project: Project, command: StartCommand, launch: Launch
) -> tuple[Setting, float] | None:
    """gunicorn's worker timeout for this command, when it is a known number of seconds."""
    for setting in effective(project, command, launch, "timeout")[-1:]:
        try:
            seconds = float(setting.value)
        except ValueError:
            return None
        return (setting, seconds) if math.isfinite(seconds) else None
    return None


def suggested_spec(project: Project, command: StartCommand, launch: Launch) -> str:
    if launch.app_spec:
        return launch.app_spec
    if launch.script:
        rel = project.local_file(launch.script, command.cwd)
        tree = project.tree(rel) if rel else None
        if rel and tree is not None and rel.endswith(".py"):
            names = pysource.flask_app_names(tree, pysource.import_map(tree))
            module = rel.removesuffix(".py").rpartition("/")[2]
            return f"{module}:{sorted(names)[0] if names else 'app'}"
    if project.django_settings:
        return project.django_settings.split(".")[0] + ".wsgi:application"
    return "app:app"


def serve_fix(command: StartCommand, spec: str) -> str:
    """The literal start command to use instead, in the syntax of the file it is written in."""
    quoted = shlex.quote(spec)
    if command.file == "Dockerfile":
        return "CMD " + json.dumps(["python3", "-m", "fcmigrate", "serve", spec])
    if command.file == "Procfile":
        return f"web: python3 -m fcmigrate serve {quoted}"
    if command.file.endswith((".yaml", ".yml")):
        out = f" --out {shlex.quote(command.cwd)}" if command.cwd else ""
        where = f"{command.cwd}/bootstrap" if command.cwd else "bootstrap"
        return (
            f"fcmigrate wrap {quoted}{out} --config none   # writes {where}; then in "
            f"{command.file}:\ncustomRuntimeConfig:\n  command: [/code/bootstrap]"
        )
    return f'exec python3 -m fcmigrate serve {quoted} "$@"'


@check
def check_start_files(project: Project) -> Iterator[Finding]:
    has_any = (
        project.bootstraps
        or project.configs
        or project.is_file("Dockerfile")
        or project.is_file("Procfile")
    )
    if not has_any:
        yield NO_START.finding(
            "Nothing tells FC how to start the app: no bootstrap, s.yaml, template.yml, "
            "Dockerfile or Procfile."
        )
    for function in project.functions:
        if not function.is_custom or not function.code_dir:
            continue
        if not function.command:
            name = "bootstrap"
        elif function.command[0].startswith("/code/"):
            name = function.command[0].removeprefix("/code/")
        else:
            continue
        expected = function.code_dir / name
        if not expected.is_file():
            rel = project.rel(expected)
            yield BOOTSTRAP_MISSING.finding(
                f"Function {function.function!r} runs /code/{name}, but {rel!r} does not exist.",
                file=function.file,
                line=function.command_line or function.runtime_line or function.line,
            )


@check
def check_bootstrap_files(project: Project) -> Iterator[Finding]:
    for rel in project.bootstraps:
        text = project.text(rel)
        if text is None:
            continue
        mode = project.mode(rel)
        if os.name != "nt" and mode is not None and mode & 0o555 != 0o555:
            yield BOOTSTRAP_MODE.finding(
                f"{rel} has mode {mode:o}; FC needs it readable and executable by all (755).",
                file=rel,
                fix=f"chmod 755 {rel}",
            )
        crlf = text.count("\r\n")
        if crlf:
            yield BOOTSTRAP_CRLF.finding(
                f"{rel} has Windows (CRLF) line endings on {crlf} line(s).",
                file=rel,
                line=next(i for i, ln in enumerate(text.split("\n"), 1) if ln.endswith("\r")),
                fix=f"sed -i 's/\\r$//' {rel}   # or: dos2unix {rel}",
            )
        yield from _shebang(rel, text)


def _shebang(rel: str, text: str) -> Iterator[Finding]:
    first = text.split("\n", 1)[0].rstrip("\r")
    if first.startswith("\ufeff"):
        yield BOOTSTRAP_SHEBANG.finding(
            f"{rel} starts with a byte-order mark, so its first line is not '#!'.",
            file=rel,
            line=1,
        )
        return
    if not first.startswith("#!"):
        shown = first if len(first) <= 60 else first[:57] + "..."
        yield BOOTSTRAP_SHEBANG.finding(
            f"{rel} does not start with '#!'; its first line is {shown!r}.", file=rel, line=1
        )
        return
    words = first[2:].split()
    interpreter = os.path.basename(words[0]) if words else ""
    if interpreter == "env" and len(words) > 1:
        interpreter = os.path.basename(words[1])
    if interpreter in _SHELLS:
        return
    if interpreter.startswith("python"):
        yield BOOTSTRAP_SHEBANG.finding(
            f"{rel} runs with {first[2:].strip()!r}: FC's custom runtimes keep their Python "
            "under /var/fc/lang, not where this line looks.",
            file=rel,
            line=1,
            severity="warning",
        )
        return
    yield BOOTSTRAP_SHEBANG.finding(
        f"{rel} names {first[2:].strip()!r}, which FC's custom runtime may not have.",
        file=rel,
        line=1,
    )


@check
def check_start_commands(project: Project) -> Iterator[Finding]:
    for command in project.start_commands:
        launch = project.launch(command)
        if launch is None:
            continue
        if launch.kind == "dev":
            yield DEV_SERVER.finding(
                f"{command.where} starts {launch.dev_server}: {command.text}",
                file=command.file,
                line=command.line,
                fix=serve_fix(command, suggested_spec(project, command, launch)),
            )
            continue
        if launch.kind in ("script", "module"):
            yield from _script(project, command, launch)
            continue
        if launch.kind in ("gunicorn", "fcmigrate", "waitress"):
            yield from _address(project, command, launch)
            yield from _worker_timeout(project, command, launch)
            if launch.app_spec:
                yield from _app_module(project, command, launch)


def _script(project: Project, command: StartCommand, launch: Launch) -> Iterator[Finding]:
    assert launch.script is not None
    if launch.kind == "module":
        rel = project.module_file(launch.script, command.cwd)
    else:
        rel = project.local_file(launch.script, command.cwd)
    tree = project.tree(rel) if rel else None
    if rel is None or tree is None:
        return
    for call, _, what in pysource.dev_server_calls(tree):
        yield DEV_SERVER.finding(
            f"{command.where} runs {rel} as a script, which starts a development server with "
            f"{what} at {rel}:{call.lineno}.",
            file=command.file,
            line=command.line,
            fix=serve_fix(command, suggested_spec(project, command, launch)),
        )
        return


def _app_module(project: Project, command: StartCommand, launch: Launch) -> Iterator[Finding]:
    assert launch.app_spec is not None
    rel = project.spec_module(launch.app_spec, command.cwd)
    tree = project.tree(rel) if rel else None
    if rel is None or tree is None:
        return
    for call, context, what in pysource.dev_server_calls(tree):
        if context.at_import:
            yield RUN_AT_IMPORT.finding(
                f"{rel}:{call.lineno} calls {what} at import time; {command.where} imports "
                f"{rel} to serve {launch.app_spec!r}.",
                file=rel,
                line=call.lineno,
            )
            return


def _address(project: Project, command: StartCommand, launch: Launch) -> Iterator[Finding]:
    env = _env(command, launch)
    expected = " or ".join(str(p) for p in sorted(command.ports))
    for setting in effective(project, command, launch, "bind"):
        file, line = finding_place(command, setting)
        parts = split_bind(setting.value)
        subject, origin = _subject(command, setting)
        if parts is None:
            yield BIND_LOCALHOST.finding(
                f"{subject} listens on {setting.value!r}{origin}, not on a TCP port FC can reach.",
                file=file,
                line=line,
            )
            continue
        host, port = parts
        if is_local_host(host):
            yield BIND_LOCALHOST.finding(
                f"{subject} listens on {setting.value!r}{origin}; FC needs 0.0.0.0:{expected}.",
                file=file,
                line=line,
                fix=_bind_fix(setting, launch),
            )
            continue
        value = port_value(port, env) if port else None
        if isinstance(value, int) and value not in command.ports:
            yield PORT_MISMATCH.finding(
                f"{subject} listens on port {value}{origin}, but FC checks port {expected}.",
                file=file,
                line=line,
                fix=_bind_fix(setting, launch),
            )


def _bind_fix(setting: Setting, launch: Launch) -> str:
    if setting.file is not None:
        return 'bind = "0.0.0.0:" + os.environ.get("FC_SERVER_PORT", "9000")'
    if launch.kind == "waitress":
        return "--listen=0.0.0.0:${FC_SERVER_PORT:-9000}"
    if launch.kind == "fcmigrate":
        return "drop --bind/--port: fcmigrate serve listens on 0.0.0.0:${FC_SERVER_PORT:-9000}"
    return "--bind 0.0.0.0:${FC_SERVER_PORT:-9000}"


def _worker_timeout(project: Project, command: StartCommand, launch: Launch) -> Iterator[Finding]:
    found = worker_timeout(project, command, launch)
    if found is None or found[1] == 0:
        return
    setting, seconds = found
    file, line = finding_place(command, setting)
    subject, origin = _subject(command, setting)
    yield GUNICORN_TIMEOUT.finding(
        f"{subject} runs gunicorn with a {seconds:g} s worker timeout{origin}.",
        file=file,
        line=line,
        fix="timeout = 0" if setting.file else GUNICORN_TIMEOUT.fix,
    )
