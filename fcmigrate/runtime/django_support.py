"""Django (and a little Flask) on FC without settings edits. docs/django.md tells the whole
story; in short, :func:`prepare_app` runs once, after the app is imported and before
gunicorn forks, and:

* **hosts**: on FC and asked to (``FCMIGRATE_TRUST_FC_HOSTS=1``, set by the generated
  deploy configs), adds FC's own hosts (``<account>.<region>[-internal].fc.aliyuncs.com``,
  ``.fcapp.run``, ``FCMIGRATE_CUSTOM_DOMAINS``) to ``ALLOWED_HOSTS`` and as ``https://``
  origins to ``CSRF_TRUSTED_ORIGINS`` (FC routes only those hosts to the function), and
  ``fcmigrate local``'s own hosts under it; a Flask ``TRUSTED_HOSTS`` likewise. A refused
  ``Host`` is one log line with the fix;
* **logs and FC's file system**: a 500's traceback reaches stderr with ``DEBUG`` off; a
  SQLite database in the read-only code folder gets a per-instance copy in /tmp; an app
  with ``SECURE_SSL_REDIRECT`` does not loop when FC sends no ``X-Forwarded-Proto``;
* **static files**: serves the collected folder with WhiteNoise under ``STATIC_URL``,
  behind FC's prefix too (unless the project's own WhiteNoiseMiddleware does, the URL is a
  CDN's, or ``--no-static``);
* **their URLs**: ``STATIC_URL`` and ``MEDIA_URL`` are read once without a prefix, and the
  storages' ``url()`` puts the *current* request's script prefix in front of root-relative
  URLs, so ``{% static %}``, ``{{ STATIC_URL }}``, forms, the admin and ``FileField.url``
  follow each request (Django would cache the first request's). Tags that cache what they render
  (``{% compress %}``, ``{% cache %}``) get the prefix afterwards
  (:mod:`fcmigrate.runtime.django_tags`). ``FCMIGRATE_DJANGO_STATIC_PREFIX=0`` leaves the
  storages as Django made them.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from fcmigrate.errors import FCMigrateError
from fcmigrate.fc import FC_ENV, running_on_fc
from fcmigrate.fc import env_flag as _flag

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = [
    "csrf_origins",
    "custom_domains",
    "fc_hosts",
    "local_hosts",
    "prepare_app",
    "prepare_django",
    "running_on_fc",
]

logger = logging.getLogger("fcmigrate")

#: Either is set in every FC instance.
TRUST_ENV = "FCMIGRATE_TRUST_FC_HOSTS"
DOMAINS_ENV = "FCMIGRATE_CUSTOM_DOMAINS"
LOCAL_ENV = "FCMIGRATE_LOCAL_HOSTS"
STATIC_ENV = "FCMIGRATE_STATIC"
PREFIX_ENV = "FCMIGRATE_DJANGO_STATIC_PREFIX"
SQLITE_ENV = "FCMIGRATE_SQLITE_TMP"
#: What Django allows when ``DEBUG`` is on and ``ALLOWED_HOSTS`` is empty; kept when adding.
DJANGO_DEBUG_HOSTS = (".localhost", "127.0.0.1", "[::1]")

_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


# --- hosts -----------------------------------------------------------------------------------


def custom_domains(env: Mapping[str, str] | None = None) -> list[str]:
    """``FCMIGRATE_CUSTOM_DOMAINS`` as host patterns: ``*.example.com`` -> ``.example.com``.

    A scheme, port or path around a name is dropped (``https://example.com/`` ->
    ``example.com``). Anything else that is not a host name is an error.
    """
    env = os.environ if env is None else env
    hosts: list[str] = []
    for item in env.get(DOMAINS_ENV, "").split(","):
        text = item.strip().lower()
        if not text:
            continue
        host = urlsplit(text if "//" in text else f"//{text}").hostname or ""
        subdomains = host.startswith("*.")
        name = host[2:] if subdomains else host
        labels = name.split(".")
        if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
            raise FCMigrateError(
                f"{DOMAINS_ENV} holds {item.strip()!r}, which is not a host name. List the "
                f"custom domains bound to the function, e.g. {DOMAINS_ENV}="
                "'www.example.com,*.example.org'."
            )
        pattern = f".{name}" if subdomains else name
        if pattern not in hosts:
            hosts.append(pattern)
    return hosts


def fc_hosts(env: Mapping[str, str] | None = None) -> list[str]:
    """The hosts FC routes to this function, as Django host patterns (``.x`` = ``*.x``)."""
    env = os.environ if env is None else env
    hosts: list[str] = []
    account = env.get("FC_ACCOUNT_ID", "").strip().lower()
    region = env.get("FC_REGION", "").strip().lower()
    if _LABEL.fullmatch(account) and _LABEL.fullmatch(region):
        hosts.append(f"{account}.{region}.fc.aliyuncs.com")
        hosts.append(f"{account}.{region}-internal.fc.aliyuncs.com")
    hosts.append(".fcapp.run")
    hosts += [host for host in custom_domains(env) if host not in hosts]
    return hosts


def csrf_origins(hosts: Iterable[str]) -> list[str]:
    """``https://`` origins for host patterns, in ``CSRF_TRUSTED_ORIGINS`` syntax.

    Only HTTPS: a plain-HTTP page must not be able to post to the HTTPS site.
    """
    return [f"https://*{host}" if host.startswith(".") else f"https://{host}" for host in hosts]


def _merged(current: Iterable[str], extra: Iterable[str]) -> list[str]:
    merged = list(current)
    merged += [item for item in extra if item not in merged]
    return merged


def local_hosts(env: Mapping[str, str] | None = None) -> list[str]:
    """``FCMIGRATE_LOCAL_HOSTS``: the hosts of ``fcmigrate local``'s front door, which sets it.

    They stand in for FC's hosts on a laptop, where a browser names ``127.0.0.1:9000``.
    """
    env = os.environ if env is None else env
    return [h.strip().lower() for h in env.get(LOCAL_ENV, "").split(",") if h.strip()]


def _trust_hosts_django(settings: Any, hosts: list[str], local: Iterable[str] = ()) -> None:
    allowed = list(settings.ALLOWED_HOSTS)
    if "*" not in allowed:
        if not allowed and settings.DEBUG:
            # Django allows these itself only while the list is empty: keep them allowed.
            allowed = list(DJANGO_DEBUG_HOSTS)
        settings.ALLOWED_HOSTS = _merged(allowed, [*hosts, *local])
    # CsrfViewMiddleware reads this on the first request that needs it: before any.
    settings.CSRF_TRUSTED_ORIGINS = _merged(settings.CSRF_TRUSTED_ORIGINS, csrf_origins(hosts))


class _RefusedHostLine(logging.Filter):
    """Django's record of a refused ``Host`` (a traceback) turned into one line with the fix."""

    def __init__(self, advice: str) -> None:
        super().__init__()
        self.advice = advice

    def filter(self, record: logging.LogRecord) -> bool:
        meta = getattr(getattr(record, "request", None), "META", None) or {}
        host = str(meta.get("HTTP_HOST") or meta.get("SERVER_NAME") or "")
        shown = host if len(host) <= 100 else host[:100] + "..."
        logger.warning("Django refused the Host %r (400): %s", shown, self.advice)
        return False


