"""Where the app runs today: the files that say how, read into one :class:`Origin`.

Most apps that move to FC already run somewhere, and their repository says how: a Heroku-style
``Procfile``, Google App Engine's ``app.yaml`` and ``cron.yaml``, Zappa's
``zappa_settings.json``, the Serverless Framework's ``serverless.yml`` (serverless-wsgi),
Render's ``render.yaml``, Railway's ``railway.json`` / ``railway.toml``, Fly.io's ``fly.toml``,
DigitalOcean App Platform's ``.do/app.yaml``, or a ``Dockerfile``. Each is read here, without
importing anything, into the same facts: the app
spec, the Python version, the environment (secrets kept out of the deploy config), memory,
timeout, workers and threads, scheduled jobs, files to leave out, and what could not be carried
with the FC equivalent. ``fcmigrate migrate`` takes them after its own flags and before what
it detects from the code.
"""

from __future__ import annotations

import glob
import json
import posixpath
import re
import shlex
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fcmigrate.build.requirements import read_toml
from fcmigrate.errors import FCMigrateError

__all__ = [
    "ORIGIN_NAMES",
    "EnvValue",
    "Job",
    "Origin",
    "aws_schedule",
    "choose_origin",
    "find_origins",
    "gae_schedule",
    "is_secret_name",
    "origin_concurrency",
]

#: The names ``--from`` takes, in the order they are preferred when several are found: a
#: platform's own file before the Procfile and Dockerfile, which platforms run (and which
#: a platform's file that names no start command is read with).
ORIGIN_NAMES = (
    "zappa", "serverless", "appengine", "render", "railway", "fly", "digitalocean",
    "procfile", "dockerfile",
)  # fmt: skip
#: The files each reads, the first found; a root ``app.yaml`` is DigitalOcean's only when
#: it is an app spec (see :func:`_is_digitalocean_spec`), else App Engine's.
_FILES = {
    "zappa": ("zappa_settings.json",),
    "serverless": ("serverless.yml",),
    "appengine": ("app.yaml",),
    "render": ("render.yaml",),
    "railway": ("railway.json", "railway.toml"),
    "fly": ("fly.toml",),
    "digitalocean": (".do/app.yaml", ".do/deploy.template.yaml", "app.yaml"),
    "procfile": ("Procfile",),
    "dockerfile": ("Dockerfile",),
}
_SECRET_PARTS = re.compile(
    r"KEY|SECRET|TOKEN|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|PRIVATE|SIGNATURE|SALT|"
    r"AUTH|DSN|(?:^|_)PWD(?:_|$)|DATABASE_URL|DB_URL|(?:^|_)(?:DB|DATABASE|REDIS|MONGO\w*|"
    r"AMQP|BROKER|CELERY_BROKER|POSTGRES\w*|MYSQL\w*)_?UR[LI]$",
)
#: ``${ssm:...}``, ``${env:NAME}``, ``${self:...}``, ``${secretsmanager:...}``, ``{{resolve:...}}``
_REFERENCE = re.compile(r"\$\{[^}]*\}|\{\{\s*resolve:")
_CREDENTIALS_IN_URL = re.compile(r"^[a-z][a-z0-9+.-]*://[^/@\s:]*:[^/@\s]+@", re.IGNORECASE)
_ENV_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
#: Variables that describe the old machine or image, not the app: FC and the bootstrap set
#: their own (a carried PATH or PYTHONPATH would hide the vendored packages).
_MACHINE_ENV = re.compile(
    r"PATH|PYTHONPATH|PYTHONHOME|VIRTUAL_ENV|PORT|HOME|HOSTNAME|APP_HOME|PYTHONUNBUFFERED|"
    r"PYTHONDONTWRITEBYTECODE|PIP_\w+|UV_\w+|POETRY_\w+|PIPENV_\w+|DEBIAN_FRONTEND|LANG|"
    r"LC_\w+|TZ|GPG_KEY|PYTHON_VERSION|PYTHON_PIP_VERSION|PYTHON_SETUPTOOLS_VERSION|"
    r"PYTHON_GET_PIP_\w+|PYTHON_SHA256"
)
_JOB_NAME = re.compile(r"[^A-Za-z0-9_-]+")


def is_secret_name(name: str) -> bool:
    """Whether an environment variable's name marks its value as a secret."""
    return bool(_SECRET_PARTS.search(name.upper()))


@dataclass(frozen=True)
class EnvValue:
    """One environment variable carried to FC: a plain value, or a secret left to deploy time."""

    name: str
    value: str
    secret: bool
    #: Where it came from, ``file:line``.
    where: str

    @classmethod
    def read(cls, name: str, value: object, where: str) -> EnvValue:
        text = "" if value is None else str(value)
        if isinstance(value, bool):
            text = "true" if value else "false"
        secret = (
            is_secret_name(name)
            or bool(_REFERENCE.search(text))
            or bool(_CREDENTIALS_IN_URL.match(text))
        )
        return cls(name, text, secret, where)

    def deploy_value(self) -> str:
        """What the deploy config holds: the value, or a reference read at deploy time."""
        return f"${{env('{self.name}')}}" if self.secret else self.value


@dataclass(frozen=True)
class Job:
    """A scheduled job: FC's timer trigger calls it through ``POST /invoke``."""

    name: str
    #: FC's timer expression: ``@every 5m`` or ``[CRON_TZ=Zone ]sec min hour dom month dow``.
    schedule: str
    #: ``url`` (a GET of ``target`` through the app) or ``function`` (``module.function``).
    kind: str
    target: str
    where: str
    original: str

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "kind": self.kind, "target": self.target}


@dataclass
class Origin:
    """What one file says about how the app runs today."""

    source: str
    file: Path
    app: str | None = None
    #: ``django`` when ``app`` is a Django settings module rather than a WSGI spec.
    app_kind: str = "wsgi"
    python: str | None = None
    env: list[EnvValue] = field(default_factory=list)
    memory: int | None = None
    timeout: int | None = None
    workers: int | None = None
    threads: int | None = None
    jobs: list[Job] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    #: ``(url prefix, folder)`` pairs the platform served as static files.
    static: list[tuple[str, str]] = field(default_factory=list)
    #: What was carried, one line each, ``what (file:line)``.
    carried: list[str] = field(default_factory=list)
    #: What could not be carried, with the FC equivalent or the manual step.
    not_carried: list[str] = field(default_factory=list)
    #: Commands the user must still run (Heroku's ``release:``, steps before the server).
    steps: list[str] = field(default_factory=list)
    #: Variables left out because their value is a placeholder: ``{name: value}``.
    placeholders: dict[str, str] = field(default_factory=dict)
    #: Files the platform runs that were read with this one (the Dockerfile its image is
    #: built from, the Procfile its buildpack runs), for what this one leaves out.
    read_with: list[Path] = field(default_factory=list)
    #: The folder the app runs in inside the image (a Dockerfile's ``WORKDIR``).
    workdir: str | None = None
    #: The file as the project names it, when its name alone would mislead
    #: (``.do/app.yaml`` is DigitalOcean's, not App Engine's ``app.yaml``).
    shown: str = ""

    @property
    def name(self) -> str:
        """The file, as the summary names it."""
        return self.shown or self.file.name

    def where(self, line: int | None = None) -> str:
        return f"{self.name}:{line}" if line else self.name

    def secrets(self) -> list[str]:
        return [env.name for env in self.env if env.secret]


# --- the server command: gunicorn, uwsgi, waitress, granian ---------------------------------


_GUNICORN_VALUE_OPTIONS = {
    "-b", "--bind", "-w", "--workers", "--threads", "-t", "--timeout", "-k", "--worker-class",
    "-c", "--config", "--chdir", "--log-level", "--access-logfile", "--error-logfile",
    "--log-file", "--graceful-timeout", "--keep-alive", "--max-requests",
    "--max-requests-jitter", "--worker-connections", "-e", "--env", "--pythonpath", "-n",
    "--name", "--forwarded-allow-ips", "--log-config", "--access-logformat", "-u", "--user",
    "-g", "--group", "-m", "--umask", "--backlog", "-p", "--pid", "--paste",
    "--limit-request-line", "--limit-request-fields", "--limit-request-field_size",
    "--statsd-host", "--certfile", "--keyfile", "--worker-tmp-dir",
}  # fmt: skip


@dataclass
class ServerCommand:
    """A start command's server and the options fcmigrate carries."""

    server: str
    app: str | None = None
    timeout: int | None = None
    workers: int | None = None
    threads: int | None = None
    chdir: str | None = None
    ignored: list[str] = field(default_factory=list)
    #: Commands run before the server in the same line (``a && b && gunicorn ...``).
    before: list[str] = field(default_factory=list)
    #: Why the app it serves is not a WSGI app (granian's ``--interface asgi``), if it is not.
    not_wsgi: str | None = None
    #: Where in a start script of the project the command is, when the start command ran one
    #: (``container/entrypoint.sh:128``).
    via: str | None = None


def _int(value: str | None) -> int | None:
    try:
        return int(str(value).strip()) if value is not None else None
    except ValueError:
        return None


def _options(words: Sequence[str]) -> Iterable[tuple[str, str | None]]:
    """``(option, value)`` pairs and ``("", positional)`` from an argv, gunicorn-style."""
    i = 0
    while i < len(words):
        word = words[i]
        if word.startswith("--") and "=" in word:
            name, _, value = word.partition("=")
            yield name, value
        elif (
            word in _GUNICORN_VALUE_OPTIONS
            or word == "-s"
            or (word.startswith("--") and word[2:] in _UWSGI_VALUE_OPTIONS)
        ):
            yield word, words[i + 1] if i + 1 < len(words) else None
            i += 1
        elif word.startswith("-") and len(word) > 2 and word[:2] in _GUNICORN_VALUE_OPTIONS:
            yield word[:2], word[2:]
        elif word.startswith("-"):
            yield word, None
        else:
            yield "", word
        i += 1


_UWSGI_VALUE_OPTIONS = {
    "module", "wsgi-file", "callable", "http", "http-socket", "socket", "processes",
    "workers", "threads", "harakiri", "http-timeout", "master-fifo", "ini", "chdir",
    "static-map", "mount", "env", "uid", "gid", "buffer-size", "listen", "w", "p",
    "port", "host", "url-prefix", "url-scheme", "ident", "unix-socket", "connection-limit",
    "channel-timeout",
}  # fmt: skip


