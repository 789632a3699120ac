"""Reading a project's dependency list, in the forms real projects keep it.

:func:`read_requirements` looks, in this order, for:

``requirements.txt`` (else a production one: ``requirements/production.txt`` ...)
    with its ``-r`` includes (``-c``, ``-i``, ``--find-links`` and ``--hash`` lines are left
    to uv, which reads the file itself);
``uv.lock`` (beside a ``pyproject.toml``)
    exported by uv itself, pinned, without the project and its dev groups;
``Pipfile.lock``
    the ``default`` section, pinned, with its markers;
``pyproject.toml``
    PEP 621 ``[project] dependencies``, else Poetry's ``[tool.poetry.dependencies]`` with
    ``^`` and ``~`` constraints converted to ranges;
the one list in ``requirements/`` that is not for development
    whatever its name (``requirements/look`` beside ``requirements/test``);
``setup.cfg`` / ``setup.py``
    ``install_requires``, read without running ``setup.py`` (a list of strings, or a name
    bound to one at module level).

Only the project's own files are read. A requirements file that is not UTF-8 is an
:class:`FCMigrateError` with the fix. An editable line (``-e .``, ``-e git+URL#egg=name``)
reads as the regular requirement it names (:func:`editable_as_regular`): FC runs a copy of
the code, with no folder of this machine for an editable install to point at.
:func:`third_party_imports` lists what a project imports that is neither the standard
library nor its own, for the error when no list is found at all.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fcmigrate.errors import FCMigrateError

__all__ = [
    "editable_as_regular",
    "is_url",
    "left_out_group_providing",
    "missing_requirements_error",
    "names_anywhere",
    "poetry_constraint",
    "project_name",
    "read_requirements",
    "requirement_lines",
    "third_party_imports",
]

#: Requirements files, in the order they are looked for: the first one found is the list.
REQUIREMENTS_FILES = (
    "requirements.txt",
    "requirements/production.txt",
    "requirements/prod.txt",
    "requirements-production.txt",
    "requirements-prod.txt",
    "requirements/base.txt",
    "requirements/common.txt",
)
_INCLUDE = re.compile(r"(?:-r|--requirement)(?:\s+|=)(\S+)")
#: A requirement written as a shell argument: ``"Django>=4.2,<4.3"``.
_QUOTED = re.compile(r"(['\"])([A-Za-z0-9][^'\"\s]*)\1")
_EDITABLE = re.compile(r"(?:-e|--editable)(?:\s+|=)(\S+)")
#: Folders that hold no module of the app's own code.
_SKIPPED_DIRS = frozenset(
    {"tests", "test", "node_modules", "python", "build", "dist", "site-packages", "migrations"}
)


def read_requirements(root: Path) -> tuple[list[str], Path | None]:
    """Requirement strings, and the requirements file they came from (``None``: another list).

    With a file, uv reads the file itself (``-r``); the strings are for messages and checks.
    """
    for name in REQUIREMENTS_FILES:
        file = root / name
        if file.is_file():
            return requirement_lines(file), file
    if (root / "uv.lock").is_file() and (root / "pyproject.toml").is_file():
        return _uv_lock(root), None
    if (root / "Pipfile.lock").is_file():
        return _pipfile_lock(root / "Pipfile.lock"), None
    pyproject = read_toml(root / "pyproject.toml")
    project = pyproject.get("project")
    if isinstance(project, dict):
        deps = project.get("dependencies")
        if isinstance(deps, list) and all(isinstance(d, str) for d in deps):
            return _uv_path_sources(root, pyproject, [d.strip() for d in deps if d.strip()]), None
    poetry = pyproject.get("tool", {}).get("poetry", {}).get("dependencies")
    if isinstance(poetry, dict):
        return _poetry(poetry), None
    named = _requirements_folder_file(root)
    if named is not None:
        return requirement_lines(named), named
    return _setup_cfg(root / "setup.cfg") or _setup_py(root / "setup.py"), None


def _setup_cfg(file: Path) -> list[str]:
    """``[options] install_requires`` of a ``setup.cfg``."""
    import configparser

    if not file.is_file():
        return []
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(_utf8_or_replaced(file))
    except configparser.Error:
        return []
    value = parser.get("options", "install_requires", fallback="")
    lines = (re.sub(r"(^|\s)#.*", "", line).strip() for line in value.splitlines())
    return [line for line in lines if line]


def _setup_py(file: Path) -> list[str]:
    """The ``install_requires`` a ``setup.py`` passes to ``setup()``, read without running it:
    a list of strings, or a module-level name bound to one (``requires = [...]``)."""
    found = _setup_argument(file, "install_requires")
    return _string_list(*found) if found is not None else []


def _setup_argument(file: Path, keyword: str) -> tuple[ast.expr, dict[str, ast.expr]] | None:
    """The expression ``setup.py`` passes to ``setup()`` as ``keyword``, with the module-level
    names it may refer to; ``None`` without such a file, call or argument."""
    if not file.is_file():
        return None
    try:
        tree = ast.parse(_utf8_or_replaced(file))
    except (SyntaxError, ValueError):
        return None
    bound = {
        target.id: statement.value
        for statement in tree.body
        if isinstance(statement, ast.Assign)
        for target in statement.targets
        if isinstance(target, ast.Name)
    }
    for call in ast.walk(tree):
        if not isinstance(call, ast.Call):
            continue
        func = call.func
        called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if called != "setup":
            continue
        for argument in call.keywords:
            if argument.arg == keyword:
                return argument.value, bound
    return None


def project_name(root: Path) -> tuple[str, str] | None:
    """The project's own distribution name and the file that gives it (``pyproject.toml``'s
    ``[project]`` or ``[tool.poetry]``, ``setup.cfg``'s ``[metadata]``, ``setup.py``'s
    ``setup(name=...)``), read without running anything; ``None`` when none names it."""
    try:
        pyproject = read_toml(root / "pyproject.toml")
    except FCMigrateError:
        pyproject = {}
    for table in (_table(pyproject, "project"), _table(_table(pyproject, "tool"), "poetry")):
        name = table.get("name")
        if isinstance(name, str) and name.strip():
            return name.strip(), "pyproject.toml"
    setup_cfg = root / "setup.cfg"
    if setup_cfg.is_file():
        import configparser

        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read_string(_utf8_or_replaced(setup_cfg))
            name = parser.get("metadata", "name", fallback="").strip()
        except configparser.Error:
            name = ""
        if name:
            return name, "setup.cfg"
    found = _setup_argument(root / "setup.py", "name")
    if found is not None:
        node, bound = found
        if isinstance(node, ast.Name):
            node = bound.get(node.id, node)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.strip():
            return node.value.strip(), "setup.py"
    return None


def _string_list(node: ast.expr, bound: dict[str, ast.expr], depth: int = 0) -> list[str]:
    if isinstance(node, ast.Name) and node.id in bound and depth < 5:
        return _string_list(bound[node.id], bound, depth + 1)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add) and depth < 5:
        return _string_list(node.left, bound, depth + 1) + _string_list(
            node.right, bound, depth + 1
        )
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [e.value for e in node.elts if isinstance(e, ast.Constant)]
        return [item.strip() for item in items if isinstance(item, str) and item.strip()]
    return []


_NAME_AND_EXTRAS = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?")


def _uv_path_sources(root: Path, pyproject: dict[str, Any], deps: list[str]) -> list[str]:
    """``deps`` with those that ``[tool.uv.sources]`` takes from a local folder (``{ path =
    "../../" }``, a library's examples using its checkout) installed from that folder, as
    ``uv sync`` does, when it holds a Python project; else the index's release is built (a
    project folder copied out of the library's checkout)."""
    tool = pyproject.get("tool")
    uv = tool.get("uv") if isinstance(tool, dict) else None
    sources = uv.get("sources") if isinstance(uv, dict) else None
    if not isinstance(sources, dict):
        return deps
    folders = {
        re.sub(r"[-_.]+", "-", str(name)).lower(): (root / str(source["path"])).resolve()
        for name, source in sources.items()
        if isinstance(source, dict) and isinstance(source.get("path"), str)
    }
    result = []
    for dep in deps:
        match = _NAME_AND_EXTRAS.match(dep)
        folder = folders.get(re.sub(r"[-_.]+", "-", match.group(1)).lower()) if match else None
        if match is None or folder is None or not _is_python_project(folder):
            result.append(dep)
            continue
        marker = dep.split(";", 1)[1].strip() if ";" in dep else ""
        reference = f"{match.group(1)}{match.group(2) or ''} @ {folder.as_uri()}"
        result.append(f"{reference} ; {marker}" if marker else reference)
    return result


def _is_python_project(folder: Path) -> bool:
    return any((folder / name).is_file() for name in ("pyproject.toml", "setup.py", "setup.cfg"))


#: Names of the lists in a requirements/ folder that a production build leaves out.
_DEVELOPMENT_LISTS = frozenset(
    {
        "test", "tests", "testing", "dev", "develop", "development", "local", "docs", "doc",
        "lint", "linting", "ci", "typing", "mypy", "style", "debug", "tox", "coverage",
    }
)  # fmt: skip


def _requirements_folder_file(root: Path) -> Path | None:
    """The one list in ``requirements/`` that is not for development, whatever its name
    (``requirements/look`` beside ``requirements/test``), when no other list was found."""
    folder = root / "requirements"
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return None
    lists = [
        entry
        for entry in entries
        if entry.is_file()
        and not entry.name.startswith(".")
        and entry.suffix in ("", ".txt")
        and entry.stem.lower() not in _DEVELOPMENT_LISTS
    ]
    return lists[0] if len(lists) == 1 else None


def requirement_lines(file: Path, depth: int = 0, *, strict: bool = False) -> list[str]:
    """The requirement lines of a requirements file and the files it includes with ``-r``.

    An editable line gives the requirement it installs as a regular package
    (:func:`editable_as_regular`). ``strict`` (what a build for FC installs): a file that is
    not UTF-8 is an :class:`FCMigrateError` with the fix. Otherwise (``wrap``, ``dockerize``,
    ``doctor`` only read the list) undecodable bytes are replaced.
    """
    if strict:
        text = _utf8(file)
    else:
        text = _utf8_or_replaced(file)
    text = text.replace("\\\n", " ")
    result: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = re.sub(r"(^|\s)#.*", "", raw).strip()
        if not line:
            continue
        editable = _EDITABLE.match(line)
        if editable:
            line = editable_as_regular(editable.group(1))
        quoted = _QUOTED.fullmatch(line)
        if quoted and strict:
            raise FCMigrateError(
                f"{file.name} line {number}: {line} is in quotes, which pip and uv do not "
                f"read in a requirements file (they are for a shell). Write it without them: "
                f"{quoted.group(2)}"
            )
        include = _INCLUDE.match(line)
        if include:
            nested = file.parent / include.group(1)
            if depth < 10 and nested.is_file():
                result += requirement_lines(nested, depth + 1, strict=strict)
            continue
        if line.startswith("-"):
            continue  # uv options (--index-url, -c ...): uv reads them from the file itself
        # Per-requirement options (--hash) are uv's too; the strings are for messages.
        result.append(re.sub(r"\s+--\w[\w-]*(?:[=\s]+\S+)?", "", line).strip())
    return result


def _utf8_or_replaced(file: Path) -> str:
    try:
        return _utf8(file)
    except FCMigrateError:
        return file.read_bytes().decode("utf-8", errors="replace")


def _utf8(file: Path) -> str:
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise FCMigrateError(
            f"Cannot read {str(file)!r}: {exc.strerror or exc}. "
            f"Make it readable (chmod u+r {str(file)!r})."
        ) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        utf16 = data[:2] in (b"\xff\xfe", b"\xfe\xff")
        what = "UTF-16 (as PowerShell's '>' writes it)" if utf16 else "not UTF-8"
        raise FCMigrateError(
            f"{file.name} is {what}: byte 0x{data[exc.start]:02x} on line {line} cannot be "
            f"read. Save it as UTF-8 (e.g. 'iconv -f latin1 -t utf-8 {file.name}', or "
            "'pip freeze | Out-File -Encoding utf8 requirements.txt' in PowerShell)."
        ) from None


#: A URL's scheme, VCS prefix included: ``git+https:``, ``file:``.
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*[+:]")
#: The ``egg=name`` of a URL's fragment: the name pip gives what the URL installs.
_EGG = re.compile(r"#(?:.*&)?egg=([A-Za-z0-9][A-Za-z0-9._-]*)")


def is_url(target: str) -> bool:
    """Whether an editable line's ``target`` is a URL (``git+https://...``), not a folder."""
    return _SCHEME.match(target) is not None and not re.match(r"[A-Za-z]:[\\/]", target)


def editable_as_regular(target: str) -> str:
    """The requirement that installs ``-e target`` as a regular package: the folder itself,
    the URL itself, or ``name @ URL`` for a URL naming its package with ``#egg=name`` (as pip
    reads it; uv then names the package in what it says, and takes ``name`` from the index
    when the URL's host cannot be reached)."""
    egg = _EGG.search(target) if is_url(target) else None
    return f"{egg.group(1)} @ {target}" if egg else target


def read_toml(file: Path) -> dict[str, Any]:
    """``file`` parsed as TOML; ``{}`` when it does not exist; one-line errors."""
    if not file.is_file():
        return {}
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - the tests run on 3.11+
        try:
            import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]
        except ModuleNotFoundError:
            raise FCMigrateError(
                f"Reading {str(file)!r} needs Python 3.11 or the 'tomli' package. "
                "Run 'pip install tomli', or list the dependencies in requirements.txt."
            ) from None
    try:
        data: dict[str, Any] = tomllib.loads(_utf8(file))
    except tomllib.TOMLDecodeError as exc:
        raise FCMigrateError(
            f"{str(file)!r} is not valid TOML: {exc}. Fix the file, or move it aside."
        ) from None
    return data


