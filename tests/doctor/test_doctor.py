"""``fcmigrate doctor``: one fixture project per finding, the samples after ``wrap``, the CLI.

Each fixture under ``tests/doctor_fixtures/<name>`` holds only what its finding needs; it is
laid over shared bases (``_base``: a good bootstrap and a plain WSGI app; ``_syaml``: a clean
fc3 ``s.yaml``; ``_django``: clean Django settings) in ``tmp_path``. Exec bits, CRLF endings
and big files are made by the test itself, since a checkout may not keep them.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import setuptools
import tomllib
from helpers import DJANGO_SAMPLE, FLASK_SAMPLE, REPO, TESTS, python_env, run_main

from fcmigrate.cli import main
from fcmigrate.doctor import (
    RULES,
    checks_config,
    diagnose,
    render_json,
    render_text,
    rules_markdown,
)
from fcmigrate.doctor import probe as probe_module
from fcmigrate.doctor.commands import analyze, shell_commands

FIXTURES = Path(__file__).parent / "doctor_fixtures"
BASE = ("_base",)
CONFIG = ("_base", "_syaml")
DJANGO = ("_base", "_syaml", "_django")
MB = 1024 * 1024


def _chmod_644(root: Path) -> None:
    (root / "bootstrap").chmod(0o644)


def _crlf(root: Path) -> None:
    path = root / "bootstrap"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))


def _syntax_error(root: Path) -> None:
    (root / "legacy.py").write_text('print "written for Python 2"\n')


def _login_link(root: Path) -> None:
    folder = root / "templates"
    folder.mkdir()
    (folder / "base.html").write_text('<p>Welcome.</p>\n<a href="/login">Log in</a>\n')


def _sparse(size: int) -> Callable[[Path], None]:
    """A file of zeros (on disk ``size`` bytes, in a zip almost nothing)."""

    def make(root: Path) -> None:
        with open(root / "model.bin", "wb") as f:
            f.truncate(size)

    return make


def _random(size: int, name: str = "model.bin") -> Callable[[Path], None]:
    """A file that does not compress: in a zip it is as big as on disk."""

    def make(root: Path) -> None:
        with open(root / name, "wb") as f:
            for _ in range(size // MB):
                f.write(os.urandom(MB))
            f.write(os.urandom(size % MB))

    return make


@dataclass(frozen=True)
class Case:
    """A fixture project and the one finding it must produce.

    ``at`` is (file, text on the reported line) — ``None`` text means no line — and
    ``says`` a piece of the message.
    """

    name: str
    bases: tuple[str, ...]
    expected: tuple[str, ...]
    at: tuple[str | None, str | None] | None = None
    says: str = ""
    severity: str | None = None
    setup: Callable[[Path], None] | None = None


CASES = [
    # Nothing to report: each base alone, and the other config formats.
    Case("clean", BASE, ()),
    Case("clean_config", CONFIG, ()),
    Case("clean_django", DJANGO, ()),
    Case("clean_fun", BASE, ()),
    Case("clean_fc2", BASE, ()),
    Case("clean_container", ("_base",), ()),
    # Start command and bootstrap.
    Case("no_start_command", (), ("FC100",), (None, None), "Nothing tells FC"),
    Case("dev_server_runserver", BASE, ("FC101",), ("bootstrap", "runserver"), "runserver"),
    Case("dev_server_script", BASE, ("FC101",), ("bootstrap", "exec"), "app.run() at app.py:8"),
    Case("dev_server_dockerfile", BASE, ("FC101",), ("Dockerfile", "CMD"), "flask run"),
    Case("dev_server_procfile", BASE, ("FC101",), ("Procfile", "web:"), "runserver"),
    Case("run_at_import", BASE, ("FC102",), ("app.py", "app.run(host"), "at import time"),
    Case("bind_localhost", BASE, ("FC103",), ("bootstrap", "exec"), "'127.0.0.1:9000'"),
    Case("bind_gunicorn_default", BASE, ("FC103",), ("bootstrap", "exec"), "127.0.0.1:8000"),
    Case("bind_container", ("_base",), ("FC103",), ("s.yaml", "entrypoint:"), "'127.0.0.1:9000'"),
    Case("bind_gunicorn_conf", BASE, ("FC103",), ("gunicorn.conf.py", "bind ="), "127.0.0.1"),
    Case(
        "port_mismatch",
        BASE,
        ("FC104",),
        ("bootstrap", "exec"),
        "port 8080, but FC checks port 9000",
    ),
    Case(
        "port_mismatch_config",
        CONFIG,
        ("FC104",),
        ("bootstrap", "exec"),
        "port 9000, but FC checks port 8080",
    ),
    Case("bootstrap_missing", ("_syaml",), ("FC105",), ("s.yaml", "command:"), "does not exist"),
    Case(
        "bootstrap_not_executable",
        BASE,
        ("FC106",),
        ("bootstrap", None),
        "mode 644",
        setup=_chmod_644,
    ),
    Case("bootstrap_crlf", BASE, ("FC107",), ("bootstrap", "#!/bin/bash"), "CRLF", setup=_crlf),
    Case("bootstrap_shebang", BASE, ("FC108",), ("bootstrap", "# Fixture"), "'#!'"),
    Case("gunicorn_timeout", BASE, ("FC109",), ("bootstrap", "exec"), "30 s"),
    # Django settings, imported in a child process.
    Case(
        "settings_import",
        DJANGO,
        ("FC200",),
        ("mysite/settings.py", "raise RuntimeError"),
        "RuntimeError: DATABASE_URL is not set",
    ),
    Case("debug", DJANGO, ("FC201",), ("mysite/settings.py", "DEBUG = True"), "DEBUG is True"),
    Case(
        "secret_key_literal",
        DJANGO,
        ("FC202",),
        ("mysite/settings.py", "SECRET_KEY ="),
        "written in mysite/settings.py",
    ),
    Case(
        "secret_key_fallback",
        DJANGO,
        ("FC203",),
        ("mysite/settings.py", '"dev-only-fallback'),
        "s.yaml does not set APP_SECRET_KEY",
    ),
    Case(
        "allowed_hosts",
        DJANGO,
        ("FC204",),
        ("mysite/settings.py", "ALLOWED_HOSTS ="),
        "'localhost', '127.0.0.1'",
    ),
    Case(
        "csrf_trusted_origins",
        DJANGO,
        ("FC205",),
        ("mysite/settings.py", "CSRF_TRUSTED_ORIGINS ="),
        "403",
    ),
    Case(
        "sqlite_in_code",
        DJANGO,
        ("FC206",),
        ("mysite/settings.py", "DATABASES ="),
        "/code/db.sqlite3, inside the code folder",
    ),
    Case(
        "sqlite_in_tmp",
        DJANGO,
        ("FC207",),
        ("mysite/settings.py", "DATABASES ="),
        "/tmp/app.sqlite3",
    ),
    Case(
        "media_in_code",
        DJANGO,
        ("FC208",),
        ("mysite/settings.py", "MEDIA_ROOT ="),
        "/code/media",
    ),
    Case(
        "local_sessions",
        DJANGO,
        ("FC209",),
        ("mysite/settings.py", "SESSION_ENGINE ="),
        "file engine",
    ),
    Case("local_cache", DJANGO, ("FC210",), ("mysite/settings.py", "CACHES ="), "LocMemCache"),
    Case("static_root", DJANGO, ("FC211",), ("mysite/settings.py", None), "STATIC_ROOT"),
    Case(
        "random_secret_key",
        DJANGO,
        ("FC212",),
        ("mysite/settings.py", "= get_random_secret_key()"),
        "SECRET_KEY is get_random_secret_key(), a new key at each start",
    ),
    # A Flask app's config, imported in a child process.
    Case(
        "flask_secret_key",
        BASE,
        ("FC202",),
        ("app.py", 'config["SECRET_KEY"]'),
        "The app 'app:app' has the SECRET_KEY written at app.py:6",
    ),
    Case(
        "flask_secret_key_fallback",
        CONFIG,
        ("FC203",),
        ("app.py", "app.secret_key ="),
        "written at app.py:8: s.yaml does not set FLASK_SECRET_KEY",
    ),
    Case(
        "flask_random_secret_key",
        BASE,
        ("FC212",),
        ("app.py", "os.urandom"),
        "SECRET_KEY is os.urandom(), a new key at each start",
    ),
    Case(
        "flask_random_secret_key_fallback",
        CONFIG,
        ("FC212",),
        ("app.py", "os.urandom"),
        "SECRET_KEY falls back to os.urandom(), a new key at each start: "
        "s.yaml does not set FLASK_SECRET_KEY.",
        "warning",
    ),
    Case(
        "flask_sqlite_in_code",
        BASE,
        ("FC206",),
        ("app.py", "SQLALCHEMY_DATABASE_URI"),
        "SQLALCHEMY_DATABASE_URI of the app 'app:app' is SQLite at /code/instance/shop.db, "
        "inside the code folder.",
    ),
    Case(
        "flask_sqlite_in_tmp",
        BASE,
        ("FC207",),
        ("app.py", "SQLALCHEMY_BINDS ="),
        "SQLALCHEMY_BINDS['cache'] of the app 'app:app' is SQLite at /tmp/cache.db",
    ),
    # The app's Python source.
    Case(
        "syntax_error",
        BASE,
        ("FC300",),
        ("legacy.py", "print"),
        "does not parse",
        None,
        _syntax_error,
    ),
    Case("file_write", BASE, ("FC301",), ("store.py", "open("), "/code/data/items.json"),
    Case("background_work", BASE, ("FC302",), ("jobs.py", "threading.Thread"), "daemon thread"),
    Case("websocket", BASE, ("FC303",), ("sockets.py", "import Sock"), "'flask_sock'"),
    Case(
        "app_import",
        BASE,
        ("FC304",),
        ("app.py", "import fcmigrate_doctor_fixture_missing_package"),
        "No module named 'fcmigrate_doctor_fixture_missing_package'",
    ),
    Case("server_name", BASE, ("FC305",), ("app.py", 'config["SERVER_NAME"]'), "SERVER_NAME"),
    Case(
        "application_root",
        BASE,
        ("FC306",),
        ("app.py", 'APPLICATION_ROOT = "/shop"'),
        "app.py sets Flask's APPLICATION_ROOT to '/shop'",
    ),
    Case(
        "root_relative_url",
        BASE,
        ("FC307",),
        ("templates/base.html", 'href="/login"'),
        'templates/base.html:2 href="/login"',
        setup=_login_link,
    ),
    # Deploy config.
    Case("config_invalid", BASE, ("FC400",), ("s.yaml", "methods:"), "not valid YAML"),
    Case("trigger_methods", CONFIG, ("FC401",), ("s.yaml", "methods:"), "not HEAD or OPTIONS"),
    Case(
        "trigger_methods_fun",
        BASE,
        ("FC401",),
        ("template.yml", "Methods:"),
        "not HEAD or OPTIONS",
    ),
    Case("forced_download", CONFIG, ("FC402",), ("s.yaml", "- triggerName"), "no custom domain"),
    Case("forced_download_fc2", BASE, ("FC402",), ("s.yaml", "- name: http"), "no custom domain"),
    Case(
        "package_size",
        BASE,
        ("FC403",),
        (None, None),
        "zips to 101.0 MB (largest, zipped: model.bin 101.0 MB), over the 100 MB limit",
        "warning",
        _random(101_000_000),
    ),
    Case("timeout_short", CONFIG, ("FC404",), ("views.py", "time.sleep"), "timeout is 60 s"),
    Case("old_runtime", CONFIG, ("FC405",), ("s.yaml", "runtime:"), "'custom'"),
]


@pytest.fixture(autouse=True)
def _hermetic_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # s.yaml's ${env('DJANGO_SECRET_KEY')} is resolved from the shell at deploy time.
    monkeypatch.delenv("DJANGO_SECRET_KEY", raising=False)
    monkeypatch.delenv("FLASK_SECRET_KEY", raising=False)


def make_project(tmp_path: Path, case: Case) -> Path:
    root = tmp_path / case.name
    root.mkdir()
    for part in (*case.bases, case.name):
        if (FIXTURES / part).is_dir():
            shutil.copytree(FIXTURES / part, root, dirs_exist_ok=True)
    for bootstrap in root.rglob("bootstrap"):
        bootstrap.chmod(0o755)
    if case.setup:
        case.setup(root)
    return root


def line_of(root: Path, file: str, text: str) -> int:
    lines = (root / file).read_text(errors="replace").splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fixture_reports_exactly_its_finding(case: Case, tmp_path: Path) -> None:
    root = make_project(tmp_path, case)

    report = diagnose(root)

    assert [f.id for f in report.findings] == list(case.expected), render_text(report)
    assert report.notes == []
    if not case.expected:
        return
    finding = report.findings[0]
    assert finding.severity == (case.severity or RULES[finding.id].severity)
    assert case.says in finding.message
    assert finding.why == RULES[finding.id].why
    assert finding.fix
    assert case.at is not None
    file, marker = case.at
    assert finding.file == file
    assert finding.line == (line_of(root, file, marker) if file and marker else None)


def test_every_rule_has_a_fixture() -> None:
    covered = {rule_id for case in CASES for rule_id in case.expected}
    assert covered == set(RULES)


# --- reading start commands ---------------------------------------------------------------

ANALYZE = [
    # (shell line, kind, app spec or script, binds, timeout)
    ('exec "$python" -m fcmigrate serve \'app:app\' "$@"', "fcmigrate", "app:app", [], None),
    (
        "exec /var/fc/lang/python3.10/bin/python3 -u -m gunicorn -w 2 -b :9000 --timeout=0 "
        "pkg.wsgi:application",
        "gunicorn",
        "pkg.wsgi:application",
        [":9000"],
        "0",
    ),
    ("gunicorn -c conf.py 'app:create_app()'", "gunicorn", "app:create_app()", [], None),
    (
        "GUNICORN_CMD_ARGS=-t0 gunicorn -bunix:/tmp/s app:app",
        "gunicorn",
        "app:app",
        ["unix:/tmp/s"],
        None,
    ),
    (
        "env PORT=9000 waitress-serve --port=9000 app:app",
        "waitress",
        "app:app",
        ["0.0.0.0:9000"],
        None,
    ),
    ("sh -c 'cd /code && python3 -B app.py'", "script", "app.py", [], None),
    ("python -m mysite", "module", "mysite", [], None),
    ("python -u -m flask --app app run", "dev", None, [], None),
    ("/code/manage.py runserver", "dev", None, [], None),
    ("python3 -m http.server 9000", "dev", None, [], None),
    ("fcmigrate serve app:app -p 8000", "fcmigrate", "app:app", ["0.0.0.0:8000"], None),
]


@pytest.mark.parametrize(("line", "kind", "target", "binds", "timeout"), ANALYZE)
def test_start_commands_are_read_like_a_shell(
    line: str, kind: str, target: str | None, binds: list[str], timeout: str | None
) -> None:
    [argv] = list(shell_commands(line))
    launch = analyze(argv)
    assert launch is not None
    assert (launch.kind, launch.app_spec or launch.script, launch.binds, launch.timeout) == (
        kind,
        target,
        binds,
        timeout,
    )


@pytest.mark.parametrize(
    "line", ["uvicorn app:app", "cd /code", 'python="${python:-python3}"', "python -c 'print(1)'"]
)
def test_other_commands_launch_nothing_doctor_knows(line: str) -> None:
    assert all(analyze(argv) is None for argv in shell_commands(line))


# --- variations the table does not cover --------------------------------------------------


def _project(tmp_path: Path, name: str, bases: tuple[str, ...] = ()) -> Path:
    return make_project(tmp_path, Case(name, bases, ()))


def test_fc_hosts_opt_in_turns_host_findings_into_notes(tmp_path: Path) -> None:
    root = _project(tmp_path, "allowed_hosts", DJANGO)
    settings = root / "mysite" / "settings.py"
    settings.write_text(settings.read_text() + "CSRF_TRUSTED_ORIGINS = []\n")
    s_yaml = root / "s.yaml"
    s_yaml.write_text(
        s_yaml.read_text().replace(
            "        DJANGO_SECRET_KEY:",
            '        FCMIGRATE_TRUST_FC_HOSTS: "1"\n        DJANGO_SECRET_KEY:',
        )
    )

    report = diagnose(root)

    assert report.findings == []
    trust_line = line_of(root, "s.yaml", "FCMIGRATE_TRUST_FC_HOSTS")
    assert [n.split(";")[0] for n in report.notes] == [
        "ALLOWED_HOSTS lists only 'localhost', '127.0.0.1'",
        "CSRF_TRUSTED_ORIGINS has no https:// origin",
    ]
    assert all(f"FCMIGRATE_TRUST_FC_HOSTS=1 (s.yaml:{trust_line})" in n for n in report.notes)
    assert "Notes:\n  - ALLOWED_HOSTS" in render_text(report)


def test_a_start_file_named_in_the_config_is_checked_like_a_bootstrap(tmp_path: Path) -> None:
    root = _project(tmp_path, "clean_config", CONFIG)
    (root / "bootstrap").unlink()
    s_yaml = root / "s.yaml"
    s_yaml.write_text(s_yaml.read_text().replace("[/code/bootstrap]", "[/code/start.sh]"))

    assert [(f.id, f.message) for f in diagnose(root).findings] == [
        ("FC105", "Function 'demo' runs /code/start.sh, but 'start.sh' does not exist.")
    ]

    start = root / "start.sh"
    start.write_text("gunicorn -b 127.0.0.1:9000 -t 0 app:app\n")
    start.chmod(0o644)
    assert sorted((f.id, f.file) for f in diagnose(root).findings) == [
        ("FC103", "start.sh"),
        ("FC106", "start.sh"),
        ("FC108", "start.sh"),
    ]


def test_a_bind_computed_in_gunicorn_conf_is_not_judged(tmp_path: Path) -> None:
    root = _project(tmp_path, "bind_gunicorn_conf", BASE)
    (root / "gunicorn.conf.py").write_text(
        'import os\n\nbind = "0.0.0.0:" + os.environ.get("FC_SERVER_PORT", "9000")\ntimeout = 0\n'
    )

    assert diagnose(root).findings == []


def test_allowed_hosts_without_fc_hosts_or_domain_is_a_warning(tmp_path: Path) -> None:
    root = _project(tmp_path, "forced_download", DJANGO)
    (root / "mysite" / "settings.py").write_text(
        "from mysite.clean import *  # noqa: F403\n\nALLOWED_HOSTS = ['www.example.com']\n"
    )

    findings = {f.id: f for f in diagnose(root).findings}

    assert sorted(findings) == ["FC204", "FC402"]
    assert findings["FC204"].severity == "warning"
    assert "none of FC's hosts" in findings["FC204"].message


def test_settings_that_hang_are_a_finding_after_the_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path, "clean_django", DJANGO)
    (root / "mysite" / "settings.py").write_text("import threading\n\nthreading.Event().wait()\n")
    monkeypatch.setattr(probe_module, "PROBE_TIMEOUT", 1.0)

    started = time.monotonic()
    findings = diagnose(root).findings

    assert time.monotonic() - started < 10
    assert [(f.id, f.message) for f in findings] == [
        (
            "FC200",
            "Importing the settings 'mysite.settings' failed: did not finish importing in 1 s",
        )
    ]


def test_settings_with_a_syntax_error_are_one_finding(tmp_path: Path) -> None:
    root = _project(tmp_path, "clean_django", DJANGO)
    (root / "mysite" / "settings.py").write_text("DEBUG = (\n")

    findings = diagnose(root).findings

    assert [(f.id, f.file, f.line) for f in findings] == [("FC200", "mysite/settings.py", 1)]
    assert "SyntaxError: " in findings[0].message


def test_settings_that_exit_are_a_finding(tmp_path: Path) -> None:
    root = _project(tmp_path, "clean_django", DJANGO)
    (root / "mysite" / "settings.py").write_text("import sys\n\nsys.exit('no database')\n")

    findings = diagnose(root).findings

    assert [(f.id, f.message.rpartition(": ")[2], f.line) for f in findings] == [
        ("FC200", "no database", 3)
    ]


def test_secret_key_from_the_config_is_checked_and_never_printed(tmp_path: Path) -> None:
    root = _project(tmp_path, "clean_django", DJANGO)
    s_yaml = root / "s.yaml"
    secret = "short-s3cret"
    s_yaml.write_text(s_yaml.read_text().replace("${env('DJANGO_SECRET_KEY')}", secret))

    report = diagnose(root)

    assert [(f.id, f.file, f.message) for f in report.findings] == [
        ("FC202", "s.yaml", "SECRET_KEY is only 12 characters long (Django wants at least 50).")
    ]
    assert report.findings[0].line == line_of(root, "s.yaml", secret)
    assert secret not in render_text(report) + render_json(report)


def test_hard_coded_secret_key_is_never_printed(tmp_path: Path) -> None:
    report = diagnose(_project(tmp_path, "secret_key_literal", DJANGO))
    assert [f.id for f in report.findings] == ["FC202"]
    output = render_text(report) + render_json(report)
    assert "k3y-written-in-the-code" not in output


def test_secret_key_resolved_from_the_shell_at_deploy_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # s deploy fills ${env('DJANGO_SECRET_KEY')} from the shell; doctor does the same.
    root = _project(tmp_path, "clean_django", DJANGO)
    monkeypatch.setenv("DJANGO_SECRET_KEY", "django-insecure-" + "x" * 40)

    assert [f.message for f in diagnose(root).findings] == [
        "SECRET_KEY starts with 'django-insecure-' (startproject's placeholder)."
    ]


FLASK_KEY = "fixture-flask-key-written-in-the-code"
#: What secrets.token_hex() makes.
NEW_KEY = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def _set_env(root: Path, name: str, value: str) -> None:
    s_yaml = root / "s.yaml"
    s_yaml.write_text(
        s_yaml.read_text().replace(
            "        DJANGO_SECRET_KEY:", f"        {name}: {value}\n        DJANGO_SECRET_KEY:"
        )
    )


def test_flask_secret_key_never_leaves_the_import(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _project(tmp_path, "flask_secret_key", BASE)

    text_code, text, _ = run_main(capsys, "doctor", str(root))
    json_code, raw, _ = run_main(capsys, "doctor", str(root), "--json")

    assert (text_code, json_code) == (1, 1)
    [finding] = json.loads(raw)["findings"]
    assert (finding["id"], finding["file"]) == ("FC202", "app.py")
    assert finding["fix"] == (
        'app.config["SECRET_KEY"] = os.environ["SECRET_KEY"]   # set it in environmentVariables'
    )
    probed = json.dumps(
        probe_module.run_probe(root, {}, django_settings=None, app_specs=["app:app"]).apps
    )
    assert '"sha256"' in probed
    assert FLASK_KEY not in text + raw + probed


def test_flask_secret_key_set_by_the_deploy_config_is_fine(tmp_path: Path) -> None:
    root = _project(tmp_path, "flask_secret_key", CONFIG)
    assert [f.id for f in diagnose(root).findings] == ["FC202"]
    app = root / "app.py"
    app.write_text(app.read_text().replace(f'"{FLASK_KEY}"', 'os.environ["FLASK_SECRET_KEY"]'))
    app.write_text("import os\n" + app.read_text())
    # Unset in this shell: s deploy fills it in, so it is not known here.
    _set_env(root, "FLASK_SECRET_KEY", "${env('FLASK_SECRET_KEY')}")

    assert diagnose(root).findings == []


def test_flask_fallback_key_is_fine_once_the_config_sets_the_variable(tmp_path: Path) -> None:
    root = _project(tmp_path, "flask_secret_key_fallback", CONFIG)
    assert [f.id for f in diagnose(root).findings] == ["FC203"]

    _set_env(root, "FLASK_SECRET_KEY", NEW_KEY)

    assert diagnose(root).findings == []


def test_short_flask_secret_key_in_the_deploy_config(tmp_path: Path) -> None:
    root = _project(tmp_path, "flask_secret_key_fallback", CONFIG)
    _set_env(root, "FLASK_SECRET_KEY", "hunter2")

    report = diagnose(root)

    assert [(f.id, f.file, f.line) for f in report.findings] == [
        ("FC202", "s.yaml", line_of(root, "s.yaml", "FLASK_SECRET_KEY:"))
    ]
    assert "SECRET_KEY of only 7 characters" in report.findings[0].message
    assert "hunter2" not in render_text(report) + render_json(report)


def test_flask_app_without_a_secret_key_is_fine(tmp_path: Path) -> None:
    root = _project(tmp_path, "flask_secret_key", BASE)
    assert [f.id for f in diagnose(root).findings] == ["FC202"]
    app = root / "app.py"
    app.write_text(app.read_text().replace(f'app.config["SECRET_KEY"] = "{FLASK_KEY}"\n', ""))

    assert diagnose(root).findings == []


# A SECRET_KEY made at random when the app starts: (keys.py, text on the reported line, the
# variable it is the fallback of). keys.py is read, not imported.
RANDOM_KEYS = {
    "config-item": ('import secrets\n\napp.config["SECRET_KEY"] = secrets.token_hex()\n', None),
    "from-mapping": (
        "import os\n\n\ndef create_app():\n    app = Flask(__name__)\n"
        "    app.config.from_mapping(\n        SECRET_KEY=os.urandom(16),\n    )\n    return app\n",
        None,
    ),
    "uuid4-hex": ("import uuid\n\nSECRET_KEY = uuid.uuid4().hex\n", None),
    "str-uuid1": ("from uuid import uuid1\n\nSECRET_KEY = str(uuid1())\n", None),
    "base64": (
        "import base64\nimport os\n\n"
        "SECRET_KEY = base64.urlsafe_b64encode(os.urandom(32)).decode()\n",
        None,
    ),
    "join-random-choice": (
        "import random\nimport string\n\n"
        "SECRET_KEY = ''.join(random.choice(string.ascii_letters) for _ in range(50))\n",
        None,
    ),
    "get-random-string": (
        "from django.utils.crypto import get_random_string\n\nSECRET_KEY = get_random_string(50)\n",
        None,
    ),
    "config-class": (
        "import secrets\n\n\nclass Config:\n    SECRET_KEY = secrets.token_urlsafe()\n",
        None,
    ),
    "through-a-name": (
        "import os\n\n\ndef create_app():\n    key = os.urandom(24).hex()\n"
        '    app.config.update({"SECRET_KEY": key})\n',
        None,
    ),
    "getenv-default": (
        'import os\nimport secrets\n\nSECRET_KEY = os.getenv("APP_KEY", secrets.token_hex())\n',
        "APP_KEY",
    ),
    "environ-get-or": (
        'import os\n\napp.secret_key = os.environ.get("APP_KEY") or os.urandom(24)\n',
        "APP_KEY",
    ),
    "try-except": (
        'import os\nimport secrets\n\ntry:\n    SECRET_KEY = os.environ["APP_KEY"]\n'
        "except KeyError:\n    SECRET_KEY = secrets.token_hex()\n",
        "APP_KEY",
    ),
    "if-in-environ": (
        'import os\nimport secrets\n\nif "APP_KEY" in os.environ:\n'
        '    SECRET_KEY = os.environ["APP_KEY"]\nelse:\n    SECRET_KEY = secrets.token_hex()\n',
        "APP_KEY",
    ),
    "if-not-set": (
        'import os\nimport secrets\n\nSECRET_KEY = os.environ.get("APP_KEY")\n'
        "if not SECRET_KEY:\n    SECRET_KEY = secrets.token_hex()\n",
        "APP_KEY",
    ),
}
_RANDOM_CALL = re.compile(r"(os\.urandom|secrets\.\w+|uuid[14]|random\.choice|get_random_string)\(")


@pytest.mark.parametrize(("source", "variable"), RANDOM_KEYS.values(), ids=list(RANDOM_KEYS))
def test_random_secret_keys_are_found(tmp_path: Path, source: str, variable: str | None) -> None:
    root = _project(tmp_path, "clean", BASE)
    (root / "keys.py").write_text(source)

    findings = diagnose(root).findings

    line = next(i for i, text in enumerate(source.splitlines(), 1) if _RANDOM_CALL.search(text))
    severity = "warning" if variable else "error"
    assert [(f.id, f.severity, f.file, f.line) for f in findings] == [
        ("FC212", severity, "keys.py", line)
    ]
    if variable:
        assert findings[0].message.endswith(
            f"the deploy config (there is none) does not set {variable}."
        )
        assert findings[0].fix == f"environmentVariables:\n  {variable}: ${{env('{variable}')}}"
    else:
        assert 'os.environ["SECRET_KEY"]   # one fixed key' in findings[0].fix


# Random values that are not a SECRET_KEY, or not one FC would run with.
NOT_RANDOM_KEYS = {
    "nonce-in-a-view": (
        "import secrets\n\n\n@app.route('/')\ndef index():\n    nonce = secrets.token_hex()\n"
        "    session['csrf_nonce'] = secrets.token_urlsafe()\n"
        "    return render_template('index.html', nonce=nonce)\n"
    ),
    "local-variable": (
        "import secrets\n\n\ndef rotate():\n    secret_key = secrets.token_hex()\n"
        "    vault.store(secret_key)\n"
    ),
    "main-guard": (
        "import os\n\nif __name__ == '__main__':\n    app.secret_key = os.urandom(24)\n"
    ),
    "debug-only": (
        "import os\nimport secrets\n\nif DEBUG:\n    SECRET_KEY = secrets.token_hex()\n"
        "else:\n    SECRET_KEY = os.environ['SECRET_KEY']\n"
    ),
    "uuid5-is-not-random": (
        "import uuid\n\nSECRET_KEY = uuid.uuid5(uuid.NAMESPACE_DNS, 'shop.example.com').hex\n"
    ),
}


@pytest.mark.parametrize("source", NOT_RANDOM_KEYS.values(), ids=list(NOT_RANDOM_KEYS))
def test_other_random_values_are_not_random_keys(tmp_path: Path, source: str) -> None:
    root = _project(tmp_path, "clean", BASE)
    (root / "keys.py").write_text(source)
    (root / "control.py").write_text("import os\n\nSECRET_KEY = os.urandom(24)\n")

    findings = diagnose(root).findings

    assert [(f.id, f.file) for f in findings] == [("FC212", "control.py")]


def test_random_fallback_is_fine_once_the_config_sets_the_variable(tmp_path: Path) -> None:
    root = _project(tmp_path, "flask_random_secret_key_fallback", CONFIG)
    assert [f.id for f in diagnose(root).findings] == ["FC212"]

    _set_env(root, "FLASK_SECRET_KEY", "${env('FLASK_SECRET_KEY')}")

    assert diagnose(root).findings == []


def test_a_key_set_for_a_random_fallback_is_judged_like_any_key(tmp_path: Path) -> None:
    root = _project(tmp_path, "flask_random_secret_key_fallback", CONFIG)
    assert [f.id for f in diagnose(root).findings] == ["FC212"]
    _set_env(root, "FLASK_SECRET_KEY", "hunter2")

    findings = diagnose(root).findings

    assert [(f.id, f.file, f.line) for f in findings] == [
        ("FC202", "s.yaml", line_of(root, "s.yaml", "FLASK_SECRET_KEY:"))
    ]


def test_django_random_fallback_follows_the_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("APP_SECRET_KEY", raising=False)
    root = _project(tmp_path, "random_secret_key", DJANGO)
    settings = root / "mysite" / "settings.py"
    assert [f.id for f in diagnose(root).findings] == ["FC212"]
    settings.write_text(
        "import os\n"
        + settings.read_text().replace(
            "SECRET_KEY = get_random_secret_key()",
            'SECRET_KEY = os.environ.get("APP_SECRET_KEY", get_random_secret_key())',
        )
    )

    findings = diagnose(root).findings
    assert [(f.id, f.severity, f.line) for f in findings] == [
        ("FC212", "warning", line_of(root, "mysite/settings.py", "SECRET_KEY ="))
    ]
    assert findings[0].message.endswith("s.yaml does not set APP_SECRET_KEY.")

    _set_env(root, "APP_SECRET_KEY", "${env('APP_SECRET_KEY')}")
    assert diagnose(root).findings == []


@pytest.mark.parametrize(
    ("case", "bases", "old", "new"),
    [
        # 8 characters: on its own, FC202's "short enough to guess".
        ("flask_random_secret_key", BASE, "os.urandom(24)", "secrets.token_hex(4)"),
        # 43 characters, under Django's 50.
        ("random_secret_key", DJANGO, "get_random_secret_key()", "secrets.token_urlsafe()"),
    ],
    ids=["flask", "django"],
)
def test_a_random_key_is_not_also_reported_as_short(
    tmp_path: Path, case: str, bases: tuple[str, ...], old: str, new: str
) -> None:
    root = _project(tmp_path, case, bases)
    source = next(root.rglob("app.py" if case.startswith("flask") else "settings.py"))
    source.write_text("import secrets\n" + source.read_text().replace(old, new))

    assert [f.id for f in diagnose(root).findings] == ["FC212"]


def test_flask_sqlite_on_a_nas_mount_is_fine(tmp_path: Path) -> None:
    root = _project(tmp_path, "flask_sqlite_in_code", CONFIG)
    app = root / "app.py"
    app.write_text(app.read_text().replace("sqlite:///shop.db", "sqlite:////mnt/data/shop.db"))
    findings = diagnose(root).findings
    assert [(f.id, f.message.rpartition(", ")[2]) for f in findings] == [("FC206", "outside /tmp.")]
    s_yaml = root / "s.yaml"
    s_yaml.write_text(
        s_yaml.read_text().replace(
            "      timeout: 60\n",
            "      timeout: 60\n      nasConfig:\n        mountPoints:\n"
            "          - serverAddr: nas.example.com:/app\n            mountDir: /mnt/data\n",
        )
    )

    assert diagnose(root).findings == []


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("SQLALCHEMY_DATABASE_URI", "sqlite://"),
        ("SQLALCHEMY_DATABASE_URI", "sqlite:///:memory:"),
        ("DATABASE", ":memory:"),
        ("DATABASE", "shop"),  # a database server's name, not a file
    ],
    ids=["memory-url", "memory-url-path", "memory-database", "server-database-name"],
)
def test_flask_sqlite_in_memory_or_on_a_server_is_fine(
    tmp_path: Path, key: str, value: str
) -> None:
    root = _project(tmp_path, "flask_sqlite_in_code", BASE)
    assert [f.id for f in diagnose(root).findings] == ["FC206"]
    app = root / "app.py"
    app.write_text(
        app.read_text().replace(
            'config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///shop.db"',
            f"config[{key!r}] = {value!r}",
        )
    )

    assert diagnose(root).findings == []


def test_only_sqlite_paths_leave_the_import(tmp_path: Path) -> None:
    root = _project(tmp_path, "flask_sqlite_in_code", BASE)
    app = root / "app.py"
    app.write_text(
        app.read_text()
        + 'app.config["DATABASE"] = "mysql://shop:pa55word@db.internal/shop"\n'
        + "app.config['SQLALCHEMY_BINDS'] = {\n"
        + "    'orders': 'postgresql://shop:pa55word@db.internal/orders',\n"
        + "    'audit': {'url': 'sqlite:////tmp/audit.db'},\n"
        + "}\n"
    )

    report = diagnose(root)
    probed = json.dumps(
        probe_module.run_probe(root, {}, django_settings=None, app_specs=["app:app"]).apps
    )

    assert sorted((f.id, f.message.partition(" of ")[0]) for f in report.findings) == [
        ("FC206", "SQLALCHEMY_DATABASE_URI"),
        ("FC207", "SQLALCHEMY_BINDS['audit']"),
    ]
    assert "pa55word" not in probed + render_json(report)
    assert "db.internal" not in probed


def test_flask_tutorial_factory_app(tmp_path: Path) -> None:
    """The tutorial's pattern: a "dev" key and SQLite in the instance folder, both defaults
    that an instance/config.py may replace."""
    root = _project(tmp_path, "flask_tutorial", CONFIG)
    factory = "journal/__init__.py"

    report = diagnose(root)

    assert [(f.id, f.file, f.line) for f in report.findings] == [
        ("FC202", factory, line_of(root, factory, 'SECRET_KEY="dev"')),
        ("FC206", factory, line_of(root, factory, "DATABASE=")),
    ]
    assert report.findings[1].message == (
        "DATABASE of the app 'journal:create_app()' is SQLite at "
        "/code/instance/journal.sqlite, inside the code folder."
    )
    assert 'app.config["DATABASE"] = "/mnt/nas/journal.sqlite"' in report.findings[1].fix

    # Flask's deployment docs keep the real key in instance/config.py, out of version control.
    config = root / "instance" / "config.py"
    config.parent.mkdir(exist_ok=True)
    config.write_text(f'SECRET_KEY = "{NEW_KEY}"\nDATABASE = "/tmp/journal.sqlite"\n')
    assert [(f.id, f.file, f.line) for f in diagnose(root).findings] == [
        ("FC207", "instance/config.py", 2)
    ]
    config.write_text('SECRET_KEY = "changeme"\n')
    findings = diagnose(root).findings
    assert [(f.id, f.file, f.line) for f in findings] == [
        ("FC202", "instance/config.py", 1),
        ("FC206", factory, line_of(root, factory, "DATABASE=")),
    ]
    assert "SECRET_KEY of only 8 characters" in findings[0].message


def test_file_write_inside_a_function_is_a_warning(tmp_path: Path) -> None:
    root = _project(tmp_path, "clean", BASE)
    (root / "export.py").write_text(
        "from pathlib import Path\n\n\ndef export(rows):\n"
        "    Path('exports/out.csv').write_text(rows)\n"
        "    open('/tmp/ok.csv', 'w').write(rows)\n"
    )

    findings = diagnose(root).findings

    assert [(f.id, f.severity, f.line) for f in findings] == [("FC301", "warning", 5)]
    assert "/code/exports/out.csv" in findings[0].message
    assert "when that code runs" in findings[0].message


def test_writes_that_cannot_fail_or_are_expected_to_are_fine(tmp_path: Path) -> None:
    root = _project(tmp_path, "clean", BASE)
    (root / "logs").mkdir()
    (root / "setup_dirs.py").write_text(
        "import os\n\n"
        "os.makedirs('logs', exist_ok=True)\n"  # the folder ships in the package
        "try:\n    os.makedirs('instance')\nexcept OSError:\n    pass\n"  # Flask's tutorial
        "os.makedirs('cache', exist_ok=True)\n"
    )

    assert [(f.id, f.line) for f in diagnose(root).findings] == [("FC301", 8)]


def test_writes_to_a_configured_nas_mount_are_fine(tmp_path: Path) -> None:
    root = _project(tmp_path, "clean_config", CONFIG)
    s_yaml = root / "s.yaml"
    s_yaml.write_text(
        s_yaml.read_text().replace(
            "      timeout: 60\n",
            "      timeout: 60\n      nasConfig:\n        mountPoints:\n"
            "          - serverAddr: nas.example.com:/app\n            mountDir: /mnt/data\n",
        )
    )
    (root / "store.py").write_text("LOG = open('/mnt/data/app.log', 'a')\n")

    assert diagnose(root).findings == []


@pytest.fixture
def small_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """FC's limits at 2 MB and 1 MB, so the tests zip megabytes, not hundreds."""
    monkeypatch.setattr(checks_config, "MAX_PACKAGE_BYTES", 2_000_000)
    monkeypatch.setattr(checks_config, "API_UPLOAD_BYTES", 1_000_000)


