"""Where the app runs today: Procfile, App Engine, Zappa, Serverless Framework, Dockerfile.

Each source is a fixture project written here; the readers must carry the app spec, Python,
environment (secrets by reference only), memory, timeout and schedules, and say what they
cannot carry. The end-to-end tests build with ``fcmigrate migrate``, serve the build, and fire
each timer event as FC would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from helpers import free_port, wait_for_port
from test_configs import _fun_validate
from test_configs import fun as fun_cli  # noqa: F401 - the fixture, under this name

from fcmigrate.build import origins, wrap
from fcmigrate.build.origins import aws_schedule, find_origins, gae_schedule, parse_command
from fcmigrate.errors import FCMigrateError

SCHEMAS = Path(__file__).parent / "schemas"


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return root


# --- start commands ---------------------------------------------------------------------------

COMMANDS = [
    ("gunicorn", "gunicorn shop.wsgi:application", "shop.wsgi:application", None, None, None),
    (
        "gunicorn-options",
        "gunicorn -w 3 --threads=4 -t 120 -b 0.0.0.0:$PORT app:app",
        "app:app",
        120,
        3,
        4,
    ),
    (
        "gunicorn-factory-args",
        "gunicorn \"shop:create_app('production')\" --timeout 30",
        "shop:create_app('production')",
        30,
        None,
        None,
    ),
    ("python-m", "python3 -m gunicorn --workers=2 web:app", "web:app", None, 2, None),
    ("chained", "flask db upgrade; exec gunicorn blog:app", "blog:app", None, None, None),
    ("env-prefix", "WEB_CONCURRENCY=3 newrelic-admin run-program gunicorn a:b", "a:b",
     None, None, None),
    (
        "uwsgi-module",
        "uwsgi --http :8080 --module site.wsgi --processes 4 --threads 2 --harakiri 45",
        "site.wsgi:application",
        45,
        4,
        2,
    ),
    (
        "uwsgi-wsgi-file",
        "uwsgi --wsgi-file ./web/main.py --callable app",
        "web.main:app",
        None,
        None,
        None,
    ),
    ("uwsgi-mount", "uwsgi --http :8080 --mount /app=app:app", "app:app", None, None, None),
    ("waitress", "waitress-serve --port $PORT --call shop:create_app", "shop:create_app()",
     None, None, None),
    ("waitress-threads", "waitress-serve --threads=6 --listen=*:8080 app:app", "app:app",
     None, None, 6),
    # searxng's container/entrypoint.sh; the interface is set by GRANIAN_INTERFACE in the image.
    ("granian", "exec /usr/local/searxng/.venv/bin/granian searx.webapp:app", "searx.webapp:app",
     None, None, None),
    # Options that take a value, spaced or with '=', are not the app; flags take none.
    ("granian-options", "granian --interface wsgi --host 0.0.0.0 --port $PORT --workers 2 "
     "--blocking-threads=8 --no-ws --log-level info --access-log --access-log-fmt '%(addr)s' "
     "--process-name web shop.web:app", "shop.web:app", None, 2, 8),
    ("granian-python-m-factory", "python -m granian --factory --interface=wsgi shop:create_app",
     "shop:create_app()", None, None, None),
    # granian's attribute is 'app' when the target names none.
    ("granian-module", "GRANIAN_INTERFACE=wsgi granian shop.web --reload", "shop.web:app",
     None, None, None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("line", "app", "timeout", "workers", "threads"),
    [c[1:] for c in COMMANDS],
    ids=[c[0] for c in COMMANDS],
)
def test_start_command_is_read(
    line: str, app: str, timeout: int | None, workers: int | None, threads: int | None
) -> None:
    command = parse_command(line)
    assert command is not None
    assert (command.app, command.timeout, command.workers, command.threads) == (
        app,
        timeout,
        workers,
        threads,
    )


@pytest.mark.parametrize(
    "line", ["python app.py", "flask run --host 0.0.0.0", "./start.sh", "celery -A x worker", ""]
)
def test_commands_without_a_known_server(line: str) -> None:
    assert parse_command(line) is None


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("granian --interface asgi main:app", "as an ASGI app (--interface asgi)"),
        ("granian --host 0.0.0.0 --interface=rsgi main", "as an RSGI app (--interface rsgi)"),
        ("GRANIAN_INTERFACE=asginl granian main:app", "(GRANIAN_INTERFACE=asginl)"),
    ],
    ids=["asgi", "rsgi", "asgi-from-the-environment"],
)
def test_granian_serving_another_interface_names_no_wsgi_app(
    tmp_path: Path, line: str, why: str
) -> None:
    command = parse_command(line)
    assert command is not None
    assert command.app is None
    assert command.not_wsgi is not None and why in command.not_wsgi
    _write(tmp_path, {"Procfile": f"web: {line}\n"})
    [origin] = find_origins(tmp_path)
    assert origin.app is None
    assert any(why in line and "Procfile:1" in line for line in origin.not_carried)


@pytest.mark.parametrize(
    ("line", "why"),
    [
        (
            "python -m gunicorn mysite.asgi:application -k uvicorn.workers.UvicornWorker",
            "gunicorn serves 'mysite.asgi:application' with an ASGI worker "
            "(--worker-class uvicorn.workers.UvicornWorker)",
        ),
        ("gunicorn --worker-class=aiohttp.GunicornWebWorker web:make_app",
         "with an ASGI worker (--worker-class aiohttp.GunicornWebWorker)"),
        ("uvicorn main:app --host 0.0.0.0 --port $PORT",
         "uvicorn serves 'main:app' as an ASGI app"),
        ("daphne -b 0.0.0.0 -p 8000 shop.asgi:application",
         "daphne serves 'shop.asgi:application' as an ASGI app"),
    ],
    ids=["gunicorn-uvicorn-worker", "gunicorn-aiohttp-worker", "uvicorn", "daphne"],
)  # fmt: skip
def test_asgi_servers_name_no_wsgi_app(tmp_path: Path, line: str, why: str) -> None:
    command = parse_command(line)
    assert command is not None and command.app is None
    assert command.not_wsgi is not None and why in command.not_wsgi
    assert command.ignored == []  # the worker class is the reason, not a setting to pass on
    _write(tmp_path, {"Procfile": f"web: {line}\n"})
    [origin] = find_origins(tmp_path)
    assert origin.app is None
    [line_] = origin.not_carried
    assert why in line_ and "not a WSGI app" in line_ and "in the code instead" in line_


def test_uvicorn_serving_wsgi_names_the_app() -> None:
    command = parse_command("uvicorn --interface wsgi shop:app")
    assert command is not None and (command.app, command.not_wsgi) == ("shop:app", None)
    command = parse_command("gunicorn -k gthread shop:app")
    assert command is not None and command.app == "shop:app"


def test_uwsgi_ini_is_read_from_the_project(tmp_path: Path) -> None:
    _write(tmp_path, {"etc/uwsgi.ini": "[uwsgi]\nwsgi-file=site/wsgi.py\nworkers=2\nthreads=4\n"})
    command = parse_command("uwsgi /code/etc/uwsgi.ini", tmp_path)
    assert command is not None
    assert (command.app, command.workers, command.threads) == ("site.wsgi:application", 2, 4)


# --- Procfile ---------------------------------------------------------------------------------


def test_procfile(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "Procfile": """
                release: python manage.py migrate --noinput
                web: python manage.py collectstatic --noinput && gunicorn shop.wsgi -w 4 -t 90
                worker: celery -A shop worker
            """
        },
    )
    [origin] = find_origins(tmp_path)
    assert origin.source == "procfile"
    assert (origin.app, origin.timeout, origin.workers) == ("shop.wsgi", 90, 4)
    assert any("as instance concurrency 4" in line for line in origin.carried)
    assert any("python manage.py migrate --noinput" in s and "release" in s for s in origin.steps)
    # migrate's build runs collectstatic itself: carried, not a step left to the user.
    assert not any("collectstatic" in s for s in origin.steps)
    assert any("collectstatic" in c and "migrate's build does itself" in c for c in origin.carried)
    assert any("'worker'" in line and "Procfile:3" in line for line in origin.not_carried)
    assert any("Procfile:2" in line for line in origin.carried)


# --- App Engine -------------------------------------------------------------------------------


def _app_engine(root: Path) -> Path:
    return _write(
        root,
        {
            "app.yaml": """
                runtime: python312
                entrypoint: gunicorn -b :$PORT main:app --timeout 40
                instance_class: F4
                env_variables:
                  GREETING: hello
                  STRIPE_SECRET_KEY: sk_live_not_for_config
                  DATABASE_URL: postgres://u:p@db/x
                  PAGE_SIZE: 20
                handlers:
                  - url: /static
                    static_dir: public
                vpc_access_connector:
                  name: projects/p/locations/r/connectors/c
            """,
            "cron.yaml": """
                cron:
                  - description: nightly report
                    url: /tasks/report?full=1
                    schedule: every day 03:30
                    timezone: Asia/Shanghai
                  - url: /tasks/poll
                    schedule: every 10 minutes
                  - url: /tasks/monthly
                    schedule: 1st monday of month 09:00
            """,
        },
    )


def test_app_engine(tmp_path: Path) -> None:
    [origin] = find_origins(_app_engine(tmp_path))
    assert (origin.app, origin.python, origin.memory, origin.timeout) == (
        "main:app",
        "3.12",
        1536,
        40,
    )
    env = {e.name: e for e in origin.env}
    assert env["GREETING"].deploy_value() == "hello"
    assert env["PAGE_SIZE"].deploy_value() == "20"
    assert env["STRIPE_SECRET_KEY"].deploy_value() == "${env('STRIPE_SECRET_KEY')}"
    assert env["DATABASE_URL"].secret
    assert origin.static == [("/static", "public")]
    assert [(j.name, j.schedule, j.kind, j.target) for j in origin.jobs] == [
        ("nightly-report", "CRON_TZ=Asia/Shanghai 0 30 3 * * *", "url", "/tasks/report?full=1"),
        ("tasks-poll", "@every 10m", "url", "/tasks/poll"),
    ]
    assert any("1st monday" in line for line in origin.not_carried)
    assert any("vpc_access_connector" in line for line in origin.not_carried)


GAE = [
    ("every 5 minutes", None, "@every 5m"),
    ("every 24 hours", None, "@every 24h"),
    ("every 1 hours synchronized", None, "@every 1h"),
    ("every day 00:00", None, "0 0 0 * * *"),
    ("every monday 09:00", "America/New_York", "CRON_TZ=America/New_York 0 0 9 * * 1"),
    ("every mon,wed,fri 18:15", None, "0 15 18 * * 1,3,5"),
    ("every sunday 23:59", None, "0 59 23 * * 0"),
    ("every day 25:00", None, None),
    ("2nd,third mon,wed,thu of march 17:00", None, None),
    ("every 2 hours from 10:00 to 14:00", None, None),
]


@pytest.mark.parametrize(("schedule", "zone", "expected"), GAE, ids=[g[0] for g in GAE])
def test_app_engine_schedules(schedule: str, zone: str | None, expected: str | None) -> None:
    assert gae_schedule(schedule, zone) == expected


AWS = [
    ("rate(5 minutes)", "@every 5m"),
    ("rate(1 hour)", "@every 1h"),
    ("rate(2 days)", "@every 48h"),
    ("cron(0 12 * * ? *)", "0 0 12 * * *"),
    ("cron(15 10 ? * MON-FRI *)", "0 15 10 * * 1-5"),
    ("cron(0 8 ? * 2 *)", "0 0 8 * * 1"),
    ("cron(0 8 ? * 1,7 *)", "0 0 8 * * 0,6"),
    ("cron(0/15 * 1 * ? *)", "0 0/15 * 1 * *"),
    ("cron(0 10 L * ? *)", None),
    ("cron(0 10 ? * 6#3 *)", None),
    ("cron(0 10 * * ? 2027)", None),
    ("cron(0 10 * *)", None),
    ("every day", None),
]


@pytest.mark.parametrize(("expression", "expected"), AWS, ids=[a[0] for a in AWS])
def test_aws_schedules(expression: str, expected: str | None) -> None:
    assert aws_schedule(expression) == expected


# --- Zappa and Serverless ---------------------------------------------------------------------


def _zappa(root: Path) -> Path:
    settings = {
        "dev": {
            "app_function": "web.app.app",
            "runtime": "python3.10",
            "memory_size": 512,
            "timeout_seconds": 30,
            "environment_variables": {"MODE": "dev", "API_TOKEN": "t0k3n"},
            "exclude": ["*.gz", "notebooks/"],
            "events": [
                {"function": "web.tasks.nightly", "expression": "cron(0 3 * * ? *)"},
                {"function": "web.tasks.poll", "expression": "rate(15 minutes)"},
            ],
            "keep_warm": True,
        },
        "prod": {
            "extends": "dev",
            "memory_size": 2048,
            "environment_variables": {"MODE": "prod"},
        },
    }
    (root / "zappa_settings.json").write_text(json.dumps(settings), encoding="utf-8")
    return root


def test_zappa_first_stage(tmp_path: Path) -> None:
    [origin] = find_origins(_zappa(tmp_path))
    assert (origin.app, origin.python, origin.memory, origin.timeout) == (
        "web.app:app",
        "3.10",
        512,
        30,
    )
    assert {e.name: e.deploy_value() for e in origin.env} == {
        "MODE": "dev",
        "API_TOKEN": "${env('API_TOKEN')}",
    }
    assert origin.exclude == ["*.gz", "notebooks/"]
    assert [(j.name, j.schedule, j.kind, j.target) for j in origin.jobs] == [
        ("nightly", "0 0 3 * * *", "function", "web.tasks.nightly"),
        ("poll", "@every 15m", "function", "web.tasks.poll"),
    ]
    assert any("keep_warm" in line for line in origin.not_carried)


def test_zappa_stage_extends_another(tmp_path: Path) -> None:
    [origin] = find_origins(_zappa(tmp_path), stage="prod")
    assert (origin.app, origin.memory) == ("web.app:app", 2048)
    assert {e.name: e.value for e in origin.env}["MODE"] == "prod"


def test_zappa_unknown_stage_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(FCMigrateError, match=r"no stage 'staging'\. Use one of: dev, prod"):
        find_origins(_zappa(tmp_path), stage="staging")


def test_zappa_django_settings(tmp_path: Path) -> None:
    (tmp_path / "zappa_settings.json").write_text(
        json.dumps({"production": {"django_settings": "shop.settings", "runtime": "python3.11"}})
    )
    [origin] = find_origins(tmp_path)
    assert (origin.app, origin.app_kind, origin.python) == ("shop.settings", "django", "3.11")


def test_serverless_framework(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "serverless.yml": """
                service: shop
                plugins:
                  - serverless-wsgi
                custom:
                  wsgi:
                    app: api.app
                provider:
                  name: aws
                  runtime: python3.11
                  timeout: 20
                  environment:
                    TABLE: !Ref OrdersTable
                    SENTRY_DSN: ${ssm:/shop/sentry}
                    REGION_NAME: ${env:AWS_REGION}
                    LOG_LEVEL: info
                functions:
                  api:
                    handler: wsgi_handler.handler
                    memorySize: 1024
                    timeout: 25
                  cleanup:
                    handler: jobs.cleanup
                    events:
                      - schedule: rate(1 hour)
                      - schedule:
                          rate: cron(30 2 ? * SUN *)
                resources:
                  Resources:
                    OrdersTable:
                      Type: AWS::DynamoDB::Table
            """
        },
    )
    [origin] = find_origins(tmp_path)
    assert (origin.app, origin.python, origin.memory, origin.timeout) == (
        "api:app",
        "3.11",
        1024,
        25,
    )
    env = {e.name: e for e in origin.env}
    assert not env["LOG_LEVEL"].secret
    for name in ("SENTRY_DSN", "REGION_NAME"):  # secret by name, and a reference by value
        assert env[name].deploy_value() == f"${{env('{name}')}}"
    assert [(j.name, j.schedule, j.target) for j in origin.jobs] == [
        ("cleanup", "@every 1h", "jobs.cleanup"),
        ("cleanup-2", "0 30 2 * * 0", "jobs.cleanup"),
    ]
    assert any(line.startswith("resources") for line in origin.not_carried)


def test_dockerfile(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "Dockerfile": """
                FROM python:3.11-slim AS base
                ENV PYTHONUNBUFFERED=1 \\
                    APP_MODE=container
                ENV PATH=/venv/bin:$PATH
                COPY . /app
                CMD ["gunicorn", "--bind", "0.0.0.0:8080", "--workers", "2", "svc.main:app"]
            """
        },
    )
    [origin] = find_origins(tmp_path)
    assert (origin.app, origin.python, origin.workers) == ("svc.main:app", "3.11", 2)
    # The image's own variables (PATH, PYTHONUNBUFFERED) would break FC's: not carried.
    assert [e.name for e in origin.env] == ["APP_MODE"]


def test_dockerfile_entrypoint_and_cmd(tmp_path: Path) -> None:
    _write(tmp_path, {"Dockerfile": 'FROM python:3.12\nENTRYPOINT ["gunicorn"]\nCMD ["app:app"]\n'})
    [origin] = find_origins(tmp_path)
    assert origin.app == "app:app"


# --- start scripts ----------------------------------------------------------------------------

_ENTRYPOINT = """
    #!/bin/sh
    set -e
    python manage.py migrate --noinput
    cat <<EOF
    gunicorn not:this
    EOF
    if [ "$DEBUG" = 1 ]; then
        gunicorn --reload dev:app
    else
        exec /venv/bin/granian --interface wsgi \\
            --workers 2 shop.wsgi:application
    fi
