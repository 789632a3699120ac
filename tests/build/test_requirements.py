"""The dependency lists fcmigrate reads, the errors about them, and the runtime choice."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_vendor_uv import BACKEND, make_wheel

from fcmigrate.build import vendor
from fcmigrate.build.facts import read_requirements as detect_read_requirements
from fcmigrate.build.migrate import choose_runtime
from fcmigrate.build.requirements import (
    poetry_constraint,
    read_requirements,
    requirement_lines,
    third_party_imports,
)

TINY_APP = """\
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"tiny"]
"""


def run_migrate(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fcmigrate", "migrate", str(project), "-q", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def one_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("Error: ")
    return lines[0]


@pytest.mark.parametrize(
    ("poetry", "pep440"),
    [
        ("^1.2.3", ">=1.2.3,<2.0.0"),
        ("^1.2", ">=1.2,<2.0"),
        ("^0.2.3", ">=0.2.3,<0.3.0"),
        ("^0.0.3", ">=0.0.3,<0.0.4"),
        ("~1.2.3", ">=1.2.3,<1.3.0"),
        ("~1.2", ">=1.2,<1.3"),
        ("~1", ">=1,<2.0"),
        ("~=1.4", "~=1.4"),
        ("*", ""),
        ("1.4.2", "==1.4.2"),
        (">=2.0,<3.0", ">=2.0,<3.0"),
        (">=2.0 <3.0", ">=2.0,<3.0"),
        ("^2.0 || ^3.0", ">=2.0,<3.0"),
    ],
)
def test_poetry_constraints(poetry: str, pep440: str) -> None:
    assert poetry_constraint(poetry) == pep440


def test_poetry_dependencies(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.poetry.dependencies]\n"
        'python = "^3.10"\n'
        'Flask = "^2.3"\n'
        'requests = { version = "~2.31", extras = ["socks"] }\n'
        'tomli = { version = "^2.0", python = "<3.11" }\n'
        'mylib = { git = "https://example.com/mylib.git", tag = "v1" }\n'
    )
    assert detect_read_requirements(tmp_path) == (
        [
            "Flask>=2.3,<3.0",
            "requests[socks]>=2.31,<2.32",
            'tomli>=2.0,<3.0; python_version < "3.11"',
            "mylib @ git+https://example.com/mylib.git@v1",
        ],
        None,
    )


def test_pep621_dependencies_come_before_poetry(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\ndependencies = ["Flask>=3"]\n'
        '[tool.poetry.dependencies]\nDjango = "^5"\n'
    )
    assert read_requirements(tmp_path) == (["Flask>=3"], None)


def test_pipfile_lock(tmp_path: Path) -> None:
    lock = {
        "_meta": {"sources": [{"url": "https://pypi.org/simple"}]},
        "default": {
            "flask": {"version": "==3.0.3", "hashes": ["sha256:00"]},
            "colorama": {"version": "==0.4.6", "markers": "platform_system == 'Windows'"},
            "requests": {"version": "==2.32.3", "extras": ["socks"]},
        },
        "develop": {"pytest": {"version": "==8.0.0"}},
    }
    (tmp_path / "Pipfile.lock").write_text(json.dumps(lock))
    assert read_requirements(tmp_path) == (
        [
            "colorama==0.4.6; platform_system == 'Windows'",
            "flask==3.0.3",
            "requests[socks]==2.32.3",
        ],
        None,
    )


def test_uv_lock_is_exported_without_the_project_and_dev_groups(tmp_path: Path) -> None:
    links = tmp_path / "links"
    make_wheel(links, "runtime-dep", "1.4.0")
    make_wheel(links, "dev-tool", "2.0.0")
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "shop"\nversion = "0.1.0"\nrequires-python = ">=3.10"\n'
        'dependencies = ["runtime-dep>=1"]\n'
        '[dependency-groups]\ndev = ["dev-tool"]\n'
    )
    subprocess.run(
        [vendor.uv_binary(), "lock", "--no-index", "--find-links", str(links), "--quiet"],
        cwd=project,
        check=True,
        timeout=120,
    )
    assert read_requirements(project) == (["runtime-dep==1.4.0"], None)


def test_requirements_file_includes(tmp_path: Path) -> None:
    (tmp_path / "req").mkdir()
    (tmp_path / "req" / "base.txt").write_text("flask>=3  # web\n")
    (tmp_path / "requirements.txt").write_text(
        "-r req/base.txt\n-c constraints.txt\n--index-url https://example.com/simple\n"
        "redis==5.0.1 \\\n    --hash=sha256:00\n"
    )
    lines, file = read_requirements(tmp_path)
    assert file == tmp_path / "requirements.txt"
    assert lines == ["flask>=3", "redis==5.0.1"]


def test_non_utf8_requirements_give_one_error_line(tmp_path: Path) -> None:
    project = tmp_path / "tiny"
    project.mkdir()
    (project / "app.py").write_text(TINY_APP)
    (project / "requirements.txt").write_bytes("# café\nflask\n".encode("latin-1"))
    error = one_error(run_migrate(project, "--out", str(tmp_path / "build")))
    assert error == (
        "Error: requirements.txt is not UTF-8: byte 0xe9 on line 1 cannot be read. Save it as "
        "UTF-8 (e.g. 'iconv -f latin1 -t utf-8 requirements.txt', or 'pip freeze | Out-File "
        "-Encoding utf8 requirements.txt' in PowerShell)."
    )
    assert not (tmp_path / "build").exists()


def test_editable_install_of_the_project_builds_it_as_a_regular_package(
    tmp_path: Path,
) -> None:
    # flaskbb/flaskbb ends its requirements.txt with '-e .'.
    project = tmp_path / "tiny"
    (project / "tinyforum").mkdir(parents=True)
    (project / "tinyforum" / "__init__.py").write_text("")
    (project / "app.py").write_text("import tinyforum\n" + TINY_APP)
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n'
    )
    (project / "backend.py").write_text(
        BACKEND.format(name="tinyforum", version="0.1", mode="pure")
    )
    (project / "requirements.txt").write_text("-e .\n")
    out = tmp_path / "build"
    proc = run_migrate(project, "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert (out / "python" / "tinyforum-0.1.dist-info").is_dir()
    assert (
        "Note: requirements.txt line 1: '-e .' was installed as a regular (non-editable) "
        "package, since FC's code folder is a copy: an editable install would point at a "
        "folder of this machine." in proc.stdout
    )


@pytest.mark.parametrize(
    ("line", "read"),
    [
        ("-e .", "."),
        ("--editable ./libs/tool", "./libs/tool"),
        ("--editable=./libs/tool", "./libs/tool"),
        (
            "-e git+https://example.org/x.git#egg=x-lib",
            "x-lib @ git+https://example.org/x.git#egg=x-lib",
        ),
        (
            "-e git+https://example.org/x.git@v1#subdirectory=py&egg=x",
            "x @ git+https://example.org/x.git@v1#subdirectory=py&egg=x",
        ),
        ("-e git+https://example.org/x.git", "git+https://example.org/x.git"),
    ],
)
@pytest.mark.parametrize("strict", [True, False])
def test_an_editable_line_reads_as_the_regular_requirement(
    tmp_path: Path, line: str, read: str, strict: bool
) -> None:
    (tmp_path / "base.txt").write_text(f"flask\n{line}  # the project\n")
    (tmp_path / "requirements.txt").write_text("-r base.txt\n")
    assert requirement_lines(tmp_path / "requirements.txt", strict=strict) == ["flask", read]


def test_a_requirement_in_quotes_gives_one_error_line(tmp_path: Path) -> None:
    """devmahmud/Django-Poll-App's requirements.txt: a line copied from a shell command."""
    project = tmp_path / "tiny"
    project.mkdir()
    (project / "app.py").write_text(TINY_APP)
    (project / "requirements.txt").write_text('flask\n"Django>=4.2,<4.3"\n')
    error = one_error(run_migrate(project, "--out", str(tmp_path / "build")))
    assert error == (
        'Error: requirements.txt line 2: "Django>=4.2,<4.3" is in quotes, which pip and uv do '
        "not read in a requirements file (they are for a shell). Write it without them: "
        "Django>=4.2,<4.3"
    )
    assert not (tmp_path / "build").exists()


