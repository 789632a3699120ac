"""One model of a function's deploy config, and one reader for the three formats.

``fcmigrate wrap`` (and ``migrate``, ``dockerize``) write a deploy config from a
:class:`FunctionConfig`; ``fcmigrate local`` and ``fcmigrate doctor`` read it back into
the same class. Three formats are read:

* Serverless Devs ``s.yaml``, component ``fc3`` (FC 3.0): ``resources:`` with flat props;
* Serverless Devs ``s.yaml``, component ``fc`` (FC 2.0): ``services:`` → ``props.function``;
* fun's ``template.yml`` (ROS): ``Aliyun::Serverless::Service`` holding functions.

Values may be Serverless Devs variables: ``${vars.x}``, ``${env.NAME}`` and
``${env('NAME')}`` / ``${env('NAME', 'default')}`` (:data:`fcmigrate.fc.DEPLOY_TIME_ENV`),
resolved from the given environment as ``s deploy`` would. An environment variable whose
value stays unknown here is kept, marked with :data:`UNRESOLVED_PREFIX`, so that a check can
tell "set at deploy time" from "not set"; :func:`fc_environment` leaves it out.

Each value keeps the line of the file it came from, for the doctor's findings.

This module runs on the developer's machine only (it needs PyYAML); nothing under
:mod:`fcmigrate.runtime` imports it.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fcmigrate import fc
from fcmigrate.errors import FCMigrateError

#: Files read, in this order; the first that describes a function wins for ``local``.
CONFIG_NAMES = ("s.yaml", "s.yml", "template.yml", "template.yaml")

#: What FC (and its tools) use when a config leaves a value out: the fc3 component's
#: defaults for a custom runtime (timeout 3 s, 512 MB, concurrency 1).
DEFAULT_REGION = "cn-hangzhou"
DEFAULT_RUNTIME = "custom.debian10"
DEFAULT_HANDLER = "index.handler"
DEFAULT_TIMEOUT = 3
DEFAULT_MEMORY = 512
#: FC 2.0 (component ``fc`` and fun) gives a function 128 MB unless told otherwise.
DEFAULT_MEMORY_FC2 = 128
DEFAULT_CONCURRENCY = 1

#: What ``fcmigrate wrap`` writes unless told otherwise (and what ``local`` assumes for a
#: project that has no deploy config yet).
WRAP_TIMEOUT = 60
WRAP_MEMORY = 1024
WRAP_CONCURRENCY = 8

#: Variables of the function that name FC's own folders (/var/fc/lang, /code, /opt): off
#: FC they would hide this machine's Python; the bootstrap builds the same path itself.
FC_PATH_ENV = ("PATH", "PYTHONPATH", "LD_LIBRARY_PATH")

#: Stand-ins for the function role's STS credentials and the account: they look like
#: nothing real on purpose, so a leak in a log is easy to spot, and they unlock nothing.
FAKE_ACCESS_KEY_ID = "STS.fcmigrate-local-key-id"
FAKE_ACCESS_KEY_SECRET = "fcmigrate-local-fake-secret"  # noqa: S105
FAKE_SECURITY_TOKEN = "fcmigrate-local-fake-token"  # noqa: S105
FAKE_ACCOUNT_ID = "1000000000000000"

#: Prefix of an environment value only known at deploy time (``${env('NAME')}`` with
#: ``NAME`` unset here); the config's own text follows it.
UNRESOLVED_PREFIX = "fcmigrate-unresolved:"

_KIND_LABELS = {"fc3": "fc3", "fc2": "fc, FC 2.0", "fun": "fun"}

Lines = dict[tuple[object, ...], int]


def unresolved(text: str) -> str:
    return UNRESOLVED_PREFIX + text


def is_unresolved(value: str) -> bool:
    return value.startswith(UNRESOLVED_PREFIX)


@dataclass
class Trigger:
    """An HTTP trigger; ``methods`` is ``None`` when it lists none."""

    name: str
    methods: list[str] | None = None
    line: int | None = None
    methods_line: int | None = None


@dataclass
class FunctionConfig:
    """One function as FC knows it. Paths in ``command`` are as FC sees them (``/code``).

    ``file`` and ``kind`` say where it was read (``kind`` is ``fc3``, ``fc2``, ``fun``, or
    ``defaults`` when no file describes it, with ``file`` empty); the ``*_line`` fields
    give the 1-based line of each key, ``None`` when the file does not set it.
    """

    service: str
    function: str
    file: str = ""
    kind: str = "defaults"
    line: int | None = None
    region: str = DEFAULT_REGION
    runtime: str = DEFAULT_RUNTIME
    runtime_line: int | None = None
    handler: str = DEFAULT_HANDLER
    code_dir: Path | None = None
    timeout: int = DEFAULT_TIMEOUT
    timeout_line: int | None = None
    memory: int = DEFAULT_MEMORY
    concurrency: int = DEFAULT_CONCURRENCY
    port: int = fc.PORT
    #: The start command and its arguments; ``None`` when FC runs ``/code/bootstrap``.
    command: list[str] | None = None
    command_line: int | None = None
    #: ``environmentVariables`` as FC will see them (see :data:`UNRESOLVED_PREFIX`).
    environment: dict[str, str] = field(default_factory=dict)
    environment_lines: dict[str, int] = field(default_factory=dict)
    triggers: list[Trigger] = field(default_factory=list)
    initializer: bool = False
    initializer_handler: str = "initializer"
    initializer_timeout: int | None = None
    pre_stop: bool = False
    pre_stop_timeout: int | None = None
    #: NAS and OSS mount folders (absolute, as FC sees them).
    mount_dirs: list[str] = field(default_factory=list)

    @property
    def source(self) -> str:
        """Where the values come from, for messages: ``s.yaml (fc3)`` or ``defaults``."""
        if not self.file:
            return "defaults"
        return f"{self.file} ({_KIND_LABELS.get(self.kind, self.kind)})"

    @property
    def methods(self) -> tuple[str, ...] | None:
        """The methods the HTTP trigger accepts; ``None`` when no trigger lists them."""
        found = None
        for trigger in self.triggers:
            if trigger.methods is not None:
                found = tuple(trigger.methods)
        return found

    @property
    def skipped_environment(self) -> list[str]:
        """Variables that name FC's folders: not applied off FC (:data:`FC_PATH_ENV`)."""
        return [name for name in self.environment if name in FC_PATH_ENV]

    @property
    def unset_environment(self) -> list[str]:
        """Variables the config reads at deploy time that are not set here."""
        return [name for name, value in self.environment.items() if is_unresolved(value)]

    @property
    def is_container(self) -> bool:
        return self.runtime == "custom-container"

    @property
    def is_custom(self) -> bool:
        return self.runtime.startswith("custom") and not self.is_container

    @property
    def uses_bootstrap(self) -> bool:
        """FC starts ``/code/bootstrap`` when a custom runtime has no command of its own."""
        if not self.is_custom:
            return False
        return not self.command or os.path.basename(self.command[0]) == "bootstrap"

    @property
    def trusts_fc_hosts(self) -> bool:
        return fc.env_flag(self.environment, "FCMIGRATE_TRUST_FC_HOSTS")


