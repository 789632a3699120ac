"""``fcmigrate.local.frontdoor``: routing and console output, in-process (the front door
is run for real, over HTTP, in ``test_local.py``)."""

from __future__ import annotations

import sys

import pytest

from fcmigrate.deployconfig import FunctionConfig
from fcmigrate.local.command import Console
from fcmigrate.local.frontdoor import FrontDoor, Refused, printable


@pytest.mark.parametrize(
    ("url_style", "target", "expected"),
    [
        ("both", "/whoami", ("fcapp", None, "LATEST")),
        (
            "both",
            "/2016-08-15/proxy/svc/fn/a?b=1",
            ("proxy", "/2016-08-15/proxy/svc/fn/", "LATEST"),
        ),
        ("both", "/2016-08-15/proxy/svc/fn", ("proxy", "/2016-08-15/proxy/svc/fn/", "LATEST")),
        ("both", "/2016-08-15/proxy/svc.v2/fn/", ("proxy", "/2016-08-15/proxy/svc.v2/fn/", "v2")),
        ("both", "/2016-08-15/proxy/svc/fn-other/", "FunctionNotFound"),
        ("both", "/2016-08-15/proxy/nope/fn/", "ServiceNotFound"),
        ("proxy", "/whoami", "PathNotSupported"),
        ("proxy", "/2016-08-15/proxy/svc/fn/x", ("proxy", "/2016-08-15/proxy/svc/fn/", "LATEST")),
        ("fcapp", "/2016-08-15/proxy/svc/fn/x", ("fcapp", None, "LATEST")),
    ],
)
def test_routes_by_url_style(url_style: str, target: str, expected: object) -> None:
    config = FunctionConfig(service="svc", function="fn")
    console = Console(sys.stdout.buffer, sys.stdout.buffer, sys.stderr.buffer)
    door = FrontDoor(
        ("127.0.0.1", 0), config=config, function_port=1, console=console, url_style=url_style
    )
    try:
        if isinstance(expected, str):
            with pytest.raises(Refused) as refused:
                door.route(target)
            assert (refused.value.status, refused.value.code) == (404, expected)
        else:
            route = door.route(target)
            assert (route.style, route.base_path, route.qualifier) == expected
    finally:
        door.server_close()


def test_printable_escapes_every_control_character() -> None:
    assert printable("GET /a\x1b[31m\r\n\t\x7f\x9b\u2028 é") == (
        "GET /a\\x1b[31m\\r\\n\\t\\x7f\\x9b\\u2028 é"
    )
