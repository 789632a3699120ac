"""Where the app runs today on a platform: Render, Railway, Fly.io, DigitalOcean App Platform.

Each platform's file is written into a fixture project here; the readers must carry the start
command, Python, environment (secrets and what the platform fills in by reference only),
memory, static folders and the steps left to the user, and name what they cannot carry. The
end-to-end test builds a Render project with ``fcmigrate migrate`` and serves the build.
"""

from __future__ import annotations

import functools
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from test_origins import HOST_PYTHON, _write

from fcmigrate.build import origins
from fcmigrate.build.origins import Origin, choose_origin, find_origins
from fcmigrate.errors import FCMigrateError


def _one(root: Path) -> Origin:
    chosen, _ = choose_origin(find_origins(root))
    assert chosen is not None
    return chosen


def _has(lines: list[str], *parts: str) -> bool:
    return any(all(part in line for part in parts) for line in lines)


def _at(root: Path, name: str, needle: str, nth: int = 0) -> str:
    """``name:line`` of the ``nth`` line of the written file that holds ``needle``."""
    lines = (root / name).read_text(encoding="utf-8").splitlines()
    return f"{name}:{[n for n, line in enumerate(lines, 1) if needle in line][nth]}"


# --- Render ------------------------------------------------------------------------------------

BUILD_SH = """
    #!/usr/bin/env bash
    set -o errexit
    pip install -r requirements.txt
    python manage.py collectstatic --no-input
    npm run build
    python manage.py migrate
"""


def test_render_blueprint(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "build.sh": BUILD_SH,
            "render.yaml": """
                envVarGroups:
                  - name: shared
                    envVars:
                      - key: LOG_LEVEL
                        value: info
                services:
                  - type: worker
                    name: queue
                    runtime: python
                    startCommand: celery -A shop worker
                  - type: web
                    name: frontend
                    runtime: node
                    startCommand: npm start
                  - type: web
                    name: shop
                    env: python
                    plan: standard
                    buildCommand: ./build.sh
                    preDeployCommand: python manage.py migrate --noinput
                    startCommand: gunicorn shop.wsgi --threads 4 --timeout 60
                    disk:
                      name: media
                      mountPath: /var/media
                    envVars:
                      - key: PYTHON_VERSION
                        value: 3.12.4
                      - key: WEB_CONCURRENCY
                        value: 3
                      - key: GREETING
                        value: hello
                      - key: STRIPE_SECRET_KEY
                        value: sk_live_not_for_config
                      - key: SECRET_KEY
                        generateValue: true
                      - key: DATABASE_URL
                        fromDatabase:
                          name: shopdb
                          property: connectionString
                      - key: REDIS_HOST
                        fromService:
                          type: keyvalue
                          name: cache
                          property: host
                      - key: SENTRY_TOKEN
                        sync: false
                      - fromGroup: shared
                      - fromGroup: elsewhere
            """,
        },
    )
    origin = _one(tmp_path)
    assert origin.source == "render"
    assert (origin.app, origin.python, origin.memory) == ("shop.wsgi", "3.12", 2048)
    assert (origin.timeout, origin.workers, origin.threads) == (60, 3, 4)
    env = {e.name: e for e in origin.env}
    # The values, and the names left for the deployer: never PYTHON_VERSION nor
    # WEB_CONCURRENCY, which became the target Python and the workers.
    assert set(env) == {
        "GREETING", "STRIPE_SECRET_KEY", "SECRET_KEY", "DATABASE_URL", "REDIS_HOST",
        "SENTRY_TOKEN", "LOG_LEVEL",
    }  # fmt: skip
    assert env["GREETING"].deploy_value() == "hello"
    assert env["LOG_LEVEL"].deploy_value() == "info"
    for name in ("STRIPE_SECRET_KEY", "SECRET_KEY", "DATABASE_URL", "REDIS_HOST", "SENTRY_TOKEN"):
        assert env[name].deploy_value() == f"${{env('{name}')}}", name
    at = functools.partial(_at, tmp_path, "render.yaml")
    build = f"run by {at('buildCommand')}"
    assert _has(origin.carried, f"the web service 'shop' ({at('- type: web', 1)})")
    assert _has(
        origin.carried, f"the app 'shop.wsgi', from the gunicorn command ({at('gunicorn')})"
    )
    assert _has(origin.carried, f"Python 3.12 from PYTHON_VERSION ({at('envVars:', 1)})")
    assert _has(origin.carried, "3 workers x 4 threads", "instance concurrency 12")
    assert _has(origin.carried, f"memory 2048 MB from plan standard ({at('plan:')})")
    assert _has(origin.carried, f"'pip install -r requirements.txt' (build.sh:3, {build})",
                "collectstatic --no-input' (build.sh:4", "migrate's build does itself")  # fmt: skip
    assert _has(origin.not_carried, f"'queue' ({at('- type: worker')})",
                f"'frontend' ({at('- type: web')})")  # fmt: skip
    assert _has(origin.not_carried, f"'SECRET_KEY' ({at('key: SECRET_KEY')})", "a random one")
    assert _has(origin.not_carried, "'DATABASE_URL'", "database 'shopdb' (connectionString)")
    assert _has(origin.not_carried, "'REDIS_HOST'", "keyvalue service 'cache' (host)")
    assert _has(origin.not_carried, "environment group 'elsewhere'", "--env NAME=VALUE")
    assert _has(origin.not_carried, f"disk ({at('disk:')})", "NAS")
    assert not _has(origin.not_carried, "SENTRY_TOKEN")  # named in the secrets line only
    assert _has(origin.steps, f"npm run build  (Render's build command, build.sh:5, {build})",
                "before `fcmigrate migrate`")  # fmt: skip
    assert _has(origin.steps, "python manage.py migrate  (Render's build command, build.sh:6",
                "against the production database")  # fmt: skip
    assert _has(origin.steps, "python manage.py migrate --noinput  (Render's pre-deploy "
                f"command, {at('preDeployCommand')})")  # fmt: skip
    assert not _has(origin.steps, "set -o errexit")