"""

_RUNS_ITS_ARGUMENTS = """
    #!/bin/sh
    flask db upgrade
    if [ -z "$1" ]; then
        exec gunicorn default:app
    fi
    exec "$@"
"""


@pytest.mark.parametrize(
    ("files", "app", "where"),
    [
        # The last server line runs; a here-document's text is no command.
        (
            {"Procfile": "web: ./bin/start.sh\n", "bin/start.sh": _ENTRYPOINT},
            "shop.wsgi:application",
            "bin/start.sh:10, run by Procfile:1",
        ),
        (
            {"Procfile": "web: bash -e bin/start.sh\n", "bin/start.sh": _ENTRYPOINT},
            "shop.wsgi:application",
            "bin/start.sh:10, run by Procfile:1",
        ),
        # searxng's shape: the image path is not the project's, one folder holds the script.
        (
            {
                "Dockerfile": "FROM python:3.12\nCOPY ./container/ ./\n"
                'ENTRYPOINT ["/usr/local/shop/entrypoint.sh"]\n',
                "container/entrypoint.sh": _ENTRYPOINT,
            },
            "shop.wsgi:application",
            "container/entrypoint.sh:10, run by Dockerfile:3",
        ),
        # A script that runs another, with no .sh name but a shell's #! line.
        (
            {
                "Procfile": "web: docker/start\n",
                "docker/start": "#!/usr/bin/env bash\ncd /app\nbash docker/serve.sh\n",
                "docker/serve.sh": "gunicorn -w 3 shop.wsgi\n",
            },
            "shop.wsgi",
            "docker/serve.sh:1, run by docker/start:3, run by Procfile:1",
        ),
        # Docker's entrypoint script that ends with exec "$@" runs the CMD when there is one,
        # else its own server line.
        (
            {
                "Dockerfile": 'FROM python:3.12\nENTRYPOINT ["./docker-entrypoint.sh"]\n'
                'CMD ["gunicorn", "-b", ":8000", "shop:app"]\n',
                "docker-entrypoint.sh": _RUNS_ITS_ARGUMENTS,
            },
            "shop:app",
            "Dockerfile:2",
        ),
        (
            {
                "Dockerfile": 'FROM python:3.12\nENTRYPOINT ["./docker-entrypoint.sh"]\n',
                "docker-entrypoint.sh": _RUNS_ITS_ARGUMENTS,
            },
            "default:app",
            "docker-entrypoint.sh:4, run by Dockerfile:2",
        ),
        (
            {"Procfile": "web: sh -c 'cd /app && exec gunicorn shop:app'\n"},
            "shop:app",
            "Procfile:1",
        ),
    ],
    ids=[
        "procfile-script",
        "shell-runs-script",
        "image-path",
        "nested",
        "exec-cmd",
        "exec-no-cmd",
        "sh-c",
    ],
)
def test_a_start_script_is_read_for_the_server_it_starts(
    tmp_path: Path, files: dict[str, str], app: str, where: str
) -> None:
    _write(tmp_path, files)
    [origin] = find_origins(tmp_path)
    assert origin.app == app
    assert any(f"({where})" in line and repr(app) in line for line in origin.carried)


@pytest.mark.parametrize(
    "files",
    [
        {"Procfile": "web: ./start.sh\n", "start.sh": 'python manage.py migrate\nexec "$@"\n'},
        {"Procfile": "web: ./missing.sh\n"},
        # A file of the project that is no shell script is not read.
        {"Procfile": "web: ./serve.py\n", "serve.py": "# gunicorn app:app\ngunicorn app:app\n"},
        # Scripts that run each other end somewhere.
        {"Procfile": "web: sh a.sh\n", "a.sh": "sh a.sh\n"},
    ],
    ids=["no-server", "not-in-the-project", "not-a-shell-script", "loop"],
)
def test_a_start_script_without_a_server_names_no_app(
    tmp_path: Path, files: dict[str, str]
) -> None:
    _write(tmp_path, files)
    [origin] = find_origins(tmp_path)
    assert origin.app is None
    assert any("runs no server fcmigrate knows" in line for line in origin.not_carried)


SECRET_NAMES = [
    ("SECRET_KEY", True),
    ("AWS_SECRET_ACCESS_KEY", True),
    ("GITHUB_TOKEN", True),
    ("DB_PASSWORD", True),
    ("DATABASE_URL", True),
    ("REDIS_URL", True),
    ("SENTRY_DSN", True),
    ("MAIL_PWD", True),
    ("DEBUG", False),
    ("PAGE_SIZE", False),
    ("SITE_URL", False),
    ("TIMEZONE", False),
]


@pytest.mark.parametrize(("name", "secret"), SECRET_NAMES, ids=[s[0] for s in SECRET_NAMES])
def test_secret_names(name: str, secret: bool) -> None:
    assert origins.is_secret_name(name) is secret


def test_credentials_in_a_url_make_a_secret() -> None:
    assert origins.EnvValue.read("CACHE", "redis://:hunter2@cache:6379/0", "x").secret
    assert not origins.EnvValue.read("HOMEPAGE", "https://example.com/a", "x").secret


def test_several_sources_name_the_one_used(tmp_path: Path) -> None:
    _write(
        tmp_path, {"Procfile": "web: gunicorn a:app\n", "Dockerfile": 'CMD ["gunicorn", "b:app"]\n'}
    )
    found = find_origins(tmp_path)
    chosen, note = origins.choose_origin(found)
    assert chosen is not None and chosen.app == "a:app"
    assert note is not None and "Dockerfile" in note and "--from" in note
    chosen, note = origins.choose_origin(found, "dockerfile")
    assert chosen is not None and chosen.app == "b:app" and note is None
    assert origins.choose_origin(found, "none") == (None, None)
    with pytest.raises(FCMigrateError, match="not in the project"):
        origins.choose_origin(found, "zappa")


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("app.yaml", "runtime: [python312\n", "not valid YAML at line"),
        ("zappa_settings.json", "{not json", "Cannot read zappa_settings.json"),
        ("Procfile", None, "not UTF-8"),
    ],
)
def test_broken_sources_are_one_line(
    tmp_path: Path, name: str, text: str | None, message: str
) -> None:
    path = tmp_path / name
    if text is None:
        path.write_bytes(b"web: gunicorn \xff\xfe:app\n")
    else:
        path.write_text(text)
    with pytest.raises(FCMigrateError, match=message):
        find_origins(tmp_path)


# --- the deploy config ------------------------------------------------------------------------


def _options(**changes: Any) -> wrap.WrapOptions:
    job = origins.Job("nightly", "CRON_TZ=Asia/Shanghai 0 30 3 * * *", "url", "/tasks/r", "x", "y")
    values: dict[str, Any] = {
        "app": "main:app",
        "name": "shop",
        "environment": {"MODE": "prod", "API_KEY": "${env('API_KEY')}"},
        "jobs": (job, origins.Job("poll", "@every 10m", "function", "jobs.poll", "x", "y")),
    }
    values.update(changes)
    return wrap.WrapOptions(**values)


@pytest.mark.parametrize(("render", "schema"), [(wrap.s_yaml, "fc3"), (wrap.fc2_yaml, "fc2")])
def test_timers_and_env_in_s_yaml(render: Any, schema: str) -> None:
    doc = yaml.safe_load(render(_options()).content)
    validator = jsonschema.Draft202012Validator(
        json.loads((SCHEMAS / f"{schema}.s.yaml.schema.json").read_text())
    )
    assert list(validator.iter_errors(doc)) == []
    text = json.dumps(doc)
    assert "${env('API_KEY')}" in text
    assert '"CRON_TZ=Asia/Shanghai 0 30 3 * * *"' in text
    assert '"@every 10m"' in text
    assert text.count("fcmigrate_job") == 2


def test_timer_schema_rejects_a_five_field_cron() -> None:
    job = origins.Job("bad", "30 3 * * *", "url", "/x", "x", "y")
    doc = yaml.safe_load(wrap.s_yaml(_options(jobs=(job,))).content)
    validator = jsonschema.Draft202012Validator(
        json.loads((SCHEMAS / "fc3.s.yaml.schema.json").read_text())
    )
    assert list(validator.iter_errors(doc))


def test_fun_template_keeps_secrets_out(tmp_path: Path) -> None:
    content = wrap.fun_template(_options()).content
    doc = yaml.safe_load(content)
    props = doc["Resources"]["shop"]["shop"]["Properties"]
    assert props["EnvironmentVariables"]["MODE"] == "prod"
    assert "API_KEY" not in props["EnvironmentVariables"]
    assert "Set in the console" in content and "API_KEY" in content
    events = doc["Resources"]["shop"]["shop"]["Events"]
    assert events["nightly"]["Type"] == "Timer"


@pytest.mark.network_tool
def test_fun_validate_accepts_timers(fun_cli: str, tmp_path: Path) -> None:  # noqa: F811
    result = _fun_validate(fun_cli, tmp_path, wrap.fun_template(_options()).content)
    assert result.returncode == 0, result.stdout + result.stderr


def test_bootstrap_serves_the_jobs() -> None:
    files = {f.path: f for f in wrap.generate(_options())}
    assert "--jobs fcmigrate_jobs.json" in files["bootstrap"].content
    listed = json.loads(files["fcmigrate_jobs.json"].content)["jobs"]
    assert [j["name"] for j in listed] == ["nightly", "poll"]


# --- end to end: migrate, serve the build, fire the timers --------------------------------------

HOST_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"

GAE_APP = """
    import os
    from flask import Flask, request

    app = Flask(__name__)

    @app.get("/")
    def home():
        return "home " + os.environ.get("GREETING", "-")

    @app.get("/tasks/report")
    def report():
        # App Engine's cron requests carry this header; only they may.
        if request.headers.get("X-Appengine-Cron") != "true":
            return "not from cron", 403
        with open(os.path.join(os.environ["JOB_LOG"], "report"), "a") as log:
            log.write(request.query_string.decode())
        return "reported"
