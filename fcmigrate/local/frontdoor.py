"""``fcmigrate local``: Function Compute's HTTP front door, on the developer's machine.

FC does not hand requests to the app directly. A front door in front of the instance
starts the function's process, waits for its port, checks and rewrites each request, and
applies its own rules to each response. Most "works locally, fails on FC" reports come
from that front door, so this module plays it on localhost, without Docker:

* the start command (``bootstrap``, or ``fcmigrate serve APP``) runs as a child process
  with FC's environment, built from the project's ``s.yaml`` / ``template.yml``, with the
  Python a build was made for, and listening on 127.0.0.1 only (FC needs every interface,
  but here the front door must be the only way in);
* the port is health-checked the way FC does it, including the case FC cannot see: a
  server bound to ``127.0.0.1`` answers on the laptop and fails on FC;
* requests are served at FC 2.0's ``/2016-08-15/proxy/<service>/<function>/`` path and at
  ``/`` (``*.fcapp.run`` style), with FC's headers added, its limits enforced and its
  response rules applied (forbidden headers dropped, ``x-fc-status`` read, the forced
  download of the default domain);
* lifecycle hooks (``POST /initialize``, ``GET /pre-stop``) and event calls
  (``POST /invoke``) are sent as FC sends them.

Nothing here runs on FC: besides the standard library the module needs h11, which reads
the clients' requests and writes the answers, and PyYAML, imported when a config file is
read.
"""

from __future__ import annotations

import collections
import errno
import http.client
import ipaddress
import json
import os
import re
import signal
import socket
import socketserver
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path
from typing import IO, Any

import h11

from fcmigrate import fc
from fcmigrate.errors import FCMigrateError
from fcmigrate.fc import DEPLOY_TIME_ENV, new_instance_id, new_request_id
from fcmigrate.runtime.server import LOCAL_BIND_NOTE, LOCAL_HOST_ENV

# --- FC's numbers ---------------------------------------------------------------------

MAX_HEADER_BYTES = 8 * 1024
MAX_PATH_BYTES = 4 * 1024
MAX_BODY_BYTES = 32 * 1024 * 1024
MAX_RESPONSE_BYTES = 32 * 1024 * 1024
#: How long FC waits for the port before "health check failed".
FC_HEALTH_CHECK_SECONDS = 120.0
FC_DEFAULT_PORT = fc.PORT
#: Seconds the child gets between SIGTERM and SIGKILL (FC's own grace is not published).
STOP_GRACE_SECONDS = 10.0

PROXY_VERSION = fc.PROXY_VERSION
_PROXY_PATH = re.compile(rf"/{re.escape(PROXY_VERSION)}/proxy/([^/?#]+)/([^/?#]+)(?=[/?#]|\Z)")

URL_STYLES = ("both", "proxy", "fcapp")

#: Stand-ins for the function role's STS credentials. They look like nothing real on
#: purpose, so a leak in a log is easy to spot, and they unlock nothing.
FAKE_ACCESS_KEY_ID = "STS.fcmigrate-local-key-id"
FAKE_ACCESS_KEY_SECRET = "fcmigrate-local-fake-secret"  # noqa: S105
FAKE_SECURITY_TOKEN = "fcmigrate-local-fake-token"  # noqa: S105
FAKE_ACCOUNT_ID = "1000000000000000"

#: Environment variables of the function that are not applied on this machine: they name
#: FC's paths (/var/fc/lang, /code, /opt), and taking them over would hide this machine's
#: Python and virtualenv. The bootstrap builds the same search path from its own folder.
LAPTOP_UNSAFE_ENV = ("PATH", "PYTHONPATH", "LD_LIBRARY_PATH")

#: Request headers a client cannot pass through FC, or that only make sense per hop.
_DROPPED_REQUEST_HEADERS = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding"}
    | {"upgrade", "expect", "content-length"}
)
#: Response headers the app may not set: FC replaces them.
_DROPPED_RESPONSE_HEADERS = frozenset(
    {"connection", "content-length", "date", "keep-alive", "server", "transfer-encoding"}
)

EXPOSED_NOTE = (
    "The function listens on every interface of this machine (as FC needs), so other "
    "machines can call it, x-fc-* headers and hooks included, without the front door. "
    f"fcmigrate's own server listens on 127.0.0.1 under fcmigrate local; a server of your "
    f"own can read {LOCAL_HOST_ENV} (set to 127.0.0.1) to do the same."
)

FORCED_DOWNLOAD_NOTE = (
    "Note: FC's default domain (https://<account>.<region>.fc.aliyuncs.com/2016-08-15/proxy/...) "
    "adds 'Content-Disposition: attachment' to every response, so a browser downloads pages "
    "instead of showing them. fcmigrate local does the same on the proxy URL. Bind a custom "
    "domain to the function to serve web pages (try it here with --custom-domain)."
)


# --- the function's configuration -----------------------------------------------------


@dataclass
class FunctionConfig:
    """What FC knows about the function, from the deploy config or fcmigrate's defaults."""

    service: str
    function: str
    source: str = "defaults"
    region: str = "cn-hangzhou"
    timeout: int = 60
    memory: int = 1024
    concurrency: int = 8
    runtime: str = "custom.debian10"
    handler: str = "index.handler"
    port: int = FC_DEFAULT_PORT
    environment: dict[str, str] = field(default_factory=dict)
    skipped_environment: list[str] = field(default_factory=list)
    #: Variables the config reads at deploy time (``${env('NAME')}``) that are not set here.
    unset_environment: list[str] = field(default_factory=list)
    #: Methods the HTTP trigger accepts; ``None`` when no trigger lists them.
    methods: tuple[str, ...] | None = None
    initializer: bool = False
    initializer_handler: str = "initializer"
    initializer_timeout: int | None = None
    pre_stop: bool = False
    pre_stop_timeout: int | None = None
    command: list[str] | None = None


CONFIG_FILES = ("s.yaml", "s.yml", "template.yml", "template.yaml")

_VARIABLE = re.compile(r"\$\{\s*([^{}]+?)\s*\}")
_ENV_CALL = re.compile(r"""env\(\s*['"]([^'"]+)['"]\s*(?:,\s*['"]([^'"]*)['"]\s*)?\)""")


def _substitute(value: str, variables: Mapping[str, Any]) -> str:
    """Serverless Devs ``${vars.x}``, ``${env.X}`` and ``${env('X', 'default')}``."""

    def one(match: re.Match[str]) -> str:
        expr = match.group(1)
        if expr.startswith("vars.") and expr[5:] in variables:
            return str(variables[expr[5:]])
        if expr.startswith("env."):
            return os.environ.get(expr[4:], match.group())
        call = _ENV_CALL.fullmatch(expr)
        if call:
            default = call.group(2)
            return os.environ.get(call.group(1), default if default is not None else "")
        return match.group()

    return _VARIABLE.sub(one, value)


