"""The requests FC sends to the function's server, and the headers it adds to each.

:func:`fc_headers` are the ``x-fc-*`` headers of every request (client requests through
the front door too); :func:`call_function` is one request of FC's own: the initializer
(``POST /initialize``), the pre-stop hook (``GET /pre-stop``) or an event call
(``POST /invoke``), each with the function's timeout, as :func:`initialize`,
:func:`pre_stop` and :func:`invoke` make them.
"""

from __future__ import annotations

import http.client
import json
import time
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

from fcmigrate.deployconfig import (
    FAKE_ACCESS_KEY_ID,
    FAKE_ACCESS_KEY_SECRET,
    FAKE_ACCOUNT_ID,
    FAKE_SECURITY_TOKEN,
    FunctionConfig,
)
from fcmigrate.errors import FCMigrateError
from fcmigrate.fc import MAX_RESPONSE_BYTES, new_request_id

if TYPE_CHECKING:
    from fcmigrate.local.command import Console


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


def initialize(config: FunctionConfig, port: int, console: Console) -> None:
    """``POST /initialize``, as FC sends it once to a new instance; a failure is an error."""
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


def pre_stop(config: FunctionConfig, port: int, console: Console) -> None:
    """``GET /pre-stop``, as FC sends it before it stops the instance."""
    timeout = config.pre_stop_timeout or config.timeout
    # Runs on the way out: no failure here may keep the function from being stopped.
    try:
        result = call_function(config, port, "GET", "/pre-stop", timeout=timeout)
    except (OSError, http.client.HTTPException) as exc:
        console.log(f"PreStop: GET /pre-stop failed: {exc}")
        return
    console.log(f"PreStop: GET /pre-stop -> {result.status} in {result.milliseconds:.0f} ms")


def invoke(
    config: FunctionConfig,
    port: int,
    event: bytes,
    console: Console,
    out: IO[bytes],
) -> int:
    """An event call with ``event`` as its body; its result goes to ``out``. The exit code."""
    rid = new_request_id()
    try:
        result = call_function(
            config, port, "POST", "/invoke", body=event, timeout=config.timeout, rid=rid
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
