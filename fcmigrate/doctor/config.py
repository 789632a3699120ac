"""Reading deploy configs into one shape: ``s.yaml`` (fc3 and fc2) and fun's ``template.yml``.

Only what the checks need is read: per function its runtime, start command, port, timeout,
environment, HTTP triggers and code folder, with the line each came from; per file whether
a custom domain is declared.
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

import yaml

from fcmigrate import fc

#: FC's default server port (CAPort).
DEFAULT_PORT = fc.PORT
#: Timeout (s) FC and its tools apply when a config gives none.
DEFAULT_TIMEOUT = 3
CONFIG_NAMES = ("s.yaml", "s.yml", "template.yml", "template.yaml")

_VARS_REF = re.compile(r"^\$\{\s*vars\.([A-Za-z_][\w.]*)\s*\}$")


Lines = dict[tuple[object, ...], int]


@dataclass
class Trigger:
    name: str
    methods: list[str] | None
    line: int | None
    methods_line: int | None


@dataclass
class FunctionConfig:
    """One function in a deploy config. Paths in ``command`` are as FC sees them (``/code``)."""

    file: str
    kind: str
    name: str
    line: int | None
    runtime: str | None = None
    runtime_line: int | None = None
    code_dir: Path | None = None
    command: list[str] | None = None
    command_line: int | None = None
    port: int = DEFAULT_PORT
    timeout: int = DEFAULT_TIMEOUT
    timeout_line: int | None = None
    env: dict[str, str] = field(default_factory=dict)
    env_lines: dict[str, int] = field(default_factory=dict)
    triggers: list[Trigger] = field(default_factory=list)
    mount_dirs: list[str] = field(default_factory=list)

    @property
    def is_container(self) -> bool:
        return self.runtime == "custom-container"

    @property
    def is_custom(self) -> bool:
        return (self.runtime or "").startswith("custom") and not self.is_container

    @property
    def uses_bootstrap(self) -> bool:
        """FC starts ``/code/bootstrap`` when a custom runtime has no command of its own."""
        if not self.is_custom:
            return False
        return not self.command or os.path.basename(self.command[0]) == "bootstrap"

    @property
    def trusts_fc_hosts(self) -> bool:
        return fc.env_flag(self.env, "FCMIGRATE_TRUST_FC_HOSTS")


@dataclass
class DeployConfig:
    file: str
    kind: str  # fc3 | fc2 | fun | unknown
    functions: list[FunctionConfig] = field(default_factory=list)
    has_custom_domain: bool = False
    error: str | None = None
    error_line: int | None = None


def load_configs(root: Path, environ: Mapping[str, str] | None = None) -> list[DeployConfig]:
    """Every deploy config in ``root``; a file that cannot be read is returned with ``error``."""
    environ = os.environ if environ is None else environ
    configs = []
    for name in CONFIG_NAMES:
        path = root / name
        if path.is_file():
            configs.append(load_config(path, name, environ))
    return configs


def load_config(path: Path, rel: str, environ: Mapping[str, str]) -> DeployConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return DeployConfig(rel, "unknown", error=f"cannot be read: {exc}")
    # One parse gives both the values and the line of each key.
    loader = yaml.SafeLoader(text)
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
        return DeployConfig(rel, "unknown", error=f"is not valid YAML: {problem}", error_line=line)
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


def _lines(node: yaml.Node | None) -> Lines:
    """Key path -> 1-based line of that key (or list item)."""
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


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdecimal():
        return int(value)
    return None


def _dict(value: Any) -> dict[str, Any]:
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

    def code_dir(self, value: Any) -> Path:
        if isinstance(value, dict):
            value = value.get("src")
        if isinstance(value, str) and value.strip() and "${" not in value:
            return (self.folder / value).resolve()
        return self.folder.resolve()

    def resolve(self, value: Any) -> str:
        """An env value as FC will see it; deploy-time references are resolved if possible."""
        text = "" if value is None else str(value)
        if "${" not in text:
            return text
        match = fc.DEPLOY_TIME_ENV.fullmatch(text.strip())
        if match and match.group(1) in self.environ:
            return self.environ[match.group(1)]
        match = _VARS_REF.match(text.strip())
        if match:
            current: Any = self.vars
            for part in match.group(1).split("."):
                current = _dict(current).get(part)
            if isinstance(current, (str, int, float)) and not isinstance(current, bool):
                return str(current)
        return unresolved(text)

    def env(self, value: Any, path: tuple[object, ...]) -> tuple[dict[str, str], dict[str, int]]:
        env: dict[str, str] = {}
        lines: dict[str, int] = {}
        for key, item in _dict(value).items():
            env[str(key)] = self.resolve(item)
            line = self.lines.get((*path, key))
            if line is not None:
                lines[str(key)] = line
        return env, lines

    def mounts(self, *configs: Any) -> list[str]:
        dirs = []
        for config in configs:
            for point in _list(_dict(config).get("mountPoints")):
                point = _dict(point)
                target = point.get("mountDir") or point.get("fcDir") or point.get("MountDir")
                if isinstance(target, str) and target.startswith("/"):
                    dirs.append(target.rstrip("/") or "/")
        return dirs

    # --- Serverless Devs, component fc3 (FC 3.0) ----------------------------------------------

    def fc3(self) -> DeployConfig:
        config = DeployConfig(self.rel, "fc3")
        for name, resource in _dict(self.data.get("resources")).items():
            resource = _dict(resource)
            component = _component(resource.get("component"))
            if component == "fc3-domain":
                config.has_custom_domain = True
            elif component == "fc3":
                config.functions.append(self.fc3_function(str(name), _dict(resource.get("props"))))
        return config

    def fc3_function(self, key: str, props: dict[str, Any]) -> FunctionConfig:
        base = ("resources", key, "props")
        func = FunctionConfig(
            file=self.rel,
            kind="fc3",
            name=str(props.get("functionName") or key),
            line=self.line("resources", key),
            runtime=_str(props.get("runtime")),
            runtime_line=self.line(*base, "runtime"),
            code_dir=self.code_dir(props.get("code")),
        )
        if func.is_container:
            ccc = _dict(props.get("customContainerConfig"))
            path = (*base, "customContainerConfig")
            command = _argv(ccc.get("entrypoint"))
            if command is not None or ccc.get("command") is not None:
                func.command = (command or []) + (_argv(ccc.get("command")) or [])
                func.command_line = self.line(*path, "entrypoint") or self.line(*path, "command")
            self.port(func, ccc.get("port"))
        else:
            crc = _dict(props.get("customRuntimeConfig"))
            path = (*base, "customRuntimeConfig")
            command = _argv(crc.get("command"))
            if command:
                func.command = command + (_argv(crc.get("args")) or [])
                func.command_line = self.line(*path, "command")
            self.port(func, crc.get("port"))
        self.timeout(func, props.get("timeout"), (*base, "timeout"))
        func.env, func.env_lines = self.env(
            props.get("environmentVariables"), (*base, "environmentVariables")
        )
        func.mount_dirs = self.mounts(props.get("nasConfig"), props.get("ossMountConfig"))
        for index, trigger in enumerate(_list(props.get("triggers"))):
            trigger = _dict(trigger)
            if str(trigger.get("triggerType", "")).lower() != "http":
                continue
            tconfig = _dict(trigger.get("triggerConfig"))
            tpath = (*base, "triggers", index)
            func.triggers.append(
                Trigger(
                    name=str(trigger.get("triggerName") or "http"),
                    methods=_methods(tconfig.get("methods")),
                    line=self.line(*tpath),
                    methods_line=self.line(*tpath, "triggerConfig", "methods"),
                )
            )
        return func

    # --- Serverless Devs, component fc (FC 2.0) ------------------------------------------------

    def fc2(self) -> DeployConfig:
        config = DeployConfig(self.rel, "fc2")
        for key, service in _dict(self.data.get("services")).items():
            service = _dict(service)
            component = _component(service.get("component"))
            props = _dict(service.get("props"))
            if component == "fc-domain":
                config.has_custom_domain = True
                continue
            if component != "fc":
                continue
            if _list(props.get("customDomains")):
                config.has_custom_domain = True
            function = _dict(props.get("function"))
            if function:
                config.functions.append(self.fc2_function(str(key), props, function))
        return config

    def fc2_function(
        self, key: str, props: dict[str, Any], function: dict[str, Any]
    ) -> FunctionConfig:
        base = ("services", key, "props", "function")
        func = FunctionConfig(
            file=self.rel,
            kind="fc2",
            name=str(function.get("name") or key),
            line=self.line(*base),
            runtime=_str(function.get("runtime")),
            runtime_line=self.line(*base, "runtime"),
            code_dir=self.code_dir(function.get("codeUri")),
        )
        if func.is_container:
            ccc = _dict(function.get("customContainerConfig"))
            command = _argv(ccc.get("command"))
            if command:
                func.command = command + (_argv(ccc.get("args")) or [])
                func.command_line = self.line(*base, "customContainerConfig", "command")
        else:
            crc = _dict(function.get("customRuntimeConfig"))
            command = _argv(crc.get("command"))
            if command:
                func.command = command + (_argv(crc.get("args")) or [])
                func.command_line = self.line(*base, "customRuntimeConfig", "command")
        self.port(func, function.get("caPort"))
        self.timeout(func, function.get("timeout"), (*base, "timeout"))
        func.env, func.env_lines = self.env(
            function.get("environmentVariables"), (*base, "environmentVariables")
        )
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

    # --- fun's template.yml (ROS) ----------------------------------------------------------

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
            file=self.rel,
            kind="fun",
            name=key,
            line=self.line("Resources", service, key),
            runtime=_str(props.get("Runtime")),
            runtime_line=self.line(*base, "Runtime"),
            code_dir=self.code_dir(props.get("CodeUri")),
        )
        if func.is_container:
            ccc = _dict(props.get("CustomContainerConfig"))
            command = _argv(ccc.get("Command"))
            if command:
                func.command = command + (_argv(ccc.get("Args")) or [])
                func.command_line = self.line(*base, "CustomContainerConfig", "Command")
        self.port(func, props.get("CAPort"))
        self.timeout(func, props.get("Timeout"), (*base, "Timeout"))
        func.env, func.env_lines = self.env(
            props.get("EnvironmentVariables"), (*base, "EnvironmentVariables")
        )
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

    # --- shared -----------------------------------------------------------------------------

    def port(self, func: FunctionConfig, value: Any) -> None:
        port = _int(self.resolve(value)) if value is not None else None
        if port is not None:
            func.port = port

    def timeout(self, func: FunctionConfig, value: Any, path: tuple[object, ...]) -> None:
        timeout = _int(self.resolve(value)) if value is not None else None
        if timeout is not None:
            func.timeout = timeout
            func.timeout_line = self.lines.get(path)


#: Prefix of the placeholder given to an env value that is only known at deploy time.
UNRESOLVED_PREFIX = "fcmigrate-doctor-unresolved:"


def unresolved(text: str) -> str:
    return UNRESOLVED_PREFIX + text


def _component(value: Any) -> str:
    """``devsapp/fc3@0.1.0`` -> ``fc3``."""
    text = str(value or "")
    return text.split("@")[0].rsplit("/", 1)[-1].strip().lower()


def _str(value: Any) -> str | None:
    return str(value) if isinstance(value, str) and value else None


def _methods(value: Any) -> list[str] | None:
    if isinstance(value, str):
        return [value.upper()]
    if isinstance(value, list):
        return [str(v).upper() for v in value]
    return None


def all_functions(configs: list[DeployConfig]) -> Iterator[FunctionConfig]:
    for config in configs:
        yield from config.functions
