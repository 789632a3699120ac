"""Public mirrors of PyPI named by a requirements file, and what stands in when one cannot
be reached.

Many projects pin the mirror their authors were close to (``-i
https://mirrors.tuna.tsinghua.edu.cn/pypi/web/simple/``) or PyPI's former address
(``-i https://pypi.python.org/simple``). A mirror serves the same packages as PyPI, so when
the one a requirements file names cannot be reached from the machine that builds, the build
installs from PyPI instead (:func:`unreachable_mirror`), with a note. An index that is not
in :data:`PYPI_MIRRORS` (a private one) is never replaced, nor one the user configured
(``PIP_INDEX_URL``, ``UV_INDEX_URL`` ...): its failure stays an error.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "PYPI_INDEX",
    "PYPI_MIRRORS",
    "MirrorSwap",
    "index_lines",
    "pypi_mirror",
    "shown_url",
    "unreachable_mirror",
]

#: Where the packages come from instead of an unreachable mirror.
PYPI_INDEX = "https://pypi.org/simple"

#: Public mirrors of PyPI: (host, the path the index is under, what it is).
PYPI_MIRRORS: tuple[tuple[str, str, str], ...] = (
    ("pypi.python.org", "/", "PyPI's former address"),
    ("pypi.tuna.tsinghua.edu.cn", "/", "Tsinghua University's mirror of PyPI"),
    ("mirrors.tuna.tsinghua.edu.cn", "/pypi/", "Tsinghua University's mirror of PyPI"),
    ("mirrors.aliyun.com", "/pypi/", "Alibaba Cloud's mirror of PyPI"),
    ("mirrors.cloud.aliyuncs.com", "/pypi/", "Alibaba Cloud's mirror of PyPI (VPC address)"),
    ("pypi.douban.com", "/", "Douban's mirror of PyPI"),
    ("pypi.doubanio.com", "/", "Douban's mirror of PyPI"),
    ("pypi.mirrors.ustc.edu.cn", "/", "USTC's mirror of PyPI"),
    ("mirrors.ustc.edu.cn", "/pypi/", "USTC's mirror of PyPI"),
    ("mirrors.cloud.tencent.com", "/pypi/", "Tencent Cloud's mirror of PyPI"),
    ("mirrors.tencent.com", "/pypi/", "Tencent's mirror of PyPI"),
    ("mirrors.tencentyun.com", "/pypi/", "Tencent Cloud's mirror of PyPI (internal address)"),
    ("repo.huaweicloud.com", "/repository/pypi/", "Huawei Cloud's mirror of PyPI"),
    ("mirrors.huaweicloud.com", "/repository/pypi/", "Huawei Cloud's mirror of PyPI"),
    ("mirrors.bfsu.edu.cn", "/pypi/", "Beijing Foreign Studies University's mirror of PyPI"),
    ("mirrors.sjtug.sjtu.edu.cn", "/pypi/", "Shanghai Jiao Tong University's mirror of PyPI"),
    ("mirror.sjtu.edu.cn", "/pypi/", "Shanghai Jiao Tong University's mirror of PyPI"),
    ("mirrors.zju.edu.cn", "/pypi/", "Zhejiang University's mirror of PyPI"),
    ("mirrors.cernet.edu.cn", "/pypi/", "CERNET's mirror of PyPI"),
    ("mirrors.163.com", "/pypi/", "NetEase's mirror of PyPI"),
    ("mirror.baidu.com", "/pypi/", "Baidu's mirror of PyPI"),
)

#: A requirements-file line naming an index: ``-i URL``, ``--extra-index-url=URL``.
_INDEX_LINE = re.compile(r"\s*(-i|--index-url|--extra-index-url)(?:\s+|=)(\S+)")
_INCLUDE = re.compile(r"\s*(?:-r|--requirement)(?:\s+|=)(\S+)")
#: The variables that name the user's own indexes (pip's and uv's).
_INDEX_VARIABLES = (
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "UV_INDEX_URL",
    "UV_EXTRA_INDEX_URL",
    "UV_DEFAULT_INDEX",
    "UV_INDEX",
)
#: The variables that set the user's default index, which uv prefers to a file's ``-i``.
_DEFAULT_INDEX_VARIABLES = ("UV_DEFAULT_INDEX", "UV_INDEX_URL", "PIP_INDEX_URL")


@dataclass(frozen=True)
class MirrorSwap:
    """What the build does about an unreachable mirror: each index URL of the requirements
    files to replace (by another URL, or ``None``: the line is left out), and the note."""

    replaced: Mapping[str, str | None]
    note: str


def pypi_mirror(url: str) -> str | None:
    """What ``url`` is when it is on a public mirror of PyPI (``"Tsinghua University's
    mirror of PyPI"``), else ``None``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    for mirror, prefix, what in PYPI_MIRRORS:
        if host == mirror and path.startswith(prefix):
            return what
    return None


def shown_url(url: str) -> str:
    """``url`` without the user name and password it may carry, for a note."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def index_lines(file: Path, depth: int = 0) -> Iterator[tuple[Path, int, str, str]]:
    """``(file, line number, option, URL)`` for each index a requirements file names, and
    the files it includes (``-r``)."""
    try:
        lines = file.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return
    for number, line in enumerate(lines, start=1):
        index = _INDEX_LINE.match(line)
        if index:
            yield file, number, index.group(1), index.group(2)
        include = _INCLUDE.match(line)
        if include and depth < 10 and (file.parent / include.group(1)).is_file():
            yield from index_lines(file.parent / include.group(1), depth + 1)


def _user_index_hosts(environ: Mapping[str, str]) -> set[str | None]:
    hosts: set[str | None] = set()
    for variable in _INDEX_VARIABLES:
        for entry in re.split(r"[\s,]+", environ.get(variable, "")):
            # UV_INDEX entries may be named: "name=https://host/simple".
            if "=" in entry.split("://")[0]:
                entry = entry.partition("=")[2]
            if entry:
                hosts.add(urlsplit(entry).hostname)
    return hosts


def unreachable_mirror(
    url: str, requirements_file: Path | None, environ: Mapping[str, str]
) -> MirrorSwap | None:
    """What stands in for the public mirror of PyPI that ``url`` (which could not be
    fetched: its host cannot be reached) is on, when the requirements files name it: PyPI
    (or, for an extra index, the user's own default index if they set one). ``None`` for
    another host, or one the user's environment names."""
    what = pypi_mirror(url)
    if what is None or requirements_file is None:
        return None
    host = urlsplit(url).hostname
    if host in _user_index_hosts(environ):
        return None
    named = [
        (file, number, option, index)
        for file, number, option, index in index_lines(requirements_file)
        if urlsplit(index).hostname == host and pypi_mirror(index) is not None
    ]
    if not named:
        return None
    own = next((environ[v] for v in _DEFAULT_INDEX_VARIABLES if environ.get(v)), None)
    replaced: dict[str, str | None] = {}
    for _, _, option, index in named:
        if option == "--extra-index-url" and own is not None:
            replaced[index] = None  # the user's own default index stands in
        else:
            replaced[index] = PYPI_INDEX
    where = (
        f"the index you set ({shown_url(own)})"
        if own is not None and None in replaced.values()
        else f"PyPI ({PYPI_INDEX})"
    )
    file, number, option, index = named[0]
    note = (
        f"{file.name} line {number} installs from {shown_url(index)} ({option}), "
        f"{what}, which cannot be reached from this machine: the packages were installed "
        f"from {where} instead, which has the same packages."
    )
    return MirrorSwap(replaced, note)
