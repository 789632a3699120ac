"""``fcmigrate wrap APP``: write the bootstrap and deploy config for FC's custom runtime."""

from __future__ import annotations

from pathlib import Path

import click

from fcmigrate.wrap import CONFIGS, RUNTIMES, WrapOptions, default_name, generate


@click.command()
@click.argument("app")
@click.option(
    "-o",
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    show_default=True,
    help="Folder to write into (the project folder).",
)
@click.option("--name", help="FC function name. Default: the project folder's name.")
@click.option("--runtime", type=click.Choice(RUNTIMES), default=RUNTIMES[0], show_default=True)
@click.option(
    "--config",
    type=click.Choice(CONFIGS),
    default="s",
    show_default=True,
    help="Deploy config: s = Serverless Devs s.yaml (fc3), fun = template.yml, none.",
)
@click.option("--region", default="cn-hangzhou", show_default=True)
@click.option(
    "--concurrency",
    type=int,
    default=8,
    show_default=True,
    help="FC instance concurrency; gunicorn is sized to match.",
)
@click.option("--memory", type=int, default=1024, show_default=True, help="Memory in MB.")
@click.option("--timeout", type=int, default=60, show_default=True, help="Function timeout (s).")
@click.option("--base-path", "base_paths", multiple=True, help="Extra prefix, e.g. '/api'.")
@click.option("--event-route", help="App path that receives FC event calls.")
@click.option("--on-initialize", metavar="MODULE:FUNC")
@click.option("--on-pre-stop", metavar="MODULE:FUNC")
@click.option("--on-pre-freeze", metavar="MODULE:FUNC")
@click.option("--force", is_flag=True, help="Replace files that already exist.")
def wrap(
    app: str,
    out: Path,
    name: str | None,
    runtime: str,
    config: str,
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

    APP is imported first, so a mistake shows up before anything is written.
    """
    from fcmigrate.loader import import_string, load_app
    from fcmigrate.render import write_files

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
    )
    files = generate(options)
    load_app(app, cwd=str(out.resolve()))
    for hook in (on_initialize, on_pre_stop, on_pre_freeze):
        if hook:
            import_string(hook)
    written = write_files(out, files, force=force)

    for path in written:
        click.echo(f"Wrote {path}")
    click.echo("")
    click.echo("Next steps:")
    click.echo(f"  1. Try it locally:        ./bootstrap   (or: fcmigrate serve {app})")
    click.echo(
        "  2. Vendor dependencies:   pip install -r requirements.txt -t python/ "
        "--platform manylinux2014_x86_64 --python-version 3.10 --only-binary=:all:"
    )
    click.echo("     (or let `fcmigrate migrate` do all of it)")
    if config == "s":
        click.echo("  3. Deploy:                s deploy")
    elif config == "fun":
        click.echo("  3. Deploy:                fun deploy")
        click.echo(
            "     Note: fun only knows the Debian 9 'custom' runtime (Python 3.7); fcmigrate "
            "needs Python 3.10+. Switch the function to custom.debian10 after deploying, "
            "or use --config s."
        )