def _resolve(value: Any, variables: Mapping[str, Any]) -> Any:
    if isinstance(value, str):
        return _substitute(value, variables)
    if isinstance(value, dict):
        return {k: _resolve(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, variables) for v in value]
    return value


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _dict(value: Any) -> dict[str, Any]:
    """``value`` if it is a mapping, else empty: a hand-edited config may hold anything."""
    return value if isinstance(value, dict) else {}


def _argv(program: Any, args: Any) -> list[str] | None:
    """A start command from config values: lists, or JSON strings as fc2/fun write them."""
    parts: list[str] = []
    for value in (program, args):
        if isinstance(value, str) and value.strip().startswith("["):
            try:
                value = json.loads(value)
            except ValueError:
                return None
        if isinstance(value, list):
            parts += [str(v) for v in value]
        elif value:
            parts.append(str(value))
    return parts or None


def _environment(config: FunctionConfig, values: Any) -> None:
    for key, value in _dict(values).items():
        if key in LAPTOP_UNSAFE_ENV:
            config.skipped_environment.append(str(key))
        elif value is not None:
            text = str(value)
            reference = DEPLOY_TIME_ENV.fullmatch(text.strip())
            if reference is not None:
                # As `s deploy` would: the value comes from this environment, if it is set.
                found = os.environ.get(reference.group(1))
                if found is None:
                    config.unset_environment.append(str(key))
                    continue
                text = found
            config.environment[str(key)] = text


def _initializer(config: FunctionConfig, handler: Any, timeout: Any) -> None:
    if handler:
        config.initializer = True
        config.initializer_handler = str(handler)
        config.initializer_timeout = _int(timeout, 0) or None


def _pre_stop_hook(config: FunctionConfig, hook: Any) -> None:
    hook = _dict(hook)
    if hook.get("handler"):
        config.pre_stop = True
        config.pre_stop_timeout = _int(hook.get("timeout"), 0) or None


def _http_methods(
    triggers: Any, type_key: str, config_key: str, methods_key: str
) -> tuple[str, ...] | None:
    """The methods the HTTP trigger lists (each config format spells the keys its own way)."""
    if isinstance(triggers, dict):
        triggers = triggers.values()
    elif not isinstance(triggers, list):
        return None
    found = None
    for trigger in triggers:
        trigger = _dict(trigger)
        if str(trigger.get(type_key, "")).lower() != "http":
            continue
        methods = _dict(trigger.get(config_key)).get(methods_key)
        if isinstance(methods, list):
            found = tuple(str(m).upper() for m in methods)
    return found


def _fc3(doc: dict[str, Any], fallback: str) -> FunctionConfig | None:
    for key, resource in _dict(doc.get("resources")).items():
        resource = _dict(resource)
        props = _dict(resource.get("props"))
        if "domain" in str(resource.get("component", "")) or "functionName" not in props:
            continue
        config = FunctionConfig(
            service=str(doc.get("name") or key or fallback),
            function=str(props["functionName"]),
            source="s.yaml (fc3)",
            region=str(props.get("region") or "cn-hangzhou"),
            # Serverless Devs' fc3 component defaults for a custom runtime.
            timeout=_int(props.get("timeout"), 3),
            memory=_int(props.get("memorySize"), 512),
            concurrency=_int(props.get("instanceConcurrency"), 1),
            runtime=str(props.get("runtime") or "custom.debian10"),
            handler=str(props.get("handler") or "index.handler"),
        )
        _environment(config, props.get("environmentVariables"))
        runtime_config = props.get("customRuntimeConfig")
        container_config = props.get("customContainerConfig")
        if isinstance(runtime_config, dict):
            config.port = _int(runtime_config.get("port"), FC_DEFAULT_PORT)
            config.command = _argv(runtime_config.get("command"), runtime_config.get("args"))
        elif isinstance(container_config, dict):
            # FC 3.0 containers: entrypoint is the program, command its arguments.
            config.port = _int(container_config.get("port"), FC_DEFAULT_PORT)
            config.command = _argv(
                container_config.get("entrypoint"), container_config.get("command")
            )
        lifecycle = _dict(props.get("instanceLifecycleConfig"))
        init = _dict(lifecycle.get("initializer"))
        _initializer(config, init.get("handler"), init.get("timeout"))
        _pre_stop_hook(config, lifecycle.get("preStop"))
        config.methods = _http_methods(
            props.get("triggers"), "triggerType", "triggerConfig", "methods"
        )
        return config
    return None


def _fc2(doc: dict[str, Any], fallback: str) -> FunctionConfig | None:
    for key, entry in _dict(doc.get("services")).items():
        props = _dict(_dict(entry).get("props"))
        function = props.get("function")
        if not isinstance(function, dict):
            continue
        service = _dict(props.get("service"))
        config = FunctionConfig(
            service=str(service.get("name") or key or fallback),
            function=str(function.get("name") or fallback),
            source="s.yaml (fc, FC 2.0)",
            region=str(props.get("region") or "cn-hangzhou"),
            timeout=_int(function.get("timeout"), 3),
            memory=_int(function.get("memorySize"), 128),
            concurrency=_int(function.get("instanceConcurrency"), 1),
            runtime=str(function.get("runtime") or "custom"),
            handler=str(function.get("handler") or "index.handler"),
            port=_int(function.get("caPort"), FC_DEFAULT_PORT),
        )
        _environment(config, function.get("environmentVariables"))
        runtime_config = function.get("customRuntimeConfig") or function.get(
            "customContainerConfig"
        )
        if isinstance(runtime_config, dict):
            config.command = _argv(runtime_config.get("command"), runtime_config.get("args"))
        _initializer(config, function.get("initializer"), function.get("initializationTimeout"))
        _pre_stop_hook(config, _dict(function.get("instanceLifecycleConfig")).get("preStop"))
        config.methods = _http_methods(props.get("triggers"), "type", "config", "methods")
        return config
    return None


def _fun(doc: dict[str, Any]) -> FunctionConfig | None:
    for service_name, service in _dict(doc.get("Resources")).items():
        service = _dict(service)
        if service.get("Type") != "Aliyun::Serverless::Service":
            continue
        for name, function in service.items():
            function = _dict(function)
            if function.get("Type") != "Aliyun::Serverless::Function":
                continue
            props = _dict(function.get("Properties"))
            config = FunctionConfig(
                service=str(service_name),
                function=str(name),
                source="template.yml (fun)",
                timeout=_int(props.get("Timeout"), 3),
                memory=_int(props.get("MemorySize"), 128),
                concurrency=_int(props.get("InstanceConcurrency"), 1),
                runtime=str(props.get("Runtime") or "custom"),
                handler=str(props.get("Handler") or "index.handler"),
                port=_int(props.get("CAPort"), FC_DEFAULT_PORT),
            )
            _environment(config, props.get("EnvironmentVariables"))
            _initializer(config, props.get("Initializer"), props.get("InitializationTimeout"))
            config.methods = _http_methods(function.get("Events"), "Type", "Properties", "Methods")
            return config
    return None


def _yaml_loader() -> Any:
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    # fun templates may use ROS tags (!Ref, !GetAtt): read them as absent values.
    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    return Loader


