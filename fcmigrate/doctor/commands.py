"""Start commands: where they are written and what server they launch.

A start command comes from the ``bootstrap``, a deploy config's ``command``/``args``, a
Dockerfile's ``ENTRYPOINT``/``CMD`` or a Procfile's ``web:`` line. :func:`analyze` reads
one argv the way a shell and the server would: which program, which app, which address.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from fcmigrate import fc

#: A gunicorn-style app spec: ``module``, ``module:name``, ``module:factory(...)``.
_SPEC = re.compile(r"[A-Za-z_][\w.]*(:[A-Za-z_].*)?")
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
_PREFIX_WORDS = frozenset({"exec", "nohup", "time", "command", "builtin", "then", "do", "else"})
_SHELL_KEYWORDS = frozenset({"if", "elif", "while", "until", "!", "{", "}", "fi", "done"})
_SHELLS = frozenset({"sh", "bash", "dash", "ash", "zsh"})

GUNICORN_VALUE_OPTIONS = frozenset(
    """-b --bind -c --config -w --workers -k --worker-class --threads -t --timeout
    --graceful-timeout --keep-alive --max-requests --max-requests-jitter --limit-request-line
    --limit-request-fields --limit-request-field_size --chdir --pythonpath -n --name -e --env
    -u --user -g --group -m --umask -p --pid --worker-tmp-dir --access-logfile
    --access-logformat --error-logfile --log-file --log-level --log-config --log-config-json
    --log-syslog-to --log-syslog-prefix --log-syslog-facility --statsd-host --statsd-prefix
    --dogstatsd-tags --forwarded-allow-ips --proxy-allow-from --paste --paster
    --worker-connections --backlog --reload-engine --reload-extra-file --certfile --keyfile
    --ca-certs --ssl-version --ciphers --cert-reqs --logger-class --forwarder-headers
    --header-map --root-path --control-socket""".split()
)
_FCMIGRATE_VALUE_OPTIONS = frozenset(
    """-b --bind -p --port --concurrency -w --workers --threads --timeout --graceful-timeout
    --log-level -c --config --base-path --event-route --on-initialize --on-pre-stop
    --on-pre-freeze""".split()
)
_WAITRESS_VALUE_OPTIONS = frozenset(
    """--host --port --listen --unix-socket --unix-socket-perms --url-scheme --url-prefix
    --ident --threads --backlog --recv-bytes --send-bytes --outbuf-overflow --inbuf-overflow
    --connection-limit --cleanup-interval --channel-timeout --max-request-header-size
    --max-request-body-size --asyncore-loop-timeout --trusted-proxy --trusted-proxy-count
    --trusted-proxy-headers""".split()
)


@dataclass(frozen=True)
class StartCommand:
    """One start command as written in ``file`` at ``line``.

    ``cwd`` is the project-relative folder it runs in (FC runs it in ``/code``); ``ports``
    are the ports the deploy config tells FC to check; ``env`` is the function's environment.
    """

    file: str
    line: int | None
    argv: tuple[str, ...]
    cwd: str = ""
    ports: frozenset[int] = frozenset({fc.PORT})
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        # Shell-form commands (Procfile, Dockerfile) are shown as written.
        if len(self.argv) == 3 and self.argv[:2] == ("/bin/sh", "-c"):
            return self.argv[2]
        return shlex.join(self.argv)

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass
class Launch:
    """What a start command launches.

    ``kind`` is ``gunicorn``, ``fcmigrate``, ``waitress``, ``script`` (a Python file run as
    ``__main__``), ``module`` (``python -m pkg``), ``bootstrap`` or ``dev``; ``dev`` carries
    the development server in ``dev_server``.
    """

    kind: str
    argv: list[str]
    dev_server: str | None = None
    app_spec: str | None = None
    script: str | None = None
    binds: list[str] = field(default_factory=list)
    default_bind: str | None = None
    reads_gunicorn_config: bool = False
    config_file: str | None = None
    timeout: str | None = None
    env: dict[str, str] = field(default_factory=dict)


def shell_commands(text: str) -> Iterator[list[str]]:
    """The simple commands in a line of shell, split at ``;``, ``&&``, ``|`` and friends."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)
    except ValueError:  # unbalanced quotes: a line this simple reader cannot follow
        return
    current: list[str] = []
    for token in tokens:
        if token and all(ch in "();<>|&" for ch in token):
            if current:
                yield current
            current = []
        else:
            current.append(token)
    if current:
        yield current


def logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(first line number, line) with backslash continuations joined; comments skipped."""
    buffer: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip("\r")
        if not buffer:
            start = number
            if line.lstrip().startswith("#"):
                continue
        if line.endswith("\\"):
            buffer.append(line[:-1])
            continue
        buffer.append(line)
        joined = " ".join(buffer).strip()
        buffer = []
        if joined:
            yield start, joined
    if buffer:
        yield start, " ".join(buffer).strip()


def strip_prefix(argv: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """Drop ``exec``, ``env``, shell keywords and ``VAR=value`` before the program."""
    env: dict[str, str] = {}
    items = list(argv)
    while items:
        head = items[0]
        if head in _PREFIX_WORDS or head in _SHELL_KEYWORDS:
            items.pop(0)
        elif head == "env":
            items.pop(0)
            while items and items[0].startswith("-"):
                option = items.pop(0)
                if option in ("-u", "--unset", "-C", "--chdir") and items:
                    items.pop(0)
        elif _ASSIGNMENT.match(head):
            name, _, value = items.pop(0).partition("=")
            env[name] = value
        else:
            break
    return items, env


def _program(token: str) -> str:
    """``/usr/bin/python3`` -> ``python3``; ``$python`` / ``${PYTHON:-python3}`` -> ``python``."""
    if token.startswith("$"):
        name = token.strip("${}\"'").split(":")[0].split("-")[0].lower()
        return "python" if "python" in name else name
    return os.path.basename(token)


def is_python(program: str) -> bool:
    return re.fullmatch(r"python[\d.]*", program) is not None


def analyze(argv: Sequence[str], _depth: int = 0) -> Launch | None:
    """What ``argv`` starts, or ``None`` when it is not a server this module knows."""
    items, env = strip_prefix(argv)
    if not items or _depth > 3:
        return None
    program = _program(items[0])
    args = items[1:]
    launch: Launch | None
    if program in _SHELLS and "-c" in args[:-1]:
        for command in shell_commands(args[args.index("-c") + 1]):
            launch = analyze(command, _depth + 1)
            if launch is not None:
                launch.env = {**env, **launch.env}
                return launch
        return None
    if is_python(program):
        launch = _python(items, args)
    elif program == "flask" and "run" in args:
        launch = Launch("dev", items, dev_server="`flask run` (Flask's development server)")
    elif program in ("django-admin", "django-admin.py") and _runserver(args):
        launch = Launch("dev", items, dev_server="Django's `runserver` (its development server)")
    elif program == "manage.py" and _runserver(args):
        launch = Launch("dev", items, dev_server=_MANAGE_RUNSERVER)
    elif program == "gunicorn":
        launch = _gunicorn(items, args)
    elif program == "fcmigrate" and args[:1] == ["serve"]:
        launch = _fcmigrate(items, args[1:])
    elif program == "waitress-serve":
        launch = _waitress(items, args)
    elif program in ("bootstrap", "scf_bootstrap"):
        launch = Launch("bootstrap", items)
    elif program.endswith(".py"):
        launch = Launch("script", items, script=items[0])
    else:
        return None
    if launch is not None:
        launch.env = {**env, **launch.env}
    return launch


#: Django's, or Flask-Script's in an older Flask app: both are development servers.
_MANAGE_RUNSERVER = "`manage.py runserver` (a development server)"


def _runserver(args: Sequence[str]) -> bool:
    return any(a in ("runserver", "runserver_plus") for a in args)


def _python(items: list[str], args: list[str]) -> Launch | None:
    index = 0
    while index < len(args):
        token = args[index]
        if token == "-m" and index + 1 < len(args):  # noqa: S105
            return _python_module(items, args[index + 1], args[index + 2 :])
        if token == "-c":  # noqa: S105
            return None
        if token in ("-W", "-X"):
            index += 2
            continue
        if token.startswith("-"):
            index += 1
            continue
        rest = args[index + 1 :]
        if os.path.basename(token) == "manage.py" and _runserver(rest):
            return Launch("dev", items, dev_server=_MANAGE_RUNSERVER)
        return Launch("script", items, script=token)
    return None


def _python_module(items: list[str], module: str, rest: list[str]) -> Launch | None:
    if module == "flask" and "run" in rest:
        return Launch("dev", items, dev_server="`flask run` (Flask's development server)")
    if module == "django" and _runserver(rest):
        return Launch("dev", items, dev_server="Django's `runserver` (its development server)")
    if module == "http.server":
        return Launch("dev", items, dev_server="`python -m http.server` (a development server)")
    if module == "fcmigrate":
        return _fcmigrate(items, rest[1:]) if rest[:1] == ["serve"] else None
    if module == "gunicorn":
        return _gunicorn(items, rest)
    if module == "waitress":
        return _waitress(items, rest)
    return Launch("module", items, script=module)


def parse_options(
    args: Sequence[str], value_options: frozenset[str]
) -> tuple[list[tuple[str, str | None]], list[str]]:
    """(options with their values, positionals) for a getopt-style command line."""
    options: list[tuple[str, str | None]] = []
    positionals: list[str] = []
    index = 0
    while index < len(args):
        token = args[index]
        index += 1
        if token == "--":  # noqa: S105
            positionals += args[index:]
            break
        if token.startswith("--"):
            name, eq, value = token.partition("=")
            if eq:
                options.append((name, value))
            elif name in value_options and index < len(args):
                options.append((name, args[index]))
                index += 1
            else:
                options.append((name, None))
        elif token.startswith("-") and len(token) > 1 and not token.startswith("-$"):
            short = token[:2]
            if short in value_options:
                inline = token[2:].lstrip("=")
                if inline:
                    options.append((short, inline))
                elif index < len(args):
                    options.append((short, args[index]))
                    index += 1
            else:
                options.append((token, None))
        else:
            positionals.append(token)
    return options, positionals


def _values(options: list[tuple[str, str | None]], *names: str) -> list[str]:
    return [value for name, value in options if name in names and value is not None]


def _pick_spec(positionals: list[str], *, first: bool) -> str | None:
    specs = [p for p in positionals if _SPEC.fullmatch(p)]
    if not specs:
        return None
    with_colon = [s for s in specs if ":" in s]
    if with_colon:
        return with_colon[0]
    return specs[0] if first else specs[-1]


def _gunicorn(items: list[str], args: list[str]) -> Launch:
    options, positionals = parse_options(args, GUNICORN_VALUE_OPTIONS)
    timeouts = _values(options, "-t", "--timeout")
    configs = _values(options, "-c", "--config")
    return Launch(
        "gunicorn",
        items,
        app_spec=_pick_spec(positionals, first=False),
        binds=_values(options, "-b", "--bind"),
        # gunicorn's own default, unless $PORT is set (then 0.0.0.0:$PORT).
        default_bind="127.0.0.1:8000",
        reads_gunicorn_config=True,
        config_file=configs[-1] if configs else None,
        timeout=timeouts[-1] if timeouts else None,
    )


def _fcmigrate(items: list[str], args: list[str]) -> Launch:
    options, positionals = parse_options(args, _FCMIGRATE_VALUE_OPTIONS)
    binds = _values(options, "-b", "--bind")
    binds += [f"0.0.0.0:{port}" for port in _values(options, "-p", "--port")]
    timeouts = _values(options, "--timeout")
    configs = _values(options, "-c", "--config")
    return Launch(
        "fcmigrate",
        items,
        app_spec=positionals[0] if positionals else None,
        binds=binds,
        default_bind=None,  # 0.0.0.0:${FC_SERVER_PORT:-9000}
        reads_gunicorn_config=True,
        config_file=configs[-1] if configs else None,
        timeout=timeouts[-1] if timeouts else None,
    )


def _waitress(items: list[str], args: list[str]) -> Launch:
    options, positionals = parse_options(args, _WAITRESS_VALUE_OPTIONS)
    binds = _values(options, "--listen")
    hosts = _values(options, "--host")
    ports = _values(options, "--port")
    if hosts or ports:
        binds.append(f"{hosts[-1] if hosts else '0.0.0.0'}:{ports[-1] if ports else '8080'}")
    return Launch(
        "waitress",
        items,
        app_spec=_pick_spec(positionals, first=False),
        binds=binds,
        default_bind="0.0.0.0:8080",
    )


# --- where start commands are written -----------------------------------------------------


def bootstrap_commands(text: str) -> Iterator[tuple[int, list[str]]]:
    """(line, argv) of each command in a shell bootstrap that launches something known."""
    for number, line in logical_lines(text):
        for argv in shell_commands(line):
            if analyze(argv) is not None:
                yield number, argv


def dockerfile_commands(text: str) -> list[tuple[int, list[str]]]:
    """(line, argv) of the effective start command: the last ENTRYPOINT plus the last CMD."""
    found: dict[str, tuple[int, list[str], bool]] = {}
    for number, line in logical_lines(text):
        instruction, _, rest = line.partition(" ")
        instruction = instruction.upper()
        if instruction not in ("CMD", "ENTRYPOINT"):
            continue
        rest = rest.strip()
        exec_form = False
        argv: list[str]
        if rest.startswith("["):
            try:
                parsed = json.loads(rest)
                argv = [str(v) for v in parsed] if isinstance(parsed, list) else []
                exec_form = True
            except ValueError:
                argv = ["/bin/sh", "-c", rest]
        else:
            argv = ["/bin/sh", "-c", rest]
        found[instruction] = (number, argv, exec_form)
    entry = found.get("ENTRYPOINT")
    cmd = found.get("CMD")
    if entry and cmd and entry[2]:
        return [(cmd[0], entry[1] + cmd[1])]
    # A shell-form ENTRYPOINT ignores CMD, as Docker does.
    chosen = entry or cmd
    return [(chosen[0], chosen[1])] if chosen and chosen[1] else []


def procfile_commands(text: str) -> Iterator[tuple[int, list[str]]]:
    for number, line in enumerate(text.splitlines(), 1):
        name, colon, command = line.partition(":")
        if colon and name.strip() == "web" and command.strip():
            yield number, ["/bin/sh", "-c", command.strip()]


def split_bind(value: str) -> tuple[str, str] | None:
    """``host:port`` -> (host, port); ``[::1]:80`` -> (``::1``, ``80``); unix sockets -> None."""
    if value.startswith(("unix:", "fd://")):
        return None
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        return host, rest.lstrip(":")
    if value.count(":") == 1:
        host, _, port = value.partition(":")
        return host, port
    if value.isdecimal():
        return "", value
    return value, ""


LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "ip6-localhost"})


def is_local_host(host: str) -> bool:
    return host.lower() in LOCAL_HOSTS or host.startswith("127.")


def port_value(port: str, env: Mapping[str, str]) -> int | str | None:
    """A literal port as int; ``"fc"`` when it is FC's variable; ``None`` when unknown."""
    text = port.strip().strip("\"'")
    if text.isdecimal():
        return int(text)
    match = re.fullmatch(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)(?::?-([0-9]+))?\}?", text)
    if match is None:
        return None
    name = match.group(1)
    if name in ("FC_SERVER_PORT", "FC_CUSTOM_LISTEN_PORT", "FC_CA_PORT"):
        return "fc"
    value = env.get(name, "")
    if value.isdecimal():
        return int(value)
    return None