def _explain_refused_hosts(*, trusting: bool, on_fc: bool) -> None:
    """Log one line per request Django refused for its ``Host``, naming it and how to allow
    it, in place of Django's traceback (printed only with ``DEBUG`` on). A project that
    configured that logger itself keeps its own configuration."""
    refused = logging.getLogger("django.security.DisallowedHost")
    if refused.handlers or any(isinstance(f, _RefusedHostLine) for f in refused.filters):
        return
    if trusting:
        advice = (
            f"FC's own hosts are allowed; add a custom domain bound to the function to "
            f"{DOMAINS_ENV} (e.g. {DOMAINS_ENV}=www.example.com), any other host to ALLOWED_HOSTS."
        )
    elif on_fc:
        advice = (
            f"set {TRUST_ENV}=1 to allow FC's own hosts (and {DOMAINS_ENV} for custom "
            "domains), or add it to ALLOWED_HOSTS."
        )
    else:
        advice = (
            f"add it to ALLOWED_HOSTS. FC's hosts ({TRUST_ENV}=1) are added only when "
            "running on FC or under 'fcmigrate local'."
        )
    refused.addFilter(_RefusedHostLine(advice))


def _log_server_errors(settings: Any) -> None:
    """Send ``django.request``'s errors (a 500's traceback) to stderr with the request ID:
    Django's default logging prints them only with ``DEBUG`` on. A project's own
    ``LOGGING`` is left alone."""
    if settings.DEBUG or getattr(settings, "LOGGING", None):
        return
    errors = logging.getLogger("django.request")
    if errors.handlers:
        return
    from fcmigrate.runtime.context import RequestIdFilter
    from fcmigrate.runtime.serve import LOG_FORMAT

    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.ERROR)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    errors.addHandler(handler)


