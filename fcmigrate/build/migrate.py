"""``fcmigrate migrate``: a project folder in, a folder and ``code.zip`` FC runs as is, out.

:func:`migrate` plans, then runs one function per step in a staging folder:

0. :func:`_plan`: detect the app, requirements and Python version
   (:mod:`fcmigrate.build.detect`, no import), choose the runtime, check the output paths
   and render the generated files, all before anything is written;
1. :func:`_stage`: copy the project into a staging folder beside the destination
   (:mod:`fcmigrate.build.package`);
2. :func:`_vendor`: vendor the requirements, gunicorn and fcmigrate into ``python/`` with
   uv, resolved for the target Python and the runtime's glibc (:mod:`fcmigrate.build.vendor`);
3. :func:`_write_generated`: write the ``bootstrap`` and deploy config
   (:func:`fcmigrate.build.wrap.generate`);
4. :func:`_check_import`: import the app with an interpreter of the target version that
   sees only the standard library and ``python/``: what FC will do, so a missing
   requirement shows up now (:mod:`fcmigrate.build.importcheck`);
5. :func:`_collect_statics`: Django's ``collectstatic`` inside the build
   (:mod:`fcmigrate.build.collectstatic`), and :func:`_build_flask_assets`: Flask-Assets
   bundles built there (:mod:`fcmigrate.build.flaskassets`);
6. :func:`_compile`: precompile everything with that interpreter, hash-based;
7. :func:`_zip`: zip it, check the size, and only then move the folder and the zip into
   place.

The steps share a :class:`_Build` (the :class:`_Plan`, the staging and work folders, and
what each step adds). Any error, or SIGTERM, removes the staging folder: nothing
half-written is left, and an existing build is replaced only with ``force``. The user's
project folder is only read.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from fcmigrate.build import package
from fcmigrate.build.apart import (
    ApartError,
    NotYetError,
    TooNewError,
    latest_of,
    newest_patch,
    project_date,
    release_as_of,
    release_before,
)
from fcmigrate.build.collectstatic import collect_static, vendor_whitenoise
from fcmigrate.build.detect import Detected, detect_app
from fcmigrate.build.facts import SUPPORTED_PYTHONS, python_from_markers
from fcmigrate.build.importcheck import OwnMetadataError, UnlistedError, confirm_import
from fcmigrate.build.origins import (
    EnvValue,
    Origin,
    choose_origin,
    find_origins,
    origin_concurrency,
)
from fcmigrate.build.package import (
    API_UPLOAD_BYTES,
    CopyReport,
    IgnoreRules,
    bytecode_tag,
    copy_project,
    human_size,
    make_zip,
    precompile,
    remove_foreign_bytecode,
)
from fcmigrate.build.readonly import import_environment
from fcmigrate.build.render import OutputFile, write_files
from fcmigrate.build.requirements import missing_requirements_error
from fcmigrate.build.vendor import copy_fcmigrate, find_interpreter, install_requirements
from fcmigrate.build.wheels import NeedsNewerPython
from fcmigrate.errors import AppImportError, FCMigrateError
from fcmigrate.runtime.loader import django_folder

__all__ = ["DEFAULT_PYTHON", "MigrateOptions", "MigrateResult", "migrate"]

Progress = Callable[[str], None]

#: custom.debian10 ships Python 3.10.9 (/var/fc/lang/python3.10).
DEFAULT_PYTHON = "3.10"
#: Python of each runtime where it is documented; the others are probed at start.
RUNTIME_PYTHON = {"custom.debian10": "3.10"}
#: The runtime for a target Python without --runtime: the one that has it, else the newest
#: (custom.debian12, whose Python the bootstrap finds under /var/fc/lang at start).
NEWEST_RUNTIME = "custom.debian12"
#: A top-level python/ in the project is an old vendoring of dependencies: pip rebuilds it.
REBUILT = ("python",)


@dataclass
class MigrateOptions:
    """What :func:`migrate` is asked to do. ``wrap`` holds more :class:`WrapOptions` fields."""

    project: Path
    app: str | None = None
    out: Path | None = None
    zip_path: Path | None = None
    python: str | None = None
    #: ``None``: the runtime that has the target Python (:func:`choose_runtime`).
    runtime: str | None = None
    config: str = "s"
    name: str | None = None
    force: bool = False
    precompile: bool = True
    interpreter: str | None = None
    #: Seconds uv may take; ``None``: $FCMIGRATE_RESOLVE_TIMEOUT, else 300.
    resolve_timeout: float | None = None
    #: Largest zip accepted; ``None``: FC's limit,
    #: :data:`fcmigrate.build.package.MAX_PACKAGE_BYTES`.
    max_bytes: int | None = None
    wrap: Mapping[str, Any] = field(default_factory=dict)
    #: Which file says how the app runs today (``--from``): one of
    #: :data:`fcmigrate.build.origins.ORIGIN_NAMES`, ``none``, or ``None`` for the first found.
    source: str | None = None
    #: The Zappa stage to read (``--stage``); default the first.
    stage: str | None = None
    #: ``--env NAME=VALUE``: given to the function (a secret by reference, see
    #: :class:`fcmigrate.build.origins.EnvValue`) and to the import check and collectstatic.
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass
class MigrateResult:
    """What :func:`migrate` built, for the summary."""

    detected: Detected
    out: Path
    zip_path: Path
    zip_bytes: int
    python: str
    python_source: str
    interpreter: str | None
    generated: list[str]
    copied: CopyReport
    installed: list[str]
    compiled: int
    notes: list[str] = field(default_factory=list)
    #: What the project's Procfile, app.yaml, zappa_settings.json ... said, if one was read.
    origin: Origin | None = None


def target_python(option: str | None, detected: Detected) -> tuple[str, str]:
    """The Python X.Y to build for and where that came from; a clear error if unsupported."""
    if option is not None:
        value = option.strip()
        if value not in SUPPORTED_PYTHONS:
            raise FCMigrateError(
                f"Unsupported --python {option!r}. Use one of "
                f"{', '.join(SUPPORTED_PYTHONS)}, e.g. --python {DEFAULT_PYTHON} "
                "(custom.debian10 runs Python 3.10)."
            )
        return value, "--python"
    if detected.python is not None:
        if detected.python not in SUPPORTED_PYTHONS:
            raise FCMigrateError(
                f"The project asks for Python {detected.python} ({detected.python_source}), "
                f"but fcmigrate builds for {', '.join(SUPPORTED_PYTHONS)}. Pass "
                f"--python {DEFAULT_PYTHON} to build for FC's Python anyway."
            )
        return detected.python, str(detected.python_source)
    from_markers = python_from_markers(detected.requirements)
    if from_markers is not None:
        version, line = from_markers
        return version, f"the requirement {line!r}"
    return DEFAULT_PYTHON, "default"


def choose_runtime(option: str | None, python: str, python_source: str) -> tuple[str, str | None]:
    """The runtime to build for, and a note when its Python is not documented.

    Without ``option``, the runtime whose Python is ``python`` (custom.debian10 for 3.10),
    else :data:`NEWEST_RUNTIME`. An explicit runtime known to run another Python is an error:
    the build would not start there.
    """
    if option is not None:
        known = RUNTIME_PYTHON.get(option)
        if known is not None and known != python:
            raise FCMigrateError(
                f"--runtime {option} runs Python {known}, but the build is for Python {python} "
                f"({python_source}): it would not start there. Drop --runtime (fcmigrate then "
                f"picks {NEWEST_RUNTIME} for Python {python}), or build for Python {known} "
                f"with --python {known}."
            )
        chosen = option
    else:
        owners = [name for name, version in RUNTIME_PYTHON.items() if version == python]
        chosen = owners[0] if owners else NEWEST_RUNTIME
    if chosen in RUNTIME_PYTHON:
        return chosen, None
    return chosen, (
        f"FC does not document the Python of {chosen}: the bootstrap starts "
        f"/var/fc/lang/python{python} there, else the newest Python under /var/fc/lang, else "
        f"python3. If the function does not start, deploy a container ('fcmigrate "
        "dockerize') or build for Python 3.10 on custom.debian10."
    )


def _paths(options: MigrateOptions, root: Path) -> tuple[Path, Path]:
    out = Path(options.out).expanduser() if options.out else root / ".fcmigrate" / "build"
    out = out.resolve()
    zip_path = Path(options.zip_path).expanduser().resolve() if options.zip_path else None
    zip_path = zip_path or out.parent / "code.zip"
    if out == root or root.is_relative_to(out):
        raise FCMigrateError(
            f"The build folder {str(out)!r} is the project folder or holds it. Build "
            f"elsewhere, e.g. --out {str(root / '.fcmigrate' / 'build')!r}."
        )
    if zip_path.is_relative_to(out):
        raise FCMigrateError(
            f"The zip {str(zip_path)!r} would be inside the build folder it packs. "
            f"Put it beside it, e.g. --zip {str(out.parent / 'code.zip')!r}."
        )
    if zip_path.suffix != ".zip":
        raise FCMigrateError(f"The zip path {str(zip_path)!r} must end in '.zip'.")
    return out, zip_path


def _check_existing(out: Path, zip_path: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise FCMigrateError(f"The build path {str(out)!r} exists and is not a folder.")
    if zip_path.exists() and zip_path.is_dir():
        raise FCMigrateError(
            f"The zip path {str(zip_path)!r} is a folder. Name a file with --zip, e.g. "
            f"--zip {str(zip_path / 'code.zip')!r}."
        )
    if force:
        package.check_replaceable(out)
        return
    existing = [str(p) for p in (out, zip_path) if p.exists()]
    if existing:
        names = " and ".join(repr(p) for p in existing)
        raise FCMigrateError(f"Not replacing the existing {names}. Use --force to replace.")


def _mkdirs(path: Path) -> list[Path]:
    """Create ``path`` and its missing parents; return the ones created, deepest first."""
    created: list[Path] = []
    current = path
    while not current.exists():
        created.append(current)
        current = current.parent
    path.mkdir(parents=True, exist_ok=True)
    return created


def _remove_empty(folders: list[Path]) -> None:
    for path in folders:
        if path.is_dir() and not any(path.iterdir()):
            path.rmdir()


def _scratch(out: Path, zip_path: Path) -> tuple[list[Path], Path, Path]:
    """Make the parents of ``out`` and ``zip_path``, and a staging and a work folder beside
    ``out``: (the parents created, deepest first; staging; work). Undone on error."""
    created: list[Path] = []
    staging: Path | None = None
    try:
        for folder in (out.parent, zip_path.parent):
            created += _mkdirs(folder)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
        staging.chmod(0o755)  # mkdtemp's 0700 would make the build private
        work = Path(tempfile.mkdtemp(prefix=".fcmigrate-work-", dir=out.parent))
    except OSError as exc:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        _remove_empty(created)
        raise FCMigrateError(
            f"Cannot create {str(exc.filename or out.parent)!r}: {exc.strerror or exc}. "
            "Choose a folder that can be written with --out or --zip."
        ) from None
    return created, staging, work


@dataclass
class _Plan:
    """What :func:`_plan` decides before anything is written."""

    options: MigrateOptions
    say: Progress
    notes: list[str]
    origin: Origin | None
    detected: Detected
    python: str
    python_source: str
    platform: str
    runtime: str
    out: Path
    zip_path: Path
    wrap_values: dict[str, Any]
    files: list[OutputFile]
    interpreter: str | None

    @property
    def root(self) -> Path:
        return self.detected.root


@dataclass
class _Build:
    """The folders the steps of :func:`migrate` write in, and what each step adds."""

    plan: _Plan
    #: Parents of the build and the zip that did not exist, deepest first.
    created: list[Path]
    staging: Path
    work: Path
    zip_tmp: Path
    detected: Detected
    copied: CopyReport = field(default_factory=CopyReport)
    installed: list[str] = field(default_factory=list)
    #: The notes of the last install: an install again (a release held back) replaces them.
    install_notes: list[str] = field(default_factory=list)
    generated: list[str] = field(default_factory=list)
    compiled: int = 0
    zip_bytes: int = 0
    #: Free packages held at an older release (name -> version), by :func:`_check_import`.
    held: dict[str, str] = field(default_factory=dict)
    #: Distributions :func:`_check_import` added because an installed package imports them
    #: without listing them: name -> (that package, its version, the module).
    unlisted: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    #: The project itself as a requirement (``name @ file:///...``), by :func:`_check_import`
    #: when its code reads its own installed metadata.
    own: str | None = None

    @property
    def say(self) -> Progress:
        return self.plan.say

    @property
    def notes(self) -> list[str]:
        return self.plan.notes

    @property
    def vendored(self) -> Path:
        return self.staging / "python"


def migrate(options: MigrateOptions, progress: Progress | None = None) -> MigrateResult:
    """Build the FC package for ``options.project``; see the module docstring for the steps.

    ``progress`` receives one line at a time (pip's output among them). Raises
    :class:`FCMigrateError` for every user mistake, having removed whatever it had written.
    """
    say = progress or (lambda line: None)
    plan = _plan(options, say)
    while True:
        try:
            return _build(plan)
        except NeedsNewerPython as exc:
            floor = _python_floor(plan, exc)
            if floor is None:
                raise
            say(f"Trying again for Python {exc.python}: {exc.requirement!r} needs it.")
            plan = _plan(options, say, chosen=floor)


def _python_floor(plan: _Plan, exc: NeedsNewerPython) -> tuple[str, str] | None:
    """The Python to build for instead, when the first choice was only fcmigrate's default
    (nothing in the project named one) and a pinned requirement needs a newer one."""
    if plan.python_source != "default" and not plan.python_source.startswith("the requirement"):
        return None
    if exc.python not in SUPPORTED_PYTHONS or _version_key(exc.python) <= _version_key(plan.python):
        return None
    return exc.python, f"the requirement {exc.requirement!r} needs it"


def _build(plan: _Plan) -> MigrateResult:
    """The steps of :func:`migrate` after the plan, in a staging folder."""
    created, staging, work = _scratch(plan.out, plan.zip_path)
    zip_tmp = plan.zip_path.with_name(f".{plan.zip_path.name}.tmp-{os.getpid()}")
    build = _Build(plan, created, staging, work, zip_tmp, detected=plan.detected)
    try:
        _stage(build)
        _vendor(build)
        _write_generated(build)
        _check_import(build)
        _collect_statics(build)
        _build_flask_assets(build)
        _compile(build)
        _zip(build)
    except BaseException:  # Ctrl-C, and SIGTERM under signals.terminate_as_exit, too
        _discard(build)
        raise
    shutil.rmtree(work, ignore_errors=True)
    return MigrateResult(
        detected=build.detected,
        out=plan.out,
        zip_path=plan.zip_path,
        zip_bytes=build.zip_bytes,
        python=plan.python,
        python_source=plan.python_source,
        interpreter=plan.interpreter,
        generated=build.generated,
        copied=build.copied,
        installed=build.installed,
        compiled=build.compiled,
        notes=plan.notes,
        origin=plan.origin,
    )


def _discard(build: _Build) -> None:
    """Remove all a failed build wrote: staging and work folders, the zip being written,
    the parent folders it made."""
    shutil.rmtree(build.staging, ignore_errors=True)
    shutil.rmtree(build.work, ignore_errors=True)
    if build.zip_tmp.exists():
        build.zip_tmp.unlink()
    _remove_empty(build.created)


def _plan(options: MigrateOptions, say: Progress, chosen: tuple[str, str] | None = None) -> _Plan:
    """Detect the app, choose the Python and runtime, check the output paths and render the
    generated files: every mistake the options or the project can hold, before a write.
    ``chosen`` is the Python to build for and why, when a first try found it."""
    from fcmigrate.build.wrap import WrapOptions, default_name, generate

    notes: list[str] = []
    origin = _origin(options, notes)
    detected = _detect_with_origin(options, origin, notes)
    root = detected.root
    python, python_source = chosen or _target_python(options, origin, detected, notes)
    platform = str(options.wrap.get("platform", "fc"))
    explicit = options.runtime if platform == "fc" else None
    runtime, runtime_note = choose_runtime(explicit, python, python_source)
    if not detected.requirements and detected.requirements_file is None:
        unlisted = missing_requirements_error(root)
        if unlisted is not None:
            raise unlisted
    out, zip_path = _paths(options, root)
    _check_existing(out, zip_path, options.force)
    wrap_values = _wrap_values(options, origin, python)
    expected = _env_template_note(root, wrap_values.get("environment", {}))
    if expected:
        notes.append(expected)
    files = generate(
        WrapOptions(
            app=detected.spec,
            name=options.name or default_name(root),
            runtime=runtime,
            config=options.config,
            **wrap_values,
        )
    )
    if runtime_note and platform == "fc":
        notes.append(runtime_note)
    interpreter = find_interpreter(python, options.interpreter)
    if interpreter is None:
        notes.append(
            f"No Python {python} interpreter found (looked for python{python} on PATH, "
            "uv, pyenv, /usr/bin): the app's import was not checked and nothing was "
            f"precompiled, so cold starts will be slower. Install Python {python} or pass "
            "--interpreter PATH, and run again with --force."
        )
    say(f"Detected {detected.framework} app {detected.spec!r} ({detected.found_in}) in {root}")
    say(f"Target: Python {python} ({python_source}), runtime {runtime}")
    return _Plan(
        options=options,
        say=say,
        notes=notes,
        origin=origin,
        detected=detected,
        python=python,
        python_source=python_source,
        platform=platform,
        runtime=runtime,
        out=out,
        zip_path=zip_path,
        wrap_values=wrap_values,
        files=files,
        interpreter=interpreter,
    )


def _target_python(
    options: MigrateOptions, origin: Origin | None, detected: Detected, notes: list[str]
) -> tuple[str, str]:
    """:func:`target_python`, with the Python the origin runs when no flag names one."""
    if options.python is None and origin is not None and origin.python in SUPPORTED_PYTHONS:
        python, _ = target_python(origin.python, detected)
        return python, origin.name
    newest = SUPPORTED_PYTHONS[-1]
    project_newer = detected.python is not None and (
        _version_key(detected.python) > _version_key(newest)
    )
    if options.python is None and origin is not None and origin.python:
        if (detected.python is None or project_newer) and _version_key(origin.python) > (
            _version_key(newest)
        ):
            notes.append(
                f"{origin.name} runs Python {origin.python}, newer than fcmigrate builds "
                f"for ({', '.join(SUPPORTED_PYTHONS)}); building for Python {newest}, the "
                "nearest. Pass --python X.Y to choose."
            )
            return newest, f"{origin.name}, Python {origin.python} -> {newest}"
        notes.append(
            f"{origin.name} runs Python {origin.python}, which fcmigrate does not "
            f"build for ({', '.join(SUPPORTED_PYTHONS)}); building for the Python the "
            "project's code asks for instead. Pass --python X.Y to choose."
        )
    if options.python is None and project_newer:
        # FC has no newer Python; code written on a newer one mostly runs on the nearest,
        # and the import check runs it there before anything is written.
        notes.append(
            f"The project asks for Python {detected.python} ({detected.python_source}), newer "
            f"than fcmigrate builds for ({', '.join(SUPPORTED_PYTHONS)}); building for Python "
            f"{newest}, the nearest, and checking the import with it. Pass --python X.Y to "
            "choose."
        )
        return newest, f"{detected.python_source}, Python {detected.python} -> {newest}"
    return target_python(options.python, detected)


def _version_key(version: str) -> tuple[int, ...]:
    """``"3.14"`` as ``(3, 14)``, for comparing; ``()`` for what is not a version."""
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        return ()


def _wrap_values(options: MigrateOptions, origin: Origin | None, python: str) -> dict[str, Any]:
    """The :class:`WrapOptions` fields: the flags, then the origin's, then ``--env``."""
    wrap_values: dict[str, Any] = dict(options.wrap)
    wrap_values.setdefault("python", python)
    if origin is not None:
        _carry_origin(origin, wrap_values)
    if options.env:
        given = {n: EnvValue.read(n, v, "--env").deploy_value() for n, v in options.env.items()}
        wrap_values["environment"] = {**wrap_values.get("environment", {}), **given}
    return wrap_values


def _stage(build: _Build) -> None:
    """Step 1: copy the project into the staging folder, minus what is not deployed."""
    plan = build.plan
    build.say("Copying the project ...")
    build.copied = copy_project(
        plan.root,
        build.staging,
        exclude=[plan.out, build.staging, build.work, plan.zip_path, build.zip_tmp],
        rules=_ignore_rules(plan.root, plan.origin),
        skip_top=REBUILT,
    )
    build.say(f"Copied {build.copied.files} files ({human_size(build.copied.bytes)})")


def _vendor(build: _Build) -> None:
    """Step 2: resolve and install the requirements into ``python/`` for the target, then
    fcmigrate's runtime and, when the app needs it, WhiteNoise; with the releases held and
    the distributions added by :func:`_check_import`, when it installs again."""
    plan, python = build.plan, build.plan.python
    build.say(f"Installing dependencies into python/ for CPython {python} (uv) ...")
    pip = install_requirements(
        build.vendored,
        requirements_file=plan.detected.requirements_file,
        requirements=plan.detected.requirements,
        python_version=python,
        runtime=plan.runtime if plan.platform == "fc" else plan.platform,
        progress=lambda line: build.say(f"  uv: {line}"),
        workdir=build.work,
        timeout=plan.options.resolve_timeout,
        build_python=plan.interpreter,
        held=build.held or None,
        unlisted=[*build.unlisted, *([build.own] if build.own else [])],
    )
    for note in build.install_notes:
        if note in build.notes:
            build.notes.remove(note)
    build.install_notes = list(pip.notes)
    build.notes.extend(pip.notes)
    build.installed = pip.installed
    shutil.rmtree(build.vendored / "bin", ignore_errors=True)
    copy_fcmigrate(build.vendored)
    if plan.wrap_values.get("static_maps"):
        vendor_whitenoise(build.vendored, python)
    if build.detected.framework == "django" and not vendor_whitenoise(build.vendored, python):
        build.notes.append(
            f"The WhiteNoise that comes with fcmigrate does not run on Python {python}, so "
            "the function will not serve Django's static files: add a 'whitenoise' "
            "release that does to requirements.txt, and run again with --force."
        )


def _write_generated(build: _Build) -> None:
    """Step 3: write the bootstrap and the deploy config rendered by :func:`_plan`."""
    written = write_files(build.staging, build.plan.files, force=True)
    build.generated = [p.relative_to(build.staging).as_posix() for p in written]


def _check_import(build: _Build) -> None:
    """Step 4: import the app as FC will: the target interpreter, isolated, the build
    read-only, FC's environment. Skipped without a target interpreter (a note says so).

    When a package the app pins uses a name that today's release of a package the app
    leaves free no longer has (:class:`~fcmigrate.build.apart.ApartError`: ``Flask==2.0.1``
    beside a free Werkzeug), the free one is held at its last release from before the
    pinned one came out, the requirements are installed again and the import checked
    again, a few times at most, with a note for each. When an installed package imports a
    module nothing installed provides and that it does not list
    (:class:`~fcmigrate.build.importcheck.UnlistedError`: Flask-Babel 0.12.2 and ``pytz``),
    the distribution that provides it (:func:`fcmigrate.build.unlisted.provider_of`) is
    installed too, the same way.
    """
    held = build.held
    while True:
        try:
            _import_once(build)
            return
        except OwnMetadataError as exc:
            if build.own is not None or not _install_own(build, exc.distribution):
                raise _with_tries(exc, build) from None
            build.notes.append(
                f"Your code asks for the installed metadata of {exc.distribution}, the project "
                "itself (its version or entry points, through importlib.metadata): the build "
                "installs the project too, as 'pip install .' does, beside its copy of the "
                "code. List '.' in requirements.txt to build without this second try."
            )
        except UnlistedError as exc:
            dist = _unlisted_provider(build, exc)
            if dist is None:
                raise _with_tries(exc, build) from None
            if not _install_adding(build, dist, exc):
                raise _with_tries(exc, build, refused=dist) from None
            importer, version = exc.importer
            build.notes.append(
                f"{importer} {version} imports {exc.module} without listing {dist} as a dependency "
                "(an older release of one of its dependencies most likely brought it): the "
                f"build has {dist} too. Add it to your requirements to build without this "
                "second try."
            )
        except AppImportError as exc:
            if isinstance(exc, TooNewError):
                if not _hold_as_of_project(build, exc, held):
                    raise _with_tries(exc, build) from None
                continue
            if isinstance(exc, NotYetError):
                if not _hold_newer(build, exc, held):
                    raise _with_tries(exc, build) from None
                continue
            if not isinstance(exc, ApartError):
                raise _with_tries(exc, build) from None
            dep, who = exc.provider[0], exc.importer
            last = _hold(build, exc, held)
            if last is None:
                raise _with_tries(exc, build) from None
            why = f"when {who[0]} {who[1]} came out"
            if not _install_holding(build, held, dep, last):
                # Another pin needs a newer one (Flask 2.0.1 asks for Jinja2>=3.0 beside
                # Flask-DebugToolbar 0.11.0, which needs Jinja2<3.1): the last release
                # before the newest release the app pins came out.
                era = latest_of(_pins(build))
                later = release_as_of(dep, era)
                later = None if later is None else newest_patch(dep, later)
                if (
                    era is None
                    or later in (None, last)
                    or not _install_holding(build, held, dep, str(later))
                ):
                    raise _with_tries(exc, build) from None
                last = str(later)
                why = f"on {era:%Y-%m-%d}, when the newest release you pin came out"
            build.notes.append(
                f"Your requirements pin {who[0]}=={who[1]} but leave {dep} free, and today's "
                f"{dep} {exc.provider[1]} no longer has what {who[0]} uses: {dep}=={last}, "
                f"the newest release of the series {dep} was at {why}, was installed instead. "
                "Pin it in your requirements to build without this second try."
            )


def _hold_as_of_project(build: _Build, error: TooNewError, held: dict[str, str]) -> bool:
    """Hold the package the app lists without a version, whose installed release no longer
    has a name the app's code imports, at the newest patch of the series it was at when the
    project last changed (its last commit); whether that installed. ``django`` unpinned in a
    2020 project whose code imports ``ugettext_lazy``, gone in Django 4.0: Django 3.1.14."""
    from packaging.version import InvalidVersion, Version

    dep, installed = error.provider
    if not _free(build, dep, held):
        return False
    when = project_date(build.detected.root)
    then = release_as_of(dep, when)
    if when is None or then is None:
        return False
    then = newest_patch(dep, then)
    try:
        if Version(then) >= Version(installed):
            return False
    except InvalidVersion:
        return False
    if not _install_holding(build, held, dep, then):
        return False
    build.notes.append(
        f"Your requirements list {dep} without a version, and your code imports "
        f"{error.name!r} from {error.module!r}, which today's {dep} {installed} no longer has: "
        f"{dep}=={then}, the newest release of the series {dep} was at on {when:%Y-%m-%d}, "
        "when the project last changed, was installed instead. Pin it in your requirements "
        "to build without this second try."
    )
    return True


def _hold_newer(build: _Build, error: NotYetError, held: dict[str, str]) -> bool:
    """Hold the package the app leaves free that uses a name the installed release of
    another does not have yet (sorl-thumbnail 13.4.0 beside Django held at 3.0.14) at its
    last release before that package's next series came out; whether that installed."""
    who, newer = error.importer
    if error.last is None or error.following is None or not _free(build, who, held):
        return False
    if not _install_holding(build, held, who, error.last):
        return False
    dep, version = error.provider
    build.notes.append(
        f"Your requirements leave {who} free, and today's {who} {newer} uses what {dep} "
        f"{version}, the release the build has, does not have yet: {who}=={error.last}, its "
        f"last release before {dep} {error.following} came out, was installed instead. Pin "
        "it in your requirements to build without this second try."
    )
    return True


def _free(build: _Build, name: str, held: Mapping[str, str]) -> bool:
    """Whether the app's requirements leave ``name`` free (no version asked for), and the
    build has not held it yet, nor too many others."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    wanted = canonicalize_name(name)
    if len(held) >= MAX_HELD or any(canonicalize_name(n) == wanted for n in held):
        return False
    for line in build.detected.requirements:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        if canonicalize_name(requirement.name) == wanted and requirement.specifier:
            return False
    return True


def _install_holding(build: _Build, held: dict[str, str], dep: str, version: str) -> bool:
    """Install again with ``dep`` held at ``version`` too; whether that resolved (if not,
    ``dep`` is not held)."""
    build.say(f"Installing again with {dep}=={version}, as the notes will say ...")
    held[dep] = version
    shutil.rmtree(build.vendored, ignore_errors=True)
    try:
        _vendor(build)
    except FCMigrateError:
        held.pop(dep)
        return False
    return True


#: How many distributions :func:`_check_import` may add in one build for packages that do
#: not list them.
MAX_UNLISTED = 4


def _unlisted_provider(build: _Build, error: UnlistedError) -> str | None:
    """The distribution to install for the module ``error`` names, or ``None``: the
    project's own code imports it (a requirement the project lacks, for its author to
    list), the requirements name that distribution, it was added already, too many were,
    or neither PyPI nor :data:`~fcmigrate.build.unlisted.DISTRIBUTIONS` names one."""
    from packaging.utils import canonicalize_name

    from fcmigrate.build.requirements import third_party_imports
    from fcmigrate.build.unlisted import provider_of

    tried = {module for _, _, module in build.unlisted.values()}
    if len(build.unlisted) >= MAX_UNLISTED or error.module in tried:
        return None
    if error.module in third_party_imports(build.plan.root):
        return None
    dist = provider_of(error.module)
    if dist is None:
        return None
    named = {canonicalize_name(name) for name in [*_requirement_names(build), *build.unlisted]}
    return None if canonicalize_name(dist) in named else dist


def _install_own(build: _Build, name: str) -> bool:
    """Install again with the project itself, built from a copy of the build's code (so
    that a build backend's files never land in the project or the build); whether that
    installed."""
    source = build.work / "project"
    shutil.rmtree(source, ignore_errors=True)
    shutil.copytree(build.staging, source, ignore=shutil.ignore_patterns("python"))
    build.say(f"Installing again with the project itself ({name}), as the notes will say ...")
    build.own = f"{name} @ {source.as_uri()}"
    shutil.rmtree(build.vendored, ignore_errors=True)
    try:
        _vendor(build)
    except FCMigrateError:
        build.own = None
        return False
    return True


def _install_adding(build: _Build, dist: str, error: UnlistedError) -> bool:
    """Install again with ``dist`` too; whether that resolved (if not, ``dist`` is not
    added)."""
    who, version = error.importer
    build.say(
        f"Installing again with {dist}, which {who} {version} imports without listing it, "
        "as the notes will say ..."
    )
    build.unlisted[dist] = (who, version, error.module)
    shutil.rmtree(build.vendored, ignore_errors=True)
    try:
        _vendor(build)
    except FCMigrateError:
        build.unlisted.pop(dist)
        return False
    return True


def _requirement_names(build: _Build) -> list[str]:
    """The names of the distributions the app's requirements list."""
    from packaging.requirements import InvalidRequirement, Requirement

    names: list[str] = []
    for line in build.detected.requirements:
        try:
            names.append(Requirement(line).name)
        except InvalidRequirement:
            continue
    return names