@pytest.mark.usefixtures("small_limits")
def test_package_over_the_limit_is_an_error_and_fcignore_excludes(tmp_path: Path) -> None:
    root = _project(tmp_path, "clean", BASE)
    _random(3_000_000)(root)

    findings = diagnose(root).findings
    assert [(f.id, f.severity) for f in findings] == [("FC403", "error")]
    assert "over FC's 500 MB limit" in findings[0].message

    (root / ".fcignore").write_text("# big files live in OSS\n*.bin\n!keep.bin\n")
    assert diagnose(root).findings == []


def test_package_size_is_the_zip_not_the_folder(tmp_path: Path) -> None:
    """150 MB of zeros on disk deflate to well under 1 MB: nothing to report."""
    root = _project(tmp_path, "clean", BASE)
    _sparse(150 * MB)(root)

    assert diagnose(root).findings == []


@pytest.mark.usefixtures("small_limits")
def test_package_size_leaves_out_what_migrate_leaves_out(tmp_path: Path) -> None:
    root = _project(tmp_path, "clean", BASE)
    for folder in (".venv", "node_modules", "python", "pkg/__pycache__"):
        (root / folder).mkdir(parents=True)
        _random(3_000_000)(root / folder)
    (root / ".venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")

    assert diagnose(root).findings == []


