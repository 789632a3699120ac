"""``fcmigrate serve APP``: the app under gunicorn, behind :class:`FCMiddleware`.

This is what FC starts on every cold start, so it parses its options with :mod:`argparse`
(which gunicorn imports anyway) and imports nothing the other commands need:
``python -m fcmigrate serve`` comes straight here, without click.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
import threading
from collections.abc import Sequence
from typing import Any, NoReturn

from fcmigrate.errors import FCMigrateError
from fcmigrate.fc import env_flag

LOG_FORMAT = "[%(asctime)s] [%(process)d] [%(levelname)s] [%(request_id)s] %(name)s: %(message)s"

DESCRIPTION = """\
Serve APP the way FC runs it: gunicorn, FC's port, FC's middleware. APP is 'module:name',
'module:factory(args)', a module, or a Django project folder or settings module. This is
what the generated bootstrap runs on FC, and what you run locally."""

EPILOG = """\
Settings, lowest precedence first: fcmigrate's defaults for FC, a gunicorn config file
(--config or ./gunicorn.conf.py), GUNICORN_CMD_ARGS, then these options."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise FCMigrateError(f"{message[:1].upper()}{message[1:]}. See 'fcmigrate serve --help'.")


def _int_in(low: int, high: int | None = None) -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low or (high is not None and value > high):
            span = f"{low} to {high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"{value} is out of range ({span})")
        return value

    parse.__name__ = "number"
    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="fcmigrate serve",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("app", metavar="APP")
    add(
        "-b",
        "--bind",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="Address to listen on; repeatable. Default: 0.0.0.0:${FC_SERVER_PORT:-9000}.",
    )
    add("-p", "--port", type=_int_in(1, 65535), help="Port on 0.0.0.0.")
    add(
        "--concurrency",
        type=_int_in(1, 1000),
        help="Requests one instance serves at once (FC's instanceConcurrency); sizes workers "
        "and threads. Env: FCMIGRATE_CONCURRENCY. Default: 8.",
    )
    add("-w", "--workers", type=_int_in(1), help="gunicorn worker processes.")
    add("--threads", type=_int_in(1), help="Threads per worker.")
    add("--timeout", type=_int_in(0), help="gunicorn worker timeout (default 0).")
    add("--graceful-timeout", type=_int_in(0), help="Seconds to drain on SIGTERM.")
    add("--log-level", help="gunicorn log level.")
    add("-c", "--config", dest="config_file", help="gunicorn config file.")
    add(
        "--base-path",
        dest="base_paths",
        action="append",
        default=[],
        metavar="PATH",
        help="Extra path prefix to move into SCRIPT_NAME, e.g. a custom-domain route '/api'. "
        "Repeatable. Env: FCMIGRATE_BASE_PATH (comma separated).",
    )
    add(
        "--event-route",
        metavar="PATH",
        help="App path that receives FC event calls (POST /invoke).",
    )
    add(
        "--jobs",
        metavar="FILE",
        help="A build's scheduled jobs (fcmigrate_jobs.json): FC timer events naming one of "
        "them run it.",
    )
    add(
        "--static-map",
        dest="static_maps",
        action="append",
        default=[],
        metavar="URL=FOLDER",
        help="Serve FOLDER's files at URL (WhiteNoise), e.g. /static=static. Repeatable.",
    )
    add("--on-initialize", metavar="MODULE:FUNC", help="Run on FC's initializer hook.")
    add("--on-pre-stop", metavar="MODULE:FUNC", help="Run on FC's pre-stop hook.")
    add("--on-pre-freeze", metavar="MODULE:FUNC", help="Run on FC's pre-freeze hook.")
    add(
        "--drop-fc-headers",
        action="store_true",
        default=None,
        help="Drop every client-sent x-fc-* header. For servers anyone can reach off FC; on "
        "FC only the platform can send them. Env: FCMIGRATE_DROP_FC_HEADERS.",
    )
    add(
        "--no-fail-on-5xx",
        action="store_true",
        help="Do not mark the app's 5xx answers as failed invocations (x-fc-status: 404).",
    )
    add(
        "--trust-fc-hosts",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="On FC only: add FC's own hosts (and FCMIGRATE_CUSTOM_DOMAINS) to Django's "
        "ALLOWED_HOSTS and CSRF_TRUSTED_ORIGINS. Env: FCMIGRATE_TRUST_FC_HOSTS. Default: off.",
    )
    add(
        "--static",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="Serve Django's collected static files under STATIC_URL (WhiteNoise). "
        "Env: FCMIGRATE_STATIC. Default: on.",
    )
    return parser  # fmt: skip


