"""Tencent Cloud SCF web functions: ``fcmigrate wrap --platform scf`` and its ``scf_bootstrap``.

The start file is checked as SCF documents it (fc-platform.md section 8): its name, mode 755,
``#!/bin/bash``, LF, the interpreter by absolute path, port 9000, only /tmp written. Then it
is run for real on this machine (where SCF's interpreter is missing, so python3 from PATH
serves) with SCF's request-ID header and an API Gateway stage prefix.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import urllib.request
import uuid
from pathlib import Path

import pytest
from helpers import FLASK_SAMPLE, StartServer, run_bootstrap, run_main

from fcmigrate.build.wrap import PYTHONS, scf_python

# Prints what scf_bootstrap handed to "python": its arguments and the environment it set.
STUB_PYTHON = """\
#!/bin/bash
printf 'label=%s\\n' "{label}"
printf 'arg=%s\\n' "$@"
printf 'home=%s\\n' "$HOME"
printf 'tmpdir=%s\\n' "$TMPDIR"
printf 'gunicorn=%s\\n' "$GUNICORN_CMD_ARGS"
printf 'pythonpath=%s\\n' "$PYTHONPATH"
printf 'cwd=%s\\n' "$(pwd -P)"
"""


def wrap_scf(capsys: pytest.CaptureFixture[str], project: Path, *args: str) -> tuple[int, str]:
    result = run_main(capsys, "wrap", "app:app", "--out", str(project), "--platform", "scf", *args)
    return result.code, result.err


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return Path(shutil.copytree(FLASK_SAMPLE, tmp_path / "shop"))


# wrap imports app.py in-process to check APP.
pytestmark = pytest.mark.usefixtures("forget_tmp_modules")


def fake_python(path: Path, label: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(STUB_PYTHON.replace("{label}", label))
    path.chmod(0o755)
    return path


def clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("FCMIGRATE_PYTHON", "FC_SERVER_PORT", "GUNICORN_CMD_ARGS", "PYTHONPATH")
    }
    env.update(extra)
    return env


# --- the file ----------------------------------------------------------------------------------


def test_scf_writes_only_scf_bootstrap(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = {p.name for p in project.iterdir()}
    code, err = wrap_scf(capsys, project)
    assert code == 0, err
    assert {p.name for p in project.iterdir()} - before == {"scf_bootstrap"}
    script = project / "scf_bootstrap"
    assert stat.S_IMODE(script.stat().st_mode) == 0o755
    data = script.read_bytes()
    assert data.startswith(b"#!/bin/bash\n")
    assert b"\r" not in data
    text = data.decode()
    assert text.splitlines()[1].startswith("# Written by fcmigrate")
    assert "You may edit it" in text.splitlines()[1]
    assert "/var/lang/python310/bin/python3.10" in text
    assert '--bind "0.0.0.0:${FC_SERVER_PORT:-9000}"' in text
    check = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


@pytest.mark.parametrize("python", PYTHONS)
def test_python_option_picks_scf_interpreter(
    python: str, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = wrap_scf(capsys, project, "--python", python)
    assert code == 0, err
    minor = python.split(".")[1]
    expected = f"/var/lang/python3{minor}/bin/python3.{minor}"
    assert scf_python(python) == expected
    assert f"[ -x {expected} ]" in (project / "scf_bootstrap").read_text()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--config", "s"], "--config s"),
        (["--config", "fun"], "--config fun"),
        (["--python", "3.9"], "'3.9'"),
    ],
    ids=["config-s", "config-fun", "python-3.9"],
)
def test_bad_scf_options(
    args: list[str], fragment: str, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = sorted(p.name for p in project.iterdir())
    code, err = wrap_scf(capsys, project, *args)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and fragment in lines[0], err
    assert sorted(p.name for p in project.iterdir()) == before


def test_config_none_is_accepted(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = wrap_scf(capsys, project, "--config", "none")
    assert code == 0, err
    assert (project / "scf_bootstrap").is_file()


# --- what the script runs ------------------------------------------------------------------------


def test_interpreter_choice_and_environment(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = wrap_scf(capsys, project, "--base-path", "/release")
    assert code == 0, err
    lang = tmp_path / "var-lang"
    text = (project / "scf_bootstrap").read_text().replace("/var/lang", str(lang))
    script = project / "scf_bootstrap-test"
    script.write_text(text)
    script.chmod(0o755)

    # A laptop: no SCF interpreter, python3 from PATH.
    path_dir = tmp_path / "bin"
    fake_python(path_dir / "python3", "path-python3")
    env = clean_env(PATH=f"{path_dir}{os.pathsep}{os.environ['PATH']}")
    seen = run_bootstrap(script, cwd=script.parent, env=env)
    assert seen["label"] == ["path-python3"]
    assert seen["arg"] == [
        "-m",
        "fcmigrate",
        "serve",
        "app:app",
        "--bind",
        "0.0.0.0:9000",
        "--base-path",
        "/release",
    ]
    # Only /tmp is writable on SCF.
    assert seen["home"] == seen["tmpdir"] == ["/tmp"]
    assert seen["gunicorn"] == ["--worker-tmp-dir /tmp"]
    assert seen["cwd"] == [str(project.resolve())]
    assert seen["pythonpath"][0].startswith(f"{project.resolve()}/python:/opt/python:")

    # On SCF: the interpreter at its absolute path wins over PATH.
    fake_python(lang / "python310" / "bin" / "python3.10", "scf-python3.10")
    assert run_bootstrap(script, cwd=script.parent, env=env)["label"] == ["scf-python3.10"]

    # FCMIGRATE_PYTHON wins over both; a user's GUNICORN_CMD_ARGS is kept.
    override = fake_python(tmp_path / "override" / "python", "override")
    env_override = dict(env, FCMIGRATE_PYTHON=str(override), GUNICORN_CMD_ARGS="--workers 3")
    seen = run_bootstrap(script, cwd=script.parent, env=env_override)
    assert seen["label"] == ["override"]
    assert seen["gunicorn"] == ["--worker-tmp-dir /tmp --workers 3"]


# --- serving for real ---------------------------------------------------------------------------


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, dict(response.headers), response.read()


@pytest.mark.slow
def test_scf_bootstrap_serves_with_scf_request_id_and_stage_prefix(
    project: Path, start_server: StartServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = wrap_scf(capsys, project, "--base-path", "/release")
    assert code == 0, err
    # FCMIGRATE_PYTHON empty: the script falls back to python3 on PATH (this venv's).
    server = start_server(["./scf_bootstrap"], cwd=project, env={"FCMIGRATE_PYTHON": ""})

    request_id = str(uuid.uuid4())
    status, headers, body = get(f"{server.url}/whoami", {"X-Scf-Request-Id": request_id})
    assert status == 200
    assert headers["X-Request-Id"] == request_id
    data = json.loads(body)
    assert data["request_id"] == request_id
    assert (data["script_name"], data["path"]) == ("", "/whoami")

    # API Gateway's stage prefix is a base path: routing drops it, generated URLs keep it.
    status, headers, body = get(f"{server.url}/release/whoami")
    assert status == 200
    data = json.loads(body)
    assert (data["script_name"], data["path"]) == ("/release", "/whoami")
    assert data["url_for_hello"] == "/release/hello/x"
    assert headers["X-Request-Id"]  # one is made up when SCF sends none

    stdout = server.stdout()
    assert f"FC Invoke Start RequestId: {request_id}" in stdout

    # The process the script exec'd has SCF's writable-only-/tmp environment.
    environ = Path(f"/proc/{server.proc.pid}/environ").read_bytes().split(b"\0")
    assert b"HOME=/tmp" in environ and b"TMPDIR=/tmp" in environ
    assert any(e.startswith(b"GUNICORN_CMD_ARGS=--worker-tmp-dir /tmp") for e in environ)
