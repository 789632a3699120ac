"""WSGI middleware that makes an ordinary WSGI app behave on Function Compute.

Wrap the app once, at start-up::

    from fcmigrate import FCMiddleware
    application = FCMiddleware(application)

``fcmigrate serve`` and the generated ``bootstrap`` do this for you. Per request, the
middleware:

**Moves FC's path prefix into SCRIPT_NAME.** On FC 2.0's default domain the server sees
``/2016-08-15/proxy/<service>[.<qualifier>]/<function>/<path>``. The prefix is moved
from ``PATH_INFO`` to the end of ``SCRIPT_NAME``, so routing sees ``/<path>`` while
``url_for``, ``reverse()`` and redirects keep the prefix. ``x-fc-base-path`` is used when
it has that proxy form and the path starts with it; other values are ignored. Extra base
paths (a custom-domain route such as ``/api``) come from ``base_paths`` or the
``FCMIGRATE_BASE_PATH`` environment variable (comma separated). Prefixes only ever match
on a segment boundary: ``/svc/fn-other`` is not under ``/svc/fn``. ``SCRIPT_NAME`` is
never read from a client header.

**Keeps the prefix on redirects to literal paths.** Apps redirect to paths written out
in full: Django's default ``LOGIN_URL`` ``/accounts/login/``, ``redirect("/login")``.
When a prefix was moved, a ``Location`` or ``Content-Location`` header, or the URL in a
``Refresh`` header, that is a root-relative path not already under ``SCRIPT_NAME`` gets
``SCRIPT_NAME`` in front, and so does an ``http(s)`` URL to the request's own host (as
nginx's ``proxy_redirect`` does). Other hosts, ``//host/...``, relative paths, and
requests that had no prefix are left alone. Literal paths inside HTML or JavaScript
bodies are not rewritten.

**Exposes the request ID.** ``x-fc-request-id`` (or ``x-scf-request-id``; a new ID when
there is none, as in local runs) goes to ``environ["fc.request_id"]``, to
:func:`fcmigrate.request_id`, to log records as ``%(request_id)s``, and back to the
client as ``X-Request-Id``.

**Parses FC's context and hides the credentials.** ``environ["fc.context"]`` is a
read-only :class:`~fcmigrate.runtime.context.FCContext`. The ``x-fc-access-key-id``,
``x-fc-access-key-secret`` and ``x-fc-security-token`` headers are removed from the
environ, so ``request.headers``, error pages, Sentry and access logs never see them;
read them from ``environ["fc.context"].credentials``.

**Answers FC's own calls.** ``POST /initialize``, ``GET /pre-stop`` and
``GET /pre-freeze`` (told apart by ``x-fc-control-path``, or by method, exact path and an
``x-fc-request-id`` when no control path is sent) run the hook given for them, if any,
and answer 200 without reaching the app. A hook that raises answers 500. An event call
(control path ``/invoke``) is forwarded to the app as ``POST event_route`` when one is
set, and otherwise answered 404.

**Logs each invocation** with ``FC Invoke Start RequestId: <id>`` and
``FC Invoke End RequestId: <id>`` on stdout, one whole line each.

**Signals failures to FC** with the response header ``x-fc-status: 404`` when the app
raises (then the client gets a plain 500 naming the request ID, and the traceback is
logged with it), and, unless ``fail_on_5xx=False``, when the app answers 5xx.

**Sees FC's HTTPS.** On FC, an ``X-Forwarded-Proto`` header sets ``wsgi.url_scheme``, so
generated absolute URLs and ``is_secure()`` say ``https`` (``forwarded_proto``). Once the
app has redirected a request without the header to its own ``https://`` URL, such requests
are taken as HTTPS, or that redirect would come back for ever.

:param app: the WSGI application to wrap.
:param base_paths: extra path prefixes to move into ``SCRIPT_NAME``; defaults to
    ``FCMIGRATE_BASE_PATH``.
:param event_route: the app path that receives event calls (``POST /invoke``).
:param on_initialize: callable (or ``"module:function"``) run on ``POST /initialize``.
:param on_pre_stop: callable run on ``GET /pre-stop``.
:param on_pre_freeze: callable run on ``GET /pre-freeze``.
    Hooks may take no argument or one, the request's ``FCContext``.
:param fail_on_5xx: send ``x-fc-status: 404`` when the app answers 5xx.
:param trust_fc_headers: on FC clients cannot send ``x-fc-*`` headers, so they are
    trusted. Set ``False`` where anyone can reach the server: every client-sent
    ``x-fc-*`` and ``x-scf-*`` header is then dropped before anything reads it.
:param log_invocations: print the ``FC Invoke Start/End`` lines.
:param stream: where those lines go; ``sys.stdout`` by default.
:param forwarded_proto: set ``wsgi.url_scheme`` from ``X-Forwarded-Proto`` (``http`` or
    ``https``; the first of a comma-separated list), so Django's ``is_secure()`` and
    Flask's ``url_for(_external=True)`` see FC's HTTPS. Default: on only when running on
    FC (``FC_FUNC_CODE_PATH`` or ``FC_FUNCTION_NAME`` is set), where the header can only
    come from FC's front end; whether FC sends it is not documented, and without it the
    scheme stays what the server says. Off FC, a client could claim HTTPS with it.
"""

