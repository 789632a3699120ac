"""``fcmigrate.local.function``: the start command, the Python and the environment the
function's process gets, read from the deploy config (in-process; the process itself is
run for real in ``test_local.py``)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from helpers import write_bootstrap

from fcmigrate.build.wrap import WrapOptions, s_yaml
from fcmigrate.deployconfig import FAKE_ACCESS_KEY_SECRET, FunctionConfig, load_config
from fcmigrate.errors import FCMigrateError
from fcmigrate.local.command import LocalOptions
from fcmigrate.local.function import function_environment, recorded_python, start_command

CONTAINER_FC3 = """\
edition: 3.0.0
name: boxed
resources:
  boxed:
    component: fc3
    props:
      functionName: boxed
      runtime: custom-container
      customContainerConfig:
        image: registry.example.com/ns/boxed:1
        port: 9000
        entrypoint: ["python", "-m", "fcmigrate", "serve"]
        command: ["app:app"]
"""


CONTAINER_FC2 = """\
edition: 1.0.0
services:
  boxed:
    component: fc
    props:
      service: {name: boxed}
      function:
        name: boxed
        runtime: custom-container
        customContainerConfig:
          image: registry.example.com/ns/boxed:1
          command: '["python3", "-m", "fcmigrate", "serve"]'
          args: '["app:app", "--event-route", "/events"]'
"""


CUSTOM_RUNTIME = """\
edition: 3.0.0
name: site
resources:
  site:
    component: fc3
    props:
      functionName: site
      runtime: custom.debian10
      customRuntimeConfig:
        command: [/var/fc/lang/python3.10/bin/python3]
        args: [/code/main.py, --port, "9000"]
"""


@pytest.mark.parametrize(
    ("s_yaml_text", "expected"),
    [
        (CONTAINER_FC3, ["-m", "fcmigrate", "serve", "app:app"]),
        (CONTAINER_FC2, ["-m", "fcmigrate", "serve", "app:app", "--event-route", "/events"]),
        (CUSTOM_RUNTIME, ["{project}/main.py", "--port", "9000"]),
    ],
    ids=["fc3-container", "fc2-container-json-strings", "fc3-custom-runtime-command"],
)
def test_start_command_from_the_config(
    tmp_path: Path, s_yaml_text: str, expected: list[str]
) -> None:
    (tmp_path / "s.yaml").write_text(s_yaml_text)
    config = load_config(tmp_path)
    argv, _ = start_command(LocalOptions(project=tmp_path), config)
    # The image's (or FC's) Python is not here: the one running fcmigrate stands in.
    assert argv == [sys.executable, *(part.format(project=tmp_path) for part in expected)]


def test_start_command_prefers_app_then_bootstrap(tmp_path: Path) -> None:
    write_bootstrap(tmp_path, "exit 0")
    config = FunctionConfig(service="s", function="f")
    argv, shown = start_command(LocalOptions(project=tmp_path), config)
    assert (argv, shown) == ([str(tmp_path / "bootstrap")], "./bootstrap")
    argv, _ = start_command(LocalOptions(project=tmp_path, app="app:app"), config)
    assert argv == [sys.executable, "-m", "fcmigrate", "serve", "app:app"]


def test_missing_start_file_named_by_the_config_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(s_yaml(WrapOptions(app="app:app", name="site")).content)
    with pytest.raises(FCMigrateError, match=r"does not exist\. Write it with: fcmigrate wrap"):
        start_command(LocalOptions(project=tmp_path), load_config(tmp_path))


def test_environment_overrides_real_credentials(tmp_path: Path) -> None:
    config = FunctionConfig(service="s", function="f", environment={"MODE": "prod"})
    base = {"PATH": "/usr/bin", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "real-secret"}
    env = function_environment(config, tmp_path, 4321, base)
    assert env["ALIBABA_CLOUD_ACCESS_KEY_SECRET"] == FAKE_ACCESS_KEY_SECRET
    assert env["FC_SERVER_PORT"] == env["FC_CUSTOM_LISTEN_PORT"] == "4321"
    assert env["PATH"] == "/usr/bin" and env["MODE"] == "prod"
    assert env["FCMIGRATE_PYTHON"] == sys.executable


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"bootstrap": "[ -x /var/fc/lang/python3.12/bin/python3 ]"}, ("3.12", "bootstrap")),
        ({"s.yaml": CUSTOM_RUNTIME}, ("3.10", "s.yaml (fc3)'s command")),
        (
            {"s.yaml": CONTAINER_FC3.replace("custom-container", "custom.debian10")},
            ("3.10", "runtime custom.debian10 in s.yaml (fc3)"),
        ),
        ({"s.yaml": CONTAINER_FC3}, None),
        ({}, None),
    ],
    ids=["bootstrap", "start-command", "runtime", "container-runtime", "nothing"],
)
def test_where_the_build_records_its_python(
    tmp_path: Path, files: dict[str, str], expected: tuple[str, str] | None
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    assert recorded_python(tmp_path, load_config(tmp_path)) == expected