#: Where a SQLite database from the read-only code folder is copied on FC.
SQLITE_COPIES = "fcmigrate-sqlite"


def _sqlite_to_tmp(settings: Any, env: Mapping[str, str]) -> None:
    """Give each SQLite database in FC's read-only code folder (startproject's
    ``BASE_DIR / "db.sqlite3"``) a copy in /tmp for the instance's life, from the shipped
    file if any, and say so. A database elsewhere, or in a writable folder, stays."""
    import shutil
    import tempfile

    code = Path(env.get("FC_FUNC_CODE_PATH") or os.getcwd()).resolve()
    for alias, database in getattr(settings, "DATABASES", {}).items():
        name = database.get("NAME") if isinstance(database, dict) else None
        if not str(database.get("ENGINE", "")).endswith("sqlite3") or not name:
            continue
        if not isinstance(name, (str, os.PathLike)) or str(name).startswith((":", "file:")):
            continue
        path = Path(os.fspath(name)).resolve()
        inside = path == code or code in path.parents
        if not (inside and running_on_fc(env)) and os.access(path.parent, os.W_OK):
            continue
        copies = Path(tempfile.gettempdir()) / SQLITE_COPIES
        copies.mkdir(parents=True, exist_ok=True)
        copy = copies / f"{alias}-{path.name}"
        if path.is_file() and not copy.exists():
            shutil.copyfile(path, copy)
            start = "a copy of the shipped file"
        else:
            start = "the copy already there" if copy.exists() else "an empty database"
        database["NAME"] = str(copy)
        from django.db import connections

        connections[alias].settings_dict["NAME"] = str(copy)
        logger.warning(
            "Django's database %r is the SQLite file %s in the read-only code folder: this "
            "instance uses %s at %s instead, lost when the instance stops (each instance has "
            "its own). Keep data that must last in a database server or on NAS.",
            alias,
            path,
            start,
            copy,
        )


def _https_when_unsaid(
    app: WSGIApplication, settings: Any, env: Mapping[str, str]
) -> WSGIApplication:
    """On FC, with ``SECURE_SSL_REDIRECT`` on, take a request that no header gives a scheme
    as HTTPS: whether FC sends ``X-Forwarded-Proto`` is not documented, and without it the
    redirect to ``https://`` would come back for ever."""
    if not getattr(settings, "SECURE_SSL_REDIRECT", False) or not running_on_fc(env):
        return app
    said = {"HTTP_X_FORWARDED_PROTO"}
    proxy_header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if isinstance(proxy_header, (tuple, list)) and proxy_header:
        said.add(str(proxy_header[0]))
    logger.info(
        "SECURE_SSL_REDIRECT is on: a request with no %s is taken as HTTPS, which FC's "
        "front door serves.",
        " or ".join(sorted(name.removeprefix("HTTP_").replace("_", "-").title() for name in said)),
    )

    def https_when_unsaid(environ: WSGIEnvironment, start_response: StartResponse) -> Any:
        if not any(name in environ for name in said):
            environ["wsgi.url_scheme"] = "https"
        return app(environ, start_response)

    return https_when_unsaid


def _is_flask(app: object) -> bool:
    # Only if the app's module imported Flask already: importing it here costs start-up time.
    cls = getattr(sys.modules.get("flask"), "Flask", None)
    return isinstance(cls, type) and isinstance(app, cls)


