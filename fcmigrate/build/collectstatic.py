"""Django's static files on FC: collected into the build, served by WhiteNoise.

With ``DEBUG = False`` Django serves no static files, so the admin loses its CSS. fcmigrate
fixes that without touching the settings file, in two steps.

**At build time** :func:`collect_static` runs ``collectstatic`` with the project's own
settings, in a subprocess, inside the build (the copy of the project that is deployed):

* ``STATIC_ROOT`` set to a folder inside the build (``BASE_DIR / "staticfiles"``, the usual
  case): the files are collected there, exactly as the settings say.
* ``STATIC_ROOT`` unset, or outside the build (``/var/www/static``): the files go to
  ``fcmigrate-static/`` at the top of the build instead (:data:`COLLECTED_DIR`). The setting
  is overridden for that one ``collectstatic`` run only; the settings file is not edited.

With django-statici18n in ``INSTALLED_APPS``, its ``compilejsi18n`` writes the JavaScript
catalogs first, into a folder ``collectstatic`` then collects from (they are static files
the templates link, made by a release step of the app's).

A manifest the project ships (``staticfiles.json`` in a checked-in ``STATIC_ROOT``) is never
shrunk: its entries whose files are there and that ``collectstatic`` did not write back are
merged in again, the project's winning. With django-compressor in ``INSTALLED_APPS``,
``COMPRESS_OFFLINE`` and ``COMPRESS_ENABLED`` on, ``compress`` runs next (into the same
folder when ``COMPRESS_ROOT`` points outside the build); with ``COMPRESS_ENABLED`` on alone
(online compression), ``compress --force`` writes the blocks' files ahead of their first
request, so that the function finds them instead of writing into its read-only code folder
(once for each of the project's ``LANGUAGES``, as the i18n context processor gives each
request its ``LANGUAGE_CODE``, unless the project sets ``COMPRESS_OFFLINE_CONTEXT``).
Then WhiteNoise's compressor adds ``.gz`` (and ``.br`` with ``brotli`` installed) files,
unless the storage made them already.

**At serve time** (:mod:`fcmigrate.runtime.django_support`, with
:mod:`fcmigrate.runtime.staticserve`, which is all of this a build carries) the folder is
found again, first match wins: ``FCMIGRATE_STATIC_ROOT`` (:data:`STATIC_ROOT_ENV`),
``fcmigrate-static/`` in the current folder (the bootstrap runs from the build), then
``STATIC_ROOT``. :func:`static_app` puts
WhiteNoise in front of the app, *inside* :class:`~fcmigrate.FCMiddleware`: it sees the path
without FC's prefix, so ``/static/...`` and ``/2016-08-15/proxy/<svc>/<fn>/static/...`` are the
same file. Hash-named files (``ManifestStaticFilesStorage``) are cached for ten years
(``immutable``), the others for 60 s; a compressed variant is sent with ``Content-Encoding``
to clients that accept it.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from fcmigrate.errors import FCMigrateError
from fcmigrate.runtime.staticserve import COLLECTED_DIR, STATIC_ROOT_ENV
from fcmigrate.runtime.staticserve import DEFAULT_MAX_AGE as DEFAULT_MAX_AGE
from fcmigrate.runtime.staticserve import find_static_root as find_static_root
from fcmigrate.runtime.staticserve import static_app as static_app

__all__ = [
    "COLLECTED_DIR",
    "STATIC_ROOT_ENV",
    "collect_static",
    "compress_files",
    "find_static_root",
    "static_app",
    "vendor_whitenoise",
]


Progress = Callable[[str], None]

COLLECT_TIMEOUT = 300.0
# Run with ``python -c`` (:mod:`fcmigrate.build.child`'s protocol, spoken by hand): it needs
# nothing but Django and the project, so the target interpreter of a build does not have to
# be able to import fcmigrate. The answer is rewritten before each step, so a failure leaves
# the name of the step that failed.
_DRIVER = r"""
import json, os, sys
with open(sys.argv[1], encoding="utf-8") as file:
    request = json.load(file)
