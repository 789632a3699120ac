"""Which index URLs are public mirrors of PyPI, and what a note may show of a URL."""

from __future__ import annotations

from pathlib import Path

import pytest

from fcmigrate.build.mirrors import index_lines, pypi_mirror, shown_url, unreachable_mirror


@pytest.mark.parametrize(
    ("url", "what"),
    [
        ("https://pypi.python.org/simple", "PyPI's former address"),
        ("https://PyPI.Python.org/simple/flask/", "PyPI's former address"),
        ("https://mirrors.tuna.tsinghua.edu.cn/pypi/web/simple/", "Tsinghua University's"),
        ("https://pypi.tuna.tsinghua.edu.cn/simple", "Tsinghua University's"),
        ("http://mirrors.aliyun.com/pypi/simple/", "Alibaba Cloud's"),
        ("https://pypi.douban.com/simple", "Douban's"),
        ("https://pypi.mirrors.ustc.edu.cn/simple/", "USTC's"),
        ("https://mirrors.ustc.edu.cn/pypi/web/simple", "USTC's"),
        ("https://mirrors.cloud.tencent.com/pypi/simple", "Tencent Cloud's"),
        ("https://repo.huaweicloud.com/repository/pypi/simple", "Huawei Cloud's"),
        ("https://mirrors.bfsu.edu.cn/pypi/web/simple", "Beijing Foreign Studies"),
        ("https://mirrors.tuna.tsinghua.edu.cn/pypi", "Tsinghua University's"),
    ],
)
def test_public_mirrors_of_pypi_are_known_by_host_and_path(url: str, what: str) -> None:
    found = pypi_mirror(url)
    assert found is not None and found.startswith(what)


@pytest.mark.parametrize(
    "url",
    [
        "https://pypi.org/simple",
        "https://pypi.corp.example/simple",
        # Another mirror on the same host: not PyPI's.
        "https://mirrors.tuna.tsinghua.edu.cn/anaconda/simple",
        "https://mirrors.aliyun.com/pypi-private/simple",
        "https://repo.huaweicloud.com/repository/npm/",
        "https://pypi.douban.com.evil.example/simple",
        "not a url",
    ],
)
def test_other_indexes_are_not_mirrors(url: str) -> None:
    assert pypi_mirror(url) is None


def test_a_note_never_shows_the_credentials_of_an_index() -> None:
    assert shown_url("https://user:s3cret@pypi.corp.example/simple") == (
        "https://pypi.corp.example/simple"
    )
    assert shown_url("https://pypi.org/simple") == "https://pypi.org/simple"


def test_index_lines_are_read_from_included_files_too(tmp_path: Path) -> None:
    (tmp_path / "req").mkdir()
    (tmp_path / "req" / "base.txt").write_text("--extra-index-url=https://pypi.douban.com/simple\n")
    (tmp_path / "requirements.txt").write_text(
        "-i https://pypi.python.org/simple\n-r req/base.txt\nflask\n"
    )
    assert list(index_lines(tmp_path / "requirements.txt")) == [
        (tmp_path / "requirements.txt", 1, "-i", "https://pypi.python.org/simple"),
        (tmp_path / "req" / "base.txt", 1, "--extra-index-url", "https://pypi.douban.com/simple"),
    ]


def test_a_mirror_only_the_environment_names_is_left_alone(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("-i https://pypi.python.org/simple\nflask\n")
    url = "https://pypi.python.org/simple/flask/"
    assert unreachable_mirror(url, requirements, {}) is not None
    named = {"UV_INDEX": "old=https://pypi.python.org/simple"}
    assert unreachable_mirror(url, requirements, named) is None
    assert unreachable_mirror(url, None, {}) is None
    (tmp_path / "other.txt").write_text("flask\n")
    assert unreachable_mirror(url, tmp_path / "other.txt", {}) is None
