"""Run by ``fcmigrate doctor`` in a child process: import the project, report what it set.

The parent runs this file's source with ``python -c`` (:mod:`fcmigrate.build.child`'s
protocol: the request file is ``sys.argv[1]``, the answer file ``sys.argv[2]``) in the
project's folder and FC's environment, so a settings file that raises, loops or calls
``sys.exit`` costs a finding, not the doctor. Nothing from fcmigrate is imported before the
project's own code, except the loader when a Flask app is imported. The result is JSON
written to a file (the project may print anything on stdout); it is rewritten after each
step so that a step that hangs leaves the earlier ones readable. SECRET_KEY never leaves
this process: only its length, prefix and a hash. Of a Flask app's database settings only
SQLite file paths leave it: other database URLs may hold passwords.

The code folder is read-only in this process, as ``/code`` is on FC: the parent names
:mod:`fcmigrate.build.readonly`'s file, loaded here without importing fcmigrate, whose audit hook
makes every write under the folder raise ``OSError`` (EROFS). The refused writes of a step
that then failed are reported (``read_only``: path, event, file, line); the project's folder
is left as it was.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import re
import sys
import traceback
from collections.abc import Callable
from functools import partial
from typing import Any

_DEFAULT_SESSION_ENGINE = "django.contrib.sessions.backends.db"
_DEFAULT_STORAGE = "django.core.files.storage.FileSystemStorage"
#: ``sqlite://`` (in memory), ``sqlite:///rel.db``, ``sqlite+pysqlite:////abs.db?mode=ro``;
#: a URL with a user or host is not SQLite's and is never matched.
_SQLITE_URL = re.compile(r"sqlite(?:\+\w+)?://(/[^?#]*)?(?:[?#].*)?", re.DOTALL)
_SQLITE_SUFFIXES = (".sqlite", ".sqlite3", ".db", ".db3", ".s3db", ".sl3")


def _strings(value: Any) -> list[str]:
    if isinstance(value, (list, tuple, set, frozenset)):
        return [str(item) for item in value]
    return [] if value is None else [str(value)]


def _secret(value: Any) -> dict[str, Any]:
    if not isinstance(value, (str, bytes)) or not value:
        return {"set": False}
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    return {
        "set": True,
        "length": len(text),
        "insecure_prefix": text.startswith("django-insecure-"),
        "unique_chars": len(set(text)),
        "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
    }


def _storage(namespace: dict[str, Any]) -> str:
    storages = namespace.get("STORAGES")
    if isinstance(storages, dict) and isinstance(storages.get("default"), dict):
        return str(storages["default"].get("BACKEND", _DEFAULT_STORAGE))
    return str(namespace.get("DEFAULT_FILE_STORAGE", _DEFAULT_STORAGE))


def django_settings(name: str) -> dict[str, Any]:
    namespace = vars(importlib.import_module(name))
    databases = namespace.get("DATABASES") or {}
    caches = namespace.get("CACHES")
    default_cache = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    static_root = namespace.get("STATIC_ROOT")
    session_file_path = namespace.get("SESSION_FILE_PATH")
    return {
        "file": namespace.get("__file__"),
        "debug": bool(namespace.get("DEBUG", False)),
        "secret_key": _secret(namespace.get("SECRET_KEY")),
        "allowed_hosts": _strings(namespace.get("ALLOWED_HOSTS", [])),
        "csrf_trusted_origins": _strings(namespace.get("CSRF_TRUSTED_ORIGINS", [])),
        "middleware": _strings(namespace.get("MIDDLEWARE", [])),
        "installed_apps": _strings(namespace.get("INSTALLED_APPS", [])),
        "databases": {
            str(alias): {"engine": str(cfg.get("ENGINE", "")), "name": str(cfg.get("NAME", ""))}
            for alias, cfg in (databases.items() if isinstance(databases, dict) else [])
            if isinstance(cfg, dict)
        },
        "media_root": str(namespace.get("MEDIA_ROOT") or ""),
        "static_root": None if static_root in (None, "") else str(static_root),
        "session_engine": str(namespace.get("SESSION_ENGINE", _DEFAULT_SESSION_ENGINE)),
        "session_file_path": None if session_file_path is None else str(session_file_path),
        "session_cache_alias": str(namespace.get("SESSION_CACHE_ALIAS", "default")),
        "caches": {
            str(alias): {
                "backend": str(cfg.get("BACKEND", "")),
                "location": str(cfg.get("LOCATION", "")),
            }
            for alias, cfg in (caches if isinstance(caches, dict) else default_cache).items()
            if isinstance(cfg, dict)
        },
        "caches_set": isinstance(caches, dict),
        "storage": _storage(namespace),
        "asgi_application": str(namespace.get("ASGI_APPLICATION") or ""),
    }


def _sqlite_url(value: Any) -> str | None:
    """The file a SQLAlchemy ``sqlite:`` URL names (``""`` in memory); ``None`` for others."""
    driver = getattr(value, "drivername", None)
    if isinstance(driver, str):  # a sqlalchemy.engine.URL object
        database = getattr(value, "database", None) or ""
        return str(database) if driver.split("+")[0] == "sqlite" else None
    match = _SQLITE_URL.fullmatch(value.strip()) if isinstance(value, str) else None
    return None if match is None else (match.group(1) or "/")[1:]


def _database_file(value: Any) -> str | None:
    """flaskr's ``DATABASE``: a SQLite file path, or a ``sqlite:`` URL."""
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        return None
    if "://" in value:
        return _sqlite_url(value)
    # Anything else may be a server's name or DSN, and so hold a password.
    if "@" in value or not (os.path.isabs(value) or value.lower().endswith(_SQLITE_SUFFIXES)):
        return None
    return value