def test_render_asgi_start_command_leaves_the_app_to_detection(tmp_path: Path) -> None:
    # render-examples/django: its startCommand serves mysite.asgi with uvicorn's worker.
    _write(
        tmp_path,
        {
            "render.yaml": """
                services:
                  - type: web
                    name: mysite
                    runtime: python
                    startCommand: "python -m gunicorn mysite.asgi:application -k uvicorn.workers.UvicornWorker"
            """,  # noqa: E501
        },
    )
    [origin] = find_origins(tmp_path)
    assert origin.app is None
    assert _has(origin.not_carried, "ASGI worker", "(render.yaml:5)", "in the code instead")


def test_render_docker_service_reads_its_dockerfile(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "render.yaml": """
                services:
                  - type: web
                    name: api
                    runtime: docker
                    dockerfilePath: ./docker/web.Dockerfile
            """,
            "docker/web.Dockerfile": 'FROM python:3.11-slim\nCMD ["gunicorn", "api:app"]\n',
        },
    )
    origin = _one(tmp_path)
    assert (origin.app, origin.python) == ("api:app", "3.11")
    assert origin.read_with == [tmp_path / "docker/web.Dockerfile"]
    assert _has(origin.carried, "the start command of docker/web.Dockerfile", "render.yaml")


def test_render_without_a_python_web_service(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {"render.yaml": "services:\n  - type: web\n    runtime: node\n    name: site\n"},
    )
    [origin] = find_origins(tmp_path)
    assert origin.app is None
    assert _has(origin.not_carried, "none is a Python web service")


# --- Railway -----------------------------------------------------------------------------------