def _uv_lock(root: Path) -> list[str]:
    """The locked, pinned requirements of a uv project, exported by uv (the app's only)."""
    from fcmigrate.build.vendor import uv_binary

    argv = [
        uv_binary(),
        "export",
        "--frozen",
        "--no-dev",
        "--no-emit-project",
        "--no-hashes",
        "--no-header",
        "--no-annotate",
        "--format",
        "requirements-txt",
        "--color",
        "never",
    ]
    try:
        proc = subprocess.run(
            argv,
            cwd=root,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env=dict(os.environ, UV_NO_SYNC="1"),
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise FCMigrateError(f"Cannot read uv.lock with uv: {exc}.") from None
    if proc.returncode != 0:
        reason = (proc.stderr.strip().splitlines() or ["uv failed"])[0]
        raise FCMigrateError(
            f"uv.lock cannot be read ({reason.removeprefix('error: ')}). Run 'uv lock' in the "
            "project, or list the dependencies in requirements.txt."
        )
    lines = [line.strip() for line in proc.stdout.splitlines()]
    return [line for line in lines if line and not line.startswith(("#", "-"))]


def _pipfile_lock(file: Path) -> list[str]:
    try:
        data = json.loads(_utf8(file))
        default = data["default"]
    except (ValueError, KeyError, TypeError):
        raise FCMigrateError(
            f"{file.name} is not a valid Pipfile.lock (no 'default' section). Run "
            "'pipenv lock', or list the dependencies in requirements.txt."
        ) from None
    result: list[str] = []
    for name, entry in sorted(default.items()):
        if not isinstance(entry, dict):
            continue
        extras = entry.get("extras")
        line = name + (f"[{','.join(extras)}]" if isinstance(extras, list) and extras else "")
        if isinstance(entry.get("version"), str):
            line += entry["version"]
        elif isinstance(entry.get("git"), str):
            ref = entry.get("ref")
            line = f"{name} @ git+{entry['git']}" + (f"@{ref}" if isinstance(ref, str) else "")
        if isinstance(entry.get("markers"), str):
            line += f"; {entry['markers']}"
        result.append(line)
    return result


def _poetry(dependencies: dict[str, Any]) -> list[str]:
    result: list[str] = []
    for name, value in dependencies.items():
        if name.lower() == "python":
            continue
        entry = value if isinstance(value, dict) else {"version": value}
        extras = entry.get("extras")
        line = name + (f"[{','.join(extras)}]" if isinstance(extras, list) and extras else "")
        if isinstance(entry.get("git"), str):
            line = f"{name} @ git+{entry['git']}"
            ref = entry.get("rev") or entry.get("tag") or entry.get("branch")
            line += f"@{ref}" if isinstance(ref, str) else ""
        elif isinstance(entry.get("version"), str):
            line += poetry_constraint(entry["version"])
        markers = entry.get("markers")
        python = entry.get("python")
        conditions = [markers] if isinstance(markers, str) else []
        if isinstance(python, str):
            conditions += [
                f'python_version {op} "{v}"' for op, v in _specifiers(poetry_constraint(python))
            ]
        if conditions:
            line += "; " + " and ".join(conditions)
        result.append(line)
    return result


def _specifiers(spec: str) -> Iterator[tuple[str, str]]:
    for part in filter(None, (p.strip() for p in spec.split(","))):
        match = re.match(r"(==|!=|<=|>=|<|>|~=)\s*(\S+)", part)
        if match:
            yield match.group(1), match.group(2)


def poetry_constraint(constraint: str) -> str:
    """A Poetry version constraint as a PEP 440 specifier: ``'^1.2'`` -> ``'>=1.2,<2.0'``.

    ``||`` alternatives cannot be expressed as one specifier: the first is kept.
    """
    parts = []
    for clause in re.split(r"\s*,\s*|\s+(?=[<>=!^~])", constraint.split("||")[0].strip()):
        clause = clause.strip()
        if not clause or clause == "*":
            continue
        if clause.startswith("^"):
            parts.append(_caret(clause[1:].strip()))
        elif clause.startswith("~") and not clause.startswith("~="):
            parts.append(_tilde(clause[1:].strip()))
        elif re.match(r"\d", clause):
            parts.append("==" + clause)
        else:
            parts.append(clause)
    return ",".join(parts)


def _numbers(version: str) -> list[int]:
    return [int(p) for p in re.findall(r"\d+", version.split("-")[0])[:3]]


def _caret(version: str) -> str:
    numbers = _numbers(version)
    first = next((i for i, n in enumerate(numbers) if n != 0), len(numbers) - 1)
    upper = [*numbers[:first], numbers[first] + 1]
    upper += [0] * (max(len(numbers), 2) - len(upper))
    return f">={version},<{'.'.join(map(str, upper))}"


def _tilde(version: str) -> str:
    numbers = _numbers(version)
    if len(numbers) == 1:
        upper = [numbers[0] + 1]
    else:
        upper = [numbers[0], numbers[1] + 1]
    upper += [0] * (max(len(numbers), 2) - len(upper))
    return f">={version},<{'.'.join(map(str, upper))}"


# --- what the project imports -------------------------------------------------------------


def third_party_imports(root: Path) -> list[str]:
    """Top-level modules the project imports that are neither stdlib nor its own, sorted.

    Imports inside ``try: ... except ImportError`` are optional and left out; so are tests.
    """
    own = _own_modules(root)
    found: set[str] = set()
    for file in _python_files(root):
        try:
            tree = ast.parse(file.read_bytes(), filename=str(file))
        except (SyntaxError, ValueError, OSError):
            continue
        optional = _optional_imports(tree)
        for node in ast.walk(tree):
            if node in optional:
                continue
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    return sorted(m for m in found if m not in stdlib and m not in own and m != "fcmigrate")


def _optional_imports(tree: ast.Module) -> set[ast.AST]:
    optional: set[ast.AST] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Try):
            continue
        names = [ast.unparse(h.type) for h in node.handlers if h.type is not None]
        if any("ImportError" in n or "ModuleNotFoundError" in n for n in names):
            for stmt in node.body:
                optional.update(ast.walk(stmt))
    return optional


