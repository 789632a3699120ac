"""``fcmigrate doctor [PATH]``: pre-flight checks for FC, before deploying."""

from __future__ import annotations

import click


@click.command()
@click.argument("path", default=".", type=click.Path(file_okay=True, dir_okay=True))
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@click.option(
    "--ignore",
    "ignore",
    multiple=True,
    metavar="ID",
    help="Skip a finding, by id or name: --ignore FC402, --ignore forced-download. Repeatable.",
)
@click.option("--list-rules", is_flag=True, help="Print every finding id with why and fix.")
def doctor(path: str, as_json: bool, ignore: tuple[str, ...], list_rules: bool) -> None:
    """Check the project at PATH (default: .) for what breaks on Function Compute.

    Reads the bootstrap, s.yaml / template.yml, Dockerfile, Procfile and the Python source,
    and imports Django settings or the Flask app in a child process with the function's
    environment. Exits 1 when an error is found, 0 when there are only warnings.
    """
    from fcmigrate.doctor import diagnose, render_json, render_text, rules_markdown

    if list_rules:
        click.echo(rules_markdown(), nl=False)
        return
    report = diagnose(path, ignore=ignore)
    click.echo(render_json(report) if as_json else render_text(report))
    if report.exit_code:
        # SystemExit, not ctx.exit(): the latter only becomes main()'s return value, which
        # `python -m fcmigrate` does not turn into the process's exit status.
        raise SystemExit(report.exit_code)