from __future__ import annotations

import contextvars
import inspect
import logging
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import IO, TYPE_CHECKING, Any

from fcmigrate.fc import (
    BASE_PATH_KEY,
    CONTROL_PATH_KEY,
    REQUEST_ID_KEY,
    SCF_REQUEST_ID_KEY,
    new_request_id,
    running_on_fc,
)
from fcmigrate.runtime.context import CREDENTIAL_KEYS, FCContext, _request_id
from fcmigrate.runtime.paths import parse_base_paths, split_prefix
from fcmigrate.runtime.redirects import keep_prefix, upgrades_itself

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from fcmigrate.runtime.jobs import Jobs

logger = logging.getLogger("fcmigrate")

Hook = Callable[..., Any]

#: Lifecycle hooks: (method, path) -> (name, word used in FC's log lines).
HOOKS = {
    ("POST", "/initialize"): ("initialize", "Initialize"),
    ("GET", "/pre-stop"): ("pre-stop", "PreStop"),
    ("GET", "/pre-freeze"): ("pre-freeze", "PreFreeze"),
}
_KEY_ID, _KEY_SECRET, _TOKEN = CREDENTIAL_KEYS
_HOOK_BY_CONTROL_PATH = {"/" + name: (name, word) for name, word in HOOKS.values()}


def _as_hook(value: Hook | str | None) -> Callable[[FCContext], Any] | None:
    if value is None:
        return None
    if isinstance(value, str):
        from fcmigrate.runtime.loader import import_string

        func: Hook = import_string(value)
    else:
        func = value
    if not callable(func):
        from fcmigrate.errors import FCMigrateError

        raise FCMigrateError(f"Hook {value!r} is not callable. Name a function: 'module:func'.")
    try:
        takes_context = bool(inspect.signature(func).parameters)
    except (TypeError, ValueError):
        takes_context = True
    if takes_context:
        return func
    return lambda context: func()


class _Response:
    """The app's response iterable; ``close()`` ends the request's log and context."""

    __slots__ = ("_iterable", "_rid", "_stream", "_token")

    def __init__(
        self,
        iterable: Iterable[bytes],
        stream: IO[str],
        rid: str,
        token: contextvars.Token[str | None],
    ) -> None:
        self._iterable = iterable
        self._stream = stream
        self._rid = rid
        self._token = token

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._iterable)

    def close(self) -> None:
        try:
            close = getattr(self._iterable, "close", None)
            if close is not None:
                close()
        finally:
            try:
                _request_id.reset(self._token)
            except (ValueError, RuntimeError):
                # Closed from another context, or twice: nothing left to undo here.
                pass
            stream = self._stream
            stream.write(f"FC Invoke End RequestId: {self._rid}\n")
            stream.flush()