@pytest.mark.usefixtures("small_limits")
def test_a_migrate_build_counts_its_vendored_packages(tmp_path: Path) -> None:
    build = _project(tmp_path, "clean", BASE)
    (build / "python" / "fcmigrate").mkdir(parents=True)
    (build / "python" / "fcmigrate" / "__init__.py").write_text("")
    _random(3_000_000)(build / "python")

    findings = diagnose(build).findings
    assert [(f.id, f.severity) for f in findings] == [("FC403", "error")]
    assert "largest, zipped: python 3.0 MB)" in findings[0].message


@pytest.mark.usefixtures("small_limits")
def test_migrates_own_build_folder_counts_only_when_a_config_deploys_it(
    tmp_path: Path,
) -> None:
    """Without a deploy config the folder is what migrate packages, which leaves out
    .fcmigrate/; an s.yaml with ``code: ./`` really uploads it."""
    root = _project(tmp_path, "clean", BASE)
    build = root / ".fcmigrate" / "build"
    build.mkdir(parents=True)
    _random(3_000_000)(build)
    assert diagnose(root).findings == []

    configured = _project(tmp_path, "clean_config", CONFIG)
    (configured / ".fcmigrate" / "build").mkdir(parents=True)
    _random(1_500_000)(configured / ".fcmigrate" / "build")
    findings = diagnose(configured).findings
    assert [(f.id, f.severity) for f in findings] == [("FC403", "warning")]
    assert "largest, zipped: .fcmigrate 1.5 MB)" in findings[0].message


