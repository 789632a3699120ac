"""FC's own hosts in Django's ALLOWED_HOSTS and CSRF_TRUSTED_ORIGINS, without settings edits.

The Django sample (``DEBUG`` off, its own ``ALLOWED_HOSTS`` = localhost names) is served
three times at once through ``fcmigrate serve``: on FC and opted in, off FC but opted in,
and on FC without opting in. Only the first may accept FC's hosts.
"""

from __future__ import annotations

import http.client
import re
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import urlencode

import pytest
from helpers import DJANGO_SAMPLE, Server, launch, migrate_django, python_env, running

from fcmigrate.errors import FCMigrateError
from fcmigrate.runtime.django_support import (
    csrf_origins,
    custom_domains,
    fc_hosts,
    prepare_app,
)

FC_ENV = {"FC_FUNCTION_NAME": "fn", "FC_ACCOUNT_ID": "123", "FC_REGION": "cn-hangzhou"}
DOMAINS = {"FCMIGRATE_CUSTOM_DOMAINS": "www.example.com, *.example.org"}
FOREIGN_ENV = (
    "FC_FUNC_CODE_PATH",
    "FC_FUNCTION_NAME",
    "FC_ACCOUNT_ID",
    "FC_REGION",
    "FCMIGRATE_TRUST_FC_HOSTS",
    "FCMIGRATE_CUSTOM_DOMAINS",
    "DJANGO_SETTINGS_MODULE",
    "DJANGO_DEBUG",
    "DJANGO_ALLOWED_HOSTS",
    "DJANGO_CSRF_TRUSTED_ORIGINS",
)


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    text: str


def fetch(
    server: Server,
    path: str,
    headers: Mapping[str, str],
    *,
    method: str = "GET",
    body: bytes | None = None,
) -> Reply:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=dict(headers))
        resp = conn.getresponse()
        return Reply(resp.status, resp.headers, resp.read().decode("utf-8", "replace"))
    finally:
        conn.close()


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Server]]:
    base = tmp_path_factory.mktemp("hosts")
    db_env = {"PYTHONDONTWRITEBYTECODE": "1", "DJANGO_DB_PATH": str(base / "db.sqlite3")}
    migrate_django(DJANGO_SAMPLE, python_env(db_env, drop=FOREIGN_ENV))
    variants = {
        "fc": {**FC_ENV, **DOMAINS, "FCMIGRATE_TRUST_FC_HOSTS": "1"},
        "off_fc": {
            "FC_ACCOUNT_ID": "123",
            "FC_REGION": "cn-hangzhou",
            **DOMAINS,
            "FCMIGRATE_TRUST_FC_HOSTS": "1",
        },
        "not_opted_in": {**FC_ENV, **DOMAINS},
    }
    argv = [sys.executable, "-m", "fcmigrate", "serve", "mysite.wsgi:application"]
    starts = {
        name: partial(
            launch,
            [*argv, "--workers", "1", "--threads", "4", "--no-static"],
            cwd=DJANGO_SAMPLE,
            log_dir=base,
            env={**db_env, **extra},
            drop=FOREIGN_ENV,
        )
        for name, extra in variants.items()
    }
    with running(starts) as started:
        yield started


FC_HOSTS = [
    "123.cn-hangzhou.fc.aliyuncs.com",
    "123.cn-hangzhou-internal.fc.aliyuncs.com",
    "abc.fcapp.run",
    "fn-svc-kxyzabc.cn-hangzhou.fcapp.run",
    "abc.fcapp.run:443",
    "www.example.com",
    "shop.example.org",
]
REFUSED = [
    "evil.example",
    "123.cn-hangzhou.fc.aliyuncs.com.evil.example",
    "456.cn-hangzhou.fc.aliyuncs.com",
    "abc.fcapp.run.evil.example",
    "evilfcapp.run",
    "example.com",
    "api.www.example.com",
]


@pytest.mark.parametrize("host", FC_HOSTS)
def test_fc_hosts_are_accepted_on_fc(servers: dict[str, Server], host: str) -> None:
    reply = fetch(servers["fc"], "/whoami/", {"Host": host})
    assert reply.status == 200, reply.text[:300]


