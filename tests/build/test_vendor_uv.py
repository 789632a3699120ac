"""Dependencies resolved and installed with uv for the target, not for this machine.

Most tests install from a local ``--find-links`` folder with ``--no-index``: wheels and
source distributions made here, in ``tmp_path``, so they need no network. A source
distribution's build backend lives inside it (``backend-path``), so uv builds it with
nothing fetched; it can build a pure wheel, call the C compiler it is offered, or sleep.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import zipfile
from collections.abc import Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from fcmigrate.build import vendor, wheels
from fcmigrate.errors import FCMigrateError

pytestmark = pytest.mark.slow

TINY_APP = """\
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"tiny"]
"""

#: A PEP 517 backend inside the sdist: MODE "pure" writes a wheel, "compile" first runs the
#: C compiler it is offered ($CC), "sleep" writes its pid to $PID_FILE and waits; "legacy",
#: "2to3" and "feature" fail with a setuptools that no longer has what they use, as old
#: sdists do (convert_path: before 70; use_2to3: before 58; Feature: before 46); "cython"
#: fails with Cython 3, as PyYAML 5.4.1 does.
BACKEND = """\
import base64, hashlib, os, subprocess, time, zipfile

NAME, VERSION, MODE = {name!r}, {version!r}, {mode!r}
REMOVED = {{
    "legacy": (70, "cannot import name 'convert_path' from 'setuptools'"),
    "2to3": (58, f"error in {{NAME}} setup command: use_2to3 is invalid."),
    "feature": (46, "cannot import name 'Feature' from 'setuptools'"),
}}


