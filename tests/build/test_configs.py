"""Deploy configs: every ``s.yaml`` against a schema, every ``template.yml`` through ``fun``.

The schemas in ``tests/schemas`` are written from fc-platform.md section 7 and are strict
(required keys, types, enums, no unknown keys). Each one is shown to reject broken configs,
so a schema that accepts everything would fail here. ``template.yml`` is checked by the real
``fun validate`` (npm ``@alicloud/fun`` 3.6), which runs offline against fun's own schema.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from string import Template
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner
from helpers import FLASK_SAMPLE, REPO

from fcmigrate.build import render, wrap
from fcmigrate.build.dockerize import ENTRYPOINT
from fcmigrate.build.wrap import HTTP_METHODS, ContainerImage, WrapOptions
from fcmigrate.cli import cli

SCHEMAS = Path(__file__).parent / "schemas"
FUN_FROM_MAKE = REPO / ".tools" / "node_modules" / ".bin" / "fun"
IMAGE = "registry.cn-shanghai.aliyuncs.com/acme/shop:1.4"


def _options(**changes: Any) -> WrapOptions:
    values: dict[str, Any] = {
        "app": "shop.wsgi:application",
        "name": "shop-web",
        "region": "cn-shanghai",
        "concurrency": 12,
        "memory": 2048,
        "timeout": 120,
    }
    values.update(changes)
    return WrapOptions(**values)


def _container(image: str = IMAGE, *, placeholder: bool = False) -> ContainerImage:
    return ContainerImage(
        image, ENTRYPOINT, ["shop.wsgi:application", "--base-path", "/api"], placeholder
    )


HOOKS = {"on_initialize": "hooks:init", "on_pre_stop": "hooks:stop", "on_pre_freeze": "hooks:frz"}

#: variant id -> (renderer, schema file or None for fun's template.yml)
VARIANTS: dict[str, tuple[Callable[[], render.OutputFile], str | None]] = {
    "fc3-custom.debian10": (lambda: wrap.s_yaml(_options()), "fc3"),
    "fc3-custom.debian11": (lambda: wrap.s_yaml(_options(runtime="custom.debian11")), "fc3"),
    "fc3-custom.debian12": (lambda: wrap.s_yaml(_options(runtime="custom.debian12")), "fc3"),
    "fc3-container": (lambda: wrap.s_yaml(_options(), _container()), "fc3"),
    "fc3-container-placeholder": (
        lambda: wrap.s_yaml(
            _options(),
            _container(
                "registry.cn-shanghai.aliyuncs.com/YOUR_NAMESPACE/shop-web:latest",
                placeholder=True,
            ),
        ),
        "fc3",
    ),
    "fc2-custom": (lambda: wrap.fc2_yaml(_options()), "fc2"),
    "fc2-container": (lambda: wrap.fc2_yaml(_options(), _container()), "fc2"),
    "fc3-hooks": (lambda: wrap.s_yaml(_options(**HOOKS)), "fc3"),
    "fc2-hooks": (lambda: wrap.fc2_yaml(_options(**HOOKS)), "fc2"),
    "fun-hooks": (lambda: wrap.fun_template(_options(**HOOKS)), None),
    "fun-custom": (lambda: wrap.fun_template(_options()), None),
    "fun-container": (lambda: wrap.fun_template(_options(), _container()), None),
}
S_YAML_VARIANTS = sorted(k for k, (_, schema) in VARIANTS.items() if schema)
FUN_VARIANTS = sorted(k for k, (_, schema) in VARIANTS.items() if schema is None)


def _load(variant: str) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(VARIANTS[variant][0]().content)
    return doc


def _validator(schema: str) -> jsonschema.Draft202012Validator:
    data = json.loads((SCHEMAS / f"{schema}.s.yaml.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(data)
    return jsonschema.Draft202012Validator(data)


def _function(variant: str, doc: dict[str, Any]) -> dict[str, Any]:
    """The function's properties, whatever the format."""
    if variant.startswith("fc3"):
        props: dict[str, Any] = doc["resources"]["shop-web"]["props"]
        return props
    if variant.startswith("fc2"):
        function: dict[str, Any] = doc["services"]["shop-web"]["props"]["function"]
        return function
    fun_props: dict[str, Any] = doc["Resources"]["shop-web"]["shop-web"]["Properties"]
    return fun_props


