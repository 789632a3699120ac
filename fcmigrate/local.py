"""``fcmigrate local``: Function Compute's HTTP front door, on the developer's machine.

FC does not hand requests to the app directly. A front door in front of the instance
starts the function's process, waits for its port, checks and rewrites each request, and
applies its own rules to each response. Most "works locally, fails on FC" reports come
from that front door, so this module plays it on localhost, without Docker:

* the start command (``bootstrap``, or ``fcmigrate serve APP``) runs as a child process
  with FC's environment, built from the project's ``s.yaml`` / ``template.yml``;
* the port is health-checked the way FC does it, including the case FC cannot see: a
  server bound to ``127.0.0.1`` answers on the laptop and fails on FC;
* requests are served at FC 2.0's ``/2016-08-15/proxy/<service>/<function>/`` path and at
  ``/`` (``*.fcapp.run`` style), with FC's headers added, its limits enforced and its
  response rules applied (forbidden headers dropped, ``x-fc-status`` read, the forced
  download of the default domain);
* lifecycle hooks (``POST /initialize``, ``GET /pre-stop``) and event calls
  (``POST /invoke``) are sent as FC sends them.

Nothing here runs on FC: the module only needs the standard library (and PyYAML, already a
dependency, imported when a config file is read).
"""

from __future__ import annotations

import collections
import errno
import http.client
import ipaddress
import json
import os
import re
import secrets
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any

from fcmigrate.errors import FCMigrateError

# --- FC's numbers ---------------------------------------------------------------------

MAX_HEADER_BYTES = 8 * 1024
MAX_PATH_BYTES = 4 * 1024
MAX_BODY_BYTES = 32 * 1024 * 1024
MAX_RESPONSE_BYTES = 32 * 1024 * 1024
#: How long FC waits for the port before "health check failed".
FC_HEALTH_CHECK_SECONDS = 120.0
FC_DEFAULT_PORT = 9000
#: Seconds the child gets between SIGTERM and SIGKILL (FC's own grace is not published).
STOP_GRACE_SECONDS = 10.0

PROXY_VERSION = "2016-08-15"
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
            config.environment[str(key)] = str(value)


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

    from fcmigrate.wrap import default_name

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


def _fc_id(kind: str) -> str:
    stamp = int(time.time()) & 0xFFFFFFFF
    return f"{kind}-{stamp:08x}-{secrets.token_hex(4)}-{secrets.token_hex(6)}"


def new_request_id() -> str:
    """An FC 3.0 request ID: ``1-<8 hex: time>-<8 hex>-<12 hex>``."""
    return _fc_id("1")


def new_instance_id() -> str:
    """An FC 3.0 instance ID: ``c-`` and the same shape as a request ID."""
    return _fc_id("c")


def fc_environment(
    config: FunctionConfig, project: Path, port: int, base: Mapping[str, str] | None = None
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
        }
    )
    # The bootstrap looks for FC's Python under /var/fc/lang, then python3 on PATH, which
    # on a laptop may lack fcmigrate: use the interpreter running this command instead.
    env.setdefault("FCMIGRATE_PYTHON", sys.executable)
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
            self.last_lines.append(line.decode("utf-8", "replace").rstrip("\n"))
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
            if scope == "all":
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


