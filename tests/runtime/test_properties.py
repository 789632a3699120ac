"""Property tests of the prefix logic: ``fcmigrate.runtime.paths`` and FCMiddleware on environs.

What must hold for every path a server can hand over (PEP 3333 strings: latin-1
"bytes in str"), every ``x-fc-base-path`` value and every configured base path:

* lossless: ``SCRIPT_NAME + PATH_INFO`` is the same before and after;
* the prefix moves only on a segment boundary, and only what a segment-by-segment
  reading of FC's rules says (an independent oracle below);
* it never doubles: what moves is at most one proxy prefix and one base path, and a
  second pass (the middleware wrapped twice) moves nothing more;
* nothing raises, and every value stays a latin-1-encodable ``str``;
* the credential headers never survive in the environ's ``HTTP_*`` keys;
* the request ID is always set, valid, and the one FC sent when FC sent a valid one.

The pure functions take the bulk of the examples; a few thousand go through the
middleware. Examples per run: 4000 + 3000 + 1000 + 2000 + 1000 = 11 000.
"""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from wsgiref.util import setup_testing_defaults
from wsgiref.validate import validator

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from fcmigrate import FCMiddleware
from fcmigrate.runtime.paths import normalize_base_path, parse_base_paths, split_prefix


def examples(count: int) -> settings:
    # CI machines are shared and slow at times: no per-example deadline.
    return settings(max_examples=count, deadline=None, suppress_health_check=[HealthCheck.too_slow])


KEY_ID = "LTAIprop" + uuid.uuid4().hex[:12]
SECRET = "prop-secret-" + uuid.uuid4().hex
TOKEN = "prop-token-" + uuid.uuid4().hex
CREDENTIAL_KEYS = (
    "HTTP_X_FC_ACCESS_KEY_ID",
    "HTTP_X_FC_ACCESS_KEY_SECRET",
    "HTTP_X_FC_SECURITY_TOKEN",
)
SENTINELS = (KEY_ID, SECRET, TOKEN)

# --------------------------------------------------------------------------- oracle

DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def oracle_split(path: str, base_paths: tuple[str, ...]) -> tuple[str, str]:
    """FC's rules read segment by segment, written apart from ``fcmigrate.runtime.paths``.

    ``/<yyyy-mm-dd>/proxy/<service>/<function>`` (both non-empty) at the very start
    moves; then the longest configured base path the rest is at or below moves too.
    ``x-fc-base-path`` never changes the answer: it is trusted only when it names the
    same four segments the path starts with.
    """
    segments = path.split("/")
    proxy = ""
    if (
        len(segments) >= 5
        and segments[0] == ""
        and DATE.fullmatch(segments[1])
        and segments[2] == "proxy"
        and segments[3]
        and segments[4]
    ):
        proxy = "/".join(segments[:5])
    rest = path[len(proxy) :]
    for base in sorted(base_paths, key=len, reverse=True):
        if rest == base or rest.startswith(base + "/"):
            return proxy + base, rest[len(base) :]
    return proxy, rest


# --------------------------------------------------------------------------- strategies

LATIN1 = st.characters(min_codepoint=0, max_codepoint=255)
LATIN1_NO_SLASH = st.characters(min_codepoint=0, max_codepoint=255, exclude_characters="/")

dates = st.one_of(
    st.just("2016-08-15"),
    st.builds(
        "{:04d}-{:02d}-{:02d}".format, st.integers(0, 9999), st.integers(0, 99), st.integers(0, 99)
    ),
)
near_dates = st.sampled_from(
    ["2016-8-15", "2016-08-15x", "16-08-15", "2016_08_15", "", "2016-08-1"]
)
near_proxy_words = st.sampled_from(["Proxy", "proxyx", "prox", "", "proxy "])
names = st.one_of(
    st.sampled_from(["svc", "my-service", "s", "svc_1", "fn", "fn-other", "fnx", "f", "my_fn"]),
    st.text(LATIN1_NO_SLASH, max_size=8),
)
qualifiers = st.sampled_from(["", "", ".LATEST", ".prod", ".v1", ".1", "."])
app_segments = st.one_of(
    st.sampled_from(
        [
            "",
            "api",
            "static",
            "hello",
            "%2F",
            "%2f",
            "a%2Fb",
            "caf\xe9",
            "\xff\xfe",
            ".",
            "..",
            "fn",
            "fn-other",
            "fnx",
            "proxy",
            "2016-08-15",
            "index.html",
            "x;y=1",
        ]
    ),
    st.text(LATIN1_NO_SLASH, max_size=10),
)
#: Base paths as a user writes them: slashes and spaces around, sometimes "/" alone.
base_path_values = st.one_of(
    st.sampled_from(
        ["/api", "api/", "/api/v1", "/v1/api", "/", "", "/fn", "/static", " /api ", "//api//"]
    ),
    st.builds(
        lambda segs, lead, trail: lead + "/".join(segs) + trail,
        st.lists(st.text(st.sampled_from("abcxyz-_.%\xe9"), min_size=1, max_size=5), max_size=3),
        st.sampled_from(["", "/", "//"]),
        st.sampled_from(["", "/"]),
    ),
)