def _pins(build: _Build) -> dict[str, str]:
    """The app's ``name==version`` requirements."""
    from packaging.requirements import InvalidRequirement, Requirement

    pins: dict[str, str] = {}
    for line in build.detected.requirements:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        specs = list(requirement.specifier)
        if len(specs) == 1 and specs[0].operator in ("==", "==="):
            pins[requirement.name] = specs[0].version
    return pins


def _with_tries(error: AppImportError, build: _Build, refused: str | None = None) -> AppImportError:
    """``error``, saying which free packages fcmigrate had held back, which distributions it
    had added, and which one it tried to add but could not install (``refused``), when it
    was raised."""
    said: list[str] = []
    held = build.held
    if held:
        shown = ", ".join(f"{name}=={version}" for name, version in held.items())
        said.append(
            f"Your requirements left {', '.join(held)} free, and today's releases did not "
            "work with the packages you pin: this build held them at "
            f"{shown}, releases from the time of those packages."
        )
    for dist, (who, version, module) in build.unlisted.items():
        said.append(
            f"This build added {dist}, as {who} {version} imports {module} without listing it."
        )
    if refused is not None and isinstance(error, UnlistedError):
        said.append(
            f"This build tried adding {refused} for {error.module}, but it did not install "
            "with your requirements."
        )
    if not said:
        return error
    return AppImportError(f"{error} ({' '.join(said)})")


