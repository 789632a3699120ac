"""Scheduled jobs: what an FC timer trigger's event call runs in the app.

``migrate`` lists the app's schedules in ``fcmigrate_jobs.json``; a timer's event call
(``POST /invoke``, payload naming a job) runs it: a ``url`` job is a GET through the app
with ``X-Appengine-Cron: true`` (a client-sent one is removed from every request), a
``function`` job calls ``module.function(event, context)``. Other payloads get 400.
docs/migrate-from.md tells the whole story.
"""

from __future__ import annotations

import importlib
import io
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from fcmigrate.errors import FCMigrateError

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = ["CRON_HEADER", "JOBS_FILE", "Jobs", "job_payload", "timer_event"]

#: The build's list of jobs ``serve --jobs`` may run, beside the bootstrap.
JOBS_FILE = "fcmigrate_jobs.json"

logger = logging.getLogger("fcmigrate.jobs")

#: The request header App Engine sets on cron requests, in WSGI form.
CRON_HEADER = "HTTP_X_APPENGINE_CRON"
_MAX_EVENT = 64 * 1024


class Jobs:
    """The jobs a build declares, by name."""

    def __init__(self, jobs: Iterable[Mapping[str, str]]) -> None:
        self.by_name: dict[str, dict[str, str]] = {}
        for job in jobs:
            name, kind, target = job.get("name"), job.get("kind"), job.get("target")
            if not name or kind not in ("url", "function") or not target:
                raise FCMigrateError(
                    f"A job needs a name, a kind (url or function) and a target: {dict(job)!r}."
                )
            self.by_name[name] = {"name": name, "kind": kind, "target": target}
        self.has_url_jobs = any(j["kind"] == "url" for j in self.by_name.values())
        self._functions: dict[str, Callable[..., Any]] = {}

    @classmethod
    def load(cls, path: str | Path) -> Jobs:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise FCMigrateError(
                f"No jobs file {str(path)!r}. Run `fcmigrate migrate` again to write it, or "
                "drop --jobs."
            ) from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise FCMigrateError(f"Cannot read the jobs file {str(path)!r}: {exc}.") from None
        if not isinstance(data, dict) or not isinstance(data.get("jobs"), list):
            raise FCMigrateError(f"The jobs file {str(path)!r} holds no list of jobs.")
        return cls(data["jobs"])

    def pick(self, environ: WSGIEnvironment) -> tuple[dict[str, str] | None, dict[str, Any]]:
        """The job a timer event names, and the event; ``(None, event)`` for any other."""
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body = environ["wsgi.input"].read(min(max(length, 0), _MAX_EVENT)) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)  # an event route may still read it
        try:
            event = json.loads(body or b"{}")
        except (UnicodeDecodeError, json.JSONDecodeError):
            return None, {}
        if not isinstance(event, dict):
            return None, {}
        payload = event.get("payload")
        try:
            named = json.loads(payload) if isinstance(payload, str) else payload
        except json.JSONDecodeError:
            return None, event
        name = named.get("fcmigrate_job") if isinstance(named, dict) else None
        return (self.by_name.get(name) if isinstance(name, str) else None), event

    def url_request(self, environ: WSGIEnvironment, job: Mapping[str, str]) -> None:
        """Turn the event call's environ into App Engine's cron GET of the job's URL."""
        parts = urlsplit(job["target"])
        environ["REQUEST_METHOD"] = "GET"
        environ["PATH_INFO"] = parts.path or "/"
        environ["QUERY_STRING"] = parts.query
        environ["wsgi.input"] = io.BytesIO(b"")
        environ.pop("CONTENT_LENGTH", None)
        environ.pop("CONTENT_TYPE", None)
        environ[CRON_HEADER] = "true"

    def call(self, job: Mapping[str, str], event: dict[str, Any], context: Any) -> Any:
        """Run a function job: ``module.function(event, context)``."""
        target = job["target"]
        function = self._functions.get(target)
        if function is None:
            module_name, _, name = target.rpartition(".")
            module = importlib.import_module(module_name)
            function = getattr(module, name)
            self._functions[target] = function
        return function(event, context)


def job_payload(name: str) -> str:
    """A timer trigger's payload naming job ``name``: the only thing the function trusts."""
    return json.dumps({"fcmigrate_job": name}, separators=(",", ":"))


def timer_event(name: str, when: str | None = None) -> bytes:
    """The body of the event call FC sends when the timer of job ``name`` fires."""
    import datetime

    stamp = when or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    event = {"triggerTime": stamp, "triggerName": name, "payload": job_payload(name)}
    return json.dumps(event).encode()


def json_body(value: Any) -> bytes:
    """A job's return value as a JSON body (its ``repr`` when JSON cannot hold it)."""
    try:
        return json.dumps({"result": value}).encode()
    except (TypeError, ValueError):
        return json.dumps({"result": repr(value)}).encode()


def respond(start_response: StartResponse, status: str, body: bytes, rid: str) -> list[bytes]:
    headers = [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
        ("X-Request-Id", rid),
    ]
    if not status.startswith("2"):
        headers.append(("x-fc-status", "404"))  # FC counts the invocation as failed
    start_response(status, headers)
    return [body]
