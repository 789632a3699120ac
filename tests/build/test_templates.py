"""The template files in ``fcmigrate/templates`` render strictly and leave shell/YAML ``$`` alone.

Templates are rendered with :meth:`string.Template.substitute`, where a literal ``$`` is
written ``$$``. A forgotten escape either fails to render (``${FC_SERVER_PORT:-9000}`` is
not a placeholder) or silently eats a shell variable (``$here`` would need a value); an
over-eager escape (``$${app}``) ships a placeholder unrendered. These tests catch all three.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from importlib import resources
from string import Template
from typing import Any

import pytest
import yaml

from fcmigrate import __version__
from fcmigrate.build import render, wrap
from fcmigrate.build.render import OutputFile
from fcmigrate.build.wrap import WrapOptions

TEMPLATES = resources.files("fcmigrate.build").joinpath("templates")
TEMPLATE_NAMES = sorted(p.name for p in TEMPLATES.iterdir() if p.is_file())

#: Which wrap function renders which template.
RENDERERS: dict[str, Callable[[WrapOptions], OutputFile]] = {
    "bootstrap.tmpl": wrap.bootstrap,
    "s.yaml.tmpl": wrap.s_yaml,
    "template.yml.tmpl": wrap.fun_template,
}

#: Options that exercise every optional part of the templates.
FULL_OPTIONS = WrapOptions(
    app="pkg:create_app(roots=['/data'], debug=False)",
    name="my-func",
    config="s",
    region="cn-shanghai",
    concurrency=12,
    memory=2048,
    timeout=120,
    base_paths=("/api",),
    event_route="/events",
    on_initialize="hooks:init",
)

#: Shell and Serverless Devs syntax that must reach the output literally.
LITERALS = {
    "bootstrap.tmpl": [
        "${FC_SERVER_PORT:-9000}",
        '"${BASH_SOURCE[0]}"',
        "${FCMIGRATE_PYTHON:-}",
        "${python:-python3}",
        "${PYTHONPATH:+:$PYTHONPATH}",
        '"$here"',
        '"$python"',
        '"$@"',
    ],
    "s.yaml.tmpl": ["region: ${vars.region}"],
    "template.yml.tmpl": [],
}


def _identifiers(template: Template) -> set[str]:
    """Placeholder names in ``template``; raises on a ``$`` that is neither ``$$`` nor one."""
    names: set[str] = set()
    for match in template.pattern.finditer(template.template):
        if match.group("invalid") is not None:
            line = template.template[: match.start()].count("\n") + 1
            raise AssertionError(f"line {line}: '$' is neither '$$' nor a placeholder")
        name = match.group("named") or match.group("braced")
        if name:
            names.add(name)
    return names


def test_wrap_renders_every_template_it_claims() -> None:
    assert set(RENDERERS) <= set(TEMPLATE_NAMES)


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_template_has_no_stray_dollar(name: str) -> None:
    # Also covers templates other commands render: a bare '$' must be '$$'.
    _identifiers(Template(TEMPLATES.joinpath(name).read_text(encoding="utf-8")))


@pytest.mark.parametrize("name", sorted(RENDERERS))
def test_placeholders_are_exactly_what_wrap_gives(
    name: str, render_calls: list[tuple[str, dict[str, Any]]]
) -> None:
    RENDERERS[name](FULL_OPTIONS)
    [(template, values)] = render_calls
    assert template == name
    identifiers = _identifiers(Template(render.template_text(name)))
    # 'version' is added by render() itself.
    given = set(values) | {"version"}
    assert identifiers <= given, f"{name} uses placeholders wrap does not give"
    assert given - identifiers <= {"version"}, f"wrap gives {name} values it never uses"


@pytest.mark.parametrize("name", sorted(RENDERERS))
def test_rendered_output_keeps_literals_and_leaves_no_placeholder(
    name: str, render_calls: list[tuple[str, dict[str, Any]]]
) -> None:
    output = RENDERERS[name](FULL_OPTIONS).content
    [(_, values)] = render_calls
    for literal in LITERALS[name]:
        assert literal in output
    # A placeholder escaped by mistake ('$${app}') would survive as '${app}' or '$app'.
    for key in {*values, "version"}:
        assert not re.search(rf"\$(?:{key}\b|\{{{key}\}})", output), key
    assert f"fcmigrate {__version__}" in output
    assert "\r" not in output


def test_bootstrap_output_is_valid_bash() -> None:
    bash = shutil.which("bash")
    assert bash is not None
    content = wrap.bootstrap(FULL_OPTIONS).content
    result = subprocess.run([bash, "-n"], input=content, text=True, capture_output=True)
    assert result.returncode == 0, result.stderr


def test_s_yaml_output_carries_the_options() -> None:
    doc = yaml.safe_load(wrap.s_yaml(FULL_OPTIONS).content)
    props = doc["resources"]["my-func"]["props"]
    assert doc["vars"]["region"] == "cn-shanghai"
    assert (props["functionName"], props["memorySize"], props["timeout"]) == ("my-func", 2048, 120)
    assert props["instanceConcurrency"] == 12
    assert props["environmentVariables"]["FCMIGRATE_CONCURRENCY"] == "12"
    assert (
        props["description"] == "pkg:create_app(roots=['/data'], debug=False) served by fcmigrate"
    )


def test_fun_template_output_carries_the_options() -> None:
    doc = yaml.safe_load(wrap.fun_template(FULL_OPTIONS).content)
    props = doc["Resources"]["my-func"]["my-func"]["Properties"]
    assert (props["MemorySize"], props["Timeout"], props["InstanceConcurrency"]) == (2048, 120, 12)
    assert props["EnvironmentVariables"]["FCMIGRATE_CONCURRENCY"] == "12"
