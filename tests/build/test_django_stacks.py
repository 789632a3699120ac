"""Django projects as they are deployed: offline compression, shipped manifests, strict hosts.

* ``shop``: a small project using django-compressor with ``COMPRESS_OFFLINE = True`` and a
  ``{% cache %}`` fragment, collected and compressed as ``migrate`` does, served through
  ``fcmigrate serve`` with one worker so that requests with and without FC's prefix reach
  the same process.
* ``legacy``: the Django sample with ``ManifestStaticFilesStorage`` and a checked-in
  ``STATIC_ROOT`` whose ``staticfiles.json`` names a file its sources no longer produce.
* ``strict``: the Django sample with ``DEBUG`` off and ``ALLOWED_HOSTS = []``, wrapped, behind
  ``fcmigrate local`` with the generated ``s.yaml``.
"""

from __future__ import annotations

import gzip
import http.client
import json
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import brotli
import pytest
from helpers import DJANGO_SAMPLE, Server, free_port, migrate_django, python_env
from test_statics import FOREIGN_ENV, PREFIX, fetch, serve

from fcmigrate.build.collectstatic import COLLECTED_DIR, collect_static
from fcmigrate.errors import FCMigrateError
from fcmigrate.runtime.django_tags import TAGS_ENV, prefix_urls, render_unprefixed

SHOP_FILES = {
    "manage.py": """
import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
from django.core.management import execute_from_command_line
execute_from_command_line(sys.argv)
""",
    "shop/__init__.py": "",
    "shop/settings.py": """
from pathlib import Path
BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "test-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
INSTALLED_APPS = ["django.contrib.staticfiles", "compressor"]
MIDDLEWARE = []
ROOT_URLCONF = "shop.urls"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [BASE_DIR / "templates"],
    "APP_DIRS": True,
}]
WSGI_APPLICATION = "shop.wsgi.application"
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "assets"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "compressor.finders.CompressorFinder",
]
COMPRESS_OFFLINE = True
""",
    "shop/urls.py": """
from django.urls import path
from django.views.generic import TemplateView
urlpatterns = [path("", TemplateView.as_view(template_name="home.html"), name="home")]
""",
    "shop/wsgi.py": """
import os
from django.core.wsgi import get_wsgi_application
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
application = get_wsgi_application()
""",
    "templates/home.html": """{% load static compress cache %}<!doctype html>
<html><head>
{% compress css %}<link rel="stylesheet" href="{% static 'css/site.css' %}">{% endcompress %}
{% compress js %}<script src="{% static 'js/site.js' %}"></script>{% endcompress %}
</head><body>{% cache 300 nav %}<a id="home" href="{% url 'home' %}">home</a>{% endcache %}
</body></html>
""",
    "assets/css/site.css": "body { color: #123456; }\n",
    "assets/js/site.js": "window.shopLoaded = true;\n",
}


