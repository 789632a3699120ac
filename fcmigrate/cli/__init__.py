"""The ``fcmigrate`` command line.

Each command lives in its own module and is imported only when it runs, so
``fcmigrate serve`` (what FC starts) loads nothing the other commands need.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Sequence

import click

from fcmigrate import __version__
from fcmigrate.errors import FCMigrateError

#: command name -> "module:attribute" of its click command.
COMMANDS = {
    "serve": "fcmigrate.cli.serve:serve",
    "wrap": "fcmigrate.cli.wrap:wrap",
    "migrate": "fcmigrate.cli.migrate:migrate",
    "dockerize": "fcmigrate.cli.dockerize:dockerize",
    "local": "fcmigrate.cli.local:local",
    "doctor": "fcmigrate.cli.doctor:doctor",
}


def _available(target: str) -> bool:
    return importlib.util.find_spec(target.partition(":")[0]) is not None


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name, target in COMMANDS.items() if _available(target))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None or not _available(target):
            return None
        module, _, attr = target.partition(":")
        command: click.Command = getattr(importlib.import_module(module), attr)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fcmigrate")
def cli() -> None:
    """Move an unmodified Flask or Django app onto Alibaba Cloud Function Compute."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: user mistakes become one ``Error:`` line and a non-zero exit.

    Returns the exit status (``sys.exit(main())``).
    """
    try:
        rv = cli.main(args=list(argv) if argv is not None else None, standalone_mode=False)
    except FCMigrateError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    # click returns the code of ctx.exit(n) here; a command's own return value is no status.
    return rv if isinstance(rv, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
