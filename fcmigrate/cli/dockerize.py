"""``fcmigrate dockerize [APP]``: a Dockerfile and deploy config for FC's container runtime."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from fcmigrate.build.wrap import CONFIGS, PYTHONS
from fcmigrate.cli.options import function_options, validate_out_folder

if TYPE_CHECKING:
    from fcmigrate.build.detect import Detected


@click.command()
@click.argument("app", required=False)
@click.option(
    "-o",
    "--out",
    type=click.Path(path_type=Path, readable=False),
    callback=validate_out_folder,
    default=".",
    show_default=True,
    help="The project folder: the Docker build context, where the files are written.",
)
@click.option(
    "--python",
    metavar="X.Y",
    help=f"Python of the image ({', '.join(PYTHONS)}). Default: the project's "
    ".python-version or requires-python, else 3.10.",
)
@click.option(
    "--image",
    help="Image address FC pulls, e.g. registry.cn-hangzhou.aliyuncs.com/ns/app:1.0. "
    "Default: a placeholder to replace.",
)
@click.option(
    "--config",
    type=click.Choice(CONFIGS),
    default="s",
    show_default=True,
    help="Deploy config: s = s.yaml (fc3, FC 3.0), fc2 = s.yaml (fc, FC 2.0), "
    "fun = template.yml, none.",
)
@function_options
@click.option("--force", is_flag=True, help="Replace files that already exist.")
def dockerize(
    app: str | None,
    out: Path,
    python: str | None,
    image: str | None,
    config: str,
    name: str | None,
    region: str,
    concurrency: int,
    memory: int,
    timeout: int,
    base_paths: tuple[str, ...],
    force: bool,
) -> None:
    """Write a Dockerfile, .dockerignore and deploy config that run APP in a container.

    APP is found in the project folder when omitted (manage.py, app.py, wsgi.py, ...).
    Nothing in the project is imported, so its dependencies need not be installed here.
    """
    from fcmigrate import __version__
    from fcmigrate.build.dockerize import (
        USER_FILES,
        VENDOR_DIR,
        DockerizeOptions,
        choose_python,
        generate,
        prune_vendored,
    )
    from fcmigrate.build.render import check_writable, write_files
    from fcmigrate.errors import FCMigrateError

    if not out.is_dir():
        raise FCMigrateError(
            f"The project folder {str(out)!r} does not exist. Use --out to name the folder "
            "that holds the app, e.g. --out path/to/project."
        )
    detected = _detect(out, app)
    options = DockerizeOptions(
        app=detected.spec,
        project=out,
        python=choose_python(python, detected.python, detected.python_source),
        image=image,
        config=config,
        name=name,
        region=region,
        concurrency=concurrency,
        memory=memory,
        timeout=timeout,
        base_paths=base_paths,
        requirements=detected.requirements,
        django_settings=detected.settings_module if detected.framework == "django" else None,
    )
    files = generate(options)
    # The vendored fcmigrate copy is ours and always refreshed; the user's files are not.
    check_writable(out, [f for f in files if f.path in USER_FILES], force)
    written = write_files(out, files, force=True)
    prune_vendored(out, files)

    package = f"{VENDOR_DIR}/fcmigrate/"
    for file, path in zip(files, written, strict=True):
        if not file.path.startswith(package):
            click.echo(f"Wrote {path}")
    vendored = sum(f.path.startswith(package) for f in files)
    click.echo(f"Wrote {out / package} (fcmigrate {__version__}, {vendored} files)")
    click.echo(f"App: {options.app}" + ("" if app else f" (found in {detected.found_in})"))
    click.echo(f"Python: {options.python}")
    container = options.container()
    if container.placeholder:
        click.echo(
            f"Warning: no --image given; the deploy config names the placeholder "
            f"{container.image!r}. Push your image and replace it, or run again with "
            "--image ... --force.",
            err=True,
        )
    click.echo("")
    click.echo("Next steps:")
    click.echo(f"  1. Build:   docker build --platform linux/amd64 -t {container.image} {out}")
    click.echo(
        f"  2. Try it:  docker run --rm --platform linux/amd64 -p 9000:9000 {container.image}"
    )
    click.echo(f"  3. Push:    docker push {container.image}")
    if config in ("s", "fc2"):
        click.echo("  4. Deploy:  s deploy")
    elif config == "fun":
        click.echo("  4. Deploy:  fun deploy")


def _detect(project: Path, app: str | None) -> Detected:
    """The app: given, else the one a Procfile, app.yaml, render.yaml, fly.toml, Dockerfile
    ... runs, else detected."""
    from dataclasses import replace

    from fcmigrate.build.detect import detect_app
    from fcmigrate.build.origins import choose_origin, find_origins
    from fcmigrate.errors import FCMigrateError

    if app is None:
        origin, _ = choose_origin(find_origins(project))
        if origin is not None and origin.app:
            try:
                detected = detect_app(project, origin.app)
            except FCMigrateError:
                pass  # the file names an app the project does not hold: detect it instead
            else:
                return replace(
                    detected, found_in=detected.found_in.replace("--app", origin.name, 1)
                )
    return detect_app(project, app)
