"""``fcmigrate migrate [PATH]``: build a folder and ``code.zip`` that FC's custom runtime runs."""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from fcmigrate.build.facts import SUPPORTED_PYTHONS
from fcmigrate.build.origins import ORIGIN_NAMES
from fcmigrate.build.signals import terminate_as_exit
from fcmigrate.cli.options import (
    env_pairs,
    function_options,
    hook_options,
    target_options,
    validate_out_folder,
)
from fcmigrate.errors import FCMigrateError

if TYPE_CHECKING:
    from fcmigrate.build.migrate import MigrateResult


@click.command()
@click.argument(
    "path",
    default=".",
    # Existence and permissions are checked by detection, with a message that says the fix.
    type=click.Path(path_type=Path, readable=False),
)
@click.option("--app", help="The app, e.g. 'app:app'. Default: detected in PATH.")
@click.option(
    "-o",
    "--out",
    type=click.Path(path_type=Path, readable=False),
    callback=validate_out_folder,
    help="Build folder. Default: PATH/.fcmigrate/build.",
)
@click.option(
    "--zip",
    "zip_path",
    # A folder here is refused by migrate, in one line.
    type=click.Path(path_type=Path, readable=False),
    help="Where to write the zip. Default: code.zip beside the build folder.",
)
@click.option(
    "--python",
    metavar="X.Y",
    help=f"Target Python ({', '.join(SUPPORTED_PYTHONS)}). Default: the project's "
    ".python-version or requires-python, else 3.10 (custom.debian10).",
)
@target_options
@function_options
@hook_options
@click.option(
    "--precompile/--no-precompile",
    default=True,
    show_default=True,
    help="Compile .pyc for the target Python (needs an interpreter of that version).",
)
@click.option(
    "--interpreter",
    metavar="PATH",
    help="A Python X.Y (the target) to check the import and precompile with. Default: searched.",
)
@click.option(
    "--from",
    "source",
    type=click.Choice([*ORIGIN_NAMES, "none"]),
    help="Which file says how the app runs today (zappa_settings.json, serverless.yml, "
    "app.yaml, render.yaml, railway.json/.toml, fly.toml, .do/app.yaml, Procfile, "
    "Dockerfile). Default: the first found, in that order; none: ignore them.",
)
@click.option("--stage", help="The Zappa stage to read. Default: the first.")
@click.option(
    "-e",
    "--env",
    "env",
    multiple=True,
    metavar="NAME=VALUE",
    callback=env_pairs,
    help="An environment variable for the function, also given to the import check. "
    "Repeatable. A name that marks a secret (*KEY*, *TOKEN*, DATABASE_URL ...) goes into the "
    "deploy config as ${env('NAME')}, never in clear.",
)
@click.option(
    "--resolve-timeout",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Stop resolving and installing the requirements after this long. "
    "Default: $FCMIGRATE_RESOLVE_TIMEOUT, else 300.",
)
@click.option("--force", is_flag=True, help="Replace an existing build folder and zip.")
@click.option("-q", "--quiet", is_flag=True, help="Print only the summary.")
def migrate(
    path: Path,
    app: str | None,
    out: Path | None,
    zip_path: Path | None,
    python: str | None,
    runtime: str,
    config: str | None,
    platform: str,
    name: str | None,
    region: str,
    concurrency: int,
    memory: int,
    timeout: int,
    base_paths: tuple[str, ...],
    event_route: str | None,
    on_initialize: str | None,
    on_pre_stop: str | None,
    on_pre_freeze: str | None,
    precompile: bool,
    interpreter: str | None,
    source: str | None,
    stage: str | None,
    env: dict[str, str],
    resolve_timeout: float | None,
    force: bool,
    quiet: bool,
) -> None:
    """Turn the Flask or Django project in PATH into a folder and code.zip for FC.

    Detects the app, copies the project, vendors its requirements (with gunicorn and
    fcmigrate) into python/, resolved with uv for the target Python, writes the bootstrap
    and deploy config, checks that the app imports, precompiles, and zips. PATH is only read.
    """
    from fcmigrate.build.migrate import MigrateOptions
    from fcmigrate.build.migrate import migrate as build

    if platform == "scf" and config not in (None, "none"):
        raise FCMigrateError(
            f"--config {config} is a Function Compute deploy config; SCF has none. "
            "Drop --config, or use --platform fc."
        )
    config = config or ("none" if platform == "scf" else "s")
    wrap: dict[str, Any] = {
        "region": region,
        "concurrency": concurrency,
        "memory": memory,
        "timeout": timeout,
        "base_paths": base_paths,
        "event_route": event_route,
        "on_initialize": on_initialize,
        "on_pre_stop": on_pre_stop,
        "on_pre_freeze": on_pre_freeze,
    }
    # Memory and timeout the user did not give may come from where the app runs today.
    context = click.get_current_context()
    for key in ("memory", "timeout", "concurrency"):
        if context.get_parameter_source(key) == click.core.ParameterSource.DEFAULT:
            del wrap[key]
    if platform != "fc":
        wrap["platform"] = platform
    options = MigrateOptions(
        project=path,
        app=app,
        out=out,
        zip_path=zip_path,
        python=python,
        # Not given: the runtime that has the target Python is picked.
        runtime=runtime if _given("runtime") else None,
        config=config,
        name=name,
        force=force,
        precompile=precompile,
        interpreter=interpreter,
        resolve_timeout=resolve_timeout,
        wrap=wrap,
        source=source,
        stage=stage,
        env=env,
    )
    with terminate_as_exit():
        result = build(options, progress=None if quiet else lambda line: click.echo(line, err=True))
    _summary(result, config, platform)