@st.composite
def proxy_prefixes(draw: st.DrawFn) -> str:
    """FC's proxy prefix; one in four has a near miss in the date or the word "proxy"."""
    near = draw(st.sampled_from(["", "", "", "", "", "", "date", "word"]))
    date = draw(near_dates if near == "date" else dates)
    word = draw(near_proxy_words) if near == "word" else "proxy"
    service = draw(names) + draw(qualifiers)
    return f"/{date}/{word}/{service}/{draw(names)}"


@st.composite
def app_paths(draw: st.DrawFn) -> str:
    """The app's own path; its start may be glued to what precedes it, or doubled."""
    segments = draw(st.lists(app_segments, max_size=5))
    path = "".join("/" + s for s in segments)
    if not path:
        return path
    return draw(st.sampled_from(["", "/", "//"])) + path.lstrip("/")


@dataclass
class Case:
    path: str
    header: str | None
    base_values: list[str]
    script_name: str = ""

    @property
    def base_paths(self) -> tuple[str, ...]:
        return parse_base_paths(self.base_values)


@st.composite
def cases(draw: st.DrawFn) -> Case:
    """A realistic request path, the ``x-fc-base-path`` FC may send, the configured bases."""
    base_values = draw(st.lists(base_path_values, max_size=3))
    proxy = draw(proxy_prefixes())
    configured = list(parse_base_paths(base_values))
    shape = draw(
        st.sampled_from(["proxy+base", "proxy+base", "proxy", "proxy", "base", "app", "noise"])
    )
    base = draw(st.sampled_from(configured)) if configured and "base" in shape else ""
    if shape == "noise":
        path = draw(st.text(LATIN1, max_size=40))
    else:
        path = (proxy if "proxy" in shape else "") + base + draw(app_paths())
        if draw(st.sampled_from([True, False, False, False])) and len(path) > 1:
            # "//" or a stray character anywhere: near misses of every kind.
            at = draw(st.integers(0, len(path)))
            path = (
                path[:at] + draw(st.sampled_from(["/", "-other", "x", "%2F", "\xe9"])) + path[at:]
            )
    own = proxy.rstrip("/")
    header = draw(
        st.one_of(
            st.none(),
            st.just(own + "/"),
            st.just(own),
            st.sampled_from(
                [
                    "",
                    "/",
                    "/get",
                    "/2016-08-15/proxy/other/fn/",
                    "/2016-08-15/proxy/svc.LATEST/fn/",
                    "/2016-08-15/proxy/svc/fn-other",
                    "/2016-08-15/proxy/svc/fn//",
                ]
            ),
            st.text(LATIN1, max_size=30),
        )
    )
    script_name = draw(st.sampled_from(["", "", "/mnt", "/a/b"]))
    return Case(path, header, base_values, script_name)


# --------------------------------------------------------------------------- pure functions


@examples(4000)
@given(cases())
def test_split_prefix_is_lossless_on_boundaries_and_matches_the_oracle(case: Case) -> None:
    prefix, rest = split_prefix(case.path, case.header, case.base_paths)
    assert prefix + rest == case.path
    assert type(prefix) is str and type(rest) is str
    if prefix:
        assert prefix.startswith("/") and not prefix.endswith("/")
        assert rest == "" or rest.startswith("/")
    # Never doubles: at most one proxy prefix, then at most one configured base path.
    proxy_part = re.match(r"/[0-9]{4}-[0-9]{2}-[0-9]{2}/proxy/[^/]+/[^/]+", prefix)
    after_proxy = prefix[proxy_part.end() :] if proxy_part else prefix
    assert after_proxy == "" or after_proxy in case.base_paths
    event(f"moved: {'proxy' if proxy_part else '-'} + {'base' if after_proxy else '-'}")
    assert (prefix, rest) == oracle_split(case.path, case.base_paths)


