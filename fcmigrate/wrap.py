"""The files ``fcmigrate wrap`` writes: the ``bootstrap`` and the deploy config."""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fcmigrate.errors import FCMigrateError
from fcmigrate.render import OutputFile, render, yaml_flow_list, yaml_scalar

#: Every method, so HEAD and CORS preflights (OPTIONS) are not refused by the trigger.
HTTP_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")

RUNTIMES = ("custom.debian10", "custom.debian11", "custom.debian12")
CONFIGS = ("s", "fun", "none")

#: PATH for FC's custom runtimes: FC's Python is installed under /var/fc/lang.
FC_PATH = (
    "/var/fc/lang/python3.10/bin:/var/fc/lang/python3.11/bin:/var/fc/lang/python3.12/bin:"
    "/usr/local/bin:/usr/local/sbin:/usr/bin:/usr/sbin:/bin:/sbin"
)

_NAME_OK = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")


def function_name(value: str) -> str:
    """A valid FC function name from a folder name: letters, digits, ``_``, ``-``."""
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", value).strip("-")
    if not name or not (name[0].isalpha() or name[0] == "_"):
        name = "app-" + name if name else "app"
    return name[:64].rstrip("-") or "app"


@dataclass
class WrapOptions:
    """What ``wrap`` needs to know; the defaults suit a small web app."""

    app: str
    name: str = "app"
    runtime: str = "custom.debian10"
    config: str = "s"
    region: str = "cn-hangzhou"
    concurrency: int = 8
    memory: int = 1024
    timeout: int = 60
    base_paths: Sequence[str] = ()
    event_route: str | None = None
    on_initialize: str | None = None
    on_pre_stop: str | None = None
    on_pre_freeze: str | None = None
    extra_serve_args: Sequence[str] = field(default_factory=tuple)

    def validate(self) -> None:
        if self.runtime not in RUNTIMES:
            raise FCMigrateError(
                f"Unknown runtime {self.runtime!r}. Use one of: {', '.join(RUNTIMES)}."
            )
        if self.config not in CONFIGS:
            raise FCMigrateError(
                f"Unknown config {self.config!r}. Use one of: {', '.join(CONFIGS)}."
            )
        if not _NAME_OK.fullmatch(self.name):
            raise FCMigrateError(
                f"Invalid function name {self.name!r}. Use letters, digits, '_' and '-', "
                "starting with a letter, at most 64 characters."
            )
        if not 1 <= self.concurrency <= 200:
            raise FCMigrateError(
                f"Instance concurrency {self.concurrency} is out of range. Use 1 to 200."
            )
        if self.memory < 128 or self.memory % 64:
            raise FCMigrateError(
                f"Memory {self.memory} MB is not valid on FC. Use a multiple of 64, at least 128."
            )
        if not 1 <= self.timeout <= 86400:
            raise FCMigrateError(f"Timeout {self.timeout} s is out of range. Use 1 to 86400.")

    def serve_args(self) -> list[str]:
        args: list[str] = []
        for base in self.base_paths:
            args += ["--base-path", base]
        for flag, value in (
            ("--event-route", self.event_route),
            ("--on-initialize", self.on_initialize),
            ("--on-pre-stop", self.on_pre_stop),
            ("--on-pre-freeze", self.on_pre_freeze),
        ):
            if value:
                args += [flag, value]
        return args + list(self.extra_serve_args)


def bootstrap(options: WrapOptions) -> OutputFile:
    args = "".join(shlex.quote(a) + " " for a in options.serve_args())
    content = render("bootstrap.tmpl", app=shlex.quote(options.app), serve_args=args)
    return OutputFile("bootstrap", content, 0o755)


def s_yaml(options: WrapOptions) -> OutputFile:
    content = render(
        "s.yaml.tmpl",
        name=options.name,
        function_name=options.name,
        region=yaml_scalar(options.region),
        description=yaml_scalar(f"{options.app} served by fcmigrate"),
        runtime=options.runtime,
        timeout=options.timeout,
        memory=options.memory,
        concurrency=options.concurrency,
        path=FC_PATH,
        methods=yaml_flow_list(HTTP_METHODS),
    )
    return OutputFile("s.yaml", content)


def fun_template(options: WrapOptions) -> OutputFile:
    content = render(
        "template.yml.tmpl",
        service_name=options.name,
        function_name=options.name,
        description=yaml_scalar(f"{options.app} served by fcmigrate"),
        timeout=options.timeout,
        memory=options.memory,
        concurrency=min(options.concurrency, 100),
        methods=yaml_flow_list(HTTP_METHODS),
    )
    return OutputFile("template.yml", content)


def generate(options: WrapOptions) -> list[OutputFile]:
    """The files for ``options``: the bootstrap, then the deploy config if any."""
    options.validate()
    files = [bootstrap(options)]
    if options.config == "s":
        files.append(s_yaml(options))
    elif options.config == "fun":
        files.append(fun_template(options))
    return files


def default_name(project_dir: Path) -> str:
    return function_name(project_dir.resolve().name)
