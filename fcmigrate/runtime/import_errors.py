"""What fcmigrate says when the user's app raises while it is imported.

``serve`` needs this on FC (so a build carries it); ``detect`` and ``wrap`` use it on the
developer's machine. The user's traceback is kept, from their first frame on.
"""

from __future__ import annotations

import os
import re
import sys
import traceback

from fcmigrate.errors import AppImportError


def import_failure(exc: BaseException, spec: str) -> AppImportError:
    """For an exception the user's app raised while being imported in this process: print
    their traceback (from their first frame on) and return the one-line error to raise."""
    sys.stderr.write(user_traceback(exc))
    sys.stderr.flush()
    return AppImportError(import_failed(spec, missing_variable(exc)))


def import_failed(spec: str, variable: str | None) -> str:
    if variable is not None:
        return (
            f"Importing {spec!r} failed: your code needs the environment variable "
            f"{variable!r}, which is not set here (traceback above). Set it for this command "
            f"({variable}=... fcmigrate ...), and for FC in the deploy config's "
            "environmentVariables."
        )
    return (
        f"Importing {spec!r} failed in your code (traceback above). Fix it and run "
        "again; if the wrong app was picked, name the right one with --app."
    )


#: How django-environ, environs and python-decouple say that a variable is not set.
_MISSING_VARIABLE = (
    re.compile(r"Set the (\w+) environment variable"),
    re.compile(r"Environment variable \"?(\w+)\"? not set"),
    re.compile(r"^(\w+) not found\. Declare it as envvar"),
)

#: How an app says it itself: an upper-case name with an underscore, then "needs to be set",
#: "must be set", "is not set", "is required" ...
_APP_SAYS_UNSET = re.compile(
    r"\b([A-Z][A-Z0-9]*_[A-Z0-9_]*[A-Z0-9]) (?:needs to be set|must be set|is not set|"
    r"was not set|isn't set|not set|is required|is missing|missing)\b"
)


def missing_variable(exc: BaseException) -> str | None:
    """The environment variable whose absence ``exc`` reports, if that is what it reports.

    ``os.environ["X"]`` raises ``KeyError('X')`` from the os module itself; configuration
    libraries raise their own errors naming the variable.
    """
    if isinstance(exc, KeyError) and len(exc.args) == 1 and isinstance(exc.args[0], str):
        frames = traceback.extract_tb(exc.__traceback__)
        # The os module is frozen into the interpreter since Python 3.11.
        if frames and frames[-1].filename in ("<frozen os>", os.__file__):
            return exc.args[0]
        return None
    message = str(exc)
    for pattern in _MISSING_VARIABLE:
        match = pattern.search(message)
        if match:
            return match.group(1)
    # An app's own words ("DB_USER needs to be set."), when no such variable is set.
    match = _APP_SAYS_UNSET.search(message)
    if match and not os.environ.get(match.group(1)):
        return match.group(1)
    return None


def user_traceback(exc: BaseException) -> str:
    """The traceback from the user's first frame on: fcmigrate's and importlib's frames
    before it are noise to someone fixing their app."""
    info = traceback.TracebackException.from_exception(exc)
    # fcmigrate/runtime/import_errors.py -> fcmigrate/: every frame of fcmigrate's own.
    ours = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
    frames = list(info.stack)
    while frames and (
        frames[0].filename.startswith((ours, "<frozen "))
        or os.path.basename(os.path.dirname(frames[0].filename)) == "importlib"
    ):
        frames.pop(0)
    info.stack = traceback.StackSummary.from_list(frames)
    lines = list(info.format())
    if frames and not lines[0].startswith("Traceback"):
        lines.insert(0, "Traceback (most recent call last):\n")
    return "".join(lines)
