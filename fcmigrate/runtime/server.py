"""Running a WSGI app under gunicorn the way Function Compute needs.

:func:`run` is what ``fcmigrate serve`` calls. The app is imported once, in the master
process, before gunicorn starts (like ``gunicorn --preload``): an import error then stops
the server at once with the user's traceback instead of leaving FC's health check to
time out, and forked workers share the imported code.

Settings, from lowest to highest precedence:

1. fcmigrate's defaults for FC (:func:`fc_defaults`);
2. a gunicorn config file: ``--config`` or ``./gunicorn.conf.py``;
3. ``GUNICORN_CMD_ARGS``;
4. the options given to ``fcmigrate serve``.
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import shlex
import signal
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NoReturn

# Application, not BaseApplication: only Application can read a gunicorn config file.
from gunicorn.app.base import Application
from gunicorn.config import Config
from gunicorn.glogging import Logger

from fcmigrate import fc
from fcmigrate.errors import FCMigrateError
from fcmigrate.fc import running_on_fc

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

DEFAULT_CONCURRENCY = 8

#: gunicorn's access log, with FC's request ID (from the response, so local runs show one too).
ACCESS_LOG_FORMAT = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms request_id=%({x-request-id}o)s'


class FCLogger(Logger):  # type: ignore[misc]
    """gunicorn's logger, with a fast path for fcmigrate's own access-log format.

    For every access-log line gunicorn builds a dict of every request header, response
    header and environ variable, then formats one string from it; fcmigrate's format needs
    six values. The line is the same; any other format, or a logging config of the user's
    own, goes gunicorn's way.
    """

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        cfg = self.cfg
        if cfg.access_log_format != ACCESS_LOG_FORMAT or _has_log_config(cfg):
            super().access(resp, req, environ, request_time)
            return
        if not cfg.accesslog:
            return
        status = resp.status
        if isinstance(status, str):
            status = status.split(None, 1)[0]
        sent = getattr(resp, "sent", None)
        rid = "-"
        for name, value in resp.headers:
            if name.lower() == "x-request-id":
                rid = value
        method, uri, protocol = (
            environ["REQUEST_METHOD"],
            environ["RAW_URI"],
            environ["SERVER_PROTOCOL"],
        )
        millis = request_time.seconds * 1000 + int(request_time.microseconds / 1000)
        line = (
            f'{_quoted(environ.get("REMOTE_ADDR", "-"))} "{_quoted(f"{method} {uri} {protocol}")}" '
            f"{status} {'-' if sent is None else sent} {millis}ms request_id={_quoted(rid)}"
        )
        try:
            self.access_log.info("%s", line)
        except Exception:
            self.exception("Could not write the access log")


def _quoted(value: Any) -> Any:
    # As gunicorn's SafeAtoms: a quote in a value is escaped, so fields stay parseable.
    return value.replace('"', '\\"') if isinstance(value, str) else value


def _has_log_config(cfg: Any) -> bool:
    return bool(
        getattr(cfg, "logconfig", None)
        or getattr(cfg, "logconfig_dict", None)
        or getattr(cfg, "logconfig_json", None)
        or getattr(cfg, "syslog", False)
    )


#: Set by ``fcmigrate local`` to the address its front door forwards to: every-interface
#: binds (what FC needs) listen there instead, so other machines cannot call the function
#: without the front door (and send it FC's headers themselves).
LOCAL_HOST_ENV = "FCMIGRATE_LOCAL_HOST"
#: Printed when a bind was moved for ``fcmigrate local``; it tells a loopback-only server
#: asked for by ``fcmigrate local`` from one that would fail FC's health check.
LOCAL_BIND_NOTE = "Under fcmigrate local: listening on"
_EVERY_INTERFACE = frozenset({"", "0.0.0.0", "[::]", "::"})


def local_binds(binds: list[str], env: Mapping[str, str] | None = None) -> list[str]:
    """``binds`` with every-interface addresses moved to ``$FCMIGRATE_LOCAL_HOST``, if set."""
    env = os.environ if env is None else env
    host = env.get(LOCAL_HOST_ENV)
    if not host:
        return list(binds)
    moved = []
    for bind in binds:
        address, colon, port = bind.rpartition(":")
        moved.append(f"{host}:{port}" if colon and address in _EVERY_INTERFACE else bind)
    return moved


def default_bind(env: Mapping[str, str] | None = None) -> str:
    """``0.0.0.0:${FC_SERVER_PORT:-9000}``: FC's health check needs every interface."""
    return f"0.0.0.0:{fc.listen_port(env)}"