@dataclass
class DeployConfig:
    """One deploy config file; ``error`` says why it could not be read."""

    file: str
    kind: str  # fc3 | fc2 | fun | unknown
    functions: list[FunctionConfig] = field(default_factory=list)
    has_custom_domain: bool = False
    error: str | None = None
    error_line: int | None = None
    #: False when the file is not YAML at all (or cannot be opened).
    parsed: bool = True


# --- names --------------------------------------------------------------------------------


def function_name(value: str) -> str:
    """A valid FC function name from a folder name: letters, digits, ``_``, ``-``."""
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", value).strip("-")
    if not name or not (name[0].isalpha() or name[0] == "_"):
        name = "app-" + name if name else "app"
    return name[:64].rstrip("-") or "app"


def default_name(project_dir: Path) -> str:
    return function_name(project_dir.resolve().name)


def default_function(project: Path) -> FunctionConfig:
    """The function ``fcmigrate wrap`` would describe for ``project`` with no options."""
    name = default_name(project)
    return FunctionConfig(
        service=name,
        function=name,
        code_dir=project.resolve(),
        timeout=WRAP_TIMEOUT,
        memory=WRAP_MEMORY,
        concurrency=WRAP_CONCURRENCY,
    )


# --- reading -------------------------------------------------------------------------------


