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
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
"""

#: Django settings with nothing to report but STATIC_ROOT left unset.
DJANGO_SETTINGS = """\
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
