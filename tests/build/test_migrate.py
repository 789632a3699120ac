"""``fcmigrate migrate``: real uv runs, real builds, and the build served by a bare Python.

The Flask and Django builds are made once per module and shared; uv's own cache serves
the packages after the first download. The proof the issue asks for: the built folder,
started with ``env -i PATH=/usr/bin:/bin ./bootstrap`` by a system ``python3`` that has no
Flask, Django or gunicorn, serves the app: everything comes from ``python/``.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from helpers import (
    DJANGO_SAMPLE,
    FLASK_SAMPLE,
    TINY_WHEEL_BODY,
    build_tiny_wheel,
    free_port,
    old_wheel,
)

from fcmigrate.build import package, vendor
from fcmigrate.build.package import (
    IgnoreRules,
    human_size,
    make_zip,
    precompile,
    remove_foreign_bytecode,
)
from fcmigrate.build.runtime_files import RUNTIME_MODULES
from fcmigrate.cli import main

pytestmark = pytest.mark.slow

SYSTEM_PYTHON = Path("/usr/bin/python3")
BARE_PATH = "PATH=/usr/bin:/bin"
TINY_APP = """\
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"tiny"]
"""


# --- helpers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bare:
    """A Python without the apps' dependencies, and the env -i words that select it."""

    python: str
    version: str
    env: tuple[str, ...]