def read_configs(root: Path, environ: Mapping[str, str] | None = None) -> list[DeployConfig]:
    """Every deploy config in ``root``; a file that cannot be read is returned with ``error``."""
    environ = os.environ if environ is None else environ
    return [
        read_config(root / name, name, environ) for name in CONFIG_NAMES if (root / name).is_file()
    ]


def load_config(project: Path, environ: Mapping[str, str] | None = None) -> FunctionConfig:
    """The project's function: the first one its deploy configs describe, else
    :func:`default_function`. A file that is not YAML is an error."""
    for config in read_configs(project, environ):
        if not config.parsed:
            raise FCMigrateError(
                f"Cannot read {str(project / config.file)!r}: it {config.error}. Fix the YAML, "
                "or move it away to use fcmigrate's defaults."
            )
        if config.functions:
            return config.functions[0]
    return default_function(project)


def all_functions(configs: list[DeployConfig]) -> Iterator[FunctionConfig]:
    for config in configs:
        yield from config.functions


def _yaml_loader() -> Any:
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    # fun templates may use ROS tags (!Ref, !GetAtt): read them as absent values.
    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    return Loader


def read_config(path: Path, rel: str, environ: Mapping[str, str] | None = None) -> DeployConfig:
    """One deploy config file (``rel`` names it in messages)."""
    import yaml

    environ = os.environ if environ is None else environ
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return DeployConfig(rel, "unknown", error=f"cannot be read: {exc}", parsed=False)
    # One parse gives both the values and the line of each key.
    loader = _yaml_loader()(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
        lines = _lines(node)
    except yaml.YAMLError as exc:
        # The context mark is where the broken construct starts ('[' of an unclosed list);
        # the problem mark is often the end of the file.
        mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return DeployConfig(
            rel, "unknown", error=f"is not valid YAML: {problem}", error_line=line, parsed=False
        )
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        return DeployConfig(rel, "unknown", error="is not a YAML mapping", error_line=1)
    reader = _Reader(path.parent, rel, data, lines, environ)
    if "resources" in data:
        return reader.fc3()
    if "services" in data:
        return reader.fc2()
    if "Resources" in data:
        return reader.fun()
    return DeployConfig(
        rel,
        "unknown",
        error="has neither 'resources:' (fc3), 'services:' (fc2) nor 'Resources:' (fun)",
        error_line=1,
    )


def _lines(node: Any) -> Lines:
    """Key path -> 1-based line of that key (or list item)."""
    import yaml

    lines: Lines = {}

    def walk(node: yaml.Node, path: tuple[object, ...], depth: int) -> None:
        if depth > 40:
            return
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    sub = (*path, key.value)
                    lines.setdefault(sub, key.start_mark.line + 1)
                    walk(value, sub, depth + 1)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                sub = (*path, index)
                lines.setdefault(sub, item.start_mark.line + 1)
                walk(item, sub, depth + 1)

    if node is not None:
        walk(node, (), 0)
    return lines


_VARIABLE = re.compile(r"\$\{\s*([^{}]+?)\s*\}")


def _dict(value: Any) -> dict[str, Any]:
    """``value`` if it is a mapping, else empty: a hand-edited config may hold anything."""
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _argv(value: Any) -> list[str] | None:
    """A command as a list: YAML list, JSON string (fun, fc2) or a shell-like string."""
    if value is None:
        return None
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = None
            if isinstance(parsed, list):
                return [str(v) for v in parsed]
        try:
            return shlex.split(text)
        except ValueError:
            return text.split()
    return None


def _component(value: Any) -> str:
    """``devsapp/fc3@0.1.0`` -> ``fc3``."""
    text = str(value or "")
    return text.split("@")[0].rsplit("/", 1)[-1].strip().lower()


def _methods(value: Any) -> list[str] | None:
    if isinstance(value, str):
        return [value.upper()]
    if isinstance(value, list):
        return [str(v).upper() for v in value]
    return None


class _Reader:
    def __init__(
        self,
        folder: Path,
        rel: str,
        data: dict[str, Any],
        lines: Lines,
        environ: Mapping[str, str],
    ) -> None:
        self.folder = folder
        self.rel = rel
        self.data = data
        self.lines = lines
        self.environ = environ
        self.vars = _dict(data.get("vars"))

    def line(self, *path: object) -> int | None:
        return self.lines.get(path)

    # --- values --------------------------------------------------------------------------

    def substitute(self, value: Any) -> tuple[str, bool]:
        """``value`` as text with its variables resolved, and whether all of them were."""
        text = "" if value is None else str(value)
        complete = True

        def one(match: re.Match[str]) -> str:
            nonlocal complete
            expr = match.group(1)
            call = fc.DEPLOY_TIME_ENV.fullmatch(match.group())
            if call is not None:
                name, default = call.group(1), call.group(2)
                if name in self.environ:
                    return self.environ[name]
                if default is not None:
                    return default
            elif expr.startswith("env.") and expr[4:] in self.environ:
                return self.environ[expr[4:]]
            elif expr.startswith("vars."):
                current: Any = self.vars
                for part in expr[5:].split("."):
                    current = _dict(current).get(part)
                if isinstance(current, (str, int, float)) and not isinstance(current, bool):
                    return str(current)
            complete = False
            return match.group()

        return _VARIABLE.sub(one, text), complete

    def text(self, value: Any, default: str) -> str:
        """A name or setting: the config's value if given and known here, else ``default``."""
        if value is None or isinstance(value, (dict, list)):
            return default
        text, complete = self.substitute(value)
        return text if complete and text else default

    def number(self, value: Any, default: int) -> int:
        if isinstance(value, bool) or value is None:
            return default
        if isinstance(value, int):
            return value
        text, _ = self.substitute(value)
        text = text.strip()
        return int(text) if text.isdecimal() else default

    def code_dir(self, value: Any) -> Path:
        if isinstance(value, dict):
            value = value.get("src")
        if isinstance(value, str) and value.strip() and "${" not in value:
            return (self.folder / value).resolve()
        return self.folder.resolve()

    def environment(self, func: FunctionConfig, value: Any, path: tuple[object, ...]) -> None:
        for key, item in _dict(value).items():
            if item is None:
                continue
            text, complete = self.substitute(item)
            func.environment[str(key)] = text if complete else unresolved(str(item))
            line = self.lines.get((*path, key))
            if line is not None:
                func.environment_lines[str(key)] = line

    def timeout(self, func: FunctionConfig, value: Any, path: tuple[object, ...]) -> None:
        timeout = self.number(value, -1)
        if timeout >= 0:
            func.timeout = timeout
            func.timeout_line = self.lines.get(path)

    def runtime(
        self, func: FunctionConfig, value: Any, default: str, path: tuple[object, ...]
    ) -> None:
        func.runtime = self.text(value, default)
        func.runtime_line = self.lines.get(path)

    def initializer(self, func: FunctionConfig, handler: Any, timeout: Any) -> None:
        if handler:
            func.initializer = True
            func.initializer_handler = str(handler)
            func.initializer_timeout = self.number(timeout, 0) or None

    def pre_stop(self, func: FunctionConfig, hook: Any) -> None:
        hook = _dict(hook)
        if hook.get("handler"):
            func.pre_stop = True
            func.pre_stop_timeout = self.number(hook.get("timeout"), 0) or None

    def mounts(self, *configs: Any) -> list[str]:
        dirs = []
        for config in configs:
            for point in _list(_dict(config).get("mountPoints")):
                point = _dict(point)
                target = point.get("mountDir") or point.get("fcDir") or point.get("MountDir")
                if isinstance(target, str) and target.startswith("/"):
                    dirs.append(target.rstrip("/") or "/")
        return dirs

    # --- Serverless Devs, component fc3 (FC 3.0) ------------------------------------------

    def fc3(self) -> DeployConfig:
        config = DeployConfig(self.rel, "fc3")
        for name, resource in _dict(self.data.get("resources")).items():
            resource = _dict(resource)
            component = _component(resource.get("component"))
            props = _dict(resource.get("props"))
            if component == "fc3-domain":
                config.has_custom_domain = True
            elif component == "fc3" or ("functionName" in props and "domain" not in component):
                config.functions.append(self.fc3_function(str(name), props))
        return config

    def fc3_function(self, key: str, props: dict[str, Any]) -> FunctionConfig:
        base = ("resources", key, "props")
        service = self.text(self.data.get("name"), key)
        func = FunctionConfig(
            service=service,
            function=self.text(props.get("functionName"), key),
            file=self.rel,
            kind="fc3",
            line=self.line("resources", key),
            region=self.text(props.get("region"), DEFAULT_REGION),
            handler=self.text(props.get("handler"), DEFAULT_HANDLER),
            code_dir=self.code_dir(props.get("code")),
            memory=self.number(props.get("memorySize"), DEFAULT_MEMORY),
            concurrency=self.number(props.get("instanceConcurrency"), DEFAULT_CONCURRENCY),
        )
        self.runtime(func, props.get("runtime"), DEFAULT_RUNTIME, (*base, "runtime"))
        if func.is_container:
            # FC 3.0 containers: entrypoint is the program, command its arguments.
            ccc = _dict(props.get("customContainerConfig"))
            path = (*base, "customContainerConfig")
            command = _argv(ccc.get("entrypoint"))
            if command is not None or ccc.get("command") is not None:
                func.command = (command or []) + (_argv(ccc.get("command")) or []) or None
                func.command_line = self.line(*path, "entrypoint") or self.line(*path, "command")
            func.port = self.number(ccc.get("port"), fc.PORT)
        else:
            crc = _dict(props.get("customRuntimeConfig"))
            path = (*base, "customRuntimeConfig")
            command = _argv(crc.get("command"))
            if command:
                func.command = command + (_argv(crc.get("args")) or [])
                func.command_line = self.line(*path, "command")
            func.port = self.number(crc.get("port"), fc.PORT)
        self.timeout(func, props.get("timeout"), (*base, "timeout"))
        self.environment(func, props.get("environmentVariables"), (*base, "environmentVariables"))
        lifecycle = _dict(props.get("instanceLifecycleConfig"))
        init = _dict(lifecycle.get("initializer"))
        self.initializer(func, init.get("handler"), init.get("timeout"))
        self.pre_stop(func, lifecycle.get("preStop"))
        func.mount_dirs = self.mounts(props.get("nasConfig"), props.get("ossMountConfig"))
        for index, trigger in enumerate(_list(props.get("triggers"))):
            trigger = _dict(trigger)
            if str(trigger.get("triggerType", "")).lower() != "http":
                continue
            tpath = (*base, "triggers", index)
            func.triggers.append(
                Trigger(
                    name=str(trigger.get("triggerName") or "http"),
                    methods=_methods(_dict(trigger.get("triggerConfig")).get("methods")),
                    line=self.line(*tpath),
                    methods_line=self.line(*tpath, "triggerConfig", "methods"),
                )
            )
        return func

    # --- Serverless Devs, component fc (FC 2.0) -------------------------------------------

    def fc2(self) -> DeployConfig:
        config = DeployConfig(self.rel, "fc2")
        for key, service in _dict(self.data.get("services")).items():
            service = _dict(service)
            component = _component(service.get("component"))
            props = _dict(service.get("props"))
            if component == "fc-domain":
                config.has_custom_domain = True
                continue
            if _list(props.get("customDomains")):
                config.has_custom_domain = True
            function = _dict(props.get("function"))
            if function and component in ("fc", ""):
                config.functions.append(self.fc2_function(str(key), props, function))
        return config

    def fc2_function(
        self, key: str, props: dict[str, Any], function: dict[str, Any]
    ) -> FunctionConfig:
        base = ("services", key, "props", "function")
        func = FunctionConfig(
            service=self.text(_dict(props.get("service")).get("name"), key),
            function=self.text(function.get("name"), key),
            file=self.rel,
            kind="fc2",
            line=self.line(*base),
            region=self.text(props.get("region"), DEFAULT_REGION),
            handler=self.text(function.get("handler"), DEFAULT_HANDLER),
            code_dir=self.code_dir(function.get("codeUri")),
            memory=self.number(function.get("memorySize"), DEFAULT_MEMORY_FC2),
            concurrency=self.number(function.get("instanceConcurrency"), DEFAULT_CONCURRENCY),
            port=self.number(function.get("caPort"), fc.PORT),
        )
        self.runtime(func, function.get("runtime"), "custom", (*base, "runtime"))
        key_name = "customContainerConfig" if func.is_container else "customRuntimeConfig"
        run = _dict(function.get(key_name))
        command = _argv(run.get("command"))
        if command:
            func.command = command + (_argv(run.get("args")) or [])
            func.command_line = self.line(*base, key_name, "command")
        self.timeout(func, function.get("timeout"), (*base, "timeout"))
        self.environment(
            func, function.get("environmentVariables"), (*base, "environmentVariables")
        )
        self.initializer(func, function.get("initializer"), function.get("initializationTimeout"))
        self.pre_stop(func, _dict(function.get("instanceLifecycleConfig")).get("preStop"))
        service = _dict(props.get("service"))
        func.mount_dirs = self.mounts(service.get("nasConfig"), service.get("ossMountConfig"))
        for index, trigger in enumerate(_list(props.get("triggers"))):
            trigger = _dict(trigger)
            if str(trigger.get("type", "")).lower() != "http":
                continue
            tpath = ("services", key, "props", "triggers", index)
            func.triggers.append(
                Trigger(
                    name=str(trigger.get("name") or "http"),
                    methods=_methods(_dict(trigger.get("config")).get("methods")),
                    line=self.line(*tpath),
                    methods_line=self.line(*tpath, "config", "methods"),
                )
            )
        return func

    # --- fun's template.yml (ROS) ---------------------------------------------------------

    def fun(self) -> DeployConfig:
        config = DeployConfig(self.rel, "fun")
        for key, resource in _dict(self.data.get("Resources")).items():
            resource = _dict(resource)
            kind = resource.get("Type")
            if kind == "Aliyun::Serverless::CustomDomain":
                config.has_custom_domain = True
            elif kind == "Aliyun::Serverless::Service":
                service_props = _dict(resource.get("Properties"))
                for name, child in resource.items():
                    child = _dict(child)
                    if child.get("Type") == "Aliyun::Serverless::Function":
                        func = self.fun_function(str(key), str(name), child)
                        func.mount_dirs = self.mounts(service_props.get("NasConfig"))
                        config.functions.append(func)
        return config

    def fun_function(self, service: str, key: str, resource: dict[str, Any]) -> FunctionConfig:
        props = _dict(resource.get("Properties"))
        base = ("Resources", service, key, "Properties")
        func = FunctionConfig(
            service=service,
            function=key,
            file=self.rel,
            kind="fun",
            line=self.line("Resources", service, key),
            handler=self.text(props.get("Handler"), DEFAULT_HANDLER),
            code_dir=self.code_dir(props.get("CodeUri")),
            memory=self.number(props.get("MemorySize"), DEFAULT_MEMORY_FC2),
            concurrency=self.number(props.get("InstanceConcurrency"), DEFAULT_CONCURRENCY),
            port=self.number(props.get("CAPort"), fc.PORT),
        )
        self.runtime(func, props.get("Runtime"), "custom", (*base, "Runtime"))
        if func.is_container:
            ccc = _dict(props.get("CustomContainerConfig"))
            command = _argv(ccc.get("Command"))
            if command:
                func.command = command + (_argv(ccc.get("Args")) or [])
                func.command_line = self.line(*base, "CustomContainerConfig", "Command")
        self.timeout(func, props.get("Timeout"), (*base, "Timeout"))
        self.environment(func, props.get("EnvironmentVariables"), (*base, "EnvironmentVariables"))
        self.initializer(func, props.get("Initializer"), props.get("InitializationTimeout"))
        for name, event in _dict(resource.get("Events")).items():
            event = _dict(event)
            if str(event.get("Type", "")).upper() != "HTTP":
                continue
            epath = ("Resources", service, key, "Events", name)
            func.triggers.append(
                Trigger(
                    name=str(name),
                    methods=_methods(_dict(event.get("Properties")).get("Methods")),
                    line=self.line(*epath),
                    methods_line=self.line(*epath, "Properties", "Methods"),
                )
            )
        return func


# --- the function's environment on FC -----------------------------------------------------


def fc_environment(
    config: FunctionConfig,
    code_dir: Path,
    port: int | None = None,
    base: Mapping[str, str] | None = None,
    *,
    keep_unresolved: bool = False,
) -> dict[str, str]:
    """The environment FC starts ``config``'s function with, for code in ``code_dir``.

    ``base`` (default: none) comes first, then the config's ``environmentVariables``
    (without :data:`FC_PATH_ENV`, which name FC's folders; a value only known at deploy
    time is left out, or kept as its placeholder with ``keep_unresolved``, for a check
    that must see it set), then FC's own variables: the port (``port``, default the config's),
    ``FC_FUNC_CODE_PATH`` (``code_dir``, standing in for ``/code/``), the function's name,
    region, timeout, memory and runtime, an instance ID, and stand-in credentials
    (:data:`FAKE_ACCESS_KEY_ID`, ...) where the newer runtimes put the role's.
    """
    env = dict(base or {})
    env.update(
        {
            name: value
            for name, value in config.environment.items()
            if name not in FC_PATH_ENV and (keep_unresolved or not is_unresolved(value))
        }
    )
    listen = str(config.port if port is None else port)
    env.update(
        {
            "FC_SERVER_PORT": listen,
            "FC_CUSTOM_LISTEN_PORT": listen,
            "FC_FUNC_CODE_PATH": str(code_dir) + os.sep,
            "FC_FUNCTION_NAME": config.function,
            "FC_SERVICE_NAME": config.service,
            "FC_REGION": config.region,
            "FC_ACCOUNT_ID": FAKE_ACCOUNT_ID,
            "FC_INSTANCE_ID": fc.new_instance_id(),
            "FC_TIMEOUT": str(config.timeout),
            "FC_FUNCTION_MEMORY_SIZE": str(config.memory),
            "FC_RUNTIME": config.runtime,
            "ALIBABA_CLOUD_ACCESS_KEY_ID": FAKE_ACCESS_KEY_ID,
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": FAKE_ACCESS_KEY_SECRET,
            "ALIBABA_CLOUD_SECURITY_TOKEN": FAKE_SECURITY_TOKEN,
        }
    )
    return env