def test_gunicorn_timeout_longer_than_the_function_timeout(tmp_path: Path) -> None:
    root = _project(tmp_path, "clean_config", CONFIG)
    (root / "bootstrap").write_text(
        "#!/bin/bash\nexec gunicorn --bind 0.0.0.0:9000 --timeout 120 app:app\n"
    )

    findings = diagnose(root).findings

    assert sorted((f.id, f.file, f.line) for f in findings) == [
        ("FC109", "bootstrap", 2),
        ("FC404", "bootstrap", 2),
    ]
    timeout = next(f for f in findings if f.id == "FC404")
    assert "(120 s, the command line) is longer than the function timeout of 60 s" in (
        timeout.message
    )


def test_missing_timeout_means_fc_default_of_3_seconds(tmp_path: Path) -> None:
    root = _project(tmp_path, "timeout_short", CONFIG)
    s_yaml = root / "s.yaml"
    s_yaml.write_text(s_yaml.read_text().replace("      timeout: 60\n", ""))

    findings = diagnose(root).findings

    assert [f.id for f in findings] == ["FC404"]
    assert "the function timeout is 3 s (s.yaml sets none" in findings[0].message


def test_ignore_comment_and_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _project(tmp_path, "file_write", BASE)
    assert [f.id for f in diagnose(root, ignore=["fc301"]).findings] == []
    assert [f.id for f in diagnose(root, ignore=["file-write"]).findings] == []
    code, _, err = run_main(capsys, "doctor", str(root), "--ignore", "FC999")
    assert code == 2
    assert err.startswith("Error: Unknown finding 'FC999'.")

    store = root / "store.py"
    store.write_text(
        store.read_text().replace(
            'open("data/items.json", "w") as out:',
            'open("data/items.json", "w") as out:  # fcmigrate: ignore[FC301]',
        )
    )
    assert diagnose(root).findings == []


