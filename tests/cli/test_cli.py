"""The ``fcmigrate`` command line: ``wrap`` end to end, and the group itself.

Most tests call :func:`fcmigrate.cli.main` in-process (fast); the ones about tracebacks,
``python -m fcmigrate`` and the generated bootstrap run real processes. Generated bootstraps
are started with a stub interpreter (``FCMIGRATE_PYTHON``) that prints what it was given,
so the shell part is tested exactly as FC would run it, without starting a server.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers import REPO, CliResult, python_env, run_bootstrap, run_main

from fcmigrate import __version__
from fcmigrate.build.wrap import HTTP_METHODS, RUNTIMES

FUN_BIN = REPO / ".tools" / "node_modules" / ".bin" / "fun"

HELLO_APP = """\
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]
"""

FACTORY_PKG = """\
def create_app(roots, debug):
    if roots != ["/data"] or debug is not False:
        raise ValueError(f"unexpected arguments {roots!r} {debug!r}")

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"made"]

    return app
"""

FACTORY_SPEC = "cli_pkg:create_app(roots=['/data'], debug=False)"

# Prints what the bootstrap handed to "python": cwd, PYTHONPATH, then one argument per line.
STUB_PYTHON = """\
#!/bin/bash
printf 'cwd=%s\\n' "$(pwd -P)"
printf 'pythonpath=%s\\n' "${PYTHONPATH-<unset>}"
printf 'arg=%s\\n' "$@"
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder holding a tiny WSGI app ``cli_hello:app`` and a factory package."""
    folder = tmp_path / "proj"
    folder.mkdir()
    (folder / "cli_hello.py").write_text(HELLO_APP)
    (folder / "cli_pkg").mkdir()
    (folder / "cli_pkg" / "__init__.py").write_text(FACTORY_PKG)
    return folder


@pytest.fixture
def stub_python(tmp_path: Path) -> Path:
    path = tmp_path / "stub-python"
    path.write_text(STUB_PYTHON)
    path.chmod(0o755)
    return path


def cli(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    cwd: Path,
    *args: str,
) -> CliResult:
    """Run ``fcmigrate ARGS`` in-process from ``cwd``."""
    monkeypatch.chdir(cwd)
    return run_main(capsys, *args)


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    if not folder.exists():
        return {}
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mode)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def bootstrap_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "FCMIGRATE_PYTHON")}
    env.update(extra)
    return env


def first_comment(text: str) -> str:
    return next(line for line in text.splitlines() if line.startswith("# "))


def find_fun() -> str:
    found = shutil.which("fun") or (str(FUN_BIN) if FUN_BIN.exists() else None)
    if found is None:
        message = f"fun (npm @alicloud/fun) is neither on PATH nor at {FUN_BIN}; run `make setup`"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


# --------------------------------------------------------------------------- the group


def test_help_lists_serve_and_wrap() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "fcmigrate", "--help"],
        env=python_env(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    commands = result.stdout.split("Commands:", 1)[1].split()
    assert "serve" in commands
    assert "wrap" in commands


def test_version(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    result = cli(capsys, monkeypatch, REPO, "--version")
    assert result.code == 0
    assert result.out.strip() == f"fcmigrate, version {__version__}"


def test_unknown_command_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = cli(capsys, monkeypatch, REPO, "wrapp")
    assert result.code == 2
    assert "No such command 'wrapp'" in result.err


# --------------------------------------------------------------------------- wrap: files


def test_wrap_writes_bootstrap_and_s_yaml(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, project: Path
) -> None:
    result = cli(capsys, monkeypatch, project, "wrap", "cli_hello:app")
    assert result.code == 0, result.err

    bootstrap = project / "bootstrap"
    assert stat.S_IMODE(bootstrap.stat().st_mode) == 0o755
    raw = bootstrap.read_bytes()
    assert raw.startswith(b"#!/bin/bash\n")
    assert b"\r" not in raw
    assert "set -e" in raw.decode().splitlines()
    assert subprocess.run(["bash", "-n", str(bootstrap)]).returncode == 0

    assert (project / "s.yaml").is_file()
    assert not (project / "template.yml").exists()
    assert result.out.startswith("Wrote bootstrap\nWrote s.yaml\n")
    assert "fcmigrate migrate . --python 3.10" in result.out
    assert "s deploy" in result.out


def test_s_yaml_fields(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, project: Path
) -> None:
    args = ("--concurrency", "5", "--memory", "512", "--timeout", "30", "--region", "cn-beijing")
    result = cli(capsys, monkeypatch, project, "wrap", "cli_hello:app", *args)
    assert result.code == 0, result.err

    doc = yaml.safe_load((project / "s.yaml").read_text())
    assert doc["edition"] == "3.0.0"
    assert doc["vars"]["region"] == "cn-beijing"
    resource = doc["resources"]["proj"]
    assert resource["component"] == "fc3"
    props = resource["props"]
    assert props["region"] == "${vars.region}"
    assert props["functionName"] == "proj"
    assert props["runtime"] == "custom.debian10"
    assert props["customRuntimeConfig"] == {"command": ["/code/bootstrap"], "port": 9000}
    assert (props["memorySize"], props["timeout"]) == (512, 30)
    env = props["environmentVariables"]
    assert props["instanceConcurrency"] == int(env["FCMIGRATE_CONCURRENCY"]) == 5
    assert env["PYTHONPATH"] == "/code/python:/opt/python:/code"
    path = env["PATH"].split(":")
    assert "/var/fc/lang/python3.10/bin" in path
    assert "/usr/bin" in path
    assert "/bin" in path

    [trigger] = props["triggers"]
    assert trigger["triggerType"] == "http"
    methods = trigger["triggerConfig"]["methods"]
    assert {"HEAD", "OPTIONS", "PATCH", "GET", "POST", "PUT", "DELETE"} <= set(methods)
    assert set(methods) == set(HTTP_METHODS)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_runtime_choice(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    project: Path,
    runtime: str,
) -> None:
    result = cli(capsys, monkeypatch, project, "wrap", "cli_hello:app", "--runtime", runtime)
    assert result.code == 0, result.err
    doc = yaml.safe_load((project / "s.yaml").read_text())
    assert doc["resources"]["proj"]["props"]["runtime"] == runtime


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--runtime", "python3.10"], "Invalid value for '--runtime'", id="runtime"),
        pytest.param(["--config", "yaml"], "Invalid value for '--config'", id="config"),
        pytest.param(["--name", "9lives"], "Invalid function name '9lives'", id="name-digit"),
        pytest.param(["--name", "a b"], "Invalid function name 'a b'", id="name-space"),
        pytest.param(["--name", "x" * 65], "Invalid function name", id="name-too-long"),
        pytest.param(["--concurrency", "0"], "Instance concurrency 0", id="concurrency-0"),
        pytest.param(["--concurrency", "201"], "Instance concurrency 201", id="concurrency-201"),
        pytest.param(["--memory", "100"], "Memory 100 MB", id="memory"),
        pytest.param(["--timeout", "0"], "Timeout 0 s", id="timeout"),
    ],
)
def test_bad_options_write_nothing(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    project: Path,
    args: list[str],
    message: str,
) -> None:
    before = snapshot(project)
    result = cli(capsys, monkeypatch, project, "wrap", "cli_hello:app", *args)
    assert result.code == 2
    assert message in result.err
    assert "Traceback" not in result.err
    assert snapshot(project) == before


def test_name_option_and_default_name(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    folder = tmp_path / "2024 shop.v2"
    folder.mkdir()
    (folder / "cli_hello.py").write_text(HELLO_APP)
    assert cli(capsys, monkeypatch, folder, "wrap", "cli_hello:app").code == 0
    props = yaml.safe_load((folder / "s.yaml").read_text())["resources"]["app-2024-shop-v2"]
    assert props["props"]["functionName"] == "app-2024-shop-v2"

    result = cli(
        capsys, monkeypatch, folder, "wrap", "cli_hello:app", "--name", "My_fn-1", "--force"
    )
    assert result.code == 0, result.err
    doc = yaml.safe_load((folder / "s.yaml").read_text())
    assert list(doc["resources"]) == ["My_fn-1"]
    assert doc["resources"]["My_fn-1"]["props"]["functionName"] == "My_fn-1"


def test_config_none_writes_only_the_bootstrap(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, project: Path
) -> None:
    before = set(snapshot(project))
    result = cli(capsys, monkeypatch, project, "wrap", "cli_hello:app", "--config", "none")
    assert result.code == 0, result.err
    assert set(snapshot(project)) - before == {"bootstrap"}
    assert "s deploy" not in result.out


def test_out_dir(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, project: Path
) -> None:
    # The app is looked up in --out (the project folder), not in the current directory.
    out = project / "deploy" / "fc"
    (out.parent).mkdir()
    (out.parent / "cli_hello.py").write_text(HELLO_APP)
    before = snapshot(project)
    result = cli(capsys, monkeypatch, project.parent, "wrap", "cli_hello:app", "--out", "proj")
    assert result.code == 0, result.err
    written = set(snapshot(project)) - set(before)
    assert written == {"bootstrap", "s.yaml"}

    result = cli(capsys, monkeypatch, project, "wrap", "cli_hello:app", "-o", str(out.parent))
    assert result.code == 0, result.err
    assert (out.parent / "bootstrap").is_file()


def test_out_dir_is_created(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, project: Path
) -> None:
    # A folder that does not exist yet: the app comes from sys.path (here: the cwd).
    monkeypatch.syspath_prepend(str(project))
    out = project.parent / "build" / "fc"
    result = cli(capsys, monkeypatch, project, "wrap", "cli_hello:app", "--out", str(out))
    assert result.code == 0, result.err
    assert sorted(p.name for p in out.iterdir()) == ["bootstrap", "s.yaml"]


def test_every_generated_file_says_who_wrote_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, project: Path
) -> None:
    assert cli(capsys, monkeypatch, project, "wrap", "cli_hello:app").code == 0
    out = project / "fun"
    out.mkdir()
    monkeypatch.syspath_prepend(str(project))  # as `python -m fcmigrate` run in the project
    assert (
        cli(
            capsys, monkeypatch, project, "wrap", "cli_hello:app", "--config", "fun", "-o", str(out)
        ).code
        == 0
    )
    for path in (project / "bootstrap", project / "s.yaml", out / "template.yml"):
        comment = first_comment(path.read_text())
        assert f"Written by fcmigrate {__version__}" in comment, path
        assert "You may edit it" in comment, path


# --------------------------------------------------------------------------- wrap: safety


def test_nothing_is_overwritten_without_force(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, project: Path
) -> None:
    (project / "s.yaml").write_text("# my own s.yaml\n")
    before = snapshot(project)
    result = cli(capsys, monkeypatch, project, "wrap", "cli_hello:app")
    assert result.code == 2
    assert result.err == "Error: Not overwriting 's.yaml' in '.'. Use --force to replace them.\n"
    # All or nothing: the bootstrap, which did not exist, was not written either.
    assert snapshot(project) == before

    result = cli(capsys, monkeypatch, project, "wrap", "cli_hello:app", "--force")
    assert result.code == 0, result.err
    assert "fcmigrate" in (project / "s.yaml").read_text()
    assert stat.S_IMODE((project / "bootstrap").stat().st_mode) == 0o755


def test_force_replaces_an_edited_bootstrap(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, project: Path
) -> None:
    assert cli(capsys, monkeypatch, project, "wrap", "cli_hello:app", "--config", "none").code == 0
    bootstrap = project / "bootstrap"
    bootstrap.write_text("#!/bin/bash\necho edited\n")
    bootstrap.chmod(0o700)
    result = cli(capsys, monkeypatch, project, "wrap", "cli_hello:app", "--config", "none")
    assert result.code == 2
    assert "Not overwriting 'bootstrap'" in result.err
    assert bootstrap.read_text() == "#!/bin/bash\necho edited\n"

    result = cli(
        capsys, monkeypatch, project, "wrap", "cli_hello:app", "--config", "none", "--force"
    )
    assert result.code == 0, result.err
    assert "exec " in bootstrap.read_text()
    assert stat.S_IMODE(bootstrap.stat().st_mode) == 0o755


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        pytest.param("no_such_module:app", "No module named 'no_such_module'", id="module"),
        pytest.param("cli_hello:nope", "'nope'", id="attribute"),
        pytest.param("cli_hello:app(", "cli_hello:app(", id="syntax"),
        pytest.param("cli_pkg:create_app()", "create_app", id="factory-arguments"),
    ],
)
def test_loader_mistake_writes_nothing(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    project: Path,
    spec: str,
    message: str,
) -> None:
    before = snapshot(project)
    result = cli(capsys, monkeypatch, project, "wrap", spec)
    assert result.code == 2
    assert result.err.startswith("Error: ")
    assert result.err.count("\n") == 1, result.err
    assert message in result.err
    assert snapshot(project) == before


def test_loader_mistake_does_not_create_out_dir(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, project: Path
) -> None:
    out = project / "new-folder"
    result = cli(capsys, monkeypatch, project, "wrap", "no_such_module:app", "-o", str(out))
    assert result.code == 2
    assert not out.exists()


def test_bad_hook_writes_nothing(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, project: Path
) -> None:
    before = snapshot(project)
    result = cli(
        capsys,
        monkeypatch,
        project,
        "wrap",
        "cli_hello:app",
        "--on-initialize",
        "cli_hello:missing",
    )
    assert result.code == 2
    assert result.err.startswith("Error: ") and result.err.count("\n") == 1, result.err
    assert snapshot(project) == before


def test_error_in_user_module_shows_its_traceback(project: Path) -> None:
    (project / "cli_broken.py").write_text(
        "import os\n\nraise RuntimeError('sentinel: the app failed to start')\n"
    )
    before = snapshot(project)
    result = subprocess.run(
        [sys.executable, "-m", "fcmigrate", "wrap", "cli_broken:app"],
        cwd=project,
        env=python_env(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert f'File "{project / "cli_broken.py"}", line 3' in result.stderr
    assert "RuntimeError: sentinel: the app failed to start" in result.stderr
    # The traceback starts at the user's code and ends in one line saying what to do.
    assert "fcmigrate" not in result.stderr.split("Traceback")[1].split("cli_broken.py")[0]
    assert result.stderr.rstrip().splitlines()[-1] == (
        "Error: Importing 'cli_broken:app' failed in your code (traceback above). Fix it and "
        "run again; if the wrong app was picked, name the right one with --app."
    )
    assert snapshot(project) == before


@pytest.mark.parametrize("command", ["wrap", "serve"])
def test_app_that_needs_an_unset_variable_names_it(project: Path, command: str) -> None:
    (project / "cli_env.py").write_text(
        "import os\n\nDATABASE = os.environ['FCMIGRATE_TEST_UNSET_VARIABLE']\n"
    )
    before = snapshot(project)
    result = subprocess.run(
        [sys.executable, "-m", "fcmigrate", command, "cli_env:app"],
        cwd=project,
        env=python_env(drop=["FCMIGRATE_TEST_UNSET_VARIABLE"]),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert "KeyError: 'FCMIGRATE_TEST_UNSET_VARIABLE'" in result.stderr
    assert result.stderr.rstrip().splitlines()[-1] == (
        "Error: Importing 'cli_env:app' failed: your code needs the environment variable "
        "'FCMIGRATE_TEST_UNSET_VARIABLE', which is not set here (traceback above). Set it for "
        "this command (FCMIGRATE_TEST_UNSET_VARIABLE=... fcmigrate ...), and for FC in the "
        "deploy config's environmentVariables."
    )
    assert snapshot(project) == before


# --------------------------------------------------------------------------- wrap: fun


@pytest.mark.network_tool
def test_config_fun_passes_fun_validate(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, project: Path
) -> None:
    fun = find_fun()
    args = ("--config", "fun", "--concurrency", "150", "--name", "shop_api")
    result = cli(capsys, monkeypatch, project, "wrap", "cli_hello:app", *args)
    assert result.code == 0, result.err
    assert not (project / "s.yaml").exists()
    assert "fun deploy" in result.out
    assert "custom.debian10" in result.out  # the Python 3.7 'custom' runtime caveat

    doc = yaml.safe_load((project / "template.yml").read_text())
    props = doc["Resources"]["shop_api"]["shop_api"]["Properties"]
    assert props["InstanceConcurrency"] == 100  # fun's schema stops at 100
    assert props["CAPort"] == 9000
    assert set(
        doc["Resources"]["shop_api"]["shop_api"]["Events"]["http"]["Properties"]["Methods"]
    ) == set(HTTP_METHODS)

    def validate(folder: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [fun, "validate"], cwd=folder, capture_output=True, text=True, timeout=60
        )

    checked = validate(project)
    output = checked.stdout + checked.stderr
    # fun exits 0 even when it finds no template: require silence as well.
    assert checked.returncode == 0, output
    assert "ERR" not in output and "Can't find" not in output, output

    # The checker is real: an unknown property fails it.
    broken = project / "broken"
    broken.mkdir()
    text = (project / "template.yml").read_text()
    (broken / "template.yml").write_text(
        text.replace("CAPort: 9000", "CAPort: 9000\n        Port: 1")
    )
    rejected = validate(broken)
    assert rejected.returncode != 0
    assert "Port" in rejected.stdout + rejected.stderr


# --------------------------------------------------------------------------- the bootstrap


def test_bootstrap_passes_the_spec_through_the_shell_unchanged(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    project: Path,
    stub_python: Path,
) -> None:
    args = ("--event-route", "/events; rm -rf /", "--base-path", "/api $HOME")
    result = cli(capsys, monkeypatch, project, "wrap", FACTORY_SPEC, "--config", "none", *args)
    assert result.code == 0, result.err

    seen = run_bootstrap(
        project / "bootstrap",
        cwd=project,
        env=bootstrap_env(FCMIGRATE_PYTHON=str(stub_python)),
        args=("--workers", "3"),
    )
    assert seen["arg"] == [
        "-m",
        "fcmigrate",
        "serve",
        FACTORY_SPEC,
        "--base-path",
        "/api $HOME",
        "--event-route",
        "/events; rm -rf /",
        "--workers",
        "3",
    ]


def test_bootstrap_sets_cwd_and_pythonpath(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    project: Path,
    stub_python: Path,
    tmp_path: Path,
) -> None:
    assert cli(capsys, monkeypatch, project, "wrap", "cli_hello:app", "--config", "none").code == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    here = str(project.resolve())

    seen = run_bootstrap(
        project / "bootstrap", cwd=elsewhere, env=bootstrap_env(FCMIGRATE_PYTHON=str(stub_python))
    )
    assert seen["cwd"] == [here]
    assert seen["pythonpath"] == [f"{here}/python:/opt/python:{here}"]

    seen = run_bootstrap(
        project / "bootstrap",
        cwd=elsewhere,
        env=bootstrap_env(FCMIGRATE_PYTHON=str(stub_python), PYTHONPATH="/mine"),
    )
    assert seen["pythonpath"] == [f"{here}/python:/opt/python:{here}:/mine"]


def _fake_python(path: Path, label: str, *, executable: bool = True) -> None:
    path.parent.mkdir(parents=True)
    path.write_text(f"#!/bin/bash\necho 'arg={label}'\n")
    path.chmod(0o755 if executable else 0o644)


def test_bootstrap_picks_fc_python(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    project: Path,
    tmp_path: Path,
) -> None:
    # Target 3.11 (what the vendored packages are built for), which is not installed yet.
    args = ("--config", "none", "--python", "3.11")
    assert cli(capsys, monkeypatch, project, "wrap", "cli_hello:app", *args).code == 0
    text = (project / "bootstrap").read_text()
    assert "/var/fc/lang" in text
    lang = tmp_path / "fc" / "lang"
    for version in ("3.9", "3.10", "3.12"):
        _fake_python(lang / f"python{version}" / "bin" / "python3", version)
    # Newer but not executable: skipped.
    _fake_python(lang / "python3.13" / "bin" / "python3", "3.13", executable=False)
    copy = project / "bootstrap-lang"
    copy.write_text(text.replace("/var/fc/lang", str(lang)))

    # No 3.11: the newest, by version (sort -V: 3.12 > 3.10 > 3.9), not by text.
    assert run_bootstrap(copy, cwd=project, env=bootstrap_env())["arg"] == ["3.12"]

    # The target Python wins over a newer one.
    _fake_python(lang / "python3.11" / "bin" / "python3", "3.11")
    assert run_bootstrap(copy, cwd=project, env=bootstrap_env())["arg"] == ["3.11"]

    # FCMIGRATE_PYTHON wins over FC's Python.
    _fake_python(tmp_path / "override" / "python", "override")
    env = bootstrap_env(FCMIGRATE_PYTHON=str(tmp_path / "override" / "python"))
    assert run_bootstrap(copy, cwd=project, env=env)["arg"] == ["override"]


def test_bootstrap_falls_back_to_python3_on_path(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    project: Path,
    tmp_path: Path,
) -> None:
    assert cli(capsys, monkeypatch, project, "wrap", "cli_hello:app", "--config", "none").code == 0
    copy = project / "bootstrap-laptop"
    text = (project / "bootstrap").read_text()
    copy.write_text(text.replace("/var/fc/lang", str(tmp_path / "missing")))
    _fake_python(tmp_path / "bin" / "python3", "path-python3")
    env = bootstrap_env(PATH=f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    assert run_bootstrap(copy, cwd=project, env=env)["arg"] == ["path-python3"]


@pytest.mark.parametrize(
    ("config", "flags", "noted"),
    [
        pytest.param("s", ["--on-pre-freeze"], ["--on-pre-freeze"], id="fc3-pre-freeze"),
        pytest.param("fun", ["--on-pre-stop"], ["--on-pre-stop"], id="fun-pre-stop"),
        pytest.param("fc2", ["--on-pre-stop", "--on-pre-freeze"], [], id="fc2-declares-all"),
        pytest.param("s", ["--on-pre-stop", "--on-initialize"], [], id="fc3-declares-these"),
    ],
)
def test_wrap_says_which_hooks_fc_will_not_call(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    project: Path,
    config: str,
    flags: list[str],
    noted: list[str],
) -> None:
    (project / "cli_hooks.py").write_text("def hook():\n    pass\n")
    args = [arg for flag in flags for arg in (flag, "cli_hooks:hook")]
    result = cli(capsys, monkeypatch, project, "wrap", "cli_hello:app", "--config", config, *args)
    assert result.code == 0, result.err
    notes = [line for line in result.out.splitlines() if line.startswith("Note: --on-")]
    assert [line.split()[1] for line in notes] == noted