def write_project(root: Path, files: Mapping[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.lstrip("\n"), encoding="utf-8")
    return root


@dataclass
class Shop:
    build: Path
    collected: Path
    server: Server


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    base = tmp_path_factory.mktemp("shop")
    project = write_project(base / "project", SHOP_FILES)
    build = base / "build"
    shutil.copytree(project, build)
    collected = collect_static(project, build, "shop.settings")
    assert collected is not None
    server = serve(build, "shop.wsgi:application", base, {})
    try:
        yield Shop(build, collected, server)
    finally:
        server.kill()


def test_compress_runs_at_build_time_after_collectstatic(shop: Shop) -> None:
    manifest = json.loads((shop.collected / "CACHE" / "manifest.json").read_text())
    assert len(manifest) == 2
    outputs = sorted(p.parent.name for p in (shop.collected / "CACHE").rglob("output.*"))
    assert outputs == ["css", "js"]


@pytest.mark.parametrize("order", [(PREFIX, ""), ("", PREFIX)], ids=["prefix-first", "root-first"])
def test_offline_compressed_pages_render_under_the_prefix_and_at_the_root(
    shop: Shop, order: tuple[str, str]
) -> None:
    for prefix in (*order, *order):
        page = fetch(shop.server, f"{prefix}/")
        assert page.status == 200, page.text[-3000:]
        links = re.findall(r'(?:href|src)="([^"]*/CACHE/[^"]+)"', page.text)
        assert len(links) == 2, page.text
        for link in links:
            assert link.startswith(f"{prefix}/static/CACHE/"), link
            asset = fetch(shop.server, link)
            assert asset.status == 200, link
            name = link.split("/static/", 1)[1]
            assert asset.body == (shop.collected / name).read_bytes()
            assert "max-age=315360000" in asset.headers["cache-control"]
            assert "immutable" in asset.headers["cache-control"]
        assert re.search(r'<script src="[^"]+"></script>', page.text)


def test_cached_fragment_links_follow_each_request(shop: Shop) -> None:
    for prefix in ("", PREFIX, ""):
        page = fetch(shop.server, f"{prefix}/")
        assert f'<a id="home" href="{prefix}/">' in page.text


def test_compress_failure_names_the_command(tmp_path: Path) -> None:
    files = dict(SHOP_FILES)
    files["templates/home.html"] = "{% load compress %}{% compress css %}{% nosuchtag %}"
    project = write_project(tmp_path / "broken", files)
    with pytest.raises(FCMigrateError, match=r"'python manage\.py compress' works"):
        collect_static(project, project, "shop.settings")


def test_compressed_with_static_root_outside_the_build(tmp_path: Path) -> None:
    elsewhere = tmp_path / "var-www-static"
    files = dict(SHOP_FILES)
    files["shop/settings.py"] = files["shop/settings.py"].replace(
        'STATIC_ROOT = BASE_DIR / "staticfiles"',
        f"STATIC_ROOT = {str(elsewhere)!r}\nCOMPRESS_ROOT = STATIC_ROOT",
    )
    project = write_project(tmp_path / "project", files)
    build = tmp_path / "build"
    shutil.copytree(project, build)
    lines: list[str] = []
    collected = collect_static(project, build, "shop.settings", progress=lines.append)
    assert collected == build / COLLECTED_DIR
    assert (collected / "CACHE" / "manifest.json").is_file()
    assert not elsewhere.exists()
    assert any("COMPRESS_ROOT is" in line for line in lines), lines
    server = serve(build, "shop.wsgi:application", tmp_path, {})
    try:
        for prefix in (PREFIX, ""):
            page = fetch(server, f"{prefix}/")
            assert page.status == 200, page.text[-2000:]
            link = re.search(r'href="([^"]*/CACHE/css/[^"]+)"', page.text)
            assert link and fetch(server, link.group(1)).status == 200
    finally:
        server.kill()


def _tree(folder: Path) -> dict[str, int]:
    return {p.relative_to(folder).as_posix(): p.stat().st_size for p in folder.rglob("*")}


def test_online_compression_finds_its_files_in_the_build(tmp_path: Path) -> None:
    """django-compressor's default (no COMPRESS_OFFLINE): each block's file is written on its
    first request, into a STATIC_ROOT outside the build here. The build writes them ahead, so
    the function serves them and writes nothing, under the prefix and at the root."""
    elsewhere = tmp_path / "var-www-static"
    files = dict(SHOP_FILES)
    files["shop/settings.py"] = (
        files["shop/settings.py"]
        .replace("COMPRESS_OFFLINE = True\n", "")
        .replace('STATIC_ROOT = BASE_DIR / "staticfiles"', f"STATIC_ROOT = {str(elsewhere)!r}")
    )
    project = write_project(tmp_path / "project", files)
    build = tmp_path / "build"
    shutil.copytree(project, build)
    lines: list[str] = []
    collected = collect_static(project, build, "shop.settings", progress=lines.append)
    assert collected == build / COLLECTED_DIR
    assert any("ahead of their first request" in line for line in lines), lines
    before = _tree(build)
    server = serve(build, "shop.wsgi:application", tmp_path, {})
    try:
        for prefix in (PREFIX, "", PREFIX):
            page = fetch(server, f"{prefix}/")
            assert page.status == 200, page.text[-2000:]
            links = re.findall(r'(?:href|src)="([^"]*/CACHE/[^"]+)"', page.text)
            assert len(links) == 2, page.text
            for link in links:
                assert link.startswith(f"{prefix}/static/CACHE/"), link
                assert fetch(server, link).status == 200, link
    finally:
        server.kill()
    assert not elsewhere.exists()
    assert _tree(build) == before


def test_online_compression_of_a_block_that_names_the_language(tmp_path: Path) -> None:
    """ephios: a {% compress js %} block links a catalog per language (LANGUAGE_CODE from the
    i18n context processor). Each language's file is written ahead, so a request in any of
    the site's languages finds its own and writes nothing."""
    files = dict(SHOP_FILES)
    files["shop/settings.py"] = files["shop/settings.py"].replace(
        "COMPRESS_OFFLINE = True\n",
        "USE_I18N = True\nLANGUAGE_CODE = 'de'\n"
        "LANGUAGES = [('de', 'German'), ('en', 'English')]\n"
        "MIDDLEWARE = ['django.contrib.sessions.middleware.SessionMiddleware', "
        "'django.middleware.locale.LocaleMiddleware']\n"
        "INSTALLED_APPS += ['django.contrib.sessions']\n"
        "SESSION_ENGINE = 'django.contrib.sessions.backends.signed_cookies'\n"
        "TEMPLATES[0]['OPTIONS'] = {'context_processors': "
        "['django.template.context_processors.i18n']}\n",
    )
    files["templates/home.html"] = (
        "{% load static compress %}<!doctype html><html><head>{% compress js %}"
        "<script src=\"{% static 'js/lang-'|add:LANGUAGE_CODE|add:'.js' %}\"></script>"
        "{% endcompress %}</head><body></body></html>\n"
    )
    files["assets/js/lang-de.js"] = "window.lang = 'de';\n"
    files["assets/js/lang-en.js"] = "window.lang = 'en';\n"
    project = write_project(tmp_path / "project", files)
    build = tmp_path / "build"
    shutil.copytree(project, build)
    collect_static(project, build, "shop.settings")
    before = _tree(build)
    server = serve(build, "shop.wsgi:application", tmp_path, {})
    try:
        seen = set()
        for language in ("de", "en", "de"):
            page = fetch(server, f"{PREFIX}/", {"Accept-Language": language})
            assert page.status == 200, page.text[-2000:]
            [link] = re.findall(r'src="([^"]*/CACHE/js/[^"]+)"', page.text)
            script = fetch(server, link)
            assert script.status == 200, link
            assert f"window.lang='{language}'" in script.body.decode().replace(" ", "")
            seen.add(link)
    finally:
        server.kill()
    assert len(seen) == 2
    assert _tree(build) == before


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ('<link href="/static/a.css">', '<link href="/p/fn/static/a.css">'),
        ("<script src='/static/a.js'></script>", "<script src='/p/fn/static/a.js'></script>"),
        ('<img src="//cdn.example/a.png">', '<img src="//cdn.example/a.png">'),
        ('<a href="https://x.example/">', '<a href="https://x.example/">'),
        ('<a href="/p/fn/already/">', '<a href="/p/fn/already/">'),
        ('<a href="/p/fnord/">', '<a href="/p/fn/p/fnord/">'),
        (
            "<style>b{background:url(/static/b.png)}</style>",
            "<style>b{background:url(/p/fn/static/b.png)}</style>",
        ),
        ('<form action="/">', '<form action="/p/fn/">'),
        ('<a title="/not/a/url">', '<a title="/not/a/url">'),
    ],
    ids=[
        "href",
        "src",
        "scheme-relative",
        "absolute",
        "once",
        "near-miss",
        "css-url",
        "action",
        "other-attr",
    ],
)
def test_prefix_urls(markup: str, expected: str) -> None:
    assert prefix_urls(markup, "/p/fn") == expected