#: How many free packages :func:`_check_import` may hold back in one build.
MAX_HELD = 6


def _hold(build: _Build, error: ApartError, held: Mapping[str, str]) -> str | None:
    """The release to hold ``error``'s provider at, or ``None``: the app names it with a
    version, it was held already, too many were, or PyPI cannot say."""
    if not _free(build, error.provider[0], held):
        return None
    last = release_before(error.provider[0], *error.importer)
    # Its newest patch release: the same API, with what later Pythons needed (Werkzeug
    # 0.15.4 does not run on Python 3.8 and later, 0.15.6 does).
    return None if last is None else newest_patch(error.provider[0], last)


def _import_once(build: _Build) -> None:
    plan, interpreter = build.plan, build.plan.interpreter
    if interpreter is None:
        return
    build.say(f"Importing {build.detected.spec!r} in the build, read-only, with {interpreter} ...")
    try:
        build.detected = confirm_import(
            build.detected,
            python=interpreter,
            pythonpath=[_probe_tools(build.work), build.vendored, build.staging],
            isolated=True,
            code_dir=build.staging,
            env=import_environment(build.staging, _mkdirs_in(build.work, "tmp"), plan.options.env),
            hooks=_hooks(plan.wrap_values),
            left_out={item.path: item.why for item in build.copied.left_out},
        )
    except AppImportError as exc:
        hint = _placeholder_hint(plan.origin, str(exc))
        if hint is None:
            raise
        raise AppImportError(f"{exc} {hint}") from None
    build.notes.extend(build.detected.notes)