def _own_modules(root: Path) -> set[str]:
    own: set[str] = set()
    for folder in (root, root / "src"):
        if not folder.is_dir():
            continue
        for entry in folder.iterdir():
            if entry.suffix == ".py":
                own.add(entry.stem)
            elif entry.is_dir() and not entry.name.startswith("."):
                # Namespace folders count too: 'import templates.x' is the project's own.
                if any(entry.glob("*.py")) or (entry / "__init__.py").exists():
                    own.add(entry.name)
    return own


def names_anywhere(root: Path, name: str) -> bool:
    """Whether any of the project's own Python files (tests left out) names ``name``, in an
    import or a string (``worker_class = "gevent"`` in gunicorn.conf.py)."""
    word = re.compile(rf"\b{re.escape(name)}\b")
    for file in _python_files(root):
        try:
            if word.search(file.read_text(encoding="utf-8", errors="replace")):
                return True
        except OSError:
            continue
    return False


def _python_files(root: Path) -> Iterator[Path]:
    for folder, dirs, files in os.walk(root):
        dirs[:] = [
            d
            for d in dirs
            if not d.startswith((".", "__"))
            and d not in _SKIPPED_DIRS
            and not (Path(folder, d) / "pyvenv.cfg").exists()
        ]
        for name in files:
            if not name.endswith(".py") or name in ("setup.py", "conftest.py"):
                continue
            if name.startswith("test_") or name.endswith("_test.py"):
                continue
            yield Path(folder, name)


