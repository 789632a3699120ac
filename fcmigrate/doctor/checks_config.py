"""Checks on the deploy config: triggers, domains, package size, timeout, runtime."""

from __future__ import annotations

import math
import os
import zlib
from collections.abc import Iterator
from pathlib import Path

from fcmigrate.build.package import (
    API_UPLOAD_BYTES,
    MAX_PACKAGE_BYTES,
    IgnoreRules,
    human_size,
)
from fcmigrate.deployconfig import DeployConfig, FunctionConfig
from fcmigrate.doctor.checks_source import timeout_hints
from fcmigrate.doctor.checks_start import finding_place, worker_timeout
from fcmigrate.doctor.model import Finding, check, rule
from fcmigrate.doctor.project import Project

CONFIG_INVALID = rule(
    "FC400",
    "config-invalid",
    "error",
    why="Serverless Devs and fun refuse a deploy config they cannot parse, so nothing deploys "
    "(and doctor cannot check the rest of it).",
    fix="fcmigrate wrap app:app --force   # writes a valid s.yaml",
)
TRIGGER_METHODS = rule(
    "FC401",
    "trigger-methods",
    "warning",
    why="FC answers 403 to methods not in the HTTP trigger's list: without HEAD and OPTIONS, "
    "health probes and every CORS preflight fail.",
    fix="methods: [GET, POST, PUT, DELETE, PATCH, HEAD, OPTIONS]",
)
FORCED_DOWNLOAD = rule(
    "FC402",
    "forced-download",
    "warning",
    why="On FC's default domains FC adds 'Content-Disposition: attachment' to responses, so "
    "browsers download HTML pages instead of showing them; a custom domain avoids it.",
    fix="resources:\n  domain:\n    component: fc3-domain\n    props:\n"
    "      region: ${vars.region}\n      domainName: auto\n      protocol: HTTP\n"
    "      routeConfig:\n        routes:\n          - path: /*\n            functionName: app",
)
PACKAGE_SIZE = rule(
    "FC403",
    "package-size",
    "error",
    why="FC rejects a code package (the zip as uploaded) over 500 MB, and uploads through "
    "the API stop at 100 MB.",
    fix="List what FC does not need in .fcignore (e.g. .venv/, tests/, docs/), or move large "
    "dependencies into a layer.",
    severity_note="warning between 100 MB and 500 MB",
)
TIMEOUT_SHORT = rule(
    "FC404",
    "timeout-short",
    "warning",
    why="FC ends a request when the function timeout expires (3 s when the config sets none), "
    "so work the code says may take longer is cut off with an error.",
    fix="timeout: 120   # in s.yaml, seconds: at least what the longest request needs",
)
OLD_RUNTIME = rule(
    "FC405",
    "old-runtime",
    "warning",
    why="The 'custom' runtime is Debian 9 with Python 3.7, which fcmigrate (3.10+) and current "
    "Flask and Django do not support.",
    fix="runtime: custom.debian10   # Python 3.10",
)

_ALWAYS_IGNORED = frozenset({".git", ".s"})


@check
def check_configs(project: Project) -> Iterator[Finding]:
    for config in project.configs:
        if config.error:
            yield CONFIG_INVALID.finding(
                f"{config.file} {config.error}.", file=config.file, line=config.error_line
            )
            continue
        for function in config.functions:
            yield from _methods(function)
            if function.runtime == "custom" and function.runtime_line is not None:
                yield OLD_RUNTIME.finding(
                    f"Function {function.function!r} uses runtime 'custom' (Debian 9, Python 3.7).",
                    file=function.file,
                    line=function.runtime_line,
                    fix=_key(config.kind, "runtime") + ": custom.debian10   # Python 3.10",
                )
        yield from _forced_download(config)


def _key(kind: str, name: str) -> str:
    """A config key in the spelling of a config of ``kind``: fun's template.yml capitalises."""
    return name.capitalize() if kind == "fun" else name