def origin_concurrency(origin: Origin) -> int:
    """FC's instance concurrency for the workers x threads the old server ran (1 to 200)."""
    return max(1, min(200, (origin.workers or 1) * (origin.threads or 1)))


def parse_command(line: str, root: Path | None = None, _depth: int = 0) -> ServerCommand | None:
    """The web server a start command runs, or None when it runs none fcmigrate knows.

    Understands ``cd dir && ...``, ``VAR=value cmd``, ``python -m gunicorn``, wrappers such as
    ``newrelic-admin run-program`` and ``exec``, and commands chained before the server. The
    servers are gunicorn, uwsgi, waitress-serve and granian. With the project's ``root``, a
    shell script of the project that the command runs (``./entrypoint.sh``, ``sh
    docker/start.sh``) is read for the server it starts (see :func:`_script_command`).
    """
    parts = _chain(line)
    before: list[str] = []
    for part in parts:
        try:
            words = shlex.split(part, comments=True)
        except ValueError:
            words = part.split()
        env: dict[str, str] = {}
        while words and (
            re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0])
            or words[0] in ("exec", "env", "newrelic-admin", "run-program", "ddtrace-run")
        ):
            name, equals, value = words[0].partition("=")
            if equals:
                env[name] = value
            words = words[1:]
        if (
            len(words) >= 3
            and re.fullmatch(r"python[0-9.]*", Path(words[0]).name)
            and (words[1] == "-m")
        ):
            words = words[2:]
        name = Path(words[0]).name if words else ""
        command = None
        if name == "gunicorn":
            command = _gunicorn(words[1:])
        elif name in ("uwsgi", "uwsgi-core"):
            command = _uwsgi(words[1:], root)
        elif name in ("waitress-serve", "waitress"):
            command = _waitress(words[1:])
        elif name == "granian":
            command = _granian(words[1:], env)
        elif name in ("uvicorn", "daphne"):
            command = _asgi_server(name, words[1:])
        elif root is not None and _depth < _MAX_SCRIPT_DEPTH:
            command = _script_command(words, root, _depth)
        if command is not None:
            chdir = next((p for p in before if p.startswith("cd ")), None)
            if chdir and command.chdir is None:
                command.chdir = chdir[3:].strip()
            command.before = [p for p in before if not p.startswith("cd ")]
            return command
        if part:
            before.append(part)
    return None


def _chain(line: str) -> list[str]:
    """The commands of a line joined by ``&&``, ``||`` and ``;``, not split inside quotes
    (``sh -c 'cd /app && gunicorn app:app'`` is one command)."""
    parts: list[str] = []
    start, quote, i = 0, "", 0
    text = line.strip()
    while i < len(text):
        char = text[i]
        if quote:
            if char == quote:
                quote = ""
            elif char == "\\" and quote == '"':
                i += 1
        elif char in "'\"":
            quote = char
        elif char == "\\":
            i += 1
        elif char == ";" or text.startswith(("&&", "||"), i):
            parts.append(text[start:i].strip())
            i += 1 if char == ";" else 2
            start = i
            continue
        i += 1
    parts.append(text[start:].strip())
    return parts


def _gunicorn(words: Sequence[str]) -> ServerCommand:
    command = ServerCommand("gunicorn")
    positional: list[str] = []
    for option, value in _options(words):
        if option == "" and value:
            positional.append(value)
        elif option in ("-t", "--timeout"):
            command.timeout = _int(value)
        elif option in ("-w", "--workers"):
            command.workers = _int(value)
        elif option == "--threads":
            command.threads = _int(value)
        elif option == "--chdir":
            command.chdir = value
        elif option in ("-k", "--worker-class") and value not in (None, "sync", "gthread"):
            command.ignored.append(f"--worker-class {value}")
        elif option in ("-c", "--config"):
            command.ignored.append(f"--config {value}")
        elif option == "--preload":
            command.ignored.append("--preload")
    if len(positional) == 1:
        command.app = positional[0]
    elif positional:
        command.ignored.append(f"several apps named ({' '.join(positional)}): gunicorn takes one")
    worker = next((item for item in command.ignored if item.startswith("--worker-class ")), "")
    if command.app and _ASGI_WORKER.search(worker):
        command.not_wsgi = f"gunicorn serves {command.app!r} with an ASGI worker ({worker})"
        command.ignored.remove(worker)
        command.app = None
    return command


#: gunicorn worker classes that serve an ASGI app (uvicorn's, aiohttp's), not a WSGI one.
_ASGI_WORKER = re.compile(r"uvicorn|aiohttp|asgi", re.IGNORECASE)
#: The app a command line names: ``module:name``, ``pkg.module:factory()``.
_APP_TARGET = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*(?:\(.*\))?")


def _asgi_server(server: str, words: Sequence[str]) -> ServerCommand:
    """``uvicorn module:app`` and ``daphne module:application``: ASGI servers, whose app is
    not a WSGI app (unless ``uvicorn --interface wsgi`` serves one)."""
    command = ServerCommand(server)
    targets = [word for word in words if _APP_TARGET.fullmatch(word)]
    if not targets:
        command.not_wsgi = f"{server} serves an ASGI app"
        return command
    interface = next(
        (words[i + 1] for i, word in enumerate(words[:-1]) if word == "--interface"),
        next((w.partition("=")[2] for w in words if w.startswith("--interface=")), ""),
    )
    if server == "uvicorn" and interface == "wsgi":
        command.app = targets[-1]
    else:
        command.not_wsgi = f"{server} serves {targets[-1]!r} as an ASGI app"
    return command


def _uwsgi(words: Sequence[str], root: Path | None = None) -> ServerCommand:
    command = ServerCommand("uwsgi")
    values: dict[str, str] = {}
    for option, value in _options(words):
        if option.startswith("--") and value is not None:
            values.setdefault(option[2:], value)
        elif option == "" and value and value.endswith(".ini"):
            values.setdefault("ini", value)
    if "ini" in values:
        for key, value in _uwsgi_ini(values["ini"], root).items():
            values.setdefault(key, value)
    callable_ = values.get("callable", "application")
    if "mount" in values and "=" in values["mount"]:
        mount, _, spec = values["mount"].partition("=")
        command.app = spec if ":" in spec else f"{spec}:{callable_}"
        if mount.strip("/"):
            command.ignored.append(
                f"the mount point {mount!r}: on FC the app answers at the root (and under "
                "FC's own prefixes)"
            )
    elif "module" in values:
        module = values["module"]
        command.app = module if ":" in module else f"{module}:{callable_}"
    elif "wsgi-file" in values:
        file = values["wsgi-file"]
        module = file[:-3] if file.endswith(".py") else file
        command.app = f"{module.strip('./').replace('/', '.')}:{callable_}"
    command.timeout = _int(values.get("harakiri") or values.get("http-timeout"))
    command.workers = _int(values.get("processes") or values.get("workers"))
    command.threads = _int(values.get("threads"))
    command.chdir = values.get("chdir")
    if "ini" in values and not command.app:
        command.ignored.append(f"the ini file {values['ini']} (not found in the project)")
    return command


def _project_file(name: str, root: Path) -> Path | None:
    """The file of the project that a command names by a path inside the image.

    A container path such as ``/code/etc/uwsgi.ini`` is matched by its trailing parts, else
    by its name when one folder of the project holds a file of that name (``COPY ./container/
    ./`` puts ``container/entrypoint.sh`` at ``/usr/local/searxng/entrypoint.sh``).
    """
    parts = [p for p in Path(name).parts if p not in ("/", ".", "..")]
    for start in range(len(parts)):
        candidate = root.joinpath(*parts[start:])
        if candidate.is_file():
            return candidate
    if not parts:
        return None
    try:
        below = [file for file in root.glob(f"*/{glob.escape(parts[-1])}") if file.is_file()]
    except (OSError, ValueError):
        return None
    return below[0] if len(below) == 1 else None


def _uwsgi_ini(name: str, root: Path | None) -> dict[str, str]:
    """The ``[uwsgi]`` section of an ini file the command names, found in the project."""
    import configparser

    candidate = _project_file(name, root) if root is not None else None
    if candidate is None:
        return {}
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(candidate.read_text(encoding="utf-8"))
    except (configparser.Error, OSError, UnicodeDecodeError):
        return {}
    return dict(parser["uwsgi"]) if parser.has_section("uwsgi") else {}


_SHELLS = ("sh", "bash", "dash", "ash", "zsh")
#: How many start scripts deep a command is followed (entrypoint.sh running start.sh).
_MAX_SCRIPT_DEPTH = 2
#: A script line that runs the script's arguments: ``exec "$@"``.
_RUNS_ARGUMENTS = re.compile(r"""^(?:exec\s+)?(?:"\$@"|\$@|"\$\{@\}"|\$\{@\})$""")
_HEREDOC = re.compile(r"""<<-?\s*(["']?)(\w+)\1""")


def _script_command(words: Sequence[str], root: Path, depth: int) -> ServerCommand | None:
    """The server a shell script of the project starts, when a start command runs one
    (``./entrypoint.sh``, ``/app/docker/start.sh``, ``sh start.sh``, ``bash -c '...'``): the
    last line of the script that starts a server fcmigrate knows. A script that ends by running
    its arguments (``exec "$@"``, Docker's ``ENTRYPOINT`` with a ``CMD``) runs those instead."""
    if words and Path(words[0]).name in _SHELLS:
        rest = list(words[1:])
        while rest and rest[0].startswith("-") and rest[0] != "-c":
            rest = rest[1:]  # -e, -x, -eu
        if rest[:1] == ["-c"]:
            return parse_command(rest[1], root, depth + 1) if len(rest) > 1 else None
        words = rest
    if not words:
        return None
    script = _project_file(words[0], root)
    if script is None or not _is_shell_script(script):
        return None
    arguments = words[1:]
    found: tuple[int, ServerCommand] | None = None
    runs_arguments = False
    for number, text in _script_lines(script):
        if arguments and _RUNS_ARGUMENTS.match(text):
            runs_arguments = True
            continue
        command = parse_command(text, root, depth + 1)
        if command is not None:
            found, runs_arguments = (number, command), False
    if runs_arguments:
        return parse_command(shlex.join(arguments), root, depth + 1)
    if found is None:
        return None
    number, command = found
    here = f"{script.relative_to(root).as_posix()}:{number}"
    command.via = f"{command.via}, run by {here}" if command.via else here
    return command


