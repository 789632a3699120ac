"""Checks on a Django project's settings, imported in a child process with FC's environment."""

from __future__ import annotations

import ast
import hashlib
import os
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fcmigrate.doctor import pysource
from fcmigrate.doctor.checks_secret import made_at_random
from fcmigrate.doctor.checks_source import WEBSOCKET, import_failed_on_write, websocket_use
from fcmigrate.doctor.model import Finding, check, rule
from fcmigrate.doctor.project import Project

SETTINGS_IMPORT = rule(
    "FC200",
    "settings-import",
    "error",
    why="FC imports the settings when an instance starts; if that raises, no instance ever "
    "serves a request.",
    fix="python -c 'import mysite.settings'   # must succeed with the function's "
    "environmentVariables set",
)
DEBUG = rule(
    "FC201",
    "debug",
    "error",
    why="With DEBUG on, an FC URL is public: every error page shows settings, paths and source "
    "to anyone, and Django keeps every SQL query in memory.",
    fix='DEBUG = os.environ.get("DJANGO_DEBUG") == "1"',
)
_DJANGO_KEY_FIX = 'SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]   # set it in environmentVariables'
INSECURE_SECRET_KEY = rule(
    "FC202",
    "insecure-secret-key",
    "error",
    why="A Django or Flask SECRET_KEY that is written in the code (or Django's placeholder, or "
    "short) lets anyone who can read the code forge sessions, password-reset links and signed "
    "data.",
    fix=f'{_DJANGO_KEY_FIX}\napp.config["SECRET_KEY"] = os.environ["SECRET_KEY"]   # Flask',
)
SECRET_KEY_FALLBACK = rule(
    "FC203",
    "secret-key-fallback",
    "warning",
    why="The Django settings or the Flask app read SECRET_KEY from the environment, but the "
    "deploy config does not set that variable, so FC runs with the development key written in "
    "the code.",
    fix="environmentVariables:\n  DJANGO_SECRET_KEY: ${env('DJANGO_SECRET_KEY')}",
)
ALLOWED_HOSTS = rule(
    "FC204",
    "allowed-hosts",
    "error",
    why="Django answers 400 Bad Request to a Host header not in ALLOWED_HOSTS; FC's hosts are "
    "*.fcapp.run, <account>.<region>.fc.aliyuncs.com and your custom domains.",
    fix='ALLOWED_HOSTS = [".fcapp.run", ".fc.aliyuncs.com"]   # plus your custom domain\n'
    'or, in environmentVariables: FCMIGRATE_TRUST_FC_HOSTS: "1"',
    severity_note="warning when only FC's default hosts are missing",
)
CSRF_ORIGINS = rule(
    "FC205",
    "csrf-trusted-origins",
    "warning",
    why="FC serves HTTPS but hands the app plain HTTP, so Django 4+ refuses form POSTs whose "
    "Origin (https://...) is not in CSRF_TRUSTED_ORIGINS with 403.",
    fix='CSRF_TRUSTED_ORIGINS = ["https://*.fcapp.run"]   # plus https://your.domain\n'
    'or, in environmentVariables: FCMIGRATE_TRUST_FC_HOSTS: "1"',
)
SQLITE_IN_CODE = rule(
    "FC206",
    "sqlite-not-writable",
    "error",
    why="The SQLite file (Django's DATABASES; a Flask app's DATABASE, SQLALCHEMY_DATABASE_URI or "
    "SQLALCHEMY_BINDS) is in the code folder (or elsewhere outside /tmp), which is read-only on "
    "FC and replaced per instance: writes fail with 'attempt to write a readonly database'.",
    fix="Use a database server (ApsaraDB RDS for MySQL/PostgreSQL) via DATABASES or "
    "SQLALCHEMY_DATABASE_URI, or a NAS mount (nasConfig) for the SQLite file.",
)
SQLITE_PER_INSTANCE = rule(
    "FC207",
    "sqlite-per-instance",
    "warning",
    why="An instance's /tmp is its own: the database starts empty (no tables) on each new "
    "instance, is not shared between instances and is lost when FC recycles one.",
    fix="Use a database server (RDS) or a NAS mount for data that must last; if a scratch "
    "database is intended, create its tables in an initializer (Django: 'manage.py migrate'; "
    "Flask-SQLAlchemy: db.create_all()).",
)
MEDIA_IN_CODE = rule(
    "FC208",
    "media-not-writable",
    "warning",
    why="Uploads under MEDIA_ROOT are saved into the read-only code folder: saving fails on FC, "
    "and files on one instance's disk would not reach the others anyway.",
    fix='Store uploads in OSS (django-storages) or a NAS mount: MEDIA_ROOT = "/mnt/nas/media"',
)
LOCAL_SESSIONS = rule(
    "FC209",
    "local-sessions",
    "warning",
    why="Sessions kept on one instance (files, a SQLite file, a local-memory cache) are unknown "
    "to the others, so users are logged out when FC routes them to another instance.",
    fix='SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"   # or a shared DB',
)
LOCAL_CACHE = rule(
    "FC210",
    "local-cache",
    "warning",
    why="LocMemCache and FileBasedCache live in one process or instance: each FC instance has "
    "its own, empty after every cold start, so cached state is not shared.",
    fix='CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", '
    '"LOCATION": os.environ["REDIS_URL"]}}',
)
STATIC_ROOT = rule(
    "FC211",
    "static-root",
    "warning",
    why="Without STATIC_ROOT, collectstatic cannot gather static files into the package, and "
    "with DEBUG off Django serves none: the admin and pages lose their CSS.",
    fix='STATIC_ROOT = BASE_DIR / "staticfiles"   # then: python manage.py collectstatic',
)