def _methods(function: FunctionConfig) -> Iterator[Finding]:
    for trigger in function.triggers:
        if trigger.methods is None:
            continue
        missing = [m for m in ("HEAD", "OPTIONS") if m not in trigger.methods]
        if missing:
            methods = trigger.methods + missing
            yield TRIGGER_METHODS.finding(
                f"HTTP trigger {trigger.name!r} of {function.function!r} allows "
                f"{', '.join(trigger.methods) or 'no method'} but not {' or '.join(missing)}.",
                file=function.file,
                line=trigger.methods_line or trigger.line,
                fix=f"{_key(function.kind, 'methods')}: [{', '.join(methods)}]",
            )


def _forced_download(config: DeployConfig) -> Iterator[Finding]:
    if config.has_custom_domain:
        return
    for function in config.functions:
        if function.triggers:
            trigger = function.triggers[0]
            yield FORCED_DOWNLOAD.finding(
                f"{config.file} has an HTTP trigger for {function.function!r} "
                "but no custom domain.",
                file=config.file,
                line=trigger.line,
                fix=_domain_fix(config, function),
            )
            return


def _domain_fix(config: DeployConfig, function: FunctionConfig) -> str:
    if config.kind == "fc2":
        return (
            "customDomains:   # under the function's props\n"
            "  - domainName: auto\n    protocol: HTTP\n    routeConfigs:\n      - path: /*"
        )
    if config.kind == "fun":
        return (
            "Resources:\n  www.example.com:   # your domain, CNAME to FC\n"
            "    Type: 'Aliyun::Serverless::CustomDomain'\n    Properties:\n"
            "      Protocol: HTTP\n      RouteConfig:\n        Routes:\n          '/*':\n"
            f"            ServiceName: <service>\n            FunctionName: {function.function}"
        )
    return FORCED_DOWNLOAD.fix.replace("functionName: app", f"functionName: {function.function}")


#: A zip's bytes per file besides the data: local header, central directory entry (plus the
#: name in both) and the end record's share.
_ZIP_ENTRY_BYTES = 30 + 46
_ZIP_END_BYTES = 22
#: Folders ``fcmigrate migrate`` rebuilds rather than copies: the vendored ``python/``, and
#: ``.fcmigrate/`` where it writes the build.
_REBUILT = frozenset({"python", ".fcmigrate"})


def _rules(folder: Path, like_migrate: bool) -> IgnoreRules:
    """``.fcignore``; with ``like_migrate``, on top of what migrate always leaves out."""
    path = folder / ".fcignore"
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        lines = []
    return IgnoreRules(lines, defaults=like_migrate)


def package_files(folder: Path, *, like_migrate: bool) -> Iterator[tuple[str, Path]]:
    """(zip name, file) for what would be uploaded from ``folder``.

    Always without ``.git``, ``.s`` and what ``.fcignore`` lists. ``like_migrate``: as
    ``fcmigrate migrate`` copies a project, also without its default exclusions (caches,
    virtualenvs, secrets: :data:`fcmigrate.build.exclude.DEFAULT_EXCLUDES`) and the top-level
    ``python/`` it rebuilds.
    """
    rules = _rules(folder, like_migrate)
    for current, dirs, files in os.walk(folder):
        here = Path(current)
        rel_here = here.relative_to(folder).as_posix()
        prefix = "" if rel_here == "." else rel_here + "/"

        dirs[:] = sorted(d for d in dirs if _kept(here, prefix, d, rules, like_migrate))
        for name in sorted(files):
            if not rules.ignored(prefix + name, False):
                yield prefix + name, here / name


def _kept(here: Path, prefix: str, name: str, rules: IgnoreRules, like_migrate: bool) -> bool:
    """Whether the folder ``here/name`` (``prefix + name`` in the package) is uploaded."""
    if not prefix and name in _ALWAYS_IGNORED:
        return False
    if like_migrate and (
        (not prefix and name in _REBUILT) or (here / name / "pyvenv.cfg").is_file()
    ):
        return False
    return not rules.ignored(prefix + name, True)