def test_no_dependency_list_names_the_imported_packages(tmp_path: Path) -> None:
    project = tmp_path / "shop"
    (project / "shop").mkdir(parents=True)
    (project / "tests").mkdir()
    (project / "app.py").write_text(
        "import os, json\nimport requests\nfrom flask import Flask\nfrom shop import views\n"
        "try:\n    import ujson\nexcept ImportError:\n    ujson = None\n"
        "app = Flask(__name__)\n"
    )
    (project / "shop" / "__init__.py").write_text("")
    (project / "shop" / "views.py").write_text("from . import models\nimport redis.client\n")
    (project / "tests" / "test_app.py").write_text("import pytest\n")
    assert third_party_imports(project) == ["flask", "redis", "requests"]
    error = one_error(run_migrate(project, "--out", str(tmp_path / "build")))
    assert error == (
        "Error: The project lists no dependencies, but its code imports flask, redis, "
        "requests, which FC does not have. List them (their package names, e.g. 'Flask' for "
        "flask) in requirements.txt in the project folder, or in [project] dependencies in "
        "pyproject.toml, and run again."
    )


# --- the runtime follows the Python ---------------------------------------------------------


def test_runtime_follows_the_target_python() -> None:
    assert choose_runtime(None, "3.10", "default") == ("custom.debian10", None)
    runtime, note = choose_runtime(None, "3.12", ".python-version")
    assert runtime == "custom.debian12"
    assert note is not None and "/var/fc/lang/python3.12" in note
    assert choose_runtime("custom.debian11", "3.11", "--python")[0] == "custom.debian11"


