"""Function Compute's contract, in one place: its port, proxy prefix, headers and variables.

Every other module takes these names from here. It imports only the standard library's
lightest modules, since a build carries it and every cold start imports it.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Mapping

#: The port FC (CAPort) and SCF send requests to when the function names none.
PORT = 9000
#: Where FC tells the server which port to listen on (the newer name first).
PORT_ENV = ("FC_SERVER_PORT", "FC_CUSTOM_LISTEN_PORT")

#: The API version in FC 2.0's default-domain path.
PROXY_VERSION = "2016-08-15"
#: FC 2.0 default-domain prefix: ``/<yyyy-mm-dd>/proxy/<service>[.<qualifier>]/<function>``.
PROXY_PREFIX = re.compile(r"/\d{4}-\d{2}-\d{2}/proxy/[^/]+/[^/]+")

#: Headers FC sends with each request, as their WSGI environ keys.
REQUEST_ID_KEY = "HTTP_X_FC_REQUEST_ID"
SCF_REQUEST_ID_KEY = "HTTP_X_SCF_REQUEST_ID"
CONTROL_PATH_KEY = "HTTP_X_FC_CONTROL_PATH"
BASE_PATH_KEY = "HTTP_X_FC_BASE_PATH"
#: The function role's credentials: they never reach the app's environ, logs or pages.
CREDENTIAL_KEYS = (
    "HTTP_X_FC_ACCESS_KEY_ID",
    "HTTP_X_FC_ACCESS_KEY_SECRET",
    "HTTP_X_FC_SECURITY_TOKEN",
)

#: FC's limits on a synchronous call: request headers in all, path with query, request
#: body, response body. Over them FC answers 400 (request) or 502 (response).
MAX_HEADER_BYTES = 8 * 1024
MAX_PATH_BYTES = 4 * 1024
MAX_BODY_BYTES = 32 * 1024 * 1024
MAX_RESPONSE_BYTES = 32 * 1024 * 1024

#: A deploy-config value Serverless Devs reads from the deployer's environment at deploy
#: time: ``${env('NAME')}`` or ``${env('NAME', 'default')}`` (group 1 is the name, group 2
#: the default, ``None`` when there is none).
DEPLOY_TIME_ENV = re.compile(
    r"""\$\{\s*env\(\s*['"]?([A-Za-z_][A-Za-z0-9_]*)['"]?\s*"""
    r"""(?:,\s*['"]([^'"]*)['"]\s*)?\)\s*\}"""
)

#: Variables FC sets in every instance; any one of them means "running on FC".
FC_ENV = ("FC_FUNC_CODE_PATH", "FC_FUNCTION_NAME")

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def running_on_fc(env: Mapping[str, str] | None = None) -> bool:
    """Whether this process runs in an FC instance (FC sets these variables)."""
    env = os.environ if env is None else env
    return any(env.get(name) for name in FC_ENV)


def listen_port(env: Mapping[str, str] | None = None) -> str:
    """The port FC tells the server to listen on, else :data:`PORT`."""
    env = os.environ if env is None else env
    for name in PORT_ENV:
        if env.get(name):
            return env[name]
    return str(PORT)


def env_flag(env: Mapping[str, str], name: str, default: bool = False) -> bool:
    """A yes/no variable: ``1/true/yes/on`` and ``0/false/no/off`` (any case), else ``default``."""
    value = env.get(name, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    return default


def _fc_id(kind: str) -> str:
    stamp = int(time.time()) & 0xFFFFFFFF
    return f"{kind}-{stamp:08x}-{os.urandom(4).hex()}-{os.urandom(6).hex()}"


def new_request_id() -> str:
    """An ID in FC 3.0's shape, ``1-<8 hex: time>-<8 hex>-<12 hex>``, for a request FC did
    not send (local runs)."""
    return _fc_id("1")


def new_instance_id() -> str:
    """An FC 3.0 instance ID: ``c-`` and the same shape as a request ID."""
    return _fc_id("c")