build, settings_module = request["build"], request["settings_module"]
fallback, result_file = request["fallback"], sys.argv[2]
sys.path[:0] = request["paths"]
os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
try:  # the build's runtime answers names old releases ask of a newer Python, as on FC
    from fcmigrate.runtime.compat import install
except ImportError:
    pass
else:
    install()
result = {}


def step(name):
    result["step"] = name
    with open(result_file, "w", encoding="utf-8") as out:
        json.dump(result, out)


def inside(path):
    return os.path.realpath(str(path)).startswith(build + os.sep)


step("settings")
import django
from django.conf import settings
if "django.contrib.staticfiles" not in settings.INSTALLED_APPS:
    result["skipped"] = "django.contrib.staticfiles is not in INSTALLED_APPS"
else:
    configured = settings.STATIC_ROOT
    build = os.path.realpath(build)
    root = os.path.realpath(str(configured)) if configured else None
    if root is None or not inside(root):
        result["configured"] = None if configured is None else str(configured)
        root = os.path.join(build, fallback)
        settings.STATIC_ROOT = root
    result["root"] = root
    django.setup()
    from django.core.management import call_command
    from django.contrib.staticfiles.storage import staticfiles_storage
    # A manifest the project ships (a checked-in STATIC_ROOT) may name files that its
    # STATICFILES_DIRS no longer produce; collectstatic would write it anew without them.
    shipped = {}
    if hasattr(staticfiles_storage, "read_manifest"):
        try:
            shipped = json.loads(staticfiles_storage.read_manifest() or "{}").get("paths", {})
        except (ValueError, AttributeError):
            shipped = {}
    if "statici18n" in settings.INSTALLED_APPS:
        # django-statici18n's JavaScript catalogs (its compilejsi18n release step) are static
        # files that templates link and compressor reads; written where collectstatic finds
        # them first, they are collected (and hashed) with the rest.
        import atexit, shutil, tempfile
        from statici18n.conf import settings as i18n_settings
        step("compilejsi18n")
        catalogs = tempfile.mkdtemp(prefix="fcmigrate-jsi18n-")
        atexit.register(shutil.rmtree, catalogs, True)
        output = os.path.join(catalogs, i18n_settings.STATICI18N_OUTPUT_DIR)
        call_command("compilejsi18n", outputdir=output, verbosity=0)
        settings.STATICFILES_DIRS = [catalogs, *settings.STATICFILES_DIRS]
        result["jsi18n"] = True
    step("collectstatic")
    result["summary"] = call_command("collectstatic", interactive=False, verbosity=1)
    if shipped:
        collected = dict(staticfiles_storage.hashed_files)
        kept = {
            name: hashed
            for name, hashed in shipped.items()
            if collected.get(name) != hashed and staticfiles_storage.exists(hashed)
        }
        if kept:
            step("manifest")
            staticfiles_storage.hashed_files = {**collected, **kept}
            staticfiles_storage.save_manifest()
            result["kept"] = len(kept)
    if "compressor" in settings.INSTALLED_APPS:
        from compressor.conf import settings as compressor_settings
        if compressor_settings.COMPRESS_ENABLED:
            if not inside(compressor_settings.COMPRESS_ROOT):
                result["compress_root"] = str(compressor_settings.COMPRESS_ROOT)
                settings.COMPRESS_ROOT = root
        if compressor_settings.COMPRESS_ENABLED and compressor_settings.COMPRESS_OFFLINE:
            step("compress")
            call_command("compress", verbosity=1)
            result["compressed"] = True
        elif compressor_settings.COMPRESS_ENABLED:
            # Online compression writes each block's file on its first request, into a code
            # folder FC mounts read-only. Written now, the file is found there and not written
            # again; a block that cannot be rendered here is left to its first request.
            languages = [code for code, _ in settings.LANGUAGES]
            if (
                settings.USE_I18N
                and settings.is_overridden("LANGUAGES")
                and not settings.is_overridden("COMPRESS_OFFLINE_CONTEXT")
            ):
                # A block may name the request's language ({% statici18n LANGUAGE_CODE %}),
                # which the i18n context processor gives each request: one file a language.
                base = dict(compressor_settings.COMPRESS_OFFLINE_CONTEXT)
                settings.COMPRESS_OFFLINE_CONTEXT = [
                    {
                        **base,
                        "LANGUAGES": settings.LANGUAGES,
                        "LANGUAGE_CODE": code,
                        "LANGUAGE_BIDI": code.split("-")[0] in settings.LANGUAGES_BIDI,
                    }
                    for code in languages
                ]
            step("compress-ahead")
            try:
                call_command("compress", force=True, verbosity=1)
                result["compressed_ahead"] = True
            except Exception as exc:
                result["compress_ahead_failed"] = f"{type(exc).__name__}: {exc}"[:300]