def test_doctor_never_writes_into_the_project(tmp_path: Path) -> None:
    root = _project(tmp_path, "application_root", BASE)
    shutil.copytree(FIXTURES / "_django", root, dirs_exist_ok=True)

    def snapshot() -> dict[str, float]:
        return {str(p.relative_to(root)): p.stat().st_mtime for p in root.rglob("*")}

    before = snapshot()
    report = diagnose(root)

    assert {f.id for f in report.findings} >= {"FC306"}
    assert snapshot() == before
    assert not list(root.rglob("__pycache__"))


def test_nothing_the_project_starts_at_import_outlives_the_probe(tmp_path: Path) -> None:
    root = _project(tmp_path, "clean_django", DJANGO)
    marker = tmp_path / "still-running"
    (root / "mysite" / "settings.py").write_text(
        "import subprocess\nimport sys\n\nfrom mysite.clean import *  # noqa: F403\n\n"
        "subprocess.Popen([sys.executable, '-c', "
        f"'import time, pathlib; time.sleep(1); pathlib.Path({str(marker)!r}).touch()'])\n"
    )

    diagnose(root)
    time.sleep(1.5)

    assert not marker.exists()


def _hashes(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): "dir"
        if p.is_dir()
        else hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
    }


def test_a_write_at_import_inside_a_function_is_an_error_naming_the_file(tmp_path: Path) -> None:
    """The source scan sees the write inside create_app() and cannot know it runs at import;
    importing the app (read-only, as on FC) shows that it does."""
    root = _project(tmp_path, "clean", BASE)
    (root / "app.py").write_text(
        "import logging\n\n\ndef create_app():\n"
        "    logging.getLogger().addHandler(logging.FileHandler('audit.log'))\n"
        "    return lambda environ, start_response: [b'']\n\n\napp = create_app()\n"
    )
    before = _hashes(root)

    findings = diagnose(root).findings

    # One problem, one finding: the import's failure is that write.
    assert [(f.id, f.severity, f.file, f.line) for f in findings] == [
        ("FC301", "error", "app.py", 5),
    ]
    assert findings[0].message == (
        "logging.FileHandler() writes to /code/audit.log, which is read-only on FC (at import "
        "time)."
    )
    assert _hashes(root) == before