def refusal_lines(server: Server, host: str) -> list[str]:
    """The lines naming ``host`` as refused, once the server has written one."""
    deadline = time.monotonic() + 10
    while True:
        lines = [
            line
            for line in server.stderr().splitlines()
            if f"Django refused the Host {host!r}" in line
        ]
        if lines or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


@pytest.mark.parametrize("host", REFUSED)
def test_other_hosts_are_still_refused(servers: dict[str, Server], host: str) -> None:
    assert fetch(servers["fc"], "/whoami/", {"Host": host}).status == 400
    assert refusal_lines(servers["fc"], host)


@pytest.mark.parametrize(
    ("name", "advice"),
    [
        ("fc", "add a custom domain bound to the function to FCMIGRATE_CUSTOM_DOMAINS"),
        ("not_opted_in", "set FCMIGRATE_TRUST_FC_HOSTS=1 to allow FC's own hosts"),
        ("off_fc", "added only when running on FC or under 'fcmigrate local'"),
    ],
)
def test_a_refused_host_is_one_line_with_the_fix(
    servers: dict[str, Server], name: str, advice: str
) -> None:
    host = f"once-{name.replace('_', '-')}.example"
    assert fetch(servers[name], "/whoami/", {"Host": host}).status == 400
    lines = refusal_lines(servers[name], host)
    assert len(lines) == 1 and advice in lines[0] and "ALLOWED_HOSTS" in lines[0], lines
    # Django's own record of it, a traceback, is replaced by that line.
    assert "Traceback" not in servers[name].stderr()


def test_the_projects_own_hosts_still_work(servers: dict[str, Server]) -> None:
    for server in servers.values():
        assert fetch(server, "/whoami/", {"Host": "localhost"}).status == 200


@pytest.mark.parametrize("variant", ["off_fc", "not_opted_in"])
def test_fc_hosts_are_refused_unless_on_fc_and_opted_in(
    servers: dict[str, Server], variant: str
) -> None:
    for host in ("123.cn-hangzhou.fc.aliyuncs.com", "abc.fcapp.run", "www.example.com"):
        assert fetch(servers[variant], "/whoami/", {"Host": host}).status == 400


def test_start_up_says_what_it_did(servers: dict[str, Server]) -> None:
    assert "Trusting FC's hosts: 123.cn-hangzhou.fc.aliyuncs.com" in servers["fc"].stderr()
    off = servers["off_fc"].stderr()
    assert "Not trusting FC's hosts: not running on FC" in off
    assert "Trusting FC's hosts" not in servers["not_opted_in"].stderr()
    # --no-static: nothing about static files was even looked at.
    assert all("Static files" not in server.stderr() for server in servers.values())


def csrf_form(server: Server, host: str) -> tuple[str, str]:
    """(csrftoken cookie, form token) from the notes page."""
    page = fetch(server, "/notes/", {"Host": host})
    assert page.status == 200, page.text[:300]
    cookie = re.search(r"csrftoken=([^;]+)", page.headers["Set-Cookie"] or "")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert cookie and token
    return cookie.group(1), token.group(1)


def post_note(server: Server, host: str, origin: str, extra: Mapping[str, str]) -> Reply:
    cookie, token = csrf_form(server, host)
    body = urlencode({"csrfmiddlewaretoken": token, "text": "from FC"}).encode()
    headers = {
        "Host": host,
        "Origin": origin,
        "Cookie": f"csrftoken={cookie}",
        "Content-Type": "application/x-www-form-urlencoded",
        **extra,
    }
    return fetch(server, "/notes/", headers, method="POST", body=body)


@pytest.mark.parametrize(
    "forwarded",
    [{"X-Forwarded-Proto": "https"}, {}],
    ids=["with-x-forwarded-proto", "without-x-forwarded-proto"],
)
def test_csrf_post_from_fcapp_run_over_https(
    servers: dict[str, Server], forwarded: dict[str, str]
) -> None:
    reply = post_note(servers["fc"], "abc.fcapp.run", "https://abc.fcapp.run", forwarded)
    assert reply.status == 302, reply.text[:500]
    assert reply.headers["Location"] == "/notes/"