def _version(python: str) -> str:
    out = subprocess.run(
        [python, "-I", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def _imports(python: str, module: str) -> bool:
    proc = subprocess.run(
        ["env", "-i", BARE_PATH, python, "-c", f"import {module}"],
        cwd="/",  # not the checkout, whose fcmigrate/ folder -c would import
        capture_output=True,
        check=False,
    )
    return proc.returncode == 0


@pytest.fixture(scope="module")
def bare() -> Bare:
    """/usr/bin/python3 (what the bootstrap finds on PATH=/usr/bin:/bin), else the base
    interpreter of this venv, chosen with FCMIGRATE_PYTHON."""
    if SYSTEM_PYTHON.exists() and _version(str(SYSTEM_PYTHON)) in ("3.10", "3.11", "3.12", "3.13"):
        chosen = Bare(str(SYSTEM_PYTHON), _version(str(SYSTEM_PYTHON)), ())
    else:
        base = str(Path(sys.base_prefix) / "bin" / "python3")
        chosen = Bare(base, _version(base), (f"FCMIGRATE_PYTHON={base}",))
    for module in ("flask", "django", "gunicorn", "fcmigrate"):
        # The proof is void if the bare interpreter could import these on its own.
        assert not _imports(chosen.python, module), f"{chosen.python} can import {module}"
    return chosen


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fcmigrate", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=600,
        check=False,
    )


def snapshot(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def leftovers(folder: Path) -> list[str]:
    """Staging folders, temporary zips and work folders migrate may have left behind."""
    return sorted(p.name for p in folder.iterdir() if ".tmp-" in p.name or "fcmigrate-" in p.name)


def tiny_project(base: Path, requirements: str | None = None) -> Path:
    project = base / "tiny"
    project.mkdir()
    (project / "app.py").write_text(TINY_APP)
    if requirements is not None:
        (project / "requirements.txt").write_text(requirements)
    return project


def assert_nothing_written(base: Path, out: Path) -> None:
    assert not out.exists()
    assert not (out.parent / "code.zip").exists()
    if out.parent.exists():
        assert leftovers(out.parent) == []
    assert leftovers(base) == []


def get(url: str, timeout: float = 10) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def bytecode_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("__pycache__/*.pyc"))


@dataclass(frozen=True)
class Build:
    project: Path
    out: Path
    zip_path: Path
    proc: subprocess.CompletedProcess[str]
    before: dict[str, str]


def _build(base: Path, sample: Path, bare: Bare, prepare: Callable[[Path], None]) -> Build:
    project = base / "project"
    shutil.copytree(sample, project)
    prepare(project)
    before = snapshot(project)
    out = base / "build"
    proc = run_cli("migrate", str(project), "--out", str(out), "--python", bare.version)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return Build(project, out, base / "code.zip", proc, before)


def _clutter(project: Path) -> None:
    """Things a real project folder holds that must not reach FC."""
    (project / ".git").mkdir()
    (project / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    venv = project / "venv-local"
    (venv / "lib").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (venv / "lib" / "site.py").write_text("")
    (project / "__pycache__").mkdir()
    (project / "__pycache__" / "app.cpython-39.pyc").write_bytes(b"stale")
    (project / "node_modules" / "left-pad").mkdir(parents=True)
    (project / "node_modules" / "left-pad" / "index.js").write_text("")
    (project / "python" / "stale_vendored").mkdir(parents=True)
    (project / "python" / "stale_vendored" / "__init__.py").write_text("")
    (project / "secrets.txt").write_text("not for FC")
    (project / "data").mkdir()
    (project / "data" / "dump.sql").write_text("-- big")
    (project / "debug.log").write_text("noise")
    (project / "keep.log").write_text("wanted")
    (project / ".fcignore").write_text(
        "# local only\nsecrets.txt\ndata/\n*.log\n!keep.log\n!.env.production\n"
    )
    # Secrets a developer's folder holds, and a link to one outside the project.
    (project / ".env").write_text("SECRET_KEY=dev\n")
    (project / ".env.production").write_text("FEATURE=on\n")
    (project / ".env.example").write_text("SECRET_KEY=\n")
    (project / "config").mkdir()
    (project / "config" / "id_rsa").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    (project / ".aws").mkdir()
    (project / ".aws" / "credentials").write_text("[default]\n")
    outside = project.parent / "home-key"
    outside.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    (project / "static" / "leak.txt").symlink_to(outside)
    db = sqlite3.connect(project / "db.sqlite3")
    db.execute("create table note (body text)")
    db.commit()
    db.close()


@pytest.fixture(scope="module")
def flask_build(tmp_path_factory: pytest.TempPathFactory, bare: Bare) -> Build:
    return _build(tmp_path_factory.mktemp("flask"), FLASK_SAMPLE, bare, _clutter)


@pytest.fixture(scope="module")
def django_build(tmp_path_factory: pytest.TempPathFactory, bare: Bare) -> Build:
    return _build(tmp_path_factory.mktemp("django"), DJANGO_SAMPLE, bare, lambda p: None)


def start_bare(start_server: Any, build: Build, bare: Bare, *extra_env: str) -> Any:
    """The build's bootstrap, with nothing of this environment: env -i, PATH=/usr/bin:/bin.

    Other test runs share this machine: a free port can be taken before the server binds it,
    and then another process would answer. Ready means *our* gunicorn said it listens.
    """
    for _ in range(3):
        port = free_port()
        argv = ["env", "-i", BARE_PATH, f"FC_SERVER_PORT={port}", *bare.env, *extra_env]
        server = start_server([*argv, "./bootstrap"], cwd=build.out, port=port, ready=False)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and server.proc.poll() is None:
            log = server.stderr_path.read_text(errors="replace")
            if f"Listening at: http://0.0.0.0:{port} " in log:
                return server
            if "Connection in use" in log:
                break
            time.sleep(0.05)
        log = server.stderr_path.read_text(errors="replace")
        server.kill()
        if "Connection in use" not in log:
            raise AssertionError(f"the bootstrap did not start:\n{log}")
    raise AssertionError("no free port could be bound in 3 tries")


# --- the Flask build ----------------------------------------------------------------------


def test_flask_summary(flask_build: Build, bare: Bare) -> None:
    stdout = flask_build.proc.stdout
    zip_size = flask_build.zip_path.stat().st_size
    assert f"Built {flask_build.out}" in stdout
    assert "  app       app:app (flask; found in app.py)\n" in stdout
    assert "  import    checked with " in stdout
    assert f"  python    {bare.version} (--python)\n" in stdout
    assert f"  zip       {flask_build.zip_path}, {human_size(zip_size)}\n" in stdout
    assert "Flask 3." in stdout and "gunicorn " in stdout
    assert stdout.rstrip().endswith(f"Next: cd {flask_build.out} && s deploy")
    # Progress came while uv ran, on stderr.
    stderr = flask_build.proc.stderr
    assert "  uv:  + flask==3." in stderr
    assert stderr.index("Installing dependencies") < stderr.index("  uv:  + flask==")


def test_flask_build_holds_the_app_and_its_dependencies(flask_build: Build) -> None:
    out = flask_build.out
    bootstrap = out / "bootstrap"
    assert bootstrap.stat().st_mode & 0o777 == 0o755
    assert "-m fcmigrate serve app:app" in bootstrap.read_text()
    assert (out / "s.yaml").is_file()
    for path in (
        "app.py",
        "templates",
        "static",
        "requirements.txt",
        "keep.log",
        "python/flask/__init__.py",
        "python/gunicorn/__init__.py",
        "python/click/__init__.py",  # Flask's, not fcmigrate's
        "python/fcmigrate/__init__.py",
        "python/fcmigrate/runtime/serve.py",
    ):
        assert (out / path).exists(), path
    for path in (
        ".git",
        "venv-local",
        "node_modules",
        "secrets.txt",
        "data",
        "debug.log",
        "python/stale_vendored",
        "python/bin",
        "python/yaml",  # fcmigrate's build side only
        ".fcmigrate",
    ):
        assert not (out / path).exists(), path
    assert (out / "python/fcmigrate/runtime/middleware.py").read_bytes() == (
        Path(package.__file__).parent.with_name("runtime").joinpath("middleware.py").read_bytes()
    )


def test_flask_build_carries_fcmigrate_s_runtime_only(flask_build: Build) -> None:
    """No CLI, builder, local front door, doctor or templates: what `serve` imports only."""
    vendored = flask_build.out / "python" / "fcmigrate"
    carried = [p.relative_to(vendored) for p in vendored.rglob("*") if p.is_file()]
    source = sorted(p.as_posix() for p in carried if "__pycache__" not in p.parts)
    assert source == sorted(name.replace(".", "/") + ".py" for name in RUNTIME_MODULES)
    assert all(p.suffix == ".pyc" for p in carried if "__pycache__" in p.parts)
    for absent in ("local", "doctor", "cli", "build", "statics.py", "runtime_files.py"):
        assert not (vendored / absent).exists(), absent
    assert sum((vendored / name).stat().st_size for name in source) <= 150 * 1024


def test_flask_build_leaves_secrets_out_and_says_so(flask_build: Build) -> None:
    with zipfile.ZipFile(flask_build.zip_path) as archive:
        names = set(archive.namelist())
    assert {".env", "config/id_rsa", ".aws/credentials", "static/leak.txt"} & names == set()
    assert {".env.example", ".env.production", "db.sqlite3", package.BUILD_MARKER} <= names
    stdout = flask_build.proc.stdout
    outside = flask_build.project.parent / "home-key"
    for line in (
        "  left out  .aws/ (credentials; rule **/.aws)\n",
        "            .env (dotenv file: local secrets; give settings to the function as "
        "environment variables; rule **/.env)\n",
        "            config/id_rsa (private key or certificate; rule **/id_rsa*)\n",
        "            secrets.txt (listed in .fcignore; rule secrets.txt)\n",
        f"            static/leak.txt (symlink to {str(outside)!r}, outside the project: "
        "not followed)\n",
        "Note: Copied SQLite database db.sqlite3: FC's code folder is read-only: a Django "
        "app's database there gets a copy in /tmp for each instance (fcmigrate serve moves "
        "it; writes are lost when the instance stops), any other app can read it but every "
        "write fails. Keep data that must last in a database server or on a NAS mount.\n",
    ):
        assert line in stdout, stdout


def test_project_folder_is_left_as_it_was(flask_build: Build) -> None:
    assert snapshot(flask_build.project) == flask_build.before


def test_bytecode_is_for_the_target_and_hash_based(flask_build: Build, bare: Bare) -> None:
    tag = "cpython-" + bare.version.replace(".", "")
    pycs = bytecode_files(flask_build.out)
    assert len(pycs) > 100
    assert all(f".{tag}." in p.name for p in pycs), [p for p in pycs if tag not in p.name][:3]
    for source in ("app.py", "python/flask/app.py", "python/fcmigrate/runtime/server.py"):
        src = flask_build.out / source
        pyc = src.parent / "__pycache__" / f"{src.stem}.{tag}.pyc"
        header = pyc.read_bytes()[:16]
        if bare.version == f"{sys.version_info[0]}.{sys.version_info[1]}":
            assert header[:4] == importlib.util.MAGIC_NUMBER
        # PEP 552 flags: bit 0 = hash-based, bit 1 = check_source. Unchecked hash = 0b01.
        assert int.from_bytes(header[4:8], "little") == 0b01, source


def test_bare_python_loads_every_module_of_the_build_from_pyc(
    flask_build: Build, bare: Bare
) -> None:
    # `python -v` names where each code object came from: the .pyc, or the source compiled
    # on the spot (which a read-only, per-instance /code would pay on every cold start).
    proc = subprocess.run(
        [
            *("env", "-i", BARE_PATH, "PYTHONPATH=python:.", "PYTHONDONTWRITEBYTECODE=1"),
            *(bare.python, "-v", "-c", "import app, fcmigrate.runtime.server, gunicorn.app.base"),
        ],
        cwd=flask_build.out,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    origins = [
        line.removeprefix("# code object from ").strip("'")
        for line in proc.stderr.splitlines()
        if line.startswith("# code object from ") and str(flask_build.out) in line
    ]
    assert len(origins) > 50
    assert [o for o in origins if not o.endswith(".pyc")] == []


def test_zip_is_deterministic_and_keeps_the_exec_bit(flask_build: Build, tmp_path: Path) -> None:
    with zipfile.ZipFile(flask_build.zip_path) as archive:
        infos = archive.infolist()
    names = [info.filename for info in infos]
    assert names == sorted(names)
    files = {p.relative_to(flask_build.out).as_posix() for p in flask_build.out.rglob("*")}
    assert set(names) == {n for n in files if (flask_build.out / n).is_file()}
    modes = {info.filename: (info.external_attr >> 16) & 0o777 for info in infos}
    assert modes["bootstrap"] == 0o755
    assert modes["app.py"] == 0o644
    assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert not any(n.startswith(".git/") or "/.git/" in n for n in names)
    again = tmp_path / "again.zip"
    make_zip(flask_build.out, again)
    assert again.read_bytes() == flask_build.zip_path.read_bytes()


def test_bare_python_serves_the_flask_build(
    flask_build: Build, bare: Bare, start_server: Any
) -> None:
    pycs_before = bytecode_files(flask_build.out)
    server = start_bare(start_server, flask_build, bare)
    status, body = get(f"{server.url}/hello/fc")
    assert (status, "Hello, fc!" in body) == (200, True), server.stderr()
    status, body = get(f"{server.url}/2016-08-15/proxy/svc/fn/whoami")
    assert status == 200
    seen = json.loads(body)
    assert (seen["script_name"], seen["path"]) == ("/2016-08-15/proxy/svc/fn", "/whoami")
    assert server.terminate() == 0
    assert "Traceback" not in server.stderr_path.read_text()
    # Bytecode writes are off and the shipped .pyc were all used as they are.
    assert bytecode_files(flask_build.out) == pycs_before


def test_existing_build_is_not_replaced_without_force(flask_build: Build, bare: Bare) -> None:
    before = snapshot(flask_build.out)
    zip_before = flask_build.zip_path.read_bytes()
    proc = run_cli(
        "migrate", str(flask_build.project), "--out", str(flask_build.out), "--python", bare.version
    )
    assert proc.returncode == 2
    assert proc.stderr == (
        f"Error: Not replacing the existing {str(flask_build.out)!r} and "
        f"{str(flask_build.zip_path)!r}. Use --force to replace.\n"
    )
    assert snapshot(flask_build.out) == before
    assert flask_build.zip_path.read_bytes() == zip_before


# --- the Django build ---------------------------------------------------------------------


def test_django_summary(django_build: Build) -> None:
    assert (
        "  app       mysite.wsgi:application (django; found in manage.py -> mysite.settings "
        "-> WSGI_APPLICATION)\n"
    ) in django_build.proc.stdout
    assert (django_build.out / "python" / "django" / "__init__.py").is_file()
    assert (django_build.out / "manage.py").is_file()


def test_bare_python_serves_the_django_build(
    django_build: Build, bare: Bare, start_server: Any, tmp_path: Path
) -> None:
    db = f"DJANGO_DB_PATH={tmp_path / 'db.sqlite3'}"
    python_path = f"PYTHONPATH={django_build.out / 'python'}:{django_build.out}"
    migrate_db = subprocess.run(
        [
            *("env", "-i", BARE_PATH, db, python_path, "PYTHONDONTWRITEBYTECODE=1"),
            *(bare.python, "manage.py", "migrate", "--noinput"),
        ],
        cwd=django_build.out,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert migrate_db.returncode == 0, migrate_db.stderr
    server = start_bare(start_server, django_build, bare, db)
    status, body = get(f"{server.url}/")
    assert status == 200, server.stderr()
    assert "An ordinary Django project with 0 notes." in body
    status, body = get(f"{server.url}/2016-08-15/proxy/svc/fn/whoami/")
    assert status == 200
    seen = json.loads(body)
    assert (seen["script_name"], seen["reverse_notes"]) == (
        "/2016-08-15/proxy/svc/fn",
        "/2016-08-15/proxy/svc/fn/notes/",
    )
    assert server.terminate() == 0


def test_django_build_serves_static_files_with_whitenoise_it_did_not_ask_for(
    django_build: Build, bare: Bare, start_server: Any
) -> None:
    assert "whitenoise" not in (DJANGO_SAMPLE / "requirements.txt").read_text().lower()
    assert (django_build.out / "python" / "whitenoise" / "__init__.py").is_file()
    server = start_bare(start_server, django_build, bare)
    css = "/static/admin/css/base.css"
    expected = (django_build.out / "staticfiles" / "admin" / "css" / "base.css").read_bytes()
    for prefix in ("/2016-08-15/proxy/svc/fn", ""):
        request = urllib.request.Request(
            f"{server.url}{prefix}{css}", headers={"Accept-Encoding": "gzip"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.headers["Content-Encoding"] == "gzip"
            assert gzip.decompress(response.read()) == expected


def test_django_settings_left_to_the_environment_build_and_serve(
    tmp_path: Path, bare: Bare, start_server: Any
) -> None:
    """manage.py and wsgi.py both leave DJANGO_SETTINGS_MODULE to the environment: the
    build serves the settings module detection chose, with nothing set on the function."""
    project = tmp_path / "project"
    shutil.copytree(DJANGO_SAMPLE, project)
    setdefault = 'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")'
    for rel in ("manage.py", "mysite/wsgi.py"):
        file = project / rel
        assert setdefault in file.read_text()
        file.write_text(file.read_text().replace(setdefault, "pass"))
    out = tmp_path / "build"
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    args = ["migrate", str(project), "--out", str(out), "--python", bare.version]
    proc = subprocess.run(
        [sys.executable, "-m", "fcmigrate", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (
        "  app       mysite.settings (django; found in manage.py (no DJANGO_SETTINGS_MODULE) "
        "-> mysite.settings)\n"
    ) in proc.stdout
    assert "-m fcmigrate serve mysite.settings" in (out / "bootstrap").read_text()

    build = Build(project, out, tmp_path / "code.zip", proc, {})
    db = f"DJANGO_DB_PATH={tmp_path / 'db.sqlite3'}"
    server = start_bare(start_server, build, bare, db)
    status, body = get(f"{server.url}/2016-08-15/proxy/svc/fn/whoami/")
    assert status == 200, server.stderr()
    assert json.loads(body)["script_name"] == "/2016-08-15/proxy/svc/fn"
    assert server.terminate() == 0


# --- bad input ----------------------------------------------------------------------------


def _unprivileged(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    setpriv = shutil.which("setpriv")
    assert setpriv, "root needs setpriv (util-linux) to test an unreadable folder"
    return [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", *argv]


def test_src_layout_builds_and_serves(tmp_path: Path, bare: Bare, start_server: Any) -> None:
    """A project whose package sits in src/, as packaging guides lay it out."""
    src_layout = Path(__file__).resolve().parent / "detect_fixtures" / "src_layout"
    build = _build(tmp_path, src_layout, bare, lambda p: None)
    assert "app       storefront:create_app() (flask; found in src/storefront/__init__.py)" in (
        build.proc.stdout
    )
    assert (build.out / "src" / "storefront" / "__init__.py").is_file()
    assert "-m fcmigrate serve 'storefront:create_app()'" in (build.out / "bootstrap").read_text()

    server = start_bare(start_server, build, bare)
    status, body = get(f"{server.url}/2016-08-15/proxy/svc/fn/")
    assert (status, body) == (200, "src_layout"), server.stderr()
    assert server.terminate() == 0


def test_app_from_an_installed_package_builds_and_serves(
    tmp_path: Path, bare: Bare, start_server: Any
) -> None:
    """The project is requirements.txt alone; the app is in a package it lists."""
    wheels = build_tiny_wheel(tmp_path / "dist")
    project = tmp_path / "project"
    project.mkdir()
    (project / "requirements.txt").write_text(f"--find-links {wheels}\nfcm-tiny-wsgi==1.0\n")
    out = tmp_path / "build"
    args = ["--app", "fcm_tiny_wsgi:app", "--out", str(out), "--python", bare.version]
    proc = run_cli("migrate", str(project), *args)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (
        "fcm_tiny_wsgi:app (wsgi; found in --app, installed from the requirement "
        "'fcm-tiny-wsgi')" in proc.stdout
    )
    assert (out / "python" / "fcm_tiny_wsgi" / "__init__.py").is_file()

    build = Build(project, out, tmp_path / "code.zip", proc, {})
    server = start_bare(start_server, build, bare)
    status, body = get(f"{server.url}/2016-08-15/proxy/svc/fn/")
    assert (status, body) == (200, TINY_WHEEL_BODY.decode()), server.stderr()
    assert server.terminate() == 0


def test_unreadable_folder() -> None:
    # Root reads everything: the CLI runs as 'nobody', in a folder nobody may enter.
    base = Path(tempfile.mkdtemp(prefix="fcm-unreadable-"))
    try:
        base.chmod(0o755)
        project = tiny_project(base)
        project.chmod(0o000)
        proc = subprocess.run(
            _unprivileged([sys.executable, "-m", "fcmigrate", "migrate", str(project)]),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, "HOME": str(base)},
        )
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr == (
            f"Error: Cannot read the project folder {str(project)!r}: Permission denied. "
            f"Make it readable (chmod -R u+rX {str(project)!r}) or run as its owner.\n"
        )
    finally:
        (base / "tiny").chmod(0o755)
        shutil.rmtree(base)


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"utils.py": "x = 1\n"}, "Error: No WSGI app found in "),
        (
            {"app.py": "from flask import Flask\napp = Flask('a')\n", "main.py": TINY_APP},
            "Error: Found 2 candidate apps in ",
        ),
    ],
    ids=["no-app", "two-apps"],
)
def test_no_app_or_two_apps(tmp_path: Path, files: dict[str, str], message: str) -> None:
    project = tmp_path / "project"
    project.mkdir()
    for name, text in files.items():
        (project / name).write_text(text)
    proc = run_cli("migrate", str(project))
    assert proc.returncode == 2
    assert proc.stderr.startswith(message)
    assert proc.stderr.count("\n") == 1 and "--app" in proc.stderr
    assert not (project / ".fcmigrate").exists()


@pytest.mark.parametrize("version", ["3.9", "4.0", "abc"])
def test_unsupported_python(tmp_path: Path, version: str) -> None:
    project = tiny_project(tmp_path)
    proc = run_cli("migrate", str(project), "--python", version)
    assert proc.returncode == 2
    assert proc.stderr == (
        f"Error: Unsupported --python {version!r}. Use one of 3.10, 3.11, 3.12, 3.13, "
        "e.g. --python 3.10 (custom.debian10 runs Python 3.10).\n"
    )
    assert not (project / ".fcmigrate").exists()


def test_unsupported_python_from_the_project(tmp_path: Path) -> None:
    project = tiny_project(tmp_path)
    (project / ".python-version").write_text("3.8.18\n")
    proc = run_cli("migrate", str(project))
    assert proc.returncode == 2
    assert proc.stderr == (
        "Error: The project asks for Python 3.8 (.python-version), but fcmigrate builds for "
        "3.10, 3.11, 3.12, 3.13. Pass --python 3.10 to build for FC's Python anyway.\n"
    )


@pytest.mark.parametrize(
    ("name", "text", "source"),
    [
        (".python-version", "3.14\n", ".python-version"),
        ("pyproject.toml", '[project]\nname = "x"\nrequires-python = ">=3.14"\n', "pyproject"),
    ],
)
def test_a_project_newer_than_any_built_python_builds_for_the_newest(
    tmp_path: Path, name: str, text: str, source: str
) -> None:
    # heroku/python-getting-started names 3.14 in .python-version; FC has no such Python.
    from fcmigrate.build import migrate
    from fcmigrate.build.detect import detect_app
    from fcmigrate.build.facts import SUPPORTED_PYTHONS
    from fcmigrate.errors import FCMigrateError

    project = tiny_project(tmp_path)
    (project / name).write_text(text)
    notes: list[str] = []
    options = migrate.MigrateOptions(project=project)
    python, why = migrate._target_python(options, None, detect_app(project), notes)
    newest = SUPPORTED_PYTHONS[-1]
    assert python == newest
    assert source in why and why.endswith(f"Python 3.14 -> {newest}")
    [note] = notes
    assert note.startswith("The project asks for Python 3.14 (")
    assert f"building for Python {newest}, the nearest, and checking the import" in note
    # Named on the command line, the same Python is still refused in one line.
    with pytest.raises(FCMigrateError, match=r"Unsupported --python '3\.14'"):
        migrate._target_python(
            migrate.MigrateOptions(project=project, python="3.14"), None, detect_app(project), []
        )


def test_interpreter_of_the_wrong_version(tmp_path: Path) -> None:
    project = tiny_project(tmp_path)
    running = f"{sys.version_info[0]}.{sys.version_info[1]}"
    other = "3.12" if running != "3.12" else "3.11"
    proc = run_cli("migrate", str(project), "--python", other, "--interpreter", sys.executable)
    assert proc.returncode == 2
    assert proc.stderr == (
        f"Error: --interpreter {sys.executable!r} is Python {running}, but the target is "
        f"{other}. Pass a Python {other} interpreter, e.g. --interpreter /usr/bin/python{other}.\n"
    )
    assert not (project / ".fcmigrate").exists()


def test_app_import_failure_shows_the_users_traceback(tmp_path: Path, bare: Bare) -> None:
    project = tiny_project(tmp_path)
    with (project / "app.py").open("a") as f:
        f.write("\nraise KeyError('DATABASE_URL')\n")
    out = tmp_path / "out" / "build"
    proc = run_cli("migrate", str(project), "--out", str(out), "--python", bare.version)
    assert proc.returncode == 1
    assert "Traceback (most recent call last):" in proc.stderr
    assert f'File "{project / "app.py"}", line 5, in <module>' in proc.stderr
    assert "fcmigrate" not in proc.stderr.split("Traceback")[1].split("KeyError")[0]
    assert "KeyError: 'DATABASE_URL'" in proc.stderr
    assert proc.stderr.rstrip().splitlines()[-1] == (
        "Error: Importing 'app:app' failed in your code (traceback above). Fix it and run "
        "again; if the wrong app was picked, name the right one with --app."
    )
    assert_nothing_written(tmp_path, out)
    assert not (out.parent).exists()  # the folder migrate created for the build is gone too


def test_app_that_needs_an_unset_variable_names_it(tmp_path: Path, bare: Bare) -> None:
    project = tiny_project(tmp_path)
    with (project / "app.py").open("a") as f:
        f.write("\nimport os\nDB = os.environ['FCMIGRATE_TEST_UNSET_DB_URL']\n")
    out = tmp_path / "out" / "build"
    proc = run_cli("migrate", str(project), "--out", str(out), "--python", bare.version)
    assert proc.returncode == 1
    assert "KeyError: 'FCMIGRATE_TEST_UNSET_DB_URL'" in proc.stderr
    assert proc.stderr.rstrip().splitlines()[-1] == (
        "Error: Importing 'app:app' failed: your code needs the environment variable "
        "'FCMIGRATE_TEST_UNSET_DB_URL', which is not set here (traceback above). Set it for "
        "this command (FCMIGRATE_TEST_UNSET_DB_URL=... fcmigrate ...), and for FC in the deploy "
        "config's environmentVariables."
    )
    assert_nothing_written(tmp_path, out)


def test_requirement_the_index_does_not_have(tmp_path: Path, bare: Bare) -> None:
    project = tiny_project(tmp_path, "this-package-does-not-exist-fcm==1\n")
    out = tmp_path / "build"
    proc = run_cli("migrate", str(project), "--out", str(out), "--python", bare.version)
    assert proc.returncode == 2
    assert proc.stderr.rstrip().splitlines()[-1] == (
        "Error: No package 'this-package-does-not-exist-fcm' "
        "('this-package-does-not-exist-fcm==1') on the package index. Check the name in "
        "your requirements (or the index they are installed from)."
    )
    assert_nothing_written(tmp_path, out)


def test_pure_python_sdists_are_built(tmp_path: Path, bare: Bare) -> None:
    # On PyPI only as source distributions: docopt 0.6.2, langdetect 1.0.9, Flask-Mail 0.9.1.
    project = tiny_project(tmp_path, "docopt==0.6.2\nlangdetect==1.0.9\nFlask-Mail==0.9.1\n")
    out = tmp_path / "build"
    proc = run_cli("migrate", str(project), "--out", str(out), "--python", "3.10", "-q")
    assert proc.returncode == 0, proc.stderr
    for module in ("docopt.py", "langdetect/__init__.py", "flask_mail.py"):
        assert (out / "python" / module).is_file()
    assert "docopt 0.6.2" in proc.stdout and "Flask-Mail 0.9.1" in proc.stdout


def test_old_pin_without_a_wheel_names_the_nearest_release(tmp_path: Path) -> None:
    # typed-ast 1.4.3 has no wheel for CPython 3.10, and a C extension it cannot do without.
    project = tiny_project(tmp_path, "typed-ast==1.4.3\n")
    out = tmp_path / "build"
    proc = run_cli("migrate", str(project), "--out", str(out), "--python", "3.10")
    assert proc.returncode == 2
    error = proc.stderr.rstrip().splitlines()[-1]
    assert error.startswith(
        "Error: typed-ast 1.4.3 has no wheel for CPython 3.10 on manylinux x86_64, only "
        "source code to compile: that would need a C compiler here, and the result may not "
        "run on FC's glibc (2.28 on custom.debian10). Fix: pin typed-ast==1.5."
    )
    assert error.endswith(
        ", the nearest release with such a wheel; or build a container image with "
        "'fcmigrate dockerize'."
    )
    assert_nothing_written(tmp_path, out)


def test_an_optional_c_extension_falls_back_to_pure_python(tmp_path: Path, bare: Bare) -> None:
    # SQLAlchemy 1.3.24: no wheel for CPython 3.10, but its C extensions are optional. Built
    # by the target Python without a compiler, it is pure Python tagged for that Python.
    project = tiny_project(tmp_path, "SQLAlchemy==1.3.24\n")
    out = tmp_path / "build"
    proc = run_cli("migrate", str(project), "--out", str(out), "--python", bare.version, "-q")
    assert proc.returncode == 0, proc.stderr
    assert (out / "python" / "sqlalchemy" / "__init__.py").is_file()
    assert not list((out / "python").rglob("*.so"))


def test_served_build_needs_neither_click_nor_yaml(tmp_path: Path, start_server: Any) -> None:
    """A build carries gunicorn only, and serves with a Python 3.10 that has neither click
    nor PyYAML (a system python3 may have them). An app's own old click pin builds."""
    python = vendor.find_interpreter("3.10")
    if python is None or any(_imports(python, m) for m in ("click", "yaml", "gunicorn")):
        pytest.skip("no Python 3.10 without click, PyYAML and gunicorn here")
    bare = Bare(python, "3.10", (f"FCMIGRATE_PYTHON={python}",))
    project = tiny_project(tmp_path)
    out = tmp_path / "build"
    proc = run_cli("migrate", str(project), "--out", str(out), "--python", "3.10", "-q")
    assert proc.returncode == 0, proc.stderr
    vendored = sorted(p.name for p in (out / "python").iterdir())
    assert "gunicorn" in vendored and "fcmigrate" in vendored
    assert not {"click", "yaml", "_yaml"} & set(vendored)
    build = Build(project, out, tmp_path / "code.zip", proc, {})
    server = start_bare(start_server, build, bare)
    assert get(f"http://127.0.0.1:{server.port}/") == (200, "tiny")

    (tmp_path / "pinned").mkdir()
    pinned = tiny_project(tmp_path / "pinned", "click==7.1.2\n")
    proc = run_cli("migrate", str(pinned), "--out", str(tmp_path / "pinned" / "build"), "-q")
    assert proc.returncode == 0, proc.stderr
    click_info = (tmp_path / "pinned" / "build" / "python").glob("click-*.dist-info")
    assert [p.name for p in click_info] == ["click-7.1.2.dist-info"]


def test_requirement_that_needs_a_newer_python(tmp_path: Path, bare: Bare) -> None:
    # Every Django 6 release on the index requires Python 3.12 or newer.
    if tuple(map(int, bare.version.split("."))) >= (3, 12):
        pytest.skip("needs a target Python older than 3.12")
    project = tiny_project(tmp_path, "Django>=6,<7\n")
    out = tmp_path / "build"
    proc = run_cli("migrate", str(project), "--out", str(out), "--python", bare.version)
    assert proc.returncode == 2
    error = proc.stderr.rstrip().splitlines()[-1]
    assert error == (
        f"Error: 'Django>=6,<7' has no release for Python {bare.version}: the releases it "
        "allows need Python 3.12 or newer. Build for it with --python 3.12 (fcmigrate then "
        "picks custom.debian12, or use a container), or pin an older release of Django in "
        "your requirements."
    )
    assert_nothing_written(tmp_path, out)


def test_a_pin_that_needs_a_newer_python_than_the_default_builds_for_it(tmp_path: Path) -> None:
    """Nothing in the project names a Python, and a pinned release needs 3.12: fcmigrate's
    default (3.10) gives way, as the project could not run on it anyway."""
    project = tiny_project(tmp_path, "Django==6.0.1\n")
    out = tmp_path / "build"
    proc = run_cli("migrate", str(project), "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    said = proc.stdout + proc.stderr
    assert "Trying again for Python 3.12: 'Django==6.0.1' needs it." in said
    assert "Target: Python 3.12 (the requirement 'Django==6.0.1' needs it)" in said
    assert "/var/fc/lang/python3.12/bin" in (out / "bootstrap").read_text()
    assert (out / "python" / "django" / "__init__.py").is_file()
    assert leftovers(tmp_path) == []


def test_package_over_the_size_limit(
    tmp_path: Path,
    bare: Bare,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(package, "MAX_PACKAGE_BYTES", 50_000)
    project = tiny_project(tmp_path)
    out = tmp_path / "build"
    with pytest.raises(SystemExit) as info:
        main(["migrate", str(project), "--out", str(out), "--python", bare.version, "-q"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("Error: The package is ")
    assert "over FC's limit of 50.0 kB. Leave files out with a .fcignore file" in err
    assert_nothing_written(tmp_path, out)


def test_force_replaces_a_build_and_no_precompile(tmp_path: Path, bare: Bare) -> None:
    project = tiny_project(tmp_path)
    out = tmp_path / "build"
    first = run_cli("migrate", str(project), "--out", str(out), "--python", bare.version, "-q")
    assert first.returncode == 0, first.stderr
    assert first.stderr == ""  # -q: the summary only
    assert bytecode_files(out)
    (project / "extra.py").write_text("X = 1\n")
    second = run_cli(
        "migrate",
        str(project),
        "--out",
        str(out),
        "--python",
        bare.version,
        "--force",
        "--no-precompile",
        "-q",
    )
    assert second.returncode == 0, second.stderr
    assert (out / "extra.py").is_file()
    assert bytecode_files(out) == []
    assert "  bytecode  not precompiled\n" in second.stdout
    assert "Note: Not precompiled (--no-precompile): cold starts will be slower." in second.stdout
    assert leftovers(tmp_path) == []
    with zipfile.ZipFile(tmp_path / "code.zip") as archive:
        assert "extra.py" in archive.namelist()


def test_no_interpreter_of_the_target_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    running = f"{sys.version_info[0]}.{sys.version_info[1]}"
    target = "3.10" if running != "3.10" else "3.11"
    monkeypatch.setattr(vendor, "_candidates", lambda version: [])
    project = tiny_project(tmp_path, "MarkupSafe>=2.1\n")
    out = tmp_path / "build"
    main(["migrate", str(project), "--out", str(out), "--python", target, "-q"])
    stdout = capsys.readouterr().out
    assert "  import    not checked (no interpreter of the target version)\n" in stdout
    assert f"Note: No Python {target} interpreter found" in stdout
    assert bytecode_files(out) == []
    # uv still fetched wheels for the target, not for this interpreter.
    tag = "cp" + target.replace(".", "")
    wheel = next((out / "python").glob("markupsafe-*.dist-info/WHEEL")).read_text()
    assert f"Tag: {tag}-{tag}-manylinux" in wheel


# --- the pieces, without uv -------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "path", "is_dir", "ignored"),
    [
        (["*.log"], "a/b/debug.log", False, True),
        (["*.log", "!keep.log"], "keep.log", False, False),
        (["data/"], "data", True, True),
        (["data/"], "data", False, False),
        (["/build"], "build", True, True),
        (["/build"], "src/build", True, False),
        (["docs/*.pdf"], "docs/a.pdf", False, True),
        (["docs/*.pdf"], "docs/sub/a.pdf", False, False),
        (["**/fixtures"], "tests/unit/fixtures", True, True),
        (["media/**"], "media/x/y.png", False, True),
        (["secret?.txt"], "secret1.txt", False, True),
        (["[abc].py"], "b.py", False, True),
        (["# comment", ""], "# comment", False, False),
    ],
)
def test_fcignore_rules(lines: list[str], path: str, is_dir: bool, ignored: bool) -> None:
    assert IgnoreRules(lines).ignored(path, is_dir) is ignored


def test_remove_foreign_bytecode(tmp_path: Path) -> None:
    cache = tmp_path / "pkg" / "__pycache__"
    cache.mkdir(parents=True)
    for name in ("a.cpython-310.pyc", "a.cpython-311.pyc", "a.cpython-310.opt-1.pyc"):
        (cache / name).write_bytes(b"")
    (tmp_path / "pkg" / "sourceless.pyc").write_bytes(b"")
    assert remove_foreign_bytecode(tmp_path, "cpython-310") == 1
    assert sorted(p.name for p in cache.iterdir()) == [
        "a.cpython-310.opt-1.pyc",
        "a.cpython-310.pyc",
    ]
    assert remove_foreign_bytecode(tmp_path, None) == 2
    assert not cache.exists()
    assert (tmp_path / "pkg" / "sourceless.pyc").exists()


def test_precompile_with_another_python(tmp_path: Path) -> None:
    running = f"{sys.version_info[0]}.{sys.version_info[1]}"
    others = [v for v in ("3.10", "3.12", "3.13") if v != running]
    found = [(v, vendor.find_interpreter(v)) for v in others]
    usable = [(v, python) for v, python in found if python]
    if not usable:
        pytest.skip(f"no Python {', '.join(others)} on this machine to compile with")
    version, python = usable[0]
    (tmp_path / "mod.py").write_text("VALUE = 1\n")
    (tmp_path / "broken.py").write_text("def (\n")
    report = precompile(tmp_path, str(python), version)
    tag = "cpython-" + version.replace(".", "")
    assert (tmp_path / "__pycache__" / f"mod.{tag}.pyc").is_file()
    assert report.compiled == 1
    assert [Path(p).name for p in report.failed] == ["broken.py"]


def test_wheel_platforms_follow_the_runtime_glibc() -> None:
    debian10 = vendor.wheel_platforms("custom.debian10")
    assert debian10[0] == "manylinux2014_x86_64"
    assert debian10[-1] == "manylinux_2_28_x86_64"
    assert "manylinux_2_29_x86_64" not in debian10
    assert vendor.wheel_platforms("scf") == ["manylinux2014_x86_64"]
    assert vendor.python_platform("custom.debian10") == "x86_64-manylinux_2_28"
    assert vendor.python_platform("custom.debian12") == "x86_64-manylinux_2_36"
    assert vendor.python_platform("scf") == "x86_64-manylinux_2_17"


def test_fcmigrate_in_requirements_is_left_to_the_copy(tmp_path: Path) -> None:
    (tmp_path / "req").mkdir()
    (tmp_path / "req" / "base.txt").write_text("flask\n")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("-r req/base.txt\nfcmigrate==0.1.0\nDjango>=4.2\n")
    work = tmp_path / "work"
    work.mkdir()
    args = vendor._requirement_args(requirements, [], work)
    assert args[0] == "-r"
    assert Path(args[1]).read_text().splitlines() == [
        f"-r {tmp_path / 'req' / 'base.txt'}",
        "Django>=4.2",
    ]
    assert vendor._requirement_args(None, ["FCMigrate", "flask"], work) == ["flask"]
    plain = tmp_path / "plain.txt"
    plain.write_text("flask\n")
    assert vendor._requirement_args(plain, [], work) == ["-r", str(plain)]


def test_pip_options_at_the_end_of_a_requirement_line_get_their_own_line(tmp_path: Path) -> None:
    """pip applies `psycopg2 --no-binary psycopg2` to the whole install; uv refuses such a
    line (`Expected --hash`), in the file or in one it includes."""
    (tmp_path / "req").mkdir()
    (tmp_path / "req" / "base.txt").write_text("six==1.16.0\n")
    (tmp_path / "req" / "production.txt").write_text(
        "-r base.txt\n"
        "six==1.16.0 --no-binary six  # a comment\n"
        "packaging --prefer-binary\n"
        "--only-binary :all:\n"
    )
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("-r req/production.txt\n")
    work = tmp_path / "work"
    work.mkdir()
    args = vendor._requirement_args(requirements, [], work)
    top = Path(args[1]).read_text().splitlines()
    assert len(top) == 1 and top[0].startswith(f"-r {work}")
    assert Path(top[0].split()[1]).read_text().splitlines() == [
        f"-r {tmp_path / 'req' / 'base.txt'}",
        "six==1.16.0",
        "--no-binary six",
        "packaging",
        "--prefer-binary",
        "--only-binary :all:",
    ]
    # uv reads the result as pip reads the original.
    compiled = subprocess.run(
        [vendor.uv_binary(), "pip", "compile", "--offline", "--no-header", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert "Expected `--hash`" not in compiled.stderr


def test_runtime_requirements_come_from_the_package_metadata() -> None:
    names = [vendor.requirement_name(r).lower() for r in vendor.runtime_requirements()]
    # What `python -m fcmigrate serve` needs: not click, not PyYAML.
    assert names == ["gunicorn"]


def test_django_statics_are_collected_without_the_target_python(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """No Python of the target version here: collectstatic runs with this one instead."""
    running = f"{sys.version_info[0]}.{sys.version_info[1]}"
    target = "3.10" if running != "3.10" else "3.11"
    monkeypatch.setattr(vendor, "_candidates", lambda version: [])
    project = tmp_path / "site"
    shutil.copytree(DJANGO_SAMPLE, project)
    out = tmp_path / "build"
    main(["migrate", str(project), "--out", str(out), "--python", target, "-q"])
    stdout = capsys.readouterr().out
    assert "static files were not collected" not in stdout
    assert (out / "staticfiles" / "admin" / "css" / "base.css").is_file()
    assert not (project / "staticfiles").exists()


def test_django_statics_of_a_project_one_folder_down_are_collected(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """shynet: manage.py and the settings package in shynet/, the dependencies at the root
    (a Poetry project): collectstatic imports the settings from that folder."""
    running = f"{sys.version_info[0]}.{sys.version_info[1]}"
    target = "3.10" if running != "3.10" else "3.11"
    monkeypatch.setattr(vendor, "_candidates", lambda version: [])
    project = tmp_path / "repo"
    shutil.copytree(DJANGO_SAMPLE, project / "site")
    (project / "site" / "requirements.txt").rename(project / "requirements.txt")
    out = tmp_path / "build"
    main(["migrate", str(project), "--out", str(out), "--python", target, "-q"])
    stdout = capsys.readouterr().out
    assert "static files were not collected" not in stdout
    assert (out / "site" / "staticfiles" / "admin" / "css" / "base.css").is_file()


# --- the import check runs the build as FC does: its folder, its environment, read-only ---

READONLY_FIXTURES = Path(__file__).parent / "readonly_fixtures"


def _hashes(folder: Path, skip: str | None = None) -> dict[str, str]:
    """Every file and folder under ``folder`` (but ``skip``/): a hash, or ``dir``."""
    found = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if skip is None or rel.split("/")[0] != skip:
            found[rel] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def test_app_that_writes_beside_its_code_fails_the_check_in_one_line(
    tmp_path: Path, bare: Bare
) -> None:
    project = tmp_path / "project"
    shutil.copytree(READONLY_FIXTURES / "writes_logs", project)
    before = _hashes(project)
    out = tmp_path / "out" / "build"

    proc = run_cli("migrate", str(project), "--out", str(out), "--python", bare.version)

    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.rstrip().splitlines()[-1] == (
        "Error: Importing 'app:app' creates the folder 'logs' (app.py line 6), but the code "
        "folder is read-only on FC (only /tmp is writable). Write it under /tmp "
        "(tempfile.gettempdir()), take its path from an environment variable, or keep data "
        "that must last on NAS or OSS."
    )
    assert _hashes(project) == before
    assert_nothing_written(tmp_path, out)


def test_hooks_are_imported_in_the_check(tmp_path: Path, bare: Bare) -> None:
    project = tmp_path / "project"
    shutil.copytree(READONLY_FIXTURES / "hook_writes", project)
    before = _hashes(project)
    out = tmp_path / "build"
    argv = ["migrate", str(project), "--out", str(out), "--python", bare.version]

    proc = run_cli(*argv, "--on-initialize", "hooks:init")

    assert proc.returncode == 1
    assert (
        proc.stderr.rstrip()
        .splitlines()[-1]
        .startswith(
            "Error: Importing 'hooks:init' writes 'initialized.flag' (hooks.py line 5), but the "
            "code folder is read-only on FC"
        )
    )
    missing = run_cli(*argv, "--on-pre-stop", "app:stop")
    assert missing.returncode != 0
    assert missing.stderr.strip().splitlines()[-1].startswith("Error: ")
    assert "'stop'" in missing.stderr.strip().splitlines()[-1]
    assert "Traceback" not in missing.stderr
    assert _hashes(project) == before
    assert_nothing_written(tmp_path, out)


def test_files_an_app_makes_at_import_never_reach_a_later_build(tmp_path: Path, bare: Bare) -> None:
    """A key and a database the app creates beside its code when it can: the check runs
    read-only in the build, so they are made in the scratch /tmp, never in the project, and
    a second build does not pack them."""
    project = tmp_path / "project"
    shutil.copytree(READONLY_FIXTURES / "writes_if_it_can", project)
    before = _hashes(project)
    argv = ("migrate", str(project), "--python", bare.version, "-q")

    first = run_cli(*argv)
    assert first.returncode == 0, first.stderr
    second = run_cli(*argv, "--force")
    assert second.returncode == 0, second.stderr

    build = project / ".fcmigrate" / "build"
    assert (build / "app.py").is_file()
    made = {".secret_key", "app.db", ".write-test"}
    assert made.isdisjoint(p.name for p in build.rglob("*"))
    with zipfile.ZipFile(project / ".fcmigrate" / "code.zip") as archive:
        assert made.isdisjoint(Path(name).name for name in archive.namelist())
    assert _hashes(project, skip=".fcmigrate") == before
    assert sorted(p.name for p in (project / ".fcmigrate").iterdir()) == ["build", "code.zip"]


def test_import_check_sees_fcs_folder_and_variables_not_the_shell(
    tmp_path: Path, bare: Bare
) -> None:
    project = tmp_path / "project"
    shutil.copytree(READONLY_FIXTURES / "fc_environment", project)
    before = _hashes(project)
    out = tmp_path / "build"
    env = dict(os.environ, VIRTUAL_ENV=str(tmp_path), FCMIGRATE_TEST_SHELL_ONLY="1")
    env["PYTHONPATH"] = str(tmp_path)

    argv = ["migrate", str(project), "--out", str(out), "--python", bare.version]
    proc = subprocess.run(
        [sys.executable, "-m", "fcmigrate", *argv],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=600,
        check=False,
    )

    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "import    checked with" in proc.stdout
    assert _hashes(project) == before


def test_a_gunicorn_conf_that_fails_at_start_fails_the_check(tmp_path: Path, bare: Bare) -> None:
    """serve runs the project's gunicorn.conf.py at every start: the check runs it too."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "app.py").write_text(TINY_APP)
    (project / "requirements.txt").write_text("")
    (project / "gunicorn.conf.py").write_text(
        "import os\n"
        "stage = os.environ.get('ENVIRONMENT')\n"
        "if stage not in ('development', 'production'):\n"
        "    raise ValueError(f'Unknown environment: {stage}')\n"
    )
    out = tmp_path / "out" / "build"
    proc = run_cli("migrate", str(project), "--out", str(out), "--python", bare.version)
    assert proc.returncode == 1
    assert "ValueError: Unknown environment: None" in proc.stderr
    assert "'gunicorn.conf.py'" in proc.stderr.rstrip().splitlines()[-1]
    assert_nothing_written(tmp_path, out)

    given = run_cli(
        "migrate", str(project), "--out", str(out), "--python", bare.version,
        "--env", "ENVIRONMENT=production",
    )  # fmt: skip
    assert given.returncode == 0, given.stderr


INSIDE = " inside the installed package 'oldlib 1.1.9'"


@pytest.mark.parametrize(
    ("body", "raised", "error"),
    [
        pytest.param(
            # Old releases call inspect.getargspec, which Python 3.11 removed. (The
            # collections aliases 3.10 removed are answered by the runtime: test_compat.py.)
            "import inspect\nspec = inspect.getargspec\n",
            "AttributeError",
            INSIDE + ", not in your code (traceback above): that release may not run on Python "
            "{v}. Pin a "
            "newer release of oldlib in your requirements (one that supports Python {v}), and "
            "run again.",
            id="gone-from-python",
        ),
        pytest.param(
            # django-haystack 2.x and 3.x: pkg_resources, which only setuptools installs.
            "from pkg_resources import get_distribution\n",
            "ModuleNotFoundError",
            INSIDE + " (traceback above): it imports 'pkg_resources', which comes with "
            "setuptools, but "
            "does not list setuptools as a dependency (virtual environments made by pip and "
            "virtualenv carried setuptools until Python 3.12, and a build installs only what "
            "is listed). Add 'setuptools<82' to your requirements, or pin a release of oldlib "
            "that no longer needs it.",
            id="pkg-resources",
        ),
        pytest.param(
            # A release written for an older release of another package (django.utils.six).
            "from helperlib.compat import six\n",
            "ModuleNotFoundError",
            INSIDE + " (traceback above): it imports 'helperlib.compat', which helperlib "
            "3.0 no longer "
            "has. That release of oldlib is older than the helperlib it is installed with: pin "
            "a newer release of oldlib, or the older helperlib it was written for.",
            id="gone-from-another-package",
        ),
        pytest.param(
            "import undeclaredlib\n",
            "ModuleNotFoundError",
            INSIDE + " (traceback above): it imports 'undeclaredlib', which is not "
            "installed, as oldlib "
            "does not list what provides it as a dependency on Python {v}. Add the package that "
            "provides 'undeclaredlib' to your requirements, or pin a release of oldlib that "
            "does not need it.",
            id="undeclared",
        ),
        pytest.param(
            # A name the app gave the package (an INSTALLED_APPS entry), not one it imports.
            "__import__('plugin' + '_named_by_the_app')\n",
            "ModuleNotFoundError",
            ": there is no module named 'plugin_named_by_the_app' (traceback above), which "
            "oldlib imports because your code or settings name it (an INSTALLED_APPS entry, a "
            "setting naming a class). Add the package that provides 'plugin_named_by_the_app' "
            "to your requirements, or stop naming it.",
            id="named-by-the-app",
        ),
    ],
)
def test_an_import_that_fails_inside_a_dependency_names_it(
    tmp_path: Path, bare: Bare, body: str, raised: str, error: str
) -> None:
    """Old pins: the error names the package, its version and the cause, not "your code"."""
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    old_wheel(wheels, "oldlib", "1.1.9", body)
    old_wheel(wheels, "helperlib", "3.0", "")
    # The app pins a setuptools without pkg_resources (82 and later), so the build adds none
    # (see test_vendor_uv.py for when it does) and the import check has to name the cause.
    old_wheel(wheels, "setuptools", "82.0.5", "")
    project = tmp_path / "project"
    project.mkdir()
    (project / "app.py").write_text("import oldlib\n" + TINY_APP)
    (project / "requirements.txt").write_text(
        f"--find-links {wheels}\noldlib==1.1.9\nhelperlib==3.0\nsetuptools==82.0.5\n"
    )
    out = tmp_path / "out" / "build"
    proc = run_cli("migrate", str(project), "--out", str(out), "--python", bare.version)
    assert proc.returncode == 1
    assert raised in proc.stderr
    assert proc.stderr.rstrip().splitlines()[-1] == (
        "Error: Importing 'app:app' failed" + error.format(v=bare.version)
    )


def test_variables_an_env_example_lists_are_named(tmp_path: Path, bare: Bare) -> None:
    project = tiny_project(tmp_path, "")
    (project / ".env.example").write_text(
        "# copy to .env\nSECRET_KEY=change-me\nexport MODE=dev\nSENTRY_DSN=\n"
    )
    out = tmp_path / "build"
    proc = run_cli(
        "migrate", str(project), "--out", str(out), "--python", bare.version, "-e", "MODE=prod"
    )
    assert proc.returncode == 0, proc.stderr
    assert (
        "Note: .env.example lists variables the app reads that the deploy config does not "
        "set: SECRET_KEY, SENTRY_DSN. Give those it needs with --env NAME=VALUE"
    ) in proc.stdout


def test_django_ssl_redirect_is_noted_in_the_summary(tmp_path: Path, bare: Bare) -> None:
    project = tmp_path / "project"
    shutil.copytree(DJANGO_SAMPLE, project)
    with (project / "mysite" / "settings.py").open("a") as settings:
        settings.write("\nSECURE_SSL_REDIRECT = True\n")
    out = tmp_path / "build"
    proc = run_cli("migrate", str(project), "--out", str(out), "--python", bare.version, "-q")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Note: Django's SECURE_SSL_REDIRECT is on. FC serves HTTPS" in proc.stdout


def test_an_app_that_needs_its_dotenv_file_is_told_the_build_left_it_out(
    tmp_path: Path, bare: Bare
) -> None:
    project = tiny_project(tmp_path)
    (project / ".env").write_text("GREETING=hello\n")
    with (project / "app.py").open("a") as f:
        f.write(
            "\nimport os\n"
            "if not os.path.isfile(os.path.join(os.path.dirname(__file__), '.env')):\n"
            "    raise RuntimeError('No local .env file found')\n"
        )
    out = tmp_path / "build"
    proc = run_cli("migrate", str(project), "--out", str(out), "--python", bare.version)
    assert proc.returncode == 1
    assert (
        proc.stderr.rstrip()
        .splitlines()[-1]
        .startswith(
            "Error: Importing 'app:app' failed, and the error names '.env' (traceback above), "
            "which the build leaves out (dotenv file: local secrets;"
        )
    )
    assert_nothing_written(tmp_path, out)


def test_a_variable_the_origin_held_a_placeholder_for_is_named_so(
    tmp_path: Path, bare: Bare
) -> None:
    project = tiny_project(tmp_path)
    (project / "app.yaml").write_text(
        "runtime: python310\nenv_variables:\n  API_TOKEN: your-token\n"
    )
    (project / "main.py").write_text("import os\n\nTOKEN = os.environ['API_TOKEN']\n" + TINY_APP)
    (project / "app.py").unlink()
    out = tmp_path / "build"
    proc = run_cli("migrate", str(project), "--out", str(out), "--python", bare.version)
    assert proc.returncode == 1
    assert (
        proc.stderr.rstrip()
        .splitlines()[-1]
        .endswith(
            "environmentVariables. app.yaml has only the placeholder 'your-token' for it: give the "
            "real value with --env API_TOKEN=VALUE."
        )
    )
    assert_nothing_written(tmp_path, out)
    given = run_cli(
        "migrate", str(project), "--out", str(out), "--python", bare.version,
        "--env", "API_TOKEN=t0k3n",
    )  # fmt: skip
    assert given.returncode == 0, given.stderr


ASSETS_APP = """\
from flask import Flask, render_template_string
from flask_assets import Bundle, Environment

# Bound later, as app factories do: its settings are read from the current app.
assets = Environment()
app = Flask(__name__)
assets.init_app(app)
assets.register("site_css", Bundle("css/base.css", "css/page.css", output="gen/site.css"))


@app.route("/")
def home():
    return render_template_string(
        "{% assets 'site_css' %}<link rel=stylesheet href='{{ ASSET_URL }}'>{% endassets %}"
    )
"""


def test_flask_assets_bundles_are_built_into_the_build(
    tmp_path: Path, bare: Bare, start_server: Any
) -> None:
    # flask-base: with ASSETS_AUTO_BUILD on, the first page that renders a bundle would write
    # it into static/, read-only on FC. Built at build time, the page writes nothing.
    sample = tmp_path / "sample"
    (sample / "static" / "css").mkdir(parents=True)
    (sample / "static" / "css" / "base.css").write_text("body { margin: 0 }\n")
    (sample / "static" / "css" / "page.css").write_text("main { padding: 1em }\n")
    (sample / "app.py").write_text(ASSETS_APP)
    (sample / "requirements.txt").write_text("Flask>=3\nFlask-Assets>=2\n")
    build = _build(tmp_path, sample, bare, lambda p: None)
    bundle = build.out / "static" / "gen" / "site.css"
    assert bundle.read_text().split() == "body { margin: 0 } main { padding: 1em }".split()
    assert "built 1 bundle into static/" in build.proc.stderr
    assert "Flask-Assets builds" not in build.proc.stdout + build.proc.stderr
    assert snapshot(build.project) == build.before  # built in the build, not the project

    shipped = snapshot(build.out)
    server = start_bare(start_server, build, bare)
    status, body = get(f"{server.url}/2016-08-15/proxy/svc/fn/")
    assert status == 200, server.stderr()
    assert "/2016-08-15/proxy/svc/fn/static/gen/site.css" in body
    assert server.terminate() == 0
    changed = {k for k in set(shipped) | set(snapshot(build.out)) if "__pycache__" not in k}
    assert {k for k in changed if shipped.get(k) != snapshot(build.out).get(k)} == set()


def test_a_django_handler_wrapped_in_a_middleware_is_still_django(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """bootcamp's wsgi.py: ``application = Sentry(application)`` under the production
    settings that the environment names over manage.py's default. The build is Django's:
    its static files are collected with those settings."""
    project = tmp_path / "site"
    shutil.copytree(DJANGO_SAMPLE, project)
    wsgi = project / "mysite" / "wsgi.py"
    reporter = (
        "\n\nclass Reporter:\n"
        "    def __init__(self, app):\n"
        "        self.app = app\n\n"
        "    def __call__(self, environ, start_response):\n"
        "        return self.app(environ, start_response)\n\n\n"
        "application = Reporter(application)\n"
    )
    wsgi.write_text(wsgi.read_text(encoding="utf-8") + reporter, encoding="utf-8")
    (project / "mysite" / "production.py").write_text(
        "from mysite.settings import *  # noqa: F403\n\nSTATIC_ROOT = BASE_DIR / 'collected'\n",
        encoding="utf-8",
    )
    out = tmp_path / "build"
    env = ["--env", "DJANGO_SETTINGS_MODULE=mysite.production"]
    main(["migrate", str(project), "--out", str(out), *env, "-q"])
    capsys.readouterr()
    assert (out / "collected" / "admin" / "css" / "base.css").is_file()
    assert not (out / "staticfiles").exists()


def test_a_project_that_reads_its_own_metadata_is_installed_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Radicale: ``importlib.metadata.version("radicale")`` at import, dependencies in
    pyproject.toml and no requirements.txt. The build installs the project itself, without
    writing into it."""
    project = tmp_path / "calendar"
    (project / "fcm_calendar").mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n\n'
        '[project]\nname = "FCM-Calendar"\nversion = "3.1.4"\ndependencies = []\n\n'
        '[tool.setuptools]\npackages = ["fcm_calendar"]\n'
    )
    (project / "fcm_calendar" / "__init__.py").write_text(
        "from importlib.metadata import version\n\n"
        "VERSION = version('fcm-calendar')\n\n\n"
        "def application(environ, start_response):\n"
        "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
        "    return [VERSION.encode()]\n"
    )
    before = sorted(p.relative_to(project).as_posix() for p in project.rglob("*"))
    out = tmp_path / "build"
    main(["migrate", str(project), "--out", str(out)])
    stdout = capsys.readouterr().out
    assert "asks for the installed metadata of FCM-Calendar, the project itself" in stdout
    assert [p.name for p in (out / "python").glob("fcm_calendar-3.1.4.dist-info")]
    assert sorted(p.relative_to(project).as_posix() for p in project.rglob("*")) == before
    assert not list(out.glob("*.egg-info"))
