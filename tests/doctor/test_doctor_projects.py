"""``fcmigrate doctor`` on projects shaped like real ones: no false alarms, nothing missed.

Each test writes a small project in ``tmp_path`` with :func:`write`; the files say only what
the case needs.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from fcmigrate.doctor import diagnose, render_text

BOOTSTRAP = """\
#!/bin/bash
set -e
cd "$(dirname "$0")"
exec python3 -m fcmigrate serve {spec} "$@"
"""

S_YAML = """\
edition: 3.0.0
name: shop
access: default
resources:
  shop:
    component: fc3
    props:
      region: cn-hangzhou
      functionName: shop
      runtime: custom.debian10
      code: ./
      timeout: 60
      customRuntimeConfig:
        command: [/code/bootstrap]
        port: 9000
      environmentVariables:
        PLACEHOLDER: "1"
      triggers:
        - triggerName: http
          triggerType: http
          triggerConfig:
            authType: anonymous
            methods: [GET, POST, PUT, DELETE, PATCH, HEAD, OPTIONS]
  domain:
    component: fc3-domain
    props:
      region: cn-hangzhou
      domainName: auto
      protocol: HTTP
      routeConfig:
        routes:
          - path: /*
            functionName: shop
"""

MANAGE_PY = """\
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
"""

#: Django settings with nothing to report but STATIC_ROOT left unset.
DJANGO_SETTINGS = """\
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]
DEBUG = False
ALLOWED_HOSTS = [".fcapp.run"]
CSRF_TRUSTED_ORIGINS = ["https://*.fcapp.run"]
INSTALLED_APPS = ["django.contrib.staticfiles"]
MIDDLEWARE = ["django.middleware.csrf.CsrfViewMiddleware"]
DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "shop"}}
STATIC_URL = "static/"
"""


def write(root: Path, files: dict[str, str]) -> Path:
    """Write ``files`` (path -> text, dedented) under ``root``; a bootstrap gets mode 755."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        if path.name == "bootstrap":
            path.chmod(0o755)
    return root


def set_env(root: Path, name: str, value: str) -> None:
    s_yaml = root / "s.yaml"
    s_yaml.write_text(s_yaml.read_text().replace('PLACEHOLDER: "1"', f"{name}: {value}"))


@pytest.fixture(autouse=True)
def _hermetic_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DJANGO_SECRET_KEY", "SECRET_KEY", "DEBUG", "DJANGO_DEBUG"):
        monkeypatch.delenv(name, raising=False)


def ids(root: Path) -> list[str]:
    return [f.id for f in diagnose(root).findings]


# --- 1. static files a migrate build serves --------------------------------------------------


WSGI_PY = """\
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
application = get_wsgi_application()
"""


def django_project(root: Path, settings: str = DJANGO_SETTINGS) -> Path:
    """A Django project wrapped for FC; its key is set at deploy time."""
    write(
        root,
        {
            "manage.py": MANAGE_PY,
            "shop/__init__.py": "",
            "shop/settings.py": settings,
            "shop/wsgi.py": WSGI_PY,
            "bootstrap": BOOTSTRAP.format(spec="shop.wsgi:application"),
            "s.yaml": S_YAML,
        },
    )
    set_env(root, "DJANGO_SECRET_KEY", "${env('DJANGO_SECRET_KEY')}")
    return root


def test_a_migrate_build_with_collected_statics_has_no_static_root_finding(
    tmp_path: Path,
) -> None:
    build = django_project(tmp_path / "build")
    write(
        build,
        {
            "python/fcmigrate/__init__.py": "",
            "python/whitenoise/__init__.py": "",
            "fcmigrate-static/admin/css/base.css": "body { margin: 0 }\n",
        },
    )

    report = diagnose(build)

    assert report.findings == [], render_text(report)
    assert report.notes == []


def test_static_root_is_a_note_when_the_config_runs_fcmigrate_serve(tmp_path: Path) -> None:
    root = django_project(tmp_path / "shop")

    report = diagnose(root)

    assert report.findings == [], render_text(report)
    assert any("'fcmigrate migrate' collects the static files" in n for n in report.notes)


def test_static_root_is_reported_when_nothing_collects_the_statics(tmp_path: Path) -> None:
    root = django_project(tmp_path / "shop")
    write(root, {"bootstrap": "#!/bin/bash\nexec gunicorn -b 0.0.0.0:9000 -t 0 shop.wsgi\n"})
    assert ids(root) == ["FC211"]


# --- 4. a Procfile beside a deploy config ------------------------------------------------------


def test_a_procfile_dev_server_is_silent_when_the_config_runs_the_bootstrap(
    tmp_path: Path,
) -> None:
    root = write(
        tmp_path / "shop",
        {
            "app.py": "def app(environ, start_response):\n    return []\n",
            "bootstrap": BOOTSTRAP.format(spec="app:app"),
            "Procfile": "web: flask run --host 0.0.0.0\nworker: python app.py\n",
        },
    )
    assert ids(root) == ["FC101"]  # without a deploy config the Procfile may be what runs

    write(root, {"s.yaml": S_YAML})

    assert ids(root) == []


# --- 5. one finding per problem ------------------------------------------------------------------


def test_one_finding_per_place_when_two_specs_import_the_same_app(tmp_path: Path) -> None:
    root = write(
        tmp_path / "shop",
        {
            "app.py": """\
                from flask import Flask

                app = Flask(__name__)
                app.config["SECRET_KEY"] = "a-key-typed-into-the-code-by-hand"
                application = app
            """,
            "bootstrap": BOOTSTRAP.format(spec="app:app"),
            "Dockerfile": 'CMD ["gunicorn", "-b", "0.0.0.0:9000", "-t", "0", "app:application"]\n',
        },
    )

    findings = diagnose(root).findings

    assert [(f.id, f.file, f.line) for f in findings] == [("FC202", "app.py", 4)]


# --- 2. dependencies listed but not installed here -------------------------------------------

#: A requirement no machine has installed: the project lists it, FC would get it from migrate.
DEP = "fcmigrate_doctor_listed_dep"
REQUIREMENTS = {"requirements.txt": "Django>=4.2\nfcmigrate-doctor-listed-dep==1.0\n"}


def test_a_listed_dependency_missing_here_is_a_note_not_an_error(tmp_path: Path) -> None:
    root = django_project(tmp_path / "shop", f"import {DEP}\n" + DJANGO_SETTINGS)
    assert ids(root) == ["FC200"]  # not listed: FC would miss it too

    write(root, REQUIREMENTS)
    report = diagnose(root)

    assert report.findings == [], render_text(report)
    [note] = [n for n in report.notes if DEP in n]
    assert "Install the requirements" in note
    assert "'fcmigrate migrate'" in note


def test_imports_use_the_migrate_builds_packages_when_this_python_lacks_them(
    tmp_path: Path,
) -> None:
    settings = DJANGO_SETTINGS.replace(
        'ALLOWED_HOSTS = [".fcapp.run"]', f"from {DEP} import ALLOWED_HOSTS"
    )
    root = django_project(tmp_path / "shop", settings)
    write(root, REQUIREMENTS)
    assert ids(root) == []  # ALLOWED_HOSTS is not knowable without the import

    packages = root / ".fcmigrate" / "build" / "python"
    write(
        packages,
        {
            "fcmigrate/__init__.py": "",
            f"{DEP}/__init__.py": 'ALLOWED_HOSTS = ["localhost"]\n',
        },
    )
    report = diagnose(root)

    assert [f.id for f in report.findings] == ["FC204"], render_text(report)
    assert "'localhost'" in report.findings[0].message
    assert not any(DEP in n for n in report.notes)


# --- 6. DEBUG on through an environment default ------------------------------------------------

DEBUG_DEFAULTS = {
    "environ_get": 'import os\nDEBUG = os.environ.get("DEBUG", "True") == "True"\n',
    "getenv": 'import os\nDEBUG = os.getenv("DEBUG", "1") == "1"\n',
    "getenv_lower": (
        'from os import getenv\nDEBUG = getenv("DEBUG", "true").lower() in ("1", "true")\n'
    ),
    "django_environ": (
        'import environ\nenv = environ.Env()\nDEBUG = env.bool("DEBUG", default=True)\n'
    ),
    "decouple": 'from decouple import config\nDEBUG = config("DEBUG", default=True, cast=bool)\n',
}


def _debug_project(root: Path, debug: str) -> Path:
    """Settings that set DEBUG last and cannot be imported here (a listed package is missing)."""
    settings = f"import {DEP}\n" + DJANGO_SETTINGS.replace("DEBUG = False\n", "") + debug
    project = django_project(root, settings)
    write(project, {"requirements.txt": REQUIREMENTS["requirements.txt"] + "environ\ndecouple\n"})
    return project


@pytest.mark.parametrize("debug", DEBUG_DEFAULTS.values(), ids=list(DEBUG_DEFAULTS))
def test_debug_on_by_an_environment_default_is_found_in_the_source(
    tmp_path: Path, debug: str
) -> None:
    root = _debug_project(tmp_path / "shop", debug)

    findings = diagnose(root).findings

    assert [(f.id, f.file) for f in findings] == [("FC201", "shop/settings.py")]
    assert findings[0].line == len((root / "shop/settings.py").read_text().splitlines())
    assert "s.yaml does not set DEBUG" in findings[0].message


@pytest.mark.parametrize("debug", DEBUG_DEFAULTS.values(), ids=list(DEBUG_DEFAULTS))
def test_debug_default_is_fine_once_the_config_turns_it_off(tmp_path: Path, debug: str) -> None:
    root = _debug_project(tmp_path / "shop", debug)
    s_yaml = root / "s.yaml"
    s_yaml.write_text(s_yaml.read_text().replace("DJANGO_SECRET_KEY:", 'DEBUG: "0"\n        X:'))
    s_yaml.write_text(s_yaml.read_text().replace("        X:", "        DJANGO_SECRET_KEY:"))

    assert ids(root) == []


DEBUG_OFF = {
    "string_false": 'import os\nDEBUG = os.environ.get("DEBUG", "False") == "True"\n',
    "no_default": 'import os\nDEBUG = os.environ.get("DJANGO_DEBUG") == "1"\n',
    "bool_of_unset": 'import os\nDEBUG = bool(os.getenv("DEBUG"))\n',
    "default_false": 'import os\nDEBUG = os.environ.get("DEBUG", False)\n',
    "presence": 'import os\nDEBUG = "DEBUG" in os.environ\n',
    "required": 'import environ\nenv = environ.Env()\nDEBUG = env.bool("DEBUG")\n',
    "decouple_off": (
        'from decouple import config\nDEBUG = config("DEBUG", default="no", cast=bool)\n'
    ),
}


@pytest.mark.parametrize("debug", DEBUG_OFF.values(), ids=list(DEBUG_OFF))
def test_debug_off_or_unknown_is_not_reported(tmp_path: Path, debug: str) -> None:
    assert ids(_debug_project(tmp_path / "shop", debug)) == []


# --- 7. what the source says, when the import fails ----------------------------------------------

FALLBACK_KEY = "dev-secret-for-laptops"


def test_django_settings_that_do_not_import_are_read_from_the_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = (
        DJANGO_SETTINGS.replace(
            'SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]',
            f'SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "{FALLBACK_KEY}")',
        )
        .replace("DEBUG = False", "DEBUG = True")
        .replace(
            '{"ENGINE": "django.db.backends.postgresql", "NAME": "shop"}',
            '{"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3"}',
        )
        + 'raise RuntimeError("REDIS_URL is not set")\n'
    )
    root = django_project(tmp_path / "shop", settings)
    s_yaml = root / "s.yaml"
    s_yaml.write_text(s_yaml.read_text().replace("DJANGO_SECRET_KEY:", "UNRELATED:"))

    report = diagnose(root)

    assert sorted((f.id, f.line) for f in report.findings) == [
        ("FC200", 13),
        ("FC201", 6),
        ("FC203", 5),
        ("FC206", 11),
    ], render_text(report)
    fallback = next(f for f in report.findings if f.id == "FC203")
    assert "'de" in fallback.message and "DJANGO_SECRET_KEY" in fallback.message
    assert "/code/db.sqlite3" in next(f.message for f in report.findings if f.id == "FC206")
    from fcmigrate.cli import main

    for args in ([str(root)], [str(root), "--json"]):
        with pytest.raises(SystemExit):
            main(["doctor", *args])
        assert FALLBACK_KEY not in capsys.readouterr().out


def test_settings_module_is_found_from_wsgi_py_without_manage_py(tmp_path: Path) -> None:
    root = _debug_project(tmp_path / "shop", "DEBUG = True\n")
    (root / "manage.py").unlink()

    assert ids(root) == ["FC201"]


def test_a_flask_app_that_does_not_import_is_read_from_the_source(tmp_path: Path) -> None:
    root = write(
        tmp_path / "shop",
        {
            "requirements.txt": "flask\nfcmigrate-doctor-listed-dep\n",
            "app.py": f"""\
                import os

                import {DEP}
                from flask import Flask

                app = Flask(__name__, instance_relative_config=True)
                app.config["SECRET_KEY"] = os.environ.get("SECRET_KEY", "{FALLBACK_KEY}")
                app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///shop.db"
                app.config.from_object("config.Production")
            """,
            "config.py": """\
                class Production:
                    SECRET_KEY = "typed-by-hand-and-committed"
            """,
            "instance/config.py": 'SECRET_KEY = "kept-out-of-version-control"\n',
            "bootstrap": BOOTSTRAP.format(spec="app:app"),
            "s.yaml": S_YAML,
        },
    )

    report = diagnose(root)

    assert sorted((f.id, f.file, f.line) for f in report.findings) == [
        ("FC202", "config.py", 2),
        ("FC203", "app.py", 7),
        ("FC206", "app.py", 8),
    ], render_text(report)
    sqlite = next(f for f in report.findings if f.id == "FC206")
    assert "/code/instance/shop.db" in sqlite.message
    assert any(DEP in n for n in report.notes)
    assert "typed-by-hand" not in render_text(report)


# --- 8. root-relative URLs in pages and scripts ------------------------------------------------


def test_root_relative_urls_in_templates_and_scripts_are_one_finding(tmp_path: Path) -> None:
    root = write(
        tmp_path / "shop",
        {
            "app.py": "def app(environ, start_response):\n    return []\n",
            "bootstrap": BOOTSTRAP.format(spec="app:app"),
            "shop/templates/shop/base.html": """\
                <link rel="stylesheet" href="{{ url_for('static', filename='site.css') }}">
                <script src="//cdn.example.com/lib.js"></script>
                <a href="https://example.com/about">About</a>
                <a href="{% url 'home' %}">Home</a>
                <form action="/search" method="get"></form>
                <img src='/static/logo.png'>
            """,
            "shop/static/shop/app.js": """\
                // Loads the items.
                fetch("/api/items").then((r) => r.json());
                const name = path.replace("/", "-");
                window.location.href = "/login";
            """,
            "shop/static/shop/vendor.min.js": 'fetch("/api/minified")\n',
            "node_modules/lib/page.html": '<a href="/elsewhere">x</a>\n',
            "staticfiles/admin/index.html": '<a href="/admin/">x</a>\n',
        },
    )

    findings = diagnose(root).findings

    assert [(f.id, f.severity, f.file, f.line) for f in findings] == [
        ("FC307", "warning", "shop/static/shop/app.js", 2)
    ]
    assert findings[0].message == (
        "Root-relative URLs written in pages and scripts (4 in 2 files): "
        'shop/static/shop/app.js:2 fetch("/api/items", '
        'shop/static/shop/app.js:4 location.href = "/login", '
        'shop/templates/shop/base.html:5 action="/search" and 1 more.'
    )
    assert "url_for" in findings[0].fix and "{% static" in findings[0].fix


def test_a_form_posting_back_to_request_path_is_found(tmp_path: Path) -> None:
    # sayhello: render_form(form, action=request.full_path) posts to the domain's root.
    root = write(
        tmp_path / "guestbook",
        {
            "app.py": "def app(environ, start_response):\n    return []\n",
            "bootstrap": BOOTSTRAP.format(spec="app:app"),
            "templates/index.html": """\
                {{ render_form(form, action=request.full_path) }}
                <form method="post" action="{{ request.path }}"></form>
                {% if request.path == url_for('about') %}active{% endif %}
                <form action="{{ request.script_root }}{{ request.full_path }}"></form>
            """,
        },
    )
    [finding] = diagnose(root).findings
    assert finding.id == "FC307"
    assert finding.message == (
        "Root-relative URLs written in pages and scripts (2 in 1 file): "
        "templates/index.html:1 action=request.full_path, "
        'templates/index.html:2 action="{{ request.path.'
    )
    assert "request.script_root" in finding.fix


def test_templates_with_only_built_and_full_urls_are_fine(tmp_path: Path) -> None:
    root = write(
        tmp_path / "shop",
        {
            "app.py": "def app(environ, start_response):\n    return []\n",
            "bootstrap": BOOTSTRAP.format(spec="app:app"),
            "templates/page.html": """\
                <a href="{{ url_for('login') }}">Log in</a>
                <a href="login">Relative</a>
                <script src="//cdn.example.com/x.js"></script>
                <a href="http://example.com/">x</a> <a href="#top">Top</a>
            """,
        },
    )
    assert ids(root) == []


def test_flask_config_classes_for_tests_and_development_are_left_alone(tmp_path: Path) -> None:
    root = write(
        tmp_path / "shop",
        {
            "requirements.txt": "flask\nfcmigrate-doctor-listed-dep\n",
            "app.py": f"""\
                import {DEP}
                from flask import Flask

                app = Flask(__name__)
                app.config.from_object("config.ProductionConfig")
            """,
            "config.py": """\
                import os


                class ProductionConfig:
                    SECRET_KEY = os.environ["SECRET_KEY"]


                class DevelopmentConfig:
                    SECRET_KEY = "dev-key-for-the-laptop"
                    SQLALCHEMY_DATABASE_URI = "sqlite:///dev.db"


                class TestingConfig:
                    SECRET_KEY = "test-key"
                    SQLALCHEMY_DATABASE_URI = "sqlite:///test.db"
            """,
            "local_settings.py": 'SECRET_KEY = "only-on-my-machine"\n',
            "bootstrap": BOOTSTRAP.format(spec="app:app"),
        },
    )
    assert ids(root) == []


def test_django_settings_are_read_through_their_star_imports(tmp_path: Path) -> None:
    base = f"import {DEP}\n" + DJANGO_SETTINGS.replace("DEBUG = False", "DEBUG = True")
    root = django_project(tmp_path / "shop", "")
    (root / "shop" / "settings.py").unlink()
    write(
        root,
        {
            "requirements.txt": REQUIREMENTS["requirements.txt"],
            "shop/settings/__init__.py": "",
            "shop/settings/base.py": base,
            "shop/settings/production.py": "from .base import *  # noqa: F403\n",
            "shop/settings/dev.py": 'from .base import *  # noqa: F403\nSECRET_KEY = "dev"\n',
        },
    )
    for path in ("manage.py", "shop/wsgi.py"):
        text = (root / path).read_text()
        (root / path).write_text(text.replace('"shop.settings"', '"shop.settings.production"'))
    assert [(f.id, f.file) for f in diagnose(root).findings] == [("FC201", "shop/settings/base.py")]

    production = root / "shop" / "settings" / "production.py"
    production.write_text(production.read_text() + "DEBUG = False\n")
    assert ids(root) == []