def _placeholder_hint(origin: Origin | None, message: str) -> str | None:
    """When the import failed for want of a variable the origin held only a placeholder
    for, the sentence that says so."""
    if origin is None:
        return None
    for name, value in origin.placeholders.items():
        if f"'{name}'" in message:
            return (
                f"{origin.name} has only the placeholder {value!r} for it: give the real "
                f"value with --env {name}=VALUE."
            )
    return None


def _collect_statics(build: _Build) -> None:
    """Step 5: Django's ``collectstatic`` inside the build. Without the target interpreter
    it runs with this one, and a failure is a note rather than a failed build: Django and
    most of what settings import are pure Python."""
    plan = build.plan
    settings = build.detected.settings_module
    if build.detected.framework != "django" or not settings:
        return
    # A project one folder down (forum/manage.py) imports its settings from that folder.
    folder = django_folder(build.detected.spec, str(build.staging))
    pythonpath = [Path(folder)] if folder is not None else []
    if plan.interpreter is not None:
        build.say("Collecting Django's static files (collectstatic) ...")
        collect_static(
            plan.root,
            build.staging,
            settings,
            plan.interpreter,
            isolated=True,
            pythonpath=pythonpath,
            progress=lambda line: build.say(f"  {line}"),
            env_extra=plan.options.env,
            databases=True,
            notes=build.notes,
        )
        return
    build.say("Collecting Django's static files (collectstatic, with this Python) ...")
    try:
        collect_static(
            plan.root,
            build.staging,
            settings,
            sys.executable,
            isolated=True,
            pythonpath=pythonpath,
            progress=lambda line: build.say(f"  {line}"),
            env_extra=plan.options.env,
            databases=True,
            notes=build.notes,
        )
    except FCMigrateError as exc:
        build.notes.append(
            f"Django's static files were not collected ({exc}); the admin will have "
            f"no CSS. Install Python {plan.python} or pass --interpreter PATH, and run "
            "again with --force."
        )


