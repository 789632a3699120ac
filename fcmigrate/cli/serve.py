"""``fcmigrate serve`` in the click command group; the command itself is
:mod:`fcmigrate.runtime.serve`.

Its options are parsed by :mod:`fcmigrate.runtime.serve` alone, so that
``python -m fcmigrate serve`` (what FC starts) can skip click, and both ways of calling it
accept the same words.
"""

from __future__ import annotations

import click


@click.command(
    add_help_option=False,
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
)
@click.argument("argv", nargs=-1, type=click.UNPROCESSED)
def serve(argv: tuple[str, ...]) -> None:
    """Serve APP the way FC runs it: gunicorn, FC's port, FC's middleware."""
    from fcmigrate.runtime.serve import serve as run_serve

    run_serve(argv)