def test_explicit_runtime_that_cannot_run_the_python_is_refused(tmp_path: Path) -> None:
    project = tmp_path / "tiny"
    project.mkdir()
    (project / "app.py").write_text(TINY_APP)
    (project / ".python-version").write_text("3.12\n")
    out = tmp_path / "build"
    error = one_error(run_migrate(project, "--out", str(out), "--runtime", "custom.debian10"))
    assert error == (
        "Error: --runtime custom.debian10 runs Python 3.10, but the build is for Python 3.12 "
        "(.python-version): it would not start there. Drop --runtime (fcmigrate then picks "
        "custom.debian12 for Python 3.12), or build for Python 3.10 with --python 3.10."
    )
    assert not out.exists()


def test_python_version_file_picks_the_runtime(tmp_path: Path) -> None:
    project = tmp_path / "tiny"
    project.mkdir()
    (project / "app.py").write_text(TINY_APP)
    (project / ".python-version").write_text("3.12\n")
    out = tmp_path / "build"
    proc = run_migrate(project, "--out", str(out), "--no-precompile")
    assert proc.returncode == 0, proc.stderr
    assert "runtime: custom.debian12" in (out / "s.yaml").read_text()
    assert "Note: FC does not document the Python of custom.debian12" in proc.stdout
    # gunicorn came as a wheel the target loads (pure Python), for 3.12.
    assert list((out / "python").glob("gunicorn-*.dist-info"))


def test_reading_alone_is_lenient(tmp_path: Path) -> None:
    """wrap, dockerize and doctor only read the list: the build is where this is an error."""
    (tmp_path / "requirements.txt").write_bytes("# café\nflask\n-e .\n".encode("latin-1"))
    assert read_requirements(tmp_path) == (["flask", "."], tmp_path / "requirements.txt")


def test_a_production_requirements_file_when_there_is_no_requirements_txt(
    tmp_path: Path,
) -> None:
    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements" / "base.txt").write_text("Django>=4.2\n")
    (tmp_path / "requirements" / "local.txt").write_text("-r base.txt\ndjango-debug-toolbar\n")
    (tmp_path / "requirements" / "production.txt").write_text("-r base.txt\ngunicorn>=23\n")
    assert read_requirements(tmp_path) == (
        ["Django>=4.2", "gunicorn>=23"],
        tmp_path / "requirements" / "production.txt",
    )