def _trust_hosts_flask(app: Any, hosts: list[str]) -> None:
    trusted = app.config.get("TRUSTED_HOSTS")
    # Unset means every host is accepted: nothing to add.
    if trusted:
        app.config["TRUSTED_HOSTS"] = _merged(trusted, hosts)
        logger.info("Trusting FC's hosts in TRUSTED_HOSTS: %s", ", ".join(hosts))


# --- static files ----------------------------------------------------------------------------


def _prefixed(url: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a storage's bound ``url()`` to add the current request's script prefix."""
    from django.urls import get_script_prefix

    @functools.wraps(url)
    def prefixed_url(*args: Any, **kwargs: Any) -> Any:
        result = url(*args, **kwargs)
        if isinstance(result, str) and result.startswith("/") and not result.startswith("//"):
            prefix = get_script_prefix().rstrip("/")
            if prefix and not (result == prefix or result.startswith(prefix + "/")):
                return prefix + result
        return result

    prefixed_url._fcmigrate_prefixed = True  # type: ignore[attr-defined]
    return prefixed_url


def _prefix_static_tag() -> None:
    """Put ``{% static %}`` and ``static()`` through :func:`_prefixed` too, whichever storage
    answers them: one swapped in after start-up has a ``url()`` of its own, unprefixed
    (django-debug-toolbar's static-files panel makes a new storage for each request it
    shows the toolbar on). A URL the storage prefixed already is left as it is."""
    from django.templatetags.static import StaticNode

    handle = StaticNode.__dict__.get("handle_simple")
    function = getattr(handle, "__func__", None)
    if function is None or getattr(function, "_fcmigrate_prefixed", False):
        return
    StaticNode.handle_simple = classmethod(_prefixed(function))


def _prefix_context_urls() -> None:
    """``{{ STATIC_URL }}`` and ``{{ MEDIA_URL }}`` through :func:`_prefixed` too."""
    from django.template import context_processors as made

    for name, key in (("static", "STATIC_URL"), ("media", "MEDIA_URL")):
        old = getattr(made, name)
        if not getattr(old, "_fcmigrate_prefixed", False):
            url = _prefixed(lambda request, o=old, k=key: o(request)[k])
            setattr(made, name, lambda request, u=url, k=key: {k: u(request)})
            getattr(made, name)._fcmigrate_prefixed = True


def _instance(lazy: Any) -> Any:
    """The storage behind Django's lazy ``default_storage`` / ``staticfiles_storage``."""
    from django.utils.functional import empty

    if lazy._wrapped is empty:
        lazy._setup()
    return lazy._wrapped


def _reset_static_storage() -> None:
    """Forget a static-files storage made before ``STATIC_ROOT`` was changed."""
    from django.contrib.staticfiles.storage import staticfiles_storage
    from django.utils.functional import empty

    if staticfiles_storage._wrapped is empty:
        return
    try:
        from django.core.files.storage import storages
    except ImportError:  # Django < 4.2 keeps no cache beside the lazy object
        pass
    else:
        storages._storages.pop("staticfiles", None)
    staticfiles_storage._wrapped = empty


def _setup_storages(settings: Any, prefix_urls: bool) -> Any | None:
    """Read STATIC_URL and MEDIA_URL and make the storages, all without a script prefix.

    Cached unprefixed now, they no longer depend on which request comes first. With
    ``prefix_urls`` the storages' ``url()`` then adds the current request's prefix.
    Returns the static-files storage, or ``None`` without ``django.contrib.staticfiles``.
    """
    from django.core.files.storage import default_storage
    from django.urls import clear_script_prefix, get_script_prefix, set_script_prefix

    current = get_script_prefix()
    set_script_prefix("/")
    try:
        _ = settings.STATIC_URL, settings.MEDIA_URL
        storages_setting = getattr(settings, "STORAGES", None)
        # A STORAGES without "default" is a project that stores no files: nothing to set up.
        has_default = not isinstance(storages_setting, dict) or "default" in storages_setting
        lazies = [default_storage] if has_default else []
        if "django.contrib.staticfiles" in settings.INSTALLED_APPS:
            from django.contrib.staticfiles.storage import staticfiles_storage

            lazies.append(staticfiles_storage)
        storages = []
        for lazy in lazies:
            try:
                storages.append(_instance(lazy))
            except Exception:
                # A storage that cannot be made here (credentials only present on FC) fails
                # again on first use, as it would have without fcmigrate; start anyway.
                logger.warning("Could not set up a file storage at start-up", exc_info=True)
                storages.append(None)
    finally:
        if current == "/":
            clear_script_prefix()
        else:
            set_script_prefix(current)
    if prefix_urls:
        _prefix_static_tag()
        _prefix_context_urls()
        for storage in storages:
            url = getattr(storage, "url", None) if storage is not None else None
            if url is not None and not getattr(url, "_fcmigrate_prefixed", False):
                # On the instance, not the class: a subclass calling super().url() is
                # not prefixed twice, and other instances keep the class's url().
                storage.url = _prefixed(url)
    if "django.contrib.staticfiles" not in settings.INSTALLED_APPS:
        return None
    return storages[-1]


def _hashed_names(storage: Any) -> set[str]:
    """Collected names that carry a content hash, from a manifest storage's own map."""
    hashed = getattr(storage, "hashed_files", None)
    if isinstance(hashed, dict):
        return {str(name) for name in hashed.values()}
    return set()


def _static_root(settings: Any) -> Path | None:
    """The collected folder to serve, made ``STATIC_ROOT``; ``None`` to serve nothing."""
    from fcmigrate.runtime.staticserve import find_static_root

    configured = settings.STATIC_ROOT
    if _has_whitenoise_middleware(settings) and configured and os.path.isdir(configured):
        logger.info("Static files: WhiteNoiseMiddleware in MIDDLEWARE serves them.")
        return None
    if urlsplit(settings.STATIC_URL or "").netloc:
        logger.info("Static files: STATIC_URL is %r, not served here.", settings.STATIC_URL)
        return None
    root = find_static_root(configured)
    if root is None:
        logger.info(
            "Static files: none collected (STATIC_ROOT is %r), so none are served. Build "
            "with 'fcmigrate migrate', or run 'python manage.py collectstatic --noinput'.",
            None if configured is None else str(configured),
        )
        return None
    if _holds_settings(root, settings):
        logger.warning(
            "Static files: not serving %s: it holds the project's code. Set STATIC_ROOT "
            "to a folder of its own, e.g. STATIC_ROOT = BASE_DIR / 'staticfiles'.",
            root,
        )
        return None
    try:
        import whitenoise  # noqa: F401
    except ImportError:
        # Only where fcmigrate was copied without its dependencies.
        logger.warning(
            "Static files: WhiteNoise (a dependency of fcmigrate) is not installed, so %s "
            "is not served. Install fcmigrate with its dependencies, or add 'whitenoise' "
            "to requirements.txt.",
            root,
        )
        return None
    if not configured or Path(configured).resolve() != root:
        # ManifestStaticFilesStorage reads its manifest from STATIC_ROOT.
        settings.STATIC_ROOT = str(root)
        _reset_static_storage()
    return root


def _point_compressor_at(settings: Any, root: Path) -> None:
    """Read django-compressor's files from ``root`` when the build put them there: the
    offline manifest, or (online compression) the blocks' files written ahead of their first
    request, which it then finds instead of writing them into the read-only code folder."""
    if "compressor" not in settings.INSTALLED_APPS:
        return
    output = getattr(settings, "COMPRESS_OUTPUT_DIR", "CACHE")
    parts: tuple[str, ...]
    if getattr(settings, "COMPRESS_OFFLINE", False):
        parts = (output, settings.COMPRESS_OFFLINE_MANIFEST)
    elif getattr(settings, "COMPRESS_ENABLED", False):
        parts = (output,)
    else:
        return
    configured = getattr(settings, "COMPRESS_ROOT", None)
    if configured and Path(configured, *parts).exists():
        return
    if root.joinpath(*parts).exists():
        settings.COMPRESS_ROOT = str(root)


def _compressor_output(settings: Any) -> list[str]:
    """django-compressor's output folder, whose file names carry a content hash."""
    if "compressor" not in settings.INSTALLED_APPS:
        return []
    return [str(getattr(settings, "COMPRESS_OUTPUT_DIR", "CACHE"))]


def _has_whitenoise_middleware(settings: Any) -> bool:
    return any(str(name).startswith("whitenoise.") for name in settings.MIDDLEWARE)


def _holds_settings(root: Path, settings: Any) -> bool:
    module = sys.modules.get(str(settings.SETTINGS_MODULE))
    file = getattr(module, "__file__", None)
    return bool(file) and Path(str(file)).resolve().is_relative_to(root)


# --- entry points ----------------------------------------------------------------------------


def _django_settings() -> Any | None:
    conf = sys.modules.get("django.conf")
    settings = getattr(conf, "settings", None)
    return settings if settings is not None and settings.configured else None


def prepare_django(
    app: WSGIApplication,
    *,
    trust_fc_hosts: bool,
    static: bool,
    env: Mapping[str, str],
) -> WSGIApplication:
    """The Django part of :func:`prepare_app`; ``app`` unchanged if Django is not in use."""
    settings = _django_settings()
    if settings is None:
        return app
    trusting = trust_fc_hosts and running_on_fc(env)
    if trusting:
        hosts = fc_hosts(env)
        _trust_hosts_django(settings, hosts, local_hosts(env))
        logger.info("Trusting FC's hosts: %s", ", ".join(hosts))
    _explain_refused_hosts(trusting=trusting, on_fc=running_on_fc(env))
    _log_server_errors(settings)
    if _flag(env, SQLITE_ENV, True):
        _sqlite_to_tmp(settings, env)
    # STATIC_ROOT must be final before the storages are made: the manifest is read then.
    root = _static_root(settings) if static else None
    if root is not None:
        _point_compressor_at(settings, root)
    prefix_urls = _flag(env, PREFIX_ENV, True)
    static_storage = _setup_storages(settings, prefix_urls)
    if prefix_urls:
        from fcmigrate.runtime.django_tags import render_unprefixed

        render_unprefixed(settings.INSTALLED_APPS, env)
    app = _https_when_unsaid(app, settings, env)
    if root is not None:
        from fcmigrate.runtime.staticserve import DEFAULT_MAX_AGE, static_app

        prefix = urlsplit(settings.STATIC_URL or "").path
        max_age = getattr(settings, "WHITENOISE_MAX_AGE", DEFAULT_MAX_AGE)
        logger.info("Static files: serving %s at %s", root, prefix)
        app = static_app(
            app,
            root,
            prefix,
            hashed=_hashed_names(static_storage),
            hashed_under=_compressor_output(settings),
            max_age=max_age,
        )
    return app


def prepare_app(
    app: WSGIApplication,
    *,
    trust_fc_hosts: bool | None = None,
    static: bool | None = None,
    env: Mapping[str, str] | None = None,
) -> WSGIApplication:
    """Make an imported app fit FC; return it, possibly behind WhiteNoise.

    Call once, after the app is imported and before it serves. Wrap the result in
    :class:`~fcmigrate.FCMiddleware`. ``trust_fc_hosts`` defaults to
    ``FCMIGRATE_TRUST_FC_HOSTS``, ``static`` to ``FCMIGRATE_STATIC`` (on).
    """
    env = os.environ if env is None else env
    if trust_fc_hosts is None:
        trust_fc_hosts = _flag(env, TRUST_ENV, False)
    if static is None:
        static = _flag(env, STATIC_ENV, True)
    if trust_fc_hosts and not running_on_fc(env):
        logger.info(
            "Not trusting FC's hosts: not running on FC (neither %s is set), where any "
            "host name can reach this server.",
            " nor ".join(FC_ENV),
        )
    if _is_flask(app):
        if trust_fc_hosts and running_on_fc(env):
            _trust_hosts_flask(app, fc_hosts(env))
        return app
    return prepare_django(app, trust_fc_hosts=trust_fc_hosts, static=static, env=env)
