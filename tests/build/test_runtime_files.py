"""What a build carries of fcmigrate: the modules ``serve`` imports, and nothing else."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import fcmigrate
from fcmigrate.build.runtime_files import RUNTIME_MODULES, copy_runtime, runtime_files

PACKAGE = Path(fcmigrate.__file__).parent
ENTRY_POINTS = ("__init__", "__main__", "runtime.serve")


def _is_optional(handler_types: ast.expr | None) -> bool:
    names = {"ImportError", "ModuleNotFoundError"}
    if isinstance(handler_types, ast.Name):
        return handler_types.id in names
    if isinstance(handler_types, ast.Tuple):
        return any(isinstance(e, ast.Name) and e.id in names for e in handler_types.elts)
    return False


def _module(dotted: str) -> set[str]:
    """``runtime.middleware`` -> itself and the package ``__init__``s importing it runs."""
    parts = dotted.split(".")
    found = {".".join([*parts[:i], "__init__"]) for i in range(len(parts))}
    if (PACKAGE / (dotted.replace(".", "/") + ".py")).is_file():
        found.add(dotted)
    return found


def fcmigrate_imports(module: str) -> set[str]:
    """fcmigrate modules ``module`` imports anywhere (in functions too), except imports
    guarded by ``except ImportError`` (optional: the runtime works without them)."""
    tree = ast.parse((PACKAGE / (module.replace(".", "/") + ".py")).read_text(encoding="utf-8"))
    optional: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(_is_optional(h.type) for h in node.handlers):
            optional |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in optional:
            continue
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "fcmigrate" or node.module.startswith("fcmigrate."):
                inner = node.module.removeprefix("fcmigrate").lstrip(".")
                found |= _module(inner) if inner else {"__init__"}
                # `from fcmigrate.runtime import paths` names a module, not only a name.
                for alias in node.names:
                    found |= _module(f"{inner}.{alias.name}" if inner else alias.name) & {
                        f"{inner}.{alias.name}" if inner else alias.name
                    }
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("fcmigrate."):
                    found |= _module(alias.name.removeprefix("fcmigrate."))
    return found


def test_runtime_modules_are_exactly_what_serve_can_import() -> None:
    reached: set[str] = set()
    todo = list(ENTRY_POINTS)
    while todo:
        module = todo.pop()
        if module not in reached:
            reached.add(module)
            todo += fcmigrate_imports(module)
    assert sorted(reached) == sorted(RUNTIME_MODULES)


def test_the_runtime_is_small() -> None:
    total = sum(path.stat().st_size for path in runtime_files())
    everything = sum(path.stat().st_size for path in PACKAGE.rglob("*.py"))
    assert total <= 150 * 1024, total
    assert total < everything / 2


def test_copy_runtime_replaces_an_older_copy(tmp_path: Path) -> None:
    (tmp_path / "fcmigrate" / "doctor").mkdir(parents=True)
    (tmp_path / "fcmigrate" / "local.py").write_text("old")
    (tmp_path / "fcmigrate-0.0.1.dist-info").mkdir()
    dest = copy_runtime(tmp_path)
    copied = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    assert copied == sorted(m.replace(".", "/") + ".py" for m in RUNTIME_MODULES)
    assert not (tmp_path / "fcmigrate-0.0.1.dist-info").exists()
    middleware = "runtime/middleware.py"
    assert (dest / middleware).read_bytes() == (PACKAGE / middleware).read_bytes()


#: Run in a child: fcmigrate's build side, click and PyYAML cannot be imported there.
BLOCKED_CHILD = """
import importlib, runpy, sys
from importlib.abc import MetaPathFinder

RUNTIME = set({runtime!r})

class Blocker(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        top, _, rest = name.partition(".")
        if top in ("click", "yaml") or (top == "fcmigrate" and rest and rest != "runtime"
                                         and rest not in RUNTIME):
            raise ModuleNotFoundError(f"blocked: {{name}}", name=name)
        return None

sys.meta_path.insert(0, Blocker())
for module in sorted(RUNTIME - {{"__main__", "__init__"}}):
    importlib.import_module("fcmigrate." + module.removesuffix(".__init__"))
from fcmigrate import FCContext, FCMiddleware, request_id
sys.argv = ["fcmigrate", *sys.argv[1:]]
runpy.run_module("fcmigrate", run_name="__main__", alter_sys=True)
"""


def _blocked(*args: str) -> subprocess.CompletedProcess[str]:
    code = textwrap.dedent(BLOCKED_CHILD).format(runtime=sorted(RUNTIME_MODULES))
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60
    )


def test_the_runtime_imports_and_serves_with_the_build_side_blocked() -> None:
    done = _blocked("serve", "--help")
    assert done.returncode == 0, done.stderr
    assert "usage: fcmigrate serve" in done.stdout
    done = _blocked("serve", "no_such_module_here:app")
    assert done.returncode == 2
    assert done.stderr.startswith("Error: ") and "Traceback" not in done.stderr


def test_the_runtime_says_it_runs_only_serve() -> None:
    done = _blocked("migrate", ".")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "Error: this copy of fcmigrate is the runtime a build carries: it runs only "
        "'python -m fcmigrate serve APP'. Install fcmigrate for its other commands."
    ]


def test_a_function_without_jobs_or_static_files_loads_only_what_it_uses() -> None:
    code = (
        "import sys\n"
        "from fcmigrate import FCMiddleware\n"
        "from fcmigrate.runtime.serve import build_parser\n"
        "FCMiddleware(lambda environ, start_response: [])\n"
        "print(sorted(m for m in sys.modules if m.startswith('fcmigrate')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    loaded = done.stdout
    for lazy in ("jobs", "staticserve", "staticmap", "django_tags", "import_errors", "loader"):
        assert f"'fcmigrate.runtime.{lazy}'" not in loaded, lazy
