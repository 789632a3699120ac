"""Static files under FC's prefix: collected into a build, served by WhiteNoise, linked right.

Two copies of the Django sample are collected and served, one server each, ``--workers 1``
so that alternating requests with and without FC's prefix hit the same process:

* ``relative``: the sample as it is (``STATIC_URL = "static/"``, ``STATIC_ROOT`` in the
  project, plain storage) plus ``MEDIA_URL = "media/"``;
* ``absolute``: ``STATIC_URL = "/static/"``, no ``STATIC_ROOT`` (so the files go to
  ``fcmigrate-static/``), hashed and compressed names (WhiteNoise's
  ``CompressedManifestStaticFilesStorage``), ``MEDIA_URL = "/media/"``.

Both get a ``/media-link/`` view answering ``default_storage.url("uploads/a b.txt")``.
"""

from __future__ import annotations

import gzip
import http.client
import re
import shutil
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import DJANGO_SAMPLE, FLASK_SAMPLE, Server, launch, migrate_django, python_env

from fcmigrate.build.collectstatic import (
    COLLECTED_DIR,
    collect_static,
    find_static_root,
    main,
    static_app,
    vendor_whitenoise,
)
from fcmigrate.errors import FCMigrateError

PREFIX = "/2016-08-15/proxy/svc/fn"
TEN_YEARS = "max-age=315360000"
#: Variables of the test run that would change what the servers do.
FOREIGN_ENV = (
    "FC_FUNC_CODE_PATH",
    "FC_FUNCTION_NAME",
    "FCMIGRATE_TRUST_FC_HOSTS",
    "FCMIGRATE_CUSTOM_DOMAINS",
    "FCMIGRATE_STATIC",
    "FCMIGRATE_STATIC_ROOT",
    "FCMIGRATE_DJANGO_STATIC_PREFIX",
    "DJANGO_SETTINGS_MODULE",
    "DJANGO_DEBUG",
    "DJANGO_ALLOWED_HOSTS",
)

MEDIA_VIEW = """
from django.core.files.storage import default_storage
from django.http import HttpResponse

urlpatterns.append(
    path("media-link/", lambda request: HttpResponse(default_storage.url("uploads/a b.txt")))
)


def context_urls(request):
    # An old template's links: the context processors' STATIC_URL and MEDIA_URL.
    from django.template import engines

    template = engines["django"].from_string("{{ STATIC_URL }}a.css|{{ MEDIA_URL }}b.png")
    return HttpResponse(template.render(request=request))


urlpatterns.append(path("context-urls/", context_urls))
"""
CONTEXT_PROCESSORS = """
TEMPLATES[0]["OPTIONS"]["context_processors"] += [
    "django.template.context_processors.static",
    "django.template.context_processors.media",
]
"""
MANIFEST_STORAGES = """
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
"""


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def fetch(server: Server, path: str, headers: Mapping[str, str] | None = None) -> Reply:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("GET", path, headers=dict(headers or {}))
        resp = conn.getresponse()
        return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


def serve(cwd: Path, app: str, log_dir: Path, env: Mapping[str, str]) -> Server:
    argv = [sys.executable, "-m", "fcmigrate", "serve", app, "--workers", "1", "--threads", "4"]
    server = launch(
        argv,
        cwd=cwd,
        log_dir=log_dir,
        env={"PYTHONDONTWRITEBYTECODE": "1", **env},
        drop=FOREIGN_ENV,
    )
    try:
        return server.wait_ready(30)
    except BaseException:
        server.kill()
        raise