def load_config(project: Path) -> FunctionConfig:
    """The function's settings from the project's deploy config, or fcmigrate's defaults.

    ``s.yaml`` (component ``fc3``, or ``fc`` for FC 2.0) is read first, then ``fun``'s
    ``template.yml``. Without one, the defaults are ``fcmigrate wrap``'s.
    """
    import yaml

    from fcmigrate.build.wrap import default_name

    fallback = default_name(project)
    for name in CONFIG_FILES:
        path = project / name
        if not path.is_file():
            continue
        try:
            doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_yaml_loader())  # noqa: S506
        except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
            raise FCMigrateError(
                f"Cannot read {str(path)!r}: {exc}. Fix the YAML, or move it away to use "
                "fcmigrate's defaults."
            ) from None
        if not isinstance(doc, dict):
            continue
        variables = doc.get("vars")
        if not isinstance(variables, dict):
            variables = {}
        doc = _resolve(doc, variables)
        config = _fc3(doc, fallback) or _fc2(doc, fallback) or _fun(doc)
        if config is not None:
            if "${" in config.region:
                config.region = "cn-hangzhou"
            return config
    return FunctionConfig(service=fallback, function=fallback)


# --- FC's identifiers -----------------------------------------------------------------


def fc_environment(
    config: FunctionConfig,
    project: Path,
    port: int,
    base: Mapping[str, str] | None = None,
    *,
    python: str | None = None,
) -> dict[str, str]:
    """The child's environment: this machine's, the function's variables, then FC's own."""
    env = dict(os.environ if base is None else base)
    env.update(config.environment)
    env.update(
        {
            "FC_SERVER_PORT": str(port),
            "FC_CUSTOM_LISTEN_PORT": str(port),
            "FC_FUNC_CODE_PATH": str(project) + os.sep,
            "FC_FUNCTION_NAME": config.function,
            "FC_SERVICE_NAME": config.service,
            "FC_REGION": config.region,
            "FC_ACCOUNT_ID": FAKE_ACCOUNT_ID,
            "FC_INSTANCE_ID": new_instance_id(),
            "FC_TIMEOUT": str(config.timeout),
            "FC_FUNCTION_MEMORY_SIZE": str(config.memory),
            "FC_RUNTIME": config.runtime,
            "ALIBABA_CLOUD_ACCESS_KEY_ID": FAKE_ACCESS_KEY_ID,
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": FAKE_ACCESS_KEY_SECRET,
            "ALIBABA_CLOUD_SECURITY_TOKEN": FAKE_SECURITY_TOKEN,
            # The front door's own hosts, allowed where FC's would be (FCMIGRATE_TRUST_FC_HOSTS).
            "FCMIGRATE_LOCAL_HOSTS": "localhost,127.0.0.1,[::1]",
            "PYTHONUNBUFFERED": "1",
            # fcmigrate's server listens here instead of on every interface: on this
            # machine only the front door may reach the function.
            LOCAL_HOST_ENV: "127.0.0.1",
        }
    )
    # The bootstrap looks for FC's Python under /var/fc/lang, then python3 on PATH, which
    # on a laptop may lack fcmigrate: name the interpreter (see function_python).
    if python is None:
        env.setdefault("FCMIGRATE_PYTHON", sys.executable)
    else:
        env["FCMIGRATE_PYTHON"] = python
    return env


def fc_headers(
    config: FunctionConfig,
    rid: str,
    control_path: str,
    *,
    qualifier: str = "LATEST",
    base_path: str | None = None,
) -> list[tuple[str, str]]:
    """The headers FC adds to every request it sends to the function's server."""
    headers = [
        ("x-fc-request-id", rid),
        ("x-fc-control-path", control_path),
        ("x-fc-function-name", config.function),
        ("x-fc-function-handler", config.handler),
        ("x-fc-function-memory", str(config.memory)),
        ("x-fc-function-timeout", str(config.timeout)),
        ("x-fc-region", config.region),
        ("x-fc-account-id", FAKE_ACCOUNT_ID),
        ("x-fc-qualifier", qualifier),
        ("x-fc-access-key-id", FAKE_ACCESS_KEY_ID),
        ("x-fc-access-key-secret", FAKE_ACCESS_KEY_SECRET),
        ("x-fc-security-token", FAKE_SECURITY_TOKEN),
    ]
    if base_path:
        headers.append(("x-fc-base-path", base_path))
    if config.initializer:
        headers.append(("x-fc-function-initializer", config.initializer_handler))
        headers.append(
            ("x-fc-initialization-timeout", str(config.initializer_timeout or config.timeout))
        )
    return headers


def error_body(code: str, message: str) -> bytes:
    return json.dumps({"ErrorCode": code, "ErrorMessage": message}).encode("utf-8")


# --- console --------------------------------------------------------------------------


class Console:
    """Whole lines from several threads, to the terminal, flushed at once."""

    def __init__(self, log: IO[bytes], child_out: IO[bytes], child_err: IO[bytes]) -> None:
        self.log_stream = log
        self.child_out = child_out
        self.child_err = child_err
        self._lock = threading.Lock()

    def write(self, stream: IO[bytes], data: bytes) -> None:
        with self._lock:
            try:
                stream.write(data)
                stream.flush()
            except (OSError, ValueError):
                pass  # the terminal went away; the function must not stop for that

    def log(self, message: str) -> None:
        text = "".join(f"[local] {line}\n" for line in message.splitlines() or [""])
        self.write(self.log_stream, text.encode("utf-8", "replace"))


# --- the function's process -----------------------------------------------------------


class HealthCheckFailed(FCMigrateError):
    exit_code = 1


def _proc_listeners(port: int) -> list[str] | None:
    """Addresses listening on ``port``, from /proc/net/tcp*; ``None`` where there is none."""
    addresses: list[str] = []
    found_table = False
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        try:
            with open(table, encoding="ascii") as f:
                lines = f.read().splitlines()[1:]
        except OSError:
            continue
        found_table = True
        for line in lines:
            fields = line.split()
            if len(fields) < 4 or fields[3] != "0A":  # 0A = LISTEN
                continue
            address, _, port_hex = fields[1].partition(":")
            if int(port_hex, 16) != port or len(address) != width:
                continue
            # The kernel prints each 32-bit word in host (little-endian) order.
            raw = b"".join(
                struct.pack("<I", int(address[i : i + 8], 16)) for i in range(0, width, 8)
            )
            addresses.append(str(ipaddress.ip_address(raw)))
    return addresses if found_table else None


def _is_loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback


