"""Options that several commands share, defined once so they read and behave alike."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from fcmigrate.build.wrap import CONFIGS, PLATFORMS, RUNTIMES, check_region
from fcmigrate.errors import FCMigrateError

F = TypeVar("F", bound=Callable[..., Any])


def _stack(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    def apply(func: F) -> F:
        for decorator in reversed(decorators):
            func = decorator(func)
        return func

    return apply


def validate_region(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """``--region`` of every command: one ``Error:`` line if it is no region ID."""
    return check_region(value)


def validate_out_folder(
    ctx: click.Context, param: click.Parameter, value: Path | None
) -> Path | None:
    """``--out`` of every command: a folder that may not exist yet, or one fcmigrate can use.

    Checked here rather than by ``click.Path`` so that a mistake is one ``Error:`` line
    with the fix, not click's usage block.
    """
    if value is None:
        return None
    if value.exists() and not value.is_dir():
        raise FCMigrateError(
            f"--out {str(value)!r} is a file, not a folder. Name a folder with --out "
            "(it is created if missing)."
        )
    if value.is_dir() and not os.access(value, os.R_OK | os.W_OK | os.X_OK):
        raise FCMigrateError(
            f"Cannot read and write the folder {str(value)!r} (--out). Make it writable "
            f"(chmod u+rwx {str(value)!r}) or name another folder with --out."
        )
    return value


#: Which platform and runtime, and which deploy config (wrap, migrate).
target_options = _stack(
    click.option("--runtime", type=click.Choice(RUNTIMES), default=RUNTIMES[0], show_default=True),
    click.option(
        "--config",
        type=click.Choice(CONFIGS),
        help="Deploy config: s = Serverless Devs s.yaml (fc3, FC 3.0; the default), fc2 = "
        "s.yaml (fc, FC 2.0), fun = template.yml, none. SCF has none.",
    ),
    click.option(
        "--platform",
        type=click.Choice(PLATFORMS),
        default=PLATFORMS[0],
        show_default=True,
        help="fc = Alibaba Cloud Function Compute (bootstrap); scf = Tencent Cloud SCF web "
        "function (scf_bootstrap).",
    ),
)

#: The function's settings in the deploy config (wrap, migrate, dockerize).
function_options = _stack(
    click.option("--name", help="FC function name. Default: the project folder's name."),
    click.option(
        "--region",
        default="cn-hangzhou",
        show_default=True,
        callback=validate_region,
        help="Region ID, e.g. cn-hangzhou, ap-southeast-1.",
    ),
    click.option(
        "--concurrency",
        type=int,
        default=8,
        show_default=True,
        help="FC instance concurrency; gunicorn is sized to match.",
    ),
    click.option("--memory", type=int, default=1024, show_default=True, help="Memory in MB."),
    click.option(
        "--timeout", type=int, default=60, show_default=True, help="Function timeout (s)."
    ),
    click.option("--base-path", "base_paths", multiple=True, help="Extra prefix, e.g. '/api'."),
)

#: What FC sends besides HTTP requests (wrap, migrate): passed on to `fcmigrate serve`.
hook_options = _stack(
    click.option("--event-route", help="App path that receives FC event calls."),
    click.option("--on-initialize", metavar="MODULE:FUNC", help="Run on FC's initializer hook."),
    click.option("--on-pre-stop", metavar="MODULE:FUNC", help="Run on FC's pre-stop hook."),
    click.option("--on-pre-freeze", metavar="MODULE:FUNC", help="Run on FC's pre-freeze hook."),
)


_ENV_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def env_pairs(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> dict[str, str]:
    """``--env NAME=VALUE`` options as a dict; one ``Error:`` line for a bad one."""
    pairs: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not _ENV_NAME.fullmatch(name) or name.upper().startswith("FC_"):
            raise FCMigrateError(
                f"Invalid --env {item!r}. Use NAME=VALUE with a name of letters, digits and "
                "'_' that does not start with FC_ (FC keeps those), e.g. --env DEBUG=0."
            )
        pairs[name] = value
    return pairs
