"""Where ``migrate`` writes, and how it stops: ``--force``, ``--out``, ``--region``, SIGTERM.

The CLI runs in-process where that suffices and as a real process where the operating
system matters: another user who may not read a folder, a SIGTERM that arrives while pip
is waiting on a package index that never answers.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from helpers import CliResult, run_main

from fcmigrate.build.migrate import DEFAULT_PYTHON
from fcmigrate.build.package import BUILD_MARKER, check_replaceable
from fcmigrate.build.vendor import find_interpreter
from fcmigrate.errors import FCMigrateError

TINY_APP = """\
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"tiny"]
"""

pytestmark = pytest.mark.usefixtures("forget_tmp_modules")


def one_line_error(result: CliResult, *fragments: str) -> str:
    assert result.code == 2, result
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def files_of(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "tiny"
    root.mkdir()
    (root / "app.py").write_text(TINY_APP)
    return root


# --- 5. --force replaces only fcmigrate's own build ---------------------------------------


def test_force_refuses_a_folder_fcmigrate_did_not_build(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "site"
    (out / "docs").mkdir(parents=True)
    (out / "index.html").write_text("<h1>my site</h1>")
    (out / "docs" / "notes.md").write_text("mine")
    before = files_of(out)
    result = run_main(capsys, "migrate", str(project), "--out", str(out), "--force", "-q")
    line = one_line_error(result, repr(str(out)), "not built by fcmigrate", BUILD_MARKER)
    assert "--out" in line
    assert files_of(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site", "tiny"]


def test_force_may_replace_a_marked_or_empty_folder(tmp_path: Path) -> None:
    check_replaceable(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    check_replaceable(tmp_path / "empty")
    build = tmp_path / "build"
    build.mkdir()
    (build / "bootstrap").write_text("#!/bin/bash\n")
    with pytest.raises(FCMigrateError, match="not built by fcmigrate"):
        check_replaceable(build)
    (build / BUILD_MARKER).write_text("")
    check_replaceable(build)


# --- 7. bad --out and --region: one line, for every command that takes them ---------------


COMMANDS = {
    "wrap": ["wrap", "app:app"],
    "migrate": ["migrate", "{project}"],
    "dockerize": ["dockerize", "app:app"],
}


def argv(command: str, project: Path, *extra: str) -> list[str]:
    args = [a.format(project=project) for a in COMMANDS[command]]
    if "--out" not in extra:
        args += ["--out", str(project)]
    return [*args, *extra]


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize(
    "region", ["cn-hangzhou\x07", "cn-hangzhou\nservices: {}", "cn hangzhou", "Hangzhou", ""]
)
def test_region_is_checked_by_every_command(
    command: str, region: str, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = files_of(project.parent)
    result = run_main(capsys, *argv(command, project, "--region", region, "--force"))
    one_line_error(result, f"Invalid region {region!r}", "'cn-hangzhou'")
    assert files_of(project.parent) == before


@pytest.mark.parametrize("command", ["wrap", "dockerize"])  # migrate runs pip: test_migrate
def test_a_good_region_reaches_the_deploy_config(
    command: str, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_main(capsys, *argv(command, project, "--region", "ap-southeast-1"))
    assert result.code == 0, result.err
    doc = yaml.safe_load((project / "s.yaml").read_text())
    assert doc["vars"]["region"] == "ap-southeast-1"


@pytest.mark.parametrize("command", list(COMMANDS))
def test_out_naming_a_file_is_one_line(
    command: str, project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "notes.txt"
    target.write_text("keep me")
    result = run_main(capsys, *argv(command, project, "--out", str(target)))
    one_line_error(result, repr(str(target)), "is a file, not a folder", "--out")
    assert target.read_text() == "keep me"


def test_zip_naming_a_folder_is_one_line(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "dist.zip"
    folder.mkdir()
    result = run_main(capsys, "migrate", str(project), "--zip", str(folder), "-q")
    one_line_error(result, repr(str(folder)), "is a folder", f"--zip {str(folder / 'code.zip')!r}")
    assert list(folder.iterdir()) == []


def _as_nobody(args: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return args
    setpriv = shutil.which("setpriv")
    assert setpriv, "root needs setpriv (util-linux) to test an unreadable folder"
    return [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", *args]


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A folder another user may enter (pytest's tmp_path is private to root)."""
    base = Path(tempfile.mkdtemp(prefix="fcm-out-"))
    base.chmod(0o755)
    try:
        yield base
    finally:
        for path in base.rglob("*"):
            if path.is_dir():
                path.chmod(0o755)
        shutil.rmtree(base)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_out_naming_an_unreadable_folder_is_one_line(command: str, shared_tmp: Path) -> None:
    project = shared_tmp / "tiny"
    project.mkdir()
    (project / "app.py").write_text(TINY_APP)
    locked = shared_tmp / "locked"
    locked.mkdir()
    locked.chmod(0o000)
    args = argv(command, project, "--out", str(locked))
    proc = subprocess.run(
        _as_nobody([sys.executable, "-m", "fcmigrate", *args]),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "HOME": str(shared_tmp)},
        cwd=shared_tmp,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == (
        f"Error: Cannot read and write the folder {str(locked)!r} (--out). Make it writable "
        f"(chmod u+rwx {str(locked)!r}) or name another folder with --out.\n"
    )