def test_railway_json(tmp_path: Path) -> None:
    # railwayapp-templates/django: the steps before the server in the start command.
    _write(
        tmp_path,
        {
            "railway.json": """
                {
                  "$schema": "https://railway.com/railway.schema.json",
                  "build": {"builder": "RAILPACK", "buildCommand": "npm run build"},
                  "deploy": {
                    "startCommand": "python manage.py migrate && python manage.py collectstatic --noinput && gunicorn mysite.wsgi",
                    "preDeployCommand": ["flask db upgrade", "python seed.py"],
                    "cronSchedule": "0 * * * *"
                  }
                }
            """,  # noqa: E501
        },
    )
    origin = _one(tmp_path)
    assert (origin.source, origin.app, origin.env) == ("railway", "mysite.wsgi", [])
    at = functools.partial(_at, tmp_path, "railway.json")
    assert _has(origin.carried, f"the app 'mysite.wsgi', from the gunicorn command ({at('start')})")
    assert _has(origin.carried, f"collectstatic --noinput' ({at('start')})", "does itself")
    assert origin.steps[0] == f"python manage.py migrate  (run before the server, {at('start')})"
    assert _has(origin.steps, f"npm run build  (Railway's build command, {at('buildCommand')})")
    assert _has(origin.steps, f"flask db upgrade  (Railway's pre-deploy command, {at('preDe')})")
    assert _has(origin.steps, "python seed.py  (Railway's pre-deploy command")
    assert _has(origin.not_carried, f"cronSchedule '0 * * * *' ({at('cron')})", "timer trigger")
    assert _has(origin.not_carried, "Railway keeps a service's variables in its dashboard")


def test_railway_toml_without_a_start_command_reads_the_procfile(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "railway.toml": """
                [deploy]
                preDeployCommand = "python manage.py migrate"
            """,
            "Procfile": "web: gunicorn shop.wsgi -w 2\nworker: celery -A shop worker\n",
        },
    )
    found = find_origins(tmp_path)
    assert [o.source for o in found] == ["railway", "procfile"]
    origin, note = choose_origin(found)
    assert origin is found[0] and note is None  # the Procfile was read with it
    assert (origin.app, origin.workers) == ("shop.wsgi", 2)
    assert _has(origin.carried, "the start command of Procfile, which the platform runs "
                "(railway.toml names none)")  # fmt: skip
    assert _has(origin.carried, "from the gunicorn command (Procfile:1)")
    assert _has(origin.not_carried, "'worker' process (Procfile:2)")
    assert _has(origin.steps, "python manage.py migrate  (Railway's pre-deploy command, "
                f"{_at(tmp_path, 'railway.toml', 'preDeployCommand')})")  # fmt: skip


# --- Fly.io ------------------------------------------------------------------------------------


def test_fly_toml(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "fly.toml": """
                app = "shop"
                primary_region = "ams"

                [build]
                  dockerfile = "deploy/Dockerfile"

                [deploy]
                  release_command = "python manage.py migrate --noinput"

                [env]
                  PORT = "8000"
                  GREETING = "hello"
                  DATABASE_URL = "postgres://shop:hunter2@db.internal/shop"

                [processes]
                  web = "gunicorn shop.wsgi --workers 3"
                  worker = "celery -A shop worker"

                [http_service]
                  internal_port = 8000
                  processes = ["web"]

                [[statics]]
                  guest_path = "/srv/shop/public"
                  url_prefix = "/assets/"

                [[statics]]
                  guest_path = "/var/www/media"
                  url_prefix = "/media/"

                [[mounts]]
                  source = "data"
                  destination = "/data"

                [[vm]]
                  processes = ["worker"]
                  memory = "256mb"

                [[vm]]
                  memory = "1gb"
            """,
            "deploy/Dockerfile": "FROM python:3.12-slim\nWORKDIR /srv/shop\nCOPY . .\n",
            "public/site.css": "body {}\n",
        },
    )
    origin = _one(tmp_path)
    assert (origin.source, origin.app, origin.workers) == ("fly", "shop.wsgi", 3)
    assert origin.memory == 1024
    assert {e.name: e.deploy_value() for e in origin.env} == {
        "GREETING": "hello",
        "DATABASE_URL": "${env('DATABASE_URL')}",  # a password in the URL
    }
    assert origin.static == [("/assets", "public")]
    at = functools.partial(_at, tmp_path, "fly.toml")
    assert _has(origin.carried, f"the app 'shop.wsgi', from the gunicorn command ({at('web =')})")
    assert _has(origin.carried, f"2 environment variables ({at('[env]')})")
    assert _has(origin.carried, f"static files /assets/ from public/ ({at('[[statics]]')})")
    assert _has(origin.carried, f"memory 1024 MB ({at('[[vm]]', 1)})")
    assert _has(origin.not_carried, f"'worker' process ({at('worker =')})")
    assert _has(origin.not_carried, f"/media/ from '/var/www/media' ({at('[[statics]]', 1)})",
                "not inside")  # fmt: skip
    assert _has(origin.not_carried, f"mounts ({at('[[mounts]]')})", "NAS")
    assert _has(origin.not_carried, "fly secrets list")
    assert origin.steps == [
        f"python manage.py migrate --noinput  (Fly's release command, {at('release')}): run it "
        "against the production database before deploying, from your machine or a one-off FC "
        "invocation"
    ]


