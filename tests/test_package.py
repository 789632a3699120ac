"""The built wheel, not the checkout: it must carry the templates and work on its own.

A wheel is built from a copy of the project (so the checkout gets no ``build/`` folder),
unpacked, and ``python -m fcmigrate wrap`` is run from the unpacked files. A wheel without
its templates, or without ``py.typed``, fails here even though every checkout test passes.
"""

from __future__ import annotations

import shutil
import stat
import subprocess
import sys
import zipfile
from collections.abc import Mapping
from pathlib import Path

import pytest
from helpers import REPO, python_env

pytestmark = pytest.mark.slow

PACKAGE = REPO / "fcmigrate"
# What the build reads besides the package itself.
TOP_LEVEL = ("pyproject.toml", "README.md", "LICENSE", "CHANGELOG.md")

HELLO_APP = """\
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]
"""


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of what the build reads, taken once: the checkout may change meanwhile."""
    source = tmp_path_factory.mktemp("source")
    for name in TOP_LEVEL:
        if (REPO / name).exists():
            shutil.copy2(REPO / name, source / name)
    shutil.copytree(PACKAGE, source / "fcmigrate", ignore=shutil.ignore_patterns("__pycache__"))
    return source


@pytest.fixture(scope="module")
def wheel(source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    # pip's isolated build installs the build backend pyproject.toml asks for.
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    [built] = dist.glob("fcmigrate-*.whl")
    return built


@pytest.fixture(scope="module")
def unpacked(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("site")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)
    return target


def run(args: list[str], *, cwd: Path, pythonpath: Path) -> subprocess.CompletedProcess[str]:
    env: Mapping[str, str] = python_env({"PYTHONPATH": str(pythonpath)})
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=dict(env), capture_output=True, text=True, timeout=60
    )


def test_wheel_holds_every_template_and_py_typed(source: Path, wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    package = source / "fcmigrate"
    templates = sorted(p for p in (package / "build" / "templates").iterdir() if p.is_file())
    assert templates, "no templates in the checkout"
    for template in templates:
        assert f"fcmigrate/build/templates/{template.name}" in names
    assert "fcmigrate/py.typed" in names
    for module in package.glob("*.py"):
        assert f"fcmigrate/{module.name}" in names


def test_wheel_metadata(wheel: Path) -> None:
    archive = zipfile.ZipFile(wheel)
    [entry_points] = [n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt")]
    assert "fcmigrate = fcmigrate.cli:main" in archive.read(entry_points).decode()
    [metadata] = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
    text = archive.read(metadata).decode()
    assert "Requires-Python: >=3.10" in text
    assert "Requires-Dist: gunicorn>=23" in text
    assert "Requires-Dist: click" in text


def test_wrap_runs_from_the_unpacked_wheel(unpacked: Path, tmp_path: Path) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pkg_hello.py").write_text(HELLO_APP)

    where = run(
        ["-c", "import fcmigrate; print(fcmigrate.__file__)"], cwd=project, pythonpath=unpacked
    )
    assert where.returncode == 0, where.stderr
    assert (
        Path(where.stdout.strip()).resolve() == (unpacked / "fcmigrate" / "__init__.py").resolve()
    )

    result = run(["-m", "fcmigrate", "wrap", "pkg_hello:app"], cwd=project, pythonpath=unpacked)
    assert result.returncode == 0, result.stderr
    bootstrap = project / "bootstrap"
    assert bootstrap.read_text().startswith("#!/bin/bash\n")
    assert stat.S_IMODE(bootstrap.stat().st_mode) == 0o755
    assert "component: fc3" in (project / "s.yaml").read_text()


def test_wheel_without_templates_would_fail(unpacked: Path, tmp_path: Path) -> None:
    # The check above is real: the same wheel minus its templates cannot wrap.
    broken = tmp_path / "site"
    shutil.copytree(unpacked, broken)
    shutil.rmtree(broken / "fcmigrate" / "build" / "templates")
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pkg_hello.py").write_text(HELLO_APP)
    result = run(["-m", "fcmigrate", "wrap", "pkg_hello:app"], cwd=project, pythonpath=broken)
    assert result.returncode != 0
    assert not (project / "bootstrap").exists()
