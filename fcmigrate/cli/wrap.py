"""``fcmigrate wrap APP``: write the bootstrap and deploy config for FC's custom runtime."""

from __future__ import annotations

import shlex
from pathlib import Path

import click

from fcmigrate.build.wrap import (
    PYTHONS,
    WrapOptions,
    check_app,
    default_name,
    generate,
)
from fcmigrate.cli.options import (
    function_options,
    hook_options,
    target_options,
    validate_out_folder,
)


@click.command()
@click.argument("app", required=False)
@click.option(
    "-o",
    "--out",
    type=click.Path(path_type=Path, readable=False),
    callback=validate_out_folder,
    default=".",
    show_default=True,
    help="Folder to write into (the project folder).",
)
@target_options
@click.option(
    "--python",
    default=PYTHONS[0],
    show_default=True,
    metavar="X.Y",
    help=f"Target Python ({', '.join(PYTHONS)}): the interpreter the start script looks for.",
)
@function_options
@hook_options
@click.option("--force", is_flag=True, help="Replace files that already exist.")
def wrap(
    app: str | None,
    out: Path,
    name: str | None,
    runtime: str,
    config: str | None,
    platform: str,
    python: str,
    region: str,
    concurrency: int,
    memory: int,
    timeout: int,
    base_paths: tuple[str, ...],
    event_route: str | None,
    on_initialize: str | None,
    on_pre_stop: str | None,
    on_pre_freeze: str | None,
    force: bool,
) -> None:
    """Write a bootstrap (and s.yaml) that runs APP on FC's custom runtime.

    APP is imported first, in a child process with the folder read-only as on FC, so a
    mistake shows up before anything is written. Without APP,
    the app is detected in the --out folder (see `fcmigrate migrate`).
    """
    from fcmigrate.build.render import write_files
    from fcmigrate.errors import FCMigrateError

    if platform == "scf" and config not in (None, "none"):
        raise FCMigrateError(
            f"--config {config} is a Function Compute deploy config; SCF has none. "
            "Drop --config, or use --platform fc."
        )
    config = config or ("none" if platform == "scf" else "s")
    if app is None:
        from fcmigrate.build.detect import detect_app

        app = detect_app(out).spec
    options = WrapOptions(
        app=app,
        name=name or default_name(out),
        runtime=runtime,
        config=config,
        region=region,
        concurrency=concurrency,
        memory=memory,
        timeout=timeout,
        base_paths=base_paths,
        event_route=event_route,
        on_initialize=on_initialize,
        on_pre_stop=on_pre_stop,
        on_pre_freeze=on_pre_freeze,
        platform=platform,
        python=python,
    )
    files = generate(options)
    # The bootstrap starts in the --out folder: resolve the app and hooks from there too.
    hooks = [hook for hook in (on_initialize, on_pre_stop, on_pre_freeze) if hook]
    check_app(out, app, hooks)
    written = write_files(out, files, force=force)

    for path in written:
        click.echo(f"Wrote {path}")
    click.echo("")
    click.echo("Next steps:")
    script = files[0].path
    # Paths as the user gave them: the commands are run from where wrap was run.
    project = shlex.quote(str(out))
    build = shlex.quote(str(out / ".fcmigrate" / "build"))
    local = "fcmigrate local" if str(out) == "." else f"fcmigrate local --project {project}"
    click.echo(f"  1. Try it locally:        {local}   (or run {script} itself)")
    click.echo(
        # fcmigrate itself must be vendored too: the bootstrap runs `python3 -m fcmigrate`.
        f"  2. Vendor dependencies:   fcmigrate migrate {project} --python {python}   "
        f"(builds {build} with python/, fcmigrate included)"
    )
    if platform == "scf":
        click.echo(
            f"  3. Deploy:                upload the folder as an SCF web function "
            f"(Python {python}); {script} is its start file."
        )
        return
    if config in ("s", "fc2"):
        click.echo(f"  3. Deploy:                cd {build} && s deploy")
    elif config == "fun":
        click.echo(f"  3. Deploy:                cd {build} && fun deploy")
        click.echo(
            "     Note: fun only knows the Debian 9 'custom' runtime (Python 3.7); fcmigrate "
            "needs Python 3.10+. Switch the function to custom.debian10 after deploying, "
            "or use --config s."
        )
    # FC calls only the hooks a config declares; some formats cannot declare every hook.
    undeclared = {
        "s": [("--on-pre-freeze", on_pre_freeze)],
        "fun": [("--on-pre-stop", on_pre_stop), ("--on-pre-freeze", on_pre_freeze)],
    }.get(config or "s", [])
    for flag, value in undeclared:
        if value:
            click.echo(
                f"Note: {flag} is passed to serve, but this config format cannot declare it, "
                "so FC will not call it. Use --config fc2 (FC 2.0) for it."
            )
