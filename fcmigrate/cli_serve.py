"""``fcmigrate serve APP``: the app under gunicorn, behind :class:`FCMiddleware`."""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from fcmigrate.errors import FCMigrateError

LOG_FORMAT = "[%(asctime)s] [%(process)d] [%(levelname)s] [%(request_id)s] %(name)s: %(message)s"


def _setup_logging() -> None:
    from fcmigrate.context import install_log_record_factory

    install_log_record_factory()
    log = logging.getLogger("fcmigrate")
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


@click.command()
@click.argument("app")
@click.option(
    "-b",
    "--bind",
    multiple=True,
    help="Address to listen on. Default: 0.0.0.0:${FC_SERVER_PORT:-9000}.",
)
@click.option("-p", "--port", type=click.IntRange(1, 65535), help="Port on 0.0.0.0.")
@click.option(
    "--concurrency",
    type=click.IntRange(1, 1000),
    envvar="FCMIGRATE_CONCURRENCY",
    help="Requests one instance serves at once (FC's instanceConcurrency). Sizes "
    "workers and threads. Env: FCMIGRATE_CONCURRENCY. Default: 8.",
)
@click.option("-w", "--workers", type=click.IntRange(1), help="gunicorn worker processes.")
@click.option("--threads", type=click.IntRange(1), help="Threads per worker.")
@click.option("--timeout", type=click.IntRange(0), help="gunicorn worker timeout (default 0).")
@click.option("--graceful-timeout", type=click.IntRange(0), help="Seconds to drain on SIGTERM.")
@click.option("--log-level", help="gunicorn log level.")
@click.option("-c", "--config", "config_file", help="gunicorn config file.")
@click.option(
    "--base-path",
    "base_paths",
    multiple=True,
    help="Extra path prefix to move into SCRIPT_NAME, e.g. a custom-domain route '/api'. "
    "Repeatable. Env: FCMIGRATE_BASE_PATH (comma separated).",
)
@click.option("--event-route", help="App path that receives FC event calls (POST /invoke).")
@click.option("--on-initialize", metavar="MODULE:FUNC", help="Run on FC's initializer hook.")
@click.option("--on-pre-stop", metavar="MODULE:FUNC", help="Run on FC's pre-stop hook.")
@click.option("--on-pre-freeze", metavar="MODULE:FUNC", help="Run on FC's pre-freeze hook.")
@click.option(
    "--drop-fc-headers",
    is_flag=True,
    envvar="FCMIGRATE_DROP_FC_HEADERS",
    help="Drop every client-sent x-fc-* header. For servers anyone can reach off FC; "
    "on FC only the platform can send them.",
)
@click.option(
    "--no-fail-on-5xx",
    is_flag=True,
    help="Do not mark the app's 5xx answers as failed invocations (x-fc-status: 404).",
)
@click.option(
    "--trust-fc-hosts/--no-trust-fc-hosts",
    default=None,
    envvar="FCMIGRATE_TRUST_FC_HOSTS",
    help="On FC only: add FC's own hosts (and FCMIGRATE_CUSTOM_DOMAINS) to Django's "
    "ALLOWED_HOSTS and CSRF_TRUSTED_ORIGINS. Env: FCMIGRATE_TRUST_FC_HOSTS. Default: off.",
)
@click.option(
    "--static/--no-static",
    default=None,
    envvar="FCMIGRATE_STATIC",
    help="Serve Django's collected static files under STATIC_URL (WhiteNoise). "
    "Env: FCMIGRATE_STATIC. Default: on.",
)
def serve(
    app: str,
    bind: tuple[str, ...],
    port: int | None,
    concurrency: int | None,
    workers: int | None,
    threads: int | None,
    timeout: int | None,
    graceful_timeout: int | None,
    log_level: str | None,
    config_file: str | None,
    base_paths: tuple[str, ...],
    event_route: str | None,
    on_initialize: str | None,
    on_pre_stop: str | None,
    on_pre_freeze: str | None,
    drop_fc_headers: bool,
    no_fail_on_5xx: bool,
    trust_fc_hosts: bool | None,
    static: bool | None,
) -> None:
    """Serve APP the way FC runs it: gunicorn, FC's port, FC's middleware.

    APP is 'module:name', 'module:factory(args)', a module, or a Django project folder or
    settings module. What the generated bootstrap runs on FC, and what you run locally.
    """
    from fcmigrate.django_support import prepare_app
    from fcmigrate.loader import load_app
    from fcmigrate.middleware import FCMiddleware
    from fcmigrate.server import fc_defaults, run

    _setup_logging()
    if bind and port:
        raise FCMigrateError("Use --bind or --port, not both.")
    wsgi_app = load_app(app)
    # After load_app (Django's settings are configured then); WhiteNoise goes inside
    # FCMiddleware so that it sees paths without FC's prefix.
    wsgi_app = prepare_app(wsgi_app, trust_fc_hosts=trust_fc_hosts, static=static)
    wrapped = FCMiddleware(
        wsgi_app,
        base_paths=list(base_paths) or None,
        event_route=event_route,
        on_initialize=on_initialize,
        on_pre_stop=on_pre_stop,
        on_pre_freeze=on_pre_freeze,
        fail_on_5xx=not no_fail_on_5xx,
        trust_fc_headers=not drop_fc_headers,
    )
    options: dict[str, Any] = {
        "bind": list(bind) or ([f"0.0.0.0:{port}"] if port else None),
        "workers": workers,
        "threads": threads,
        "timeout": timeout,
        "graceful_timeout": graceful_timeout,
        "loglevel": log_level,
        "proc_name": f"fcmigrate: {app}",
    }
    run(wrapped, options, defaults=fc_defaults(concurrency), config_file=config_file)