def copy_site(dest: Path, *, static_url: str, keep_static_root: bool, manifest: bool) -> Path:
    """A copy of the Django sample with the static settings of one test case."""
    shutil.copytree(
        DJANGO_SAMPLE, dest, ignore=shutil.ignore_patterns("__pycache__", "staticfiles")
    )
    settings = dest / "mysite" / "settings.py"
    text = settings.read_text(encoding="utf-8")
    assert 'STATIC_URL = "static/"\n' in text
    text = text.replace('STATIC_URL = "static/"\n', f"STATIC_URL = {static_url!r}\n")
    if not keep_static_root:
        assert 'STATIC_ROOT = BASE_DIR / "staticfiles"\n' in text
        text = text.replace('STATIC_ROOT = BASE_DIR / "staticfiles"\n', "")
    text += f"\nMEDIA_URL = {static_url.replace('static', 'media')!r}\n" + CONTEXT_PROCESSORS
    if manifest:
        text += MANIFEST_STORAGES
    settings.write_text(text, encoding="utf-8")
    urls = dest / "mysite" / "urls.py"
    urls.write_text(urls.read_text(encoding="utf-8") + MEDIA_VIEW, encoding="utf-8")
    return dest


@dataclass
class Site:
    name: str
    root: Path
    collected: Path | None
    server: Server


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Site]]:
    base = tmp_path_factory.mktemp("statics")
    db = base / "db.sqlite3"
    relative = copy_site(
        base / "relative", static_url="static/", keep_static_root=True, manifest=False
    )
    absolute = copy_site(
        base / "absolute", static_url="/static/", keep_static_root=False, manifest=True
    )
    db_env = {"PYTHONDONTWRITEBYTECODE": "1", "DJANGO_DB_PATH": str(db)}
    migrate_django(relative, python_env(db_env, drop=FOREIGN_ENV))
    started: dict[str, Site] = {}
    try:
        for name, root in (("relative", relative), ("absolute", absolute)):
            collected = collect_static(DJANGO_SAMPLE, root, "mysite.settings")
            server = serve(root, "mysite.wsgi:application", base, {"DJANGO_DB_PATH": str(db)})
            started[name] = Site(name, root, collected, server)
        yield started
    finally:
        for site in started.values():
            site.server.kill()


@pytest.fixture(params=["relative", "absolute"])
def site(request: pytest.FixtureRequest, sites: dict[str, Site]) -> Site:
    return sites[request.param]


def css_link(html: str) -> str:
    match = re.search(r'href="([^"]*admin/css/base[.0-9a-f]*\.css)"', html)
    assert match, html[:2000]
    return match.group(1)


# --- collecting --------------------------------------------------------------------------


def test_collects_into_static_root_inside_the_build(sites: dict[str, Site]) -> None:
    site = sites["relative"]
    assert site.collected == site.root / "staticfiles"
    assert (site.root / "staticfiles" / "admin" / "css" / "base.css").is_file()
    # WhiteNoise's compressor added what the plain storage did not make.
    assert (site.root / "staticfiles" / "admin" / "css" / "base.css.gz").is_file()
    assert not (site.root / COLLECTED_DIR).exists()


def test_collects_into_the_build_folder_without_static_root(sites: dict[str, Site]) -> None:
    site = sites["absolute"]
    assert site.collected == site.root / COLLECTED_DIR
    assert (site.root / COLLECTED_DIR / "staticfiles.json").is_file()
    hashed = list((site.root / COLLECTED_DIR / "admin" / "css").glob("base.*.css"))
    assert len(hashed) == 1
    # The storage compressed it already; the compressor did not make a second copy.
    assert (hashed[0].parent / f"{hashed[0].name}.gz").is_file()
    assert not list(hashed[0].parent.glob("*.gz.gz"))


def write_settings(project: Path, body: str) -> None:
    (project / "tinysite").mkdir(parents=True)
    (project / "tinysite" / "__init__.py").write_text("", encoding="utf-8")
    (project / "tinysite" / "settings.py").write_text(
        "from pathlib import Path\n"
        "BASE_DIR = Path(__file__).resolve().parent.parent\n"
        "SECRET_KEY = 'test'\n"
        "STATIC_URL = 'static/'\n"
        "STATICFILES_DIRS = [BASE_DIR / 'assets']\n" + body,
        encoding="utf-8",
    )
    (project / "assets").mkdir()
    (project / "assets" / "site.css").write_text("body { color: red }\n" * 50, encoding="utf-8")


