"""Flask-Assets bundles built into the build, as ``flask assets build`` does.

Flask-Assets (webassets) builds an app's CSS and JS bundles into its static folder at the
first request that renders one, when ``ASSETS_AUTO_BUILD`` is on, its default. On FC the
code folder is read-only, so that request fails with a 500. :func:`build_bundles` builds
them while the build is still being made, in its folder: the outputs, and webassets' cache
of what it built (``.webassets-cache``), then ship with the code, and at run time webassets
finds every bundle up to date and writes nothing.

It runs the app's import once more, in the build folder, with the environment of the import
check; a bundle that cannot be built here (a filter that needs a program this machine lacks,
such as ``lessc``) is reported, and the import check's note stands.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["AssetsBuilt", "build_bundles", "uses_webassets"]

BUILD_TIMEOUT = 300.0

_DRIVER = r"""
import json, os, sys
with open(sys.argv[1], encoding="utf-8") as file:
    request = json.load(file)
result = {"built": [], "step": "import"}


def save():
    with open(sys.argv[2], "w", encoding="utf-8") as out:
        json.dump(result, out)


save()
from fcmigrate.runtime.loader import load_app

app = load_app(request["spec"], cwd=request["root"])
env = getattr(getattr(app, "jinja_env", None), "assets_environment", None)
# An Environment() bound later with init_app(app) reads its settings from the current app.
with app.app_context():
    if env is None or not env.auto_build:
        result["step"] = "none"
        save()
        sys.exit(0)
    result["step"] = "build"
    result["directory"] = os.path.realpath(str(env.directory))
    save()
    for bundle in env:
        try:
            bundle.build()
        except Exception as exc:
            result.setdefault("failed", []).append(
                f"{bundle.output or bundle}: {type(exc).__name__}: {exc}"[:500]
            )
            save()
            continue
        result["built"].append(str(bundle.output or bundle))
        save()
result["step"] = "done"
save()
"""


@dataclass
class AssetsBuilt:
    """What :func:`build_bundles` did: the bundles built, where, and the ones that failed."""

    built: list[str] = field(default_factory=list)
    directory: str = ""
    failed: list[str] = field(default_factory=list)
    error: str = ""


def uses_webassets(vendored: Path) -> bool:
    """Whether the build's ``python/`` holds webassets (Flask-Assets' engine)."""
    return (vendored / "webassets").is_dir()


def build_bundles(
    code_dir: Path,
    spec: str,
    python: str,
    *,
    pythonpath: Sequence[Path],
    env: Mapping[str, str],
    timeout: float = BUILD_TIMEOUT,
) -> AssetsBuilt:
    """Build the Flask-Assets bundles of the app ``spec`` in ``code_dir`` (the build)."""
    from fcmigrate.build.child import run_child

    reply = run_child(
        ["-c", _DRIVER],
        {"spec": spec, "root": str(code_dir)},
        cwd=code_dir,
        env=env,
        timeout=timeout,
        doing="Building the Flask-Assets bundles",
        purpose="to build the Flask-Assets bundles",
        python=python,
        isolated=True,
        pythonpath=list(pythonpath),
        raise_on_timeout=False,
    )
    answer = reply.answer
    top = str(code_dir.resolve())
    directory = str(answer.get("directory", ""))
    shown = directory[len(top) + 1 :] if directory.startswith(top + "/") else directory
    done = AssetsBuilt(
        built=[str(b) for b in answer.get("built", [])],
        directory=shown,
        failed=[str(f) for f in answer.get("failed", [])],
    )
    if answer.get("step") not in ("done", "none"):
        lines = [line for line in (reply.stderr or reply.stdout).splitlines() if line.strip()]
        done.error = lines[-1] if lines else (reply.failure() or "it stopped")
    return done