def _given(parameter: str) -> bool:
    source = click.get_current_context().get_parameter_source(parameter)
    return source not in (None, click.core.ParameterSource.DEFAULT)


def _shown(path: Path) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith("..") else rel


def _summary(result: MigrateResult, config: str, platform: str) -> None:
    from fcmigrate.build.migrate import installed_summary
    from fcmigrate.build.package import bytecode_tag, human_size

    detected = result.detected
    if result.interpreter is None:
        checked = "not checked (no interpreter of the target version)"
    else:
        checked = f"checked with {result.interpreter}: python/ only, code folder read-only"
    bytecode = (
        f"{result.compiled} modules precompiled for {bytecode_tag(result.python)} (unchecked-hash)"
        if result.compiled
        else "not precompiled"
    )
    echo = click.echo
    echo("")
    echo(f"Built {_shown(result.out)}")
    echo(f"  app       {detected.spec} ({detected.framework}; found in {detected.found_in})")
    echo(f"  import    {checked}")
    echo(f"  python    {result.python} ({result.python_source})")
    echo(f"  packages  {installed_summary(result.installed)}; fcmigrate from this installation")
    echo(f"  bytecode  {bytecode}")
    echo(
        f"  files     {', '.join(result.generated)}, python/, and "
        f"{result.copied.files} project files"
    )
    for n, line in enumerate(result.copied.left_out_lines()):
        echo(f"  {'left out' if n == 0 else '':8}  {line}")
    echo(f"  zip       {_shown(result.zip_path)}, {human_size(result.zip_bytes)}")
    if result.origin is not None:
        _origin_summary(result)
    for note in [*result.notes, *result.copied.notes()]:
        echo(f"Note: {note}")
    where = shlex.quote(_shown(result.out))
    if platform == "scf":
        echo(f"Next: upload {_shown(result.zip_path)} as an SCF web function (scf_bootstrap).")
    elif config in ("s", "fc2"):
        echo(f"Next: cd {where} && s deploy")
    elif config == "fun":
        echo(f"Next: cd {where} && fun deploy")
    else:
        echo(f"Next: upload {_shown(result.zip_path)} in the FC console (or with the API).")


def _origin_summary(result: MigrateResult) -> None:
    """What the Procfile, app.yaml ... said: carried, not carried, and left to the user."""
    origin = result.origin
    assert origin is not None
    echo = click.echo
    echo(f"From {origin.name} (how the app runs today):")
    for line in origin.carried:
        echo(f"  carried   {line}")
    for job in origin.jobs:
        echo(f"  timer     {job.name}: {job.schedule} -> {job.kind} {job.target} ({job.where})")
    for line in origin.not_carried:
        echo(f"  not       {line}")
    for line in origin.steps:
        echo(f"  you run   {line}")
    secrets = origin.secrets()
    if secrets:
        echo(
            f"  secrets   {', '.join(secrets)}: written as ${{env('NAME')}} in the deploy "
            "config, never in clear. Export them (or put them in a .env beside s.yaml, kept "
            "out of git) before `s deploy`."
        )
