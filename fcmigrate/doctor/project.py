"""The project folder as the checks see it: files, parsed source, configs, start commands.

Everything is read lazily and once; nothing in the folder is ever written.
"""

from __future__ import annotations

import ast
import hashlib
import os
import re
import stat
import sys
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from fcmigrate import fc
from fcmigrate.deployconfig import (
    DeployConfig,
    FunctionConfig,
    all_functions,
    is_unresolved,
    read_configs,
)
from fcmigrate.doctor import deps, pysource
from fcmigrate.doctor.commands import (
    Launch,
    StartCommand,
    analyze,
    bootstrap_commands,
    dockerfile_commands,
    procfile_commands,
)
from fcmigrate.doctor.probe import ProbeResult, probe_environment, run_probe
from fcmigrate.errors import FCMigrateError
from fcmigrate.runtime.paths import is_under

#: Folders that are never the app's own source, at any depth.
SKIP_DIRS = frozenset({"__pycache__", "node_modules", "site-packages", "tests", "test"})
#: Folders skipped at the top of the project only: vendored packages and build output.
SKIP_TOP_DIRS = frozenset({"python", "build", "dist"})
#: Top-level folders of scripts people run by hand.
_SCRIPT_DIRS = frozenset({"scripts", "bin", "tools"})
_TEST_FILE = re.compile(r"(test_.*|.*_test|conftest|tests)\.py")
#: Folders of tests beside ``tests/``: ``tests_e2e``, ``integration_tests``.
_TEST_DIR = re.compile(r"tests?_\w+|\w+_tests")
_SETTINGS_SETDEFAULT = re.compile(
    r"""setdefault\(\s*["']DJANGO_SETTINGS_MODULE["']\s*,\s*["']([\w.]+)["']\s*\)"""
)
#: Start files run when no command is configured: FC's custom runtime, Tencent SCF's.
BOOTSTRAP_NAMES = ("bootstrap", "scf_bootstrap")


@dataclass(frozen=True)
class EnvValue:
    """Where a deploy config sets an environment variable (its value is not kept)."""

    file: str
    line: int | None
    #: ``${env('NAME')}`` that could not be resolved here: known only at deploy time.
    deferred: bool