_LOCAL_NAMES = frozenset({"localhost", "127.0.0.1", "[::1]", "::1", "0.0.0.0", "testserver"})
_FC_DOMAINS = ("fcapp.run", "fc.aliyuncs.com", "aliyuncs.com")
_LOCAL_CACHES = ("LocMemCache", "FileBasedCache", "DummyCache")


@dataclass(frozen=True)
class Place:
    """Where a path from the settings or a Flask app's config lives on FC.

    ``kind`` is ``code``, ``tmp``, ``mount`` or ``abs``.
    """

    kind: str
    display: str


def fc_place(project: Project, value: str) -> Place | None:
    """Where ``value`` (a path the imported project produced, on this machine) is on FC."""
    if not value or value == ":memory:" or value.startswith("file:"):
        return None
    code = project.code_path
    if value == "/code" or value.startswith("/code/"):
        return Place("code", value)
    path = Path(value) if os.path.isabs(value) else code / value
    try:
        rel = path.resolve().relative_to(code.resolve())
    except (OSError, ValueError):
        pass
    else:
        return Place("code", posixpath.join("/code", rel.as_posix()).rstrip("/."))
    text = path.as_posix()
    folder = project.writable_dir(text)
    if folder is None:
        return Place("abs", text)
    return Place("tmp" if folder == pysource.TMP else "mount", text)


def _is_local(host: str) -> bool:
    name = host.lower().lstrip(".")
    return name in _LOCAL_NAMES or name.startswith("127.") or name.endswith(".localhost")


def _is_fc_host(host: str) -> bool:
    return host == "*" or host.lower().rstrip(".").endswith(_FC_DOMAINS)


def _origin_host(origin: str) -> str:
    rest = origin.partition("://")[2] or origin
    return rest.split("/")[0].rsplit(":", 1)[0] if not rest.startswith("[") else rest


class Settings:
    """The imported values plus the settings source, for lines and literals."""

    def __init__(self, project: Project, values: dict[str, Any]) -> None:
        self.project = project
        self.values = values
        file = values.get("file")
        rel = project.rel(Path(file)) if isinstance(file, str) else None
        if rel is None or rel.startswith("/"):
            rel = project.django_settings_file
        self.file = rel
        self.files = self._source_files(rel)

    def _source_files(self, rel: str | None) -> list[str]:
        if rel is None:
            return []
        folder = rel.rpartition("/")[0]
        files = [rel]
        if rel.endswith("__init__.py") or folder.rsplit("/", 1)[-1] == "settings":
            prefix = f"{folder}/" if folder else ""
            files += [
                f
                for f in self.project.python_files
                if f.startswith(prefix) and "/" not in f[len(prefix) :] and f != rel
            ]
        return files

    def line(self, name: str) -> tuple[str | None, int | None]:
        for rel in self.files:
            tree = self.project.tree(rel)
            line = pysource.assignment_line(tree, name) if tree else None
            if line is not None:
                return rel, line
        return self.file, None

    def assignment(self, name: str) -> ast.expr | None:
        for rel in self.files:
            tree = self.project.tree(rel)
            if tree is not None:
                value = pysource.module_assignments(tree).get(name)
                if value is not None:
                    return value
        return None

    def string_literals(self) -> dict[str, tuple[str, int, bool]]:
        """sha256 of each string literal -> (file, line, assigned directly to SECRET_KEY)."""
        found: dict[str, tuple[str, int, bool]] = {}
        for rel in self.files:
            tree = self.project.tree(rel)
            if tree is None:
                continue
            direct: set[int] = set()
            for statement in tree.body:
                if isinstance(statement, ast.Assign) and pysource.string(statement.value):
                    targets = statement.targets
                    if any(isinstance(t, ast.Name) and t.id == "SECRET_KEY" for t in targets):
                        direct.add(id(statement.value))
            for node in ast.walk(tree):
                text = pysource.string(node) if isinstance(node, ast.expr) else None
                if text:
                    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
                    if digest not in found or id(node) in direct:
                        line = getattr(node, "lineno", 0)
                        found[digest] = (rel, line, id(node) in direct)
        return found