def _build_flask_assets(build: _Build) -> None:
    """Step 5b: Flask-Assets bundles built into the build (:mod:`fcmigrate.build.flaskassets`),
    which would otherwise be built into the read-only code folder at the first request."""
    from fcmigrate.build.flaskassets import build_bundles, uses_webassets
    from fcmigrate.build.importcheck import ASSETS_NOTE_START

    plan, interpreter = build.plan, build.plan.interpreter
    if interpreter is None or build.detected.framework != "flask":
        return
    if not uses_webassets(build.vendored):
        return
    build.say("Building the Flask-Assets bundles (flask assets build) ...")
    done = build_bundles(
        build.staging,
        build.detected.spec,
        interpreter,
        pythonpath=[_probe_tools(build.work), build.vendored, build.staging],
        env=import_environment(build.staging, _mkdirs_in(build.work, "tmp"), plan.options.env),
    )
    if done.built and not done.failed and not done.error:
        count = len(done.built)
        build.say(f"  built {count} bundle{'s' if count != 1 else ''} into {done.directory}/")
        build.notes[:] = [n for n in build.notes if not n.startswith(ASSETS_NOTE_START)]
        return
    why = "; ".join(done.failed) or done.error
    if why:
        build.notes.append(f"The Flask-Assets bundles could not all be built here ({why}).")


