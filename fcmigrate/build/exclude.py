"""What never leaves the project: the default exclusions, and ``.fcignore`` on top of them.

One list serves ``migrate`` (what is copied into the build and ``code.zip``) and
``dockerize`` (the ``.dockerignore``). Every pattern is written ``**/name`` so that it
means the same at any depth in both places: gitignore matches a bare ``name`` at any
depth, but Docker's ``.dockerignore`` only from the build context's root.

Matching is gitignore's, through pathspec: the default lines come first and the project's
``.fcignore`` lines after them, the last matching line wins, and ``!pattern`` brings a
path back, so ``!.env.production`` in ``.fcignore`` ships that file. A file inside an
excluded folder cannot be brought back without bringing back the folder (git's rule).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pathspec

from fcmigrate.errors import FCMigrateError

__all__ = ["DEFAULT_EXCLUDES", "IgnoreRules", "Verdict", "dockerignore_lines"]

#: (why, patterns), in gitignore syntax that Docker's .dockerignore reads the same way.
DEFAULT_EXCLUDES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "dotenv file: local secrets; give settings to the function as environment variables",
        (
            "**/.env",
            "**/.env.*",
            "!**/.env.example",
            "!**/.env.sample",
            "!**/.env.template",
            "**/.envrc",
        ),
    ),
    (
        "private key or certificate",
        (
            "**/*.pem",
            "**/*.key",
            "**/*.p12",
            "**/*.pfx",
            "**/*.ppk",
            "**/id_rsa*",
            "**/id_dsa*",
            "**/id_ecdsa*",
            "**/id_ed25519*",
        ),
    ),
    (
        "credentials",
        (
            "**/.ssh",
            "**/.gnupg",
            "**/.aws",
            "**/.aliyun",
            "**/.azure",
            "**/.kube",
            "**/.config/gcloud",
            "**/application_default_credentials.json",
            "**/.docker/config.json",
            "**/.netrc",
            "**/_netrc",
            "**/.pgpass",
            "**/.pypirc",
            "**/.npmrc",
            "**/.git-credentials",
            "**/*.tfstate",
            "**/*.tfstate.backup",
        ),
    ),
    ("version control", ("**/.git", "**/.hg", "**/.svn", "**/.bzr")),
    ("virtualenv", ("**/.venv", "**/venv")),
    (
        "cache",
        (
            "**/__pycache__",
            "**/.tox",
            "**/.nox",
            "**/.mypy_cache",
            "**/.pytest_cache",
            "**/.ruff_cache",
            "**/.hypothesis",
        ),
    ),
    ("node_modules (JavaScript build input)", ("**/node_modules",)),
)


def dockerignore_lines() -> str:
    """The default exclusions as ``.dockerignore`` text, one commented group per reason."""
    out: list[str] = []
    for why, patterns in DEFAULT_EXCLUDES:
        out.append(f"# {why}")
        out.extend(patterns)
    return "\n".join(out) + "\n"


@dataclass(frozen=True)
class Verdict:
    """Why a path is left out: the line that decided, and where it came from."""

    rule: str
    why: str


class IgnoreRules:
    """The default exclusions followed by ``lines`` (a ``.fcignore``), gitignore style.

    ``#`` starts a comment; ``name`` or ``*.log`` matches at any depth; a pattern with a
    ``/`` is relative to the project folder (``/build``, ``docs/*.pdf``); ``**`` matches any
    number of folders; a trailing ``/`` matches folders only; ``!pattern`` brings back what
    an earlier line excluded, defaults included. The last matching line wins.
    """

    def __init__(self, lines: Iterable[str] = (), *, defaults: bool = True) -> None:
        all_lines: list[str] = []
        self._why: list[str] = []
        if defaults:
            for why, patterns in DEFAULT_EXCLUDES:
                all_lines += patterns
                self._why += [why] * len(patterns)
        for raw in lines:
            all_lines.append(raw.rstrip("\n"))
            self._why.append("listed in .fcignore")
        self._lines = all_lines
        self._spec = pathspec.GitIgnoreSpec.from_lines(all_lines)

    @classmethod
    def from_file(cls, path: Path) -> IgnoreRules:
        """The defaults and ``path`` (a ``.fcignore``) if it exists."""
        if not path.is_file():
            return cls()
        try:
            return cls(path.read_text(encoding="utf-8", errors="replace").splitlines())
        except OSError as exc:
            raise FCMigrateError(f"Cannot read {str(path)!r}: {exc.strerror or exc}.") from None

    def verdict(self, rel: str, is_dir: bool) -> Verdict | None:
        """Why ``rel`` (POSIX, relative to the project) is left out; ``None``: it is kept."""
        result = self._spec.check_file(rel + "/" if is_dir else rel)
        if not result.include or result.index is None:
            return None
        return Verdict(self._lines[result.index].strip(), self._why[result.index])

    def ignored(self, rel: str, is_dir: bool) -> bool:
        """Whether the path ``rel`` (POSIX, relative to the project) is left out."""
        return self.verdict(rel, is_dir) is not None
