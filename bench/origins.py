"""Read where public example apps run today, as ``fcmigrate migrate`` would, and print it.

For each (repository, folder) in ``EXAMPLES``, read from local snapshots (``--mirror``, folders
``owner+name/repo``), the folder is exported to a scratch folder and
:func:`fcmigrate.build.origins.find_origins` reads it: one line per source with the app, Python,
memory, timeout, environment (secrets marked ``*``), jobs and the count of what it could not
carry. Nothing is imported or installed.

    .venv/bin/python bench/origins.py --mirror /work/.mirror
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from fcmigrate.build.origins import find_origins
from fcmigrate.errors import FCMigrateError

EXAMPLES = [
    ("GoogleCloudPlatform/python-docs-samples", "appengine/standard_python3/hello_world"),
    ("GoogleCloudPlatform/python-docs-samples", "appengine/standard_python3/django"),
    ("GoogleCloudPlatform/python-docs-samples", "appengine/standard_python3/custom-server"),
    ("GoogleCloudPlatform/python-docs-samples",
     "appengine/standard_python3/building-an-app/building-an-app-4"),
    ("GoogleCloudPlatform/python-docs-samples", "appengine/standard_python3/warmup"),
    ("Miserlou/Zappa", "example"),
    ("ilgor/parking-serverless", ""),
    ("miguelgrinberg/microblog", ""),
    ("mdn/django-locallibrary-tutorial", ""),
    ("wagtail/bakerydemo", ""),
    ("postmanlabs/httpbin", ""),
    ("gothinkster/flask-realworld-example-app", ""),
    ("glasnt/cloudrun-python-examples", "flask-gunicorn"),
    ("glasnt/cloudrun-python-examples", "flask-uwsgi"),
    ("glasnt/cloudrun-python-examples", "flask-waitress"),
    ("render-examples/django", ""),
    ("railwayapp-templates/django", ""),
    ("fly-apps/hello-django", ""),
    ("digitalocean/sample-django", ""),
    ("digitalocean/sample-flask", ""),
]  # fmt: skip


def export(mirror: Path, repo: str, folder: str, into: Path) -> Path:
    git_dir = mirror / repo.replace("/", "+") / "repo"
    args = ["git", "-C", str(git_dir), "archive", "--format=tar", "HEAD"]
    archive = subprocess.run(
        [*args, *([folder] if folder else [])], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into / folder if folder else into


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror", type=Path, default=Path("/work/.mirror"))
    args = parser.parse_args()
    for repo, folder in EXAMPLES:
        with tempfile.TemporaryDirectory() as scratch:
            name = f"{repo}/{folder}".rstrip("/")
            try:
                root = export(args.mirror, repo, folder, Path(scratch))
                found = find_origins(root)
            except (subprocess.CalledProcessError, FCMigrateError) as exc:
                print(f"{name}: {exc}")
                continue
            if not found:
                print(f"{name}: no source")
            for o in found:
                env = ", ".join(e.name + ("*" if e.secret else "") for e in o.env) or "-"
                jobs = ", ".join(f"{j.name} {j.schedule!r}" for j in o.jobs) or "-"
                print(
                    f"{name}: {o.name}: app={o.app} python={o.python} memory={o.memory} "
                    f"timeout={o.timeout} env=[{env}] jobs=[{jobs}] "
                    f"not carried={len(o.not_carried)} steps={len(o.steps)}"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