def test_csrf_post_from_another_origin_is_refused(servers: dict[str, Server]) -> None:
    reply = post_note(
        servers["fc"], "abc.fcapp.run", "https://evil.example", {"X-Forwarded-Proto": "https"}
    )
    assert reply.status == 403


def test_csrf_plain_http_origin_is_not_trusted_for_https(servers: dict[str, Server]) -> None:
    reply = post_note(
        servers["fc"], "abc.fcapp.run", "http://abc.fcapp.run", {"X-Forwarded-Proto": "https"}
    )
    assert reply.status == 403


# --- host lists ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", []),
        ("www.example.com", ["www.example.com"]),
        ("WWW.Example.com , api.example.com", ["www.example.com", "api.example.com"]),
        ("*.example.org", [".example.org"]),
        ("https://www.example.com/", ["www.example.com"]),
        ("www.example.com:8443", ["www.example.com"]),
        ("a.example.com,,a.example.com", ["a.example.com"]),
        ("xn--fiqs8s.example", ["xn--fiqs8s.example"]),
    ],
)
def test_custom_domains(value: str, expected: list[str]) -> None:
    assert custom_domains({"FCMIGRATE_CUSTOM_DOMAINS": value}) == expected


@pytest.mark.parametrize(
    "value", ["localhost", "*", "*.com", "exa mple.com", "-bad.example.com", "a..example.com"]
)
def test_custom_domains_refuses_what_is_not_a_host(value: str) -> None:
    with pytest.raises(FCMigrateError, match=r"FCMIGRATE_CUSTOM_DOMAINS holds"):
        custom_domains({"FCMIGRATE_CUSTOM_DOMAINS": value})


def test_fc_hosts_and_origins() -> None:
    hosts = fc_hosts({**FC_ENV, "FCMIGRATE_CUSTOM_DOMAINS": "*.example.org"})
    assert hosts == [
        "123.cn-hangzhou.fc.aliyuncs.com",
        "123.cn-hangzhou-internal.fc.aliyuncs.com",
        ".fcapp.run",
        ".example.org",
    ]
    assert csrf_origins(hosts) == [
        "https://123.cn-hangzhou.fc.aliyuncs.com",
        "https://123.cn-hangzhou-internal.fc.aliyuncs.com",
        "https://*.fcapp.run",
        "https://*.example.org",
    ]
    # Without the account and region only the names that need neither.
    assert fc_hosts({"FC_FUNCTION_NAME": "fn"}) == [".fcapp.run"]


# --- Flask's TRUSTED_HOSTS -----------------------------------------------------------------


def flask_app(trusted: list[str] | None) -> Any:
    from flask import Flask

    app = Flask("trusted_hosts_app")
    if trusted is not None:
        app.config["TRUSTED_HOSTS"] = trusted
    app.add_url_rule("/", "home", lambda: "ok")
    return app


def status(app: Any, host: str) -> int:
    client = app.test_client()
    return int(client.get("/", headers={"Host": host}).status_code)


def test_flask_trusted_hosts_get_fc_hosts_on_fc() -> None:
    app = flask_app(["example.com"])
    env = {**FC_ENV, "FCMIGRATE_TRUST_FC_HOSTS": "1"}
    assert prepare_app(app, env=env) is app
    assert status(app, "abc.fcapp.run") == 200
    assert status(app, "123.cn-hangzhou.fc.aliyuncs.com") == 200
    assert status(app, "example.com") == 200
    assert status(app, "evil.example") == 400


def test_flask_trusted_hosts_unchanged_off_fc_or_unset() -> None:
    app = flask_app(["example.com"])
    prepare_app(app, env={"FCMIGRATE_TRUST_FC_HOSTS": "1"})
    assert status(app, "abc.fcapp.run") == 400
    unset = flask_app(None)
    prepare_app(unset, env={**FC_ENV, "FCMIGRATE_TRUST_FC_HOSTS": "1"})
    assert unset.config["TRUSTED_HOSTS"] is None