def _deflated(path: Path) -> int | None:
    """Bytes ``path`` takes in a zip deflated as ``fcmigrate migrate`` writes it (level 6)."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    size = 0
    try:
        with path.open("rb") as f:
            while chunk := f.read(1024 * 1024):
                size += len(compressor.compress(chunk))
    except OSError:
        return None
    return size + len(compressor.flush())


def package_size(
    folder: Path, *, like_migrate: bool = False, over: int = 0
) -> tuple[int, dict[str, int]]:
    """Bytes of the zip FC would receive from ``folder``, and the bytes per top-level entry.

    Files are compressed (in memory, nothing is written) only when they add up to more than
    ``over`` bytes on disk: a zip is never much larger than its files. Until then the sizes
    on disk are returned.
    """
    files: list[tuple[str, Path, int]] = []
    for name, path in package_files(folder, like_migrate=like_migrate):
        try:
            files.append((name, path, path.stat().st_size))
        except OSError:
            continue
    compress = sum(size for _, _, size in files) > over
    per_entry: dict[str, int] = {}
    total = _ZIP_END_BYTES if compress else 0
    for name, path, size in files:
        if compress:
            deflated = _deflated(path)
            if deflated is None:
                continue
            size = min(size, deflated) + _ZIP_ENTRY_BYTES + 2 * len(name.encode("utf-8"))
        total += size
        top = name.split("/", 1)[0]
        per_entry[top] = per_entry.get(top, 0) + size
    return total, per_entry


@check
def check_package_size(project: Project) -> Iterator[Finding]:
    folders = {f.code_dir for f in project.functions if f.code_dir and f.code_dir.is_dir()}
    # Without a deploy config the folder is what 'fcmigrate migrate' would package; a build
    # it made is uploaded as it is.
    like_migrate = not folders and not project.migrate_build
    for folder in sorted(folders or {project.root}):
        total, per_entry = package_size(folder, like_migrate=like_migrate, over=API_UPLOAD_BYTES)
        if total <= API_UPLOAD_BYTES:
            continue
        biggest = [
            (name, size)
            for name, size in sorted(per_entry.items(), key=lambda kv: -kv[1])[:3]
            if size * 20 >= total
        ]
        largest = ", ".join(f"{name} {human_size(size)}" for name, size in biggest)
        rel = project.rel(folder)
        what = f"The code folder {rel!r}" if rel else "The project folder"
        over = total > MAX_PACKAGE_BYTES
        limit = "FC's 500 MB limit" if over else "the 100 MB limit of API uploads"
        yield PACKAGE_SIZE.finding(
            f"{what} zips to {human_size(total)} (largest, zipped: {largest}), over {limit}.",
            file=rel or None,
            severity="error" if over else "warning",
        )


@check
def check_timeout(project: Project) -> Iterator[Finding]:
    functions = project.functions
    if not functions:
        return
    function = min(functions, key=lambda f: f.timeout)
    limit = function.timeout
    where = (
        f"{function.file}:{function.timeout_line}"
        if function.timeout_line
        else f"{function.file} sets none, so FC's default"
    )
    fix = f"{_key(function.kind, 'timeout')}: {{}}   # seconds, in {function.file}"
    for command in project.start_commands:
        launch = project.launch(command)
        if launch is None or launch.kind not in ("gunicorn", "fcmigrate"):
            continue
        found = worker_timeout(project, command, launch)
        if found is None or found[1] <= limit:
            continue
        setting, seconds = found
        file, line = finding_place(command, setting)
        yield TIMEOUT_SHORT.finding(
            f"gunicorn's worker timeout ({seconds:g} s, {setting.source}) is longer than "
            f"the function timeout of {limit} s ({where}).",
            file=file,
            line=line,
            fix=fix.format(math.ceil(seconds) + 5),
        )
    for hint in timeout_hints(project):
        if hint.seconds >= limit:
            yield TIMEOUT_SHORT.finding(
                f"{hint.what} may take {hint.seconds:g} s, but the function timeout is {limit} s "
                f"({where}).",
                file=hint.file,
                line=hint.line,
                fix=fix.format(math.ceil(hint.seconds) + 10),
            )