"""

ZAPPA_TASKS = """
    import json
    import os

    def nightly(event, context):
        with open(os.path.join(os.environ["JOB_LOG"], "nightly"), "w") as f:
            json.dump({"trigger": event["triggerName"], "request": context.request_id}, f)
        return {"done": True}

    def broken(event, context):
        raise RuntimeError("the job failed")
"""


def _timer_event(job: str, trigger: str = "t") -> bytes:
    payload = json.dumps({"fcmigrate_job": job})
    return json.dumps(
        {"triggerTime": "2026-12-05T03:00:00Z", "triggerName": trigger, "payload": payload}
    ).encode()


def _post(url: str, body: bytes, rid: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(
        url + "/invoke",
        data=body,
        method="POST",
        headers={"x-fc-request-id": rid, "x-fc-control-path": "/invoke"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        with err:
            return err.code, dict(err.headers), err.read()


def _local_job(build: Path, job: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fcmigrate", "local", "--project", str(build), "--job", job,
         "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
    )  # fmt: skip


def _migrate(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fcmigrate", "migrate", str(project), "--python", HOST_PYTHON],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )


@pytest.mark.slow
def test_app_engine_project_end_to_end(tmp_path: Path, start_server: Any) -> None:
    project = _write(
        tmp_path / "gae",
        {
            "main.py": GAE_APP,
            "requirements.txt": "flask\n",
            "public/site.css": "body { color: teal }\n",
            "app.yaml": """
                runtime: python311
                instance_class: F2
                env_variables:
                  GREETING: hello
                  API_KEY: do-not-ship-me
                handlers:
                  - url: /static
                    static_dir: public
            """,
            "cron.yaml": """
                cron:
                  - description: nightly report
                    url: /tasks/report?full=1
                    schedule: every day 03:00
                    timezone: Asia/Shanghai
            """,
        },
    )
    result = _migrate(project)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "From app.yaml" in result.stdout and "API_KEY" in result.stdout
    build = project / ".fcmigrate" / "build"
    config = (build / "s.yaml").read_text()
    assert "do-not-ship-me" not in config and "${env('API_KEY')}" in config
    assert "memorySize: 768" in config
    assert 'cronExpression: "CRON_TZ=Asia/Shanghai 0 0 3 * * *"' in config

    logs = tmp_path / "jobs"
    logs.mkdir()
    server = start_server(["./bootstrap"], cwd=build, env={"GREETING": "hi", "JOB_LOG": str(logs)})
    with urllib.request.urlopen(server.url + "/2016-08-15/proxy/s/f/static/site.css") as resp:
        assert resp.read() == b"body { color: teal }\n"
    # A client cannot pose as App Engine's cron ...
    request = urllib.request.Request(
        server.url + "/tasks/report", headers={"X-Appengine-Cron": "true"}
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    refused.value.close()
    assert refused.value.code == 403
    # ... but the timer can.
    status, headers, body = _post(server.url, _timer_event("nightly-report"), "timer-1")
    assert (status, body) == (200, b"reported")
    assert (logs / "report").read_text() == "full=1"
    assert "FC Invoke Start RequestId: timer-1" in server.stdout()
    # A payload that names no declared job is refused.
    status, headers, _ = _post(server.url, _timer_event("rm-rf"), "timer-2")
    assert status == 400 and headers.get("x-fc-status") == "404"
    server.kill()

    # The same job, fired through `fcmigrate local` as FC's timer would.
    (logs / "report").unlink()
    fired = _local_job(build, "nightly-report", {"JOB_LOG": str(logs)})
    assert fired.returncode == 0, fired.stderr
    assert fired.stdout.strip() == "reported" and (logs / "report").read_text() == "full=1"
    missing = _local_job(build, "weekly", {})
    assert missing.returncode != 0
    assert "No job 'weekly' in fcmigrate_jobs.json. Use one of: nightly-report." in missing.stderr


@pytest.mark.slow
def test_zappa_project_end_to_end(tmp_path: Path, start_server: Any) -> None:
    project = _write(
        tmp_path / "zappa",
        {
            "web/__init__.py": "",
            "web/app.py": "from flask import Flask\napp = Flask(__name__)\n"
            "@app.get('/')\ndef home():\n    return 'zappa home'\n",
            "web/tasks.py": ZAPPA_TASKS,
            "requirements.txt": "flask\n",
            "notes.gz": "left out by the stage's exclude",
        },
    )
    (project / "zappa_settings.json").write_text(
        json.dumps(
            {
                "production": {
                    "app_function": "web.app.app",
                    "timeout_seconds": 45,
                    "exclude": ["*.gz"],
                    "events": [
                        {"function": "web.tasks.nightly", "expression": "cron(0 3 ? * MON-FRI *)"},
                        {"function": "web.tasks.broken", "expression": "rate(1 day)"},
                    ],
                }
            }
        )
    )
    result = _migrate(project)
    assert result.returncode == 0, result.stderr + result.stdout
    build = project / ".fcmigrate" / "build"
    assert not (build / "notes.gz").exists()
    config = (build / "s.yaml").read_text()
    assert "timeout: 45" in config and '"0 0 3 * * 1-5"' in config and '"@every 24h"' in config

    logs = tmp_path / "jobs"
    logs.mkdir()
    server = start_server(["./bootstrap"], cwd=build, env={"JOB_LOG": str(logs)})
    status, _, body = _post(server.url, _timer_event("nightly", "nightly"), "timer-3")
    assert status == 200 and json.loads(body) == {"result": {"done": True}}
    assert json.loads((logs / "nightly").read_text()) == {
        "trigger": "nightly",
        "request": "timer-3",
    }
    status, headers, body = _post(server.url, _timer_event("broken"), "timer-4")
    assert status == 500 and headers.get("x-fc-status") == "404"
    assert b"timer-4" in body
    server.proc.send_signal(signal.SIGTERM)
    server.proc.wait(30)
    assert "RuntimeError: the job failed" in server.stderr() + server.stdout()


def test_dockerize_takes_the_app_from_the_procfile(tmp_path: Path) -> None:
    # Two apps in the project: detection alone would refuse to choose.
    project = _write(
        tmp_path / "p",
        {
            "Procfile": "web: gunicorn site_b:app --timeout 30\n",
            "site_a.py": "from flask import Flask\napp = Flask(__name__)\n",
            "site_b.py": "from flask import Flask\napp = Flask(__name__)\n",
            "requirements.txt": "flask\n",
        },
    )
    result = subprocess.run(
        [sys.executable, "-m", "fcmigrate", "dockerize", "--out", str(project)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert '"site_b:app"' in (project / "Dockerfile").read_text()


def test_flags_win_over_the_file() -> None:
    from fcmigrate.build.migrate import _carry_origin

    origin = origins.Origin(
        "procfile", Path("Procfile"), memory=500, timeout=30, workers=3, threads=4
    )
    given: dict[str, Any] = {"memory": 2048, "concurrency": 20}
    _carry_origin(origin, given)
    assert given == {"memory": 2048, "timeout": 30, "concurrency": 20}
    empty: dict[str, Any] = {}
    _carry_origin(origin, empty)
    assert empty["memory"] == 512  # FC takes multiples of 64 MB
    assert empty["concurrency"] == 12  # 3 workers x 4 threads took 12 requests at once


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "procfile"], "--from procfile names Procfile, which is not in the project"),
        (["--stage", "nope"], "has no stage 'nope'"),
    ],
)
def test_source_choice_errors_are_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "zappa_settings.json").write_text(json.dumps({"dev": {"app_function": "a.app"}}))
    result = subprocess.run(
        [sys.executable, "-m", "fcmigrate", "migrate", str(tmp_path), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_doctor_lists_the_jobs(tmp_path: Path) -> None:
    from fcmigrate.doctor import diagnose

    project = _app_engine(tmp_path / "project")
    notes = " ".join(diagnose(project).notes)
    assert "nightly-report (CRON_TZ=Asia/Shanghai 0 30 3 * * *): url /tasks/report?full=1" in notes
    assert "1st monday of month" in notes  # a schedule FC's timer cannot take
    build = tmp_path / "build"
    build.mkdir()
    (build / "fcmigrate_jobs.json").write_text(wrap.jobs_file(_options()).content)
    notes = " ".join(diagnose(build).notes)
    assert "nightly: url /tasks/r; poll: function jobs.poll" in notes
    assert "fcmigrate local --job NAME" in notes


NEEDS_A_KEY = """
    import os
    from flask import Flask

    app = Flask(__name__)
    app.secret_key = os.environ["SECRET_KEY"]  # fails at import without it, as on FC
    MODE = os.environ.get("MODE", "-")

    @app.get("/")
    def home():
        return f"{MODE} {len(app.secret_key)}"