def _compile(build: _Build) -> None:
    """Step 6: drop bytecode of other Pythons, precompile for the target (unchecked-hash)."""
    plan, python = build.plan, build.plan.python
    removed = remove_foreign_bytecode(build.staging, None)
    if removed:
        build.notes.append(f"Removed {removed} cached bytecode files of other Pythons.")
    if plan.options.precompile and plan.interpreter is not None:
        build.say(f"Precompiling for Python {python} (unchecked-hash) ...")
        report = precompile(build.staging, plan.interpreter, python)
        build.compiled = report.compiled
        remove_foreign_bytecode(build.staging, bytecode_tag(python))
        if report.failed:
            shown = ", ".join(report.failed[:5]) + (" ..." if len(report.failed) > 5 else "")
            build.notes.append(f"{len(report.failed)} files did not compile: {shown}")
    elif not plan.options.precompile:
        build.notes.append("Not precompiled (--no-precompile): cold starts will be slower.")


def _zip(build: _Build) -> None:
    """Step 7: zip the build, check the size, then move the folder and the zip into place."""
    plan = build.plan
    package.mark_build(build.staging)
    build.say("Writing the zip ...")
    build.zip_bytes = make_zip(build.staging, build.zip_tmp)
    max_bytes = plan.options.max_bytes or package.MAX_PACKAGE_BYTES
    if build.zip_bytes > max_bytes:
        raise FCMigrateError(
            f"The package is {human_size(build.zip_bytes)}, over FC's limit of "
            f"{human_size(max_bytes)}. Leave files out with a .fcignore file "
            "in the project (e.g. a line 'data/'), or move large dependencies to a layer."
        )
    if build.zip_bytes > API_UPLOAD_BYTES:
        build.notes.append(
            f"The zip is over {human_size(API_UPLOAD_BYTES)}: the FC API takes at most "
            "that; upload through the console or from OSS."
        )
    _replace(build.staging, plan.out)
    os.replace(build.zip_tmp, plan.zip_path)