if request.get("databases"):
    step("databases")
    django.setup()
    from django.core.management import call_command
    from django.apps import apps
    from django.db.migrations.loader import MigrationLoader
    # An app of the project's with models and no migrations gets no tables from migrate
    # (a custom user model whose migrations were never committed).
    unmigrated = MigrationLoader(None, ignore_no_migrations=True).unmigrated_apps
    result["unmigrated"] = sorted(
        label
        for label in unmigrated
        if any(
            model._meta.managed and not model._meta.proxy
            for model in apps.get_app_config(label).get_models()
        )
    )
    here = os.path.realpath(request["build"])
    result["databases"] = []
    for alias, database in settings.DATABASES.items():
        name = database.get("NAME")
        if not str(database.get("ENGINE", "")).endswith("sqlite3") or not name:
            continue
        path = os.path.realpath(os.fspath(name))
        if str(name).startswith((":", "file:")) or not path.startswith(here + os.sep):
            continue
        if os.path.exists(path):
            continue
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            call_command("migrate", database=alias, interactive=False, verbosity=0)
        except Exception as exc:
            result["database_error"] = f"{type(exc).__name__}: {exc}"[:500]
            if os.path.exists(path):
                os.remove(path)
            break
        result["databases"].append(path)
step("done")
"""


def collect_static(
    project_root: Path,
    build_dir: Path,
    settings_module: str,
    python: str = sys.executable,
    *,
    pythonpath: Sequence[Path] = (),
    isolated: bool = False,
    compress: bool = True,
    progress: Progress | None = None,
    timeout: float = COLLECT_TIMEOUT,
    env_extra: Mapping[str, str] | None = None,
    databases: bool = False,
    notes: list[str] | None = None,
) -> Path | None:
    """Run ``collectstatic`` for ``settings_module`` inside ``build_dir``; return the folder.

    With ``databases``, a SQLite database the settings keep inside the build that does not
    exist yet is made there with ``migrate``: on FC each instance starts from a copy of it
    in /tmp (:mod:`fcmigrate.runtime.django_support`), with the tables the app needs.
    An app with models but no migrations (no tables from ``migrate``) is named in
    ``notes``.

    ``build_dir`` is the copy of ``project_root`` that is deployed: settings that compute
    ``STATIC_ROOT`` from ``__file__`` then point into the build, and the project itself is
    only read. ``python`` must be able to import Django and the project with ``pythonpath``,
    ``build_dir/python`` (vendored packages) and ``build_dir`` on ``sys.path``; ``isolated``
    starts it without site-packages, as a bare interpreter on FC would run. Returns ``None``
    when the project does not use ``django.contrib.staticfiles``. Raises
    :class:`FCMigrateError` when ``collectstatic`` fails; its output goes to ``progress``.
    """
    # Build-time only: the serve path imports this module and needs none of these.
    from fcmigrate.build.child import run_child
    from fcmigrate.build.readonly import tree_state
    from fcmigrate.runtime.loader import src_folder

    say: Progress = progress or (lambda line: None)
    build = Path(build_dir).resolve()
    paths = [str(Path(p)) for p in pythonpath]
    if (build / "python").is_dir():
        paths.append(str(build / "python"))
    paths.append(str(build))
    # A src layout imports its settings from src/, as the loader does at run time.
    src = src_folder(build, settings_module.partition(".")[0])
    if src is not None:
        paths.append(src)
    env = dict(os.environ, **(env_extra or {}))
    env.pop(STATIC_ROOT_ENV, None)
    before = tree_state(build)
    reply = run_child(
        ["-c", _DRIVER],
        {
            "build": str(build),
            "settings_module": settings_module,
            "fallback": COLLECTED_DIR,
            "paths": paths,
            "databases": databases,
        },
        cwd=build,
        env=env,
        timeout=timeout,
        doing=f"collectstatic for {settings_module!r}",
        purpose="for collectstatic",
        slow_advice="Move slow work (database connections, downloads) out of the settings module.",
        python=python,
        isolated=isolated,
    )
    for line in (reply.stdout + reply.stderr).splitlines():
        if line.strip():
            say(line)
    result = reply.answer
    kept = [Path(result["root"])] if "root" in result else []
    created = [Path(p) for p in result.get("databases", [])]
    removed = remove_new_files(build, before, [*kept, *created])
    if removed:
        shown = ", ".join(removed[:5]) + (" ..." if len(removed) > 5 else "")
        say(f"Left out what the settings wrote at build time, outside the static files: {shown}")
    failed = result.get("step", "settings")
    if reply.returncode != 0 or failed != "done":
        command = failed if failed in ("compress", "compilejsi18n") else "collectstatic --noinput"
        npm = _NODE_MODULES.search(_last_line(reply.stderr))
        if npm is not None and failed == "collectstatic":
            missing = os.path.realpath(npm.group(1))
            where = (
                ""
                if missing.startswith(os.path.realpath(build) + os.sep)
                else " It is outside the build: a relative path in the settings is taken "
                "from the top of the project, where the build and the function run."
            )
            raise FCMigrateError(
                f"collectstatic failed for {settings_module!r} in {str(project_root)!r}: a "
                f"static files finder reads npm packages from {npm.group(1)!r}, which does "
                "not exist. They come from 'npm install' (package.json), a build step "
                "fcmigrate does not run: install them so that this folder exists (or commit "
                f"the files the pages use), and run again.{where}"
            )
        raise FCMigrateError(
            f"{command.split()[0]} failed for {settings_module!r} in {str(project_root)!r}: "
            f"{_last_line(reply.stderr) or f'exit status {reply.returncode}'}. Fix the "
            f"settings so that 'python manage.py {command}' works there "
            "(environment variables it needs can be given with the same names here)."
        )
    for path in created:
        say(
            f"Created the SQLite database {path.relative_to(build).as_posix()} in the build "
            "(manage.py migrate): on FC each instance starts from a copy of it in /tmp."
        )
    for label in result.get("unmigrated", []):
        line = (
            f"The app {label!r} has models but no migrations, so 'manage.py migrate' makes no "
            f"tables for them and the pages that use them fail. Run 'python manage.py "
            f"makemigrations {label}' and commit the migrations folder it writes."
        )
        say(line)
        if notes is not None:
            notes.append(line)
    if "database_error" in result:
        say(
            "No SQLite database made in the build: manage.py migrate failed "
            f"({result['database_error']}); on FC the app starts with an empty one in /tmp."
        )
    if "root" not in result:
        say(f"Static files not collected: {result.get('skipped', 'nothing to collect')}.")
        return None
    root = Path(result["root"])
    if "configured" in result:
        where = result["configured"]
        reason = "is unset" if where is None else f"is {where!r}, outside the build"
        say(f"STATIC_ROOT {reason}: collected into {COLLECTED_DIR}/ instead.")
    if "kept" in result:
        say(
            f"Kept {result['kept']} entries of the project's own staticfiles manifest that "
            "collectstatic did not produce."
        )
    if "compress_root" in result:
        say(
            f"COMPRESS_ROOT is {result['compress_root']!r}, outside the build: compressed "
            f"into {root} instead."
        )
    if result.get("jsi18n"):
        say("Wrote django-statici18n's JavaScript catalogs (manage.py compilejsi18n).")
    if result.get("compressed"):
        say("Compressed the {% compress %} blocks offline (manage.py compress).")
    if result.get("compressed_ahead"):
        say(
            "Compressed the {% compress %} blocks ahead of their first request (manage.py "
            "compress --force): online compression finds their files in the build."
        )
    if "compress_ahead_failed" in result:
        say(
            "Could not compress the {% compress %} blocks ahead of their first request "
            f"({result['compress_ahead_failed']}): online compression will try to write them "
            "into the code folder, which is read-only on FC. Set COMPRESS_OFFLINE = True."
        )
    if compress:
        compressed = compress_files(root)
        if compressed:
            say(f"Compressed {compressed} static files (gzip).")
    return root


def remove_new_files(
    build: Path, before: Mapping[str, tuple[int, int, int]], keep: Sequence[Path]
) -> list[str]:
    """Remove what appeared in ``build`` since ``before`` (a :func:`tree_state`), but what
    is in ``keep``: a log file or a ``.secret_key`` the settings made while collectstatic
    ran is not the app's code, and must not ship. Returns the paths removed, relative."""
    from fcmigrate.build.readonly import tree_state

    removed: list[str] = []
    for rel in sorted(set(tree_state(build)) - set(before), reverse=True):  # files first
        path = build / rel
        if any(path == k or path.is_relative_to(k) for k in keep):
            continue
        if any(k.is_relative_to(path) for k in keep):
            continue  # a folder that holds the static files
        try:
            if path.is_dir() and not path.is_symlink():
                path.rmdir()
            else:
                path.unlink()
        except OSError:
            continue
        removed.append(rel)
    return sorted(removed)


