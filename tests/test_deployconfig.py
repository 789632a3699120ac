"""``fcmigrate.deployconfig``: one model of a function's deploy config, written by wrap and
read back by local and doctor.

The round trip is the contract: what ``wrap`` (and ``dockerize``) write for each config
format reads back as the :class:`FunctionConfig` wrap meant to write.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fcmigrate.build.readonly import import_environment as build_environment
from fcmigrate.build.render import write_files
from fcmigrate.build.wrap import (
    CONFIGS,
    ContainerImage,
    WrapOptions,
    deploy_config,
    fun_template,
    function_config,
    generate,
    s_yaml,
)
from fcmigrate.deployconfig import (
    FAKE_ACCESS_KEY_SECRET,
    WRAP_TIMEOUT,
    FunctionConfig,
    default_function,
    fc_environment,
    is_unresolved,
    load_config,
    read_configs,
    unresolved,
)
from fcmigrate.doctor.probe import probe_environment
from fcmigrate.errors import FCMigrateError
from fcmigrate.local.function import function_environment

#: Every field wrap writes; ``file``, ``line`` and ``*_line`` say where it was read.
WRITTEN_FIELDS = (
    "service",
    "function",
    "runtime",
    "handler",
    "timeout",
    "memory",
    "concurrency",
    "port",
    "command",
    "environment",
    "methods",
    "initializer",
    "initializer_handler",
    "initializer_timeout",
    "pre_stop",
    "pre_stop_timeout",
)
#: Where each ``--config`` choice is written, and the format it is read as.
FILES = {"s": ("s.yaml", "fc3"), "fc2": ("s.yaml", "fc2"), "fun": ("template.yml", "fun")}

CONTAINER = ContainerImage(
    image="registry.cn-shenzhen.aliyuncs.com/shop/web:1",
    entrypoint=("python", "-m", "fcmigrate", "serve"),
    command=("app:app", "--event-route", "/events"),
)


def _options(config: str) -> WrapOptions:
    return WrapOptions(
        app="app:app",
        name="shop",
        config=config,
        region="cn-shenzhen",
        runtime="custom.debian12",
        timeout=45,
        memory=2048,
        concurrency=20,
        on_initialize="hooks:warm_up",
        on_pre_stop="hooks:flush",
        environment={"MODE": "prod", "SHOP_KEY": "${env('SHOP_KEY')}"},
    )


def _fields(config: FunctionConfig) -> dict[str, object]:
    return {name: getattr(config, name) for name in WRITTEN_FIELDS}


def test_every_config_choice_is_covered() -> None:
    assert set(CONFIGS) - {"none"} == set(FILES)


@pytest.mark.parametrize("config", sorted(FILES))
def test_wrap_writes_what_deployconfig_reads_back(tmp_path: Path, config: str) -> None:
    """What ``wrap`` writes with non-default options reads back as the same values."""
    options = _options(config)
    write_files(tmp_path, generate(options))
    name, kind = FILES[config]
    expected = function_config(options, kind)

    [read] = read_configs(tmp_path, environ={"SHOP_KEY": "from-the-deployer"})

    assert (read.file, read.kind, read.error) == (name, kind, None)
    [function] = read.functions
    wanted = _fields(expected)
    if "SHOP_KEY" in expected.environment:
        # `s deploy` reads it from the deployer's environment.
        wanted["environment"] = {**expected.environment, "SHOP_KEY": "from-the-deployer"}
    assert _fields(function) == wanted
    assert function.environment["MODE"] == "prod"
    assert (function.timeout, function.memory) == (45, 2048)
    assert function.concurrency == 20 and function.initializer
    if kind != "fun":  # fun's template.yml has no region, nor a pre-stop hook
        assert function.region == "cn-shenzhen" and function.pre_stop


@pytest.mark.parametrize("config", sorted(FILES))
def test_dockerize_configs_read_back_too(tmp_path: Path, config: str) -> None:
    options = _options(config)
    written = deploy_config(options, CONTAINER)
    assert written is not None
    (tmp_path / written.path).write_text(written.content)
    kind = FILES[config][1]

    [read] = read_configs(tmp_path, environ={})

    [function] = read.functions
    expected = function_config(options, kind, CONTAINER)
    if "SHOP_KEY" in expected.environment:
        # Not set here: kept as a placeholder, and never handed to the function.
        assert function.environment.pop("SHOP_KEY") == unresolved("${env('SHOP_KEY')}")
        del expected.environment["SHOP_KEY"]
    assert _fields(function) == _fields(expected)
    assert function.command == [*CONTAINER.entrypoint, *CONTAINER.command]
    assert function.is_container and not function.uses_bootstrap


S_YAML = """\
edition: 3.0.0
name: shop
vars:
  region: cn-beijing
  sizes: {memory: 1536}
