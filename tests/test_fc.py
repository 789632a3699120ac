"""FC's contract in one place: fcmigrate.fc, and no second copy of it elsewhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import fcmigrate
from fcmigrate import fc
from fcmigrate.local.frontdoor import new_request_id as local_request_id
from fcmigrate.runtime.middleware import new_request_id as middleware_request_id

PACKAGE = Path(fcmigrate.__file__).parent


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        pytest.param({}, "9000", id="default"),
        pytest.param({"FC_SERVER_PORT": "8080"}, "8080", id="server-port"),
        pytest.param({"FC_CUSTOM_LISTEN_PORT": "7000"}, "7000", id="custom-listen-port"),
        pytest.param(
            {"FC_SERVER_PORT": "8080", "FC_CUSTOM_LISTEN_PORT": "7000"}, "8080", id="newer-wins"
        ),
        pytest.param({"FC_SERVER_PORT": ""}, "9000", id="empty-is-unset"),
    ],
)
def test_listen_port(env: dict[str, str], expected: str) -> None:
    assert fc.listen_port(env) == expected


@pytest.mark.parametrize(
    ("value", "default", "expected"),
    [
        ("1", False, True),
        (" Yes ", False, True),
        ("ON", False, True),
        ("0", True, False),
        ("off", True, False),
        ("", True, True),
        ("maybe", False, False),
        ("maybe", True, True),
    ],
)
def test_env_flag(value: str, default: bool, expected: bool) -> None:
    assert fc.env_flag({"X": value}, "X", default) is expected


def test_running_on_fc() -> None:
    assert not fc.running_on_fc({})
    assert fc.running_on_fc({"FC_FUNCTION_NAME": "web"})
    assert fc.running_on_fc({"FC_FUNC_CODE_PATH": "/code"})
    assert not fc.running_on_fc({"FC_FUNCTION_NAME": ""})


def test_one_request_id_maker_in_fc_3_shape() -> None:
    assert middleware_request_id is local_request_id is fc.new_request_id
    ids = {fc.new_request_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(re.fullmatch(r"1-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{12}", rid) for rid in ids)
    assert re.fullmatch(r"c-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{12}", fc.new_instance_id())


def test_the_port_and_the_proxy_date_are_written_once() -> None:
    """Other modules name fc.PORT and fc.PROXY_VERSION; help texts may still say 9000."""
    twice = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "fc.py":
            continue
        text = path.read_text(encoding="utf-8")
        for number, line in enumerate(text.splitlines(), 1):
            code = line.split("#")[0]
            if re.search(r"=\s*9000\b|[(,]\s*9000\s*[),]|\"2016-08-15\"", code):
                twice.append(f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}")
    assert twice == []