def _outside_address() -> str | None:
    """This machine's address on its default route (no packet is sent), if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: never routed anywhere real
            address: str = s.getsockname()[0]
        except OSError:
            return None
    return None if _is_loopback(address) else address


def _connects(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def listen_scope(port: int) -> str | None:
    """``"all"`` when FC could reach ``port``, ``"loopback"`` when only 127.0.0.1 could,
    ``None`` when nothing listens."""
    addresses = _proc_listeners(port)
    if addresses is not None:
        if not addresses:
            return None
        return "loopback" if all(_is_loopback(a) for a in addresses) else "all"
    if not _connects("127.0.0.1", port):
        return None
    outside = _outside_address()
    if outside is None or _connects(outside, port):
        return "all"
    return "loopback"


class FunctionProcess:
    """The function's server, started as FC starts it, with its output relayed."""

    def __init__(
        self,
        argv: list[str],
        *,
        cwd: Path,
        env: Mapping[str, str],
        port: int,
        console: Console,
    ) -> None:
        self.argv = argv
        self.port = port
        self.console = console
        self.last_lines: collections.deque[str] = collections.deque(maxlen=20)
        #: Set when fcmigrate's server said it listens on 127.0.0.1 because it was asked to.
        self.loopback_asked = threading.Event()
        #: Where the function listens once healthy: "loopback" or "all" (see listen_scope).
        self.scope: str | None = None
        try:
            self.proc = subprocess.Popen(
                argv,
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                # Its own process group: Ctrl-C reaches only this command, which then runs
                # pre-stop before it stops the function, as FC does.
                start_new_session=True,
            )
        except OSError as exc:
            raise FCMigrateError(f"Cannot start {argv[0]!r}: {exc.strerror}.") from None
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self._relays = [
            threading.Thread(target=self._relay, args=(pipe, stream), daemon=True)
            for pipe, stream in (
                (self.proc.stdout, console.child_out),
                (self.proc.stderr, console.child_err),
            )
        ]
        for relay in self._relays:
            relay.start()

    def _relay(self, pipe: IO[bytes], stream: IO[bytes]) -> None:
        for line in iter(pipe.readline, b""):
            text = line.decode("utf-8", "replace").rstrip("\n")
            if LOCAL_BIND_NOTE in text:
                self.loopback_asked.set()
            self.last_lines.append(text)
            self.console.write(stream, line)
        pipe.close()

    def poll(self) -> int | None:
        return self.proc.poll()

    def wait_healthy(self, timeout: float, cancelled: threading.Event) -> float:
        """Wait for the port as FC's health check does; seconds waited, or raise."""
        started = time.monotonic()
        loopback_checks = 0
        while True:
            waited = time.monotonic() - started
            code = self.proc.poll()
            if code is not None:
                self._flush_relays()
                raise HealthCheckFailed(
                    self._failure(
                        f"The function's process exited with code {code} after {waited:.1f} s, "
                        f"before it listened on port {self.port}."
                    )
                )
            scope = listen_scope(self.port)
            if scope == "all" or (scope == "loopback" and self.loopback_asked.is_set()):
                self.scope = scope
                return waited
            if scope == "loopback":
                # Settled once seen twice: it will not move to 0.0.0.0 by itself, so say
                # now what FC would say after its full wait.
                loopback_checks += 1
                if loopback_checks >= 2:
                    raise HealthCheckFailed(self._loopback_failure(waited))
            if waited >= timeout:
                raise HealthCheckFailed(
                    self._failure(
                        f"Function instance health check failed on port {self.port} in "
                        f"{timeout:g} seconds: nothing listened there."
                    )
                )
            if cancelled.wait(0.1):
                raise FCMigrateError("Stopped before the function was ready.", exit_code=130)

    def _flush_relays(self) -> None:
        for relay in self._relays:
            relay.join(2)

    def _failure(self, headline: str) -> str:
        lines = [
            headline,
            f"On FC this is FunctionNotStarted: the server must listen on 0.0.0.0:$FC_SERVER_PORT "
            f"({self.port} here, {FC_DEFAULT_PORT} on FC unless customRuntimeConfig.port says "
            "otherwise).",
        ]
        return "\n".join(lines + self._tail())

    def _loopback_failure(self, waited: float) -> str:
        lines = [
            f"The function listens on 127.0.0.1:{self.port} only (found after {waited:.1f} s).",
            "It answers on this machine, but FC connects from outside the instance and would "
            f'fail with "FunctionNotStarted: Function instance health check failed on port '
            f'{FC_DEFAULT_PORT} in {FC_HEALTH_CHECK_SECONDS:g} seconds".',
            "Listen on every interface: --bind 0.0.0.0:$FC_SERVER_PORT (gunicorn), "
            "app.run(host='0.0.0.0', ...) or runserver 0.0.0.0:$FC_SERVER_PORT.",
        ]
        return "\n".join(lines + self._tail())

    def _tail(self) -> list[str]:
        if not self.last_lines:
            return ["The process printed nothing."]
        return ["Last output of the process:", *(f"  | {line}" for line in self.last_lines)]

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> int | None:
        """SIGTERM, wait, then SIGKILL; the whole process group, so no worker survives."""
        if self.proc.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.console.log(f"The function did not stop within {grace:g} s: killing it.")
        self._signal(signal.SIGKILL)
        code = self.proc.wait()
        self._flush_relays()
        return code

    def _signal(self, signum: int) -> None:
        try:
            os.killpg(self.proc.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass


# --- calls FC makes itself ------------------------------------------------------------


@dataclass
class CallResult:
    status: int
    fc_status: str | None
    body: bytes
    milliseconds: float

    @property
    def failed(self) -> bool:
        return not 200 <= self.status < 300 or self.fc_status == "404"


def call_function(
    config: FunctionConfig,
    port: int,
    method: str,
    path: str,
    *,
    body: bytes = b"",
    timeout: float,
    rid: str | None = None,
) -> CallResult:
    """One request of FC's own: a hook or an event call (its path is the control path)."""
    rid = rid or new_request_id()
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in fc_headers(config, rid, path):
            conn.putheader(name, value)
        if method == "POST":
            conn.putheader("Content-Type", "application/octet-stream")
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body if method == "POST" else None)
        response = conn.getresponse()
        data = response.read(MAX_RESPONSE_BYTES + 1)
        return CallResult(
            response.status,
            response.getheader("x-fc-status"),
            data,
            (time.monotonic() - started) * 1000,
        )
    finally:
        conn.close()


# --- the front door -------------------------------------------------------------------

#: Seconds a client connection may stay silent, in the middle of a request or between
#: kept-alive requests, before the front door closes it (``--idle-timeout``).
IDLE_TIMEOUT_SECONDS = 60.0
#: Largest request head (request line and headers) read before answering 400 at once.
#: FC's own limits (4 KB path, 8 KB headers) are checked after, with FC's messages.
MAX_HEAD_BYTES = 64 * 1024
#: Bytes of a refused body read and dropped so that the client sees the 400; a body
#: longer than that gets the 400 and a closed connection instead.
MAX_DRAIN_BYTES = 2 * MAX_BODY_BYTES

SERVER_NAME = "fcmigrate-local"


def printable(text: str) -> str:
    """``text`` with control characters escaped: a request line shown on the console must
    not move the cursor, change colours or start a line of its own."""
    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text
    )


