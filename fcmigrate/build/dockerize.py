"""The files ``fcmigrate dockerize`` writes for FC's custom-container runtime.

Into the project folder, which is the Docker build context:

``Dockerfile``
    Two stages on a pinned official ``python:X.Y.Z-slim-bookworm``. The first installs the
    requirements into a virtualenv with ``pip --no-cache-dir``, puts fcmigrate beside them
    and the app in ``/app``, and compiles all of it to hash-based bytecode; the second gets
    only the virtualenv and the app, compiles the standard library (the official image ships
    it without ``.pyc``), and runs ``python -m fcmigrate serve APP`` as a non-root user on
    port 9000.
``.dockerignore``
    Local secrets (the same list ``migrate`` leaves out, :mod:`fcmigrate.build.exclude`), version
    control, virtualenvs, caches and fcmigrate's build folder stay out.
``.fcmigrate/docker/``
    fcmigrate is not on PyPI, so the image cannot ``pip install`` it: this folder holds a copy
    of the running fcmigrate package and the requirement ``serve`` needs to run (gunicorn).
    The Dockerfile copies the package into the virtualenv's site-packages. It is
    rewritten on every run, so it always matches the Dockerfile beside it.
the deploy config
    ``s.yaml`` (fc3 or fc2) or ``template.yml`` for ``runtime: custom-container``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import posixpath
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata, resources
from importlib.abc import Traversable
from pathlib import Path

from fcmigrate.build.exclude import dockerignore_lines
from fcmigrate.build.render import OutputFile, render
from fcmigrate.build.wrap import (
    PYTHONS,
    ContainerImage,
    WrapOptions,
    check_python,
    deploy_config,
    function_name,
)
from fcmigrate.errors import FCMigrateError
from fcmigrate.runtime.loader import parse_spec, src_folder

#: Official Docker images, pinned to a full version (Debian 12 "bookworm", slim variant).
#: Bump them together; each tag must exist on Docker Hub.
BASE_IMAGES = {
    "3.10": "python:3.10.20-slim-bookworm",
    "3.11": "python:3.11.15-slim-bookworm",
    "3.12": "python:3.12.13-slim-bookworm",
    "3.13": "python:3.13.12-slim-bookworm",
}
DEFAULT_PYTHON = "3.10"

#: Where the image keeps the app; the start command runs there.
APP_DIR = "/app"
#: The program the image runs (Docker ENTRYPOINT, FC 3.0 ``entrypoint``); APP is its argument.
ENTRYPOINT = ("python", "-m", "fcmigrate", "serve")
VENDOR_DIR = ".fcmigrate/docker"
#: fcmigrate's requirement on WhiteNoise, when its metadata cannot be read.
STATIC_FALLBACK = ("whitenoise>=6",)

#: The files dockerize writes that a user may have written or edited: never replaced
#: without --force. The vendored copy under .fcmigrate/docker is fcmigrate's own.
USER_FILES = ("Dockerfile", ".dockerignore", "s.yaml", "template.yml")

#: An image reference: registry/namespace/name[:tag][@digest], nothing that could break a line.
_IMAGE_OK = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/:@-]*")
_INCLUDE = re.compile(r"^\s*(?:-r|--requirement|-c|--constraint)(?:\s+|=)(\S+)", re.MULTILINE)
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass
class DockerizeOptions:
    """What ``dockerize`` needs; ``project`` is the folder the app lives in.

    ``requirements`` are used only when the project has no ``requirements.txt`` (e.g. the
    ``[project] dependencies`` of ``pyproject.toml``, as :func:`fcmigrate.build.detect.detect_app`
    reads them). ``django_settings`` is the detected settings module of a Django project.
    """

    app: str
    project: Path
    python: str = DEFAULT_PYTHON
    image: str | None = None
    config: str = "s"
    name: str | None = None
    region: str = "cn-hangzhou"
    concurrency: int = 8
    memory: int = 1024
    timeout: int = 60
    base_paths: Sequence[str] = ()
    requirements: Sequence[str] = field(default_factory=tuple)
    #: A Django project's settings module: the image then collects its static files at
    #: build time and gets WhiteNoise to serve them.
    django_settings: str | None = None

    def function_name(self) -> str:
        return self.name or function_name(self.project.resolve().name)

    def wrap_options(self) -> WrapOptions:
        return WrapOptions(
            app=self.app,
            name=self.function_name(),
            config=self.config,
            region=self.region,
            concurrency=self.concurrency,
            memory=self.memory,
            timeout=self.timeout,
            base_paths=tuple(self.base_paths),
            python=self.python,
        )

    def command(self) -> list[str]:
        """The arguments of :data:`ENTRYPOINT`: APP and the serve options."""
        return [self.app, *self.wrap_options().serve_args()]

    def container(self) -> ContainerImage:
        image = self.image or placeholder_image(self.function_name(), self.region)
        return ContainerImage(image, ENTRYPOINT, self.command(), placeholder=not self.image)


def placeholder_image(name: str, region: str) -> str:
    """An obviously unfinished image address in the region's Container Registry."""
    return f"registry.{region}.aliyuncs.com/YOUR_NAMESPACE/{name.lower()}:latest"