def test_a_write_only_the_import_shows_is_reported(tmp_path: Path) -> None:
    """A vendored library does the write: nothing in the app's source says it writes."""
    root = _project(tmp_path, "clean", BASE)
    (root / "python" / "tracker").mkdir(parents=True)
    (root / "python" / "tracker" / "__init__.py").write_text(
        "import os\n\n\ndef setup(folder):\n    os.makedirs(os.path.join(folder, 'state'))\n"
    )
    (root / "app.py").write_text(
        "import os\n\nimport tracker\n\ntracker.setup(os.path.dirname(__file__))\n\n\n"
        "def app(environ, start_response):\n    return [b'']\n"
    )
    before = _hashes(root)

    findings = diagnose(root).findings

    assert [(f.id, f.severity, f.file, f.line) for f in findings] == [
        ("FC301", "error", "app.py", 5),
    ]
    assert findings[0].message == (
        "Importing the project writes to state, which is read-only on FC (at import time)."
    )
    assert _hashes(root) == before


def test_a_refused_write_the_app_survives_is_not_reported(tmp_path: Path) -> None:
    root = _project(tmp_path, "clean", BASE)
    shutil.copy(TESTS / "build" / "readonly_fixtures" / "writes_if_it_can" / "app.py", root)
    before = _hashes(root)

    assert diagnose(root).findings == []
    assert _hashes(root) == before


