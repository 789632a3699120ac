"""The files ``fcmigrate wrap`` writes: the start script and the deploy config.

For Function Compute (``platform="fc"``) that is ``bootstrap`` plus one deploy config:
``s.yaml`` for Serverless Devs' ``fc3`` component (FC 3.0), ``s.yaml`` for its ``fc``
component (FC 2.0), or ``template.yml`` for ``fun``. For Tencent Cloud SCF web functions
(``platform="scf"``) it is ``scf_bootstrap`` alone.

The same deploy configs serve the custom-container runtime (``fcmigrate dockerize``):
pass a :class:`ContainerImage` to :func:`deploy_config`.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
import sysconfig
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fcmigrate import fc
from fcmigrate.build.origins import Job
from fcmigrate.build.render import OutputFile, render, yaml_flow_list, yaml_scalar
from fcmigrate.deployconfig import (
    WRAP_CONCURRENCY,
    WRAP_MEMORY,
    WRAP_TIMEOUT,
    FunctionConfig,
    Trigger,
)
from fcmigrate.deployconfig import default_name as default_name  # wrap's name for it
from fcmigrate.deployconfig import function_name as function_name
from fcmigrate.errors import FCMigrateError
from fcmigrate.runtime.jobs import JOBS_FILE, job_payload

#: Every method, so HEAD and CORS preflights (OPTIONS) are not refused by the trigger.
HTTP_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")

RUNTIMES = ("custom.debian10", "custom.debian11", "custom.debian12")
CONTAINER_RUNTIME = "custom-container"
#: s = Serverless Devs fc3 (FC 3.0), fc2 = Serverless Devs fc (FC 2.0), fun = template.yml.
CONFIGS = ("s", "fc2", "fun", "none")
PLATFORMS = ("fc", "scf")
#: Python versions fcmigrate runs on (X.Y).
PYTHONS = ("3.10", "3.11", "3.12", "3.13")

#: PATH for FC's custom runtimes: FC's Python is installed under /var/fc/lang.
FC_PATH = (
    "/var/fc/lang/python3.10/bin:/var/fc/lang/python3.11/bin:/var/fc/lang/python3.12/bin:"
    "/usr/local/bin:/usr/local/sbin:/usr/bin:/usr/sbin:/bin:/sbin"
)

_NAME_OK = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")
#: A region ID: cn-hangzhou, ap-southeast-1, cn-shanghai-finance-1.
_REGION_OK = re.compile(r"[a-z]{2}(?:-[a-z0-9]+)+")


def check_region(region: str) -> str:
    """``region`` if it is shaped like a region ID, else a one-line error.

    The region is written into s.yaml and template.yml and into an image address: a
    control character or a quote there would break the file, so only the ID's letters pass.
    """
    if not _REGION_OK.fullmatch(region):
        raise FCMigrateError(
            f"Invalid region {region!r}. Use a region ID such as 'cn-hangzhou' or 'ap-southeast-1'."
        )
    return region


def check_python(version: str) -> str:
    """``version`` if fcmigrate supports it as a target, else a one-line error."""
    if version not in PYTHONS:
        raise FCMigrateError(
            f"Unsupported Python {version!r}. Use one of: {', '.join(PYTHONS)}, "
            f"e.g. --python {PYTHONS[0]}."
        )
    return version


@dataclass
class WrapOptions:
    """What ``wrap`` needs to know; the defaults suit a small web app."""

    app: str
    name: str = "app"
    runtime: str = "custom.debian10"
    config: str = "s"
    region: str = "cn-hangzhou"
    concurrency: int = WRAP_CONCURRENCY
    memory: int = WRAP_MEMORY
    timeout: int = WRAP_TIMEOUT
    base_paths: Sequence[str] = ()
    event_route: str | None = None
    on_initialize: str | None = None
    on_pre_stop: str | None = None
    on_pre_freeze: str | None = None
    extra_serve_args: Sequence[str] = field(default_factory=tuple)
    #: "fc" (Function Compute) or "scf" (Tencent Cloud SCF: scf_bootstrap, no deploy config).
    platform: str = "fc"
    #: Target Python X.Y; on SCF it picks the interpreter (/var/lang/python3XY/...).
    python: str = "3.10"
    #: More environment variables for the deploy config, name -> value as written there
    #: (a secret is ``${env('NAME')}``, read from the deployer's environment).
    environment: Mapping[str, str] = field(default_factory=dict)
    #: Scheduled jobs: each becomes a timer trigger, run by ``serve --jobs``.
    jobs: Sequence[Job] = ()
    #: ``URL=FOLDER`` static mappings, served by ``serve --static-map``.
    static_maps: Sequence[str] = ()

    def validate(self) -> None:
        if self.platform not in PLATFORMS:
            raise FCMigrateError(
                f"Unknown platform {self.platform!r}. Use one of: {', '.join(PLATFORMS)}."
            )
        if self.runtime not in RUNTIMES:
            raise FCMigrateError(
                f"Unknown runtime {self.runtime!r}. Use one of: {', '.join(RUNTIMES)}."
            )
        if self.config not in CONFIGS:
            raise FCMigrateError(
                f"Unknown config {self.config!r}. Use one of: {', '.join(CONFIGS)}."
            )
        check_python(self.python)
        check_region(self.region)
        if not _NAME_OK.fullmatch(self.name):
            raise FCMigrateError(
                f"Invalid function name {self.name!r}. Use letters, digits, '_' and '-', "
                "starting with a letter or '_', at most 64 characters."
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
        if self.jobs:
            args += ["--jobs", JOBS_FILE]
        for mapping in self.static_maps:
            args += ["--static-map", mapping]
        return args + list(self.extra_serve_args)


@dataclass(frozen=True)
class ContainerImage:
    """A custom-container function: the image and the command FC starts in it.

    ``entrypoint`` is the program and ``command`` its arguments, as in FC 3.0's
    ``customContainerConfig`` and Docker's ENTRYPOINT / CMD.
    """

    image: str
    entrypoint: Sequence[str]
    command: Sequence[str]
    #: True when ``image`` is a placeholder the user must replace before deploying.
    placeholder: bool = False

    def image_comment(self) -> str:
        if self.placeholder:
            return "# PLACEHOLDER: your pushed image's address (or dockerize again with --image)."
        return "# The image built from the Dockerfile; push it before deploying."


def _json_string(values: Sequence[str]) -> str:
    """A YAML single-quoted scalar holding a JSON list: fun and FC 2.0 want JSON strings."""
    return "'" + json.dumps(list(values)).replace("'", "''") + "'"


def _container_values(
    container: ContainerImage, as_list: Callable[[Sequence[str]], str]
) -> dict[str, str]:
    """Values every container template takes; ``as_list`` writes entrypoint and command."""
    return {
        "image": yaml_scalar(container.image),
        "image_comment": container.image_comment(),
        "entrypoint": as_list(container.entrypoint),
        "command": as_list(container.command),
    }


#: Handlers FC requires for the hooks; a custom runtime ignores them.
INITIALIZER_HANDLER = "index.initialize"
PRE_STOP_HANDLER = "index.preStop"
#: Longest hook timeouts wrap writes (FC's limits for the initializer and pre-stop).
MAX_INITIALIZER_TIMEOUT = 300
MAX_PRE_STOP_TIMEOUT = 90
#: fun's schema stops instance concurrency at 100.
MAX_FUN_CONCURRENCY = 100


def base_environment(
    concurrency: int, style: str, container: ContainerImage | None = None
) -> dict[str, str]:
    """The variables every deploy config wrap writes sets (the templates spell them out).

    A container has its own PATH and search path; fun's custom runtime finds FC's Python
    by itself.
    """
    env: dict[str, str] = {}
    if container is None:
        if style != "fun":
            env["PATH"] = FC_PATH
        env["PYTHONPATH"] = "/code/python:/opt/python:/code"
    env["FCMIGRATE_CONCURRENCY"] = str(concurrency)
    env["FCMIGRATE_TRUST_FC_HOSTS"] = "1"
    return env


def function_config(
    options: WrapOptions, style: str, container: ContainerImage | None = None
) -> FunctionConfig:
    """The function the deploy config of ``style`` (fc3, fc2 or fun) describes: what the
    templates render, and what :mod:`fcmigrate.deployconfig` reads back."""
    concurrency = options.concurrency
    if style == "fun":
        concurrency = min(concurrency, MAX_FUN_CONCURRENCY)
    environment = base_environment(concurrency, style, container)
    for name, value in options.environment.items():
        if style == "fun" and value.startswith("${env("):
            continue  # fun has no deploy-time variables: set them by hand
        environment[name] = value
    if container is not None:
        runtime, command = CONTAINER_RUNTIME, [*container.entrypoint, *container.command]
    elif style == "fun":
        # fun's schema knows no custom.debian* runtime; FC starts /code/bootstrap.
        runtime, command = "custom", None
    else:
        runtime, command = options.runtime, ["/code/bootstrap"]
    config = FunctionConfig(
        service=options.name,
        function=options.name,
        kind=style,
        region=options.region,
        runtime=runtime,
        timeout=options.timeout,
        memory=options.memory,
        concurrency=concurrency,
        command=command,
        environment=environment,
        triggers=[Trigger("http", list(HTTP_METHODS))],
    )
    if options.on_initialize:
        config.initializer = True
        config.initializer_handler = INITIALIZER_HANDLER
        config.initializer_timeout = min(options.timeout, MAX_INITIALIZER_TIMEOUT)
    if options.on_pre_stop and style != "fun":  # fun's schema knows the initializer only
        config.pre_stop = True
        config.pre_stop_timeout = min(options.timeout, MAX_PRE_STOP_TIMEOUT)
    return config


def _lifecycle(config: FunctionConfig, options: WrapOptions, style: str) -> str:
    """FC only calls the hooks a function's config names: YAML for those wrap was given.

    Appended to the ``instanceConcurrency`` line of each template (``""`` when there are
    no hooks). The handler is required by FC but means nothing to a custom runtime.
    """
    lines: list[str] = []
    if style == "fc3":
        hooks = [
            ("initializer", config.initializer_handler, config.initializer_timeout),
            ("preStop", PRE_STOP_HANDLER, config.pre_stop_timeout),
        ]
        if config.initializer or config.pre_stop:
            lines.append("instanceLifecycleConfig:")
            for key, handler, timeout in hooks:
                if timeout is not None:
                    lines += [f"  {key}:", f"    handler: {handler}", f"    timeout: {timeout}"]
        indent = " " * 6
    elif style == "fc2":
        if config.initializer:
            lines += [
                f"initializer: {config.initializer_handler}",
                f"initializationTimeout: {config.initializer_timeout}",
            ]
        stop_timeout = min(options.timeout, MAX_PRE_STOP_TIMEOUT)
        instance_hooks = [
            ("preStop", PRE_STOP_HANDLER, config.pre_stop),
            ("preFreeze", "index.preFreeze", bool(options.on_pre_freeze)),
        ]
        if any(h[2] for h in instance_hooks):
            lines.append("instanceLifecycleConfig:")
            for key, handler, given in instance_hooks:
                if given:
                    lines += [
                        f"  {key}:",
                        f"    handler: {handler}",
                        f"    timeout: {stop_timeout}",
                    ]
        indent = " " * 8
    else:  # fun's schema knows the initializer only
        if config.initializer:
            lines += [
                f"Initializer: {config.initializer_handler}",
                f"InitializationTimeout: {config.initializer_timeout}",
            ]
        indent = " " * 8
    return "".join("\n" + indent + line for line in lines)


def _extra_env(options: WrapOptions, style: str) -> str:
    """Lines appended to the environment block (``""`` when there are none)."""
    indent = " " * (8 if style == "fc3" else 10)
    lines: list[str] = []
    secrets: list[str] = []
    for name, value in options.environment.items():
        if style == "fun" and value.startswith("${env("):
            secrets.append(name)  # fun has no deploy-time variables: set them by hand
            continue
        lines.append(f"{name}: {yaml_scalar(value)}")
    if secrets:
        lines.append(
            f"# Set in the console (fun cannot read them at deploy time): {', '.join(secrets)}"
        )
    return "".join("\n" + indent + line for line in lines)


def _timers(options: WrapOptions, style: str) -> str:
    """Timer triggers appended after the HTTP trigger (``""`` without jobs)."""
    lines: list[str] = []
    for job in options.jobs:
        payload = yaml_scalar(job_payload(job.name))
        schedule = yaml_scalar(job.schedule)
        if style == "fc3":
            lines += [
                f"- triggerName: {job.name}",
                "  triggerType: timer",
                "  triggerConfig:",
                f"    cronExpression: {schedule}",
                "    enable: true",
                f"    payload: {payload}",
            ]
        elif style == "fc2":
            lines += [
                f"- name: {job.name}",
                "  type: timer",
                "  config:",
                f"    cronExpression: {schedule}",
                "    enable: true",
                f"    payload: {payload}",
            ]
        else:
            lines += [
                f"{job.name}:",
                "  Type: Timer",
                "  Properties:",
                f"    CronExpression: {schedule}",
                "    Enable: true",
                f"    Payload: {payload}",
            ]
    return "".join("\n" + " " * 8 + line for line in lines)


def jobs_file(options: WrapOptions) -> OutputFile:
    jobs = [job.as_dict() for job in options.jobs]
    return OutputFile(JOBS_FILE, json.dumps({"jobs": jobs}, indent=2) + "\n")


def _common(
    options: WrapOptions, style: str, container: ContainerImage | None = None
) -> dict[str, object]:
    """Values every deploy config template takes (``style``: fc3, fc2 or fun), from the
    :class:`~fcmigrate.deployconfig.FunctionConfig` the file describes."""
    config = function_config(options, style, container)
    values: dict[str, object] = {
        "function_name": config.function,
        "description": yaml_scalar(f"{options.app} served by fcmigrate"),
        "timeout": config.timeout,
        "memory": config.memory,
        "concurrency": config.concurrency,
        "methods": yaml_flow_list(config.methods or HTTP_METHODS),
        "lifecycle": _lifecycle(config, options, style),
        "extra_env": _extra_env(options, style),
        "timers": _timers(options, style),
    }
    if style == "fun":
        values["service_name"] = config.service
    else:
        values["name"] = config.service
        values["region"] = yaml_scalar(config.region)
    return values


def bootstrap(options: WrapOptions) -> OutputFile:
    args = "".join(shlex.quote(a) + " " for a in options.serve_args())
    content = render(
        "bootstrap.tmpl",
        app=shlex.quote(options.app),
        serve_args=args,
        target_python=check_python(options.python),
    )
    return OutputFile("bootstrap", content, 0o755)


def scf_python(version: str) -> str:
    """The interpreter's absolute path in SCF's Python images, e.g. 3.10 ->
    ``/var/lang/python310/bin/python3.10``."""
    return f"/var/lang/python{version.replace('.', '')}/bin/python{version}"


def scf_bootstrap(options: WrapOptions) -> OutputFile:
    """``scf_bootstrap``: what a Tencent Cloud SCF web function runs to start the server."""
    args = "".join(shlex.quote(a) + " " for a in options.serve_args())
    content = render(
        "scf_bootstrap.tmpl",
        app=shlex.quote(options.app),
        serve_args=args,
        interpreter=scf_python(check_python(options.python)),
        port=fc.PORT,
    )
    return OutputFile("scf_bootstrap", content, 0o755)


def s_yaml(options: WrapOptions, container: ContainerImage | None = None) -> OutputFile:
    """Serverless Devs ``s.yaml`` for the ``fc3`` component (FC 3.0)."""
    values = _common(options, "fc3", container)
    if container is None:
        content = render("s.yaml.tmpl", runtime=options.runtime, path=FC_PATH, **values)
    else:
        content = render(
            "s.container.yaml.tmpl", **_container_values(container, yaml_flow_list), **values
        )
    return OutputFile("s.yaml", content)


def fc2_yaml(options: WrapOptions, container: ContainerImage | None = None) -> OutputFile:
    """Serverless Devs ``s.yaml`` for the ``fc`` component (FC 2.0)."""
    values = _common(options, "fc2", container)
    if container is None:
        content = render("s.fc2.yaml.tmpl", runtime=options.runtime, path=FC_PATH, **values)
    else:
        content = render(
            "s.fc2.container.yaml.tmpl", **_container_values(container, _json_string), **values
        )
    return OutputFile("s.yaml", content)


def fun_template(options: WrapOptions, container: ContainerImage | None = None) -> OutputFile:
    """``template.yml`` for ``fun`` (FC 2.0's older tool; InstanceConcurrency at most 100)."""
    values = _common(options, "fun", container)
    if container is None:
        content = render("template.yml.tmpl", **values)
    else:
        content = render(
            "template.container.yml.tmpl", **_container_values(container, _json_string), **values
        )
    return OutputFile("template.yml", content)


def deploy_config(
    options: WrapOptions, container: ContainerImage | None = None
) -> OutputFile | None:
    """The deploy config ``options.config`` names, for the custom runtime or ``container``."""
    if options.config == "s":
        return s_yaml(options, container)
    if options.config == "fc2":
        return fc2_yaml(options, container)
    if options.config == "fun":
        return fun_template(options, container)
    return None


def generate(options: WrapOptions) -> list[OutputFile]:
    """The files for ``options``: the start script, then the deploy config if any.

    On SCF there is no deploy config: SCF's own tools describe the function.
    """
    options.validate()
    if options.platform == "scf":
        return [scf_bootstrap(options)]
    files = [bootstrap(options)]
    config = deploy_config(options)
    if config is not None:
        files.append(config)
    if options.jobs:
        files.append(jobs_file(options))
    return files


def check_app(folder: Path, app: str, hooks: Sequence[str] = ()) -> None:
    """Import ``app`` and ``hooks`` from ``folder`` as the bootstrap will, before wrap writes
    (and run the folder's ``gunicorn.conf.py``, as ``serve`` does at every start).

    The import runs in a child interpreter with ``folder`` read-only, as ``/code`` is on FC
    (:func:`fcmigrate.build.importcheck.confirm_import`): an app that writes beside its code at
    import fails here with the path, and leaves nothing behind. The child sees this process's
    ``sys.path`` ahead of the standard library (the folder ``python -m`` was run from,
    ``PYTHONPATH``), then ``folder`` and its ``src/`` as the loader adds them. A folder that
    does not exist yet holds no code: an empty one stands in for it, and the error names
    ``folder``.
    """
    from fcmigrate.build.detect import Detected
    from fcmigrate.build.importcheck import confirm_import

    with tempfile.TemporaryDirectory(prefix="fcmigrate-wrap-") as empty:
        root = folder.resolve() if folder.is_dir() else Path(empty).resolve()
        detected = Detected(spec=app, framework="wsgi", root=root)
        try:
            confirm_import(detected, pythonpath=_leading_sys_path(), hooks=hooks)
        except FCMigrateError as exc:
            if root == folder.resolve():
                raise
            shown = str(exc).replace(str(root), str(folder.resolve()))
            raise type(exc)(shown, exit_code=exc.exit_code) from None


def _leading_sys_path() -> list[str]:
    """This process's ``sys.path`` entries before the standard library's, made absolute."""
    stdlib = {
        os.path.realpath(p) for p in (sysconfig.get_path("stdlib"), os.path.dirname(os.__file__))
    }
    archive = f"python{sys.version_info[0]}{sys.version_info[1]}.zip"
    leading: list[str] = []
    for entry in sys.path:
        full = os.path.abspath(entry or os.curdir)
        if os.path.realpath(full) in stdlib or os.path.basename(full) == archive:
            break
        leading.append(full)
    return leading