class Refused(Exception):
    """A request FC's front door answers itself."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass
class Route:
    style: str  # "proxy" or "fcapp"
    base_path: str | None = None
    qualifier: str = "LATEST"


class FrontDoor(ThreadingHTTPServer):
    """FC's HTTP front door on localhost, in front of :class:`FunctionProcess`."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        *,
        config: FunctionConfig,
        function_port: int,
        console: Console,
        url_style: str = "both",
        custom_domain: bool = False,
    ) -> None:
        super().__init__(address, _Handler)
        self.config = config
        self.function_port = function_port
        self.console = console
        self.url_style = url_style
        self.custom_domain = custom_domain
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


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fcmigrate-local"
    sys_version = ""
    # Headers and body go out in two writes: without TCP_NODELAY the second waits for the
    # client's delayed ACK, 40 ms on every response.
    disable_nagle_algorithm = True
    server: FrontDoor
    _body_read = False

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: each request gets one line of its own, FC console style."""

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # Requests http.server itself rejects (bad syntax, 414, 431, 501) get FC's JSON too.
        self.close_connection = True
        self._answer_error(Refused(code, "InvalidArgument", message or "bad request"))

    def handle_expect_100(self) -> bool:
        if self._declared_length() > MAX_BODY_BYTES:
            self.close_connection = True
            self._answer_error(self._body_too_large())
            return False
        return super().handle_expect_100()

    def do_GET(self) -> None:
        self._handle()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_GET

    # -- one request ---------------------------------------------------------------------

    def _handle(self) -> None:
        started = time.monotonic()
        rid = new_request_id()
        # One handler serves every request of a kept-alive connection: reset per request.
        self._body_read = False
        status, note = 0, ""
        try:
            route = self._check()
            body = self._read_body()
            status, note = self._forward(rid, route, body)
        except Refused as refusal:
            self._discard_body()
            self._answer_error(refusal, rid)
            status, note = refusal.status, f"refused: {refusal.message}"
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            note = "the client went away"
        elapsed = (time.monotonic() - started) * 1000
        path = self.path if len(self.path) <= 120 else self.path[:117] + "..."
        line = f"{rid} {self.command} {path} {status or '-'} {elapsed:.0f} ms"
        self.server.console.log(f"{line} ({note})" if note else line)

    def _check(self) -> Route:
        if len(self.path) > MAX_PATH_BYTES:
            raise Refused(
                400,
                "InvalidArgument",
                f"path with query is {len(self.path)} bytes; FC allows {MAX_PATH_BYTES}",
            )
        size = sum(len(k) + len(v) for k, v in self.headers.items())
        if size > MAX_HEADER_BYTES:
            raise Refused(
                400,
                "InvalidArgument",
                f"request headers are {size} bytes; FC allows {MAX_HEADER_BYTES}",
            )
        for name in self.headers:
            if name.lower().startswith("x-fc-"):
                raise Refused(
                    400,
                    "InvalidArgument",
                    f"header {name!r} is reserved: clients cannot send x-fc-* headers",
                )
        route = self.server.route(self.path)
        methods = self.server.config.methods
        if methods is not None and self.command not in methods:
            raise Refused(
                403,
                "AccessDenied",
                f"method {self.command!r} is not in the HTTP trigger's methods "
                f"({', '.join(methods)}); add it to triggerConfig.methods",
            )
        return route

    # -- the body ------------------------------------------------------------------------

    def _declared_length(self) -> int:
        try:
            return max(0, int(self.headers.get("Content-Length", "0")))
        except ValueError:
            return 0

    def _body_too_large(self) -> Refused:
        return Refused(
            400,
            "InvalidArgument",
            f"payload size exceeds maximum allowed size ({MAX_BODY_BYTES} bytes)",
        )

    def _read_body(self) -> bytes:
        self._body_read = True
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        raw = self.headers.get("Content-Length")
        if raw is None:
            return b""
        try:
            length = int(raw)
            if length < 0:
                raise ValueError(raw)
        except ValueError:
            self.close_connection = True
            raise Refused(400, "InvalidArgument", f"bad Content-Length {raw!r}") from None
        if length > MAX_BODY_BYTES:
            self._skip(length)
            raise self._body_too_large()
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(65537)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                self.close_connection = True
                raise Refused(400, "InvalidArgument", "malformed chunked body") from None
            if size == 0:
                while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                break
            total += size
            if total > MAX_BODY_BYTES:
                parts.clear()
                self._skip(size)
            else:
                parts.append(self.rfile.read(size))
            self.rfile.readline()
        if total > MAX_BODY_BYTES:
            raise self._body_too_large()
        return b"".join(parts)

    def _skip(self, length: int) -> None:
        # Read the rest rather than close on it: closing with unread data resets the
        # connection, and the client would never see the 400.
        while length > 0:
            chunk = self.rfile.read(min(length, 1 << 16))
            if not chunk:
                self.close_connection = True
                return
            length -= len(chunk)

    def _discard_body(self) -> None:
        if self._body_read:
            return
        try:
            self._read_body()
        except Refused:
            pass

    # -- forwarding ----------------------------------------------------------------------

    def _forward(self, rid: str, route: Route, body: bytes) -> tuple[int, str]:
        door = self.server
        config = door.config
        conn = http.client.HTTPConnection("127.0.0.1", door.function_port, timeout=config.timeout)
        try:
            try:
                conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for name, value in self.headers.items():
                    if name.lower() not in _DROPPED_REQUEST_HEADERS:
                        conn.putheader(name, value)
                if "Host" not in self.headers:
                    conn.putheader("Host", f"127.0.0.1:{door.server_address[1]}")
                for name, value in fc_headers(
                    config,
                    rid,
                    "/http-invoke",
                    qualifier=route.qualifier,
                    base_path=route.base_path,
                ):
                    conn.putheader(name, value)
                if body or "Content-Length" in self.headers or "Transfer-Encoding" in self.headers:
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
            self._answer(rid, route, response, data)
        finally:
            conn.close()
        note = "invocation failed: x-fc-status 404" if fc_status == "404" else ""
        return response.status, note

    def _answer(
        self, rid: str, route: Route, response: http.client.HTTPResponse, data: bytes
    ) -> None:
        door = self.server
        forced_download = route.style == "proxy" and not door.custom_domain
        self.send_response(response.status, response.reason or None)
        for name, value in response.getheaders():
            lower = name.lower()
            if lower in _DROPPED_RESPONSE_HEADERS or lower.startswith("x-fc-"):
                continue
            if lower == "content-disposition" and forced_download:
                continue
            self.send_header(name, value)
        self.send_header("x-fc-request-id", rid)
        if forced_download:
            self.send_header("Content-Disposition", "attachment")
            door.note_forced_download()
        no_body = self.command == "HEAD" or response.status in (204, 304) or response.status < 200
        if self.command == "HEAD" and response.getheader("Content-Length") is not None:
            self.send_header("Content-Length", response.getheader("Content-Length", "0"))
        elif not no_body:
            self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if not no_body:
            self.wfile.write(data)

    def _answer_error(self, refusal: Refused, rid: str | None = None) -> None:
        rid = rid or new_request_id()
        body = error_body(refusal.code, refusal.message)
        try:
            self.send_response(refusal.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("x-fc-request-id", rid)
            self.send_header("x-fc-error-type", "FcCommonError")
            self.send_header("Content-Length", str(len(body)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


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


def _map_command(command: list[str], project: Path) -> list[str]:
    argv = [_map_code_path(part, project) for part in command]
    # FC's (or the image's) Python is not on this machine: use the one running fcmigrate.
    if _PYTHON_PROGRAM.fullmatch(argv[0]):
        argv[0] = sys.executable
    return argv


def start_command(options: LocalOptions, config: FunctionConfig) -> tuple[list[str], str]:
    """The argv FC would run, and how to describe it: APP, the config's command, bootstrap."""
    project = options.project
    if options.app:
        argv = [sys.executable, "-m", "fcmigrate", "serve", options.app]
        return argv, f"fcmigrate serve {options.app}"
    if config.command:
        argv = _map_command(config.command, project)
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
    from fcmigrate.detect import detect_app

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
    argv, shown = start_command(options, config)

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
        port = _free_port()
        env = fc_environment(config, project, port)
        function = FunctionProcess(argv, cwd=project, env=env, port=port, console=console)
        console.log(f"Started {shown} as pid {function.proc.pid} with FC_SERVER_PORT={port}.")
        waited = function.wait_healthy(options.start_timeout, stop)
        console.log(f"Health check passed on port {port} after {waited:.1f} s.")
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