class Refused(Exception):
    """A request FC's front door answers itself."""

    def __init__(self, status: int, code: str, message: str, *, close: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        #: The request's framing cannot be trusted: answer, then close the connection.
        self.close = close


@dataclass
class Route:
    style: str  # "proxy" or "fcapp"
    base_path: str | None = None
    qualifier: str = "LATEST"


@dataclass
class ClientRequest:
    """One request as h11 read it: the client's header names keep their case."""

    method: str
    target: str
    headers: list[tuple[str, str]]

    @classmethod
    def from_event(cls, event: h11.Request) -> ClientRequest:
        return cls(
            event.method.decode("ascii"),
            event.target.decode("ascii"),
            [(n.decode("latin-1"), v.decode("latin-1")) for n, v in event.headers.raw_items()],
        )

    def has(self, name: str) -> bool:
        return any(n.lower() == name for n, _ in self.headers)

    def get(self, name: str) -> str | None:
        return next((v for n, v in self.headers if n.lower() == name), None)


class FrontDoor(socketserver.ThreadingTCPServer):
    """FC's HTTP front door on localhost, in front of :class:`FunctionProcess`.

    Each client connection gets a thread; h11 reads its requests and writes the answers.
    """

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        *,
        config: FunctionConfig,
        function_port: int,
        console: Console,
        url_style: str = "both",
        custom_domain: bool = False,
        idle_timeout: float = IDLE_TIMEOUT_SECONDS,
    ) -> None:
        super().__init__(address, _Connection)
        self.config = config
        self.function_port = function_port
        self.console = console
        self.url_style = url_style
        self.custom_domain = custom_domain
        self.idle_timeout = idle_timeout
        self.proxy_prefix = f"/{PROXY_VERSION}/proxy/{config.service}/{config.function}"
        self._noted_download = threading.Event()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def route(self, target: str) -> Route:
        match = _PROXY_PATH.match(target) if self.url_style != "fcapp" else None
        if match:
            service, _, qualifier = match.group(1).partition(".")
            if service != self.config.service:
                raise Refused(404, "ServiceNotFound", f"service {service!r} does not exist")
            if match.group(2) != self.config.function:
                raise Refused(
                    404,
                    "FunctionNotFound",
                    f"function {match.group(2)!r} does not exist in service {service!r}",
                )
            return Route("proxy", match.group() + "/", qualifier or "LATEST")
        if self.url_style == "proxy":
            raise Refused(
                404,
                "PathNotSupported",
                f"{target!r} is not a function path; use {self.proxy_prefix}/...",
            )
        return Route("fcapp")

    def note_forced_download(self) -> None:
        if not self._noted_download.is_set():
            self._noted_download.set()
            self.console.log(FORCED_DOWNLOAD_NOTE)


def _body_too_large() -> Refused:
    return Refused(
        400,
        "InvalidArgument",
        f"payload size exceeds maximum allowed size ({MAX_BODY_BYTES} bytes)",
    )


