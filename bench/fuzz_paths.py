"""Coverage-guided fuzzing (atheris) of the prefix and header handling.

Each input is turned into a PATH_INFO (any latin-1 string, as PEP 3333 hands it over),
an ``x-fc-base-path``, an ``x-fc-request-id``, configured base paths and the credential
headers, and run through :func:`fcmigrate.runtime.paths.split_prefix` and :class:`FCMiddleware`.
Any exception, or any broken invariant, is a crash that atheris reports with the input:

* ``split_prefix``: the parts join back to the path; the prefix ends on a segment
  boundary;
* the middleware: ``SCRIPT_NAME + PATH_INFO`` unchanged, values latin-1 ``str``, no
  credential header left in the environ, one valid ``X-Request-Id``.

atheris is not a dev dependency (it builds against the interpreter). To run it::

    python3 -m venv /tmp/fuzzenv && /tmp/fuzzenv/bin/pip install atheris
    PYTHONPATH=. /tmp/fuzzenv/bin/python bench/fuzz_paths.py -max_total_time=300

Extra arguments go to libFuzzer (``-max_total_time``, ``-runs``, ``-print_final_stats=1``).
"""

from __future__ import annotations

import io
import sys
from typing import Any

import atheris

with atheris.instrument_imports():
    from fcmigrate.runtime.middleware import FCMiddleware
    from fcmigrate.runtime.paths import parse_base_paths, split_prefix

CREDENTIAL_KEYS = (
    "HTTP_X_FC_ACCESS_KEY_ID",
    "HTTP_X_FC_ACCESS_KEY_SECRET",
    "HTTP_X_FC_SECURITY_TOKEN",
)
SECRET = "fuzz-secret-value"


def _latin1(fdp: Any, max_len: int) -> str:
    return fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, max_len)).decode("latin-1")


def _app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    _app.seen = environ  # type: ignore[attr-defined]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def _start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
    _start_response.headers = headers  # type: ignore[attr-defined]
    return lambda data: None


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    path = _latin1(fdp, 120)
    header = _latin1(fdp, 60) if fdp.ConsumeBool() else None
    request_id = _latin1(fdp, 40) if fdp.ConsumeBool() else None
    bases = [_latin1(fdp, 16) for _ in range(fdp.ConsumeIntInRange(0, 3))]
    if fdp.ConsumeBool():
        # Steer half the inputs towards FC's prefix, so the interesting branches run.
        path = "/2016-08-15/proxy/" + path
    base_paths = parse_base_paths(bases)

    prefix, rest = split_prefix(path, header, base_paths)
    assert prefix + rest == path
    if prefix:
        assert prefix.startswith("/") and not prefix.endswith("/"), (prefix, rest)
        assert rest == "" or rest.startswith("/"), (prefix, rest)

    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": io.StringIO(),
        "wsgi.url_scheme": "http",
    }
    if header is not None:
        environ["HTTP_X_FC_BASE_PATH"] = header
    if request_id is not None:
        environ["HTTP_X_FC_REQUEST_ID"] = request_id
    environ.update(dict.fromkeys(CREDENTIAL_KEYS, SECRET))
    _app.seen = None  # type: ignore[attr-defined]
    middleware = FCMiddleware(_app, base_paths=base_paths, stream=io.StringIO())
    body = middleware(environ, _start_response)
    b"".join(body)
    getattr(body, "close", lambda: None)()

    ids = [v for k, v in _start_response.headers if k == "X-Request-Id"]  # type: ignore[attr-defined]
    assert len(ids) == 1 and ids[0].isascii() and ids[0].isprintable() and " " not in ids[0]
    seen = _app.seen  # type: ignore[attr-defined]
    if seen is None:  # FC's lifecycle calls are answered without the app
        return
    assert seen["SCRIPT_NAME"] + seen["PATH_INFO"] == path
    for key, value in seen.items():
        if key.startswith("HTTP_"):
            assert SECRET not in value, key
            value.encode("latin-1")
    seen["SCRIPT_NAME"].encode("latin-1")


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
