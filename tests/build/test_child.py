"""fcmigrate.build.child: a request to a real child interpreter, and what comes back.

Each test starts a real ``python -c`` child that speaks the protocol with the child's side
of :mod:`fcmigrate.build.child`: an answer, a crash, a hang, a garbled answer, an answer
that cannot be written, a write under a read-only folder.
"""

from __future__ import annotations

import errno
import os
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from fcmigrate.build.child import ANSWER_UNWRITABLE, ChildTimeout, Reply, run_child
from fcmigrate.errors import FCMigrateError

_SIDE = "from fcmigrate.build.child import install_guard, read_request, write_answer\n"


def _run(tmp_path: Path, code: str, request: dict[str, Any] | None = None, **kw: Any) -> Reply:
    options: dict[str, Any] = {
        "cwd": tmp_path,
        "env": os.environ,
        "timeout": 60,
        "doing": "Running the test child",
        "purpose": "for the test",
        **kw,
    }
    return run_child(["-c", _SIDE + textwrap.dedent(code)], request or {}, **options)


def test_the_child_reads_the_request_and_answers(tmp_path: Path) -> None:
    reply = _run(
        tmp_path,
        """
        import os, sys
        request = read_request()
        write_answer({"echo": request["word"], "cwd": os.getcwd(),
                      "nobytecode": sys.dont_write_bytecode})
        print("said on stdout")
        """,
        {"word": "hello"},
    )
    assert reply.answer == {"echo": "hello", "cwd": str(tmp_path), "nobytecode": True}
    assert reply.returncode == 0
    assert reply.stdout.strip() == "said on stdout"
    assert reply.failure() is None


def test_a_crash_is_its_status_and_last_line(tmp_path: Path) -> None:
    reply = _run(
        tmp_path,
        """
        write_answer({"step": "settings"})
        raise RuntimeError("boom in settings")
        """,
    )
    assert reply.returncode == 1
    assert reply.answer == {"step": "settings"}  # what it said before it crashed
    assert reply.failure() == "it exited with status 1: RuntimeError: boom in settings"


def test_a_child_that_hangs_is_killed_with_everything_it_started(tmp_path: Path) -> None:
    code = """
        import subprocess, sys, time
        sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        write_answer({"sleeper": sleeper.pid})
        time.sleep(60)
        """
    started = time.monotonic()
    with pytest.raises(ChildTimeout) as caught:
        _run(tmp_path, code, timeout=2, slow_advice="Do less at import.")
    assert time.monotonic() - started < 30
    assert (
        str(caught.value) == "Running the test child did not finish within 2 s. Do less at import."
    )

    reply = _run(tmp_path, code, timeout=2, raise_on_timeout=False)
    assert reply.timed_out and reply.returncode is None
    assert reply.failure() == "it did not finish in time"
    sleeper = int(reply.answer["sleeper"])
    # The grandchild was in the child's process group: it is gone too (or a zombie of init).
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _alive(sleeper):
        time.sleep(0.05)
    assert not _alive(sleeper)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as file:
            return file.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_garbled_answer_is_no_answer(tmp_path: Path) -> None:
    reply = _run(
        tmp_path,
        """
        import sys
        read_request()
        with open(sys.argv[2], "w") as file:
            file.write('{"half": ')
        """,
    )
    assert reply.returncode == 0
    assert reply.answer == {} and reply.garbled
    assert reply.failure() == "it left an answer that is not a JSON object"

    listed = _run(tmp_path, "import sys\nopen(sys.argv[2], 'w').write('[1, 2]')\n")
    assert listed.answer == {} and listed.garbled


def test_an_answer_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    reply = _run(
        tmp_path,
        """
        import os, sys
        os.mkdir(sys.argv[2])  # the answer's path is now a folder
        write_answer({"never": "seen"})
        """,
    )
    assert reply.returncode == ANSWER_UNWRITABLE
    assert reply.answer == {}
    failure = reply.failure()
    assert failure is not None
    assert failure.startswith("it could not write its answer: Cannot write the answer to ")
    assert "Traceback" not in reply.stderr


def test_no_answer_at_all(tmp_path: Path) -> None:
    reply = _run(tmp_path, "pass\n")
    assert reply.returncode == 0 and reply.answer == {} and not reply.garbled
    assert reply.failure() == "it exited without an answer"


def test_the_read_only_folder_refuses_writes_in_the_child(tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    reply = _run(
        code,
        """
        request = read_request()
        guard = install_guard(request)
        try:
            open("written.txt", "w")
        except OSError as exc:
            write_answer({"errno": exc.errno, "denied": [d.path for d in guard.denied]})
        """,
        read_only=code,
    )
    assert reply.answer == {"errno": errno.EROFS, "denied": ["written.txt"]}
    assert list(code.iterdir()) == []


def test_interpreter_path_and_environment(tmp_path: Path) -> None:
    extra = tmp_path / "extra"
    extra.mkdir()
    env = {**os.environ, "PYTHONHOME": "/nowhere", "PYTHONPATH": "/from/the/shell"}
    program = """
        import os, sys
        read_request()
        write_answer({"path": os.environ.get("PYTHONPATH"), "home": os.environ.get("PYTHONHOME"),
                      "no_site": sys.flags.no_site})
        """
    side = str(Path(__file__).resolve().parents[2])  # fcmigrate's checkout, for the child side
    shared = _run(tmp_path, program, env=env, pythonpath=[extra, side])
    assert shared.answer["path"] == os.pathsep.join([str(extra), side, "/from/the/shell"])
    assert shared.answer["home"] is None
    assert shared.answer["no_site"] == 0
    isolated = _run(tmp_path, program, env=env, pythonpath=[extra, side], isolated=True)
    assert isolated.answer["path"] == os.pathsep.join([str(extra), side])
    assert isolated.answer["no_site"] == 1


def test_an_interpreter_that_cannot_start_is_one_line(tmp_path: Path) -> None:
    missing = str(tmp_path / "bin" / "python3.99")
    with pytest.raises(FCMigrateError) as caught:
        _run(tmp_path, "pass\n", python=missing)
    assert str(caught.value) == f"Cannot run {missing!r} for the test: No such file or directory."