class _Connection(socketserver.BaseRequestHandler):
    """One client connection: requests read and answers written by h11, one at a time."""

    server: FrontDoor
    request: socket.socket

    def setup(self) -> None:
        # Every recv and send waits at most this long: a client that stops sending (or
        # reading) loses its connection instead of holding a thread forever.
        self.request.settimeout(self.server.idle_timeout)
        # The answer goes out in two sends (head, body): without TCP_NODELAY the second
        # waits for the client's delayed ACK, 40 ms on every kept-alive response.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.http = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD_BYTES)
        self.must_close = False

    def handle(self) -> None:
        try:
            while self._exchange():
                if self.must_close or self.http.our_state is not h11.DONE:
                    break
                if self.http.their_state is not h11.DONE:
                    break
                self.http.start_next_cycle()
        except TimeoutError:
            if self.http.trailing_data[0] or self.http.their_state is not h11.IDLE:
                self._log_stalled("-", "-")
        except (OSError, h11.ProtocolError):
            pass  # the client went away, or sent garbage after its answer

    # -- reading -------------------------------------------------------------------------

    def _next_event(self) -> Any:
        while True:
            event = self.http.next_event()
            if event is not h11.NEED_DATA:
                return event
            if self.http.they_are_waiting_for_100_continue:
                self._send(h11.InformationalResponse(status_code=100, headers=[]))
            self.http.receive_data(self.request.recv(1 << 16))

    def _read_body(self) -> bytes:
        parts: list[bytes] = []
        size = 0
        while True:
            event = self._next_event()
            if isinstance(event, h11.EndOfMessage):
                return b"".join(parts)
            if isinstance(event, h11.Data):
                size += len(event.data)
                if size > MAX_BODY_BYTES:
                    parts.clear()
                    self._drop_body(size)
                    raise _body_too_large()
                parts.append(bytes(event.data))

    def _drop_body(self, size: int = 0) -> None:
        """Read the rest of a refused request's body, and drop it.

        Closing with unread data would reset the connection, and the client would never
        see its 400; a client still waiting for ``100 Continue`` is spared the upload.
        """
        if self.http.their_state is not h11.SEND_BODY:
            return
        if self.http.they_are_waiting_for_100_continue:
            self.must_close = True
            return
        while size <= MAX_DRAIN_BYTES:
            event = self._next_event()
            if isinstance(event, h11.EndOfMessage):
                return
            if isinstance(event, h11.Data):
                size += len(event.data)
        self.must_close = True

    # -- one request ---------------------------------------------------------------------

    def _exchange(self) -> bool:
        """Read one request and answer it; ``False`` when the connection is over."""
        try:
            event = self._next_event()
        except h11.RemoteProtocolError as exc:
            self._refuse_malformed(exc)
            return False
        if not isinstance(event, h11.Request):
            return False  # ConnectionClosed
        started = time.monotonic()
        rid = new_request_id()
        request = ClientRequest.from_event(event)
        status, note = 0, ""
        try:
            try:
                route = self._check(request)
                body = self._read_body()
            except Refused as refusal:
                if refusal.close:
                    self.must_close = True  # where its body ends is unknown
                elif not self.must_close:
                    self._drop_body()
                raise
            status, note = self._forward(rid, request, route, body)
        except Refused as refusal:
            self._answer_error(refusal, rid, request.method)
            status, note = refusal.status, f"refused: {refusal.message}"
        except h11.RemoteProtocolError as exc:
            malformed = Refused(400, "InvalidArgument", f"malformed request: {exc}", close=True)
            self._answer_error(malformed, rid, request.method)
            status, note = 400, f"refused: {malformed.message}"
        except TimeoutError:
            self._log_stalled(request.method, request.target, rid)
            return False
        except (BrokenPipeError, ConnectionResetError):
            self.must_close = True
            note = "the client went away"
        self._log(rid, request.method, request.target, status, started, note)
        return not self.must_close

    def _log(
        self, rid: str, method: str, target: str, status: int, started: float, note: str
    ) -> None:
        elapsed = (time.monotonic() - started) * 1000
        path = target if len(target) <= 120 else target[:117] + "..."
        line = f"{rid} {method} {path} {status or '-'} {elapsed:.0f} ms"
        self.server.console.log(printable(f"{line} ({note})" if note else line))

    def _log_stalled(self, method: str, target: str, rid: str = "-") -> None:
        self.server.console.log(
            printable(
                f"{rid} {method} {target} - (closed: the client sent nothing for "
                f"{self.server.idle_timeout:g} s in the middle of a request)"
            )
        )

    def _refuse_malformed(self, exc: h11.RemoteProtocolError) -> None:
        started = time.monotonic()
        rid = new_request_id()
        refusal = Refused(400, "InvalidArgument", f"malformed request: {exc}", close=True)
        if self.http.our_state in (h11.IDLE, h11.SEND_RESPONSE):
            try:
                self._answer_error(refusal, rid, "GET")
            except OSError:
                pass
        self._log(rid, "-", "-", 400, started, f"refused: {refusal.message}")

    def _check(self, request: ClientRequest) -> Route:
        if len(request.target) > MAX_PATH_BYTES:
            raise Refused(
                400,
                "InvalidArgument",
                f"path with query is {len(request.target)} bytes; FC allows {MAX_PATH_BYTES}",
            )
        size = sum(len(k) + len(v) for k, v in request.headers)
        if size > MAX_HEADER_BYTES:
            raise Refused(
                400,
                "InvalidArgument",
                f"request headers are {size} bytes; FC allows {MAX_HEADER_BYTES}",
            )
        if request.has("transfer-encoding") and request.has("content-length"):
            # RFC 9112 6.3: a request smuggling shape; where the body ends is unclear.
            raise Refused(
                400,
                "InvalidArgument",
                "Transfer-Encoding and Content-Length together: send one of them",
                close=True,
            )
        for name, _ in request.headers:
            if name.lower().startswith("x-fc-"):
                raise Refused(
                    400,
                    "InvalidArgument",
                    f"header {name!r} is reserved: clients cannot send x-fc-* headers",
                )
        route = self.server.route(request.target)
        methods = self.server.config.methods
        if methods is not None and request.method not in methods:
            raise Refused(
                403,
                "AccessDenied",
                f"method {request.method!r} is not in the HTTP trigger's methods "
                f"({', '.join(methods)}); add it to triggerConfig.methods",
            )
        declared = request.get("content-length")  # h11 checked that it is a number
        if declared is not None and int(declared) > MAX_BODY_BYTES:
            raise _body_too_large()
        return route

    # -- forwarding ----------------------------------------------------------------------

    def _forward(
        self, rid: str, request: ClientRequest, route: Route, body: bytes
    ) -> tuple[int, str]:
        door = self.server
        config = door.config
        conn = http.client.HTTPConnection("127.0.0.1", door.function_port, timeout=config.timeout)
        try:
            try:
                conn.putrequest(
                    request.method, request.target, skip_host=True, skip_accept_encoding=True
                )
                for name, value in request.headers:
                    if name.lower() not in _DROPPED_REQUEST_HEADERS:
                        conn.putheader(name, value)
                if not request.has("host"):
                    conn.putheader("Host", f"127.0.0.1:{door.server_address[1]}")
                for name, value in fc_headers(
                    config,
                    rid,
                    "/http-invoke",
                    qualifier=route.qualifier,
                    base_path=route.base_path,
                ):
                    conn.putheader(name, value)
                if body or request.has("content-length") or request.has("transfer-encoding"):
                    conn.putheader("Content-Length", str(len(body)))
                conn.endheaders(body or None)
                response = conn.getresponse()
                data = response.read(MAX_RESPONSE_BYTES + 1)
            except TimeoutError:
                raise Refused(
                    502,
                    "FunctionTimeout",
                    f"the function did not answer within its timeout of {config.timeout} s",
                ) from None
            except (OSError, http.client.HTTPException) as exc:
                raise Refused(
                    502, "FunctionNotReachable", f"the function's server failed: {exc}"
                ) from None
            if len(data) > MAX_RESPONSE_BYTES:
                raise Refused(
                    502,
                    "EntityTooLarge",
                    f"the response body is over FC's limit of {MAX_RESPONSE_BYTES} bytes",
                )
            fc_status = response.getheader("x-fc-status")
            self._answer(rid, request.method, route, response, data)
        finally:
            conn.close()
        note = "invocation failed: x-fc-status 404" if fc_status == "404" else ""
        return response.status, note

    # -- answering -----------------------------------------------------------------------

    def _send(self, event: Any) -> None:
        data = self.http.send(event)
        if data:
            self.request.sendall(data)

    def _head(self) -> list[tuple[bytes, bytes]]:
        return [
            (b"Server", SERVER_NAME.encode()),
            (b"Date", formatdate(usegmt=True).encode()),
        ]

    def _write(
        self, status: int, reason: str, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> None:
        """Send one answer; raise :class:`Refused` (nothing sent) if h11 finds it invalid."""
        if self.must_close:
            headers.append((b"Connection", b"close"))
        try:
            response = h11.Response(
                status_code=status, reason=reason.encode("latin-1", "replace"), headers=headers
            )
        except h11.LocalProtocolError as exc:
            raise Refused(
                502, "FunctionNotReachable", f"the function's response cannot be sent on: {exc}"
            ) from None
        self._send(response)
        if body:
            self._send(h11.Data(data=body))
        self._send(h11.EndOfMessage())

    def _answer(
        self,
        rid: str,
        method: str,
        route: Route,
        response: http.client.HTTPResponse,
        data: bytes,
    ) -> None:
        door = self.server
        forced_download = route.style == "proxy" and not door.custom_domain
        headers = self._head()
        for name, value in response.getheaders():
            lower = name.lower()
            if lower in _DROPPED_RESPONSE_HEADERS or lower.startswith("x-fc-"):
                continue
            if lower == "content-disposition" and forced_download:
                continue
            # http.client read the header as latin-1: these are its bytes again.
            headers.append((name.encode("latin-1"), value.encode("latin-1")))
        headers.append((b"x-fc-request-id", rid.encode()))
        if forced_download:
            headers.append((b"Content-Disposition", b"attachment"))
        no_body = method == "HEAD" or response.status in (204, 304)
        length = response.getheader("Content-Length")
        if method == "HEAD" and length is not None:
            headers.append((b"Content-Length", length.encode("latin-1")))
        elif not no_body:
            headers.append((b"Content-Length", str(len(data)).encode()))
        self._write(response.status, response.reason, headers, b"" if no_body else data)
        if forced_download:
            door.note_forced_download()

    def _answer_error(self, refusal: Refused, rid: str, method: str) -> None:
        self.must_close = self.must_close or refusal.close
        body = error_body(refusal.code, refusal.message)
        headers = [
            *self._head(),
            (b"Content-Type", b"application/json"),
            (b"x-fc-request-id", rid.encode()),
            (b"x-fc-error-type", b"FcCommonError"),
            (b"Content-Length", str(len(body)).encode()),
        ]
        if self.http.our_state is not h11.SEND_RESPONSE and self.http.our_state is not h11.IDLE:
            self.must_close = True  # an answer has started already: nothing more to say
            return
        reason = http.client.responses.get(refusal.status, "")
        try:
            self._write(refusal.status, reason, headers, b"" if method == "HEAD" else body)
        except (BrokenPipeError, ConnectionResetError):
            self.must_close = True


# --- the command ----------------------------------------------------------------------


@dataclass
class LocalOptions:
    project: Path = Path(".")
    app: str | None = None
    port: int = 8000
    host: str = "127.0.0.1"
    url_style: str = "both"
    custom_domain: bool = False
    invoke: str | None = None
    start_timeout: float = FC_HEALTH_CHECK_SECONDS
    initializer: bool = False
    pre_stop: bool = False
    idle_timeout: float = IDLE_TIMEOUT_SECONDS


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


_PYTHON_PROGRAM = re.compile(r"(/var/fc/lang/python3[.\d]*/bin/)?python(3[.\d]*)?")


def _map_code_path(value: str, project: Path) -> str:
    # FC unpacks the code at /code; here the project folder stands in for it.
    if value == "/code" or value.startswith("/code/"):
        return str(project) + value[len("/code") :]
    return value


def _map_command(command: list[str], project: Path, python: str) -> list[str]:
    argv = [_map_code_path(part, project) for part in command]
    # FC's (or the image's) Python is not on this machine: one of this machine's stands in.
    if _PYTHON_PROGRAM.fullmatch(argv[0]):
        argv[0] = python
    return argv


#: Where a build names its Python: the bootstrap's (or a start command's) FC interpreter.
_RECORDED_PYTHON = re.compile(r"/var/fc/lang/python(3\.\d+)/bin/python")


def recorded_python(project: Path, config: FunctionConfig) -> tuple[str, str] | None:
    """The Python X.Y the project was built for, and where that is written; ``None``
    when nothing says.

    ``fcmigrate wrap`` and ``migrate`` write it into the bootstrap (FC's interpreter is
    looked up there first); a start command may name it; else the runtime's own Python.
    """
    try:
        text = (project / "bootstrap").read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    found = _RECORDED_PYTHON.search(text)
    if found:
        return found.group(1), "bootstrap"
    if config.command:
        found = _RECORDED_PYTHON.match(config.command[0])
        if found:
            return found.group(1), f"{config.source}'s command"
    from fcmigrate.build.migrate import RUNTIME_PYTHON

    if config.source != "defaults" and config.runtime in RUNTIME_PYTHON:
        return RUNTIME_PYTHON[config.runtime], f"runtime {config.runtime} in {config.source}"
    return None


def function_python(options: LocalOptions, config: FunctionConfig) -> tuple[str, str]:
    """The interpreter that runs the function's start command, and one line saying why.

    A project with a ``python/`` folder (a ``migrate`` build, or packages vendored by
    hand) holds packages built for one Python X.Y: compiled ones load only there. That
    Python is used when this machine has it; otherwise the one running this command,
    said plainly, so an import error is not blamed on the app's code.
    """
    here = f"{sys.version_info[0]}.{sys.version_info[1]}"
    this = f"{here} ({sys.executable}, the one running fcmigrate local)"
    chosen = os.environ.get("FCMIGRATE_PYTHON")
    if chosen:
        return chosen, f"Python: {chosen}, from FCMIGRATE_PYTHON."
    if options.app or not (config.command or (options.project / "bootstrap").exists()):
        return sys.executable, f"Python: {this}, which runs fcmigrate serve from its packages."
    if not (options.project / "python").is_dir():
        return sys.executable, (
            f"Python: {this}; the project has no python/ folder, so the app's packages "
            "come from this environment."
        )
    recorded = recorded_python(options.project, config)
    if recorded is None:
        return sys.executable, (
            f"Python: {this}; nothing records which Python the packages in python/ are for."
        )
    version, source = recorded
    if version == here:
        return sys.executable, f"Python: {this}, the build's Python {version} ({source})."
    from fcmigrate.build.vendor import find_interpreter

    found = find_interpreter(version)
    if found:
        return found, f"Python: {version} ({found}), the build's Python ({source})."
    return sys.executable, (
        f"Python: {this}, not the build's Python {version} ({source}), which is not on "
        f"this machine: compiled packages in python/ may fail to import here, whatever "
        f"the app's code. Install Python {version}, or set FCMIGRATE_PYTHON."
    )


def start_command(
    options: LocalOptions, config: FunctionConfig, python: str | None = None
) -> tuple[list[str], str]:
    """The argv FC would run, and how to describe it: APP, the config's command, bootstrap.

    ``python`` replaces a start command's FC interpreter (default: this one).
    """
    project = options.project
    if options.app:
        argv = [sys.executable, "-m", "fcmigrate", "serve", options.app]
        return argv, f"fcmigrate serve {options.app}"
    if config.command:
        argv = _map_command(config.command, project, python or sys.executable)
        if "/" in argv[0]:
            _check_executable(project / argv[0], f"{config.source}'s command {config.command[0]!r}")
        shown = " ".join(config.command)
        if argv != config.command:
            shown += f" ({config.source}; here {' '.join(argv)})"
        return argv, shown
    bootstrap = project / "bootstrap"
    if bootstrap.exists():
        _check_executable(bootstrap, "bootstrap")
        return [str(bootstrap)], "./bootstrap"
    from fcmigrate.build.detect import detect_app

    try:
        spec = detect_app(project).spec
    except FCMigrateError as exc:
        raise FCMigrateError(
            f"No bootstrap in {str(project)!r}, and no app found there ({exc}). "
            "Name the app: fcmigrate local app:app, or write a bootstrap: fcmigrate wrap app:app"
        ) from None
    return [sys.executable, "-m", "fcmigrate", "serve", spec], f"fcmigrate serve {spec}"


def _check_executable(path: Path, what: str) -> None:
    if not path.is_file():
        raise FCMigrateError(
            f"{what} is {str(path)!r}, which does not exist. Write it with: fcmigrate wrap APP"
        )
    if not os.access(path, os.X_OK):
        raise FCMigrateError(
            f"{str(path)!r} is not executable, so FC refuses to start it (CAFilePermission). "
            f"Fix: chmod 755 {path}"
        )


def _read_event(source: str) -> bytes:
    if source == "-":
        data = sys.stdin.buffer.read(MAX_BODY_BYTES + 1)
    else:
        try:
            with open(source, "rb") as f:
                data = f.read(MAX_BODY_BYTES + 1)
        except OSError as exc:
            raise FCMigrateError(
                f"Cannot read the event file {source!r}: {exc.strerror}. "
                "Give a file, or '-' to read the event from stdin."
            ) from None
    if len(data) > MAX_BODY_BYTES:
        raise FCMigrateError(
            f"The event {source!r} is over FC's {MAX_BODY_BYTES // (1024 * 1024)} MB limit "
            "for a synchronous call."
        )
    return data


def _install_stop_signals(stop: threading.Event) -> Callable[[], None]:
    previous = {
        signum: signal.signal(signum, lambda signum, frame: stop.set())
        for signum in (signal.SIGINT, signal.SIGTERM)
    }

    def restore() -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    return restore


def _describe(config: FunctionConfig) -> str:
    methods = ", ".join(config.methods) if config.methods is not None else "any (no HTTP trigger)"
    return (
        f"Function {config.function!r} (service {config.service!r}) from {config.source}: "
        f"region {config.region}, runtime {config.runtime}, timeout {config.timeout} s, "
        f"memory {config.memory} MB, instance concurrency {config.concurrency}, "
        f"methods {methods}"
    )


def run(options: LocalOptions, *, stdout: IO[bytes] | None = None) -> int:
    """Run ``fcmigrate local``; the exit code."""
    if options.url_style not in URL_STYLES:
        raise FCMigrateError(
            f"Unknown URL style {options.url_style!r}. Use one of: {', '.join(URL_STYLES)}."
        )
    project = options.project.resolve()
    if not project.is_dir():
        raise FCMigrateError(f"Project folder {str(options.project)!r} does not exist.")
    options.project = project
    out = stdout or sys.stdout.buffer
    err = sys.stderr.buffer
    invoking = options.invoke is not None
    # With --invoke, stdout holds the result alone: everything else goes to stderr.
    console = Console(err if invoking else out, err if invoking else out, err)

    config = load_config(project)
    config.initializer = config.initializer or options.initializer
    config.pre_stop = config.pre_stop or options.pre_stop
    event = _read_event(options.invoke) if options.invoke is not None else None
    python, python_note = function_python(options, config)
    argv, shown = start_command(options, config, python)

    door: FrontDoor | None = None
    if not invoking:
        try:
            door = FrontDoor(
                (options.host, options.port),
                config=config,
                function_port=0,
                console=console,
                url_style=options.url_style,
                custom_domain=options.custom_domain,
                idle_timeout=options.idle_timeout,
            )
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise FCMigrateError(
                    f"Port {options.port} is in use. Use another: fcmigrate local --port "
                    f"{options.port + 1}"
                ) from None
            raise FCMigrateError(
                f"Cannot listen on {options.host}:{options.port}: {exc.strerror}."
            ) from None

    stop = threading.Event()
    restore_signals = _install_stop_signals(stop)
    function: FunctionProcess | None = None
    ready = False
    try:
        console.log(_describe(config))
        if config.skipped_environment:
            console.log(
                f"Not applied on this machine (they name FC's paths): "
                f"{', '.join(config.skipped_environment)}."
            )
        if config.unset_environment:
            console.log(
                "Read from the deployer's environment by the config, and not set here: "
                f"{', '.join(config.unset_environment)}. Export them to give them to the "
                "function."
            )
        console.log(python_note)
        port = _free_port()
        env = fc_environment(config, project, port, python=python)
        function = FunctionProcess(argv, cwd=project, env=env, port=port, console=console)
        console.log(f"Started {shown} as pid {function.proc.pid} with FC_SERVER_PORT={port}.")
        waited = function.wait_healthy(options.start_timeout, stop)
        console.log(f"Health check passed on port {port} after {waited:.1f} s.")
        if function.scope == "all":
            console.log(EXPOSED_NOTE)
        ready = True
        if config.initializer:
            _initialize(config, port, console)
        if event is not None:
            return _invoke(config, function, event, console, out)
        assert door is not None
        return _serve(door, function, stop, console)
    finally:
        if function is not None:
            if ready and config.pre_stop and function.poll() is None:
                _pre_stop(config, function.port, console)
            elif ready and function.poll() is None:
                console.log(
                    "No pre-stop hook configured (instanceLifecycleConfig.preStop): "
                    "FC would not call GET /pre-stop either."
                )
            code = function.stop()
            console.log(f"Function stopped (exit code {code}).")
        if door is not None:
            door.server_close()
        restore_signals()


def _initialize(config: FunctionConfig, port: int, console: Console) -> None:
    timeout = config.initializer_timeout or config.timeout
    try:
        result = call_function(config, port, "POST", "/initialize", timeout=timeout)
    except (OSError, http.client.HTTPException) as exc:
        raise FCMigrateError(f"The initializer call failed: {exc}.", exit_code=1) from None
    console.log(f"Initialize: POST /initialize -> {result.status} in {result.milliseconds:.0f} ms")
    if result.failed:
        text = result.body[:500].decode("utf-8", "replace").strip()
        raise FCMigrateError(
            f"The initializer failed with status {result.status}: {text!r}. On FC every "
            "request to this instance would fail (InitializationError).",
            exit_code=1,
        )


def _pre_stop(config: FunctionConfig, port: int, console: Console) -> None:
    timeout = config.pre_stop_timeout or config.timeout
    # Runs on the way out: no failure here may keep the function from being stopped.
    try:
        result = call_function(config, port, "GET", "/pre-stop", timeout=timeout)
    except (OSError, http.client.HTTPException) as exc:
        console.log(f"PreStop: GET /pre-stop failed: {exc}")
        return
    console.log(f"PreStop: GET /pre-stop -> {result.status} in {result.milliseconds:.0f} ms")


def _invoke(
    config: FunctionConfig,
    function: FunctionProcess,
    event: bytes,
    console: Console,
    out: IO[bytes],
) -> int:
    rid = new_request_id()
    try:
        result = call_function(
            config, function.port, "POST", "/invoke", body=event, timeout=config.timeout, rid=rid
        )
    except TimeoutError:
        console.log(f"Invoke {rid}: no answer within the function's timeout ({config.timeout} s)")
        return 1
    except (OSError, http.client.HTTPException) as exc:
        console.log(f"Invoke {rid}: the call failed: {exc}")
        return 1
    console.write(out, result.body if result.body.endswith(b"\n") else result.body + b"\n")
    verdict = "failed" if result.failed else "succeeded"
    console.log(
        f"Invoke {rid}: status {result.status}, x-fc-status "
        f"{result.fc_status or '(absent)'}, {result.milliseconds:.0f} ms: the invocation {verdict}."
    )
    return 1 if result.failed else 0


def _serve(
    door: FrontDoor, function: FunctionProcess, stop: threading.Event, console: Console
) -> int:
    door.function_port = function.port
    base = door.url
    console.log(f"Function Compute front door on {base}")
    if door.url_style in ("both", "proxy"):
        console.log(f"  FC 2.0 default domain: {base}{door.proxy_prefix}/")
    if door.url_style in ("both", "fcapp"):
        console.log(f"  fcapp.run style:       {base}/")
    if door.custom_domain:
        console.log("  As a custom domain: no forced download.")
    console.log("Ctrl-C stops (pre-stop runs first when configured).")
    thread = threading.Thread(target=door.serve_forever, kwargs={"poll_interval": 0.2})
    thread.daemon = True
    thread.start()
    code = 0
    while not stop.wait(0.2):
        exit_code = function.poll()
        if exit_code is not None:
            console.log(
                f"The function's process exited with code {exit_code}. On FC the instance "
                "would be replaced; here the front door stops."
            )
            code = 1
            break
    door.shutdown()
    thread.join(5)
    return code
