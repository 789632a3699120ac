"""Fixtures shared by every test folder; the helpers they use are in ``helpers.py``."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from helpers import (
    DJANGO_SAMPLE,
    FLASK_SAMPLE,
    Server,
    StartServer,
    launch,
)


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[StartServer]:
    """``start_server(argv, cwd=..., env=...)`` -> a ready :class:`Server` on a free port.

    The port is given to the process as ``FC_SERVER_PORT``. Every server is stopped after
    the test.
    """
    servers: list[Server] = []

    def start(
        argv: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str] | None = None,
        port: int | None = None,
        ready: bool = True,
        timeout: float = 30,
    ) -> Server:
        server = launch(argv, cwd=cwd, log_dir=tmp_path, env=env, port=port)
        servers.append(server)
        return server.wait_ready(timeout) if ready else server

    yield start
    for server in servers:
        server.kill()


@pytest.fixture
def forget_tmp_modules(tmp_path: Path) -> Iterator[None]:
    """Commands that import the user's app in-process: forget its modules and sys.path entries."""
    before_path = list(sys.path)
    yield
    sys.path[:] = before_path
    for name, module in list(sys.modules.items()):
        if str(getattr(module, "__file__", None) or "").startswith(str(tmp_path)):
            del sys.modules[name]


@pytest.fixture
def render_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Record every (template, values) that wrap passes to ``render``."""
    from fcmigrate.build import render, wrap

    calls: list[tuple[str, dict[str, Any]]] = []
    real_render = render.render

    def spy(template: str, /, **values: Any) -> str:
        calls.append((template, dict(values)))
        return real_render(template, **values)

    monkeypatch.setattr(wrap, "render", spy)
    yield calls


@pytest.fixture(scope="module")
def flask_module() -> Iterator[Any]:
    """The Flask sample's ``app`` module, imported from its folder.

    sys.path and sys.modules are restored after the test module.
    """
    saved_path = list(sys.path)
    saved_app = sys.modules.pop("app", None)
    sys.path.insert(0, str(FLASK_SAMPLE))
    try:
        module = importlib.import_module("app")
        assert Path(module.__file__ or "").resolve() == FLASK_SAMPLE / "app.py"
        yield module
    finally:
        sys.path[:] = saved_path
        sys.modules.pop("app", None)
        if saved_app is not None:
            sys.modules["app"] = saved_app


@pytest.fixture(scope="session")
def django_wsgi(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The Django sample's WSGI app, Django set up once per process with a temp SQLite DB.

    Settings can only be configured once per process, so every test file that needs the
    in-process site shares this one fixture.
    """
    import django
    from django.conf import settings

    if settings.configured and getattr(settings, "SETTINGS_MODULE", None) != "mysite.settings":
        pytest.fail(
            f"Django is already configured with {settings.SETTINGS_MODULE!r} in this process"
        )

    saved_path = list(sys.path)
    saved_env = {k: os.environ.get(k) for k in ("DJANGO_SETTINGS_MODULE", "DJANGO_DB_PATH")}
    saved_modules = set(sys.modules)
    if str(DJANGO_SAMPLE) not in sys.path:
        sys.path.insert(0, str(DJANGO_SAMPLE))
    os.environ["DJANGO_SETTINGS_MODULE"] = "mysite.settings"
    os.environ["DJANGO_DB_PATH"] = str(tmp_path_factory.mktemp("django_site") / "db.sqlite3")
    try:
        django.setup()
        from django.core.management import call_command
        from django.urls import get_script_prefix, set_script_prefix

        call_command("migrate", verbosity=0, interactive=False)
        # Django computes a relative STATIC_URL once per process, with the script prefix
        # of that moment. Fix it unprefixed now, so prefixed requests in one test file
        # cannot leak their prefix into other test files' static URLs.
        previous = get_script_prefix()
        set_script_prefix("/")
        assert settings.STATIC_URL
        set_script_prefix(previous)
        from mysite.wsgi import application

        # Read once: later import checks' children must not inherit the sample's settings.
        _restore(saved_env)
        yield application
    finally:
        sys.path[:] = saved_path
        _restore(saved_env)
        for name in set(sys.modules) - saved_modules:
            if name.split(".")[0] in {"mysite", "pages"}:
                del sys.modules[name]


def _restore(saved: Mapping[str, str | None]) -> None:
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