class Project:
    """A project folder. Paths handed to checks and findings are relative, ``/``-separated."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.notes: list[str] = []
        self._texts: dict[str, str | None] = {}
        self._trees: dict[str, ast.Module | None] = {}
        self.syntax_errors: dict[str, SyntaxError] = {}

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Project:
        """The project at ``path``; a missing or unreadable folder is a one-line error."""
        root = Path(path).expanduser()
        if not root.exists():
            raise FCMigrateError(
                f"Project folder {str(path)!r} does not exist. "
                "Give the folder that holds the app, e.g. 'fcmigrate doctor .'."
            )
        if not root.is_dir():
            raise FCMigrateError(
                f"{str(path)!r} is not a folder. Give the project folder, "
                f"e.g. 'fcmigrate doctor {root.parent}'."
            )
        try:
            with os.scandir(root) as entries:
                next(entries, None)
        except OSError as exc:
            raise FCMigrateError(
                f"Cannot read the project folder {str(path)!r}: {exc.strerror or exc}."
            ) from None
        return cls(root.resolve())

    # --- files -----------------------------------------------------------------------------

    def rel(self, path: Path) -> str:
        try:
            rel = path.resolve().relative_to(self.root).as_posix()
        except ValueError:
            return str(path)
        return "" if rel == "." else rel

    def path(self, rel: str) -> Path:
        return self.root / rel

    def text(self, rel: str) -> str | None:
        """The file's text (``None`` if missing or unreadable); line endings kept."""
        if rel not in self._texts:
            try:
                with open(self.path(rel), encoding="utf-8", errors="replace", newline="") as f:
                    self._texts[rel] = f.read()
            except OSError:
                self._texts[rel] = None
        return self._texts[rel]

    def tree(self, rel: str) -> ast.Module | None:
        """The parsed module, or ``None`` (syntax errors are kept in :attr:`syntax_errors`)."""
        if rel not in self._trees:
            text = self.text(rel)
            tree: ast.Module | None = None
            if text is not None:
                try:
                    tree = ast.parse(text, filename=rel)
                except SyntaxError as exc:
                    self.syntax_errors[rel] = exc
                except ValueError:  # null bytes, on Pythons before 3.12
                    pass
            self._trees[rel] = tree
        return self._trees[rel]

    def is_file(self, rel: str) -> bool:
        return self.path(rel).is_file()

    def own_folders(self, skip: Collection[str] = SKIP_DIRS) -> Iterator[tuple[Path, list[str]]]:
        """(folder, its file names, sorted) for the project's own folders: no hidden ones,
        none named in ``skip``, no virtualenvs, and no vendored top-level ``python/``."""
        for folder, dirs, files in os.walk(self.root):
            here = Path(folder)
            top = here == self.root
            dirs[:] = sorted(
                d
                for d in dirs
                if not d.startswith(".")
                and d not in skip
                and not _TEST_DIR.fullmatch(d)
                and not (top and d in SKIP_TOP_DIRS)
                and not (d == "python" and not (here / d / "__init__.py").exists())
                and not (here / d / "pyvenv.cfg").exists()
            )
            yield here, sorted(files)

    @cached_property
    def python_files(self) -> list[str]:
        """The app's own ``.py`` files: no virtualenvs, vendored packages, caches or tests."""
        return [
            (here / name).relative_to(self.root).as_posix()
            for here, files in self.own_folders()
            for name in files
            if name.endswith(".py") and not _TEST_FILE.fullmatch(name)
        ]

    def trees(self) -> list[tuple[str, ast.Module]]:
        result = []
        for rel in self.python_files:
            tree = self.tree(rel)
            if tree is not None:
                result.append((rel, tree))
        return result

    def module_file(self, dotted: str, cwd: str = "") -> str | None:
        """The project file for module ``dotted`` imported from ``cwd``, if it is the project's."""
        if not re.fullmatch(r"[A-Za-z_][\w]*(\.[A-Za-z_]\w*)*", dotted):
            return None
        base = "/".join(p for p in (cwd, dotted.replace(".", "/")) if p)
        for rel in (f"{base}.py", f"{base}/__init__.py"):
            if self.is_file(rel):
                return rel
        return None

    def local_file(self, token: str, cwd: str = "") -> str | None:
        """A script named in a start command (``app.py``, ``/code/app.py``) as a project file."""
        candidate = token
        if candidate.startswith("/code/"):
            candidate = candidate[len("/code/") :]
        elif candidate.startswith("./"):
            candidate = candidate[2:]
        parts = [p for p in candidate.split("/") if p]
        # A container's WORKDIR (/app, /srv/app) is not known: try shorter tails.
        for start in range(len(parts)):
            rel = "/".join(p for p in (cwd, *parts[start:]) if p)
            if rel and self.is_file(rel):
                return rel
            if not candidate.startswith("/"):
                break
        return None

    # --- deploy configs ----------------------------------------------------------------------

    @cached_property
    def configs(self) -> list[DeployConfig]:
        return read_configs(self.root)

    @cached_property
    def functions(self) -> list[FunctionConfig]:
        return list(all_functions(self.configs))

    @property
    def main_function(self) -> FunctionConfig | None:
        """The function whose environment the app is imported with: the first one found."""
        return self.functions[0] if self.functions else None

    @property
    def config_name(self) -> str:
        """The deploy config whose environment the project is imported with, for messages."""
        function = self.main_function
        return function.file if function else "the deploy config (there is none)"

    @cached_property
    def code_dir(self) -> str:
        """The project-relative folder FC unpacks as ``/code`` (``""`` for the root)."""
        function = self.main_function
        if function and function.code_dir and function.code_dir != self.root:
            rel = self.rel(function.code_dir)
            if not rel.startswith("/") and self.path(rel).is_dir():
                return rel
        return ""

    @cached_property
    def code_path(self) -> Path:
        """The local folder FC unpacks as ``/code``."""
        return self.path(self.code_dir)

    @cached_property
    def env_digests(self) -> dict[str, EnvValue]:
        """sha256 of each ``environmentVariables`` value -> where it is set (the first place).

        A secret the imported app holds is matched against these, never compared as text.
        """
        found: dict[str, EnvValue] = {}
        for function in self.functions:
            for key, value in function.environment.items():
                digest = hashlib.sha256(value.encode("utf-8")).hexdigest()
                line = function.environment_lines.get(key)
                found.setdefault(digest, EnvValue(function.file, line, is_unresolved(value)))
        return found

    @cached_property
    def trusts_fc_hosts(self) -> FunctionConfig | None:
        """The function whose config sets ``FCMIGRATE_TRUST_FC_HOSTS=1``, if any."""
        return next((f for f in self.functions if f.trusts_fc_hosts), None)

    @cached_property
    def writable_dirs(self) -> tuple[str, ...]:
        """Absolute folders an app may write on FC: /tmp and configured NAS/OSS mounts."""
        mounts = {d for f in self.functions for d in f.mount_dirs}
        return (pysource.TMP, *sorted(mounts))

    def writable_dir(self, path: str) -> str | None:
        """The folder of :attr:`writable_dirs` that the absolute FC ``path`` is in, if any."""
        return next((folder for folder in self.writable_dirs if is_under(path, folder)), None)

    # --- bootstraps and start commands ---------------------------------------------------------

    @cached_property
    def bootstraps(self) -> list[str]:
        """Start files FC executes that exist: ``bootstrap`` and a configured ``/code/<file>``."""
        found: list[str] = []

        def add(rel: str) -> None:
            if rel not in found and self.is_file(rel):
                found.append(rel)

        dirs = {self.rel(f.code_dir) if f.code_dir else "" for f in self.functions}
        dirs.add(self.code_dir)
        for folder in sorted(dirs):
            for name in BOOTSTRAP_NAMES:
                add(f"{folder}/{name}" if folder else name)
        for function in self.functions:
            start = function.command[0] if function.is_custom and function.command else ""
            name = start.removeprefix("/code/")
            if start.startswith("/code/") and "/" not in name and function.code_dir:
                add(self.rel(function.code_dir / name))
        return found

    def starters(self, rel: str) -> list[FunctionConfig]:
        """The functions that FC starts by executing the start file ``rel``."""
        name = rel.rpartition("/")[2]
        return [
            f
            for f in self.functions
            if f.is_custom
            and (
                (not f.command and name == "bootstrap")
                or (f.command and f.command[0].rpartition("/")[2] == name)
            )
        ]

    def bootstrap_is_python(self, rel: str) -> bool:
        first = (self.text(rel) or "").split("\n", 1)[0]
        return first.startswith("#!") and "python" in first

    @cached_property
    def config_runs_bootstrap(self) -> bool:
        """Whether a deploy config (s.yaml, template.yml) starts the app with a start file."""
        return any(self.starters(rel) for rel in self.bootstraps)

    @cached_property
    def migrate_build(self) -> bool:
        """Whether the code folder is a build ``fcmigrate migrate`` made: fcmigrate vendored
        in ``python/`` and a start file beside it."""
        vendored = self.code_path / "python" / "fcmigrate" / "__init__.py"
        return vendored.is_file() and any(
            self.is_file(f"{self.code_dir}/{name}" if self.code_dir else name)
            for name in BOOTSTRAP_NAMES
        )

    @cached_property
    def start_commands(self) -> list[StartCommand]:
        commands: list[StartCommand] = []
        for rel in self.bootstraps:
            folder = rel.rpartition("/")[0]
            users = self.starters(rel)
            ports = frozenset(f.port for f in users) or frozenset({fc.PORT})
            env = users[0].environment if users else {}
            text = self.text(rel) or ""
            if self.bootstrap_is_python(rel):
                commands.append(StartCommand(rel, 1, ("python3", rel), folder, ports, env))
                continue
            for line, argv in bootstrap_commands(text):
                commands.append(StartCommand(rel, line, tuple(argv), folder, ports, env))
        for function in self.functions:
            if function.command and not (function.uses_bootstrap and len(function.command) == 1):
                commands.append(
                    StartCommand(
                        function.file,
                        function.command_line or function.line,
                        tuple(function.command),
                        self.rel(function.code_dir) if function.code_dir else "",
                        frozenset({function.port}),
                        function.environment,
                    )
                )
        containers = [f for f in self.functions if f.is_container]
        # A deploy config whose functions are not containers does not run the Dockerfile.
        if self.is_file("Dockerfile") and (containers or not self.functions):
            ports = frozenset(f.port for f in containers) or frozenset({fc.PORT})
            env = containers[0].environment if containers else {}
            for line, argv in dockerfile_commands(self.text("Dockerfile") or ""):
                commands.append(StartCommand("Dockerfile", line, tuple(argv), "", ports, env))
        # A Procfile is Heroku's; FC runs what the deploy config says.
        if self.is_file("Procfile") and not self.config_runs_bootstrap:
            for line, argv in procfile_commands(self.text("Procfile") or ""):
                commands.append(StartCommand("Procfile", line, tuple(argv), ""))
        return commands

    def launch(self, command: StartCommand) -> Launch | None:
        return analyze(command.argv)

    def spec_module(self, spec: str, cwd: str = "") -> str | None:
        """The project file of the module an app spec imports (``pkg.wsgi:app`` -> file)."""
        module = spec.partition(":")[0].strip()
        return self.module_file(module, cwd) if module else None

    def imports_django(self, rel: str) -> bool:
        tree = self.tree(rel)
        if tree is None:
            return False
        return any(name.split(".")[0] == "django" for name, _ in pysource.imported_modules(tree))

    # --- Django and the import probe -----------------------------------------------------------

    @cached_property
    def django_settings(self) -> str | None:
        """The settings module FC would use, from the config, manage.py or a wsgi.py."""
        function = self.main_function
        if function and function.environment.get("DJANGO_SETTINGS_MODULE"):
            return function.environment["DJANGO_SETTINGS_MODULE"]
        base = self.code_dir
        # FC serves the WSGI module, whose setdefault() wins over manage.py's (which names
        # the settings of management commands, often the development ones).
        candidates: list[str] = []
        for command in self.start_commands:
            launch = self.launch(command)
            if launch and launch.app_spec:
                module = self.spec_module(launch.app_spec, command.cwd)
                if module:
                    candidates.append(module)
        candidates += [f for f in self.python_files if f.endswith("wsgi.py") and f.count("/") <= 2]
        candidates.append(f"{base}/manage.py" if base else "manage.py")
        for rel in candidates:
            match = _SETTINGS_SETDEFAULT.search(self.text(rel) or "")
            if match:
                return match.group(1)
        return None

    @cached_property
    def run_by_hand(self) -> frozenset[str]:
        """Project files the server never imports, which people run by hand: Django
        management commands and files in a top-level ``scripts/``, ``bin/`` or ``tools/``
        folder. A write in them fails only when someone runs them on FC."""
        base = f"{self.code_dir}/" if self.code_dir else ""
        return frozenset(
            rel
            for rel in self.python_files
            if "/management/commands/" in f"/{rel}"
            or rel.removeprefix(base).split("/")[0] in _SCRIPT_DIRS
        )

    @cached_property
    def newer_python(self) -> tuple[str, str] | None:
        """The project's Python (``'3.14'``, where it is stated) when it is newer than the one
        running doctor, whose parser may refuse syntax the project's Python accepts."""
        from fcmigrate.build.facts import read_python_version

        try:
            version, source = read_python_version(self.code_path)
        except (FCMigrateError, OSError, ValueError):
            return None
        if not version or not source:
            return None
        major, _, minor = version.partition(".")
        if not (major.isdigit() and minor.isdigit()):
            return None
        if (int(major), int(minor)) <= sys.version_info[:2]:
            return None
        return version, source

    @cached_property
    def is_django(self) -> bool:
        """Whether the project is a Django one: a settings module, or a Django ``manage.py``."""
        return bool(self.django_settings) or any(
            rel.split("/")[-1] == "manage.py" and "django" in (self.text(rel) or "")
            for rel in self.python_files
        )

    @cached_property
    def django_root(self) -> str:
        """The folder the settings module is imported from: the code folder, its ``src/``
        (a src layout), or the folder of the ``manage.py`` (or the ``wsgi.py``'s package)
        that names it, when the Django project is in a subfolder."""
        name = self.django_settings
        base = self.code_dir
        if not name:
            return base
        folders = [base, "/".join(p for p in (base, "src") if p)]
        for rel in self.python_files:
            if rel.endswith("manage.py") or rel.endswith("wsgi.py"):
                if _SETTINGS_SETDEFAULT.search(self.text(rel) or ""):
                    parts = rel.split("/")[:-1]
                    if rel.endswith("wsgi.py") and parts:
                        parts = parts[:-1]
                    folders.append("/".join(parts))
        for folder in folders:
            if (folder == base or folder.startswith(f"{base}/") or not base) and self.module_file(
                name, folder
            ):
                return folder
        return base

    @cached_property
    def django_settings_file(self) -> str | None:
        name = self.django_settings
        return self.module_file(name, self.django_root) if name else None

    @cached_property
    def app_specs(self) -> list[str]:
        """App specs the start commands serve that are safe to import here.

        Django's WSGI module is left out (its settings are imported instead), and so is a
        module that starts a server when imported.
        """
        specs: list[str] = []
        for command in self.start_commands:
            launch = self.launch(command)
            if not launch or not launch.app_spec or launch.kind == "dev":
                continue
            module = self.spec_module(launch.app_spec, command.cwd)
            if (
                module
                and not self.imports_django(module)
                and not self.runs_server_at_import(module)
            ):
                if launch.app_spec not in specs:
                    specs.append(launch.app_spec)
        return specs

    def runs_server_at_import(self, rel: str) -> bool:
        """Whether importing ``rel`` would start a server (and so must not be imported)."""
        tree = self.tree(rel)
        if tree is None:
            return True
        return any(context.at_import for _, context, _ in pysource.dev_server_calls(tree))

    @cached_property
    def requirements(self) -> frozenset[str]:
        """The normalized names of the requirements the project lists."""
        return deps.requirement_names(self.code_path) or deps.requirement_names(self.root)

    @cached_property
    def build_packages(self) -> Path | None:
        """The vendored ``python/`` of the build ``fcmigrate migrate`` made of this project."""
        folder = self.root / ".fcmigrate" / "build" / "python"
        return folder if (folder / "fcmigrate").is_dir() else None

    def missing_dependency(self, error: str) -> str | None:
        """The listed (or vendored) package whose absence here made an import fail, if any."""
        module = deps.missing_module(error)
        if module is None or self.module_file(module, self.code_dir):
            return None
        vendored = [p for p in (self.code_path / "python", self.build_packages) if p]
        return module if deps.is_listed(module, self.requirements, vendored) else None

    def failed_in_this_environment(self, what: str, outcome: dict[str, Any]) -> bool:
        """Whether a migrate build's import failed inside a package of doctor's environment
        and also with the build's own packages first (made for FC's Python); if so, say it
        in a note: ``fcmigrate migrate`` checked that import with FC's Python."""
        if not outcome.get("environment") or not self.migrate_build:
            return False
        self.notes.append(
            f"{what} could not be imported here ({outcome['error']}): that is a package of "
            f"this Python's environment (Python {sys.version_info[0]}.{sys.version_info[1]}), "
            "and the build's own packages are made for FC's Python. 'fcmigrate migrate' "
            "checked this import with FC's Python when it made the build."
        )
        return True

    def failed_on_deploy_time_values(self, what: str, outcome: dict[str, Any]) -> bool:
        """Whether an import failed only for want of the values the deploy config reads at
        deploy time (``${env('DATABASE_URL')}`` with ``DATABASE_URL`` unset in this shell);
        if so, say it in a note: doctor cannot judge that import."""
        function = self.main_function
        if function is None or not outcome.get("deploy_time"):
            return False
        names = function.unset_environment
        self.notes.append(
            f"{what} could not be imported here ({outcome['error']}), and the failure depends on "
            f"{', '.join(names)}, which {function.file} sets at deploy time and this shell "
            f"does not: export {'it' if len(names) == 1 else 'them'} and run 'fcmigrate doctor' "
            "again to check the import with the real values."
        )
        return True

    def import_note(self, what: str, module: str) -> None:
        """Say that ``what`` could not be imported here for want of ``module``."""
        self.notes.append(
            f"{what} could not be imported here: {module!r}, which the project lists, is not "
            "installed in this Python. Install the requirements "
            "(pip install -r requirements.txt) or run 'fcmigrate migrate' first; meanwhile "
            "only what can be read from the source is checked."
        )

    @cached_property
    def probe(self) -> ProbeResult:
        env = probe_environment(self.code_path, self.main_function)
        result = self._run_probe(env)
        if self.build_packages is not None and self._lacks_dependencies(result):
            # Try again with the packages of the migrate build: they are what FC will have.
            env["PYTHONPATH"] = str(self.build_packages)
            retry = self._run_probe(env)
            if result.django is not None and self._lacks(result.django):
                result.django = retry.django
            for spec, outcome in result.apps.items():
                if self._lacks(outcome) and spec in retry.apps:
                    result.apps[spec] = retry.apps[spec]
        self._retry_with_vendored_first(result, env)
        self._mark_deploy_time_failures(result, env)
        return result

    def _retry_with_vendored_first(self, result: ProbeResult, env: dict[str, str]) -> None:
        """In a migrate build, an import that failed inside a package of doctor's own
        environment (a newer Flask or SQLAlchemy than the build pins) is tried again with
        the build's ``python/`` before them; the build's packages are what FC runs."""
        if not (self.code_path / "python").is_dir():
            return
        failed = [
            o
            for o in (result.django, *result.apps.values())
            if o is not None and "site-packages" in str(o.get("error", "")) and not self._lacks(o)
        ]
        if not failed:
            return
        retry = self._run_probe(env, vendored_first=True)
        if result.django is not None and any(result.django is f for f in failed):
            if retry.django is not None and "error" not in retry.django:
                result.django = retry.django
        for spec, outcome in list(result.apps.items()):
            again = retry.apps.get(spec)
            if any(outcome is f for f in failed) and again is not None and "error" not in again:
                result.apps[spec] = again
        for outcome in failed:
            # Neither way imports: the build's wheels are for FC's Python, not this one.
            outcome["environment"] = True

    def _mark_deploy_time_failures(self, result: ProbeResult, env: dict[str, str]) -> None:
        """Mark (``deploy_time``) the imports that failed with stand-ins for the values the
        deploy config reads at deploy time and succeed with them empty, or with one of them
        unset: the failure depends on values doctor does not know."""
        unset = self.main_function.unset_environment if self.main_function else []
        failed = [
            o
            for o in (result.django, *result.apps.values())
            if o is not None and "error" in o and not self._lacks(o)
        ]
        if not unset or not failed:
            return
        # All empty, then each one unset (a few at most): what the app's fallback expects.
        stand_ins = [{**env, **dict.fromkeys(unset, "")}]
        stand_ins += [{k: v for k, v in env.items() if k != name} for name in unset[:3]]
        for stand_in in stand_ins:
            retry = self._run_probe(stand_in)
            pairs = [(result.django, retry.django)]
            pairs += [(outcome, retry.apps.get(spec)) for spec, outcome in result.apps.items()]
            for outcome, other in pairs:
                if outcome is not None and any(outcome is f for f in failed):
                    if other is not None and "ok" in other:
                        outcome["deploy_time"] = True
            if all(f.get("deploy_time") for f in failed):
                return

    def _run_probe(self, env: dict[str, str], *, vendored_first: bool = False) -> ProbeResult:
        return run_probe(
            self.code_path,
            env,
            django_settings=self.django_settings,
            app_specs=self.app_specs,
            import_paths=self._import_paths,
            vendored_first=vendored_first,
        )

    @property
    def _import_paths(self) -> list[Path]:
        """Folders put before the code folder on ``sys.path``: the Django project's own."""
        return [self.path(self.django_root)] if self.django_root != self.code_dir else []

    def _lacks(self, outcome: dict[str, object]) -> bool:
        error = outcome.get("error")
        return isinstance(error, str) and self.missing_dependency(error) is not None

    def _lacks_dependencies(self, result: ProbeResult) -> bool:
        outcomes = [result.django, *result.apps.values()]
        return any(o is not None and self._lacks(o) for o in outcomes)

    # --- file modes ------------------------------------------------------------------------

    def mode(self, rel: str) -> int | None:
        try:
            return stat.S_IMODE(self.path(rel).stat().st_mode)
        except OSError:
            return None