def _is_shell_script(file: Path) -> bool:
    """A ``.sh`` file, or one whose ``#!`` line names a shell."""
    if file.suffix == ".sh":
        return True
    try:
        with file.open("rb") as handle:
            first = handle.readline(200).decode("utf-8", "replace").strip()
    except OSError:
        return False
    words = first[2:].split() if first.startswith("#!") else []
    if words and Path(words[0]).name == "env":
        words = words[1:]
    return bool(words) and Path(words[0]).name in _SHELLS


def _script_lines(file: Path) -> Iterable[tuple[int, str]]:
    """``(line number, command)`` for a shell script's lines, continuations joined, leading
    ``then`` / ``else`` / ``do`` dropped, here-documents and comments left out."""
    try:
        if file.stat().st_size > 512_000:
            return
        lines = file.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return
    pending, first, heredoc = "", 0, ""
    for number, raw in enumerate(lines, 1):
        if heredoc:
            if raw.strip() == heredoc:
                heredoc = ""
            continue
        if not pending:
            first = number
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        text, pending = (pending + raw).strip(), ""
        match = _HEREDOC.search(text)
        if match:
            heredoc = match.group(2)
        if not text or text.startswith("#"):
            continue
        text = re.sub(r"^(?:(?:then|else|do)\s+)+", "", text)
        yield first, text


def _waitress(words: Sequence[str]) -> ServerCommand:
    command = ServerCommand("waitress")
    call = False
    for option, value in _options(words):
        if option == "--call":
            call = True
        elif option == "--threads" and value is not None:
            command.threads = _int(value)
        elif option == "" and value and command.app is None:
            command.app = value
    if command.app and call:
        command.app += "()"
    return command


#: granian's options that take a value; it has no short options, and the others are flags
#: (``--reload``, ``--ws`` / ``--no-ws``).
_GRANIAN_VALUE_OPTIONS = {
    "--host", "--port", "--uds", "--uds-permissions", "--interface", "--http", "--workers",
    "--blocking-threads", "--blocking-threads-idle-timeout", "--runtime-threads",
    "--runtime-blocking-threads", "--runtime-mode", "--loop", "--task-impl", "--backlog",
    "--backpressure", "--http1-buffer-size", "--http1-header-read-timeout",
    "--http2-initial-connection-window-size", "--http2-initial-stream-window-size",
    "--http2-keep-alive-interval", "--http2-keep-alive-timeout",
    "--http2-max-concurrent-streams", "--http2-max-frame-size", "--http2-max-headers-size",
    "--http2-max-send-buffer-size", "--log-level", "--log-config", "--access-log-fmt",
    "--ssl-certificate", "--ssl-keyfile", "--ssl-keyfile-password", "--ssl-protocol-min",
    "--ssl-ca", "--ssl-crl", "--url-path-prefix", "--respawn-interval",
    "--rss-sample-interval", "--rss-samples", "--workers-lifetime", "--workers-max-rss",
    "--workers-kill-timeout", "--working-dir", "--env-files", "--static-path-route",
    "--static-path-mount", "--static-path-dir-to-file", "--static-path-expires",
    "--metrics-scrape-interval", "--metrics-address", "--metrics-port", "--reload-paths",
    "--reload-ignore-dirs", "--reload-ignore-patterns", "--reload-ignore-paths",
    "--reload-tick", "--process-name", "--pid-file",
}  # fmt: skip


def _granian(words: Sequence[str], env: dict[str, str]) -> ServerCommand:
    """``granian [--interface wsgi] [options] module:app``. Its interface is also read from
    ``GRANIAN_INTERFACE=...`` before the command; only a WSGI one (or none named) gives the
    app, as ``module:app`` when the target names no attribute (granian's default)."""
    command = ServerCommand("granian")
    interface = env.get("GRANIAN_INTERFACE", "")
    named_by = f"GRANIAN_INTERFACE={interface}"
    factory = env.get("GRANIAN_FACTORY", "").lower() in ("1", "true", "yes", "on")
    positional: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        option, equals, value = word.partition("=")
        if word == "--":
            positional += words[i + 1 :]
            break
        if option in _GRANIAN_VALUE_OPTIONS:
            if not equals:
                value = words[i + 1] if i + 1 < len(words) else ""
                i += 1
            if option == "--interface":
                interface, named_by = value, f"--interface {value}"
            elif option == "--workers":
                command.workers = _int(value)
            elif option == "--blocking-threads":
                command.threads = _int(value)
            elif option == "--working-dir":
                command.chdir = value
        elif word in ("--factory", "--no-factory"):
            factory = word == "--factory"
        elif not word.startswith("-"):
            positional.append(word)
        i += 1
    if len(positional) > 1:
        command.ignored.append(f"several apps named ({' '.join(positional)}): granian takes one")
        return command
    if not positional:
        return command
    target = positional[0] if ":" in positional[0] else f"{positional[0]}:app"
    if interface and interface.lower() != "wsgi":
        command.not_wsgi = f"granian serves {target!r} as an {interface.upper()} app ({named_by})"
        return command
    command.app = target + ("()" if factory else "")
    return command


def _carry_command(origin: Origin, command: ServerCommand, line: int | None) -> None:
    where = origin.where(line)
    if command.via:
        where = f"{command.via}, run by {where}"
    if command.app:
        app = command.app
        if command.chdir and command.chdir not in (".", "./"):
            origin.not_carried.append(
                f"the server runs in {command.chdir!r} ({where}): fcmigrate runs the app from "
                "the project folder; migrate that folder instead, or name the app with --app."
            )
        origin.app = app
        origin.carried.append(f"the app {app!r}, from the {command.server} command ({where})")
    if command.timeout:
        origin.timeout = command.timeout
        origin.carried.append(f"timeout {command.timeout} s ({where})")
    if command.workers or command.threads:
        origin.workers, origin.threads = command.workers, command.threads
        shown = " x ".join(
            f"{n} {what}"
            for n, what in ((command.workers, "workers"), (command.threads, "threads"))
            if n
        )
        origin.carried.append(
            f"{shown} ({where}) as instance concurrency {origin_concurrency(origin)}: the "
            "requests one server took at once are what one FC instance takes at once, and FC "
            "adds instances for more; fcmigrate then sizes workers from the instance's CPUs "
            "and threads from that concurrency (--concurrency overrides it)"
        )
    for item in command.ignored:
        origin.not_carried.append(
            f"{item} ({where}): fcmigrate runs gunicorn with sync-style gthread workers sized "
            "for FC; pass gunicorn settings through GUNICORN_CMD_ARGS if the app needs them."
        )
    _carry_steps(origin, [(step, where) for step in command.before], "run before the server")
    if command.not_wsgi:
        origin.not_carried.append(
            f"the app: {command.not_wsgi} ({where}), not a WSGI app, which is what fcmigrate "
            "moves; migrate looks for the project's WSGI app in the code instead (a Django "
            "project's wsgi.py), or name one with --app."
        )


# --- Procfile ----------------------------------------------------------------------------------


def read_procfile(file: Path) -> Origin:
    origin = Origin("procfile", file)
    for number, raw in enumerate(_lines(file), 1):
        match = re.match(r"^([A-Za-z0-9_-]+)\s*:\s*(.*)$", raw.strip())
        if not match:
            continue
        kind, command_line = match.group(1), match.group(2).strip()
        where = origin.where(number)
        if kind == "web":
            _carry_start(origin, command_line, number, file.parent, "the web command")
        elif kind == "release":
            _release_step(origin, command_line, "the release step", where)
        else:
            _process_not_carried(origin, f"the {kind!r} process", where)
    return origin


def _carry_start(origin: Origin, line: str, number: int | None, root: Path, what: str) -> None:
    """The app, timeout, workers and steps of a start command; or, when it runs no server
    fcmigrate knows, a line that says so."""
    command = parse_command(line, root)
    if command is None:
        origin.not_carried.append(
            f"{what} {line!r} ({origin.where(number)}) runs no server fcmigrate knows "
            "(gunicorn, uwsgi, waitress, granian): name the app with --app."
        )
    else:
        _carry_command(origin, command, number)


def _release_step(origin: Origin, command: str, what: str, where: str) -> None:
    origin.steps.append(
        f"{command}  ({what}, {where}): run it against the production database before "
        "deploying, from your machine or a one-off FC invocation"
    )


def _process_not_carried(origin: Origin, what: str, where: str) -> None:
    origin.not_carried.append(
        f"{what} ({where}): FC runs one HTTP server per function; run a worker as its own "
        "function (an event or timer trigger), or a scheduled job as a timer trigger."
    )


#: Build steps that migrate's build does itself: installing the requirements (into the
#: build's vendored packages) and Django's collectstatic.
_DONE_BY_MIGRATE = re.compile(
    r"^(?:python[0-9.]*\s+-m\s+)?(?:pip[0-9.]*\s+install|poetry\s+install|pipenv\s+install|"
    r"uv\s+(?:sync|pip\s+install))\b|\bmanage\.py\s+collectstatic\b|"
    r"\bdjango-admin\s+collectstatic\b"
)
#: Lines of a build script that set the shell up rather than build anything.
_SHELL_SETUP = re.compile(r"^(?:set|echo|export|cd|true|:)(?:\s|$)")
#: Steps that change a database, run against production before deploying.
_DATABASE_STEP = re.compile(
    r"\b(?:migrate|upgrade|syncdb|loaddata|createsuperuser|createcachetable|alembic|init[-_]?db)\b"
)


def _carry_steps(origin: Origin, steps: Sequence[tuple[str, str]], what: str) -> None:
    """``(command, where)`` pairs run before the app served: the ones migrate's build does
    itself in one carried line, the others as steps for the user."""
    done: list[tuple[str, str]] = []
    for command, where in steps:
        if _DONE_BY_MIGRATE.search(command):
            done.append((command, where))
        elif what == "run before the server":
            origin.steps.append(f"{command}  ({what}, {where})")
        elif _DATABASE_STEP.search(command):
            _release_step(origin, command, what, where)
        else:
            origin.steps.append(
                f"{command}  ({what}, {where}): migrate runs no build commands; run it in the "
                "project before `fcmigrate migrate` if it makes files the app needs"
            )
    if done:
        listed = "; ".join(f"{command!r} ({where})" for command, where in done)
        origin.carried.append(
            f"{listed}: {what}, which migrate's build does itself (it installs the "
            "requirements and runs Django's collectstatic)"
        )