def test_static_root_outside_the_build_is_not_written(tmp_path: Path) -> None:
    build = tmp_path / "build"
    outside = tmp_path / "outside"
    write_settings(
        build,
        f"INSTALLED_APPS = ['django.contrib.staticfiles']\nSTATIC_ROOT = {str(outside)!r}\n",
    )
    lines: list[str] = []
    assert collect_static(build, build, "tinysite.settings", progress=lines.append) == (
        build / COLLECTED_DIR
    )
    assert (build / COLLECTED_DIR / "site.css").is_file()
    assert not outside.exists()
    assert any("outside the build" in line for line in lines), lines


def test_collectstatic_answers_what_old_releases_ask_of_a_newer_python(tmp_path: Path) -> None:
    # Django 1.11 imports collections.Iterator, gone in Python 3.10: collectstatic at build
    # time runs the project as the function does, with the runtime's answer.
    build = tmp_path / "build"
    write_settings(
        build,
        "from collections import Iterator\nINSTALLED_APPS = ['django.contrib.staticfiles']\n",
    )
    assert collect_static(build, build, "tinysite.settings") == build / COLLECTED_DIR
    assert (build / COLLECTED_DIR / "site.css").is_file()


def test_static_root_that_is_the_build_itself_is_not_used(tmp_path: Path) -> None:
    build = tmp_path / "build"
    write_settings(
        build, "INSTALLED_APPS = ['django.contrib.staticfiles']\nSTATIC_ROOT = BASE_DIR\n"
    )
    assert collect_static(build, build, "tinysite.settings") == build / COLLECTED_DIR
    assert not (build / "site.css").exists()


def test_statici18n_that_fails_is_named(tmp_path: Path) -> None:
    build = tmp_path / "build"
    write_settings(
        build,
        "INSTALLED_APPS = ['django.contrib.staticfiles', 'statici18n']\n"
        "LANGUAGES = [('de', 'German')]\n"
        "STATICI18N_FILENAME_FUNCTION = 'tinysite.nosuch.filename'\n",
    )
    with pytest.raises(FCMigrateError) as excinfo:
        collect_static(build, build, "tinysite.settings")
    message = str(excinfo.value)
    assert message.startswith("compilejsi18n failed for 'tinysite.settings'"), message
    assert "'python manage.py compilejsi18n' works there" in message
    assert "\n" not in message


def test_settings_of_a_src_layout_are_found_in_src(tmp_path: Path) -> None:
    build = tmp_path / "build"
    write_settings(build / "src", "INSTALLED_APPS = ['django.contrib.staticfiles']\n")
    (build / "src" / "assets").rename(build / "assets")
    (build / "src" / "tinysite" / "settings.py").write_text(
        (build / "src" / "tinysite" / "settings.py")
        .read_text(encoding="utf-8")
        .replace("parent.parent", "parent.parent.parent")
        + "STATIC_ROOT = BASE_DIR / 'public'\n",
        encoding="utf-8",
    )
    assert collect_static(build, build, "tinysite.settings") == build / "public"
    assert (build / "public" / "site.css").is_file()


def test_statici18n_catalogs_are_made_and_collected(tmp_path: Path) -> None:
    # ephios links {% statici18n LANGUAGE_CODE %} inside a {% compress %} block, and its
    # STATIC_ROOT (under its data folder) is outside the build.
    build = tmp_path / "build"
    write_settings(
        build,
        "INSTALLED_APPS = ['django.contrib.staticfiles', 'statici18n']\n"
        "LANGUAGES = [('en', 'English'), ('de', 'German')]\n"
        f"STATIC_ROOT = {str(tmp_path / 'data' / 'static')!r}\n" + MANIFEST_STORAGES,
    )
    lines: list[str] = []
    collected = collect_static(build, build, "tinysite.settings", progress=lines.append)
    assert collected == build / COLLECTED_DIR
    for language in ("en", "de"):
        assert (collected / "jsi18n" / language / "djangojs.js").is_file()
    manifest = (collected / "staticfiles.json").read_text(encoding="utf-8")
    assert '"jsi18n/de/djangojs.js": "jsi18n/de/djangojs.' in manifest
    assert any("compilejsi18n" in line for line in lines), lines
    assert not (tmp_path / "data").exists()