def missing_requirements_error(root: Path) -> FCMigrateError | None:
    """With no dependency list in ``root``: the error naming what its code imports, if any."""
    modules = third_party_imports(root)
    if not modules:
        return None
    shown = ", ".join(modules[:12]) + (" ..." if len(modules) > 12 else "")
    return FCMigrateError(
        f"The project lists no dependencies, but its code imports {shown}, which FC does not "
        "have. List them (their package names, e.g. 'Flask' for flask) in requirements.txt "
        "in the project folder, or in [project] dependencies in pyproject.toml, and run again."
    )


def left_out_group_providing(root: Path, module: str) -> tuple[str, str] | None:
    """``(requirement, where)`` when ``module`` is installed by a development group of the
    project's ``pyproject.toml`` (``[dependency-groups]``, uv's ``dev-dependencies``,
    Poetry's groups), which a build leaves out as ``uv sync --no-dev`` does: the reason an
    import that works in a ``uv sync`` or ``poetry install`` environment fails in the build.
    """
    from fcmigrate.build.facts import requirement_providing

    try:
        data = read_toml(root / "pyproject.toml")
    except FCMigrateError:
        return None
    groups: dict[str, object] = {}
    dependency_groups = data.get("dependency-groups")
    if isinstance(dependency_groups, dict):
        groups.update({f"dependency group {k!r}": v for k, v in dependency_groups.items()})
    tool = _table(data, "tool")
    uv = _table(tool, "uv")
    if "dev-dependencies" in uv:
        groups["[tool.uv] dev-dependencies"] = uv["dev-dependencies"]
    poetry = _table(tool, "poetry")
    if isinstance(poetry.get("dev-dependencies"), dict):
        groups["[tool.poetry.dev-dependencies]"] = list(poetry["dev-dependencies"])
    poetry_groups = poetry.get("group")
    if isinstance(poetry_groups, dict):
        for name, group in poetry_groups.items():
            if isinstance(group, dict) and isinstance(group.get("dependencies"), dict):
                groups[f"Poetry group {name!r}"] = list(group["dependencies"])
    for where, lines in groups.items():
        if not isinstance(lines, list):
            continue
        texts = [line for line in lines if isinstance(line, str)]
        provider = requirement_providing(module, texts)
        if provider is not None:
            line = next((t for t in texts if t.startswith(provider)), provider)
            return line, where
    return None


def _table(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}
