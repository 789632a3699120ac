"""``fcmigrate.runtime.server`` and the ``serve`` command's settings, without starting a server.

gunicorn's ``BaseApplication.__init__`` already runs ``load_config``, so building an
:class:`FCApplication` is enough to see the settings gunicorn would run with.
"""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from gunicorn.config import Config

from fcmigrate.cli import main
from fcmigrate.errors import FCMigrateError
from fcmigrate.runtime import server
from fcmigrate.runtime.server import FCApplication, available_cpus, fc_defaults, sizing


def hello(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name in ("GUNICORN_CMD_ARGS", "FC_SERVER_PORT", "FC_CUSTOM_LISTEN_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("FCMIGRATE_CONCURRENCY", raising=False)
    # No gunicorn.conf.py from wherever pytest was started.
    monkeypatch.chdir(tmp_path)
    yield
    # gunicorn imports a config file as the module '__config__'.
    sys.modules.pop("__config__", None)


# --------------------------------------------------------------------------- sizing


@pytest.mark.parametrize(
    ("concurrency", "cpus", "expected"),
    [
        pytest.param(1, 2, (1, 1), id="one-request"),
        pytest.param(1, 16, (1, 1), id="one-request-many-cpus"),
        pytest.param(2, 16, (2, 1), id="fewer-requests-than-cpus"),
        pytest.param(8, 1, (1, 8), id="one-cpu"),
        pytest.param(8, 2, (2, 4), id="default"),
        pytest.param(3, 2, (2, 2), id="rounds-up"),
        pytest.param(5, 4, (4, 2), id="four-cpus"),
        pytest.param(200, 2, (2, 100), id="fc-maximum"),
        pytest.param(0, 2, (1, 1), id="zero-means-one"),
    ],
)
def test_sizing(concurrency: int, cpus: int, expected: tuple[int, int]) -> None:
    assert sizing(concurrency, cpus) == expected


@pytest.mark.parametrize("cpus", [1, 2, 3, 4, 8, 64])
@pytest.mark.parametrize("concurrency", [1, 2, 5, 8, 13, 100, 200])
def test_sizing_serves_the_concurrency_with_no_idle_process(concurrency: int, cpus: int) -> None:
    workers, threads = sizing(concurrency, cpus)
    assert workers * threads >= concurrency
    assert workers <= cpus
    assert workers * (threads - 1) < concurrency  # not a whole spare thread per worker


# --------------------------------------------------------------------------- defaults


def test_fc_defaults_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FC_SERVER_PORT", "9123")
    settings = fc_defaults(8, cpus=2)
    assert settings["bind"] == ["0.0.0.0:9123"]
    assert (settings["workers"], settings["threads"]) == (2, 4)
    assert settings["worker_class"] == "gthread"
    assert settings["timeout"] == 0
    assert settings["limit_request_line"] == 8190
    assert settings["forwarder_headers"] == ""
    assert settings["control_socket_disable"] is True
    assert settings["accesslog"] == "-"
    assert "raw_env" not in settings  # no SCRIPT_NAME for gunicorn: the middleware does it


def test_fc_defaults_are_all_gunicorn_settings() -> None:
    # _set() silently skips unknown keys; a typo would silently drop a setting.
    assert set(fc_defaults(8, cpus=2)) <= set(Config().settings)


def test_single_thread_uses_sync_worker() -> None:
    settings = fc_defaults(1, cpus=2)
    assert (settings["workers"], settings["threads"], settings["worker_class"]) == (1, 1, "sync")


@pytest.mark.parametrize(
    ("env", "bind"),
    [
        pytest.param({}, "0.0.0.0:9000", id="default"),
        pytest.param({"FC_SERVER_PORT": "8080"}, "0.0.0.0:8080", id="fc-server-port"),
        pytest.param({"FC_CUSTOM_LISTEN_PORT": "7070"}, "0.0.0.0:7070", id="custom-listen-port"),
        pytest.param(
            {"FC_SERVER_PORT": "8080", "FC_CUSTOM_LISTEN_PORT": "7070"},
            "0.0.0.0:8080",
            id="both",
        ),
    ],
)
def test_bind_from_env(monkeypatch: pytest.MonkeyPatch, env: Mapping[str, str], bind: str) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert fc_defaults(8, cpus=2)["bind"] == [bind]


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        pytest.param({}, "", id="off-fc-trusts-no-peer"),
        pytest.param({"FC_FUNCTION_NAME": "fn"}, None, id="on-fc-gunicorns-default"),
        pytest.param({"FC_FUNC_CODE_PATH": "/code"}, None, id="on-fc-code-path"),
        pytest.param({"FORWARDED_ALLOW_IPS": "10.0.0.1"}, None, id="gunicorns-env-variable"),
    ],
)
def test_forwarded_allow_ips_default(
    monkeypatch: pytest.MonkeyPatch, env: Mapping[str, str], expected: str | None
) -> None:
    for name in ("FC_FUNCTION_NAME", "FC_FUNC_CODE_PATH", "FORWARDED_ALLOW_IPS"):
        monkeypatch.delenv(name, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert fc_defaults(8, cpus=2).get("forwarded_allow_ips") == expected


def test_forwarded_allow_ips_off_fc_can_be_overridden(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FC_FUNCTION_NAME", "FC_FUNC_CODE_PATH", "FORWARDED_ALLOW_IPS"):
        monkeypatch.delenv(name, raising=False)
    assert FCApplication(hello, {}, defaults=fc_defaults(8, cpus=2)).cfg.forwarded_allow_ips == []
    monkeypatch.setenv("GUNICORN_CMD_ARGS", "--forwarded-allow-ips 127.0.0.1")
    cfg = FCApplication(hello, {}, defaults=fc_defaults(8, cpus=2)).cfg
    assert cfg.forwarded_allow_ips == ["127.0.0.1"]


@pytest.mark.parametrize(
    "value",
    ["--workers abc", "--nope", "--forwarded-allow-ips x", "--bind '0.0.0.0:1"],
)
def test_bad_gunicorn_cmd_args_is_a_user_error(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("GUNICORN_CMD_ARGS", value)
    with pytest.raises(FCMigrateError, match=r"^GUNICORN_CMD_ARGS: .*unset GUNICORN_CMD_ARGS"):
        FCApplication(hello, {}, defaults=fc_defaults(8, cpus=2))


@pytest.mark.parametrize(("exists", "expected"), [(True, "/dev/shm"), (False, None)])
def test_worker_tmp_dir(
    monkeypatch: pytest.MonkeyPatch, exists: bool, expected: str | None
) -> None:
    real_isdir = os.path.isdir
    monkeypatch.setattr(
        server.os.path, "isdir", lambda p: exists if p == "/dev/shm" else real_isdir(p)
    )
    assert fc_defaults(8, cpus=2).get("worker_tmp_dir") == expected


@pytest.mark.parametrize(
    ("value", "threads"),
    [("4", 2), ("1", 1), ("", 4), ("zero", 4), ("-3", 4), ("0", 4)],
)
def test_concurrency_from_env(monkeypatch: pytest.MonkeyPatch, value: str, threads: int) -> None:
    monkeypatch.setenv("FCMIGRATE_CONCURRENCY", value)
    assert fc_defaults(cpus=2)["threads"] == threads


# --------------------------------------------------------------------------- cgroup CPUs

CPU_MAX = "/sys/fs/cgroup/cpu.max"
CFS_QUOTA = "/sys/fs/cgroup/cpu/cpu.cfs_quota_us"
CFS_PERIOD = "/sys/fs/cgroup/cpu/cpu.cfs_period_us"


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param({}, 8, id="no-cgroup"),
        pytest.param({CPU_MAX: "max 100000\n"}, 8, id="v2-unlimited"),
        pytest.param({CPU_MAX: "200000 100000\n"}, 2, id="v2-two"),
        pytest.param({CPU_MAX: "150000 100000\n"}, 2, id="v2-rounds-up"),
        pytest.param({CPU_MAX: "50000 100000\n"}, 1, id="v2-half"),
        pytest.param({CPU_MAX: "1600000 100000\n"}, 8, id="v2-above-affinity"),
        pytest.param({CPU_MAX: "garbage\n"}, 8, id="v2-unreadable"),
        pytest.param({CFS_QUOTA: "300000\n", CFS_PERIOD: "100000\n"}, 3, id="v1-three"),
        pytest.param({CFS_QUOTA: "-1\n", CFS_PERIOD: "100000\n"}, 8, id="v1-unlimited"),
        pytest.param({CFS_QUOTA: "100000\n"}, 8, id="v1-no-period"),
    ],
)
def test_available_cpus_honours_cgroup_quota(
    monkeypatch: pytest.MonkeyPatch, files: Mapping[str, str], expected: int
) -> None:
    def fake_open(path: str, *args: Any, **kwargs: Any) -> io.StringIO:
        if path in files:
            return io.StringIO(files[path])
        raise FileNotFoundError(path)

    monkeypatch.setattr(server, "open", fake_open, raising=False)
    monkeypatch.setattr(server.os, "sched_getaffinity", lambda pid: set(range(8)))
    assert available_cpus() == expected


@pytest.mark.parametrize("header", ["x-fc-access-key-secret", "X-Fc-Security-Token"])
def test_access_log_format_naming_a_credential_is_refused(header: str) -> None:
    fmt = f'%(h)s "%(r)s" %({{{header}}}i)s'
    cfg = FCApplication(hello, {"access_log_format": fmt}, defaults=fc_defaults(8, cpus=2)).cfg
    with pytest.raises(FCMigrateError, match="credentials") as caught:
        server.check_settings(cfg)
    assert "\n" not in str(caught.value)


def test_serve_refuses_a_credential_in_the_access_log_format(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tinyapp.py").write_text("def app(environ, start_response):\n    return []\n")
    fmt = "%({x-fc-access-key-secret}i)s"
    monkeypatch.setenv("GUNICORN_CMD_ARGS", f"--access-logformat '{fmt}'")
    with pytest.raises(SystemExit) as exited:
        main(["serve", "tinyapp:app"])
    assert exited.value.code == 2
    # Start-up may log before the check (another test may have set Django up).
    errors = [line for line in capsys.readouterr().err.splitlines() if "access log" in line]
    assert len(errors) == 1 and errors[0].startswith("Error: The access log format")


def test_access_log_format_with_the_request_id_is_fine() -> None:
    fmt = '%(h)s "%(r)s" %({x-fc-request-id}i)s'
    options = {"access_log_format": fmt}
    cfg = FCApplication(hello, options, defaults=fc_defaults(8, cpus=2)).cfg
    server.check_settings(cfg)
    assert cfg.access_log_format == fmt


def test_available_cpus_on_this_machine() -> None:
    assert 1 <= available_cpus() <= (os.cpu_count() or 1)


# --------------------------------------------------------------------------- precedence


def test_defaults_reach_gunicorn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FC_SERVER_PORT", "9555")
    cfg = FCApplication(hello, {}, defaults=fc_defaults(8, cpus=2)).cfg
    assert cfg.bind == ["0.0.0.0:9555"]
    assert (cfg.workers, cfg.threads, cfg.worker_class_str) == (2, 4, "gthread")
    assert cfg.timeout == 0
    assert cfg.limit_request_line == 8190
    assert cfg.forwarder_headers == []
    assert cfg.control_socket_disable is True
    assert cfg.accesslog == "-"
    assert "SCRIPT_NAME" not in cfg.env
    assert "SCRIPT_NAME" not in os.environ


CONF = """\
workers = 3
threads = 5
keepalive = 11
graceful_timeout = 21
"""


def test_precedence_defaults_conf_env_options(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "gunicorn.conf.py").write_text(CONF)
    monkeypatch.setenv("GUNICORN_CMD_ARGS", "--threads 7 --keep-alive 12 --graceful-timeout 22")
    options = {"keepalive": 14, "graceful_timeout": None}
    cfg = FCApplication(hello, options, defaults=fc_defaults(8, cpus=2)).cfg

    assert cfg.limit_request_line == 8190  # default only
    assert cfg.workers == 3  # default < gunicorn.conf.py
    assert cfg.threads == 7  # gunicorn.conf.py < GUNICORN_CMD_ARGS
    assert cfg.keepalive == 14  # GUNICORN_CMD_ARGS < serve options
    assert cfg.graceful_timeout == 22  # an option left out (None) overrides nothing


VPS_CONF = """\
bind = "unix:flask.sock"
daemon = True
pidfile = "/var/run/app.pid"
accesslog = "/var/log/app/info.log"
errorlog = "/tmp/app-errors.log"
workers = 3
"""


def test_a_vps_gunicorn_conf_keeps_fcs_contract(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A gunicorn.conf.py written for the old server: what would break FC is undone, and
    said; the rest (workers, a log under /tmp) applies."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "gunicorn.conf.py").write_text(VPS_CONF)
    defaults = fc_defaults(8, cpus=2)
    cfg = FCApplication(hello, {}, defaults=defaults).cfg
    assert cfg.bind == defaults["bind"]
    assert (cfg.daemon, cfg.pidfile, cfg.accesslog) == (False, None, "-")
    assert (cfg.errorlog, cfg.workers) == ("/tmp/app-errors.log", 3)
    said = capsys.readouterr().err
    assert "gunicorn.conf.py sets bind = ['unix:flask.sock'], daemon = True" in said
    assert "accesslog = '/var/log/app/info.log'" in said


def test_config_file_option_and_env_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "gunicorn.conf.py").write_text("workers = 3\n")
    (tmp_path / "other.py").write_text("workers = 5\n")
    (tmp_path / "from_env.py").write_text("workers = 6\n")

    app = FCApplication(hello, {}, defaults=fc_defaults(8, cpus=2), config_file="other.py")
    assert app.cfg.workers == 5

    monkeypatch.setenv("GUNICORN_CMD_ARGS", "--config from_env.py")
    assert FCApplication(hello, {}, defaults=fc_defaults(8, cpus=2)).cfg.workers == 6


def test_no_config_file(tmp_path: Path) -> None:
    assert not (tmp_path / "gunicorn.conf.py").exists()
    assert FCApplication(hello, {}, defaults=fc_defaults(8, cpus=2)).cfg.workers == 2


# --------------------------------------------------------------------------- stop signals at boot

HOOKS_CONF = """\
calls = []

def pre_fork(server, worker):
    calls.append(("pre_fork", worker))

def post_worker_init(worker):
    calls.append(("post_worker_init", worker))
"""


class _Arbiter:
    def __init__(self, queue: Any) -> None:
        self.SIG_QUEUE = queue


class _Worker:
    pass


@pytest.mark.parametrize("kind", ["simple-queue", "list"])
def test_a_stop_signal_caught_by_the_masters_handler_is_sent_again(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, kind: str
) -> None:
    import queue
    import signal

    (tmp_path / "gunicorn.conf.py").write_text(HOOKS_CONF)
    cfg = FCApplication(hello, {}, defaults=fc_defaults(8, cpus=2)).cfg
    # The worker's copy of the master's queue, with what arrived before its handlers.
    arrived = [signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP]
    if kind == "list":
        master_queue: Any = list(arrived)
    else:
        master_queue = queue.SimpleQueue()
        for sig in arrived:
            master_queue.put(sig)
    sent: list[tuple[int, int]] = []
    monkeypatch.setattr(server.os, "kill", lambda pid, sig: sent.append((pid, sig)))
    worker = _Worker()

    cfg.pre_fork(_Arbiter(master_queue), worker)
    cfg.post_worker_init(worker)

    # Only the stop signal goes again, to the worker itself; the queue is left empty.
    assert sent == [(os.getpid(), signal.SIGTERM)]
    assert (not master_queue) if kind == "list" else master_queue.empty()
    # The user's own hooks from gunicorn.conf.py still ran.
    user_calls = sys.modules["__config__"].calls
    assert user_calls == [("pre_fork", worker), ("post_worker_init", worker)]


def test_no_signal_before_the_handlers_sends_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import queue

    cfg = FCApplication(hello, {}, defaults=fc_defaults(8, cpus=2)).cfg
    sent: list[Any] = []
    monkeypatch.setattr(server.os, "kill", lambda *args: sent.append(args))
    worker = _Worker()
    cfg.pre_fork(_Arbiter(queue.SimpleQueue()), worker)
    cfg.post_worker_init(worker)
    cfg.post_worker_init(_Worker())  # a worker forked by other means: no queue noted
    assert sent == []


# --------------------------------------------------------------------------- the command


@pytest.fixture
def captured_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[list[FCApplication]]:
    """Replace ``server.run`` so ``serve`` builds its gunicorn app but starts nothing."""
    (tmp_path / "serve_hello.py").write_text(
        "def app(environ, start_response):\n    start_response('200 OK', [])\n    return [b'hi']\n"
    )
    apps: list[FCApplication] = []

    def fake_run(app: Any, options: Any = None, **kwargs: Any) -> None:
        apps.append(FCApplication(app, options, **kwargs))

    # serve configures logging for the process; undo it for the tests that follow.
    log = logging.getLogger("fcmigrate")
    saved = (list(log.handlers), log.level, log.propagate, logging.getLogRecordFactory())
    saved_path = list(sys.path)
    monkeypatch.setattr(server, "run", fake_run)
    yield apps
    sys.path[:] = saved_path
    sys.modules.pop("serve_hello", None)
    log.handlers[:], log.level, log.propagate = saved[:3]
    logging.setLogRecordFactory(saved[3])


def test_serve_options_override_everything(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, captured_run: list[FCApplication]
) -> None:
    (tmp_path / "gunicorn.conf.py").write_text("timeout = 30\nworkers = 4\nthreads = 3\n")
    monkeypatch.setenv("GUNICORN_CMD_ARGS", "--workers 5 --log-level warning")
    main(
        [
            "serve",
            "serve_hello:app",
            "--port",
            "9321",
            "--timeout",
            "0",
            "--workers",
            "6",
            "--graceful-timeout",
            "7",
            "--log-level",
            "debug",
        ]
    )
    [app] = captured_run
    cfg = app.cfg
    assert cfg.bind == ["0.0.0.0:9321"]
    assert cfg.timeout == 0  # a 0 from the command line still beats the config file
    assert cfg.workers == 6
    assert cfg.threads == 3  # from gunicorn.conf.py
    assert cfg.graceful_timeout == 7
    assert cfg.loglevel == "debug"
    assert cfg.proc_name == "fcmigrate: serve_hello:app"


def test_serve_concurrency_sizes_gunicorn(
    monkeypatch: pytest.MonkeyPatch, captured_run: list[FCApplication]
) -> None:
    monkeypatch.setattr(server, "available_cpus", lambda: 2)
    main(["serve", "serve_hello:app", "--concurrency", "6"])
    monkeypatch.setenv("FCMIGRATE_CONCURRENCY", "1")
    main(["serve", "serve_hello:app"])
    sized = [(a.cfg.workers, a.cfg.threads, a.cfg.worker_class_str) for a in captured_run]
    assert sized == [(2, 3, "gthread"), (1, 1, "sync")]


def test_serve_bind_and_port_conflict(
    capsys: pytest.CaptureFixture[str], captured_run: list[FCApplication]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "serve_hello:app", "--bind", "127.0.0.1:1", "--port", "2"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == "Error: Use --bind or --port, not both.\n"
    assert captured_run == []


def test_serve_bind_repeatable(captured_run: list[FCApplication]) -> None:
    main(["serve", "serve_hello:app", "-b", "127.0.0.1:9001", "-b", "[::1]:9001"])
    assert captured_run[0].cfg.bind == ["127.0.0.1:9001", "[::1]:9001"]


def test_python_m_fcmigrate_serve_skips_click() -> None:
    """FC runs `python3 -m fcmigrate serve` on every cold start: it must not load click."""
    probe = (
        "import runpy, sys\n"
        "sys.argv = ['fcmigrate', 'serve', '--help']\n"
        "try:\n"
        "    runpy.run_module('fcmigrate', run_name='__main__')\n"
        "except SystemExit as exit:\n"
        "    assert exit.code == 0, exit.code\n"
        "print('click' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "False"
    assert "usage: fcmigrate serve" in done.stdout


@pytest.mark.parametrize(
    "entry", [["-m", "fcmigrate"], ["-c", "from fcmigrate.cli import main; main()"]]
)
def test_bad_serve_option_is_one_line_on_both_entry_points(entry: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, *entry, "serve", "app:app", "--port", "99999"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("Error: Argument -p/--port: 99999 is out of range")
    assert done.stderr.count("\n") == 1


# --------------------------------------------------------------------------- access log


def _access_line(logger_class: type, resp: Any, environ: dict[str, Any]) -> str:
    import datetime

    from gunicorn.glogging import Logger

    cfg = Config()
    for key, value in fc_defaults(8, cpus=2).items():
        if key in cfg.settings:
            cfg.set(key, value)
    cfg.set("logger_class", logger_class)
    log: Logger = cfg.logger_class(cfg)
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    keep = Keep()
    log.access_log.addHandler(keep)
    try:
        req = type("Req", (), {"headers": [("HOST", "example")]})()
        log.access(resp, req, environ, datetime.timedelta(seconds=1, microseconds=234567))
    finally:
        log.access_log.removeHandler(keep)
    assert len(records) == 1
    return records[0].getMessage()


@pytest.mark.parametrize(
    ("status", "sent", "headers", "uri"),
    [
        pytest.param("200 OK", 1234, [("X-Request-Id", "1-abc")], "/p?q=1", id="plain"),
        pytest.param("404 Not Found", None, [], "/missing", id="nothing-sent-no-id"),
        pytest.param(500, 0, [("x-request-id", 'a"b')], '/q?x="y"', id="quotes-and-int-status"),
        pytest.param(
            "200 OK", 5, [("X-Request-Id", "first"), ("X-Request-Id", "last")], "/", id="dup"
        ),
    ],
)
def test_fast_access_log_writes_what_gunicorn_would(
    status: Any, sent: Any, headers: list[tuple[str, str]], uri: str
) -> None:
    from gunicorn.glogging import Logger

    resp = type("Resp", (), {"status": status, "sent": sent, "headers": headers})()
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": uri,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.0.0.1",
        "PATH_INFO": uri.partition("?")[0],
    }
    ours = _access_line(server.FCLogger, resp, environ)
    theirs = _access_line(Logger, resp, environ)
    assert ours == theirs
    assert "1234ms" in ours


def test_other_access_log_formats_take_gunicorns_path() -> None:
    cfg = Config()
    cfg.set("access_log_format", "%(h)s %(t)s")
    cfg.set("accesslog", "-")
    log = server.FCLogger(cfg)
    seen: list[Any] = []
    log.access_log.info = lambda *args: seen.append(args)  # type: ignore[method-assign]
    resp = type("Resp", (), {"status": "200 OK", "sent": 1, "headers": []})()
    import datetime

    environ = {"REQUEST_METHOD": "GET", "RAW_URI": "/", "SERVER_PROTOCOL": "HTTP/1.1"}
    log.access(resp, type("R", (), {"headers": []})(), environ, datetime.timedelta(0))
    [(fmt, atoms)] = seen
    assert fmt == "%(h)s %(t)s" and "t" in atoms


def test_statsd_keeps_gunicorns_own_logger() -> None:
    cfg = FCApplication(hello, {"statsd_host": "localhost:8125"}, defaults=fc_defaults(8, 2)).cfg
    assert cfg.logger_class.__name__ == "Statsd"
    assert FCApplication(hello, {}, defaults=fc_defaults(8, 2)).cfg.logger_class is server.FCLogger


# --------------------------------------------------------------------------- start-up gc


@pytest.fixture
def unfreeze() -> Iterator[None]:
    import gc

    yield
    gc.unfreeze()
    gc.enable()


def test_serve_imports_the_app_without_gc_then_freezes_it(
    monkeypatch: pytest.MonkeyPatch, captured_run: list[FCApplication], unfreeze: None
) -> None:
    """gc off while the app is imported, then frozen before gunicorn forks, and back on."""
    import gc

    from fcmigrate.runtime import loader

    seen: list[bool] = []
    real_load = loader.load_app

    def load_app(spec: str, **kwargs: Any) -> Any:
        seen.append(gc.isenabled())
        return real_load(spec, **kwargs)

    monkeypatch.setattr(loader, "load_app", load_app)
    gc.unfreeze()
    main(["serve", "serve_hello:app"])
    assert seen == [False]
    assert gc.isenabled()
    assert gc.get_freeze_count() > 0
    assert len(captured_run) == 1


def test_gc_is_back_on_when_the_app_fails_to_import(
    monkeypatch: pytest.MonkeyPatch,
    captured_run: list[FCApplication],
    unfreeze: None,
    tmp_path: Path,
) -> None:
    import gc

    (tmp_path / "serve_broken.py").write_text("raise RuntimeError('broken at import')\n")
    with pytest.raises(SystemExit) as info:
        main(["serve", "serve_broken:app"])
    assert info.value.code == 1
    assert gc.isenabled()
    assert captured_run == []