def available_cpus() -> int:
    """CPUs this process may really use: the cgroup quota, else the affinity mask.

    ``os.cpu_count()`` reports the host's CPUs, often many more than an FC instance gets.
    """
    try:
        count = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        count = os.cpu_count() or 1
    quota = _cgroup_cpu_quota()
    if quota is not None:
        count = min(count, max(1, math.ceil(quota)))
    return max(1, count)


def _cgroup_cpu_quota() -> float | None:
    try:  # cgroup v2
        with open("/sys/fs/cgroup/cpu.max", encoding="ascii") as f:
            quota, period = f.read().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:  # cgroup v1
        with open("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", encoding="ascii") as f:
            quota_us = int(f.read())
        with open("/sys/fs/cgroup/cpu/cpu.cfs_period_us", encoding="ascii") as f:
            period_us = int(f.read())
        return None if quota_us <= 0 else quota_us / period_us
    except (OSError, ValueError):
        return None


def sizing(concurrency: int, cpus: int) -> tuple[int, int]:
    """(workers, threads per worker) for ``concurrency`` requests at once on ``cpus``.

    One process per CPU, never more processes than requests; threads make up the rest.
    """
    concurrency = max(1, concurrency)
    workers = max(1, min(cpus, concurrency))
    threads = math.ceil(concurrency / workers)
    return workers, threads


def concurrency_from_env(env: Mapping[str, str] | None = None) -> int:
    env = os.environ if env is None else env
    value = env.get("FCMIGRATE_CONCURRENCY", "")
    try:
        return int(value) if int(value) > 0 else DEFAULT_CONCURRENCY
    except ValueError:
        return DEFAULT_CONCURRENCY


def fc_defaults(concurrency: int | None = None, cpus: int | None = None) -> dict[str, Any]:
    """gunicorn settings fcmigrate starts from; every one can be overridden."""
    if concurrency is None:
        concurrency = concurrency_from_env()
    workers, threads = sizing(concurrency, available_cpus() if cpus is None else cpus)
    settings: dict[str, Any] = {
        "bind": [default_bind()],
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync",
        # FC freezes idle instances; on thaw a non-zero timeout makes the master kill
        # every worker for stale heartbeats. FC enforces the function timeout itself.
        "timeout": 0,
        # FC allows a 4 KB path plus the /2016-08-15/proxy/... prefix.
        "limit_request_line": 8190,
        "accesslog": "-",
        "errorlog": "-",
        "access_log_format": ACCESS_LOG_FORMAT,
        "logger_class": FCLogger,
        # SCRIPT_NAME / PATH_INFO must never come from a client header.
        "forwarder_headers": "",
        # FC's file system outside /tmp may be read-only.
        "control_socket_disable": True,
        "keepalive": 75,
    }
    if not running_on_fc() and "FORWARDED_ALLOW_IPS" not in os.environ:
        # Off FC, X-Forwarded-Proto from any peer (loopback included, which gunicorn
        # trusts by default) could claim HTTPS: no peer is trusted to set the scheme.
        # On FC the middleware honours it (see FCMiddleware's forwarded_proto).
        settings["forwarded_allow_ips"] = ""
    if os.path.isdir("/dev/shm"):  # noqa: S108
        settings["worker_tmp_dir"] = "/dev/shm"  # noqa: S108 (gunicorn's own advice)
    return settings