def _carry_build(origin: Origin, line: str, number: int | None, root: Path, what: str) -> None:
    """A platform's build command, a script of the project it runs read line by line."""
    where = origin.where(number)
    steps: list[tuple[str, str]] = []
    for part in _chain(line):
        try:
            words = shlex.split(part)
        except ValueError:
            words = part.split()
        if words and Path(words[0]).name in _SHELLS:
            words = [w for w in words[1:] if not w.startswith("-")]
        script = _project_file(words[0], root) if words else None
        if script is not None and _is_shell_script(script):
            shown = script.relative_to(root).as_posix()
            lines = [(text, f"{shown}:{n}, run by {where}") for n, text in _script_lines(script)]
        else:
            lines = [(part, where)]
        for text, place in lines:
            steps += [(p, place) for p in _chain(text) if p and not _SHELL_SETUP.match(p)]
    _carry_steps(origin, steps, what)


# --- Google App Engine -------------------------------------------------------------------------


#: Second-generation App Engine instance classes' memory, in MB (FC takes multiples of 64).
GAE_MEMORY = {
    "F1": 384, "F2": 768, "F4": 1536, "F4_1G": 3072,
    "B1": 384, "B2": 768, "B4": 1536, "B4_1G": 3072, "B8": 3072,
}  # fmt: skip


def read_app_yaml(file: Path) -> Origin:
    origin = Origin("appengine", file)
    data, lines = _yaml(file)
    if not isinstance(data, dict):
        raise FCMigrateError(f"{file.name} is not an App Engine app.yaml: it holds no mapping.")
    runtime = str(data.get("runtime", ""))
    match = re.fullmatch(r"python3(\d+)", runtime)
    if match:
        origin.python = f"3.{match.group(1)}"
        origin.carried.append(f"Python {origin.python} ({origin.where(lines.get('runtime'))})")
    elif runtime:
        origin.not_carried.append(
            f"runtime {runtime!r} ({origin.where(lines.get('runtime'))}): not a Python 3 "
            "runtime fcmigrate knows; pass --python X.Y."
        )
    entrypoint = data.get("entrypoint")
    if isinstance(entrypoint, str):
        command = parse_command(entrypoint, file.parent)
        if command is not None:
            _carry_command(origin, command, lines.get("entrypoint"))
    else:
        origin.app = "main:app"
        origin.carried.append(
            f"the app 'main:app', App Engine's default without an entrypoint ({origin.where()})"
        )
    _carry_env(origin, data.get("env_variables"), lines.get("env_variables"))
    instance_class = str(data.get("instance_class", "")).upper()
    if instance_class in GAE_MEMORY:
        origin.memory = GAE_MEMORY[instance_class]
        origin.carried.append(
            f"memory {origin.memory} MB from instance_class {instance_class} "
            f"({origin.where(lines.get('instance_class'))})"
        )
    for handler in data.get("handlers") or []:
        if isinstance(handler, dict) and handler.get("static_dir") and handler.get("url"):
            url, folder = str(handler["url"]).rstrip("/"), str(handler["static_dir"]).strip("/")
            origin.static.append((url, folder))
            origin.carried.append(f"static files {url}/ from {folder}/ ({origin.where()})")
    for key, advice in (
        ("service", "each App Engine service becomes its own FC function; migrate each"),
        ("vpc_access_connector", "set the function's VPC in the deploy config (vpcConfig)"),
        ("automatic_scaling", "FC scales by instance concurrency; see --concurrency"),
        ("basic_scaling", "FC scales by instance concurrency; see --concurrency"),
        ("inbound_services", "no FC equivalent; drop it"),
    ):
        if key in data and not (key == "service" and data[key] == "default"):
            origin.not_carried.append(f"{key} ({origin.where(lines.get(key))}): {advice}.")
    cron = file.with_name("cron.yaml")
    if cron.is_file():
        _read_cron_yaml(origin, cron)
    return origin


def _read_cron_yaml(origin: Origin, file: Path) -> None:
    data, _ = _yaml(file)
    entries = data.get("cron") if isinstance(data, dict) else None
    numbers = [n for n, line in enumerate(_lines(file), 1) if re.match(r"^\s*-\s", line)]
    for index, entry in enumerate(entries or []):
        if not isinstance(entry, dict) or "url" not in entry or "schedule" not in entry:
            continue
        where = f"{file.name}:{numbers[index]}" if index < len(numbers) else file.name
        schedule = str(entry["schedule"])
        expression = gae_schedule(schedule, entry.get("timezone"))
        url = str(entry["url"])
        if expression is None:
            origin.not_carried.append(
                f"the cron job {url!r} ({where}): the schedule {schedule!r} has no FC timer "
                "equivalent fcmigrate can write; add a timer trigger by hand."
            )
            continue
        name = _job_name(str(entry.get("description") or url), origin.jobs)
        origin.jobs.append(Job(name, expression, "url", url, where, schedule))
        origin.carried.append(f"the cron job {url!r} as timer {name!r}: {expression} ({where})")


_DAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]
_UNITS = {"minute": "m", "minutes": "m", "mins": "m", "min": "m", "hour": "h", "hours": "h"}


def gae_schedule(schedule: str, timezone: object = None) -> str | None:
    """An App Engine cron schedule as an FC timer expression, or None if it has none.

    ``every 5 minutes`` -> ``@every 5m``; ``every 24 hours`` -> ``@every 24h``; ``every day
    09:30`` -> ``0 30 9 * * *``; ``every monday,friday 09:00`` -> ``0 0 9 * * 1,5``. A
    ``timezone`` prefixes a cron expression with ``CRON_TZ=``.
    """
    text = " ".join(schedule.lower().split())
    match = re.fullmatch(r"every (\d+) (minutes?|mins?|hours?)(?: synchronized)?", text)
    if match:
        return f"@every {int(match.group(1))}{_UNITS[match.group(2)]}"
    match = re.fullmatch(r"every ([a-z, ]+?) (\d{1,2}):(\d{2})", text)
    if not match:
        return None
    days_text, hour, minute = match.group(1), int(match.group(2)), int(match.group(3))
    if hour > 23 or minute > 59:
        return None
    if days_text in ("day", "days"):
        days = "*"
    else:
        numbers = []
        for word in re.split(r"\s*,\s*|\s+", days_text):
            day = next((i for i, d in enumerate(_DAYS) if word and d.startswith(word[:3])), None)
            if day is None:
                return None
            numbers.append(str(day))
        days = ",".join(numbers)
    cron = f"0 {minute} {hour} * * {days}"
    zone = str(timezone).strip() if timezone else ""
    return f"CRON_TZ={zone} {cron}" if zone else cron


# --- AWS: Zappa and the Serverless Framework ---------------------------------------------------


_AWS_DAYS = {"SUN": 0, "MON": 1, "TUE": 2, "WED": 3, "THU": 4, "FRI": 5, "SAT": 6}


def aws_schedule(expression: str) -> str | None:
    """An AWS ``rate(...)`` or ``cron(...)`` expression as an FC timer expression.

    AWS cron has six fields, ``minutes hours day-of-month month day-of-week year``, with ``?``
    in one of the two day fields and days of the week numbered 1 (Sunday) to 7; FC's has a
    seconds field first and no year, and numbers Sunday 0. None for what FC cannot express
    (``L``, ``W``, ``#``, a year other than ``*``).
    """
    text = expression.strip()
    match = re.fullmatch(r"rate\(\s*(\d+)\s+(minutes?|hours?|days?)\s*\)", text)
    if match:
        count, unit = int(match.group(1)), match.group(2)
        if unit.startswith("day"):
            return f"@every {count * 24}h"
        return f"@every {count}{'m' if unit.startswith('minute') else 'h'}"
    match = re.fullmatch(r"cron\((.*)\)", text)
    if not match:
        return None
    fields = match.group(1).split()
    if len(fields) != 6:
        return None
    minute, hour, dom, month, dow, year = fields
    if year not in ("*", "?") or any(c in f for f in fields for c in "LW#"):
        return None
    dom = "*" if dom == "?" else dom
    dow = "*" if dow == "?" else _aws_days(dow)
    if dow is None:
        return None
    return f"0 {minute} {hour} {dom} {month} {dow}"


def _aws_days(field_text: str) -> str | None:
    def one(token: str) -> str | None:
        upper = token.upper()
        if upper in _AWS_DAYS:
            return str(_AWS_DAYS[upper])
        if upper.isdigit() and 1 <= int(upper) <= 7:
            return str(int(upper) - 1)
        return None

    out = []
    for part in field_text.split(","):
        if part == "*":
            out.append("*")
            continue
        ends = part.split("-")
        converted = [one(e) for e in ends]
        if len(ends) > 2 or any(c is None for c in converted):
            return None
        out.append("-".join(c for c in converted if c is not None))
    return ",".join(out)


def _dotted_app(value: str) -> str:
    """Zappa's and serverless-wsgi's ``package.module.app`` -> ``package.module:app``."""
    module, _, name = value.rpartition(".")
    return f"{module}:{name}" if module else value


def _python_of(runtime: object) -> str | None:
    match = re.fullmatch(r"python(3\.\d+)", str(runtime or "").strip())
    return match.group(1) if match else None