@check
def check_django(project: Project) -> Iterator[Finding]:
    name = project.django_settings
    if not name:
        return
    result = project.probe.django
    if result is None:
        return
    if "error" in result:
        missing = project.missing_dependency(result["error"])
        if missing is not None:
            project.import_note(f"The settings {name!r}", missing)
            return
        if import_failed_on_write(project, result):
            return
        if project.failed_on_deploy_time_values(
            f"The settings {name!r}", result
        ) or project.failed_in_this_environment(f"The settings {name!r}", result):
            return
        yield SETTINGS_IMPORT.finding(
            f"Importing the settings {name!r} failed: {result['error']}",
            file=result.get("file") or project.django_settings_file,
            line=result.get("line"),
            fix=f"python -c 'import {name}'   # must succeed with the function's "
            "environmentVariables set",
        )
        return
    settings = Settings(project, result["ok"])
    yield from _debug(settings)
    yield from _secret_key(project, settings)
    yield from _hosts(project, settings)
    yield from _storage(project, settings)
    yield from _sessions_and_caches(project, settings)
    yield from _static_and_websockets(project, settings)


def _debug(settings: Settings) -> Iterator[Finding]:
    if settings.values["debug"]:
        file, line = settings.line("DEBUG")
        yield DEBUG.finding(
            f"DEBUG is True when the settings are imported with {settings.project.config_name}'s "
            "environment.",
            file=file,
            line=line,
        )


def _secret_key(project: Project, settings: Settings) -> Iterator[Finding]:
    secret = settings.values["secret_key"]
    file, line = settings.line("SECRET_KEY")
    if not secret.get("set"):
        yield INSECURE_SECRET_KEY.finding(
            "SECRET_KEY is empty or not set: Django refuses to start (ImproperlyConfigured).",
            file=file,
            line=line,
            fix=_DJANGO_KEY_FIX,
        )
        return
    digest = secret["sha256"]
    from_env = project.env_digests.get(digest)
    if from_env is not None and from_env.deferred:
        return  # set at deploy time (${env(...)}): not knowable here
    literal = settings.string_literals().get(digest)
    if literal is not None and from_env is None:
        lit_file, lit_line, direct = literal
        if direct:
            yield INSECURE_SECRET_KEY.finding(
                f"SECRET_KEY is written in {lit_file}:{lit_line}, so everyone who can read the "
                "code has it.",
                file=lit_file,
                line=lit_line,
                fix=_DJANGO_KEY_FIX,
            )
        else:
            variable = _env_variable(settings.assignment("SECRET_KEY")) or "DJANGO_SECRET_KEY"
            yield SECRET_KEY_FALLBACK.finding(
                f"SECRET_KEY falls back to the key written at {lit_file}:{lit_line}: "
                f"{project.config_name} does not set {variable}.",
                file=lit_file,
                line=lit_line,
                fix=f"environmentVariables:\n  {variable}: ${{env('{variable}')}}",
            )
        return
    if from_env is None and made_at_random(project, settings.files):
        return  # one random key of many: FC212 reports it
    problem = None
    if secret.get("insecure_prefix"):
        problem = "starts with 'django-insecure-' (startproject's placeholder)"
    elif secret.get("length", 0) < 50 or secret.get("unique_chars", 0) < 5:
        problem = f"is only {secret.get('length')} characters long (Django wants at least 50)"
    if problem:
        where_file, where_line = (from_env.file, from_env.line) if from_env else (file, line)
        yield INSECURE_SECRET_KEY.finding(
            f"SECRET_KEY {problem}.", file=where_file, line=where_line, fix=_DJANGO_KEY_FIX
        )