def test_without_staticfiles_app_nothing_is_collected(tmp_path: Path) -> None:
    build = tmp_path / "build"
    write_settings(build, "INSTALLED_APPS = []\n")
    assert collect_static(build, build, "tinysite.settings") is None
    assert not (build / COLLECTED_DIR).exists()


def test_settings_that_hang_give_one_clear_error(tmp_path: Path) -> None:
    build = tmp_path / "build"
    write_settings(
        build, "INSTALLED_APPS = ['django.contrib.staticfiles']\nimport time\ntime.sleep(60)\n"
    )
    with pytest.raises(FCMigrateError) as excinfo:
        collect_static(build, build, "tinysite.settings", timeout=2)
    assert str(excinfo.value) == (
        "collectstatic for 'tinysite.settings' did not finish within 2 s. Move slow work "
        "(database connections, downloads) out of the settings module."
    )
    assert not (build / COLLECTED_DIR).exists()


def test_settings_that_fail_give_one_clear_error(tmp_path: Path) -> None:
    build = tmp_path / "build"
    write_settings(
        build,
        "INSTALLED_APPS = ['django.contrib.staticfiles']\n"
        "import os\nDATABASE = os.environ['SENTINEL_DATABASE_URL']\n",
    )
    lines: list[str] = []
    with pytest.raises(FCMigrateError) as excinfo:
        collect_static(tmp_path / "project", build, "tinysite.settings", progress=lines.append)
    message = str(excinfo.value)
    assert "collectstatic failed for 'tinysite.settings'" in message
    assert "KeyError: 'SENTINEL_DATABASE_URL'" in message
    assert "\n" not in message
    # The user's traceback went to the progress lines.
    assert any("Traceback" in line for line in lines)
    assert not (build / COLLECTED_DIR).exists()


def test_npm_packages_that_were_never_installed_are_named(tmp_path: Path) -> None:
    # shynet collects from node_modules with django-npm's finder; npm ran in its Dockerfile.
    build = tmp_path / "build"
    write_settings(
        build,
        "INSTALLED_APPS = ['django.contrib.staticfiles']\n"
        "STATICFILES_FINDERS = ['tinysite.npm.Finder']\n",
    )
    (build / "tinysite" / "npm.py").write_text(
        "import os\n"
        "from django.contrib.staticfiles.finders import BaseFinder\n\n\n"
        "class Finder(BaseFinder):\n"
        "    def find(self, path, **kwargs):\n"
        "        return []\n\n"
        "    def list(self, ignore_patterns):\n"
        "        os.listdir(os.path.join(os.getcwd(), 'node_modules'))\n"
        "        return []\n",
        encoding="utf-8",
    )
    with pytest.raises(FCMigrateError) as excinfo:
        collect_static(build, build, "tinysite.settings")
    assert str(excinfo.value) == (
        f"collectstatic failed for 'tinysite.settings' in {str(build)!r}: a static files "
        f"finder reads npm packages from {str(build / 'node_modules')!r}, which does not "
        "exist. They come from 'npm install' (package.json), a build step fcmigrate does not "
        "run: install them so that this folder exists (or commit the files the pages use), "
        "and run again."
    )
    # shynet's NPM_ROOT_PATH is '../', meant from its manage.py folder one level down.
    npm = build / "tinysite" / "npm.py"
    npm.write_text(npm.read_text().replace("os.getcwd()", "os.getcwd(), '..'"))
    with pytest.raises(FCMigrateError) as excinfo:
        collect_static(build, build, "tinysite.settings")
    assert str(excinfo.value).endswith(
        "and run again. It is outside the build: a relative path in the settings is taken "
        "from the top of the project, where the build and the function run."
    )