def read_zappa(file: Path, stage: str | None = None) -> Origin:
    origin = Origin("zappa", file)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FCMigrateError(
            f"Cannot read {file.name}: {exc}. Fix the file or use --from."
        ) from None
    if not isinstance(data, dict) or not data:
        raise FCMigrateError(f"{file.name} holds no stages. Fix the file or use --from.")
    stages = [name for name, value in data.items() if isinstance(value, dict)]
    if stage is None:
        stage = stages[0]
    elif stage not in data:
        raise FCMigrateError(
            f"{file.name} has no stage {stage!r}. Use one of: {', '.join(stages)}, e.g. "
            f"--stage {stages[0]}."
        )
    settings = dict(data[stage])
    parent = settings.get("extends")
    if isinstance(parent, str) and isinstance(data.get(parent), dict):
        settings = {**data[parent], **settings}
    origin.carried.append(f"the stage {stage!r} (of {', '.join(stages)}; --stage picks another)")
    where = origin.where()
    if settings.get("app_function"):
        origin.app = _dotted_app(str(settings["app_function"]))
        origin.carried.append(f"the app {origin.app!r} from app_function ({where})")
    elif settings.get("django_settings"):
        origin.app = str(settings["django_settings"])
        origin.app_kind = "django"
        origin.carried.append(f"the Django settings {origin.app!r} ({where})")
    origin.python = _python_of(settings.get("runtime"))
    if origin.python:
        origin.carried.append(f"Python {origin.python} ({where})")
    origin.memory = _int(settings.get("memory_size"))
    origin.timeout = _int(settings.get("timeout_seconds"))
    for what, value in (("memory", origin.memory), ("timeout", origin.timeout)):
        if value:
            origin.carried.append(f"{what} {value} ({where})")
    env = {**(settings.get("aws_environment_variables") or {})}
    env.update(settings.get("environment_variables") or {})
    _carry_env(origin, env, None)
    for pattern in settings.get("exclude") or []:
        origin.exclude.append(str(pattern))
    if origin.exclude:
        origin.carried.append(f"{len(origin.exclude)} exclude patterns, left out of the build")
    for event in settings.get("events") or []:
        if not isinstance(event, dict) or not event.get("function"):
            continue
        expressions = event.get("expressions") or [event.get("expression")]
        for expression in expressions:
            if expression:
                _add_function_job(origin, str(event["function"]), str(expression), where)
    for key, advice in (
        ("vpc_config", "set the function's VPC in the deploy config (vpcConfig)"),
        ("domain", "bind a custom domain to the function (component fc3-domain)"),
        ("certificate_arn", "upload the certificate with the custom domain"),
        ("keep_warm", "FC keeps instances warm with provisioned or minimum instances"),
        ("role_name", "give the function a RAM role in the deploy config (role)"),
        ("s3_bucket", "not needed: FC takes the code package directly"),
        ("remote_env", "set those variables in the deploy config"),
    ):
        if settings.get(key):
            origin.not_carried.append(f"{key} ({where}): {advice}.")
    return origin


def _add_function_job(origin: Origin, function: str, expression: str, where: str) -> None:
    fc = aws_schedule(expression)
    if fc is None:
        origin.not_carried.append(
            f"the schedule {expression!r} of {function!r} ({where}): FC's timer cannot express "
            "it; add a timer trigger by hand."
        )
        return
    name = _job_name(function.rsplit(".", 1)[-1], origin.jobs)
    origin.jobs.append(Job(name, fc, "function", function, where, expression))
    origin.carried.append(f"the job {function!r} as timer {name!r}: {fc} ({where})")


def read_serverless(file: Path) -> Origin:
    origin = Origin("serverless", file)
    data, lines = _yaml(file)
    if not isinstance(data, dict):
        raise FCMigrateError(f"{file.name} holds no mapping. Fix the file or use --from.")
    custom = _mapping(data.get("custom"))
    wsgi = _mapping(custom.get("wsgi"))
    if wsgi.get("app"):
        origin.app = _dotted_app(str(wsgi["app"]))
        origin.carried.append(f"the app {origin.app!r} from custom.wsgi.app ({origin.where()})")
    provider = _mapping(data.get("provider"))
    origin.python = _python_of(provider.get("runtime"))
    if origin.python:
        origin.carried.append(f"Python {origin.python} ({origin.where(lines.get('runtime'))})")
    origin.memory = _int(provider.get("memorySize"))
    origin.timeout = _int(provider.get("timeout"))
    _carry_env(origin, provider.get("environment"), lines.get("environment"))
    functions = _mapping(data.get("functions"))
    for name, function in functions.items():
        if not isinstance(function, dict):
            continue
        handler = str(function.get("handler", ""))
        where = origin.where(lines.get(str(name)))
        if handler.startswith("wsgi_handler") or handler.startswith("wsgi."):
            origin.memory = _int(function.get("memorySize")) or origin.memory
            origin.timeout = _int(function.get("timeout")) or origin.timeout
            _carry_env(origin, function.get("environment"), lines.get(str(name)))
            continue
        for event in function.get("events") or []:
            if not isinstance(event, dict) or "schedule" not in event:
                continue
            schedule = event["schedule"]
            rates = schedule.get("rate") if isinstance(schedule, dict) else schedule
            for rate in rates if isinstance(rates, list) else [rates]:
                if rate:
                    _add_function_job(origin, handler, str(rate), where)
    for what, value in (("memory", origin.memory), ("timeout", origin.timeout)):
        if value:
            origin.carried.append(f"{what} {value} ({origin.where()})")
    for key, advice in (
        ("resources", "AWS resources (CloudFormation) have no FC equivalent here; create "
                      "them on Alibaba Cloud (RDS, OSS, Tablestore ...)"),
        ("vpc", "set the function's VPC in the deploy config (vpcConfig)"),
        ("iamRoleStatements", "give the function a RAM role in the deploy config (role)"),
    ):  # fmt: skip
        if key in data or key in provider:
            origin.not_carried.append(f"{key} ({origin.where(lines.get(key))}): {advice}.")
    return origin


# --- Dockerfile --------------------------------------------------------------------------------


def read_dockerfile(file: Path) -> Origin:
    origin = Origin("dockerfile", file)
    start: tuple[int, str] | None = None
    entry: tuple[int, str] | None = None
    stage = _DockerStage()
    # ARGs before the first FROM are the only ones a FROM line sees (FROM python:${VERSION}).
    preamble = stage
    stages: dict[str, _DockerStage] = {}
    for number, instruction, argument in _docker_instructions(file):
        if instruction == "FROM":
            argument = preamble.expand(argument)
            match = re.search(r"\bpython:(3\.\d+)", argument)
            if match:
                origin.python = match.group(1)
                origin.carried.append(f"Python {origin.python} ({origin.where(number)})")
            stage = _DockerStage.starting(argument, stages)
        elif instruction == "CMD":
            start = (number, _docker_command(argument))
        elif instruction == "ENTRYPOINT":
            entry = (number, _docker_command(argument))
        elif instruction == "ARG":
            stage.declare(argument)
        elif instruction == "ENV":
            stage.set(number, _docker_env(argument))
        elif instruction == "WORKDIR":
            stage.workdir = posixpath.join(stage.workdir or "/", stage.expand(argument.strip()))
        elif instruction == "COPY":
            # --from may come after other flags (COPY --chown=app --from=frontend ...).
            words = argument.split()
            flags = [word for word in words if word.startswith("--")]
            paths = " ".join(words[len(flags) :]) if words[: len(flags)] == flags else ""
            source = next((f.partition("=")[2] for f in flags if f.startswith("--from=")), "")
            if paths and (source.lower() in stages or source.isdigit()):
                stage.built_elsewhere.append((number, source, paths))
    # The image that runs is the last stage's: its ENV, and what it inherits from a stage it
    # starts from, with ARG defaults in place (what `docker build` gives without --build-arg).
    origin.workdir = stage.workdir or None
    for number, values in stage.env:
        _carry_env(origin, values, number)
    for number, source, paths in stage.built_elsewhere:
        origin.not_carried.append(
            f"the files copied from the Dockerfile's {source!r} stage ('COPY --from={source} "
            f"{paths}', {origin.where(number)}): migrate runs no stage's RUN steps, so build "
            "them into the project first (that stage's commands: npm, yarn, a compiler) for "
            "the build to ship them."
        )
    # Docker runs ENTRYPOINT with CMD as its arguments, or CMD alone.
    candidates = []
    if entry is not None and start is not None:
        candidates.append((entry[0], f"{entry[1]} {start[1]}"))
    candidates += [found for found in (start, entry) if found is not None]
    for number, line in candidates:
        command = parse_command(line, file.parent)
        if command is not None and command.app:
            _carry_command(origin, command, number)
            break
    return origin


#: ``$NAME``, ``${NAME}``, ``${NAME:-word}`` and ``${NAME-word}`` in a Dockerfile's values.
_DOCKER_REFERENCE = re.compile(r"\$(?:\{(\w+)(?::?-([^}]*))?\}|(\w+))")


@dataclass
class _DockerStage:
    """One ``FROM`` stage of a Dockerfile: its ARG defaults and its ENV, in order."""

    args: dict[str, str] = field(default_factory=dict)
    env: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    #: ``COPY --from=<stage>`` lines: (line, stage, the paths).
    built_elsewhere: list[tuple[int, str, str]] = field(default_factory=list)
    workdir: str = ""

    @classmethod
    def starting(cls, argument: str, stages: dict[str, _DockerStage]) -> _DockerStage:
        """The stage a ``FROM image [AS name]`` starts (ARGs do not cross a FROM; ENV is
        inherited from a stage it names), registered under its name."""
        words = [w for w in argument.split() if not w.startswith("--")]
        parent = stages.get(words[0].lower()) if words else None
        stage = cls(
            env=list(parent.env) if parent else [], workdir=parent.workdir if parent else ""
        )
        if len(words) >= 3 and words[1].lower() == "as":
            stages[words[2].lower()] = stage
        return stage

    def declare(self, argument: str) -> None:
        try:
            words = shlex.split(argument)
        except ValueError:
            return
        for word in words:
            name, has_default, default = word.partition("=")
            if has_default:
                self.args[name] = self.expand(default)
            else:
                self.args.pop(name, None)  # set by --build-arg only: not known here

    def set(self, number: int, values: dict[str, str]) -> None:
        self.env.append((number, {k: self.expand(v) for k, v in values.items()}))

    def expand(self, value: str) -> str:
        """``value`` with the references this stage knows replaced; others left as they are."""
        known = dict(self.args)
        for _, values in self.env:
            known.update(values)

        def replace(match: re.Match[str]) -> str:
            name, word = match.group(1) or match.group(3), match.group(2)
            value = known.get(name)
            if word is not None and (value is None or (not value and ":-" in match.group(0))):
                return word
            return match.group(0) if value is None else value

        return _DOCKER_REFERENCE.sub(replace, value)


def _docker_instructions(file: Path) -> Iterable[tuple[int, str, str]]:
    pending, first = "", 0
    for number, raw in enumerate(_lines(file), 1):
        line = raw.rstrip()
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if not pending:
            first = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        text = (pending + line).strip()
        pending = ""
        instruction, _, argument = text.partition(" ")
        yield first, instruction.upper(), argument.strip()