class FCApplication(Application):  # type: ignore[misc]
    """A gunicorn application serving an already-imported WSGI callable."""

    def __init__(
        self,
        app: WSGIApplication,
        options: Mapping[str, Any] | None = None,
        *,
        defaults: Mapping[str, Any] | None = None,
        config_file: str | None = None,
    ) -> None:
        self.application = app
        self.options = dict(options or {})
        self.defaults = dict(fc_defaults() if defaults is None else defaults)
        self.config_file = config_file
        # Checked before gunicorn's own loading, which would print its whole usage.
        self.env_args = parse_cmd_args_env()
        super().__init__()

    def _set(self, key: str, value: Any) -> None:
        # Settings that this gunicorn does not know (older versions) are skipped.
        if key in self.cfg.settings and value is not None:
            self.cfg.set(key, value)

    def load_config(self) -> None:
        for key, value in self.defaults.items():
            self._set(key, value)

        env_args = self.env_args
        config_file = self.config_file or env_args.config
        if config_file is None and os.path.exists("gunicorn.conf.py"):
            config_file = "gunicorn.conf.py"
        if config_file:
            self.load_config_from_file(config_file)
            self._keep_fc_contract(config_file)

        for key, value in vars(env_args).items():
            if key not in ("args", "config"):
                self._set(key, value)
        for key, value in self.options.items():
            self._set(key, value)
        if self.cfg.settings["logger_class"].get() is FCLogger and self.cfg.statsd_host:
            # gunicorn switches to its StatsD logger only when the default one is set.
            self.cfg.set("logger_class", "gunicorn.glogging.Logger")
        binds = local_binds(self.cfg.bind)
        if binds != self.cfg.bind:
            print(
                f"{LOCAL_BIND_NOTE} {', '.join(binds)} (on FC: {', '.join(self.cfg.bind)})",
                file=sys.stderr,
                flush=True,
            )
            self.cfg.set("bind", binds)
        keep_stop_signals(self.cfg)

    def _keep_fc_contract(self, config_file: str) -> None:
        """Undo what a project's gunicorn config sets for the machine it ran on before.

        A ``gunicorn.conf.py`` written for a VPS binds a unix socket, daemonizes, writes a
        pid file and log files under ``/var``: on FC the server must stay in the
        foreground on FC's port, and only ``/tmp`` is writable. Each such setting goes back
        to fcmigrate's, with a line saying so; the rest of the file applies.
        """
        cfg = self.cfg
        default_bind = self.defaults.get("bind")
        undone: list[str] = []

        def undo(name: str, value: Any) -> None:
            undone.append(f"{name} = {cfg.settings[name].get()!r}")
            cfg.set(name, value)

        if default_bind is not None and cfg.bind != list(default_bind):
            undo("bind", default_bind)
        for name in ("daemon", "reload"):
            if cfg.settings[name].get():
                undo(name, False)
        for name in ("pidfile", "user", "group", "chdir"):
            if name in cfg.settings and cfg.settings[name].get() != cfg.settings[name].default:
                undo(name, cfg.settings[name].default)
        for name in ("accesslog", "errorlog"):
            path = cfg.settings[name].get()
            writable = ("/tmp/", "/dev/")  # noqa: S108 - FC's only writable folder
            if path and path != "-" and not str(path).startswith(writable):
                undo(name, "-")
        if undone:
            print(
                f"fcmigrate: {config_file} sets {', '.join(undone)}: not on FC, which needs "
                "the server in the foreground on its port with logs on stdout and only /tmp "
                "writable; fcmigrate's values are used for those.",
                file=sys.stderr,
                flush=True,
            )

    def load(self) -> WSGIApplication:
        return self.application


CMD_ARGS_FIX = (
    "Fix or unset GUNICORN_CMD_ARGS; it holds gunicorn's command-line options, "
    "e.g. GUNICORN_CMD_ARGS='--workers 2 --timeout 30' (see 'gunicorn --help')."
)


def parse_cmd_args_env(env: Mapping[str, str] | None = None) -> argparse.Namespace:
    """``GUNICORN_CMD_ARGS`` parsed and checked as gunicorn would, with one-line errors.

    gunicorn itself answers a bad value with its whole usage text (or a bare message on
    a blank line), without saying that the mistake is in an environment variable.
    """
    env = os.environ if env is None else env
    value = env.get("GUNICORN_CMD_ARGS", "")
    if not value.strip():
        # The usual case on FC: no parser is built (gunicorn's takes milliseconds).
        return argparse.Namespace(config=None)
    return _parse_cmd_args(value)