def test_prefix_urls_escapes_what_could_close_the_markup() -> None:
    assert prefix_urls('<a href="/x">', '/p/"><b>') == '<a href="/p/%22%3E%3Cb%3E/x">'


class PrefixEchoNode:
    """A template node that links to whatever script prefix it renders under."""

    def render(self, context: object) -> str:
        from django.urls import get_script_prefix

        return f'<a href="{get_script_prefix()}page/">'


def test_named_node_classes_render_unprefixed(caplog: pytest.LogCaptureFixture) -> None:
    from django.urls import clear_script_prefix, set_script_prefix

    named = f"{__name__}.PrefixEchoNode,nosuch.module.Node"
    changed = render_unprefixed([], {TAGS_ENV: named})
    assert changed == ["django.templatetags.cache.CacheNode", f"{__name__}.PrefixEchoNode"]
    assert "cannot import a template node class 'nosuch.module.Node'" in caplog.text
    set_script_prefix("/2016-08-15/proxy/svc/fn/")
    try:
        assert PrefixEchoNode().render({}) == '<a href="/2016-08-15/proxy/svc/fn/page/">'
    finally:
        clear_script_prefix()
    assert PrefixEchoNode().render({}) == '<a href="/page/">'


# --- a manifest the project ships ------------------------------------------------------