def test_fly_toml_without_processes_runs_the_dockerfile(tmp_path: Path) -> None:
    # fly-apps/hello-django: the image's CMD, Python from an ARG, statics under WORKDIR.
    _write(
        tmp_path,
        {
            "fly.toml": """
                app = "hello-django"
                [env]
                  PORT = "8000"
                [[statics]]
                  guest_path = "/code/static"
                  url_prefix = "/static/"
                [[statics]]
                  guest_path = "/code/media"
                  url_prefix = "/media/"
            """,
            "Dockerfile": """
                ARG PYTHON_VERSION=3.10-slim-bullseye
                FROM python:${PYTHON_VERSION}
                ENV PYTHONUNBUFFERED 1
                ENV APP_MODE production
                WORKDIR /code
                COPY . /code
                CMD ["gunicorn", "--bind", ":8000", "--workers", "2", "hello_django.wsgi"]
            """,
            "media/logo.png": "png\n",
        },
    )
    found = find_origins(tmp_path)
    origin, note = choose_origin(found)
    assert origin is found[0] and note is None
    assert (origin.app, origin.python, origin.workers) == ("hello_django.wsgi", "3.10", 2)
    assert [(e.name, e.value) for e in origin.env] == [("APP_MODE", "production")]
    assert origin.static == [("/media", "media")]
    assert _has(origin.carried, "the start command of Dockerfile", "(fly.toml names none)")
    assert _has(origin.carried, "Python 3.10 (Dockerfile:2)")
    statics = _at(tmp_path, "fly.toml", "[[statics]]")
    assert _has(origin.not_carried, f"/static/ from '/code/static' ({statics})",
                "static/ is not in the project", "collectstatic")  # fmt: skip


# --- DigitalOcean App Platform -----------------------------------------------------------------

DO_SPEC = """
    name: shop
    envs:
      - key: LOG_LEVEL
        value: info
    services:
      - name: docs
        environment_slug: node-js
        run_command: npm start
      - name: web
        environment_slug: python
        instance_size_slug: apps-s-1vcpu-0.5gb
        build_command: pip install -r requirements.txt && npm run build
        run_command: gunicorn --worker-tmp-dir /dev/shm shop.wsgi
        envs:
          - key: DISABLE_COLLECTSTATIC
            value: "1"
            scope: BUILD_TIME
          - key: DATABASE_URL
            value: ${db.DATABASE_URL}
          - key: DJANGO_ALLOWED_HOSTS
            value: ${APP_DOMAIN}
          - key: MAILGUN_KEY
            type: SECRET
            value: EV[1:abc:def]
          - key: GREETING
            value: hello
    workers:
      - name: queue
        run_command: celery -A shop worker
    jobs:
      - name: migrate
        kind: PRE_DEPLOY
        run_command: python manage.py migrate
    static_sites:
      - name: static
        output_dir: staticfiles
    databases:
      - name: db
        engine: PG
"""