#: A finder that collects from npm's folder (django-npm's NPM_ROOT_PATH) before npm ran.
_NODE_MODULES = re.compile(r"FileNotFoundError: .*?'([^']*node_modules[^']*)'")


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def compress_files(root: Path) -> int:
    """Add ``.gz`` (and ``.br``) files beside those in ``root``; return how many were written.

    Files that already have a compressed variant (``CompressedManifestStaticFilesStorage``
    made one) are left alone.
    """
    from whitenoise.compress import Compressor

    compressor = Compressor(quiet=True)
    written = 0
    for dirpath, _dirs, files in os.walk(root):
        present = set(files)
        for name in files:
            if f"{name}.gz" in present or f"{name}.br" in present:
                continue
            if compressor.should_compress(name):
                written += len(compressor.compress(os.path.join(dirpath, name)))
    return written


def vendor_whitenoise(target: Path, python_version: str) -> bool:
    """Make sure WhiteNoise is in ``target`` (a build's ``python/``); ``False`` if it cannot be.

    Kept when the app's requirements installed it; otherwise copied, with its metadata and
    licence, from the installation running fcmigrate (one of its dependencies), as fcmigrate
    itself is: it is pure Python, so the copy runs on the target Python too, and the build
    serves with the version fcmigrate was tested with.
    """
    import shutil
    from importlib import metadata

    if (target / "whitenoise" / "__init__.py").is_file():
        return True
    try:
        dist = metadata.distribution("whitenoise")
    except metadata.PackageNotFoundError:
        return False
    requires = (dist.metadata.get_all("Requires-Python") or [""])[0]
    needs = re.fullmatch(r"\s*>=\s*3\.(\d+)\s*", requires)
    if needs and int(python_version.split(".")[1]) < int(needs.group(1)):
        return False
    for file in dist.files or []:
        top = file.parts[0]
        if not (top == "whitenoise" or top.endswith(".dist-info")):
            continue
        if "__pycache__" in file.parts or file.suffix == ".pyc":
            continue
        dest = target / Path(*file.parts)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(str(dist.locate_file(file))), dest)
    return (target / "whitenoise" / "__init__.py").is_file()


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m fcmigrate.statics BUILD_DIR SETTINGS_MODULE``: collect inside an image.

    For a Dockerfile: ``RUN python -m fcmigrate.statics /app mysite.settings`` after the
    project is copied in and its requirements are installed.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print(
            "Usage: python -m fcmigrate.statics BUILD_DIR SETTINGS_MODULE, "
            "e.g. python -m fcmigrate.statics /app mysite.settings",
            file=sys.stderr,
        )
        return 2
    build = Path(args[0])
    try:
        root = collect_static(build, build, args[1], progress=print)
    except FCMigrateError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(f"Static files: {root}" if root else "Static files: none to collect")
    return 0


if __name__ == "__main__":
    sys.exit(main())