def base_image(python: str) -> str:
    return BASE_IMAGES[check_python(python)]


def image_spec(spec: str, project: Path, requirements: Sequence[str] = ()) -> str:
    """APP as the image runs it from /app; an error if the image could not import it.

    The app's module must be in the project folder, the only code the image gets, or be
    installed by one of ``requirements`` (``httpbin:app`` with ``httpbin`` listed; see
    :func:`fcmigrate.build.facts.requirement_providing`). A Django project folder given as a path
    becomes a path relative to the project. Nothing is imported: the app's dependencies
    need not be installed on this machine.
    """
    text = spec.strip()
    root = project.resolve()
    folder = (root / os.path.expanduser(text)).resolve() if text else root
    if (
        text
        and folder.is_dir()
        and ("/" in text or text == "." or (folder / "manage.py").is_file())
    ):
        if folder != root and root not in folder.parents:
            raise FCMigrateError(
                f"The app folder {spec!r} is outside the project folder {str(project)!r}. "
                "Only the project goes into the image: use --out to name the project folder."
            )
        return folder.relative_to(root).as_posix()
    module = parse_spec(text).module
    if module.endswith(".py") and (project / module).is_file():
        suggestion = text.replace(module, module.removesuffix(".py"), 1)
        raise FCMigrateError(f"{spec!r} names a file; use the module name instead: {suggestion!r}.")
    base = project.joinpath(*module.split("."))
    in_src = src_folder(project, module.partition(".")[0]) is not None
    if not (base.with_suffix(".py").is_file() or base.is_dir() or in_src):
        from fcmigrate.build.facts import requirement_providing

        if requirement_providing(module, requirements) is not None:
            return text  # an installed package: pip puts it into the image
        raise FCMigrateError(
            f"No module {module!r} for the app {spec!r} in {str(project)!r}, and no "
            "requirement installs it. The image holds only the project folder and its "
            "requirements: check the spelling, e.g. 'app:app' for app.py or "
            "'mysite.wsgi:application' for mysite/wsgi.py, or list the package that provides "
            f"{module.partition('.')[0]!r} in requirements.txt."
        )
    return text


def requirement_files(project: Path) -> list[str]:
    """``requirements.txt`` and the files it includes (``-r``/``-c``) inside the project.

    Relative posix paths; the Dockerfile copies each one to the same path under /tmp/app so
    that pip finds the includes where the file says.
    """
    if not (project / "requirements.txt").is_file():
        return []
    root = project.resolve()
    found: list[str] = []
    # Paths as pip sees them, relative to the including file and not through symlinks:
    # the Dockerfile copies each one to that path.
    todo = ["requirements.txt"]
    while todo:
        rel = todo.pop(0)
        if rel in found:
            continue
        file = project / rel
        if root not in file.resolve().parents:
            raise FCMigrateError(
                f"{str(file)!r} links to a file outside the project folder {str(project)!r}, "
                "which docker build cannot copy. Copy that file into the project instead."
            )
        found.append(rel)
        text = file.read_text(encoding="utf-8", errors="replace")
        for match in _INCLUDE.finditer(text):
            nested = posixpath.normpath(posixpath.join(posixpath.dirname(rel), match.group(1)))
            if not nested.startswith(("/", "../")) and (project / nested).is_file():
                todo.append(nested)
    for rel in found:
        _refuse_fcmigrate_requirement(project / rel)
    return found


def _refuse_fcmigrate_requirement(file: Path) -> None:
    for raw in file.read_text(encoding="utf-8", errors="replace").splitlines():
        if _is_fcmigrate(raw):
            raise FCMigrateError(
                f"{str(file)!r} lists {raw.strip()!r}, but fcmigrate is not on PyPI, so the "
                "image cannot install it. dockerize puts its own copy into the image: remove "
                "that line (or keep it in a requirements-dev.txt)."
            )


def _is_fcmigrate(requirement: str) -> bool:
    match = _NAME.match(requirement.strip())
    return match is not None and re.sub(r"[-_.]+", "-", match.group()).lower() == "fcmigrate"


def virtualenvs(project: Path) -> list[str]:
    """Top-level folders of the project that are virtualenvs (they hold ``pyvenv.cfg``)."""
    try:
        entries = sorted(os.scandir(project), key=lambda e: e.name)
    except OSError:
        return []
    return [
        e.name for e in entries if e.is_dir() and os.path.isfile(os.path.join(e.path, "pyvenv.cfg"))
    ]