def test_the_one_list_in_a_requirements_folder_whatever_its_name(tmp_path: Path) -> None:
    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements" / "gallery").write_text("falcon>=3\nmsgpack\n")
    (tmp_path / "requirements" / "test").write_text("pytest\n")
    assert read_requirements(tmp_path) == (
        ["falcon>=3", "msgpack"],
        tmp_path / "requirements" / "gallery",
    )
    # Two lists for production: which one is the app's is not for fcmigrate to guess.
    (tmp_path / "requirements" / "worker.txt").write_text("celery\n")
    assert read_requirements(tmp_path) == ([], None)


def test_a_uv_path_source_is_installed_from_its_folder(tmp_path: Path) -> None:
    """A library's example takes the library from its checkout two folders up, as `uv sync`
    does there; copied out of the checkout, the index's release is what there is."""
    project = tmp_path / "examples" / "notes"
    project.mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        '[project]\nname = "notes"\nversion = "0"\n'
        'dependencies = ["Note_Lib[extra]>=2", "flask; python_version >= \'3.8\'"]\n'
        '[tool.uv.sources]\nnote-lib = { path = "../../", editable = true }\n'
        'flask = { path = "../../vendor/flask" }\n'
    )
    assert read_requirements(project) == (
        ["Note_Lib[extra]>=2", "flask; python_version >= '3.8'"],
        None,
    )
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "note-lib"\nversion = "2.1"\n')
    (tmp_path / "vendor" / "flask").mkdir(parents=True)
    (tmp_path / "vendor" / "flask" / "setup.py").write_text("")
    assert read_requirements(project) == (
        [
            f"Note_Lib[extra] @ {tmp_path.resolve().as_uri()}",
            f"flask @ {(tmp_path / 'vendor' / 'flask').resolve().as_uri()} ; "
            "python_version >= '3.8'",
        ],
        None,
    )


# --- the Python the requirement markers ask for ---------------------------------------------


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        # Django only from 3.12 on, nothing for older Pythons: the build needs 3.12.
        (
            ['Flask==3.1.3; python_version >= "3.9"', 'Django==6.0.5; python_version >= "3.12"'],
            ("3.12", 'Django==6.0.5; python_version >= "3.12"'),
        ),
        # A lock's two releases, one per range: every Python has one.
        (
            [
                "numpy==2.2.6 ; python_full_version < '3.11'",
                "numpy==2.3.1 ; python_full_version >= '3.11'",
            ],
            None,
        ),
        # A backport no supported Python installs, a Windows-only package: no floor.
        (['enum34==1.1.10; python_version < "3.4"', 'pywin32==306; sys_platform == "win32"'], None),
        (["flask==3.1.3", 'requests==2.34.2; python_version >= "3.10"'], None),
        # Nothing that every package shares.
        (['a==1; python_version < "3.11"', 'b==1; python_version >= "3.12"'], None),
    ],
)
def test_the_python_the_requirement_markers_ask_for(
    lines: list[str], expected: tuple[str, str] | None
) -> None:
    from fcmigrate.build.facts import python_from_markers

    assert python_from_markers(lines) == expected


def test_an_undeclared_python_follows_the_requirement_markers(tmp_path: Path) -> None:
    from fcmigrate.build.detect import detect_app
    from fcmigrate.build.migrate import target_python

    (tmp_path / "app.py").write_text(TINY_APP)
    (tmp_path / "requirements.txt").write_text('Django==6.0.5; python_version >= "3.12"\n')
    assert target_python(None, detect_app(tmp_path)) == (
        "3.12",
        "the requirement 'Django==6.0.5; python_version >= \"3.12\"'",
    )
    # A Python the project names still wins.
    (tmp_path / ".python-version").write_text("3.13\n")
    assert target_python(None, detect_app(tmp_path))[0] == "3.13"
