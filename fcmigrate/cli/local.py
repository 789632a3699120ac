"""``fcmigrate local [APP]``: run the function behind FC's front door, on localhost."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from fcmigrate.local.command import LocalOptions, run
from fcmigrate.local.frontdoor import IDLE_TIMEOUT_SECONDS, URL_STYLES
from fcmigrate.local.function import FC_HEALTH_CHECK_SECONDS


@click.command()
@click.argument("app", required=False)
@click.option(
    "--project",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    show_default=True,
    help="The project folder (holds bootstrap and s.yaml); FC's /code.",
)
@click.option(
    "-p",
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="Port of the front door on 127.0.0.1 (0: any free port).",
)
@click.option(
    "--url-style",
    type=click.Choice(URL_STYLES),
    default="both",
    show_default=True,
    help="Serve at FC 2.0's /2016-08-15/proxy/<service>/<function>/ path (proxy), "
    "at / like *.fcapp.run (fcapp), or both.",
)
@click.option(
    "--custom-domain",
    is_flag=True,
    help="Behave like a custom domain: no forced 'Content-Disposition: attachment'.",
)
@click.option(
    "--invoke",
    metavar="EVENT_FILE",
    help="Send one event call (POST /invoke) with this file ('-' = stdin) as the event, "
    "print the result, and stop. Exit 1 when the invocation fails.",
)
@click.option(
    "--job",
    metavar="NAME",
    help="Fire the scheduled job NAME as its FC timer would (an event call naming it), "
    "print the result, and stop. The jobs are listed in the build's fcmigrate_jobs.json.",
)
@click.option(
    "--start-timeout",
    type=click.FloatRange(0.5),
    default=FC_HEALTH_CHECK_SECONDS,
    show_default=True,
    help="Seconds to wait for the port, as FC's health check does.",
)
@click.option(
    "--initializer",
    is_flag=True,
    help="Call POST /initialize at start even if the config sets no initializer.",
)
@click.option(
    "--pre-stop",
    is_flag=True,
    help="Call GET /pre-stop at shutdown even if the config sets no preStop hook.",
)
@click.option(
    "--idle-timeout",
    type=click.FloatRange(0.1),
    default=IDLE_TIMEOUT_SECONDS,
    show_default=True,
    help="Seconds a client connection may send nothing (mid-request or between "
    "kept-alive requests) before the front door closes it.",
)
def local(
    app: str | None,
    project: Path,
    port: int,
    url_style: str,
    custom_domain: bool,
    invoke: str | None,
    job: str | None,
    start_timeout: float,
    initializer: bool,
    pre_stop: bool,
    idle_timeout: float,
) -> None:
    """Run the function the way FC does, behind FC's HTTP front door, on localhost.

    Starts the project's bootstrap (or 'fcmigrate serve APP') with FC's environment and
    settings from s.yaml, health-checks its port, then serves it with FC's headers, limits
    and response rules. APP may be omitted when the project has a bootstrap.
    """
    if job is not None:
        invoke = _job_event_file(project, job, invoke)
    options = LocalOptions(
        project=project,
        app=app,
        port=port,
        url_style=url_style,
        custom_domain=custom_domain,
        invoke=invoke,
        start_timeout=start_timeout,
        initializer=initializer,
        pre_stop=pre_stop,
        idle_timeout=idle_timeout,
    )
    code = run(options)
    if code:
        # Not click's Exit: with standalone_mode=False click returns its code instead of
        # exiting, and `python -m fcmigrate` would then exit 0.
        sys.exit(code)


def _job_event_file(project: Path, name: str, invoke: str | None) -> str:
    """A file holding the timer event of job ``name``, after checking the build declares it."""
    import atexit
    import tempfile

    from fcmigrate.errors import FCMigrateError
    from fcmigrate.runtime.jobs import JOBS_FILE, Jobs, timer_event

    if invoke is not None:
        raise FCMigrateError("--job and --invoke both send an event call: give one of them.")
    jobs_file = project / JOBS_FILE
    if not jobs_file.is_file():
        raise FCMigrateError(
            f"{str(project)!r} declares no scheduled jobs (no {JOBS_FILE}). Run `fcmigrate "
            "migrate` on a project whose Procfile, cron.yaml, zappa_settings.json or "
            "serverless.yml has schedules, and point --project at the build."
        )
    declared = Jobs.load(jobs_file).by_name
    if name not in declared:
        raise FCMigrateError(
            f"No job {name!r} in {JOBS_FILE}. Use one of: {', '.join(declared) or 'none'}."
        )
    handle, path = tempfile.mkstemp(prefix="fcmigrate-job-", suffix=".json")
    with open(handle, "wb") as f:
        f.write(timer_event(name))
    atexit.register(Path(path).unlink, missing_ok=True)
    return path