def _env_variable(value: ast.expr | None) -> str | None:
    """``os.environ.get("X", ...)`` / ``env("X", ...)`` -> ``"X"``."""
    if isinstance(value, ast.Call) and value.args:
        return pysource.string(value.args[0])
    if isinstance(value, ast.Subscript):
        return pysource.string(value.slice)
    return None


def _hosts(project: Project, settings: Settings) -> Iterator[Finding]:
    trusted = project.trusts_fc_hosts
    trust_where = ""
    if trusted is not None:
        line = trusted.environment_lines.get("FCMIGRATE_TRUST_FC_HOSTS")
        trust_where = f"{trusted.file}:{line}" if line else trusted.file
    hosts = settings.values["allowed_hosts"]
    remote = [h for h in hosts if not _is_local(h)]
    file, line = settings.line("ALLOWED_HOSTS")
    shown = ", ".join(repr(h) for h in hosts) or "nothing"
    if not remote:
        if trusted is not None:
            project.notes.append(
                f"ALLOWED_HOSTS lists only {shown}; FCMIGRATE_TRUST_FC_HOSTS=1 ({trust_where}) "
                "adds FC's own hosts at start-up on FC, so requests through FC are accepted."
            )
        else:
            yield ALLOWED_HOSTS.finding(
                f"ALLOWED_HOSTS lists only {shown}, which no request through FC matches.",
                file=file,
                line=line,
            )
    elif trusted is None and not any(_is_fc_host(h) for h in remote):
        configs = [c for c in project.configs if any(f.triggers for f in c.functions)]
        if configs and not any(c.has_custom_domain for c in project.configs):
            yield ALLOWED_HOSTS.finding(
                f"ALLOWED_HOSTS lists {shown} but none of FC's hosts, and {configs[0].file} "
                "declares no custom domain: requests to the trigger URL get 400.",
                file=file,
                line=line,
                severity="warning",
            )
    if "django.middleware.csrf.CsrfViewMiddleware" not in settings.values["middleware"]:
        return
    origins = settings.values["csrf_trusted_origins"]
    https = [o for o in origins if o.startswith("https://") and not _is_local(_origin_host(o))]
    if https:
        return
    file, line = settings.line("CSRF_TRUSTED_ORIGINS")
    if line is None:
        file, line = settings.line("MIDDLEWARE")
    if trusted is not None:
        project.notes.append(
            f"CSRF_TRUSTED_ORIGINS has no https:// origin; FCMIGRATE_TRUST_FC_HOSTS=1 "
            f"({trust_where}) adds FC's own hosts at start-up on FC."
        )
        return
    shown = ", ".join(repr(o) for o in origins) or "nothing"
    yield CSRF_ORIGINS.finding(
        f"CSRF_TRUSTED_ORIGINS lists {shown}; form POSTs through FC's HTTPS URLs get 403.",
        file=file or settings.file,
        line=line,
    )


def sqlite_finding(
    place: Place, what: str, file: str | None, line: int | None, fix: str | None = None
) -> Finding | None:
    """FC206 or FC207 for the SQLite file that ``what`` names, at ``place`` on FC."""
    if place.kind in ("code", "abs"):
        where = "inside the code folder" if place.kind == "code" else "outside /tmp"
        return SQLITE_IN_CODE.finding(
            f"{what} is SQLite at {place.display}, {where}.", file=file, line=line, fix=fix
        )
    if place.kind == "tmp":
        return SQLITE_PER_INSTANCE.finding(
            f"{what} is SQLite at {place.display}, on one instance's /tmp.", file=file, line=line
        )
    return None


def _sqlite_places(project: Project, settings: Settings) -> dict[str, Place]:
    places = {}
    for alias, database in settings.values["databases"].items():
        if "sqlite3" in database["engine"]:
            place = fc_place(project, database["name"])
            if place is not None:
                places[alias] = place
    return places


def _uses_sessions(values: dict[str, Any]) -> bool:
    return "django.contrib.sessions" in values["installed_apps"] or any(
        m.endswith("SessionMiddleware") for m in values["middleware"]
    )