def test_doctor_leaves_a_project_that_logs_beside_its_code_as_it_was(tmp_path: Path) -> None:
    root = _project(tmp_path, "clean", BASE)
    shutil.copy(TESTS / "build" / "readonly_fixtures" / "writes_logs" / "app.py", root)
    before = _hashes(root)

    findings = diagnose(root).findings

    assert ("FC301", "error", "app.py", 6) in [(f.id, f.severity, f.file, f.line) for f in findings]
    assert _hashes(root) == before


# --- the samples, after `fcmigrate wrap` ------------------------------------------------


@pytest.fixture(scope="module")
def wrapped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    base = tmp_path_factory.mktemp("wrapped")
    projects = {}
    for name, sample, spec in (
        ("flask", FLASK_SAMPLE, "app:app"),
        ("django", DJANGO_SAMPLE, "mysite.wsgi:application"),
    ):
        root = base / name
        shutil.copytree(sample, root, ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3"))
        env = python_env()
        env.pop("DJANGO_SECRET_KEY", None)
        subprocess.run(
            [sys.executable, "-m", "fcmigrate", "wrap", spec],
            cwd=root,
            env=env,
            check=True,
            capture_output=True,
            timeout=60,
        )
        projects[name] = root
    yield projects


def test_flask_sample_has_no_errors(wrapped: dict[str, Path]) -> None:
    report = diagnose(wrapped["flask"])

    # The generated s.yaml has an HTTP trigger and no custom domain: browsers download pages
    # on FC's default domain. Everything else (bootstrap, port, methods, app.run under
    # __main__, the app's import) is right.
    assert [(f.id, f.severity, f.file) for f in report.findings] == [("FC402", "warning", "s.yaml")]
    assert report.notes == []
    assert report.exit_code == 0


def test_django_sample_has_no_errors(wrapped: dict[str, Path]) -> None:
    report = diagnose(wrapped["django"])

    assert [(f.id, f.severity) for f in report.findings] == [
        # SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "django-insecure-DEV-ONLY-...") and
        # the generated s.yaml does not set DJANGO_SECRET_KEY, so FC would use the dev key.
        ("FC203", "warning"),
        # DATABASES defaults to SQLite in /tmp: empty on each new instance, not shared; the
        # default session engine keeps sessions there too (said in the same finding).
        ("FC207", "warning"),
        # No custom domain in the generated s.yaml.
        ("FC402", "warning"),
    ]
    # DEBUG comes from DJANGO_DEBUG, unset in s.yaml: off, so no FC201. ALLOWED_HOSTS and
    # CSRF_TRUSTED_ORIGINS name only local hosts, but the generated s.yaml sets
    # FCMIGRATE_TRUST_FC_HOSTS=1: notes, not findings.
    assert "(which also keeps the sessions)" in report.findings[1].message
    assert len(report.notes) == 2
    assert all("FCMIGRATE_TRUST_FC_HOSTS=1 (s.yaml:" in note for note in report.notes)
    secret = next(f for f in report.findings if f.id == "FC203")
    assert (secret.file, "DJANGO_SECRET_KEY") == (
        "mysite/settings.py",
        secret.fix.split(":")[1].strip(),
    )
    assert report.exit_code == 0


# --- the command line -------------------------------------------------------------------


def test_json_output_matches_the_report(
    wrapped: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_main(capsys, "doctor", str(wrapped["django"]), "--json")

    data = json.loads(out)
    assert code == 0
    assert data == diagnose(wrapped["django"]).to_dict()
    assert data["summary"] == {"errors": 0, "warnings": 3, "exit_code": 0}
    assert set(data["findings"][0]) == {
        "id",
        "name",
        "severity",
        "message",
        "why",
        "fix",
        "file",
        "line",
    }


def test_errors_exit_1_with_one_block_per_finding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _project(tmp_path, "bootstrap_shebang", BASE)
    (root / "Procfile").write_text("web: flask run\n")

    code, out, _ = run_main(capsys, "doctor", str(root))

    assert code == 1
    assert out.startswith("Errors (2):\n\n  Procfile:1: FC101 dev-server\n")
    assert "\n  bootstrap:1: FC108 bootstrap-shebang\n    bootstrap does not start with '#!'" in out
    assert "\n    fix: #!/bin/bash" in out
    assert out.rstrip().endswith(f"2 errors, 0 warnings in {root}.")


def test_warnings_only_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _project(tmp_path, "gunicorn_timeout", BASE)

    code, out, _ = run_main(capsys, "doctor", str(root), "--json")

    assert code == 0
    assert [f["id"] for f in json.loads(out)["findings"]] == ["FC109"]


def test_clean_project_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _project(tmp_path, "clean", BASE)
    code, out, _ = run_main(capsys, "doctor", str(root))
    assert (code, out) == (0, f"No problems found in {root}.\n")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing", "does not exist"),
        (lambda p: p / "file.txt", "is not a folder"),
    ],
    ids=["missing", "file"],
)
def test_bad_path_exits_2_with_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    make: Callable[[Path], Path],
    message: str,
) -> None:
    (tmp_path / "file.txt").write_text("x")
    path = make(tmp_path)

    code, out, err = run_main(capsys, "doctor", str(path))

    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("Error: ") and repr(str(path)) in err and message in err