LEGACY_VIEW = """
from django.http import HttpResponse
from django.templatetags.static import static

urlpatterns.append(
    path("legacy/", lambda request: HttpResponse(f'<link href="{static("legacy/old.css")}">'))
)
"""
MANIFEST_STORAGE = """
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
}
"""
OLD_CSS = b"body { color: #abcdef; }\n"


def legacy_site(dest: Path) -> Path:
    """The sample with a manifest storage and a checked-in STATIC_ROOT naming an old file."""
    shutil.copytree(
        DJANGO_SAMPLE, dest, ignore=shutil.ignore_patterns("__pycache__", "staticfiles")
    )
    settings = dest / "mysite" / "settings.py"
    settings.write_text(settings.read_text() + MANIFEST_STORAGE)
    urls = dest / "mysite" / "urls.py"
    urls.write_text(urls.read_text() + LEGACY_VIEW)
    shipped = dest / "staticfiles"
    (shipped / "legacy").mkdir(parents=True)
    (shipped / "legacy" / "old.0123456789ab.css").write_bytes(OLD_CSS)
    (shipped / "legacy" / "gone.fedcba987654.css").write_bytes(OLD_CSS)
    manifest = {
        "version": "1.1",
        "paths": {
            "legacy/old.css": "legacy/old.0123456789ab.css",
            # Its file is not shipped: the entry would point at nothing, so it is not kept.
            "legacy/missing.css": "legacy/missing.000000000000.css",
            # Also produced now, under another hash: the shipped entry stays.
            "pages/style.css": "legacy/gone.fedcba987654.css",
        },
    }
    (shipped / "staticfiles.json").write_text(json.dumps(manifest))
    return dest


def test_shipped_manifest_entries_are_kept(tmp_path: Path) -> None:
    project = legacy_site(tmp_path / "project")
    shipped = (project / "staticfiles" / "staticfiles.json").read_text()
    build = tmp_path / "build"
    shutil.copytree(project, build)
    lines: list[str] = []
    root = collect_static(project, build, "mysite.settings", progress=lines.append)
    assert root == build / "staticfiles"
    paths = json.loads((root / "staticfiles.json").read_text())["paths"]
    assert paths["legacy/old.css"] == "legacy/old.0123456789ab.css"
    assert paths["pages/style.css"] == "legacy/gone.fedcba987654.css"
    assert "legacy/missing.css" not in paths
    assert re.fullmatch(r"admin/css/base\.[0-9a-f]{12}\.css", paths["admin/css/base.css"])
    assert any("Kept 2 entries" in line for line in lines), lines
    assert (project / "staticfiles" / "staticfiles.json").read_text() == shipped

    db = tmp_path / "db.sqlite3"
    migrate_django(build, python_env({"DJANGO_DB_PATH": str(db)}, drop=FOREIGN_ENV))
    server = serve(build, "mysite.wsgi:application", tmp_path, {"DJANGO_DB_PATH": str(db)})
    try:
        for prefix in (PREFIX, ""):
            page = fetch(server, f"{prefix}/legacy/")
            assert page.status == 200, page.text[-2000:]
            link = re.search(r'href="([^"]+)"', page.text)
            assert link and link.group(1) == f"{prefix}/static/legacy/old.0123456789ab.css"
            css = fetch(server, link.group(1))
            assert css.status == 200 and css.body == OLD_CSS
            assert "immutable" in css.headers["cache-control"]
            login = fetch(server, f"{prefix}/admin/login/")
            assert login.status == 200
            admin_css = re.search(r'href="([^"]*admin/css/base\.[0-9a-f]{12}\.css)"', login.text)
            assert admin_css and admin_css.group(1).startswith(f"{prefix}/static/")
            plain = fetch(server, admin_css.group(1))
            assert "immutable" in plain.headers["cache-control"]
            for encoding, decompress in (("br", brotli.decompress), ("gzip", gzip.decompress)):
                packed = fetch(server, admin_css.group(1), {"Accept-Encoding": encoding})
                assert packed.headers["content-encoding"] == encoding
                assert "accept-encoding" in packed.headers["vary"].lower()
                assert decompress(packed.body) == plain.body
    finally:
        server.kill()