def _storage(project: Project, settings: Settings) -> Iterator[Finding]:
    file, line = settings.line("DATABASES")
    values = settings.values
    # Sessions kept in that database share its fate: one problem, one finding (not FC209 too).
    sessions = _uses_sessions(values) and values["session_engine"].endswith((".db", ".cached_db"))
    for alias, place in _sqlite_places(project, settings).items():
        what = f"DATABASES[{alias!r}]"
        if alias == "default" and sessions:
            what += " (which also keeps the sessions)"
        found = sqlite_finding(place, what, file, line)
        if found is not None:
            yield found
    media = settings.values["media_root"]
    if media and settings.values["storage"].endswith("FileSystemStorage"):
        media_place = fc_place(project, media)
        if media_place is not None and media_place.kind in ("code", "abs"):
            file, line = settings.line("MEDIA_ROOT")
            inside = media_place.kind == "code"
            where = "inside the read-only code folder" if inside else "outside /tmp"
            yield MEDIA_IN_CODE.finding(
                f"MEDIA_ROOT is {media_place.display}, {where}.",
                file=file,
                line=line,
            )


def _sessions_and_caches(project: Project, settings: Settings) -> Iterator[Finding]:
    values = settings.values
    caches: dict[str, dict[str, str]] = values["caches"]
    engine = values["session_engine"]
    reason = None
    # Sessions in a SQLite database are part of that database's finding (see _storage).
    if _uses_sessions(values):
        if engine.endswith(".file"):
            reason = f"in files under {values['session_file_path'] or 'the temp folder'}"
        elif engine.endswith(".cache"):
            alias = values["session_cache_alias"]
            backend = caches.get(alias, {}).get("backend", "")
            if backend.endswith(_LOCAL_CACHES):
                reason = f"in the {backend.rsplit('.', 1)[-1]} cache {alias!r}"
    if reason:
        file, line = settings.line("SESSION_ENGINE")
        yield LOCAL_SESSIONS.finding(
            f"Sessions ({engine.rsplit('.', 1)[-1]} engine) are stored {reason}.",
            file=file,
            line=line,
        )
    if values["caches_set"]:
        local = sorted(a for a, c in caches.items() if c["backend"].endswith(_LOCAL_CACHES[:2]))
        if local:
            file, line = settings.line("CACHES")
            names = ", ".join(f"{a!r} ({caches[a]['backend'].rsplit('.', 1)[-1]})" for a in local)
            yield LOCAL_CACHE.finding(
                f"CACHES {names} keep data per process or instance.", file=file, line=line
            )


def collected_statics(project: Project) -> str | None:
    """The folder of a migrate build where ``collectstatic`` put the files, served by the
    vendored WhiteNoise; ``None`` when the code folder is not such a build."""
    from fcmigrate.runtime.staticserve import COLLECTED_DIR

    code = project.code_path
    if not project.migrate_build or not (code / "python" / "whitenoise").is_dir():
        return None
    folder = code / COLLECTED_DIR
    if folder.is_dir() and any(folder.iterdir()):
        return COLLECTED_DIR
    return None


def serves_with_fcmigrate(project: Project) -> bool:
    """Whether the deploy config runs a start file that starts ``fcmigrate serve``."""
    if not project.config_runs_bootstrap:
        return False
    for command in project.start_commands:
        launch = project.launch(command)
        if command.file in project.bootstraps and launch and launch.kind == "fcmigrate":
            return True
    return False


def _static_and_websockets(project: Project, settings: Settings) -> Iterator[Finding]:
    values = settings.values
    apps = values["installed_apps"]
    if "django.contrib.staticfiles" in apps and values["static_root"] is None:
        collected = collected_statics(project)
        if collected is not None:
            pass  # a migrate build: collected there, served by WhiteNoise
        elif serves_with_fcmigrate(project):
            project.notes.append(
                "STATIC_ROOT is not set: 'fcmigrate migrate' collects the static files into "
                "the build (fcmigrate-static/), where the bootstrap's 'fcmigrate serve' serves "
                "them. Deploy that build, not this folder."
            )
        else:
            file, line = settings.line("STATIC_URL")
            yield STATIC_ROOT.finding(
                "STATIC_ROOT is not set, so collectstatic has nowhere to put static files.",
                file=file,
                line=line,
            )
    socket_apps = [a for a in apps if a.split(".")[0] in ("channels", "daphne")]
    # The project's code importing Channels is the same problem, reported by the source scan.
    if socket_apps and not any(websocket_use(rel, tree) for rel, tree in project.trees()):
        file, line = settings.line("INSTALLED_APPS")
        yield WEBSOCKET.finding(
            f"INSTALLED_APPS has {', '.join(repr(a) for a in socket_apps)} (Django Channels: "
            "WebSockets).",
            file=file,
            line=line,
        )