def test_module_entry_point_collects_inside_an_image(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build = tmp_path / "app"
    write_settings(build, "INSTALLED_APPS = ['django.contrib.staticfiles']\n")
    assert main([str(build), "tinysite.settings"]) == 0
    assert f"Static files: {build / COLLECTED_DIR}" in capsys.readouterr().out
    assert main([]) == 2
    assert "Usage: python -m fcmigrate.statics" in capsys.readouterr().err


def test_find_static_root_order(tmp_path: Path) -> None:
    own = tmp_path / "own"
    own.mkdir()
    assert find_static_root(str(own), cwd=tmp_path, env={}) == own
    assert find_static_root(str(tmp_path / "missing"), cwd=tmp_path, env={}) is None
    assert find_static_root(None, cwd=tmp_path, env={}) is None
    (tmp_path / COLLECTED_DIR).mkdir()
    assert find_static_root(str(own), cwd=tmp_path, env={}) == tmp_path / COLLECTED_DIR
    explicit = tmp_path / "explicit"
    explicit.mkdir()
    env = {"FCMIGRATE_STATIC_ROOT": "explicit"}
    assert find_static_root(str(own), cwd=tmp_path, env=env) == explicit


def test_vendor_whitenoise_copies_the_package_and_its_licence(tmp_path: Path) -> None:
    target = tmp_path / "python"
    assert vendor_whitenoise(target, "3.13")
    assert (target / "whitenoise" / "base.py").is_file()
    assert list(target.glob("whitenoise-*.dist-info/METADATA"))
    assert list(target.glob("whitenoise-*.dist-info/**/LICENSE*"))
    assert not list(target.rglob("*.pyc"))


def test_vendor_whitenoise_keeps_an_installed_one(tmp_path: Path) -> None:
    target = tmp_path / "python"
    (target / "whitenoise").mkdir(parents=True)
    (target / "whitenoise" / "__init__.py").write_text("# the app's own\n", encoding="utf-8")
    assert vendor_whitenoise(target, "3.10")
    assert not (target / "whitenoise" / "base.py").exists()


def test_vendor_whitenoise_refuses_a_python_it_does_not_support(tmp_path: Path) -> None:
    # Every WhiteNoise 6 release needs a newer Python than 3.5.
    assert not vendor_whitenoise(tmp_path / "python", "3.5")
    assert not (tmp_path / "python" / "whitenoise").exists()


# --- links -------------------------------------------------------------------------------


def test_admin_css_links_follow_each_request_in_one_process(site: Site) -> None:
    links: list[tuple[str, str]] = []
    for _ in range(3):
        for prefix in ("", PREFIX):
            reply = fetch(site.server, f"{prefix}/admin/login/")
            assert reply.status == 200, reply.text[:500]
            links.append((prefix, css_link(reply.text)))
    for prefix, link in links:
        assert link.startswith(f"{prefix}/static/admin/css/base."), (site.name, links)
        assert not link.startswith(PREFIX + PREFIX)
    hashed = site.name == "absolute"
    assert all(bool(re.search(r"base\.[0-9a-f]{12}\.css$", link)) == hashed for _, link in links)
    # One process answered all of them: the links changed per request, not per process.
    assert site.server.stderr().count("Booting worker") == 1


def test_context_processor_urls_follow_each_request(site: Site) -> None:
    """``{{ STATIC_URL }}`` in python.org's base template: root-relative, as Django's
    context processor gives it, it would leave FC's prefix."""
    for prefix in ("", PREFIX, ""):
        reply = fetch(site.server, f"{prefix}/context-urls/")
        assert reply.status == 200
        assert reply.text == f"{prefix}/static/a.css|{prefix}/media/b.png"


def test_media_links_follow_each_request(site: Site) -> None:
    for prefix in ("", PREFIX, ""):
        reply = fetch(site.server, f"{prefix}/media-link/")
        assert reply.status == 200
        assert reply.text == f"{prefix}/media/uploads/a%20b.txt"


SWAPPING_MIDDLEWARE = """\
from django.contrib.staticfiles import storage
from django.core.files.storage import storages


def swap_static_storage(get_response):
    # As django-debug-toolbar's static-files panel does on each request it shows the
    # toolbar on: a new storage of a subclass, made after start-up, with its own url().
    class CountingStorage(storages["staticfiles"].__class__):
        def url(self, name):
            return super().url(name)

    def middleware(request):
        storage.staticfiles_storage = CountingStorage()
        return get_response(request)

    return middleware
"""


def test_static_links_follow_the_request_when_the_storage_is_swapped_per_request(
    tmp_path: Path,
) -> None:
    site = copy_site(
        tmp_path / "site", static_url="/static/", keep_static_root=True, manifest=False
    )
    (site / "mysite" / "swap.py").write_text(SWAPPING_MIDDLEWARE)
    settings = site / "mysite" / "settings.py"
    settings.write_text(
        settings.read_text() + '\nMIDDLEWARE = ["mysite.swap.swap_static_storage", *MIDDLEWARE]\n'
    )
    db = tmp_path / "db.sqlite3"
    migrate_django(site, python_env({"DJANGO_DB_PATH": str(db)}, drop=FOREIGN_ENV))
    collect_static(DJANGO_SAMPLE, site, "mysite.settings")
    server = serve(site, "mysite.wsgi:application", tmp_path, {"DJANGO_DB_PATH": str(db)})
    try:
        for prefix in (PREFIX, "", PREFIX):
            reply = fetch(server, f"{prefix}/admin/login/")
            assert reply.status == 200, reply.text[:500]
            link = css_link(reply.text)
            assert link == f"{prefix}/static/admin/css/base.css", (prefix, link)
            assert fetch(server, link).status == 200
    finally:
        server.kill()


# --- serving -----------------------------------------------------------------------------


def test_linked_css_is_served_with_and_without_the_prefix(site: Site) -> None:
    collected = site.collected
    assert collected is not None
    for prefix in (PREFIX, ""):
        link = css_link(fetch(site.server, f"{prefix}/admin/login/").text)
        reply = fetch(site.server, link)
        assert reply.status == 200, link
        assert reply.headers["content-type"].startswith("text/css")
        name = link.rsplit("/static/", 1)[1]
        assert reply.body == (collected / name).read_bytes()
        cache = reply.headers["cache-control"]
        if site.name == "absolute":
            assert TEN_YEARS in cache and "immutable" in cache
        else:
            assert cache == "max-age=60, public"


def test_compressed_variant_for_clients_that_accept_it(site: Site) -> None:
    link = css_link(fetch(site.server, f"{PREFIX}/admin/login/").text)
    plain = fetch(site.server, link)
    packed = fetch(site.server, link, {"Accept-Encoding": "gzip"})
    assert packed.status == 200
    assert packed.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in packed.headers["vary"].lower()
    assert gzip.decompress(packed.body) == plain.body
    assert "content-encoding" not in plain.headers


def test_unknown_static_path_reaches_django(site: Site) -> None:
    reply = fetch(site.server, f"{PREFIX}/static/admin/css/missing.css")
    assert reply.status == 404
    assert "fcmigrate: Static files: serving" in site.server.stderr()


# --- storage url() -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("script_prefix", "url", "expected"),
    [
        ("/", "/static/a.css", "/static/a.css"),
        (PREFIX + "/", "/static/a.css", PREFIX + "/static/a.css"),
        (PREFIX + "/", PREFIX + "/static/a.css", PREFIX + "/static/a.css"),
        (PREFIX + "/", "//cdn.example.com/a.css", "//cdn.example.com/a.css"),
        (PREFIX + "/", "https://cdn.example.com/a.css", "https://cdn.example.com/a.css"),
        (PREFIX + "/", "a.css", "a.css"),
        ("/api/", "/api-docs/a.css", "/api/api-docs/a.css"),
    ],
    ids=[
        "no-prefix",
        "prefix",
        "already-prefixed",
        "protocol-relative",
        "cdn",
        "relative",
        "segment-boundary",
    ],
)
def test_storage_url_gets_the_current_prefix(script_prefix: str, url: str, expected: str) -> None:
    from django.urls import get_script_prefix, set_script_prefix

    from fcmigrate.runtime.django_support import _prefixed

    before = get_script_prefix()
    set_script_prefix(script_prefix)
    try:
        assert _prefixed(lambda name: url)("a.css") == expected
    finally:
        set_script_prefix(before)


