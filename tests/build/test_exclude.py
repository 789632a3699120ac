"""What never leaves the project: real files, real symlinks, a real zip read back.

:func:`fcmigrate.build.package.copy_project` copies a project folder full of things a developer's
folder really holds (dotenv files, keys, credential folders, links to ``~/.ssh`` and
``/proc``, a FIFO, a socket, a SQLite file), then :func:`make_zip` packs the copy the way
``migrate`` does, and the zip is read back: what is in it is what FC would serve.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from fcmigrate.build.exclude import DEFAULT_EXCLUDES, IgnoreRules
from fcmigrate.build.package import CopyReport, copy_project, make_zip

SECRETS = (
    ".env",
    ".env.production",
    ".env.local",
    "config/.env",
    "deploy/.env.staging",
    ".envrc",
    "id_rsa",
    "id_rsa.pub",
    "keys/id_ed25519",
    "keys/server.pem",
    "keys/server.key",
    "certs/client.p12",
    "certs/client.pfx",
    ".ssh/id_ecdsa",
    ".ssh/config",
    ".aws/credentials",
    ".aws/config",
    "sub/.aws/credentials",
    ".netrc",
    ".pypirc",
    ".npmrc",
    ".git-credentials",
    ".docker/config.json",
    ".kube/config",
    ".config/gcloud/application_default_credentials.json",
    "infra/terraform.tfstate",
)
KEPT = (
    "app.py",
    ".env.example",
    ".env.sample",
    "config/.env.template",
    "environment.py",
    "templates/keys.html",
    ".docker/README.md",
    "static/app.js",
)


def write(root: Path, rel: str, text: str = "x") -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def zipped(root: Path, tmp: Path, fcignore: str | None = None) -> tuple[set[str], CopyReport]:
    """Copy ``root`` as migrate does, zip the copy, and return the zip's names and the report."""
    if fcignore is not None:
        (root / ".fcignore").write_text(fcignore)
    build = tmp / "build"
    report = copy_project(root, build)
    make_zip(build, tmp / "code.zip")
    with zipfile.ZipFile(tmp / "code.zip") as archive:
        return set(archive.namelist()), report


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    for rel in (*SECRETS, *KEPT):
        write(root, rel, f"SECRET-{rel}" if rel in SECRETS else "ok")
    return root


# --- 1. the default exclusion list --------------------------------------------------------


def test_secrets_stay_out_of_the_zip_at_any_depth(project: Path, tmp_path: Path) -> None:
    names, report = zipped(project, tmp_path)
    assert names >= set(KEPT) - {".fcignore"}
    assert names & set(SECRETS) == set()
    for name in names:
        assert b"SECRET-" not in zipfile.ZipFile(tmp_path / "code.zip").read(name), name
    # Each one is reported with the rule that left it out.
    reasons = {item.path: item for item in report.left_out}
    assert reasons[".env"].rule == "**/.env"
    assert reasons["deploy/.env.staging"].rule == "**/.env.*"
    assert reasons["keys/server.pem"].why == "private key or certificate"
    assert reasons[".aws/"].rule == "**/.aws"
    assert reasons["sub/.aws/"].why == "credentials"
    assert reasons[".docker/config.json"].rule == "**/.docker/config.json"


def test_fcignore_brings_a_default_back_with_a_bang(project: Path, tmp_path: Path) -> None:
    names, report = zipped(project, tmp_path, "# ship this one\n!.env.production\nstatic/\n")
    assert ".env.production" in names
    assert ".env" not in names and ".env.local" not in names
    assert not any(name.startswith("static/") for name in names)
    assert [i.rule for i in report.left_out if i.path == "static/"] == ["static/"]


def test_fcignore_rules_keep_their_gitignore_meaning() -> None:
    rules = IgnoreRules(["/build", "docs/*.pdf", "**/fixtures", "!keep.pem"])
    assert rules.ignored("build", True) and not rules.ignored("src/build", True)
    assert rules.ignored("docs/a.pdf", False) and not rules.ignored("docs/sub/a.pdf", False)
    assert rules.ignored("tests/unit/fixtures", True)
    assert not rules.ignored("keep.pem", False) and not rules.ignored("a/keep.pem", False)
    assert rules.ignored("other.pem", False)
    assert not IgnoreRules(defaults=False).ignored(".env", False)


def test_every_default_pattern_is_written_for_any_depth() -> None:
    # Docker's .dockerignore anchors a bare name at the context root: '**/' keeps the
    # meaning the same in both places.
    for _, patterns in DEFAULT_EXCLUDES:
        for pattern in patterns:
            assert pattern.removeprefix("!").startswith("**/"), pattern