def flask_sqlite(config: dict[str, Any]) -> list[dict[str, Any]]:
    """The SQLite files a Flask app's config names, with the key that names each.

    A relative file in a Flask-SQLAlchemy URL is in ``app.instance_path`` (Flask-SQLAlchemy
    3); in ``DATABASE`` it is relative to the working folder, as ``sqlite3.connect`` sees it.
    """
    uri = config.get("SQLALCHEMY_DATABASE_URI")
    found = [
        ("DATABASE", _database_file(config.get("DATABASE")), False),
        ("SQLALCHEMY_DATABASE_URI", _sqlite_url(uri), True),
    ]
    binds = config.get("SQLALCHEMY_BINDS")
    for name, bind in binds.items() if isinstance(binds, dict) else ():
        url = bind.get("url") if isinstance(bind, dict) else bind
        found.append((f"SQLALCHEMY_BINDS[{name!r}]", _sqlite_url(url), True))
    return [
        {"key": key, "path": path, "in_instance": in_instance}
        for key, path, in_instance in found
        if path and path != ":memory:"
    ]


def wsgi_app(spec: str, root: str) -> dict[str, Any]:
    """Import the app as `fcmigrate serve` would; for a Flask app, report its config."""
    from fcmigrate.runtime.loader import load_app

    app = load_app(spec, cwd=root)
    flask_class = any(c.__module__.split(".")[0] == "flask" for c in type(app).__mro__)
    config = getattr(app, "config", None)
    if not flask_class or not isinstance(config, dict):
        return {"is_flask": False}
    application_root = config.get("APPLICATION_ROOT")
    instance_path = getattr(app, "instance_path", None)
    return {
        "is_flask": True,
        "server_name": None if not config.get("SERVER_NAME") else str(config["SERVER_NAME"]),
        "application_root": None if application_root in (None, "", "/") else str(application_root),
        "secret_key": _secret(config.get("SECRET_KEY")),
        "instance_path": instance_path if isinstance(instance_path, str) else None,
        "sqlite": flask_sqlite(config),
    }


def _location(exc: BaseException, root: str) -> tuple[str | None, int | None]:
    """The innermost place in the project's own files where ``exc`` came from."""
    vendored = os.path.join(root, "python") + os.sep
    if isinstance(exc, SyntaxError) and exc.filename:
        path = os.path.realpath(exc.filename)
        if path.startswith(root + os.sep):
            return os.path.relpath(path, root), exc.lineno
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.startswith("<"):  # <frozen os>, <string>: no file of the project
            continue
        path = os.path.realpath(frame.filename)
        if path.startswith(root + os.sep) and not path.startswith(vendored):
            return os.path.relpath(path, root), frame.lineno
    return None, None


def _guarded(step: Callable[[], dict[str, Any]], root: str) -> dict[str, Any]:
    try:
        return {"ok": step()}
    # BaseException: a settings file that calls sys.exit() is a finding too.
    except BaseException as exc:
        lines = str(exc).strip().splitlines()
        message = type(exc).__name__ + (f": {lines[0]}" if lines else "")
        file, line = _location(exc, root)
        return {"error": message[:300], "file": file, "line": line}


def _guard(module_file: str, root: str) -> list[Any]:
    """Load the read-only guard from its file and install it on ``root``; its record."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_fcmigrate_readonly", module_file)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {module_file}")
    module = importlib.util.module_from_spec(spec)
    # dataclasses looks the module up by name while it builds the classes.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    denied: list[Any] = module.guard(root).denied
    return denied


def main() -> None:
    request_path, result_path = sys.argv[1], sys.argv[2]
    with open(request_path, encoding="utf-8") as file:
        request = json.load(file)
    root = os.path.realpath(request["root"])
    denied = _guard(request["guard"], root) if request.get("guard") else []
    sys.path[:0] = request["path_front"]
    sys.path += request["path_back"]
    # What `python -m fcmigrate serve APP` shows the app; some settings files read sys.argv.
    sys.argv = ["fcmigrate", "serve"]
    result: dict[str, Any] = {"apps": {}, "read_only": []}

    def save(pending: list[str] | None) -> None:
        result["pending"] = pending
        with open(result_path, "w", encoding="utf-8") as out:
            json.dump(result, out)

    def step(pending: list[str], run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        save(pending)
        start = len(denied)
        outcome = _guarded(run, root)
        if "error" in outcome:
            # Refused writes the step survived are the code's business, as they are on FC.
            result["read_only"] += [
                {"path": d.path, "event": d.event, "file": d.file, "line": d.line}
                for d in denied[start:]
            ]
        return outcome

    settings = request.get("django_settings")
    if settings:
        result["django"] = step(["django", settings], lambda: django_settings(settings))
    for spec in request.get("app_specs", []):
        result["apps"][spec] = step(["app", spec], partial(wsgi_app, spec, root))
    save(None)
    sys.stdout.flush()
    sys.stderr.flush()
    # Threads or atexit handlers the project started must not keep this process alive.
    os._exit(0)


if __name__ == "__main__":
    main()