# --- Flask ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def flask_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = serve(FLASK_SAMPLE, "app:app", tmp_path_factory.mktemp("flask-static"), {})
    yield server
    server.kill()


@pytest.mark.parametrize("prefix", ["", PREFIX])
def test_flask_static_folder_under_the_prefix(flask_server: Server, prefix: str) -> None:
    page = fetch(flask_server, f"{prefix}/")
    assert page.status == 200
    assert f'href="{prefix}/static/style.css"' in page.text
    reply = fetch(flask_server, f"{prefix}/static/style.css")
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("text/css")
    assert reply.body == (FLASK_SAMPLE / "static" / "style.css").read_bytes()


def test_whitenoise_is_made_on_the_first_static_request_only(tmp_path: Path) -> None:
    from werkzeug.test import Client

    (tmp_path / "css").mkdir()
    (tmp_path / "css" / "site.css").write_text("body {}\n")

    def app(environ: dict[str, object], start_response: object) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])  # type: ignore[operator]
        return [b"from the app"]

    served = static_app(app, tmp_path, "/static/")
    client = Client(served)
    with client.get("/") as page:
        assert page.get_data() == b"from the app"
    assert served._served is None  # type: ignore[attr-defined]
    with client.get("/static/css/site.css") as css:
        assert (css.status_code, css.get_data()) == (200, b"body {}\n")
    assert served._served is not None  # type: ignore[attr-defined]
    with client.get("/static/missing.css") as missing:
        assert missing.get_data() == b"from the app"


