"""Table tests of :mod:`fcmigrate.runtime.paths`: which part of a path is FC's, not the app's."""

from __future__ import annotations

import pytest

from fcmigrate.runtime.paths import (
    is_under,
    normalize_base_path,
    parse_base_paths,
    proxy_prefix,
    split_prefix,
)

PREFIX = "/2016-08-15/proxy/svc/fn"


@pytest.mark.parametrize(
    ("path", "prefix", "expected"),
    [
        ("/api", "/api", True),
        ("/api/", "/api", True),
        ("/api/users", "/api", True),
        ("/apix", "/api", False),
        ("/ap", "/api", False),
        ("/", "/api", False),
        ("", "/api", False),
        ("/svc/fn-other/a", "/svc/fn", False),
        ("/svc/fn/a", "/svc/fn", True),
        ("/API", "/api", False),
    ],
    ids=[
        "exact",
        "trailing-slash",
        "below",
        "longer-segment",
        "shorter",
        "root",
        "empty",
        "near-miss-hyphen",
        "nested",
        "case-sensitive",
    ],
)
def test_is_under(path: str, prefix: str, expected: bool) -> None:
    assert is_under(path, prefix) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/api", "/api"),
        ("api", "/api"),
        ("api/", "/api"),
        ("/api/", "/api"),
        ("  /api  ", "/api"),
        ("/a/b/", "/a/b"),
        ("//api//", "/api"),
        ("/", ""),
        ("", ""),
        ("   ", ""),
        (" / api / ", "/api"),
    ],
    ids=[
        "canonical",
        "no-leading-slash",
        "trailing-slash",
        "both-slashes",
        "spaces",
        "two-segments",
        "doubled-slashes",
        "root-is-none",
        "empty",
        "blank",
        "spaces-inside-slashes",
    ],
)
def test_normalize_base_path(value: str, expected: str) -> None:
    assert normalize_base_path(value) == expected
    assert normalize_base_path(expected) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ()),
        ("", ()),
        ("/api", ("/api",)),
        ("/api,/v1/api", ("/v1/api", "/api")),
        (" api/ , /api ,, ", ("/api",)),
        (["/a", "/abc/", "b"], ("/abc", "/a", "/b")),
        ("/,/", ()),
    ],
    ids=[
        "none",
        "empty-string",
        "one",
        "longest-first",
        "normalised-and-deduplicated",
        "iterable",
        "only-roots",
    ],
)
def test_parse_base_paths(value: str | list[str] | None, expected: tuple[str, ...]) -> None:
    result = parse_base_paths(value)
    # Order among equal lengths is unspecified; longest-first is what matching relies on.
    assert sorted(result) == sorted(expected)
    assert [len(p) for p in result] == sorted((len(p) for p in result), reverse=True)


@pytest.mark.parametrize(
    ("path", "header", "expected"),
    [
        (f"{PREFIX}/x", None, PREFIX),
        (PREFIX, None, PREFIX),
        (f"{PREFIX}/", None, PREFIX),
        ("/2016-08-15/proxy/svc.prod/fn/x", None, "/2016-08-15/proxy/svc.prod/fn"),
        (f"{PREFIX}/x", f"{PREFIX}/", PREFIX),
        (f"{PREFIX}/x", PREFIX, PREFIX),
        (f"{PREFIX}/x", "/2016-08-15/proxy/svc/other/", PREFIX),
        ("/get/x", "/get", ""),
        ("/get", "/get/", ""),
        (
            "/2016-08-15/proxy/svc/fn-other/a",
            f"{PREFIX}/",
            "/2016-08-15/proxy/svc/fn-other",
        ),
        ("/x", f"{PREFIX}/", ""),
        ("/2016-08-15/proxy/svc", None, ""),
        ("/2016-08-15/proxy/svc/", None, ""),
        ("/16-08-15/proxy/svc/fn/x", None, ""),
        ("/2016-08-15/proxyx/svc/fn/x", None, ""),
        ("/a/2016-08-15/proxy/svc/fn/x", None, ""),
        ("/2016-08-15/proxy/s%20v/f\xc3\xa9/x", None, "/2016-08-15/proxy/s%20v/f\xc3\xa9"),
        ("", None, ""),
    ],
    ids=[
        "in-path",
        "exact",
        "slash",
        "qualifier",
        "header-with-slash",
        "header-without-slash",
        "header-disagrees-path-wins",
        "header-non-proxy-ignored",
        "header-non-proxy-exact-ignored",
        "header-near-miss-path-own-prefix",
        "header-but-path-has-none",
        "no-function",
        "no-function-slash",
        "short-date",
        "not-proxy-word",
        "not-at-start",
        "encoded-and-latin1",
        "empty",
    ],
)
def test_proxy_prefix(path: str, header: str | None, expected: str) -> None:
    assert proxy_prefix(path, header) == expected


@pytest.mark.parametrize(
    ("path", "header", "base_paths", "expected"),
    [
        ("/x", None, (), ("", "/x")),
        ("", None, (), ("", "")),
        (f"{PREFIX}/x", None, (), (PREFIX, "/x")),
        (PREFIX, None, (), (PREFIX, "")),
        (f"{PREFIX}/", None, (), (PREFIX, "/")),
        ("/api/users", None, ("/api",), ("/api", "/users")),
        ("/api", None, ("/api",), ("/api", "")),
        ("/apix/users", None, ("/api",), ("", "/apix/users")),
        (f"{PREFIX}/api/users", None, ("/api",), (f"{PREFIX}/api", "/users")),
        (f"{PREFIX}/apix", None, ("/api",), (PREFIX, "/apix")),
        ("/v1/api/x", None, ("/v1/api", "/v1"), ("/v1/api", "/x")),
        ("/v1/x", None, ("/v1/api", "/v1"), ("/v1", "/x")),
        ("/get/x", "/get", (), ("", "/get/x")),
        ("/caf\xc3\xa9/%2F", None, ("/caf\xc3\xa9",), ("/caf\xc3\xa9", "/%2F")),
        # The base path is looked for after the proxy prefix only, never before it.
        (f"/api{PREFIX}/x", None, ("/api",), ("/api", f"{PREFIX}/x")),
    ],
    ids=[
        "nothing",
        "empty",
        "proxy",
        "proxy-exact",
        "proxy-slash",
        "base",
        "base-exact",
        "base-near-miss",
        "proxy-then-base",
        "proxy-then-base-near-miss",
        "longest-base-first",
        "shorter-base",
        "non-proxy-header-ignored",
        "latin1-base",
        "base-before-proxy-is-app-path",
    ],
)
def test_split_prefix(
    path: str, header: str | None, base_paths: tuple[str, ...], expected: tuple[str, str]
) -> None:
    prefix, rest = split_prefix(path, header, base_paths)
    assert (prefix, rest) == expected
    assert prefix + rest == path


def test_split_prefix_applied_twice_moves_nothing_more() -> None:
    prefix, rest = split_prefix(f"{PREFIX}/api/x", f"{PREFIX}/", ("/api",))
    assert prefix == f"{PREFIX}/api"
    assert split_prefix(rest, f"{PREFIX}/", ("/api",)) == ("", "/x")