def test_installed_command_exit_codes(tmp_path: Path) -> None:
    clean = _project(tmp_path, "clean", BASE)
    broken = _project(tmp_path, "bootstrap_shebang", BASE)
    codes = [
        subprocess.run(
            [sys.executable, "-m", "fcmigrate", "doctor", str(path)],
            capture_output=True,
            env=python_env(),
            timeout=60,
        ).returncode
        for path in (clean, broken, tmp_path / "missing")
    ]
    assert codes == [0, 1, 2]


def test_list_rules_prints_every_id(capsys: pytest.CaptureFixture[str]) -> None:
    main(["doctor", "--list-rules"])
    out = capsys.readouterr().out
    assert re.findall(r"^\| (FC\d{3}) \|", out, re.M) == sorted(RULES)


# --- docs and packaging -------------------------------------------------------------------


def test_docs_list_every_rule() -> None:
    page = (REPO / "docs" / "doctor.md").read_text(encoding="utf-8")
    start, end = "<!-- rules:start -->\n", "<!-- rules:end -->"
    table = page[page.index(start) + len(start) : page.index(end)]
    assert table == rules_markdown(), (
        "docs/doctor.md is out of date; replace its rule table with the output of "
        "`fcmigrate doctor --list-rules`."
    )


def test_doctor_package_is_in_the_wheel() -> None:
    # fcmigrate.doctor is a sub-package (its child-process script included): the packaging
    # config must select it, as setuptools will when it builds the wheel.
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    packages = config.get("packages", {"find": {}})
    if isinstance(packages, dict):
        find = packages.get("find", {})
        finder = (
            setuptools.find_namespace_packages
            if find.get("namespaces", True)
            else setuptools.find_packages
        )
        packages = finder(
            where=str(REPO / find.get("where", ["."])[0]),
            include=find.get("include", ["*"]),
            exclude=find.get("exclude", []),
        )
    assert "fcmigrate.doctor" in packages
    assert (REPO / "fcmigrate" / "doctor" / "_child.py").is_file()