def _origin(options: MigrateOptions, notes: list[str]) -> Origin | None:
    """The file that says how the app runs today (Procfile, app.yaml ...), if any."""
    try:
        root = Path(options.project).expanduser().resolve()
        origins = find_origins(root, options.stage) if root.is_dir() else []
    except PermissionError:
        origins = []
    origin, note = choose_origin(origins, options.source)
    if note:
        notes.append(note)
    return origin


def _detect_with_origin(
    options: MigrateOptions, origin: Origin | None, notes: list[str]
) -> Detected:
    """Flags first, then what the origin says, then detection from the code."""
    # The function's environment: what the origin sets, then --env.
    env = {item.name: item.value for item in (origin.env if origin else []) if not item.secret}
    env.update(options.env)
    if options.app is not None or origin is None or not origin.app:
        return detect_app(options.project, options.app, env=env)
    try:
        detected = detect_app(options.project, origin.app, env=env)
        _check_origin_module(detected)
    except FCMigrateError as exc:
        notes.append(
            f"{origin.name} names the app {origin.app!r}, which was not found ({exc}); "
            "the app was detected from the code instead."
        )
        return detect_app(options.project, None, env=env)
    return replace(detected, found_in=detected.found_in.replace("--app", origin.name, 1))


def _check_origin_module(detected: Detected) -> None:
    """Raise when the module of the app an origin names is neither in the project nor
    installed by a requirement: App Engine's default ``main:app`` in a folder that has
    ``main_mysql.py`` and ``main_postgres.py`` but no ``main.py``."""
    if detected.found_in != "--app":
        return  # a Django project, or a module a requirement installs
    from fcmigrate.runtime.loader import has_module, parse_spec, src_folder

    top = parse_spec(detected.spec).module.partition(".")[0]
    if not has_module(detected.root, top) and src_folder(detected.root, top) is None:
        raise FCMigrateError(f"there is no {top}.py or {top}/ in the project")