# --- DEBUG off, ALLOWED_HOSTS empty, behind `fcmigrate local` ----------------------------

SECRETS = ("fcmigrate-local-fake-secret", "fcmigrate-local-fake-token")


def request(port: int, path: str, host: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers={"Host": host})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    base = tmp_path_factory.mktemp("strict")
    project = base / "mysite"
    shutil.copytree(DJANGO_SAMPLE, project, ignore=shutil.ignore_patterns("__pycache__"))
    env = python_env(
        {"DJANGO_ALLOWED_HOSTS": "", "DJANGO_DB_PATH": str(base / "db.sqlite3")},
        drop=FOREIGN_ENV,
    )
    subprocess.run(
        [sys.executable, "-m", "fcmigrate", "wrap", "mysite.wsgi:application"],
        cwd=project,
        env=env,
        check=True,
        capture_output=True,
    )
    assert "FCMIGRATE_TRUST_FC_HOSTS" in (project / "s.yaml").read_text()
    port = free_port()
    out = base / "local.out"
    with open(out, "wb") as stdout:
        proc = subprocess.Popen(
            [sys.executable, "-m", "fcmigrate", "local", "--port", str(port)],
            cwd=project,
            env=env,
            stdout=stdout,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while "front door on" not in out.read_text(errors="replace"):
            assert proc.poll() is None and time.monotonic() < deadline, out.read_text()
            time.sleep(0.1)
        yield port, out
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def proxy_path(out: Path) -> str:
    match = re.search(r"(/2016-08-15/proxy/[^/\s]+/[^/\s]+/)", out.read_text(errors="replace"))
    assert match, out.read_text()
    return match.group(1)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_debug_off_and_no_allowed_hosts_work_under_local(
    strict: tuple[int, Path], host: str
) -> None:
    port, out = strict
    for path in (f"{proxy_path(out)}whoami/", "/whoami/"):
        status, body = request(port, path, f"{host}:{port}")
        assert status == 200, body[:500]
        assert json.loads(body)["path_info"] == "/whoami/"


def test_refused_host_gives_one_line_with_the_fix(strict: tuple[int, Path]) -> None:
    port, out = strict
    status, _ = request(port, "/whoami/", "refused-once.example")
    assert status == 400
    deadline = time.monotonic() + 10
    while "refused-once.example" not in out.read_text(errors="replace"):
        assert time.monotonic() < deadline, out.read_text()
        time.sleep(0.1)
    time.sleep(0.5)
    text = out.read_text(errors="replace")
    lines = [line for line in text.splitlines() if "refused-once.example" in line]
    refusals = [line for line in lines if "Django refused the Host" in line]
    assert len(refusals) == 1, lines
    assert "FCMIGRATE_CUSTOM_DOMAINS" in refusals[0] and "ALLOWED_HOSTS" in refusals[0]
    assert "Traceback" not in text
    for secret in SECRETS:
        assert secret not in text