@examples(3000)
@given(
    st.text(max_size=60),
    st.one_of(st.none(), st.text(max_size=40)),
    st.lists(st.text(max_size=12), max_size=4),
)
def test_split_prefix_never_raises_on_any_text(
    path: str, header: str | None, base_values: list[str]
) -> None:
    prefix, rest = split_prefix(path, header, parse_base_paths(base_values))
    assert prefix + rest == path


@examples(1000)
@given(st.lists(base_path_values, max_size=5))
def test_base_paths_are_normalised_once_and_for_all(values: list[str]) -> None:
    paths = parse_base_paths(values)
    # Equal lengths may come in any order: no path is under two of them at once.
    assert set(paths) == set(parse_base_paths(",".join(values)))
    assert len(set(paths)) == len(paths)
    assert [len(p) for p in paths] == sorted((len(p) for p in paths), reverse=True)
    for path in paths:
        # Never "/" (that would make SCRIPT_NAME "/"), never a trailing slash.
        assert path.startswith("/") and not path.endswith("/") and path != "/"
        assert normalize_base_path(path) == path
    assert set(parse_base_paths(list(paths))) == set(paths)


# --------------------------------------------------------------------------- the middleware


class Recorder:
    """Inner app: keeps a copy of the environ it was handed."""

    def __init__(self) -> None:
        self.seen: dict[str, Any] | None = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        self.seen = dict(environ)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]


@dataclass
class Outcome:
    seen: dict[str, Any] | None
    status: str
    headers: list[tuple[str, str]]
    log: str


def run(middleware_for: Callable[[Any, io.StringIO], Any], environ: dict[str, Any]) -> Outcome:
    app = Recorder()
    log = io.StringIO()
    wsgi = validator(middleware_for(validator(app), log))
    got: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        got["status"], got["headers"] = status, headers
        return lambda data: None

    result: Iterable[bytes] = wsgi(environ, start_response)
    try:
        b"".join(result)
    finally:
        result.close()  # type: ignore[attr-defined]
    return Outcome(app.seen, got["status"], got["headers"], log.getvalue())


request_ids = st.one_of(
    st.none(),
    st.just("1-67adb489-15d49184-2d4fa002fa2b"),
    st.uuids().map(str),
    # Invalid ones: replaced by a new ID. "a,b" is what gunicorn makes of two headers.
    st.sampled_from(["", " ", "a b", "a,b", "x" * 129, "caf\xe9", "line\nbreak", "tab\tx"]),
    st.text(LATIN1, max_size=20),
)
other_headers = st.dictionaries(
    st.from_regex(r"HTTP_[A-Z][A-Z0-9_]{0,12}", fullmatch=True).filter(
        lambda k: (
            not k.startswith("HTTP_X_FC_") and k not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH")
        )
    ),
    st.text(LATIN1, max_size=16),
    max_size=3,
)


def valid_request_id(value: str) -> bool:
    # The contract: short, ASCII, printable, one word (it goes into logs and a header).
    return 0 < len(value) <= 128 and value.isascii() and value.isprintable() and " " not in value


def make_environ(
    case: Case,
    request_id: str | None,
    credentials: bool,
    control_path: str | None,
    others: dict[str, str],
) -> dict[str, Any]:
    # A server hands PATH_INFO starting with "/" (or empty), SCRIPT_NAME never "/".
    path = case.path if case.path.startswith("/") else ("/" + case.path if case.path else "")
    environ: dict[str, Any] = {
        "PATH_INFO": path,
        "SCRIPT_NAME": case.script_name,
        "QUERY_STRING": "",
    }
    environ.update(others)
    if request_id is not None:
        environ["HTTP_X_FC_REQUEST_ID"] = request_id
    if case.header is not None:
        environ["HTTP_X_FC_BASE_PATH"] = case.header
    if control_path is not None:
        environ["HTTP_X_FC_CONTROL_PATH"] = control_path
    if credentials:
        environ.update(zip(CREDENTIAL_KEYS, SENTINELS, strict=True))
    setup_testing_defaults(environ)
    return environ