def _docker_command(argument: str) -> str:
    if argument.startswith("["):
        try:
            words = json.loads(argument)
        except json.JSONDecodeError:
            return argument
        if isinstance(words, list):
            words = [str(w) for w in words]
            if words[:2] in (["sh", "-c"], ["/bin/sh", "-c"], ["bash", "-c"]):
                return " ".join(words[2:])
            return shlex.join(words)
    return argument


def _docker_env(argument: str) -> dict[str, str]:
    try:
        words = shlex.split(argument)
    except ValueError:
        return {}
    if len(words) >= 2 and "=" not in words[0]:
        return {words[0]: " ".join(words[1:])}
    return dict(w.split("=", 1) for w in words if "=" in w)


# --- platforms: Render, Railway, Fly.io, DigitalOcean App Platform -----------------------------


def _companion(origin: Origin, root: Path, dockerfile: object, names: Sequence[str]) -> None:
    """When the platform's file names no start command, the platform runs the one of a file
    of the project: the Dockerfile it names (``dockerfile``), else the first of ``names``
    found (``Dockerfile``, or ``Procfile`` for a buildpack). That file's start command,
    Python, timeout and environment are taken, under the platform's own environment."""
    if isinstance(dockerfile, str) and dockerfile:
        names = [dockerfile]
    file = next((root / n for n in names if (root / n).is_file()), None)
    if file is None:
        origin.not_carried.append(
            f"the start command: {origin.name} names none, and the project has no "
            f"{' or '.join(names)} that would; migrate looks for the app in the code (or name "
            "it with --app)."
        )
        return
    other = read_procfile(file) if file.name == "Procfile" else read_dockerfile(file)
    other.shown = file.relative_to(root).as_posix()
    origin.read_with.append(file)
    origin.carried.append(
        f"the start command of {other.name}, which the platform runs ({origin.name} names none)"
    )
    if origin.app is None:
        origin.app, origin.app_kind = other.app, other.app_kind
    for name in ("python", "timeout", "workers", "threads", "workdir"):
        if getattr(origin, name) is None:
            setattr(origin, name, getattr(other, name))
    names_set = {env.name for env in origin.env}
    origin.env = [env for env in other.env if env.name not in names_set] + origin.env
    origin.carried += other.carried
    origin.not_carried += other.not_carried
    origin.steps += other.steps
    origin.placeholders = {**other.placeholders, **origin.placeholders}


def _carry_secret(origin: Origin, name: str, where: str, why: str | None) -> None:
    """A variable whose value the platform supplies: a reference the deployer fills in."""
    if not _ENV_NAME.fullmatch(name) or name.upper().startswith("FC_"):
        _carry_env(origin, {name: ""}, None)  # the line that says why the name cannot go
        return
    origin.env = [e for e in origin.env if e.name != name] + [EnvValue(name, "", True, where)]
    if why:
        origin.not_carried.append(f"the value of {name!r} ({where}): {why}")


def _python_version(value: object) -> str | None:
    match = re.match(r"\s*(3\.\d+)", str(value or ""))
    return match.group(1) if match else None


def _megabytes(value: object) -> int | None:
    """``1gb``, ``512mb``, ``2048`` (MB) as MB."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([gm])?b?\s*", str(value or "").lower())
    if not match:
        return None
    number = float(match.group(1))
    return int(number * 1024) if match.group(2) == "g" else int(number)


def _others_not_carried(origin: Origin, kind: str, others: Sequence[tuple[str, str]]) -> None:
    """One line naming the platform's other services, which are not this function."""
    if others:
        listed = ", ".join(f"{name!r} ({where})" for name, where in others)
        origin.not_carried.append(
            f"the other {kind} {listed}: each becomes its own FC function; migrate each "
            "(a web app), or run it as a function with an event or timer trigger (a worker "
            "or job)."
        )


def _in_subfolder(origin: Origin, folder: object, where: str) -> None:
    if isinstance(folder, str) and folder.strip("./"):
        origin.not_carried.append(
            f"the service builds from the folder {folder!r} ({where}): fcmigrate runs the app "
            "from the project folder; migrate that folder instead."
        )


#: Render's instance types' memory, in MB.
RENDER_MEMORY = {
    "free": 512, "starter": 512, "standard": 2048, "pro": 4096, "pro plus": 8192,
    "pro max": 16384, "pro ultra": 32768,
}  # fmt: skip


def read_render(file: Path, root: Path) -> Origin:
    """Render's Blueprint: its first Python web service (else its first Docker one)."""
    origin = Origin("render", file)
    data, _ = _yaml(file)
    if not isinstance(data, dict):
        raise FCMigrateError(f"{file.name} holds no mapping. Fix the file or use --from.")
    services = [s for s in data.get("services") or [] if isinstance(s, dict)]
    webs = [s for s in services if s.get("type") == "web"]
    web = next((s for s in webs if _render_runtime(s) == "python"), None)
    web = web or next((s for s in webs if _render_runtime(s) == "docker"), None)
    if web is None:
        origin.not_carried.append(
            f"the services ({origin.where(_line(data, 'services'))}): none is a Python web "
            "service (type: web, runtime: python); migrate looks for the app in the code."
        )
        return origin
    where = origin.where(_line(web))
    origin.carried.append(f"the web service {web.get('name')!r} ({where})")
    _others_not_carried(
        origin,
        "services",
        [(str(s.get("name")), origin.where(_line(s))) for s in services if s is not web],
    )
    _in_subfolder(origin, web.get("rootDir"), where)
    for key in ("startCommand", "dockerCommand"):
        if isinstance(web.get(key), str) and web[key].strip():
            _carry_start(origin, web[key], _line(web, key), root, "the start command")
            break
    else:
        _companion(origin, root, web.get("dockerfilePath"), ["Dockerfile"])
    if isinstance(web.get("buildCommand"), str):
        line = _line(web, "buildCommand")
        _carry_build(origin, web["buildCommand"], line, root, "Render's build command")
    if isinstance(web.get("preDeployCommand"), str):
        where_pre = origin.where(_line(web, "preDeployCommand"))
        _release_step(origin, web["preDeployCommand"], "Render's pre-deploy command", where_pre)
    groups = {str(g.get("name")): g for g in data.get("envVarGroups") or [] if isinstance(g, dict)}
    _render_env(origin, web.get("envVars"), groups, _line(web, "envVars"))
    plan = str(web.get("plan", "")).lower()
    if plan in RENDER_MEMORY:
        origin.memory = RENDER_MEMORY[plan]
        origin.carried.append(
            f"memory {origin.memory} MB from plan {plan} ({origin.where(_line(web, 'plan'))})"
        )
    for key, advice in (
        ("disk", "FC's code folder is read-only and /tmp is not kept; mount NAS at that path "
                 "(nasConfig in the deploy config) or keep the files on OSS"),
        ("numInstances", "FC adds instances as requests come; see --concurrency"),
        ("scaling", "FC adds instances as requests come; see --concurrency"),
        ("domains", "bind a custom domain to the function (component fc3-domain)"),
    ):  # fmt: skip
        if key in web:
            origin.not_carried.append(f"{key} ({origin.where(_line(web, key))}): {advice}.")
    return origin


def _render_runtime(service: dict[str, Any]) -> str:
    return str(service.get("runtime") or service.get("env") or "").lower()


def _render_env(origin: Origin, entries: object, groups: dict[str, Any], line: int | None) -> None:
    """Render's ``envVars``: values carried; what Render generates or takes from another
    resource, or asks for in its dashboard (``sync: false``), left for the deployer."""
    plain: dict[str, object] = {}
    order: list[str] = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        where = origin.where(_line(entry))
        if "fromGroup" in entry:
            group = groups.get(str(entry["fromGroup"]))
            if group is None:
                origin.not_carried.append(
                    f"the environment group {entry['fromGroup']!r} ({where}): it is kept in "
                    "Render's dashboard; give the variables the app needs with --env "
                    "NAME=VALUE."
                )
            else:
                _render_env(origin, group.get("envVars"), {}, _line(group, "envVars"))
            continue
        key = str(entry.get("key", ""))
        if not key:
            continue
        order.append(key)
        if "value" in entry:
            plain[key] = entry["value"]
        elif entry.get("generateValue"):
            _carry_secret(
                origin,
                key,
                where,
                "Render generates a random one; make your own (python -c 'import secrets; "
                f"print(secrets.token_urlsafe(50))') and export {key} before s deploy.",
            )
        elif isinstance(entry.get("fromDatabase"), dict):
            source = entry["fromDatabase"]
            _carry_secret(
                origin,
                key,
                where,
                f"Render takes it from its database {source.get('name')!r} "
                f"({source.get('property')}); create the database on Alibaba Cloud (ApsaraDB "
                f"RDS for PostgreSQL) and export {key} with its {source.get('property')} "
                "before s deploy.",
            )
        elif isinstance(entry.get("fromService"), dict):
            source = entry["fromService"]
            what = source.get("property") or source.get("envVarKey")
            _carry_secret(
                origin,
                key,
                where,
                f"Render takes it from its {source.get('type')} service "
                f"{source.get('name')!r} ({what}); export {key} with the {what} of that "
                "service's Alibaba Cloud equivalent (Tair for Key Value / Redis, another FC "
                "function for a web service) before s deploy.",
            )
        else:  # sync: false, set in Render's dashboard
            _carry_secret(origin, key, where, None)
    python = _python_version(plain.get("PYTHON_VERSION"))
    if python:
        origin.python = python
        origin.carried.append(f"Python {python} from PYTHON_VERSION ({origin.where(line)})")
    concurrency = _int(str(plain.pop("WEB_CONCURRENCY", "")) or None)
    if concurrency and origin.workers is None:
        # gunicorn's (and uvicorn's) default number of workers on Render.
        command = ServerCommand("gunicorn", workers=concurrency, threads=origin.threads)
        _carry_command(origin, command, line)
    _carry_env(origin, plain, line)
    _in_file_order(origin, order)