def test_files_the_settings_write_at_build_time_are_left_out(tmp_path: Path) -> None:
    """Settings that make a log folder and a secret key beside the code when they can: the
    import check ran read-only, but collectstatic must write, so what it made besides the
    static files is removed from the build."""
    build = tmp_path / "build"
    write_settings(
        build,
        "INSTALLED_APPS = ['django.contrib.staticfiles']\n"
        "STATIC_ROOT = BASE_DIR / 'staticfiles'\n"
        "import os\n"
        "os.makedirs(BASE_DIR / 'logs', exist_ok=True)\n"
        "(BASE_DIR / 'logs' / 'django.log').write_text('started')\n"
        "(BASE_DIR / '.secret_key').write_text('generated')\n",
    )
    (build / "data").mkdir()
    (build / "data" / "shipped.txt").write_text("kept")
    lines: list[str] = []

    root = collect_static(build, build, "tinysite.settings", progress=lines.append)

    assert root == build / "staticfiles"
    assert (root / "site.css").is_file()
    assert (build / "data" / "shipped.txt").read_text() == "kept"
    assert not (build / "logs").exists()
    assert not (build / ".secret_key").exists()
    assert (
        "Left out what the settings wrote at build time, outside the static files: "
        ".secret_key, logs, logs/django.log"
    ) in lines


def test_storages_without_a_default_start_quietly(tmp_path: Path) -> None:
    """A project that configures only "staticfiles" (MDN's tutorial does) stores no files:
    serve starts without a traceback about the default storage, and statics still work."""
    site = copy_site(tmp_path / "site", static_url="static/", keep_static_root=True, manifest=False)
    settings = site / "mysite" / "settings.py"
    settings.write_text(
        settings.read_text(encoding="utf-8") + '\nSTORAGES = {"staticfiles": '
        '{"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}\n',
        encoding="utf-8",
    )
    collect_static(site, site, "mysite.settings")
    server = serve(site, "mysite.wsgi:application", tmp_path, {})
    try:
        reply = fetch(server, "/2016-08-15/proxy/svc/fn/static/admin/css/base.css")
        assert reply.status == 200
        log = server.stdout() + server.stderr()
    finally:
        server.kill()
    assert "Could not set up a file storage" not in log and "Traceback" not in log