def _setup_logging() -> None:
    from fcmigrate.runtime.context import install_log_record_factory

    install_log_record_factory()
    log = logging.getLogger("fcmigrate")
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


def serve(argv: Sequence[str]) -> None:
    """Parse ``argv`` (the words after ``serve``) and serve until told to stop.

    User mistakes raise :class:`FCMigrateError`; errors inside the app propagate.
    """
    args = build_parser().parse_args(list(argv))
    if args.bind and args.port:
        raise FCMigrateError("Use --bind or --port, not both.")
    drop_fc_headers = args.drop_fc_headers
    if drop_fc_headers is None:
        drop_fc_headers = env_flag(os.environ, "FCMIGRATE_DROP_FC_HEADERS")

    from fcmigrate.runtime.django_support import prepare_app
    from fcmigrate.runtime.loader import load_app
    from fcmigrate.runtime.middleware import FCMiddleware
    from fcmigrate.runtime.server import fc_defaults, parse_cmd_args_env, run

    # Before the app is imported: a mistake in the environment is reported at once.
    parse_cmd_args_env()
    _setup_logging()
    # The pattern the gc module's docs give for servers that fork without exec: no
    # collections while the app is imported (a cold start does not wait for them, and
    # freed holes do not scatter the pages workers share), then everything imported is
    # frozen, so collections in the workers never touch, and so never copy, those pages.
    jobs = None
    if args.jobs:
        from fcmigrate.runtime.jobs import Jobs

        jobs = Jobs.load(args.jobs)
    gc.disable()
    try:
        try:
            wsgi_app = load_app(args.app)
        except FCMigrateError:
            raise
        except (Exception, SystemExit) as exc:  # raised by the app's own code
            from fcmigrate.runtime.import_errors import import_failure

            raise import_failure(exc, args.app) from None
        # After load_app (Django's settings are configured then); WhiteNoise goes inside
        # FCMiddleware so that it sees paths without FC's prefix.
        wsgi_app = prepare_app(wsgi_app, trust_fc_hosts=args.trust_fc_hosts, static=args.static)
        if args.static_maps:
            from fcmigrate.runtime.staticmap import static_map_app

            wsgi_app = static_map_app(wsgi_app, args.static_maps)
    finally:
        gc.freeze()
        gc.enable()
    wrapped = FCMiddleware(
        wsgi_app,
        base_paths=args.base_paths or None,
        event_route=args.event_route,
        on_initialize=args.on_initialize,
        on_pre_stop=args.on_pre_stop,
        on_pre_freeze=args.on_pre_freeze,
        fail_on_5xx=not args.no_fail_on_5xx,
        trust_fc_headers=not drop_fc_headers,
        jobs=jobs,
    )
    options: dict[str, Any] = {
        "bind": args.bind or ([f"0.0.0.0:{args.port}"] if args.port else None),
        "workers": args.workers,
        "threads": args.threads,
        "timeout": args.timeout,
        "graceful_timeout": args.graceful_timeout,
        "loglevel": args.log_level,
        "proc_name": f"fcmigrate: {args.app}",
    }
    run(wrapped, options, defaults=fc_defaults(args.concurrency), config_file=args.config_file)


def main(argv: Sequence[str]) -> int:
    """``python -m fcmigrate serve ...``: one ``Error:`` line and exit 2 for user mistakes."""
    try:
        serve(argv)
    except FCMigrateError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        if threading.active_count() > 1:
            # The app may have started threads at import that would keep this process
            # from ending.
            from fcmigrate.runtime.server import exit_past_app_threads

            exit_past_app_threads(exc.exit_code)
        return exc.exit_code
    return 0