def read_railway(file: Path, root: Path) -> Origin:
    """Railway's config as code, ``railway.json`` or ``railway.toml``: build and deploy."""
    origin = Origin("railway", file)
    if file.suffix == ".toml":
        data = read_toml(file)
    else:
        try:
            data = json.loads("\n".join(_lines(file)))
        except json.JSONDecodeError as exc:
            raise FCMigrateError(
                f"Cannot read {file.name}: {exc}. Fix the file or use --from."
            ) from None
    if not isinstance(data, dict):
        raise FCMigrateError(f"{file.name} holds no mapping. Fix the file or use --from.")
    lines = _key_lines(file)
    build, deploy = _mapping(data.get("build")), _mapping(data.get("deploy"))
    start = deploy.get("startCommand")
    if isinstance(start, str) and start.strip():
        _carry_start(origin, start, lines.get("startCommand"), root, "the start command")
    else:
        # Railway builds with a Dockerfile when there is one, else runs the Procfile.
        _companion(origin, root, build.get("dockerfilePath"), ["Dockerfile", "Procfile"])
    if isinstance(build.get("buildCommand"), str):
        line = lines.get("buildCommand")
        _carry_build(origin, build["buildCommand"], line, root, "Railway's build command")
    pre = deploy.get("preDeployCommand")
    for command in [pre] if isinstance(pre, str) else pre if isinstance(pre, list) else []:
        where = origin.where(lines.get("preDeployCommand"))
        _release_step(origin, str(command), "Railway's pre-deploy command", where)
    if deploy.get("cronSchedule"):
        origin.not_carried.append(
            f"cronSchedule {deploy['cronSchedule']!r} ({origin.where(lines.get('cronSchedule'))})"
            ": Railway runs the service on that schedule; on FC run the job as a function "
            "with a timer trigger."
        )
    origin.not_carried.append(
        f"the variables ({origin.name}): Railway keeps a service's variables in its "
        "dashboard, not in the repository; give those the app needs with --env NAME=VALUE "
        "(`railway variables` lists them)."
    )
    return origin


def read_fly(file: Path, root: Path) -> Origin:
    """Fly.io's ``fly.toml``: the app process, release command, env, statics and VM."""
    origin = Origin("fly", file)
    data = read_toml(file)
    lines = _key_lines(file)
    build = _mapping(data.get("build"))
    dockerfile = build.get("dockerfile") or "Dockerfile"
    if build.get("image"):
        origin.not_carried.append(
            f"the image {build['image']!r} ({origin.where(lines.get('build.image'))}): "
            "fcmigrate moves the project's source; migrate the project the image is built from."
        )
    processes = _mapping(data.get("processes"))
    http = _mapping(data.get("http_service"))
    services = [s for s in data.get("services") or [] if isinstance(s, dict)]
    served = http.get("processes") or next((s.get("processes") for s in services), None)
    web = next((str(p) for p in served or [] if p in processes), "app")
    if web not in processes and len(processes) == 1:
        web = next(iter(processes))
    if isinstance(processes.get(web), str):
        line = lines.get(f"processes.{web}")
        _carry_start(origin, processes[web], line, root, f"the {web!r} process")
    else:
        if build.get("builder") or build.get("buildpacks"):
            _companion(origin, root, None, ["Procfile"])
        else:
            _companion(origin, root, dockerfile, ["Dockerfile"])
    for name in processes:
        if name != web:
            where = origin.where(lines.get(f"processes.{name}"))
            _process_not_carried(origin, f"the {name!r} process", where)
    release = _mapping(data.get("deploy")).get("release_command")
    if isinstance(release, str):
        where = origin.where(lines.get("deploy.release_command"))
        _release_step(origin, release, "Fly's release command", where)
    _carry_env(origin, data.get("env"), lines.get("[env]"))
    if origin.workdir is None and (root / str(dockerfile)).is_file():
        origin.workdir = read_dockerfile(root / str(dockerfile)).workdir
    for index, static in enumerate(data.get("statics") or []):
        if isinstance(static, dict):
            _fly_static(origin, static, lines.get(f"[statics]{index}"), root)
    _fly_memory(origin, data.get("vm"), web, lines)
    if data.get("mounts"):
        origin.not_carried.append(
            f"mounts ({origin.where(lines.get('[mounts]0'))}): a Fly volume keeps files "
            "across restarts; on FC mount NAS at that path (nasConfig in the deploy config) "
            "or keep the files on OSS."
        )
    origin.not_carried.append(
        f"the secrets ({origin.name}): Fly keeps them outside the repository (`fly secrets "
        "list` names them); give those the app needs with --env NAME=VALUE."
    )
    return origin


def _fly_static(origin: Origin, static: dict[str, Any], line: int | None, root: Path) -> None:
    """A ``[[statics]]`` entry: its ``guest_path`` inside the image, read as a folder of
    the project by taking off the Dockerfile's WORKDIR (else ``/code/`` or ``/app/``)."""
    guest, url = str(static.get("guest_path", "")), str(static.get("url_prefix", ""))
    where = origin.where(line)
    prefixes = [origin.workdir] if origin.workdir else ["/code", "/app"]
    folder = next(
        (
            posixpath.relpath(guest, prefix)
            for prefix in prefixes
            if guest.startswith("/")
            and posixpath.commonpath([guest, prefix]) == prefix
            and guest != prefix
        ),
        None,
    )
    if folder is None or not url.startswith("/") or not guest.startswith("/"):
        origin.not_carried.append(
            f"the static files {url or '?'} from {guest!r} ({where}): that path is not "
            "inside the project's folder in the image; serve them with --static-map or OSS."
        )
    elif not (root / folder).is_dir():
        origin.not_carried.append(
            f"the static files {url} from {guest!r} ({where}): {folder}/ is not in the "
            "project, so the image's build makes it. migrate's build runs Django's "
            "collectstatic and serves STATIC_ROOT itself; other files, build them into the "
            "project and run again."
        )
    else:
        origin.static.append((url.rstrip("/"), folder))
        origin.carried.append(f"static files {url.rstrip('/')}/ from {folder}/ ({where})")


def _fly_memory(origin: Origin, vms: object, web: str, lines: dict[str, int]) -> None:
    """The memory of the ``[[vm]]`` that runs the web process (or every process)."""
    for index, vm in enumerate(vms if isinstance(vms, list) else [vms]):
        if not isinstance(vm, dict) or web not in (vm.get("processes") or [web]):
            continue
        memory = _megabytes(vm.get("memory_mb") or vm.get("memory"))
        if memory:
            origin.memory = memory
            origin.carried.append(f"memory {memory} MB ({origin.where(lines.get(f'[vm]{index}'))})")
        return


#: App Platform's older instance sizes' memory, in MB; newer slugs name it
#: (``apps-s-1vcpu-0.5gb``).
DO_MEMORY = {
    "basic-xxs": 512, "basic-xs": 1024, "basic-s": 2048, "basic-m": 4096,
    "professional-xs": 1024, "professional-s": 2048, "professional-m": 4096,
    "professional-1l": 4096, "professional-l": 8192, "professional-xl": 16384,
}  # fmt: skip
#: App Platform's app-wide bindable variables: the app's own address there.
_DO_APP_VARIABLE = re.compile(r"\$\{(?:APP_DOMAIN|APP_URL|APP_ID|_self\.[A-Z_]+)\}")
_DO_COMPONENT_VARIABLE = re.compile(r"\$\{([A-Za-z0-9_-]+)\.([A-Za-z0-9_]+)\}")


def _is_digitalocean_spec(data: object) -> bool:
    """Whether a root ``app.yaml`` is a DigitalOcean app spec rather than App Engine's: it
    lists services with DigitalOcean's keys and names no ``runtime``."""
    if not isinstance(data, dict) or "runtime" in data:
        return False
    services = data.get("services")
    return isinstance(services, list) and any(
        isinstance(s, dict) and ("run_command" in s or "environment_slug" in s) for s in services
    )


def read_digitalocean(file: Path, root: Path) -> Origin:
    """DigitalOcean App Platform's app spec: its first Python service."""
    origin = Origin("digitalocean", file, shown=file.relative_to(root).as_posix())
    data, _ = _yaml(file)
    spec = data.get("spec") if isinstance(data, dict) and "spec" in data else data
    if not isinstance(spec, dict):
        raise FCMigrateError(f"{origin.name} holds no app spec. Fix the file or use --from.")
    services = [s for s in spec.get("services") or [] if isinstance(s, dict)]
    service = next((s for s in services if s.get("environment_slug") == "python"), None)
    service = service or next(iter(services), None)
    if service is None:
        origin.not_carried.append(
            f"the services ({origin.where(_line(spec, 'services'))}): the spec lists none; "
            "migrate looks for the app in the code."
        )
        return origin
    where = origin.where(_line(service))
    origin.carried.append(f"the service {service.get('name')!r} ({where})")
    others = [("services", s) for s in services if s is not service]
    others += [(kind, s) for kind in ("workers", "jobs") for s in spec.get(kind) or []]
    _others_not_carried(
        origin,
        "components",
        [
            (str(s.get("name")), origin.where(_line(s)))
            for kind, s in others
            if isinstance(s, dict) and s.get("kind") not in ("PRE_DEPLOY", "POST_DEPLOY")
        ],
    )
    _in_subfolder(origin, service.get("source_dir"), where)
    if isinstance(service.get("run_command"), str) and service["run_command"].strip():
        line = _line(service, "run_command")
        _carry_start(origin, service["run_command"], line, root, "the run command")
    else:
        # Without dockerfile_path a buildpack builds the service, and runs the Procfile.
        _companion(origin, root, service.get("dockerfile_path"), ["Procfile"])
    if isinstance(service.get("build_command"), str):
        line = _line(service, "build_command")
        _carry_build(origin, service["build_command"], line, root, "DigitalOcean's build command")
    for job in spec.get("jobs") or []:
        if isinstance(job, dict) and job.get("kind") in ("PRE_DEPLOY", "POST_DEPLOY"):
            when = "pre-deploy" if job["kind"] == "PRE_DEPLOY" else "post-deploy"
            if isinstance(job.get("run_command"), str):
                what = f"the {when} job {job.get('name')!r}"
                _release_step(origin, job["run_command"], what, origin.where(_line(job)))
    _do_env(origin, spec.get("envs"), _line(spec, "envs"))
    _do_env(origin, service.get("envs"), _line(service, "envs"))
    size = str(service.get("instance_size_slug", ""))
    match = re.search(r"(\d+(?:\.\d+)?)gb$", size)
    memory = DO_MEMORY.get(size) or (int(float(match.group(1)) * 1024) if match else None)
    if memory:
        origin.memory = memory
        origin.carried.append(
            f"memory {memory} MB from {size} ({origin.where(_line(service, 'instance_size_slug'))})"
        )
    for site in spec.get("static_sites") or []:
        if isinstance(site, dict):
            origin.not_carried.append(
                f"the static site {site.get('name')!r} ({origin.where(_line(site))}): "
                "DigitalOcean serves it apart from the app; migrate's build runs Django's "
                "collectstatic and serves STATIC_ROOT itself, and other files can be served "
                "with --static-map or from OSS."
            )
    for database in spec.get("databases") or []:
        if isinstance(database, dict):
            origin.not_carried.append(
                f"the database {database.get('name')!r} ({origin.where(_line(database))}): "
                "create it on Alibaba Cloud (ApsaraDB RDS) and export its URL to the "
                "variables that name it before s deploy."
            )
    for key, advice in (
        ("instance_count", "FC adds instances as requests come; see --concurrency"),
        ("autoscaling", "FC adds instances as requests come; see --concurrency"),
    ):
        if key in service:
            origin.not_carried.append(f"{key} ({origin.where(_line(service, key))}): {advice}.")
    return origin