"""


@pytest.mark.slow
def test_env_given_to_migrate_reaches_the_check_but_not_the_config_in_clear(
    tmp_path: Path, start_server: Any
) -> None:
    project = _write(tmp_path / "p", {"app.py": NEEDS_A_KEY, "requirements.txt": "flask\n"})
    without = _migrate(project)
    assert without.returncode != 0 and "SECRET_KEY" in without.stderr
    with_env = subprocess.run(
        [sys.executable, "-m", "fcmigrate", "migrate", str(project), "--python", HOST_PYTHON,
         "--env", "SECRET_KEY=s3cr3t-value", "--env", "MODE=prod", "--force"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert with_env.returncode == 0, with_env.stderr
    build = project / ".fcmigrate" / "build"
    config = (build / "s.yaml").read_text()
    assert "SECRET_KEY: \"${env('SECRET_KEY')}\"" in config and 'MODE: "prod"' in config
    for path in build.rglob("*"):
        if path.is_file() and "python" not in path.relative_to(build).parts:
            assert b"s3cr3t-value" not in path.read_bytes(), path
    # As `s deploy` reads ${env('SECRET_KEY')} from the deployer's environment, so does local.
    port = free_port()
    env = {**os.environ, "SECRET_KEY": "from-the-shell"}
    local = subprocess.Popen(
        [sys.executable, "-m", "fcmigrate", "local", "--project", str(build), "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        wait_for_port(port, None, 60)
        url = f"http://127.0.0.1:{port}/2016-08-15/proxy/{build.parent.parent.name}/"
        for _ in range(100):
            try:
                with urllib.request.urlopen(url + "p/", timeout=30) as resp:
                    body = resp.read()
                break
            except urllib.error.HTTPError as err:
                err.close()
                time.sleep(0.2)
        assert body == b"prod 14"
    finally:
        os.killpg(local.pid, signal.SIGTERM)
        local.wait(30)
        assert local.stdout is not None
        local.stdout.close()


def test_bad_env_option_is_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "fcmigrate", "migrate", str(tmp_path), "--env", "FC_REGION=x"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "Error: Invalid --env 'FC_REGION=x'. Use NAME=VALUE with a name of letters, digits and "
        "'_' that does not start with FC_ (FC keeps those), e.g. --env DEBUG=0."
    ]


def test_an_origin_newer_than_any_built_python_builds_for_the_newest(tmp_path: Path) -> None:
    from fcmigrate.build import migrate
    from fcmigrate.build.detect import detect_app
    from fcmigrate.build.facts import SUPPORTED_PYTHONS

    _write(tmp_path, {"app.yaml": "runtime: python399\n", "main.py": "app = None\n"})
    [origin] = find_origins(tmp_path)
    options = migrate.MigrateOptions(project=tmp_path)
    notes: list[str] = []
    python, source = migrate._target_python(options, origin, detect_app(tmp_path), notes)
    newest = SUPPORTED_PYTHONS[-1]
    assert (python, source) == (newest, f"app.yaml, Python 3.99 -> {newest}")
    assert notes == [
        f"app.yaml runs Python 3.99, newer than fcmigrate builds for "
        f"({', '.join(SUPPORTED_PYTHONS)}); building for Python {newest}, the nearest. Pass "
        "--python X.Y to choose."
    ]

    # The project's own files newer too (wagtail/guide: python:3.14 image, python >=3.14):
    # the same Python, said once.
    _write(tmp_path, {".python-version": "3.99\n"})
    notes.clear()
    python, _ = migrate._target_python(options, origin, detect_app(tmp_path), notes)
    assert python == newest and len(notes) == 1 and notes[0].startswith("app.yaml runs")
    (tmp_path / ".python-version").unlink()

    # An older one than any it builds for: the Python the project's code asks for.
    _write(tmp_path, {"app.yaml": "runtime: python38\n"})
    [origin] = find_origins(tmp_path)
    assert migrate._target_python(options, origin, detect_app(tmp_path), [])[1] == "default"


def test_app_engines_default_app_that_is_not_there_falls_back_to_detection(
    tmp_path: Path,
) -> None:
    from fcmigrate.build import migrate

    # No entrypoint: App Engine runs main:app, but this sample has main_mysql.py and
    # main_postgres.py, one per database, and no main.py.
    _write(tmp_path, {"app.yaml": "runtime: python313\n"})
    for name in ("main_mysql.py", "main_postgres.py"):
        (tmp_path / name).write_text("def app(environ, start_response):\n    return []\n")
    [origin] = find_origins(tmp_path)
    assert origin.app == "main:app"
    notes: list[str] = []
    options = migrate.MigrateOptions(project=tmp_path)
    with pytest.raises(FCMigrateError, match=r"^No WSGI app found in "):
        migrate._detect_with_origin(options, origin, notes)
    assert notes == [
        "app.yaml names the app 'main:app', which was not found (there is no main.py or main/ "
        "in the project); the app was detected from the code instead."
    ]

    # With a main.py, the default is the app.
    (tmp_path / "main.py").write_text("def app(environ, start_response):\n    return []\n")
    assert migrate._detect_with_origin(options, origin, []).spec == "main:app"


def test_placeholder_values_are_left_out_and_named(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "app.yaml": """
                runtime: python313
                env_variables:
                  REDIS_HOST: your-redis-host
                  CLOUD_SQL_PASSWORD: YOUR-PASSWORD
                  PROJECT: <project-id>
                  GREETING: hello
                  YOURS: yours truly
            """,
        },
    )
    [origin] = find_origins(tmp_path)
    assert {e.name: e.value for e in origin.env} == {"GREETING": "hello", "YOURS": "yours truly"}
    left_out = [line for line in origin.not_carried if "placeholder" in line]
    assert len(left_out) == 3
    assert left_out[0] == (
        "the variable 'REDIS_HOST' (app.yaml:2): 'your-redis-host' is a placeholder for your "
        "value, so it is left out (the app's own default applies); give the real one with "
        "--env REDIS_HOST=VALUE."
    )


def test_dockerfile_env_takes_arg_defaults_and_only_the_last_stage(tmp_path: Path) -> None:
    # A multi-stage build: a Node stage for assets, then the Python image that runs. Values
    # that name an ARG get its default, as `docker build` gives them without --build-arg.
    _write(
        tmp_path,
        {
            "Dockerfile": """
                FROM node:20-slim AS assets
                ARG NODE_ENV="production"
                ENV NODE_ENV="${NODE_ENV}"
                FROM python:3.12-slim AS base
                ENV APP_HOME=/app SHARED="from-base"
                FROM base
                ARG UID=1000
                ARG FLASK_DEBUG="false"
                ARG BUILD_TOKEN
                ENV FLASK_DEBUG="${FLASK_DEBUG}" \\
                    USER_ID=$UID \\
                    LEVEL="${LOG_LEVEL:-info}" \\
                    TOKEN="${BUILD_TOKEN}" \\
                    PATH="${PATH}:/home/app/.local/bin"
                COPY --from=assets /app/public /public
                COPY --from=python:3.12 /usr/local/bin/python3 /opt/
                COPY --chown=app --from=assets /app/static ./static
                CMD ["gunicorn", "app:app"]
            """
        },
    )
    [origin] = find_origins(tmp_path)
    # What the Node stage built reaches the image only through COPY --from: migrate says so.
    assert origin.not_carried == [
        "the files copied from the Dockerfile's 'assets' stage ('COPY --from=assets "
        "/app/public /public', Dockerfile:15): migrate runs no stage's RUN steps, so build "
        "them into the project first (that stage's commands: npm, yarn, a compiler) for the "
        "build to ship them.",
        # wagtail/guide: --from after another flag.
        "the files copied from the Dockerfile's 'assets' stage ('COPY --from=assets "
        "/app/static ./static', Dockerfile:17): migrate runs no stage's RUN steps, so build "
        "them into the project first (that stage's commands: npm, yarn, a compiler) for the "
        "build to ship them.",
    ]
    env = {e.name: (e.value, e.secret) for e in origin.env}
    assert env == {
        "SHARED": ("from-base", False),
        "FLASK_DEBUG": ("false", False),
        "USER_ID": ("1000", False),
        "LEVEL": ("info", False),
        # Given only with --build-arg: still the deployer's to give.
        "TOKEN": ("${BUILD_TOKEN}", True),
    }