def dockerfile(options: DockerizeOptions) -> OutputFile:
    files = requirement_files(options.project)
    if files:
        copy = "\n".join(f"COPY {rel} /tmp/app/{rel}" for rel in files)
        pip = " -r /tmp/app/requirements.txt"
    else:
        copy = (
            f"# No requirements.txt: the app's requirements are in {VENDOR_DIR}/requirements.txt."
        )
        pip = ""
    if options.django_settings:
        collect_comment = (
            "# Django: static files are collected into the image here; fcmigrate serves them\n"
            "# with WhiteNoise. Settings that need secrets at import time need them here too.\n"
        )
        settings = shlex.quote(options.django_settings)
        collect_static = f"    && python -m fcmigrate.statics /app {settings} \\\n"
    else:
        collect_comment = collect_static = ""
    content = render(
        "Dockerfile.tmpl",
        collect_comment=collect_comment,
        collect_static=collect_static,
        app_comment=" ".join(options.app.split()),
        image=options.container().image,
        base_image=base_image(options.python),
        python_version=options.python,
        copy_requirements=copy,
        pip_requirements=pip,
        workdir=APP_DIR,
        entrypoint=json.dumps(list(ENTRYPOINT)),
        command=json.dumps(options.command()),
    )
    return OutputFile("Dockerfile", content)


def dockerignore(options: DockerizeOptions) -> OutputFile:
    known = {".venv", "venv"}
    extra = [name for name in virtualenvs(options.project) if name not in known]
    lines = "".join(f"{name}\n" for name in extra)
    content = render("dockerignore.tmpl", defaults=dockerignore_lines(), virtualenvs=lines)
    return OutputFile(".dockerignore", content)


def vendor_requirements(options: DockerizeOptions) -> OutputFile:
    from fcmigrate.build.vendor import runtime_requirements

    lines = [
        "# Written by fcmigrate (`fcmigrate dockerize`), rewritten on every run: what the",
        "# vendored fcmigrate package beside this file needs to run.",
        *runtime_requirements(),
    ]
    if options.django_settings:
        lines += [
            "# WhiteNoise (a dependency of fcmigrate) serves Django's static files.",
            *_dependency("whitenoise"),
        ]
    if not requirement_files(options.project):
        app_requirements = [r for r in options.requirements if not _is_fcmigrate(r)]
        if app_requirements:
            lines += [
                "# The app's requirements (the project has no requirements.txt; run",
                "# `fcmigrate dockerize --force` again after changing them).",
                *app_requirements,
            ]
    return OutputFile(f"{VENDOR_DIR}/requirements.txt", "\n".join(lines) + "\n")


def _dependency(name: str) -> list[str]:
    """fcmigrate's requirement on ``name``, as its installed metadata gives it."""
    from fcmigrate.build.vendor import requirement_name

    try:
        requires = metadata.requires("fcmigrate") or []
    except metadata.PackageNotFoundError:
        requires = []
    found = [
        r.split(";")[0].strip()
        for r in requires
        if "extra ==" not in r and requirement_name(r).lower() == name
    ]
    return found or list(STATIC_FALLBACK)


def vendored_fcmigrate() -> list[OutputFile]:
    """A copy of the running fcmigrate package (code, templates, py.typed), as text files."""
    package = resources.files("fcmigrate")
    files: list[OutputFile] = []

    def walk(node: Traversable, rel: str) -> None:
        for child in sorted(node.iterdir(), key=lambda c: c.name):
            path = f"{rel}/{child.name}"
            if child.is_dir():
                if child.name != "__pycache__":
                    walk(child, path)
            elif not child.name.endswith((".pyc", ".pyo")):
                files.append(OutputFile(path, child.read_text(encoding="utf-8")))

    walk(package, f"{VENDOR_DIR}/fcmigrate")
    return files


def generate(options: DockerizeOptions) -> list[OutputFile]:
    """Every file dockerize writes: Dockerfile, .dockerignore, deploy config, vendored copy."""
    options.wrap_options().validate()
    if options.image is not None and not _IMAGE_OK.fullmatch(options.image):
        raise FCMigrateError(
            f"Invalid image {options.image!r}. Use an image address such as "
            "'registry.cn-hangzhou.aliyuncs.com/my-namespace/app:1.0'."
        )
    if not options.project.is_dir():
        raise FCMigrateError(
            f"The project folder {str(options.project)!r} does not exist. "
            "Use --out to name the folder that holds the app."
        )
    app = image_spec(options.app, options.project, options.requirements)
    options = dataclasses.replace(options, app=app)
    files = [dockerfile(options), dockerignore(options)]
    config = deploy_config(options.wrap_options(), options.container())
    if config is not None:
        files.append(config)
    files.append(vendor_requirements(options))
    files += vendored_fcmigrate()
    return files


def prune_vendored(project: Path, files: Sequence[OutputFile]) -> list[Path]:
    """Remove files of an older vendored fcmigrate that the current one no longer has."""
    package = project / VENDOR_DIR / "fcmigrate"
    keep = {project / f.path for f in files}
    removed = []
    for path in sorted(package.rglob("*"), reverse=True):
        if path.is_file() and path not in keep:
            path.unlink()
            removed.append(path)
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    return removed


def choose_python(explicit: str | None, detected: str | None, source: str | None) -> str:
    """``--python`` if given, else the project's own version if fcmigrate supports it."""
    if explicit:
        return check_python(explicit)
    if detected is None:
        return DEFAULT_PYTHON
    if detected not in PYTHONS:
        raise FCMigrateError(
            f"The project asks for Python {detected!r} ({source or 'detected'}), which "
            f"fcmigrate does not run on. Use one of: {', '.join(PYTHONS)}, e.g. "
            f"--python {DEFAULT_PYTHON}."
        )
    return detected