def get_requires_for_build_wheel(config_settings=None):
    if MODE == "cython":
        return ["Cython"]
    return ["setuptools"] if MODE in REMOVED else []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    if MODE == "cython":
        import Cython  # a stand-in: its VERSION tells 0.29 from 3

        if int(Cython.VERSION.split(".")[0]) >= 3:
            raise AttributeError("cython_sources")
    if MODE in REMOVED:
        import setuptools  # a stand-in: its VERSION tells old from new

        removed_in, error = REMOVED[MODE]
        if int(setuptools.VERSION.split(".")[0]) >= removed_in:
            raise ImportError(error)
    if MODE == "compile":
        subprocess.run([os.environ.get("CC", "cc"), "-c", "speedups.c"], check=True)
    if MODE == "sleep":
        with open(os.environ["FCMIGRATE_TEST_PID_FILE"], "w") as out:
            out.write(str(os.getpid()))
        time.sleep(300)
    tag = "py3-none-any"
    if MODE == "fallback":
        # An optional C extension left out: pure code, but tagged for the building Python.
        import sys

        abi = f"cp{{sys.version_info[0]}}{{sys.version_info[1]}}"
        tag = f"{{abi}}-{{abi}}-linux_x86_64"
    filename = f"{{NAME}}-{{VERSION}}-{{tag}}.whl"
    info = f"{{NAME}}-{{VERSION}}.dist-info"
    files = {{
        f"{{NAME}}/__init__.py": f"VERSION = {{VERSION!r}}\\n",
        f"{{info}}/METADATA": f"Metadata-Version: 2.1\\nName: {{NAME}}\\nVersion: {{VERSION}}\\n",
        f"{{info}}/WHEEL": "Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: false\\n"
        f"Tag: {{tag}}\\n",
    }}
    record = []
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w") as whl:
        for path, text in files.items():
            data = text.encode()
            whl.writestr(path, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            record.append(f"{{path}},sha256={{digest.decode()}},{{len(data)}}")
        record.append(f"{{info}}/RECORD,,")
        whl.writestr(f"{{info}}/RECORD", "\\n".join(record) + "\\n")
    return filename
"""


# --- making packages ------------------------------------------------------------------------


def make_wheel(
    folder: Path,
    name: str,
    version: str,
    *,
    requires: Sequence[str] = (),
    requires_python: str | None = None,
    tag: str = "py3-none-any",
    files: Mapping[str, str] | None = None,
) -> Path:
    """A minimal installable wheel: ``name/__init__.py`` holding ``VERSION``, and ``files``
    (which may replace it)."""
    folder.mkdir(parents=True, exist_ok=True)
    module = name.replace("-", "_")
    info = f"{module}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    metadata += "".join(f"Requires-Dist: {r}\n" for r in requires)
    if requires_python:
        metadata += f"Requires-Python: {requires_python}\n"
    files = {
        f"{module}/__init__.py": f"VERSION = {version!r}\n",
        f"{info}/METADATA": metadata,
        f"{info}/WHEEL": (
            f"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: {tag}\n"
        ),
        **(files or {}),
    }
    path = folder / f"{module}-{version}-{tag}.whl"
    record = []
    with zipfile.ZipFile(path, "w") as whl:
        for name_in_zip, text in files.items():
            data = text.encode()
            whl.writestr(name_in_zip, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            record.append(f"{name_in_zip},sha256={digest.decode()},{len(data)}")
        record.append(f"{info}/RECORD,,")
        whl.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    return path


def make_sdist(folder: Path, name: str, version: str, mode: str = "pure") -> Path:
    """A source distribution whose in-tree backend builds it as ``mode`` says."""
    folder.mkdir(parents=True, exist_ok=True)
    base = f"{name}-{version}"
    files = {
        "pyproject.toml": (
            '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n'
            f'[project]\nname = "{name}"\nversion = "{version}"\n'
        ),
        "PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        "backend.py": BACKEND.format(name=name, version=version, mode=mode),
        "speedups.c": "int answer(void) { return 42; }\n",
    }
    path = folder / f"{base}.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for relative, text in files.items():
            data = text.encode()
            member = tarfile.TarInfo(f"{base}/{relative}")
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
    return path


@pytest.fixture
def links(tmp_path: Path) -> Path:
    """A local package folder holding a stand-in for fcmigrate's own gunicorn requirement."""
    folder = tmp_path / "links"
    make_wheel(folder, "gunicorn", "23.0.0")
    return folder


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No index unless a test names one; a cache of this test's own."""
    for name in [n for n in os.environ if n.startswith(("PIP_", "UV_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))


def install(
    tmp_path: Path,
    lines: Sequence[str],
    python: str = "3.10",
    *,
    runtime: str = "custom.debian10",
    timeout: float | None = None,
) -> tuple[Path, vendor.InstallResult]:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("\n".join(lines) + "\n")
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    target = Path(tempfile.mkdtemp(prefix=f"target-{python}-", dir=tmp_path)) / "python"
    result = vendor.install_requirements(
        target,
        requirements_file=requirements,
        requirements=list(lines),
        python_version=python,
        runtime=runtime,
        progress=lambda line: None,
        workdir=work,
        timeout=timeout,
    )
    return target, result


def no_index(links: Path) -> list[str]:
    return ["--no-index", f"--find-links {links}"]


# --- markers and builds for the target ----------------------------------------------------


def test_markers_are_evaluated_for_the_target_python(tmp_path: Path, links: Path) -> None:
    # redis 5.0.1's shape: a dependency only below Python 3.11 (async-timeout there).
    make_wheel(links, "needs-backport", "1.0", requires=['old-backport; python_version < "3.11"'])
    make_wheel(links, "old-backport", "2.0")
    lines = [*no_index(links), "needs-backport==1.0"]
    target, result = install(tmp_path, lines, "3.10")
    assert (target / "old_backport" / "__init__.py").is_file()
    assert "old-backport-2.0" in result.installed
    assert "gunicorn-23.0.0" in result.installed
    # The same requirement for 3.12 (newer than this interpreter too) leaves it out.
    target, result = install(tmp_path, lines, "3.12")
    assert not (target / "old_backport").exists()
    assert "needs-backport-1.0" in result.installed


def test_requires_python_is_judged_for_the_target(tmp_path: Path, links: Path) -> None:
    make_wheel(links, "modern", "2.0", requires_python=">=3.12")
    make_wheel(links, "modern", "1.0", requires_python=">=3.8")
    target, _ = install(tmp_path, [*no_index(links), "modern"], "3.10")
    assert "VERSION = '1.0'" in (target / "modern" / "__init__.py").read_text()
    with pytest.raises(FCMigrateError) as info:
        install(tmp_path, [*no_index(links), "modern>=2"], "3.10")
    assert str(info.value) == (
        "'modern>=2' has no release for Python 3.10: the releases it allows need Python 3.12 "
        "or newer. Build for it with --python 3.12 (fcmigrate then picks custom.debian12, or "
        "use a container), or pin an older release of modern in your requirements."
    )


def test_a_pin_that_needs_a_newer_python_is_named_whatever_uv_s_wording() -> None:
    # uv's words for a pin with an extra whose release needs a newer Python (from the index,
    # not a local wheel): no "depends on Python" clause, only what the target does not satisfy.
    output = (
        "error: No solution found when resolving dependencies\n"
        "  cause: Because the requested Python version (>=3.10) does not satisfy "
        "Python>=3.12 and you require django[argon2]==6.1, we can conclude that your "
        "requirements are unsatisfiable.\n"
    )
    error = wheels.explain(
        output,
        python_version="3.10",
        runtime="custom.debian10",
        app_requirements=["Django[argon2]==6.1"],
        own_requirements=["gunicorn>=23"],
    )
    assert isinstance(error, wheels.NeedsNewerPython)
    assert (error.python, error.requirement) == ("3.12", "Django[argon2]==6.1")
    assert str(error).startswith(
        "'Django[argon2]==6.1' has no release for Python 3.10: the releases it allows need "
        "Python 3.12 or newer. Build for it with --python 3.12"
    )


def test_packages_that_import_pkg_resources_get_the_setuptools_they_expect(
    tmp_path: Path, links: Path
) -> None:
    """A package that imports pkg_resources without listing setuptools (django-haystack's
    shape) gets a setuptools that still has it; one that falls back without it does not."""
    make_wheel(links, "setuptools", "81.0", files={"pkg_resources/__init__.py": ""})
    make_wheel(links, "setuptools", "82.0")  # the first release without pkg_resources
    make_wheel(
        links,
        "oldsearch",
        "2.8.1",
        files={"oldsearch/__init__.py": "from pkg_resources import get_distribution\n"},
    )
    make_wheel(
        links,
        "carefulpkg",
        "1.0",
        files={
            "carefulpkg/__init__.py": (
                "try:\n    import pkg_resources\nexcept ImportError:\n    pkg_resources = None\n"
            )
        },
    )
    target, result = install(tmp_path, [*no_index(links), "carefulpkg==1.0"])
    assert not (target / "pkg_resources").exists()
    assert not any("pkg_resources" in note for note in result.notes)

    target, result = install(tmp_path, [*no_index(links), "oldsearch==2.8.1", "carefulpkg==1.0"])
    assert (target / "pkg_resources" / "__init__.py").is_file()
    assert "setuptools-81.0" in result.installed
    assert (
        "oldsearch imports pkg_resources, which comes with setuptools, without listing setuptools "
        "as a dependency (the virtual environments pip made carried it until Python 3.12): the "
        "build has setuptools<82 too."
    ) in result.notes

    # setuptools listed without a version (bootcamp's requirements): the newest has no
    # pkg_resources, and the package that imports it still gets one that does.
    target, result = install(tmp_path, [*no_index(links), "oldsearch==2.8.1", "setuptools"])
    assert (target / "pkg_resources" / "__init__.py").is_file()
    assert "setuptools-81.0" in result.installed


def test_pure_python_sdist_is_built(tmp_path: Path, links: Path) -> None:
    make_sdist(links, "sdistonly", "0.9.1")
    target, result = install(tmp_path, [*no_index(links), "sdistonly==0.9.1"])
    assert (target / "sdistonly" / "__init__.py").is_file()
    assert "sdistonly-0.9.1" in result.installed


def test_sdist_that_needs_a_compiler_is_refused_with_the_fixes(tmp_path: Path, links: Path) -> None:
    make_sdist(links, "mysqlclient", "2.2.4", mode="compile")
    with pytest.raises(FCMigrateError) as info:
        install(tmp_path, [*no_index(links), "mysqlclient==2.2.4"])
    message = str(info.value)
    assert message.startswith(
        "mysqlclient 2.2.4 has no wheel for CPython 3.10 on manylinux x86_64, only source code "
        "to compile: that would need a C compiler here, and the result may not run on FC's "
        "glibc (2.28 on custom.debian10). Fix: replace it with PyMySQL "
    )
    assert message.endswith("or build a container image with 'fcmigrate dockerize'.")
    assert "\n" not in message


@pytest.mark.parametrize(
    ("name", "fix"),
    [
        # discover-flask (2014): py-bcrypt has no wheel of any release; bcrypt took its place.
        (
            "py-bcrypt",
            "replace it with bcrypt (the same 'bcrypt' module and functions, with wheels); or "
            "build a container image with 'fcmigrate dockerize'.",
        ),
        (
            "oldcrypt",
            "build a container image with 'fcmigrate dockerize', or replace it with a package "
            "that ships wheels.",
        ),
    ],
)
def test_a_compiled_sdist_with_no_wheel_anywhere_gets_a_fix_that_reads(
    tmp_path: Path, links: Path, monkeypatch: pytest.MonkeyPatch, name: str, fix: str
) -> None:
    make_sdist(links, name, "0.4", mode="compile")
    releases = {"0.4": [{"filename": f"{name}-0.4.tar.gz"}]}
    with json_server({"releases": releases}) as url, pytest.raises(FCMigrateError) as info:
        monkeypatch.setattr(wheels, "PYPI_JSON", url)
        install(tmp_path, [*no_index(links), f"{name}==0.4"])
    assert str(info.value).endswith(f"(2.28 on custom.debian10). Fix: {fix}")


def test_a_compiled_server_is_left_out_even_as_an_sdist(tmp_path: Path, links: Path) -> None:
    make_sdist(links, "uWSGI", "2.0.23", mode="compile")
    make_wheel(links, "gunicorn", "23.1.0")
    target, result = install(tmp_path, [*no_index(links), "uWSGI==2.0.23"])
    assert not list(target.glob("uwsgi*")) and not list(target.glob("uWSGI*"))
    assert "on FC fcmigrate serves the app with gunicorn" in result.notes[0]


def test_nearest_release_with_a_wheel_for_the_target(tmp_path: Path) -> None:
    def files(*names: str) -> list[dict[str, object]]:
        return [{"filename": n, "yanked": False} for n in names]

    releases = {
        "1.3.24": files("pkg-1.3.24.tar.gz", "pkg-1.3.24-cp39-cp39-manylinux2010_x86_64.whl"),
        "1.4.0": files("pkg-1.4.0-cp310-cp310-manylinux_2_31_x86_64.whl"),  # glibc too new
        "1.4.1b1": files("pkg-1.4.1b1-cp310-cp310-manylinux2014_x86_64.whl"),  # pre-release
        "1.4.2": files("pkg-1.4.2-cp310-cp310-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"),
        "2.0.0": files("pkg-2.0.0-py3-none-any.whl"),
    }
    with json_server({"releases": releases}) as url:
        assert wheels.nearest_release("pkg", "1.3.24", "3.10", "custom.debian10", url=url) == (
            "1.4.2"
        )
        # For debian11 (glibc 2.31), 1.4.0 loads.
        assert wheels.nearest_release("pkg", "1.3.24", "3.10", "custom.debian11", url=url) == (
            "1.4.0"
        )
        # Nothing newer: the newest older one.
        assert wheels.nearest_release("pkg", "3.0", "3.10", "custom.debian10", url=url) == "2.0.0"
    # Offline (nothing listens): no advice, no error.
    assert wheels.nearest_release("pkg", "1.0", "3.10", "custom.debian10", url=url) is None


class _JSONHandler(BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class json_server:
    """A loopback server answering every GET with ``data`` as JSON; yields its URL."""

    def __init__(self, data: object) -> None:
        handler = type("Handler", (_JSONHandler,), {"body": json.dumps(data).encode()})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)

    def __enter__(self) -> str:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}/pypi/{{name}}/json"

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- fcmigrate's own requirement, conflicts, names, indexes ---------------------------------


def test_an_app_pin_of_an_old_gunicorn_gives_way_with_a_note(tmp_path: Path, links: Path) -> None:
    # The pin is for the server the app runs elsewhere; the build runs fcmigrate's.
    make_wheel(links, "gunicorn", "20.1.0")
    make_wheel(links, "gunicorn", "23.1.0")
    target, result = install(tmp_path, [*no_index(links), "gunicorn==20.1.0"])
    assert "VERSION = '23.1.0'" in (target / "gunicorn" / "__init__.py").read_text()
    assert result.notes == [
        "Your requirements pin 'gunicorn==20.1.0'; the build has gunicorn>=23 instead, the "
        "server fcmigrate runs, as older releases lack the request-smuggling fixes "
        "(CVE-2024-1135, CVE-2024-6827). Where the app runs outside FC, the pin still "
        "applies: raise it there too."
    ]


def test_a_compiled_server_is_left_out_with_a_note(tmp_path: Path, links: Path) -> None:
    make_wheel(links, "gunicorn", "23.1.0")
    make_wheel(links, "six", "1.17.0")
    # No uwsgi anywhere: were it not left out, uv would fail to find it.
    target, result = install(tmp_path, [*no_index(links), "uwsgi==2.0.23", "six"])
    assert (target / "six.py").is_file() or (target / "six").exists()
    assert not list(target.glob("uwsgi*"))
    assert len(result.notes) == 1 and "'uwsgi==2.0.23' out of the build" in result.notes[0]


def test_the_apps_own_pins_win(tmp_path: Path, links: Path) -> None:
    make_wheel(links, "gunicorn", "23.1.0")
    target, _ = install(tmp_path, [*no_index(links), "gunicorn==23.0.0"])
    assert "VERSION = '23.0.0'" in (target / "gunicorn" / "__init__.py").read_text()


def test_a_conflict_is_condensed_to_one_line(tmp_path: Path, links: Path) -> None:
    make_wheel(links, "web", "3.0.0", requires=["tool>=3"])
    make_wheel(links, "tool", "2.0.0")
    make_wheel(links, "tool", "3.0.0")
    with pytest.raises(FCMigrateError) as info:
        install(tmp_path, [*no_index(links), "web==3.0.0", "tool<3"])
    message = str(info.value)
    assert message.startswith("The requirements conflict for CPython 3.10 on manylinux x86_64: ")
    assert "all versions of web depend on tool>=3" in message
    assert "you require tool<3" in message
    assert message.endswith("Change one of the pins named there.")
    assert "\n" not in message and "  " not in message


def test_unknown_name(tmp_path: Path, links: Path) -> None:
    with pytest.raises(FCMigrateError) as info:
        install(tmp_path, [*no_index(links), "no-such-thing-fcm==1"])
    assert str(info.value) == (
        "No package 'no-such-thing-fcm' ('no-such-thing-fcm==1') on the package index. Check "
        "the name in your requirements (or the index they are installed from)."
    )


@pytest.mark.parametrize("where", ["requirements.txt", "PIP_INDEX_URL"])
def test_unreachable_index_is_said_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    monkeypatch.setenv("UV_HTTP_RETRIES", "0")
    with socket_closed() as port:
        index = f"http://127.0.0.1:{port}/simple"
        lines = ["flask"]
        if where == "PIP_INDEX_URL":
            monkeypatch.setenv("PIP_INDEX_URL", index)
        else:
            lines.insert(0, f"-i {index}")
        with pytest.raises(FCMigrateError) as info:
            install(tmp_path, lines)
    message = str(info.value)
    assert message.startswith(f"The package index http://127.0.0.1:{port}/simple/ cannot be ")
    assert message.endswith(
        "Check the network, or the index URL (-i/--index-url in requirements.txt, "
        "PIP_INDEX_URL or UV_INDEX_URL)."
    )
    assert "\n" not in message


class socket_closed:
    """A loopback port nothing listens on."""

    def __enter__(self) -> int:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port: int = s.getsockname()[1]
        return port

    def __exit__(self, *exc: object) -> None:
        pass


def test_pip_index_variables_are_honoured(
    tmp_path: Path, links: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_wheel(links, "fromlinks", "1.0")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(links))
    target, _ = install(tmp_path, ["fromlinks"])
    assert (target / "fromlinks").is_dir()


def test_find_links_in_a_requirements_file_is_relative_to_it(tmp_path: Path) -> None:
    project = tmp_path / "project"
    make_wheel(project / "wheels", "relpkg", "1.0")
    make_wheel(project / "wheels", "gunicorn", "23.0.0")
    requirements = project / "requirements.txt"
    requirements.write_text("--no-index\n--find-links wheels\nrelpkg\n")
    work = tmp_path / "work"
    work.mkdir()
    vendor.install_requirements(
        tmp_path / "target",
        requirements_file=requirements,
        requirements=["relpkg"],
        python_version="3.10",
        runtime="custom.debian10",
        progress=lambda line: None,
        workdir=work,
    )
    assert (tmp_path / "target" / "relpkg" / "__init__.py").is_file()


def test_constraints_and_hashes_in_requirements_files(tmp_path: Path, links: Path) -> None:
    make_wheel(links, "pinned", "1.0")
    wheel = make_wheel(links, "pinned", "2.0")
    (tmp_path / "constraints.txt").write_text("pinned<2\n")
    target, _ = install(tmp_path, [*no_index(links), "-c constraints.txt", "pinned"])
    assert "VERSION = '1.0'" in (target / "pinned" / "__init__.py").read_text()
    good = hashlib.sha256(wheel.read_bytes()).hexdigest()
    target, _ = install(tmp_path, [*no_index(links), f"pinned==2.0 --hash=sha256:{good}"])
    assert "VERSION = '2.0'" in (target / "pinned" / "__init__.py").read_text()
    with pytest.raises(FCMigrateError) as info:
        install(tmp_path, [*no_index(links), f"pinned==2.0 --hash=sha256:{'0' * 64}"])
    assert str(info.value).startswith(
        "pinned==2.0 does not match the --hash lines of your requirements: "
    )


# --- time limit, signals ------------------------------------------------------------------


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purposes.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ")[-1].startswith("Z"))


def _wait_gone(pid: int, seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    return False


def test_time_limit_stops_the_resolver_and_its_builds(
    tmp_path: Path, links: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid_file = tmp_path / "backend.pid"
    monkeypatch.setenv("FCMIGRATE_TEST_PID_FILE", str(pid_file))
    make_sdist(links, "slowbuild", "1.0", mode="sleep")
    started = time.monotonic()
    with pytest.raises(FCMigrateError) as info:
        install(tmp_path, [*no_index(links), "slowbuild==1.0"], timeout=4)
    assert time.monotonic() - started < 30
    message = str(info.value)
    assert message.startswith("Installing the requirements took more than 4 seconds and was ")
    assert "slowbuild" in message  # the last step uv reported: building it
    assert "--resolve-timeout SECONDS" in message
    assert _wait_gone(int(pid_file.read_text()))


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_a_signal_stops_migrate_and_the_resolver(
    tmp_path: Path, links: Path, stop: signal.Signals
) -> None:
    pid_file = tmp_path / "backend.pid"
    make_sdist(links, "slowbuild", "1.0", mode="sleep")
    project = tmp_path / "tiny"
    project.mkdir()
    (project / "app.py").write_text(TINY_APP)
    (project / "requirements.txt").write_text("slowbuild==1.0\n")
    env = dict(
        os.environ,
        FCMIGRATE_TEST_PID_FILE=str(pid_file),
        PIP_NO_INDEX="1",
        PIP_FIND_LINKS=str(links),
    )
    out = tmp_path / "build"
    log = tmp_path / "stderr.txt"
    with log.open("wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "fcmigrate", "migrate", str(project), "--out", str(out)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        deadline = time.monotonic() + 60
        while not pid_file.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        assert pid_file.exists(), log.read_text()
        time.sleep(0.3)  # the pid is written before the sleep starts
        proc.send_signal(stop)
        # 128 + the signal: SIGTERM 143, Ctrl-C 130 ("Aborted.").
        assert proc.wait(30) == 128 + stop
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert _wait_gone(int(pid_file.read_text()))
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if "fcmigrate-" in p.name or ".tmp-" in p.name] == []


def test_resolve_timeout_from_the_environment() -> None:
    assert vendor.resolve_timeout(None, {}) == vendor.DEFAULT_RESOLVE_TIMEOUT
    assert vendor.resolve_timeout(None, {"FCMIGRATE_RESOLVE_TIMEOUT": "12"}) == 12
    assert vendor.resolve_timeout(30, {"FCMIGRATE_RESOLVE_TIMEOUT": "12"}) == 30
    with pytest.raises(FCMigrateError, match="FCMIGRATE_RESOLVE_TIMEOUT='soon' is not a number"):
        vendor.resolve_timeout(None, {"FCMIGRATE_RESOLVE_TIMEOUT": "soon"})


def test_bad_resolve_timeout_is_one_error_line(tmp_path: Path) -> None:
    project = tmp_path / "tiny"
    project.mkdir()
    (project / "app.py").write_text(TINY_APP)
    out = tmp_path / "build"
    proc = subprocess.run(
        [sys.executable, "-m", "fcmigrate", "migrate", str(project), "--out", str(out), "-q"],
        env=dict(os.environ, FCMIGRATE_RESOLVE_TIMEOUT="soon"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr == (
        "Error: FCMIGRATE_RESOLVE_TIMEOUT='soon' is not a number of seconds above 0. Use e.g. "
        "--resolve-timeout 600.\n"
    )
    assert not out.exists()


def test_psycopg2_becomes_its_binary_twin(tmp_path: Path, links: Path) -> None:
    make_sdist(links, "psycopg2", "2.9.9", mode="compile")
    make_wheel(links, "psycopg2-binary", "2.9.9")
    target, result = install(tmp_path, [*no_index(links), "psycopg2==2.9.9"])
    assert (target / "psycopg2_binary" / "__init__.py").is_file()
    assert not (target / "psycopg2").exists()
    assert any("'psycopg2-binary==2.9.9' for 'psycopg2==2.9.9'" in n for n in result.notes)


def test_psycopg_c_becomes_psycopg_binary(tmp_path: Path, links: Path) -> None:
    """netbox's ``psycopg[c,pool]==3.3.4``: the ``c`` extra is psycopg-c, source only."""
    make_wheel(
        links,
        "psycopg",
        "3.3.4",
        requires=[
            'psycopg-c==3.3.4; extra == "c"',
            'psycopg-binary==3.3.4; extra == "binary"',
            'psycopg-pool; extra == "pool"',
        ],
        files={
            "psycopg-3.3.4.dist-info/METADATA": (
                "Metadata-Version: 2.1\nName: psycopg\nVersion: 3.3.4\n"
                "Provides-Extra: c\nProvides-Extra: binary\nProvides-Extra: pool\n"
                'Requires-Dist: psycopg-c==3.3.4; extra == "c"\n'
                'Requires-Dist: psycopg-binary==3.3.4; extra == "binary"\n'
                'Requires-Dist: psycopg-pool; extra == "pool"\n'
            )
        },
    )
    make_sdist(links, "psycopg-c", "3.3.4", mode="compile")
    make_wheel(links, "psycopg-binary", "3.3.4")
    make_wheel(links, "psycopg-pool", "3.2.0")
    target, result = install(tmp_path, [*no_index(links), "psycopg[c,pool]==3.3.4"])
    assert (target / "psycopg_binary" / "__init__.py").is_file()
    assert (target / "psycopg_pool" / "__init__.py").is_file()
    assert not (target / "psycopg_c").exists()
    assert any(
        "'psycopg[binary,pool]==3.3.4' for 'psycopg[c,pool]==3.3.4'" in n for n in result.notes
    )


def test_a_twin_without_the_pinned_release_takes_the_nearest_with_a_wheel(
    tmp_path: Path, links: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # psycopg2==2.7.3: the binary twin's first release was 2.7.4, and the first with a wheel
    # for CPython 3.10 came later still.
    make_sdist(links, "psycopg2", "2.7.3", mode="compile")
    make_wheel(links, "psycopg2-binary", "2.7.4", tag="cp36-cp36m-manylinux1_x86_64")
    make_wheel(links, "psycopg2-binary", "2.9.2")
    releases = {
        "2.7.4": [{"filename": "psycopg2_binary-2.7.4-cp36-cp36m-manylinux1_x86_64.whl"}],
        "2.9.2": [{"filename": "psycopg2_binary-2.9.2-cp310-cp310-manylinux2014_x86_64.whl"}],
    }
    with json_server({"releases": releases}) as url:
        monkeypatch.setattr(wheels, "PYPI_JSON", url)
        target, result = install(tmp_path, [*no_index(links), "psycopg2==2.7.3"])
    assert "VERSION = '2.9.2'" in (target / "psycopg2_binary" / "__init__.py").read_text()
    assert result.notes[-1] == (
        "Installed 'psycopg2-binary==2.9.2' for 'psycopg2==2.7.3': psycopg2-binary has no "
        "2.7.3 with a wheel for CPython 3.10 on manylinux x86_64, and 2.9.2 is the nearest "
        "release that has one."
    )


def test_an_old_sdist_builds_with_an_older_setuptools(tmp_path: Path, links: Path) -> None:
    make_wheel(links, "setuptools", "80.0.0")
    make_wheel(links, "setuptools", "69.5.1")
    make_sdist(links, "oldpkg", "0.39.1", mode="legacy")
    target, result = install(tmp_path, [*no_index(links), "oldpkg==0.39.1"])
    assert (target / "oldpkg" / "__init__.py").is_file()
    assert any("setuptools<70" in note for note in result.notes)


@pytest.mark.parametrize(("mode", "ceiling"), [("2to3", "<58"), ("feature", "<46")])
def test_an_sdist_older_still_builds_with_the_setuptools_that_had_its_api(
    tmp_path: Path, links: Path, mode: str, ceiling: str
) -> None:
    # jsmin 2.2.2 asks for use_2to3; MarkupSafe 1.0 imports setuptools.Feature.
    for version in ("80.0.0", "69.5.1", "57.5.0", "45.3.0"):
        make_wheel(links, "setuptools", version)
    make_sdist(links, "oldpkg", "2.2.2", mode=mode)
    target, result = install(tmp_path, [*no_index(links), "oldpkg==2.2.2"])
    assert (target / "oldpkg" / "__init__.py").is_file()
    assert any(f"setuptools{ceiling}" in note for note in result.notes)


def test_two_old_sdists_that_need_different_setuptools_both_build(
    tmp_path: Path, links: Path
) -> None:
    for version in ("80.0.0", "69.5.1", "57.5.0"):
        make_wheel(links, "setuptools", version)
    make_sdist(links, "newer", "0.39.1", mode="legacy")
    make_sdist(links, "older", "2.2.2", mode="2to3")
    target, result = install(tmp_path, [*no_index(links), "newer==0.39.1", "older==2.2.2"])
    assert (target / "newer").is_dir() and (target / "older").is_dir()
    assert "setuptools<58" in result.notes[-1]


@pytest.mark.parametrize("with_legacy", [False, True], ids=["alone", "after-setuptools"])
def test_an_sdist_written_for_cython_0_29_builds_with_it(
    tmp_path: Path, links: Path, with_legacy: bool
) -> None:
    # PyYAML 5.4.1 (shynet's Poetry lock, beside django-allauth 0.45.0's convert_path).
    make_wheel(links, "Cython", "3.1.0")
    make_wheel(links, "Cython", "0.29.37")
    wanted = ["pyyaml==5.4.1"]
    if with_legacy:
        for version in ("80.0.0", "69.5.1"):
            make_wheel(links, "setuptools", version)
        make_sdist(links, "oldpkg", "0.45.0", mode="legacy")
        wanted.append("oldpkg==0.45.0")
    make_sdist(links, "pyyaml", "5.4.1", mode="cython")
    target, result = install(tmp_path, [*no_index(links), *wanted])
    assert (target / "pyyaml" / "__init__.py").is_file()
    assert "setuptools<70 and Cython<3" in result.notes[-1], result.notes


def test_an_old_sdist_and_a_twin_without_a_wheel_both_get_their_remedy(
    tmp_path: Path, links: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # flask-base's freeze: jsmin 2.2.2 builds only with an old setuptools; psycopg2==2.8.3's
    # binary twin has no wheel of 2.8.3 for CPython 3.10. Whichever stops uv first, the
    # other's remedy follows.
    for version in ("80.0.0", "57.5.0"):
        make_wheel(links, "setuptools", version)
    make_sdist(links, "oldpkg", "2.2.2", mode="2to3")
    make_sdist(links, "psycopg2", "2.8.3", mode="compile")
    make_sdist(links, "psycopg2-binary", "2.8.3", mode="compile")
    make_wheel(links, "psycopg2-binary", "2.9.2")
    releases = {
        "2.8.3": [{"filename": "psycopg2-binary-2.8.3.tar.gz"}],
        "2.9.2": [{"filename": "psycopg2_binary-2.9.2-cp310-cp310-manylinux2014_x86_64.whl"}],
    }
    with json_server({"releases": releases}) as url:
        monkeypatch.setattr(wheels, "PYPI_JSON", url)
        target, result = install(tmp_path, [*no_index(links), "oldpkg==2.2.2", "psycopg2==2.8.3"])
    assert (target / "oldpkg").is_dir()
    assert "VERSION = '2.9.2'" in (target / "psycopg2_binary" / "__init__.py").read_text()
    assert any("setuptools<58" in note for note in result.notes)
    assert any("psycopg2-binary==2.9.2" in note for note in result.notes), result.output


def test_a_python_2_copy_of_a_standard_module_is_left_out(tmp_path: Path, links: Path) -> None:
    # discover-flask's freeze lists wsgiref==0.1.2, Python 2 code that does not build.
    make_sdist(links, "wsgiref", "0.1.2", mode="compile")
    make_wheel(links, "six", "1.17.0")
    target, result = install(tmp_path, [*no_index(links), "wsgiref==0.1.2", "six==1.17.0"])
    assert (target / "six").is_dir()
    assert not (target / "wsgiref").exists()
    assert result.notes == [
        "Left 'wsgiref==0.1.2' out of the build: it copies the standard library's wsgiref "
        "for older Pythons, which the target has built in (installed, the copy would hide it)."
    ]


@pytest.mark.parametrize("name", ["requirements-lock.txt", "constraints.txt", None])
def test_a_freeze_beside_requirements_holds_what_they_leave_free(
    tmp_path: Path, links: Path, name: str | None
) -> None:
    # snakeeyes: requirements.txt pins celery and leaves kombu free; its freeze holds kombu
    # at a release that works with the pinned redis. Its gunicorn pin stays fcmigrate's.
    make_wheel(links, "taskq", "5.4.0", requires=["transport>=5"])
    make_wheel(links, "transport", "5.4.2")
    make_wheel(links, "transport", "5.6.0")
    make_wheel(links, "gunicorn", "20.1.0")
    if name is not None:
        (tmp_path / name).write_text("# frozen\ngunicorn==20.1.0\ntaskq==5.4.0\ntransport==5.4.2\n")
    target, result = install(tmp_path, [*no_index(links), "taskq==5.4.0"])
    frozen = "VERSION = '5.4.2'" in (target / "transport" / "__init__.py").read_text()
    assert frozen is (name is not None)
    assert "VERSION = '23.0.0'" in (target / "gunicorn" / "__init__.py").read_text()
    if name is not None:
        assert result.notes[0].startswith(f"{name} pins what requirements.txt installs")


def test_the_project_itself_in_requirements_is_built_from_the_build_copy(
    tmp_path: Path, links: Path
) -> None:
    # A Pyramid project lists itself ('.') so that its PasteDeploy entry point is
    # installed; pip reads '.' from the project's folder, uv would read it from its own.
    project = tmp_path / "project"
    (project / "blog").mkdir(parents=True)
    (project / "blog" / "__init__.py").write_text(
        "def main(global_config, **settings):\n    pass\n"
    )
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n'
    )
    (project / "backend.py").write_text(BACKEND.format(name="blog", version="0.1", mode="pure"))
    (project / "requirements.txt").write_text(f"--no-index\n--find-links {links}\n.\n")
    before = sorted(p.relative_to(project) for p in project.rglob("*"))
    copy = tmp_path / "build"
    shutil.copytree(project, copy)
    work = tmp_path / "work"
    work.mkdir()
    vendor.install_requirements(
        copy / "python",
        requirements_file=project / "requirements.txt",
        requirements=["."],
        python_version="3.10",
        runtime="custom.debian10",
        progress=lambda line: None,
        workdir=work,
    )
    assert (copy / "python" / "blog" / "__init__.py").is_file()
    assert sorted(p.relative_to(project) for p in project.rglob("*")) == before


def python_project(folder: Path, name: str) -> Path:
    """A project folder whose in-tree backend builds a wheel of ``name`` 0.1."""
    (folder / name).mkdir(parents=True)
    (folder / name / "__init__.py").write_text("")
    (folder / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n'
    )
    (folder / "backend.py").write_text(BACKEND.format(name=name, version="0.1", mode="pure"))
    return folder


def test_editable_folders_are_built_from_the_build_copy_as_regular_packages(
    tmp_path: Path, links: Path
) -> None:
    # flaskbb ends its requirements.txt with '-e .'; others install a folder of their own.
    project = python_project(tmp_path / "project", "forum")
    python_project(project / "libs" / "tool", "tool")
    (project / "requirements").mkdir()
    (project / "requirements" / "base.txt").write_text("-e .\n--editable=./libs/tool\n")
    (project / "requirements.txt").write_text(
        f"--no-index\n--find-links {links}\n-r requirements/base.txt\n"
    )
    before = sorted(p.relative_to(project) for p in project.rglob("*"))
    copy = tmp_path / "build"
    shutil.copytree(project, copy)
    work = tmp_path / "work"
    work.mkdir()
    result = vendor.install_requirements(
        copy / "python",
        requirements_file=project / "requirements.txt",
        requirements=[],
        python_version="3.10",
        runtime="custom.debian10",
        progress=lambda line: None,
        workdir=work,
    )
    assert "forum-0.1" in result.installed and "tool-0.1" in result.installed
    # Regular packages: their files, no .pth or finder pointing at a folder of this machine.
    assert (copy / "python" / "forum" / "__init__.py").is_file()
    assert (copy / "python" / "tool" / "__init__.py").is_file()
    assert not list((copy / "python").glob("*.pth"))
    assert result.notes[:2] == [
        "base.txt line 1: '-e .' was installed as a regular (non-editable) package, since "
        "FC's code folder is a copy: an editable install would point at a folder of this "
        "machine.",
        "base.txt line 2: '-e ./libs/tool' was installed as a regular (non-editable) "
        "package, since FC's code folder is a copy: an editable install would point at a "
        "folder of this machine.",
    ]
    assert sorted(p.relative_to(project) for p in project.rglob("*")) == before


def test_an_editable_git_url_installs_as_a_regular_package(tmp_path: Path, links: Path) -> None:
    # uv refuses '-e git+...' ("Git sources cannot be editable"); pip installs it.
    repo = python_project(tmp_path / "repo", "gitlib")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "add", "."], check=True)
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "."],
        check=True,
    )
    target, result = install(tmp_path, [*no_index(links), f"-e git+file://{repo}#egg=gitlib"])
    assert (target / "gitlib" / "__init__.py").is_file()
    assert result.notes == [
        f"requirements.txt line 3: '-e git+file://{repo}#egg=gitlib' was installed as a "
        "regular (non-editable) package, since FC's code folder is a copy: an editable "
        "install would point at a folder of this machine."
    ]


def test_an_editable_git_url_whose_host_cannot_be_reached_comes_from_the_index(
    tmp_path: Path, links: Path
) -> None:
    # '#egg=name' names the package, so its release on the index can stand in.
    make_wheel(links, "gitlib", "2.0")
    url = "git+https://git.invalid/team/gitlib.git#egg=gitlib"
    target, result = install(tmp_path, [*no_index(links), f"-e {url}"])
    assert "VERSION = '2.0'" in (target / "gitlib" / "__init__.py").read_text()
    assert result.notes[-1].startswith(
        f"gitlib is pinned to a Git repository ({url}), but git.invalid cannot be reached"
    )


def test_an_editable_line_naming_no_folder_gives_one_error_line(
    tmp_path: Path, links: Path
) -> None:
    with pytest.raises(FCMigrateError) as caught:
        install(tmp_path, [*no_index(links), "-e ./libs/missing"])
    assert str(caught.value) == (
        "requirements.txt line 3: '-e ./libs/missing' names no folder of the project (looked "
        f"in {str(tmp_path / 'libs' / 'missing')!r}). Write the path of the folder to "
        "install, from the project's folder (-e ./libs/tool), or remove the line."
    )


def test_frozen_pins_that_conflict_install_as_pinned(tmp_path: Path, links: Path) -> None:
    # A pip freeze whose pins conflict: pip's old resolver installed them anyway.
    make_wheel(links, "web", "3.0.0", requires=["tool>=3"])
    make_wheel(links, "tool", "2.0.0")
    make_wheel(links, "packaging", "24.0")
    target, result = install(tmp_path, [*no_index(links), "web==3.0.0", "tool==2.0.0"])
    assert "VERSION = '2.0.0'" in (target / "tool" / "__init__.py").read_text()
    assert (target / "web").is_dir() and (target / "gunicorn").is_dir()
    assert any("--override" in note for note in result.notes)


def test_top_level_pins_that_conflict_keep_the_dependencies_they_do_not_list(
    tmp_path: Path, links: Path
) -> None:
    # Every line pinned, but only the top level (not a freeze): pip's old resolver let the
    # pin win the conflict and still installed what the packages need besides.
    make_wheel(links, "web", "3.0.0", requires=["tool>=3", "helper>=1"])
    make_wheel(links, "tool", "2.0.0")
    make_wheel(links, "helper", "1.5.0")
    target, result = install(tmp_path, [*no_index(links), "web==3.0.0", "tool==2.0.0"])
    assert "VERSION = '2.0.0'" in (target / "tool" / "__init__.py").read_text()
    assert (target / "helper" / "__init__.py").is_file()
    assert result.notes[-1] == (
        "Your requirements pin every package but conflict with each other (pip's old "
        "resolver let that pass): your pins were kept over what the packages ask for (uv "
        "--override), as pip installed them, and the rest of their dependencies was resolved "
        "around them; the import check tells if anything is amiss."
    )


def test_a_conflicting_pin_of_an_old_server_still_gives_way(tmp_path: Path, links: Path) -> None:
    make_wheel(links, "web", "3.0.0", requires=["tool>=3"])
    make_wheel(links, "tool", "2.0.0")
    make_wheel(links, "gunicorn", "20.0.4")
    lines = [*no_index(links), "web==3.0.0", "tool==2.0.0", "gunicorn==20.0.4"]
    target, _ = install(tmp_path, lines)
    assert "VERSION = '23.0.0'" in (target / "gunicorn" / "__init__.py").read_text()


def test_a_conflict_that_is_not_a_freeze_is_not_forced(tmp_path: Path, links: Path) -> None:
    make_wheel(links, "web", "3.0.0", requires=["tool>=3"])
    make_wheel(links, "tool", "2.0.0")
    with pytest.raises(FCMigrateError, match="The requirements conflict"):
        install(tmp_path, [*no_index(links), "web>=3", "tool==2.0.0"])


def test_the_second_try_says_what_stops_it(tmp_path: Path, links: Path) -> None:
    # Past the conflict, the frozen list names a package the index does not have: that is
    # what to fix next, not the conflict the second try got past.
    make_wheel(links, "web", "3.0.0", requires=["tool>=3"])
    make_wheel(links, "tool", "2.0.0")
    make_wheel(links, "packaging", "24.0")
    make_sdist(links, "native", "1.0.0", mode="compile")
    with pytest.raises(FCMigrateError) as info:
        install(tmp_path, [*no_index(links), "web==3.0.0", "tool==2.0.0", "native==1.0.0"])
    assert str(info.value).startswith("native 1.0.0 has no wheel for CPython 3.10")


def test_a_pure_fallback_build_is_taken_when_built_by_the_target_python(
    tmp_path: Path, links: Path
) -> None:
    """SQLAlchemy 1.x style: the C extension fails without a compiler, the package builds
    pure, but its wheel is tagged for the Python that built it: so build with the target's."""
    target_python = vendor.find_interpreter("3.10")
    if target_python is None:
        pytest.skip("needs a Python 3.10")
    make_sdist(links, "optionalext", "1.1.9", mode="fallback")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("\n".join([*no_index(links), "optionalext==1.1.9"]) + "\n")
    work = tmp_path / "work"
    work.mkdir()
    target = tmp_path / "python"
    vendor.install_requirements(
        target,
        requirements_file=requirements,
        requirements=[],
        python_version="3.10",
        runtime="custom.debian10",
        progress=lambda line: None,
        workdir=work,
        build_python=target_python,
    )
    assert (target / "optionalext" / "__init__.py").is_file()


# --- pins frozen elsewhere that the target does not need -------------------------------


def test_a_frozen_backport_without_a_wheel_is_left_out_when_nothing_needs_it(
    tmp_path: Path, links: Path
) -> None:
    # A freeze made on Python 3.7: a linter pulled in a compiled backport there, which has
    # no wheel for 3.10; the linter asks for it only below 3.8.
    make_wheel(links, "linter", "2.4.2", requires=['typedback<1.5,>=1.4; python_version < "3.8"'])
    make_sdist(links, "typedback", "1.4.1", mode="compile")
    make_wheel(links, "web", "1.0.0")
    lines = [*no_index(links), "linter==2.4.2", "typedback==1.4.1", "web==1.0.0"]
    target, result = install(tmp_path, lines)
    assert not (target / "typedback").exists()
    assert (target / "linter").is_dir() and (target / "web").is_dir()
    assert result.notes[-1] == (
        "Left 'typedback==1.4.1' out of the build: it has no wheel for CPython 3.10 on "
        "manylinux x86_64, and nothing needs it there (linter asks for it only where "
        'python_version < "3.8"). A requirements file frozen on another Python or system '
        "lists it."
    )


def test_two_frozen_pins_without_wheels_are_both_left_out(tmp_path: Path, links: Path) -> None:
    # Frozen on Windows and an old Python: one pin for each.
    make_wheel(
        links,
        "tool",
        "1.0.0",
        requires=['winhelp; sys_platform == "win32"', 'zoneback; python_version < "3.9"'],
    )
    make_sdist(links, "winhelp", "300", mode="compile")
    make_sdist(links, "zoneback", "0.2.1", mode="compile")
    lines = [*no_index(links), "tool==1.0.0", "winhelp==300", "zoneback==0.2.1"]
    target, result = install(tmp_path, lines)
    assert not (target / "winhelp").exists() and not (target / "zoneback").exists()
    left = [note for note in result.notes if note.startswith("Left ")]
    assert sorted(note.split("'")[1] for note in left) == ["winhelp==300", "zoneback==0.2.1"]


def test_a_frozen_dependency_without_a_wheel_takes_the_nearest_release_with_one(
    tmp_path: Path, links: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # cffi's case: a freeze from Python 3.11 pins the release its resolver picked then, which
    # has no wheel for 3.12; a package in the freeze needs it.
    make_wheel(links, "crypto", "41.0.0", requires=["ffi>=1.12"])
    make_sdist(links, "ffi", "1.15.1", mode="compile")
    make_wheel(links, "ffi", "1.16.0")
    releases = {
        "1.15.1": [{"filename": "ffi-1.15.1-cp311-cp311-manylinux2014_x86_64.whl"}],
        "1.16.0": [{"filename": "ffi-1.16.0-cp312-cp312-manylinux2014_x86_64.whl"}],
    }
    with json_server({"releases": releases}) as url:
        monkeypatch.setattr(wheels, "PYPI_JSON", url)
        target, result = install(
            tmp_path, [*no_index(links), "crypto==41.0.0", "ffi==1.15.1"], "3.12"
        )
    assert "VERSION = '1.16.0'" in (target / "ffi" / "__init__.py").read_text()
    assert result.notes[-1] == (
        "Installed 'ffi==1.16.0' for 'ffi==1.15.1': 1.15.1 has no wheel for CPython 3.12 on "
        "manylinux x86_64, 1.16.0 is the nearest release that has one, and crypto needs it "
        "there (a requirements file frozen on another Python lists the release its resolver "
        "picked then)."
    )


def test_a_frozen_dependency_is_not_moved_to_another_major_release(
    tmp_path: Path, links: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_wheel(links, "linter", "3.0.0", requires=["typedback>=1.4"])
    make_sdist(links, "typedback", "1.4.1", mode="compile")
    releases = {"2.0.0": [{"filename": "typedback-2.0.0-cp310-cp310-manylinux2014_x86_64.whl"}]}
    with json_server({"releases": releases}) as url:
        monkeypatch.setattr(wheels, "PYPI_JSON", url)
        with pytest.raises(FCMigrateError) as info:
            install(tmp_path, [*no_index(links), "linter==3.0.0", "typedback==1.4.1"])
    assert str(info.value).startswith(
        "typedback 1.4.1 has no wheel for CPython 3.10 on manylinux x86_64, only source code "
        "to compile"
    )
    assert "pin typedback==2.0.0, the nearest release with such a wheel" in str(info.value)


def test_a_pin_without_a_wheel_that_nothing_asks_for_moves_only_within_its_series(
    tmp_path: Path, links: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # psycopg2-binary 2.9.9 has no wheel for CPython 3.13; 2.9.10 has. The app chose the
    # release itself (nothing else asks for it): a patch release stands in, nothing more.
    make_sdist(links, "pgdriver", "2.9.9", mode="compile")
    make_wheel(links, "pgdriver", "2.9.10")
    make_sdist(links, "imaging", "6.2.2", mode="compile")
    make_wheel(links, "web", "1.0.0")
    releases = {
        "2.9.10": [{"filename": "pgdriver-2.9.10-cp313-cp313-manylinux2014_x86_64.whl"}],
        "8.3.2": [{"filename": "imaging-8.3.2-cp313-cp313-manylinux2014_x86_64.whl"}],
    }
    with json_server({"releases": releases}) as url:
        monkeypatch.setattr(wheels, "PYPI_JSON", url)
        target, result = install(
            tmp_path, [*no_index(links), "web==1.0.0", "pgdriver==2.9.9"], "3.13"
        )
        assert "VERSION = '2.9.10'" in (target / "pgdriver" / "__init__.py").read_text()
        assert result.notes[-1] == (
            "Installed 'pgdriver==2.9.10' for 'pgdriver==2.9.9': 2.9.9 has no wheel for "
            "CPython 3.13 on manylinux x86_64, and 2.9.10, of the same 2.9 series, is the "
            "nearest release that has one."
        )
        # Pillow's case: the nearest release with a wheel is two major versions on.
        with pytest.raises(FCMigrateError) as info:
            install(tmp_path, [*no_index(links), "web==1.0.0", "imaging==6.2.2"], "3.13")
    assert str(info.value).startswith("imaging 6.2.2 has no wheel for CPython 3.13")
    assert "pin imaging==8.3.2, the nearest release with such a wheel" in str(info.value)


def test_a_pin_asked_for_by_an_extra_only_is_not_taken_as_unneeded(
    tmp_path: Path, links: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_wheel(links, "web", "1.0.0", requires=['imaging; extra == "images"'])
    make_sdist(links, "imaging", "6.2.2", mode="compile")
    with json_server({"releases": {}}) as url:
        monkeypatch.setattr(wheels, "PYPI_JSON", url)
        with pytest.raises(FCMigrateError, match=r"imaging 6\.2\.2 has no wheel"):
            install(tmp_path, [*no_index(links), "web[images]==1.0.0", "imaging==6.2.2"])


def test_the_error_names_the_pin_that_stops_the_build_not_one_that_could_move(
    tmp_path: Path, links: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A 2018 freeze: cffi (bcrypt's) fails first, but it may move within its major version;
    # the app's own Pillow pin may not, and is what the user has to change.
    make_wheel(links, "crypto", "3.1.4", requires=["ffi>=1.1"])
    make_sdist(links, "ffi", "1.11.5", mode="compile")
    make_wheel(links, "ffi", "1.15.0")
    make_sdist(links, "imaging", "5.3.0", mode="compile")
    releases = {
        "1.15.0": [{"filename": "ffi-1.15.0-cp310-cp310-manylinux2014_x86_64.whl"}],
        "8.3.2": [{"filename": "imaging-8.3.2-cp310-cp310-manylinux2014_x86_64.whl"}],
    }
    lines = [*no_index(links), "ffi==1.11.5", "crypto==3.1.4", "imaging==5.3.0"]
    with json_server({"releases": releases}) as url:
        monkeypatch.setattr(wheels, "PYPI_JSON", url)
        with pytest.raises(FCMigrateError) as info:
            install(tmp_path, lines)
    message = str(info.value)
    assert message.startswith("imaging 5.3.0 has no wheel for CPython 3.10 on manylinux x86_64")
    assert "Fix: pin imaging==8.3.2, the nearest release with such a wheel;" in message
    assert "ffi" not in message


def test_every_pin_that_stops_the_build_is_named_at_once(
    tmp_path: Path, links: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_sdist(links, "imaging", "5.3.0", mode="compile")
    make_sdist(links, "oldnative", "0.4", mode="compile")
    make_wheel(links, "web", "1.0.0")
    releases = {"8.3.2": [{"filename": "imaging-8.3.2-cp310-cp310-manylinux2014_x86_64.whl"}]}
    lines = [*no_index(links), "web==1.0.0", "imaging==5.3.0", "oldnative==0.4"]
    with json_server({"releases": releases}) as url:
        monkeypatch.setattr(wheels, "PYPI_JSON", url)
        with pytest.raises(FCMigrateError) as info:
            install(tmp_path, lines)
    message = str(info.value)
    assert message.startswith(
        "imaging 5.3.0 and oldnative 0.4 have no wheel for CPython 3.10 on manylinux x86_64"
    )
    # (The test index answers every name alike: each is told to move to 8.3.2.)
    assert message.endswith(
        "Fix: pin imaging==8.3.2, the nearest release with such a wheel; pin oldnative==8.3.2, "
        "the nearest release with such a wheel; or build a container image with 'fcmigrate "
        "dockerize'."
    )


def test_each_pin_in_one_error_gets_its_own_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UV_OFFLINE", "1")  # no release lookups: only the fixed remedies
    error = wheels.compiled_errors(
        [("uwsgi", "2.0.18"), ("psycopg2", "2.7.3"), ("oldnative", "0.4")],
        "3.10",
        "custom.debian10",
    )
    assert str(error) == (
        "uwsgi 2.0.18, psycopg2 2.7.3 and oldnative 0.4 have no wheel for CPython 3.10 on "
        "manylinux x86_64, only source code to compile: that would need a C compiler here, "
        "and the result may not run on FC's glibc (2.28 on custom.debian10). Fix: remove "
        "uwsgi from your requirements: the build does not need a server, fcmigrate serves "
        "the app with its own gunicorn; replace psycopg2 with psycopg2-binary; replace "
        "oldnative with a package that ships wheels; or build a container image with "
        "'fcmigrate dockerize'."
    )


def test_a_git_source_whose_host_cannot_be_reached_comes_from_the_index(
    tmp_path: Path, links: Path
) -> None:
    # A Pipfile.lock pins PyYAML to a commit on GitHub; this machine reaches the index only.
    make_wheel(links, "yamlish", "6.0.1")
    make_wheel(links, "web", "1.0.0", requires=["yamlish>=5"])
    url = "git+https://git.invalid/yaml/yamlish.git@a9c28e0b521967f5330f0316edd90a57f99cdd32"
    target, result = install(tmp_path, [*no_index(links), "web==1.0.0", f"yamlish @ {url}"])
    assert (target / "yamlish" / "__init__.py").is_file()
    assert result.notes[-1] == (
        f"yamlish is pinned to a Git repository ({url}), but git.invalid cannot be reached "
        "from this machine: yamlish's release on the package index was installed instead. "
        "Build where that host is reachable to keep the pinned commit, or pin the release "
        "you need (yamlish==X.Y)."
    )


def test_a_git_source_that_fails_for_another_reason_still_stops_the_build(
    tmp_path: Path, links: Path
) -> None:
    # A repository that exists here but lacks the commit: not a network problem.
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    url = f"git+file://{repo}@a9c28e0b521967f5330f0316edd90a57f99cdd32"
    make_wheel(links, "yamlish", "6.0.1")
    with pytest.raises(FCMigrateError):
        install(tmp_path, [*no_index(links), f"yamlish @ {url}"])


def test_a_worker_library_pin_without_a_wheel_is_left_out_when_the_code_never_names_it(
    tmp_path: Path, links: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # httpbin's Pipfile.lock: gevent 1.3.4 for its Procfile's `gunicorn -k gevent`.
    make_sdist(links, "gevent", "1.3.4", mode="compile")
    make_wheel(links, "web", "1.0.0")
    lines = [*no_index(links), "web==1.0.0", "gevent==1.3.4"]
    with json_server({"releases": {}}) as url:
        monkeypatch.setattr(wheels, "PYPI_JSON", url)
        target, result = install(tmp_path, lines)
        assert not (target / "gevent").exists() and (target / "web").is_dir()
        assert result.notes[-1] == (
            "Left 'gevent==1.3.4' out of the build: it has no wheel for CPython 3.10 on "
            "manylinux x86_64, nothing needs it there, and the project's code never names "
            "it: it serves gunicorn's '-k gevent' workers, and fcmigrate serves the app with "
            "its own gunicorn workers."
        )
        # A gunicorn.conf.py beside the build's python/ that asks for the worker keeps it.
        (target.parent / "gunicorn.conf.py").write_text('worker_class = "gevent"\n')
        requirements = tmp_path / "requirements.txt"
        requirements.write_text("\n".join(lines) + "\n")
        work = tmp_path / "work2"
        work.mkdir()
        with pytest.raises(FCMigrateError, match=r"gevent 1\.3\.4 has no wheel"):
            vendor.install_requirements(
                target,
                requirements_file=requirements,
                requirements=lines,
                python_version="3.10",
                runtime="custom.debian10",
                progress=lambda line: None,
                workdir=work,
            )


# --- public mirrors of PyPI that cannot be reached --------------------------------------


def simple_index(folder: Path, wheels_folder: Path) -> str:
    """A PEP 503 index in ``folder`` serving the wheels of ``wheels_folder``: its URL."""
    for wheel in wheels_folder.glob("*.whl"):
        project = folder / wheel.name.split("-")[0].replace("_", "-").lower()
        project.mkdir(parents=True, exist_ok=True)
        shutil.copy(wheel, project)
        with (project / "index.html").open("a") as page:
            page.write(f'<a href="{wheel.name}">{wheel.name}</a>\n')
    return folder.as_uri()


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every HTTP(S) request fails at once, as on a machine that cannot reach the host:
    through a proxy on a port nobody listens on, without retries."""
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{port}")
    monkeypatch.setenv("UV_HTTP_RETRIES", "0")


@pytest.mark.usefixtures("no_network")
def test_an_unreachable_public_mirror_named_by_the_requirements_gives_way_to_pypi(
    tmp_path: Path, links: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pinry: '--index-url https://mirrors.tuna.tsinghua.edu.cn/pypi/web/simple'; PyPI is a
    # local index here.
    from fcmigrate.build import mirrors

    make_wheel(links, "webframe", "2.0")
    pypi = simple_index(tmp_path / "pypi", links)
    monkeypatch.setattr(mirrors, "PYPI_INDEX", pypi)
    mirror = "https://mirrors.tuna.tsinghua.edu.cn/pypi/web/simple"
    target, result = install(tmp_path, [f"--index-url {mirror}", "webframe==2.0"])
    assert (target / "webframe" / "__init__.py").is_file()
    assert (target / "gunicorn").is_dir()
    assert result.notes == [
        f"requirements.txt line 1 installs from {mirror} (--index-url), Tsinghua "
        "University's mirror of PyPI, which cannot be reached from this machine: the "
        f"packages were installed from PyPI ({pypi}) instead, which has the same packages."
    ]


@pytest.mark.usefixtures("no_network")
def test_an_unreachable_extra_mirror_gives_way_to_the_index_the_user_set(
    tmp_path: Path, links: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_wheel(links, "webframe", "2.0")
    own = simple_index(tmp_path / "own", links)
    monkeypatch.setenv("UV_DEFAULT_INDEX", own)
    (tmp_path / "base.txt").write_text("--extra-index-url https://pypi.douban.com/simple\n")
    target, result = install(tmp_path, ["-r base.txt", "webframe==2.0"])
    assert (target / "webframe" / "__init__.py").is_file()
    assert result.notes == [
        "base.txt line 1 installs from https://pypi.douban.com/simple (--extra-index-url), "
        "Douban's mirror of PyPI, which cannot be reached from this machine: the packages "
        f"were installed from the index you set ({own}) instead, which has the same packages."
    ]


@pytest.mark.usefixtures("no_network")
@pytest.mark.parametrize(
    ("line", "environ"),
    [
        ("-i https://pypi.corp.invalid/simple", {}),
        # A mirror the user chose themselves: theirs to fix.
        (
            "-i https://mirrors.aliyun.com/pypi/simple/",
            {"UV_INDEX_URL": "https://mirrors.aliyun.com/pypi/simple/"},
        ),
    ],
    ids=["unknown index", "mirror the user set"],
)
def test_an_unreachable_index_that_is_not_a_mirror_the_requirements_name_stays_an_error(
    tmp_path: Path,
    links: Path,
    monkeypatch: pytest.MonkeyPatch,
    line: str,
    environ: dict[str, str],
) -> None:
    from fcmigrate.build import mirrors

    make_wheel(links, "webframe", "2.0")
    monkeypatch.setattr(mirrors, "PYPI_INDEX", simple_index(tmp_path / "pypi", links))
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(FCMigrateError, match=r"^The package index https://\S+ cannot be reached"):
        install(tmp_path, [line, "webframe==2.0"])