# --- schemas --------------------------------------------------------------------------


@pytest.mark.parametrize("variant", S_YAML_VARIANTS)
def test_s_yaml_matches_its_schema(variant: str) -> None:
    _validator(VARIANTS[variant][1] or "")  # the schema itself is valid
    errors = list(_validator(VARIANTS[variant][1] or "").iter_errors(_load(variant)))
    assert errors == [], [f"{list(e.absolute_path)}: {e.message}" for e in errors]


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A mutation setting the value at a '/'-separated path ('-' deletes the key)."""

    def mutate(doc: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        node: Any = doc
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        key: Any = int(last) if isinstance(node, list) else last
        if value == "-":
            del node[key]
        else:
            node[key] = value

    return mutate


#: Where "@", "T" and "~" point in each format.
ROOTS = {
    "fc3": {
        "@": "resources/shop-web/props",
        "T": "resources/shop-web/props/triggers/0/triggerConfig",
    },
    "fc2": {
        "@": "services/shop-web/props/function",
        "T": "services/shop-web/props/triggers/0/config",
        "~": "services/shop-web/props",
    },
}

#: (variant, path, new value or "-" to delete): each mutated config must fail its schema.
#: In paths, "@" is the function's properties, "T" the HTTP trigger's config, "~" fc2's props.
BROKEN = {
    "fc3-port-as-string": ("fc3-custom.debian10", "@/customRuntimeConfig/port", "9000"),
    "fc3-unknown-method": ("fc3-custom.debian10", "T/methods", ["GET", "FETCH"]),
    "fc3-no-methods": ("fc3-custom.debian10", "T/methods", "-"),
    "fc3-runtime-python": ("fc3-custom.debian10", "@/runtime", "python3.10"),
    "fc3-runtime-typo": ("fc3-custom.debian10", "@/runtime", "custom.debian13"),
    "fc3-unknown-key": ("fc3-custom.debian10", "@/customRuntimeConfig/prot", 9000),
    "fc3-unknown-prop": ("fc3-custom.debian10", "@/caPort", 9000),
    "fc3-concurrency-201": ("fc3-custom.debian10", "@/instanceConcurrency", 201),
    "fc3-memory-not-64": ("fc3-custom.debian10", "@/memorySize", 1000),
    "fc3-timeout-string": ("fc3-custom.debian10", "@/timeout", "60"),
    "fc3-env-int": ("fc3-custom.debian10", "@/environmentVariables/FCMIGRATE_CONCURRENCY", 8),
    "fc3-no-runtime-config": ("fc3-custom.debian10", "@/customRuntimeConfig", "-"),
    "fc3-no-code": ("fc3-custom.debian10", "@/code", "-"),
    "fc3-command-string": (
        "fc3-custom.debian10",
        "@/customRuntimeConfig/command",
        "/code/bootstrap",
    ),
    "fc3-fc2-trigger": (
        "fc3-custom.debian10",
        "@/triggers",
        [{"name": "http", "type": "http", "config": {"authType": "anonymous", "methods": ["GET"]}}],
    ),
    "fc3-auth-upper": ("fc3-custom.debian10", "T/authType", "ANONYMOUS"),
    "fc3-edition": ("fc3-custom.debian10", "edition", "1.0.0"),
    "fc3-component": ("fc3-custom.debian10", "resources/shop-web/component", "fc"),
    "fc3-bad-name": ("fc3-custom.debian10", "@/functionName", "1-starts-with-digit"),
    "fc3-container-no-image": ("fc3-container", "@/customContainerConfig/image", "-"),
    "fc3-container-port-string": ("fc3-container", "@/customContainerConfig/port", "9000"),
    "fc3-container-json-string": (
        "fc3-container",
        "@/customContainerConfig/entrypoint",
        '["python"]',
    ),
    "fc3-container-with-code": ("fc3-container", "@/code", "./"),
    "fc3-container-no-config": ("fc3-container", "@/customContainerConfig", "-"),
    "fc3-container-image-no-tag": ("fc3-container", "@/customContainerConfig/image", "shop"),
    "fc2-caport-string": ("fc2-custom", "@/caPort", "9000"),
    "fc2-no-service": ("fc2-custom", "~/service", "-"),
    "fc2-fc3-trigger": (
        "fc2-custom",
        "~/triggers/0",
        {
            "triggerName": "http",
            "triggerType": "http",
            "triggerConfig": {"authType": "anonymous", "methods": ["GET"]},
        },
    ),
    "fc2-unknown-method": ("fc2-custom", "T/methods", ["GET", "CONNECT"]),
    "fc2-component": ("fc2-custom", "services/shop-web/component", "fc3"),
    "fc2-edition": ("fc2-custom", "edition", "3.0.0"),
    "fc2-fc3-style-code": ("fc2-custom", "@/code", "./"),
    "fc2-no-command": ("fc2-custom", "@/customRuntimeConfig/command", "-"),
    "fc2-container-list": ("fc2-container", "@/customContainerConfig/command", ["python"]),
    "fc2-container-bad-json": ("fc2-container", "@/customContainerConfig/args", "[app:app]"),
    "fc2-container-with-runtime-config": (
        "fc2-container",
        "@/customRuntimeConfig",
        {"command": ["x"]},
    ),
}


@pytest.mark.parametrize(("variant", "path", "value"), BROKEN.values(), ids=list(BROKEN))
def test_schema_rejects_a_broken_config(variant: str, path: str, value: Any) -> None:
    root, _, rest = path.partition("/")
    full = f"{ROOTS[variant[:3]][root]}/{rest}" if root in ROOTS[variant[:3]] else path
    doc = _load(variant)
    validator = _validator(VARIANTS[variant][1] or "")
    assert list(validator.iter_errors(doc)) == []
    broken = copy.deepcopy(doc)
    _set(full, value)(broken)
    assert broken != doc
    assert list(validator.iter_errors(broken)) != []


# --- what every config carries -----------------------------------------------------------


def _trigger(variant: str, doc: dict[str, Any]) -> tuple[str, list[str]]:
    """(auth type, methods) of the one HTTP trigger."""
    if variant.startswith("fc3"):
        [trigger] = doc["resources"]["shop-web"]["props"]["triggers"]
        assert trigger["triggerType"] == "http"
        config = trigger["triggerConfig"]
    elif variant.startswith("fc2"):
        [trigger] = doc["services"]["shop-web"]["props"]["triggers"]
        assert trigger["type"] == "http"
        config = trigger["config"]
    else:
        events = doc["Resources"]["shop-web"]["shop-web"]["Events"]
        [trigger] = events.values()
        assert trigger["Type"] == "HTTP"
        return trigger["Properties"]["AuthType"].lower(), trigger["Properties"]["Methods"]
    return config["authType"], config["methods"]


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_config_has_every_method_and_the_env_fcmigrate_reads(variant: str) -> None:
    content = VARIANTS[variant][0]().content
    doc = yaml.safe_load(content)
    auth, methods = _trigger(variant, doc)
    assert auth == "anonymous"
    assert sorted(methods) == sorted(HTTP_METHODS)
    assert {"HEAD", "OPTIONS", "PATCH"} <= set(methods)

    function = _function(variant, doc)
    env_key = "EnvironmentVariables" if variant.startswith("fun") else "environmentVariables"
    concurrency_key = "InstanceConcurrency" if variant.startswith("fun") else "instanceConcurrency"
    env = function[env_key]
    assert env["FCMIGRATE_CONCURRENCY"] == str(function[concurrency_key]) == "12"
    assert env["FCMIGRATE_TRUST_FC_HOSTS"] == "1"
    if "container" in variant:
        # The image sets PATH; overriding it would hide the virtualenv.
        assert "PATH" not in env and "PYTHONPATH" not in env
    else:
        assert env["PYTHONPATH"].startswith("/code/python")

    first = content.splitlines()[0]
    assert first.startswith("# Written by fcmigrate ")
    assert "You may edit it" in first
    assert "\r" not in content


@pytest.mark.parametrize("variant", ["fc3-container", "fc2-container", "fun-container"])
def test_container_config_starts_the_image_command(variant: str) -> None:
    function = _function(variant, _load(variant))
    argv = ["shop.wsgi:application", "--base-path", "/api"]
    if variant.startswith("fc3"):
        config = function["customContainerConfig"]
        assert function["runtime"] == "custom-container"
        assert (config["image"], config["port"]) == (IMAGE, 9000)
        assert (config["entrypoint"], config["command"]) == (list(ENTRYPOINT), argv)
    elif variant.startswith("fc2"):
        config = function["customContainerConfig"]
        assert (function["runtime"], function["caPort"]) == ("custom-container", 9000)
        assert config["image"] == IMAGE
        assert isinstance(config["command"], str)
        assert (json.loads(config["command"]), json.loads(config["args"])) == (
            list(ENTRYPOINT),
            argv,
        )
    else:
        config = function["CustomContainerConfig"]
        assert (function["Runtime"], function["CAPort"]) == ("custom-container", 9000)
        assert config["Image"] == IMAGE
        assert (json.loads(config["Command"]), json.loads(config["Args"])) == (
            list(ENTRYPOINT),
            argv,
        )


def test_placeholder_image_is_marked() -> None:
    content = VARIANTS["fc3-container-placeholder"][0]().content
    assert "# PLACEHOLDER" in content
    assert "YOUR_NAMESPACE" in content
    assert "# PLACEHOLDER" not in VARIANTS["fc3-container"][0]().content


def test_json_strings_survive_quotes() -> None:
    image = ContainerImage(IMAGE, ENTRYPOINT, ["app:create_app('it''s')", 'say "hi"'])
    for render_config in (wrap.fc2_yaml, wrap.fun_template):
        doc = yaml.safe_load(render_config(_options(), image).content)
        function = _function("fc2" if render_config is wrap.fc2_yaml else "fun", doc)
        config = function.get("customContainerConfig") or function["CustomContainerConfig"]
        args = config.get("args") or config["Args"]
        assert json.loads(args) == ["app:create_app('it''s')", 'say "hi"']


# --- the templates themselves --------------------------------------------------------------

#: Templates this file's renderers use, and which renderer exercises each.
OWN_TEMPLATES = {
    "s.container.yaml.tmpl": "fc3-container",
    "s.fc2.yaml.tmpl": "fc2-custom",
    "s.fc2.container.yaml.tmpl": "fc2-container",
    "template.container.yml.tmpl": "fun-container",
}


@pytest.mark.parametrize("template", sorted(OWN_TEMPLATES))
def test_template_placeholders_are_exactly_the_values_given(
    template: str, render_calls: list[tuple[str, dict[str, Any]]]
) -> None:
    output = VARIANTS[OWN_TEMPLATES[template]][0]().content
    [(name, values)] = render_calls
    assert name == template
    text = render.template_text(template)
    used = {m.group("named") or m.group("braced") for m in Template.pattern.finditer(text)}
    used.discard(None)
    assert used == set(values) | {"version"}
    # Serverless Devs' own variable reaches the output as is.
    if template.startswith("s."):
        assert "region: ${vars.region}" in output
    assert not re.search(r"\$\{(?!vars\.)", output)


# --- fun validate ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fun() -> str:
    found = shutil.which("fun") or (str(FUN_FROM_MAKE) if FUN_FROM_MAKE.exists() else None)
    if found is None:
        message = "fun is not installed (make setup installs @alicloud/fun into .tools)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + "; CI must run fun validate")
        pytest.skip(message)
    return found


def _fun_validate(fun: str, folder: Path, content: str) -> subprocess.CompletedProcess[str]:
    (folder / "template.yml").write_text(content, encoding="utf-8")
    env = dict(os.environ, HOME=str(folder), NO_COLOR="1")
    return subprocess.run(
        [fun, "validate", "-t", "template.yml"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.network_tool
@pytest.mark.parametrize("variant", FUN_VARIANTS)
def test_fun_validate_accepts_template(variant: str, fun: str, tmp_path: Path) -> None:
    result = _fun_validate(fun, tmp_path, VARIANTS[variant][0]().content)
    assert result.returncode == 0, result.stdout + result.stderr


FUN_BROKEN = [
    ("custom-runtime-debian10", "fun-custom", "Runtime: custom\n", "Runtime: custom.debian10\n"),
    ("caport-string", "fun-custom", "CAPort: 9000", "CAPort: '9000'"),
    ("unknown-property", "fun-custom", "CAPort: 9000", "CAPort: 9000\n        Port: 9000"),
    ("auth-type", "fun-container", "AuthType: ANONYMOUS", "AuthType: NONE"),
    ("container-without-config", "fun-container", "CustomContainerConfig:", "Unknown:"),
    ("container-list-command", "fun-container", "Command: '[", "Command: ['x']\n          X: '["),
]


@pytest.mark.network_tool
@pytest.mark.parametrize(
    ("variant", "old", "new"), [b[1:] for b in FUN_BROKEN], ids=[b[0] for b in FUN_BROKEN]
)
def test_fun_validate_rejects_a_broken_template(
    variant: str, old: str, new: str, fun: str, tmp_path: Path
) -> None:
    content = VARIANTS[variant][0]().content
    assert old in content
    result = _fun_validate(fun, tmp_path, content.replace(old, new, 1))
    assert result.returncode != 0, result.stdout + result.stderr


# --- the CLI writes the config it is asked for ---------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], {"bootstrap", "s.yaml"}),
        (["--config", "s"], {"bootstrap", "s.yaml"}),
        (["--config", "fc2"], {"bootstrap", "s.yaml"}),
        (["--config", "fun"], {"bootstrap", "template.yml"}),
        (["--config", "none"], {"bootstrap"}),
        (["--platform", "scf"], {"scf_bootstrap"}),
    ],
    ids=["default", "s", "fc2", "fun", "none", "scf"],
)
def test_wrap_writes_the_chosen_config(args: list[str], expected: set[str], tmp_path: Path) -> None:
    project = tmp_path / "shop"
    shutil.copytree(FLASK_SAMPLE, project)
    before = {p.name for p in project.iterdir()}
    result = CliRunner().invoke(cli, ["wrap", "app:app", "--out", str(project), *args])
    assert result.exit_code == 0, result.output
    assert {p.name for p in project.iterdir()} - before == expected
    if "s.yaml" in expected:
        schema = "fc2" if "fc2" in args else "fc3"
        doc = yaml.safe_load((project / "s.yaml").read_text(encoding="utf-8"))
        assert list(_validator(schema).iter_errors(doc)) == []


# --- lifecycle hooks ------------------------------------------------------------------


def test_hooks_are_configured_only_when_given() -> None:
    """FC calls /initialize and /pre-stop only for hooks the function's config names."""
    fc3 = _function("fc3-hooks", _load("fc3-hooks"))["instanceLifecycleConfig"]
    assert fc3 == {
        "initializer": {"handler": "index.initialize", "timeout": 120},
        "preStop": {"handler": "index.preStop", "timeout": 90},
    }
    fc2 = _function("fc2-hooks", _load("fc2-hooks"))
    assert (fc2["initializer"], fc2["initializationTimeout"]) == ("index.initialize", 120)
    assert set(fc2["instanceLifecycleConfig"]) == {"preStop", "preFreeze"}
    fun = _function("fun-hooks", _load("fun-hooks"))
    assert (fun["Initializer"], fun["InitializationTimeout"]) == ("index.initialize", 120)
    for variant in ("fc3-custom.debian10", "fc2-custom", "fun-custom"):
        text = VARIANTS[variant][0]().content
        assert "nitializ" not in text and "instanceLifecycleConfig" not in text, variant
    only_stop = yaml.safe_load(wrap.s_yaml(_options(on_pre_stop="hooks:stop")).content)
    assert set(only_stop["resources"]["shop-web"]["props"]["instanceLifecycleConfig"]) == {
        "preStop"
    }