# --- 6. SIGTERM cleans up like Ctrl-C -----------------------------------------------------


def descendants(pid: int) -> list[int]:
    found: list[int] = []
    todo = [pid]
    while todo:
        path = Path(f"/proc/{todo[0]}/task/{todo[0]}/children")
        todo = todo[1:]
        try:
            kids = [int(x) for x in path.read_text().split()]
        except OSError:
            kids = []
        found += kids
        todo += kids
    return found


def running(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    state = next(line for line in status.splitlines() if line.startswith("State:"))
    return "zombie" not in state


@pytest.fixture
def silent_index() -> Iterator[str]:
    """A package index on loopback that accepts connections and never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield f"http://127.0.0.1:{server.getsockname()[1]}/simple"


def sigterm_during(
    stage: str, children: int, project: Path, tmp_path: Path, env: dict[str, str]
) -> None:
    """Start migrate, SIGTERM it once ``stage`` is printed and it has ``children``
    descendants, then check that nothing of it is left: files or processes."""
    out = tmp_path / "dist" / "build"
    log = tmp_path / "migrate.log"
    with log.open("w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "fcmigrate", "migrate", str(project), "--out", str(out)],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=env,
        )
    try:
        deadline = time.monotonic() + 300
        kids: list[int] = []
        while time.monotonic() < deadline and proc.poll() is None:
            if stage in log.read_text() and len(kids := descendants(proc.pid)) >= children:
                break
            time.sleep(0.02)
        assert len(kids) >= children, f"{stage!r} with {children} children not seen:\n" + (
            log.read_text()
        )
        assert any(out.parent.iterdir())  # the staging folder is there
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 128 + signal.SIGTERM
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not out.parent.exists(), sorted(p.name for p in out.parent.iterdir())
    assert {p.name for p in tmp_path.iterdir()} <= {"migrate.log", "pip-cache", project.name}
    deadline = time.monotonic() + 10
    while any(running(pid) for pid in kids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in kids if running(pid)], "a child is still running"
    assert "Traceback" not in log.read_text()


@pytest.mark.slow
def test_sigterm_while_installing_removes_everything(
    project: Path, tmp_path: Path, silent_index: str
) -> None:
    # pip waits on an index that never answers: it is surely running when the signal comes.
    env = {
        **os.environ,
        "PIP_INDEX_URL": silent_index,
        "PIP_TIMEOUT": "120",
        "PIP_RETRIES": "0",
        "PIP_CACHE_DIR": str(tmp_path / "pip-cache"),
    }
    for name in ("PIP_FIND_LINKS", "PIP_NO_INDEX", "PIP_EXTRA_INDEX_URL"):
        env.pop(name, None)
    sigterm_during("Installing dependencies", 1, project, tmp_path, env)


@pytest.mark.slow
def test_sigterm_while_precompiling_stops_every_worker(project: Path, tmp_path: Path) -> None:
    if find_interpreter(DEFAULT_PYTHON) is None:
        pytest.skip(f"no Python {DEFAULT_PYTHON} here: migrate would not precompile")
    # compileall -j 0 compiles in worker processes; enough modules to keep them busy.
    for n in range(400):
        (project / f"mod_{n}.py").write_text(
            f"VALUES_{n} = [\n" + "    {'a': 1, 'b': [2, 3]},\n" * 300 + "]\n"
        )
    sigterm_during("Precompiling", 3, project, tmp_path, dict(os.environ))