def latin1(value: str) -> bool:
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


@examples(2000)
@given(
    case=cases(),
    request_id=request_ids,
    credentials=st.booleans(),
    control_path=st.sampled_from([None, None, "/http-invoke"]),
    others=other_headers,
    trust=st.sampled_from([True, True, True, False]),
)
def test_middleware_environ_properties(
    case: Case,
    request_id: str | None,
    credentials: bool,
    control_path: str | None,
    others: dict[str, str],
    trust: bool,
) -> None:
    environ = make_environ(case, request_id, credentials, control_path, others)
    before = environ["SCRIPT_NAME"] + environ["PATH_INFO"]
    base_paths = list(case.base_paths)

    out = run(
        lambda app, log: FCMiddleware(
            app, base_paths=base_paths, trust_fc_headers=trust, stream=log
        ),
        dict(environ),
    )

    # The request ID: always one, valid, FC's own when FC sent a valid one.
    ids = [v for k, v in out.headers if k.lower() == "x-request-id"]
    assert len(ids) == 1
    rid = ids[0]
    assert valid_request_id(rid)
    if trust and request_id is not None and valid_request_id(request_id):
        assert rid == request_id
    else:
        assert re.fullmatch(r"1-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{12}", rid), rid
    assert f"FC Invoke Start RequestId: {rid}\n" in out.log
    assert f"FC Invoke End RequestId: {rid}\n" in out.log
    for _, value in out.headers:
        assert latin1(value)

    seen = out.seen
    if seen is None:
        # Only FC's lifecycle calls are answered without the app.
        assert out.status.startswith("200")
        assert environ["PATH_INFO"] in ("/initialize", "/pre-stop", "/pre-freeze")
        return
    assert seen["fc.request_id"] == rid

    # Lossless, moved only what the oracle moves, appended to an existing SCRIPT_NAME.
    assert seen["SCRIPT_NAME"] + seen["PATH_INFO"] == before
    moved, _ = oracle_split(environ["PATH_INFO"], case.base_paths)
    assert seen["SCRIPT_NAME"] == case.script_name + moved

    # Everything stays a latin-1 str; no credential survives in any HTTP_* key.
    for key, value in seen.items():
        if "." not in key:
            assert type(value) is str and latin1(value), key
        if key.startswith("HTTP_"):
            assert not any(s in value for s in SENTINELS), key
    assert not set(CREDENTIAL_KEYS) & set(seen)
    context_repr = repr(seen["fc.context"])
    assert SECRET not in context_repr and TOKEN not in context_repr and KEY_ID not in context_repr
    if credentials and trust:
        creds = seen["fc.context"].credentials
        assert (creds.access_key_id, creds.access_key_secret, creds.security_token) == SENTINELS


@examples(1000)
@given(case=cases(), request_id=request_ids, credentials=st.booleans())
def test_middleware_wrapped_twice_is_the_same_as_once(
    case: Case, request_id: str | None, credentials: bool
) -> None:
    """Idempotent: a second copy (the user's wsgi.py and ``fcmigrate serve``) adds nothing."""
    environ = make_environ(case, request_id, credentials, "/http-invoke", {})
    base_paths = list(case.base_paths)

    def once(app: Any, log: io.StringIO) -> Any:
        return FCMiddleware(app, base_paths=base_paths, stream=log)

    def twice(app: Any, log: io.StringIO) -> Any:
        return once(once(app, log), log)

    single, double = run(once, dict(environ)), run(twice, dict(environ))
    assert single.seen is not None and double.seen is not None
    assert (double.seen["SCRIPT_NAME"], double.seen["PATH_INFO"]) == (
        single.seen["SCRIPT_NAME"],
        single.seen["PATH_INFO"],
    )
    ids = [v for k, v in double.headers if k.lower() == "x-request-id"]
    assert ids == [double.seen["fc.request_id"]]
    assert double.log.count("FC Invoke Start") == double.log.count("FC Invoke End") == 1
    if credentials:
        creds = double.seen["fc.context"].credentials
        assert (creds.access_key_id, creds.access_key_secret, creds.security_token) == SENTINELS
