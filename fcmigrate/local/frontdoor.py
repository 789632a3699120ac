"""FC's HTTP front door on localhost: the part of ``fcmigrate local`` clients talk to.

A threaded server (:class:`FrontDoor`) whose connections (:class:`_Connection`) read
requests with h11 and answer them one at a time. Each request is checked as FC checks it
(its limits, the ``x-fc-*`` headers a client may not send, the trigger's methods), routed
by the URL style (FC 2.0's ``/2016-08-15/proxy/<service>/<function>/`` path or ``/``),
forwarded to the function's server with FC's headers (:func:`fcmigrate.local.calls.fc_headers`),
and its answer passed back under FC's response rules: forbidden headers dropped,
``x-fc-status`` read, and the forced download of the default domain. A request the front
door answers itself is a :class:`Refused`.
"""

from __future__ import annotations

import http.client
import re
import socket
import socketserver
import threading
import time
from dataclasses import dataclass
from email.utils import formatdate
from typing import TYPE_CHECKING, Any

import h11

from fcmigrate import fc
from fcmigrate.deployconfig import FunctionConfig
from fcmigrate.fc import (
    MAX_BODY_BYTES,
    MAX_HEADER_BYTES,
    MAX_PATH_BYTES,
    MAX_RESPONSE_BYTES,
    new_request_id,
)
from fcmigrate.local.calls import error_body, fc_headers

if TYPE_CHECKING:
    from fcmigrate.local.command import Console

PROXY_VERSION = fc.PROXY_VERSION
_PROXY_PATH = re.compile(rf"/{re.escape(PROXY_VERSION)}/proxy/([^/?#]+)/([^/?#]+)(?=[/?#]|\Z)")

URL_STYLES = ("both", "proxy", "fcapp")

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