def _do_env(origin: Origin, entries: object, line: int | None) -> None:
    """App Platform's ``envs``: values carried; secrets (kept encrypted in the spec) and
    references to other components left for the deployer; the app's own address left out."""
    plain: dict[str, object] = {}
    order: list[str] = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not entry.get("key"):
            continue
        key, value = str(entry["key"]), str(entry.get("value", ""))
        order.append(key)
        where = origin.where(_line(entry))
        if entry.get("scope") == "BUILD_TIME":
            continue  # not in the running app's environment
        component = _DO_COMPONENT_VARIABLE.search(value)
        if _DO_APP_VARIABLE.search(value):
            origin.not_carried.append(
                f"the variable {key!r} ({where}): {value!r} is the app's address on "
                "DigitalOcean, so it is left out (the app's own default applies); give the "
                f"function's with --env {key}=VALUE."
            )
            origin.placeholders[key] = value
        elif entry.get("type") == "SECRET":
            _carry_secret(origin, key, where, None)
        elif component:
            _carry_secret(
                origin,
                key,
                where,
                f"DigitalOcean fills {value!r} from its component {component.group(1)!r}; "
                f"export {key} with that of its Alibaba Cloud equivalent (ApsaraDB RDS for a "
                "database) before s deploy.",
            )
        else:
            plain[key] = entry.get("value", "")
    _carry_env(origin, plain, line)
    _in_file_order(origin, order)


def _in_file_order(origin: Origin, names: list[str]) -> None:
    """The variables of a list in the order the file lists them (values and references are
    carried apart), after those carried before."""
    position = {name: n for n, name in enumerate(names)}
    origin.env.sort(key=lambda env: position.get(env.name, -1))


# --- shared ------------------------------------------------------------------------------------


def _mapping(value: object) -> dict[str, Any]:
    return {str(k): v for k, v in value.items()} if isinstance(value, dict) else {}


def _lines(file: Path) -> list[str]:
    try:
        return file.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise FCMigrateError(
            f"{file.name} is not UTF-8 text. Save it as UTF-8, or pick another source with --from."
        ) from None
    except OSError as exc:
        raise FCMigrateError(f"Cannot read {str(file)!r}: {exc.strerror or exc}.") from None


class _Located(dict[str, Any]):
    """A mapping read from YAML that knows its line and the lines of its keys."""

    def __init__(self) -> None:
        super().__init__()
        self.line = 0
        self.lines: dict[str, int] = {}


def _line(mapping: object, key: str | None = None) -> int | None:
    """The line of a YAML mapping, or of one of its keys."""
    if not isinstance(mapping, _Located):
        return None
    return mapping.lines.get(key) if key is not None else mapping.line


def _key_lines(file: Path) -> dict[str, int]:
    """For a JSON or TOML file, the first line naming each key, as ``key`` and
    ``table.key``; a table's header as ``[table]``, and the n-th of an array of tables
    (``[[statics]]``) as ``[statics]n``."""
    found: dict[str, int] = {}
    table = ""
    counts: dict[str, int] = {}
    for number, line in enumerate(_lines(file), 1):
        header = re.match(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]", line)
        if header:
            table = header.group(2)
            if header.group(1) == "[[":
                counts[table] = counts.get(table, -1) + 1
                found.setdefault(f"[{table}]{counts[table]}", number)
            found.setdefault(f"[{table}]", number)
            continue
        bare = re.match(r"^\s*([A-Za-z0-9_.-]+)\s*=", line)
        quoted = re.findall(r'"([A-Za-z0-9_.$-]+)"\s*:', line)
        for key in ([bare.group(1)] if bare else []) + quoted:
            found.setdefault(key, number)
            found.setdefault(f"{table}.{key}", number)
    return found


def _yaml(file: Path) -> tuple[Any, dict[str, int]]:
    """The document and, for each top-level-ish key, the first line that names it."""
    import yaml

    class _Loader(yaml.SafeLoader):
        """Safe, and blind to tags such as CloudFormation's ``!Ref`` and ``!GetAtt``."""

    def unknown(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> object:
        if isinstance(node, yaml.ScalarNode):
            return loader.construct_scalar(node)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node)
        return loader.construct_mapping(node)  # type: ignore[arg-type]

    def located(loader: yaml.SafeLoader, node: yaml.MappingNode) -> Iterator[_Located]:
        data = _Located()
        data.line = node.start_mark.line + 1
        yield data
        data.update({str(k): v for k, v in loader.construct_mapping(node).items()})
        for key, _ in node.value:
            data.lines.setdefault(str(key.value), key.start_mark.line + 1)

    _Loader.add_multi_constructor("!", unknown)
    _Loader.add_constructor("tag:yaml.org,2002:map", located)
    text = "\n".join(_lines(file))
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise FCMigrateError(
            f"{file.name} is not valid YAML{where}. Fix it, or pick another source with --from."
        ) from None
    lines: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        match = re.match(r"^\s*([A-Za-z0-9_.-]+)\s*:", line)
        if match:
            lines.setdefault(match.group(1), number)
    return data, lines


#: A value a sample's config holds for the user to replace: ``your-redis-port``,
#: ``YOUR-PASSWORD``, ``<project-id>``, ``change-me``.
_PLACEHOLDER = re.compile(
    r"(?:[Yy]our|YOUR)[-_][\w.-]+|<[^<>]+>|(?i:change[-_]?me|replace[-_]?me|x{4,}|todo)"
)


def _carry_env(origin: Origin, values: object, line: int | None) -> None:
    if not isinstance(values, dict):
        return
    where = origin.where(line)
    count = 0
    for name, value in values.items():
        key = str(name)
        if not _ENV_NAME.fullmatch(key) or key.upper().startswith("FC_"):
            origin.not_carried.append(
                f"the variable {key!r} ({where}): FC takes names of letters, digits and '_', "
                "and keeps FC_ for itself; rename it in the deploy config."
            )
            continue
        if _MACHINE_ENV.fullmatch(key.upper()):
            continue
        if isinstance(value, str) and _PLACEHOLDER.fullmatch(value.strip()):
            origin.not_carried.append(
                f"the variable {key!r} ({where}): {value!r} is a placeholder for your value, "
                f"so it is left out (the app's own default applies); give the real one with "
                f"--env {key}=VALUE."
            )
            origin.placeholders[key] = value
            continue
        env = EnvValue.read(key, value, where)
        origin.env = [e for e in origin.env if e.name != key] + [env]
        count += 1
    if count:
        origin.carried.append(f"{count} environment variables ({where})")


def _job_name(text: str, taken: Sequence[Job]) -> str:
    """A timer trigger name FC takes: a letter first, then letters, digits, ``-`` and ``_``."""
    base = _JOB_NAME.sub("-", text.strip("/")).strip("-").lower()[:40] or "job"
    if not base[0].isalpha():
        base = f"job-{base}"
    name, n = base, 2
    while any(job.name == name for job in taken):
        name, n = f"{base}-{n}", n + 1
    return name


_READERS = {
    "procfile": read_procfile,
    "appengine": read_app_yaml,
    "serverless": read_serverless,
    "dockerfile": read_dockerfile,
}
_PLATFORM_READERS = {
    "render": read_render,
    "railway": read_railway,
    "fly": read_fly,
    "digitalocean": read_digitalocean,
}


def find_origins(root: Path, stage: str | None = None) -> list[Origin]:
    """Every source in ``root`` that says how the app runs, in preference order."""
    found: list[Origin] = []
    app_yaml = root / "app.yaml"
    digitalocean = app_yaml.is_file() and _is_digitalocean_spec(_yaml(app_yaml)[0])
    for name in ORIGIN_NAMES:
        files = [root / candidate for candidate in _FILES[name]]
        if name in ("appengine", "digitalocean"):
            files = [f for f in files if f != app_yaml or digitalocean == (name != "appengine")]
        file = next((f for f in files if f.is_file()), None)
        if file is None:
            continue
        if name == "zappa":
            found.append(read_zappa(file, stage))
        elif name in _PLATFORM_READERS:
            found.append(_PLATFORM_READERS[name](file, root))
        else:
            found.append(_READERS[name](file))
    return found


def choose_origin(
    origins: Sequence[Origin], pick: str | None = None
) -> tuple[Origin | None, str | None]:
    """The origin to use and a note naming it when several were found.

    ``pick`` (``--from``) is one of :data:`ORIGIN_NAMES` or ``none``.
    """
    if pick == "none":
        return None, None
    if pick is not None:
        if pick not in ORIGIN_NAMES:
            raise FCMigrateError(
                f"Unknown --from {pick!r}. Use one of: {', '.join(ORIGIN_NAMES)}, or none."
            )
        chosen = next((o for o in origins if o.source == pick), None)
        if chosen is None:
            raise FCMigrateError(
                f"--from {pick} names {' or '.join(_FILES[pick])}, which is not in the "
                f"project. Use one of: {', '.join(o.source for o in origins) or 'none'}."
            )
        return chosen, None
    useful = [o for o in origins if o.app or o.jobs or o.env or o.python or o.steps or o.static]
    if not useful:
        return None, None
    chosen = useful[0]
    note = None
    rest = [o for o in useful[1:] if o.file not in chosen.read_with]
    if rest:
        others = ", ".join(o.name for o in rest)
        note = (
            f"Read {chosen.name} for how the app runs today; also found {others} "
            "(pick one with --from)."
        )
    return chosen, note