resources:
  shop:
    component: fc3
    props:
      region: ${vars.region}
      functionName: web
      runtime: custom.debian11
      memorySize: ${vars.sizes.memory}
      timeout: ${env('SHOP_TIMEOUT', '12')}
      environmentVariables:
        PATH: /var/fc/lang/python3.10/bin:/usr/bin
        LD_LIBRARY_PATH: /code/lib
        GREETING: hello ${env.SHOP_WHO}
        SECRET_KEY: ${env('SHOP_SECRET')}
        LEVEL: ${env('SHOP_LEVEL', 'info')}
      triggers:
        - triggerName: web
          triggerType: http
          triggerConfig: {methods: [get, post]}
"""


def test_variables_resolve_as_s_deploy_does(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(S_YAML)

    config = load_config(tmp_path, {"SHOP_WHO": "world", "SHOP_LEVEL": "debug"})

    assert (config.service, config.function, config.region) == ("shop", "web", "cn-beijing")
    assert (config.memory, config.timeout, config.concurrency) == (1536, 12, 1)
    assert config.environment["GREETING"] == "hello world"
    assert config.environment["LEVEL"] == "debug"
    assert is_unresolved(config.environment["SECRET_KEY"])
    assert config.unset_environment == ["SECRET_KEY"]
    assert config.skipped_environment == ["PATH", "LD_LIBRARY_PATH"]
    assert config.methods == ("GET", "POST")
    assert config.source == "s.yaml (fc3)"


def test_each_value_keeps_its_line(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(S_YAML)
    lines = S_YAML.splitlines()

    config = load_config(tmp_path, {})

    def line_of(text: str) -> int:
        return next(n for n, line in enumerate(lines, 1) if text in line)

    assert config.line == line_of("  shop:")
    assert config.runtime_line == line_of("runtime:")
    assert config.timeout_line == line_of("timeout:")
    assert config.environment_lines["SECRET_KEY"] == line_of("SECRET_KEY:")
    assert config.triggers[0].methods_line == line_of("triggerConfig:")


def test_fc_environment_is_fcs_not_this_machines(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(S_YAML)
    config = load_config(tmp_path, {"SHOP_WHO": "world"})

    env = fc_environment(config, tmp_path, base={"PATH": "/usr/bin", "HOME": "/home/me"})

    assert env["PATH"] == "/usr/bin"  # the config's PATH names FC's folders
    assert "LD_LIBRARY_PATH" not in env
    assert "SECRET_KEY" not in env  # only known at deploy time
    assert env["GREETING"] == "hello world"
    assert env["FC_SERVER_PORT"] == env["FC_CUSTOM_LISTEN_PORT"] == "9000"
    assert env["FC_FUNC_CODE_PATH"] == f"{tmp_path}{os.sep}"
    assert (env["FC_FUNCTION_NAME"], env["FC_SERVICE_NAME"]) == ("web", "shop")
    assert (env["FC_REGION"], env["FC_RUNTIME"]) == ("cn-beijing", "custom.debian11")
    assert (env["FC_TIMEOUT"], env["FC_FUNCTION_MEMORY_SIZE"]) == ("12", "1536")
    assert env["ALIBABA_CLOUD_ACCESS_KEY_SECRET"] == FAKE_ACCESS_KEY_SECRET
    kept = fc_environment(config, tmp_path, 8080, keep_unresolved=True)
    assert is_unresolved(kept["SECRET_KEY"]) and kept["FC_SERVER_PORT"] == "8080"


def test_local_doctor_and_build_give_the_function_the_same_environment(tmp_path: Path) -> None:
    """One fc_environment: ``local``'s child, the doctor's import probe and migrate's import
    check all see the variables FC would give this function."""
    options = WrapOptions(
        app="app:app", name="shop", memory=2048, timeout=45, environment={"MODE": "prod"}
    )
    write_files(tmp_path, generate(options))
    config = load_config(tmp_path)

    seen = {
        "local": function_environment(config, tmp_path, 9000, base={}),
        "doctor": probe_environment(tmp_path, config),
        "build": build_environment(tmp_path, tmp_path / "tmp"),
    }

    def fc_part(env: dict[str, str]) -> dict[str, str]:
        names = [n for n in env if n.startswith(("FC_", "ALIBABA_CLOUD_")) or n == "MODE"]
        return {n: env[n] for n in names if n != "FC_INSTANCE_ID"}

    assert fc_part(seen["local"]) == fc_part(seen["doctor"]) == fc_part(seen["build"])
    assert fc_part(seen["doctor"])["FC_FUNCTION_MEMORY_SIZE"] == "2048"
    assert (seen["build"]["FC_TIMEOUT"], seen["build"]["MODE"]) == ("45", "prod")


def test_without_a_config_the_function_is_wraps_default(tmp_path: Path) -> None:
    project = tmp_path / "My Shop"
    project.mkdir()

    config = load_config(project)

    assert config == default_function(project)
    assert (config.function, config.timeout, config.source) == ("My-Shop", WRAP_TIMEOUT, "defaults")


def test_a_file_that_is_not_yaml_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "template.yml").write_text("Resources: [unclosed\n")

    [read] = read_configs(tmp_path)
    assert read.error is not None and read.error.startswith("is not valid YAML")
    assert read.error_line == 1
    with pytest.raises(FCMigrateError, match=r"Cannot read .*template\.yml.*Fix the YAML"):
        load_config(tmp_path)


def test_ros_tags_in_a_fun_template_read_as_absent(tmp_path: Path) -> None:
    (tmp_path / "template.yml").write_text(
        "ROSTemplateFormatVersion: '2015-09-01'\n"
        "Resources:\n"
        "  svc:\n"
        "    Type: 'Aliyun::Serverless::Service'\n"
        "    fn:\n"
        "      Type: 'Aliyun::Serverless::Function'\n"
        "      Properties:\n"
        "        Runtime: custom.debian10\n"
        "        Role: !GetAtt role.Arn\n"
        "        Timeout: 9\n"
    )

    config = load_config(tmp_path)

    assert (config.service, config.function, config.timeout) == ("svc", "fn", 9)


def test_the_runtime_does_not_import_it() -> None:
    code = (
        "import sys, fcmigrate.runtime.serve, fcmigrate.runtime.middleware\n"
        "print(sorted(m for m in sys.modules if m in ('fcmigrate.deployconfig', 'yaml')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert out.strip() == "[]"


# --- what local reads (moved from tests/local) ------------------------------------------


def test_config_from_wraps_s_yaml(tmp_path: Path) -> None:
    options = WrapOptions(
        app="app:app", name="shop", region="cn-shenzhen", timeout=30, memory=512, concurrency=4
    )
    (tmp_path / "s.yaml").write_text(s_yaml(options).content)
    config = load_config(tmp_path)
    assert (config.service, config.function, config.region) == ("shop", "shop", "cn-shenzhen")
    assert (config.timeout, config.memory, config.concurrency) == (30, 512, 4)
    assert config.methods == ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")
    assert config.command == ["/code/bootstrap"]
    assert config.environment["FCMIGRATE_CONCURRENCY"] == "4"
    assert config.skipped_environment == ["PATH", "PYTHONPATH"]
    assert not config.initializer and not config.pre_stop


def test_config_from_fc2_s_yaml(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(
        """\