# --- 2. symlinks and special files --------------------------------------------------------


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A fake home folder outside the project, with a private key in it."""
    folder = tmp_path / "home"
    write(folder, ".ssh/id_rsa", "SECRET-outside-key")
    write(folder, "notes/todo.txt", "SECRET-outside-notes")
    return folder


def test_symlinks_leaving_the_project_are_not_followed(
    project: Path, home: Path, tmp_path: Path
) -> None:
    (project / "static" / "logo.png").symlink_to(home / ".ssh" / "id_rsa")
    (project / "static" / "environ.txt").symlink_to("/proc/self/environ")
    (project / "static" / "shared").symlink_to(home / "notes")
    (project / "static" / "up").symlink_to("../..")  # the folder holding the project
    names, report = zipped(project, tmp_path)
    for name in ("static/logo.png", "static/environ.txt", "static/shared/todo.txt"):
        assert name not in names
    assert not any(name.startswith("static/up/") for name in names)
    for name in names:
        assert b"SECRET-" not in zipfile.ZipFile(tmp_path / "code.zip").read(name), name
    whys = {item.path: item.why for item in report.left_out}
    assert whys["static/logo.png"] == (
        f"symlink to {str(home / '.ssh' / 'id_rsa')!r}, outside the project: not followed"
    )
    assert whys["static/environ.txt"].startswith("symlink to '/proc/")
    assert whys["static/shared"].endswith("outside the project: not followed")


def test_symlinks_inside_the_project_keep_working(project: Path, tmp_path: Path) -> None:
    write(project, "assets/css/site.css", "body {}")
    (project / "static" / "css").symlink_to("../assets/css")
    (project / "static" / "main.js").symlink_to("app.js")
    (project / "assets" / "loop").symlink_to("..")  # back to the project: a loop
    (project / "assets" / "css" / "self").symlink_to(".")
    names, report = zipped(project, tmp_path)
    assert {"static/css/site.css", "static/main.js", "assets/css/site.css"} <= names
    assert not any("/loop/" in name or "/self/" in name for name in names)
    whys = {item.path: item.why for item in report.left_out}
    assert whys["assets/loop/"] == "symlink to a folder it is in: not followed"
    assert whys["assets/css/self/"] == "symlink to a folder it is in: not followed"


def test_a_link_inside_the_project_to_a_secret_is_left_out(project: Path, tmp_path: Path) -> None:
    (project / "static" / "config.txt").symlink_to("../.env")
    (project / "static" / "keys").symlink_to("../.ssh")
    names, report = zipped(project, tmp_path)
    assert "static/config.txt" not in names
    assert not any(name.startswith("static/keys") for name in names)
    reasons = {item.path: item for item in report.left_out}
    assert reasons["static/config.txt"].rule == "**/.env"
    assert reasons["static/config.txt"].why.startswith("links to .env: dotenv file")
    assert reasons["static/keys/"].rule == "**/.ssh"


@pytest.fixture
def unix_socket(project: Path) -> Iterator[Path]:
    path = project / "run" / "app.sock"
    path.parent.mkdir()
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        yield path


def test_fifos_sockets_and_devices_are_never_read(
    project: Path, tmp_path: Path, unix_socket: Path
) -> None:
    # Opening a FIFO for reading blocks until a writer comes: a copy that read it would hang.
    os.mkfifo(project / "pipe")
    (project / "null").symlink_to("/dev/null")  # outside: not followed
    names, report = zipped(project, tmp_path)
    assert "pipe" not in names and "run/app.sock" not in names and "null" not in names
    whys = {item.path: item.why for item in report.left_out}
    assert whys["pipe"] == "a FIFO: never read"
    assert whys["run/app.sock"] == "a socket: never read"
    assert whys["null"] == "symlink to '/dev/null', outside the project: not followed"


# --- 3. the report ------------------------------------------------------------------------


def test_report_lists_each_path_or_counts_per_rule(project: Path, tmp_path: Path) -> None:
    for n in range(5):
        write(project, f"pkg{n}/__pycache__/m.cpython-310.pyc")
    _, report = zipped(project, tmp_path)
    lines = report.left_out_lines()
    assert (
        ".env (dotenv file: local secrets; give settings to the function as environment "
        "variables; rule **/.env)"
    ) in lines
    assert "5 paths such as pkg0/__pycache__/ (cache; rule **/__pycache__)" in lines
    assert not any("pkg1/__pycache__" in line for line in lines)
    assert len(lines) < len(report.left_out)


# --- 4. SQLite ------------------------------------------------------------------------------


def test_sqlite_databases_are_copied_and_reported(project: Path, tmp_path: Path) -> None:
    db = sqlite3.connect(project / "catalog")  # no suffix: found by its header
    db.execute("create table t (x)")
    db.commit()
    db.close()
    write(project, "db.sqlite3", "")
    write(project, "var/cache.DB", "")
    write(project, "README.db.md", "not a database")
    names, report = zipped(project, tmp_path)
    assert {"catalog", "db.sqlite3", "var/cache.DB"} <= names
    assert report.databases == ["catalog", "db.sqlite3", "var/cache.DB"]
    assert report.notes() == [
        "Copied SQLite databases catalog, db.sqlite3, var/cache.DB: FC's code folder is "
        "read-only: a Django app's database there gets a copy in /tmp for each instance "
        "(fcmigrate serve moves it; writes are lost when the instance stops), any other app "
        "can read it but every write fails. Keep data that must last in a database server "
        "or on a NAS mount."
    ]
    assert CopyReport().notes() == []