def test_digitalocean_app_spec(tmp_path: Path) -> None:
    _write(tmp_path, {".do/app.yaml": DO_SPEC})
    origin = _one(tmp_path)
    assert (origin.source, origin.name, origin.app, origin.memory) == (
        "digitalocean",
        ".do/app.yaml",
        "shop.wsgi",
        512,
    )
    assert {e.name: e.deploy_value() for e in origin.env} == {
        "LOG_LEVEL": "info",
        "GREETING": "hello",
        "DATABASE_URL": "${env('DATABASE_URL')}",
        "MAILGUN_KEY": "${env('MAILGUN_KEY')}",  # never the encrypted value
    }
    assert origin.placeholders == {"DJANGO_ALLOWED_HOSTS": "${APP_DOMAIN}"}
    at = functools.partial(_at, tmp_path, ".do/app.yaml")
    assert _has(origin.carried, f"the service 'web' ({at('- name: web')})")
    assert _has(origin.carried, f"from the gunicorn command ({at('gunicorn')})")
    assert _has(origin.carried, f"memory 512 MB from apps-s-1vcpu-0.5gb ({at('instance_size')})")
    assert _has(origin.carried, f"'pip install -r requirements.txt' ({at('build_command')})")
    assert _has(origin.not_carried, f"'docs' ({at('- name: docs')})",
                f"'queue' ({at('- name: queue')})")  # fmt: skip
    assert not _has(origin.not_carried, "'migrate' (")  # a pre-deploy job is a step
    assert _has(origin.not_carried, f"'DATABASE_URL' ({at('key: DATABASE_URL')})",
                "component 'db'")  # fmt: skip
    assert _has(origin.not_carried, f"'DJANGO_ALLOWED_HOSTS' ({at('key: DJANGO_ALLOWED')})",
                "left out", "--env DJANGO_ALLOWED_HOSTS=VALUE")  # fmt: skip
    assert _has(origin.not_carried, f"static site 'static' ({at('- name: static')})")
    assert _has(origin.not_carried, f"database 'db' ({at('- name: db')})")
    assert _has(origin.steps, f"npm run build  (DigitalOcean's build command, {at('build_co')})")
    assert _has(origin.steps, "python manage.py migrate  (the pre-deploy job 'migrate', "
                f"{at('- name: migrate')})")  # fmt: skip


def test_digitalocean_deploy_template_with_the_procfile(tmp_path: Path) -> None:
    # digitalocean/sample-flask: the spec under spec:, and no run_command: the buildpack
    # runs the Procfile.
    _write(
        tmp_path,
        {
            ".do/deploy.template.yaml": """
                spec:
                  name: sample-flask
                  services:
                    - name: web
                      git:
                        branch: main
            """,
            "Procfile": "web: gunicorn --config gunicorn_config.py app:app\n",
        },
    )
    origin = _one(tmp_path)
    assert (origin.name, origin.app) == (".do/deploy.template.yaml", "app:app")
    assert _has(origin.carried, "the start command of Procfile")


@pytest.mark.parametrize(
    ("text", "source"),
    [
        ("services:\n  - name: web\n    run_command: gunicorn shop:app\n", "digitalocean"),
        ("services:\n  - name: web\n    environment_slug: python\n", "digitalocean"),
        ("runtime: python312\nentrypoint: gunicorn -b :$PORT shop:app\n", "appengine"),
        ("runtime: python312\nservices:\n  - run_command: x\n", "appengine"),
    ],
    ids=["do-run-command", "do-environment-slug", "app-engine", "runtime-means-app-engine"],
)
def test_a_root_app_yaml_is_read_as_the_platform_it_is_for(
    tmp_path: Path, text: str, source: str
) -> None:
    _write(tmp_path, {"app.yaml": text})
    [origin] = find_origins(tmp_path)
    assert (origin.source, origin.name) == (source, "app.yaml")


# --- which file wins, and bad files ------------------------------------------------------------