@functools.lru_cache(maxsize=4)  # serve checks it early, then gunicorn's loading reads it
def _parse_cmd_args(value: str) -> argparse.Namespace:
    config = Config()
    parser = config.parser()

    def error(message: str) -> NoReturn:
        raise FCMigrateError(f"GUNICORN_CMD_ARGS: {message}. {CMD_ARGS_FIX}")

    parser.error = error  # argparse reports every bad option through this method
    try:
        words = shlex.split(value)
    except ValueError as exc:  # an unclosed quote
        error(str(exc).lower())
    args: argparse.Namespace = parser.parse_args(words)
    for key, parsed in vars(args).items():
        if key in config.settings and parsed is not None:
            try:
                config.set(key, parsed)
            except (TypeError, ValueError) as exc:
                option = config.settings[key].cli[0] if config.settings[key].cli else key
                error(f"{option}: {exc}")
    return args


#: Signals that stop a worker. gunicorn's master sends them; see keep_stop_signals.
_STOP_SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT, signal.SIGQUIT})


def keep_stop_signals(cfg: Any) -> None:
    """Make a worker obey a stop signal that reached it while it was booting.

    Until a forked worker installs its own handlers, a ``SIGTERM`` lands in its copy of the
    master's signal queue and is lost; once they are in place, each stop signal found there
    is sent again to the worker itself. The user's ``pre_fork`` and ``post_worker_init``
    hooks still run, first.
    """
    user_pre_fork = cfg.pre_fork
    user_post_worker_init = cfg.post_worker_init

    def pre_fork(server: Any, worker: Any) -> None:
        user_pre_fork(server, worker)
        worker.fcmigrate_master_signals = getattr(server, "SIG_QUEUE", None)

    def post_worker_init(worker: Any) -> None:
        user_post_worker_init(worker)
        for sig in _missed_signals(getattr(worker, "fcmigrate_master_signals", None)):
            if sig in _STOP_SIGNALS:
                os.kill(os.getpid(), sig)

    cfg.set("pre_fork", pre_fork)
    cfg.set("post_worker_init", post_worker_init)


def _missed_signals(queue: Any) -> list[Any]:
    """Empty the worker's copy of the master's signal queue (a plain list in older gunicorn)."""
    if queue is None:
        return []
    if isinstance(queue, list):
        missed = list(queue)
        queue.clear()
        return missed
    missed = []
    while not queue.empty():
        missed.append(queue.get_nowait())
    return missed


def check_settings(cfg: Any) -> None:
    """Refuse gunicorn settings that would leak FC's credentials.

    gunicorn formats its access log from the raw request headers, not from the environ
    the middleware cleaned: a format naming a credential header would log the secret.
    """
    access_log_format: str = cfg.access_log_format
    lowered = access_log_format.lower()
    for header in ("x-fc-access-key-id", "x-fc-access-key-secret", "x-fc-security-token"):
        if header in lowered:
            raise FCMigrateError(
                f"The access log format {access_log_format!r} names {header!r}, which would "
                "write FC's credentials to the logs. Remove it from access_log_format."
            )


def run(app: WSGIApplication, options: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
    """Serve ``app`` (already wrapped) with gunicorn until it is told to stop."""
    application = FCApplication(app, options, **kwargs)
    check_settings(application.cfg)
    master = os.getpid()
    try:
        application.run()
    except SystemExit as exc:
        # Workers leave through here too, forked inside run(): only the master's exit
        # is looked at.
        if os.getpid() == master:
            exit_past_app_threads(exc.code)
        raise
    exit_past_app_threads(0)
    sys.exit(0)


def exit_past_app_threads(code: Any) -> None:
    """Exit at once when non-daemon threads would keep the stopped master alive.

    The app is imported in the master before gunicorn starts, so a non-daemon thread it
    starts at import runs in the master, and Python waits for every such thread before a
    process ends: the master would log "Shutting down" and then live on, and FC would
    have to kill it. Each thread is named in the log, then the process ends with the
    exit status gunicorn chose (``atexit`` functions are skipped, as they would run only
    after those threads). Returns when there is no such thread.
    """
    import threading

    current = threading.current_thread()
    lingering = [t for t in threading.enumerate() if t is not current and not t.daemon]
    if not lingering:
        return
    import logging

    names = ", ".join(repr(t.name) for t in lingering)
    logging.getLogger("fcmigrate").warning(
        "Exiting without waiting for the app's non-daemon thread(s) %s, which would keep "
        "the stopped process alive. Start them with daemon=True to end with the process.",
        names,
    )
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # sys.exit("message"): Python prints it and exits 1
        print(code, file=sys.stderr)
        status = 1
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(status)