class FCMiddleware:
    __doc__ = __doc__

    def __init__(
        self,
        app: WSGIApplication,
        *,
        base_paths: str | Iterable[str] | None = None,
        event_route: str | None = None,
        on_initialize: Hook | str | None = None,
        on_pre_stop: Hook | str | None = None,
        on_pre_freeze: Hook | str | None = None,
        fail_on_5xx: bool = True,
        trust_fc_headers: bool = True,
        log_invocations: bool = True,
        stream: IO[str] | None = None,
        forwarded_proto: bool | None = None,
        jobs: Jobs | None = None,
    ) -> None:
        self.app = app
        self.jobs = jobs
        self._cron_header: str | None = None
        if jobs is not None and jobs.has_url_jobs:
            # Imported here: only a function with jobs needs the module (and json) loaded.
            from fcmigrate.runtime.jobs import CRON_HEADER

            self._cron_header = CRON_HEADER
        if base_paths is None:
            base_paths = os.environ.get("FCMIGRATE_BASE_PATH")
        self.base_paths = parse_base_paths(base_paths)
        if event_route is not None and not event_route.startswith("/"):
            event_route = "/" + event_route
        self.event_route = event_route
        self.hooks = {
            "initialize": _as_hook(on_initialize),
            "pre-stop": _as_hook(on_pre_stop),
            "pre-freeze": _as_hook(on_pre_freeze),
        }
        self.fail_on_5xx = fail_on_5xx
        self.trust_fc_headers = trust_fc_headers
        self.log_invocations = log_invocations
        self._stream = stream
        if forwarded_proto is None:
            forwarded_proto = running_on_fc()
        self.forwarded_proto = forwarded_proto
        #: Set once the app redirected a request with no X-Forwarded-Proto to its own
        #: https:// URL: from then on such requests are taken as HTTPS.
        self._https_unsaid = False

    # -- logging -----------------------------------------------------------------------

    def _log_end(self, line: str) -> None:
        stream = self._stream or sys.stdout
        stream.write(line)
        stream.flush()

    # -- the request -------------------------------------------------------------------

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        # This runs on every request: it is written for speed, with the rare cases
        # (hooks, events, untrusted headers) moved out of the way.
        if "fc.context" in environ:
            # An outer FCMiddleware has done all of it already: doing it again would
            # strip a base path twice.
            return self.app(environ, start_response)
        if not self.trust_fc_headers:
            _drop_fc_headers(environ)
        get = environ.get
        rid = get(REQUEST_ID_KEY) or get(SCF_REQUEST_ID_KEY)
        if not rid or len(rid) > 128 or not rid.isprintable() or not rid.isascii() or " " in rid:
            rid = new_request_id()
        pop = environ.pop
        environ["fc.request_id"] = rid
        environ["fc.context"] = FCContext(
            environ,
            rid,
            (pop(_KEY_ID, None), pop(_KEY_SECRET, None), pop(_TOKEN, None)),
        )
        control = get(CONTROL_PATH_KEY)
        if control != "/http-invoke" and (control or REQUEST_ID_KEY in environ):
            special = self._special(environ, start_response, rid, control)
            if special is not None:
                return special

        if self._cron_header:
            # Only this middleware's own cron requests carry it, as on App Engine.
            environ.pop(self._cron_header, None)
        path_info = get("PATH_INFO", "")
        base_header = get(BASE_PATH_KEY)
        script_name = None  # set when a prefix moves: redirects then keep it
        # A proxy prefix has "/proxy/" right after the date: skip the parsing otherwise.
        if base_header or self.base_paths or path_info[11:18] == "/proxy/":
            prefix, path = split_prefix(path_info, base_header, self.base_paths)
            if prefix:
                script_name = get("SCRIPT_NAME", "") + prefix
                environ["SCRIPT_NAME"] = script_name
                environ["PATH_INFO"] = path
        watch = False
        if self.forwarded_proto:
            proto = get("HTTP_X_FORWARDED_PROTO")
            if proto:
                if proto != "https" and proto != "http":
                    proto = proto.partition(",")[0].strip().lower()
                if proto == "https" or proto == "http":
                    environ["wsgi.url_scheme"] = proto
            elif self._https_unsaid:
                environ["wsgi.url_scheme"] = "https"
            else:
                watch = True
        return self._invoke(environ, start_response, rid, False, script_name, watch)

    def _special(
        self,
        environ: WSGIEnvironment,
        start_response: StartResponse,
        rid: str,
        control: str | None,
    ) -> Iterable[bytes] | None:
        """Answer a lifecycle hook or an event call; ``None`` for anything else."""
        hook = self._hook_for(environ, control)
        if hook is not None:
            name, word = hook
            log = self.log_invocations
            if log:
                (self._stream or sys.stdout).write(f"FC {word} Start RequestId: {rid}\n")
            token = _request_id.set(rid)
            try:
                return self._run_hook(name, environ, start_response)
            finally:
                _request_id.reset(token)
                if log:
                    self._log_end(f"FC {word} End RequestId: {rid}\n")
        if control == "/invoke":
            if self.jobs is not None:
                ran = self._job(environ, start_response, rid)
                if ran is not None:
                    return ran
            if self.event_route is None:
                if self.log_invocations:
                    (self._stream or sys.stdout).write(f"FC Invoke Start RequestId: {rid}\n")
                    self._log_end(f"FC Invoke End RequestId: {rid}\n")
                body = (
                    "This function serves HTTP requests only; "
                    "set an event route (serve --event-route /path) to receive events.\n"
                )
                return _plain(start_response, "404 Not Found", body, rid, fc_failed=True)
            environ["REQUEST_METHOD"] = "POST"
            environ["PATH_INFO"] = self.event_route
            return self._invoke(environ, start_response, rid, True)
        return None

    def _job(
        self, environ: WSGIEnvironment, start_response: StartResponse, rid: str
    ) -> Iterable[bytes] | None:
        """Run the scheduled job a timer event names; ``None`` leaves it to the event route."""
        assert self.jobs is not None
        from fcmigrate.runtime.jobs import json_body, respond

        job, event = self.jobs.pick(environ)
        if job is None:
            if self.event_route is not None:
                return None
            if self.log_invocations:
                (self._stream or sys.stdout).write(f"FC Invoke Start RequestId: {rid}\n")
                self._log_end(f"FC Invoke End RequestId: {rid}\n")
            body = b'{"error": "The event names no job this function declares."}'
            return respond(start_response, "400 Bad Request", body, rid)
        logger.info("Running the scheduled job %r (request %s)", job["name"], rid)
        if job["kind"] == "url":
            self.jobs.url_request(environ, job)
            return self._invoke(environ, start_response, rid, True)
        log = self.log_invocations
        if log:
            (self._stream or sys.stdout).write(f"FC Invoke Start RequestId: {rid}\n")
        token = _request_id.set(rid)
        try:
            result = self.jobs.call(job, event, environ["fc.context"])
            return respond(start_response, "200 OK", json_body(result), rid)
        except Exception:
            logger.exception("The scheduled job %r failed (request %s)", job["name"], rid)
            body = json_body(f"The job {job['name']!r} failed. Request ID: {rid}")
            return respond(start_response, "500 Internal Server Error", body, rid)
        finally:
            _request_id.reset(token)
            if log:
                self._log_end(f"FC Invoke End RequestId: {rid}\n")

    def _hook_for(self, environ: WSGIEnvironment, control: str | None) -> tuple[str, str] | None:
        if control:
            return _HOOK_BY_CONTROL_PATH.get(control)
        if REQUEST_ID_KEY not in environ:
            return None
        return HOOKS.get((environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", "")))

    def _run_hook(
        self, name: str, environ: WSGIEnvironment, start_response: StartResponse
    ) -> list[bytes]:
        hook = self.hooks[name]
        rid = environ["fc.request_id"]
        if hook is not None:
            try:
                hook(environ["fc.context"])
            except Exception:
                logger.exception("The %s hook failed (request %s)", name, rid)
                body = f"The {name} hook failed. Request ID: {rid}\n"
                return _plain(start_response, "500 Internal Server Error", body, rid)
        return _plain(start_response, "200 OK", "OK\n", rid)

    def _invoke(
        self,
        environ: WSGIEnvironment,
        start_response: StartResponse,
        rid: str,
        is_event: bool,
        script_name: str | None = None,
        watch_upgrade: bool = False,
    ) -> Iterable[bytes]:
        fail_on_5xx = self.fail_on_5xx
        headers_sent = False

        def fc_start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], object]:
            nonlocal headers_sent
            headers_sent = True
            if script_name is not None:
                # Only names as long as Refresh, Location or Content-Location are looked at.
                for name, _ in headers:
                    size = len(name)
                    if size == 8 or size == 16 or size == 7:
                        headers = keep_prefix(headers, script_name, environ)
                        break
            if watch_upgrade and status[:2] == "30" and upgrades_itself(headers, environ):
                self._take_unsaid_as_https()
            # A copy: an app may pass the same list on every request (PEP 3333 allows it).
            headers = [*headers, ("X-Request-Id", rid)]
            code = status[:1]
            if (fail_on_5xx and code == "5") or (is_event and code != "2"):
                headers.append(("x-fc-status", "404"))
            return start_response(status, headers, exc_info)

        log = self.log_invocations
        if log:
            stream = self._stream or sys.stdout
            # Not flushed: a whole line is one write to the buffered stream, so lines of
            # parallel threads never mix, and the End line's flush sends both in order.
            stream.write(f"FC Invoke Start RequestId: {rid}\n")
        token = _request_id.set(rid)
        try:
            result = self.app(environ, fc_start_response)
        except Exception:
            logger.exception("Unhandled exception in the app (request %s)", rid)
            body = f"Internal Server Error. Request ID: {rid}\n"
            # After start_response, PEP 3333 lets the headers be replaced with exc_info
            # as long as the server has not sent them yet.
            exc_info = sys.exc_info() if headers_sent else None
            result = _plain(start_response, "500 Internal Server Error", body, rid, True, exc_info)
        except BaseException:
            _request_id.reset(token)
            if log:
                self._log_end(f"FC Invoke End RequestId: {rid}\n")
            raise
        if log and type(result) is not list:
            file_wrapper = environ.get("wsgi.file_wrapper")
            # A file body keeps the server's sendfile() path; nothing logs while it is sent.
            if not (isinstance(file_wrapper, type) and isinstance(result, file_wrapper)):
                # The body may still run app code (a generator): the request ID stays
                # current, and the End line waits, until the server closes it.
                return _Response(result, stream, rid, token)
        _request_id.reset(token)
        if log:
            stream.write(f"FC Invoke End RequestId: {rid}\n")
            stream.flush()
        return result

    def _take_unsaid_as_https(self) -> None:
        if not self._https_unsaid:
            self._https_unsaid = True
            logger.warning(
                "The app redirected a request to its own https:// URL, and FC sent no "
                "X-Forwarded-Proto: from now on a request without it is taken as HTTPS (FC's "
                "front door serves HTTPS), or every such redirect would come back for ever."
            )


def _drop_fc_headers(environ: WSGIEnvironment) -> None:
    # x-scf-request-id is read as a request ID too: a client must not choose that either.
    for key in [k for k in environ if k.startswith(("HTTP_X_FC_", "HTTP_X_SCF_"))]:
        del environ[key]


def _plain(
    start_response: StartResponse,
    status: str,
    body: str,
    rid: str,
    fc_failed: bool = False,
    exc_info: Any = None,
) -> list[bytes]:
    data = body.encode("utf-8")
    headers = [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", str(len(data))),
        ("X-Request-Id", rid),
    ]
    if fc_failed:
        headers.append(("x-fc-status", "404"))
    start_response(status, headers, exc_info)
    return [data]