edition: 1.0.0
services:
  web:
    component: devsapp/fc
    props:
      region: ${env('FCM_TEST_REGION', 'cn-beijing')}
      service: {name: legacy-svc}
      function:
        name: legacy-fn
        runtime: custom
        timeout: 9
        memorySize: 256
        caPort: 8080
        initializer: index.init
        environmentVariables: {MODE: prod}
      triggers:
        - name: http
          type: http
          config: {authType: anonymous, methods: [get, post]}
"""
    )
    config = load_config(tmp_path)
    assert (config.service, config.function, config.region) == (
        "legacy-svc",
        "legacy-fn",
        "cn-beijing",
    )
    assert (config.timeout, config.memory, config.port) == (9, 256, 8080)
    assert config.methods == ("GET", "POST")
    assert config.initializer and not config.pre_stop
    assert config.initializer_handler == "index.init"
    assert config.environment == {"MODE": "prod"}


def test_config_from_fun_template(tmp_path: Path) -> None:
    options = WrapOptions(app="app:app", name="funsite", config="fun", timeout=15)
    (tmp_path / "template.yml").write_text(fun_template(options).content)
    config = load_config(tmp_path)
    assert (config.service, config.function, config.timeout) == ("funsite", "funsite", 15)
    assert config.methods is not None and "OPTIONS" in config.methods
    assert config.skipped_environment == ["PYTHONPATH"]
    assert config.source == "template.yml (fun)"


def test_config_defaults_without_a_file(tmp_path: Path) -> None:
    project = tmp_path / "my site"
    project.mkdir()
    config = load_config(project)
    assert (config.function, config.timeout, config.methods) == ("my-site", 60, None)


def test_broken_config_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text("resources: [unclosed\n")
    with pytest.raises(FCMigrateError, match=r"Cannot read .*s\.yaml"):
        load_config(tmp_path)