def _carry_origin(origin: Origin, wrap_values: dict[str, Any]) -> None:
    """Memory, timeout, environment and jobs from the origin, where no flag set them."""
    if origin.memory and "memory" not in wrap_values:
        memory = max(128, -(-origin.memory // 64) * 64)  # FC: a multiple of 64 MB
        wrap_values["memory"] = memory
    if origin.timeout and "timeout" not in wrap_values:
        wrap_values["timeout"] = min(max(origin.timeout, 1), 86400)
    if (origin.workers or origin.threads) and "concurrency" not in wrap_values:
        # What one server took at once is what one FC instance takes at once.
        wrap_values["concurrency"] = origin_concurrency(origin)
    if origin.env:
        wrap_values.setdefault("environment", {e.name: e.deploy_value() for e in origin.env})
    if origin.jobs:
        wrap_values.setdefault("jobs", tuple(origin.jobs))
    if origin.static:
        wrap_values.setdefault("static_maps", tuple(f"{u}={f}" for u, f in origin.static))


#: Files in which projects list the variables they expect, without values to keep secret.
ENV_TEMPLATES = (".env.example", ".env.sample", ".env.template", ".env.dist", "example.env")


def _env_template_note(root: Path, given: Mapping[str, str]) -> str | None:
    """A note naming the variables the project's ``.env.example`` lists that nothing gave.

    ``.env`` files never go into a build (they hold secrets), so on FC such variables exist
    only if the deploy config sets them.
    """
    for name in ENV_TEMPLATES:
        file = root / name
        if not file.is_file():
            continue
        try:
            lines = file.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return None
        names = []
        for line in lines:
            match = re.match(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=", line)
            if match and match.group(1) not in given and match.group(1) not in names:
                names.append(match.group(1))
        if not names:
            return None
        return (
            f"{name} lists variables the app reads that the deploy config does not set: "
            f"{', '.join(names)}. Give those it needs with --env NAME=VALUE (secrets are "
            "written as ${env('NAME')} and read from your environment at deploy)."
        )
    return None


def _ignore_rules(root: Path, origin: Origin | None) -> IgnoreRules:
    if origin is None or not origin.exclude:
        return IgnoreRules.from_file(root / ".fcignore")
    # The origin's patterns first: the project's own .fcignore may bring a file back.
    ignore_file = root / ".fcignore"
    own = (
        ignore_file.read_text(encoding="utf-8", errors="replace").splitlines()
        if ignore_file.is_file()
        else []
    )
    return IgnoreRules([*origin.exclude, *own])


def _probe_tools(work: Path) -> Path:
    """A folder holding all of fcmigrate, for the import check: the build carries only its
    runtime, and the check runs ``python -m fcmigrate.build.importcheck`` (build side) beside
    it."""
    from fcmigrate.build.runtime_files import copy_package

    return copy_package(_mkdirs_in(work, "fcmigrate-tools")).parent


def _mkdirs_in(folder: Path, name: str) -> Path:
    (folder / name).mkdir(exist_ok=True)
    return folder / name


def _hooks(wrap: Mapping[str, Any]) -> list[str]:
    """The lifecycle hooks (``'module:function'``) the bootstrap will import."""
    names = ("on_initialize", "on_pre_stop", "on_pre_freeze")
    return [str(wrap[name]) for name in names if wrap.get(name)]


def _replace(staging: Path, out: Path) -> None:
    """Move ``staging`` to ``out``; an old ``out`` is moved aside first, then deleted."""
    if not out.exists():
        os.replace(staging, out)
        return
    trash = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    os.replace(out, trash / out.name)
    try:
        os.replace(staging, out)
    except OSError:
        os.replace(trash / out.name, out)
        raise
    finally:
        shutil.rmtree(trash, ignore_errors=True)


def installed_summary(installed: list[str], limit: int = 8) -> str:
    """``['Flask-3.1.3', ...]`` -> ``'Flask 3.1.3, ...'``."""
    names = [re.sub(r"-(?=[^-]+$)", " ", item) for item in sorted(installed, key=str.lower)]
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
