"""Fixture: a WSGI app that imports only where FC would run it.

It raises, naming what differs, unless the working folder is the code folder, FC's and the
deploy config's variables are set, the shell's Python variables are not, and HOME is a
writable folder outside the code.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
problems = []
if os.path.realpath(os.getcwd()) != os.path.realpath(HERE):
    problems.append(f"working folder {os.getcwd()} is not the code folder {HERE}")
if os.path.realpath(os.environ.get("FC_FUNC_CODE_PATH", "")) != os.path.realpath(HERE):
    problems.append(f"FC_FUNC_CODE_PATH is {os.environ.get('FC_FUNC_CODE_PATH')!r}")
for name in ("FC_FUNCTION_NAME", "FC_REGION", "FC_SERVER_PORT", "FCMIGRATE_CONCURRENCY"):
    if not os.environ.get(name):
        problems.append(f"{name} is not set")
for name in ("VIRTUAL_ENV", "FCMIGRATE_TEST_SHELL_ONLY"):
    if name in os.environ:
        problems.append(f"{name} is set")
home = os.path.realpath(os.environ.get("HOME", ""))
if not os.path.isdir(home) or home.startswith(os.path.realpath(HERE)):
    problems.append(f"HOME {home!r} is not a folder outside the code")
if not any(os.path.realpath(p) == os.path.realpath(HERE) for p in sys.path):
    problems.append(f"the code folder is not on sys.path: {sys.path}")
if problems:
    raise RuntimeError("not FC's environment: " + "; ".join(problems))


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"fc"]