def test_a_platform_file_wins_over_the_procfile(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "render.yaml": "services:\n  - type: web\n    runtime: python\n"
            "    startCommand: gunicorn a:app\n",
            "Procfile": "web: gunicorn b:app\n",
            "Dockerfile": 'CMD ["gunicorn", "c:app"]\n',
        },
    )
    found = find_origins(tmp_path)
    assert [o.source for o in found] == ["render", "procfile", "dockerfile"]
    chosen, note = choose_origin(found)
    assert chosen is not None and chosen.app == "a:app"
    assert note == (
        "Read render.yaml for how the app runs today; also found Procfile, Dockerfile (pick "
        "one with --from)."
    )
    chosen, _ = choose_origin(found, "procfile")
    assert chosen is not None and chosen.app == "b:app"
    with pytest.raises(FCMigrateError, match=r"--from fly names fly.toml, which is not in"):
        choose_origin(found, "fly")


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("render.yaml", "services: [\n", r"^render.yaml is not valid YAML at line \d+\. "),
        (".do/app.yaml", "services:\n  - name: [x\n", r"^app.yaml is not valid YAML at line"),
        ("railway.json", '{"deploy": ', r"^Cannot read railway.json: Expecting value"),
        ("railway.toml", "[deploy\n", r"railway.toml' is not valid TOML: .*line 1"),
        ("fly.toml", 'app = "x"\n[env]\nA = \n', r"fly.toml' is not valid TOML: .*line 3"),
        ("render.yaml", "- just a list\n", r"^render.yaml holds no mapping"),
    ],
    ids=["render", "digitalocean", "railway-json", "railway-toml", "fly", "render-list"],
)
def test_broken_platform_files_are_one_line(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    _write(tmp_path, {name: text})
    with pytest.raises(FCMigrateError, match=message) as raised:
        find_origins(tmp_path)
    assert "\n" not in str(raised.value)


def test_a_broken_platform_file_stops_migrate_with_one_line(tmp_path: Path) -> None:
    _write(tmp_path, {"fly.toml": "[env\n", "app.py": "app = None\n"})
    result = subprocess.run(
        [sys.executable, "-m", "fcmigrate", "migrate", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("Error: ") and "fly.toml' is not valid TOML" in line


def test_origin_names_and_files_agree() -> None:
    assert set(origins.ORIGIN_NAMES) == set(origins._FILES)
    assert origins.ORIGIN_NAMES.index("render") < origins.ORIGIN_NAMES.index("procfile")
    assert origins.ORIGIN_NAMES.index("digitalocean") < origins.ORIGIN_NAMES.index("dockerfile")


# --- end to end --------------------------------------------------------------------------------

RENDER_APP = """
    import os
    from flask import Flask

    app = Flask(__name__)

    @app.get("/")
    def home():
        return f"{os.environ.get('GREETING', '-')} {len(os.environ.get('SECRET_KEY', ''))}"
"""


@pytest.mark.slow
def test_render_project_end_to_end(tmp_path: Path, start_server: Any) -> None:
    project = _write(
        tmp_path / "render",
        {
            "app.py": RENDER_APP,
            "requirements.txt": "flask\n",
            "render.yaml": """
                services:
                  - type: web
                    name: shop
                    runtime: python
                    buildCommand: pip install -r requirements.txt
                    preDeployCommand: flask db upgrade
                    startCommand: gunicorn app:app --workers 2 --threads 3
                    envVars:
                      - key: GREETING
                        value: hello
                      - key: API_KEY
                        value: do-not-ship-me
                      - key: SECRET_KEY
                        generateValue: true
            """,
        },
    )
    result = subprocess.run(
        [sys.executable, "-m", "fcmigrate", "migrate", str(project), "--python", HOST_PYTHON],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    out = result.stdout
    assert "From render.yaml (how the app runs today):" in out
    at = functools.partial(_at, project, "render.yaml")
    assert f"carried   the app 'app:app', from the gunicorn command ({at('gunicorn')})" in out
    assert f"you run   flask db upgrade  (Render's pre-deploy command, {at('preDe')})" in out
    assert f"not       the value of 'SECRET_KEY' ({at('key: SECRET_KEY')})" in out
    assert "secrets   API_KEY, SECRET_KEY: written as ${env('NAME')}" in out
    build = project / ".fcmigrate" / "build"
    config = (build / "s.yaml").read_text()
    assert "do-not-ship-me" not in config
    assert "API_KEY: \"${env('API_KEY')}\"" in config
    assert "SECRET_KEY: \"${env('SECRET_KEY')}\"" in config
    assert 'GREETING: "hello"' in config
    assert "instanceConcurrency: 6" in config  # 2 workers x 3 threads

    server = start_server(["./bootstrap"], cwd=build, env={"GREETING": "hi", "SECRET_KEY": "k" * 9})
    with urllib.request.urlopen(server.url + "/2016-08-15/proxy/s/f/", timeout=30) as resp:
        assert resp.read() == b"hi 9"
