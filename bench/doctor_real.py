"""Run ``fcmigrate doctor`` over real apps, as a new user would, one line per app.

For every app of ``bench/real_apps.py``'s groups whose snapshot is in the mirror folder, the
tree (the app's subfolder) is exported into a scratch folder and ``fcmigrate doctor`` runs on
it with no flags. Each line names the app, doctor's exit status and its findings' codes
(``E:`` errors, ``W:`` warnings, ``N:`` the number of notes); a crash (a traceback, an exit
status other than 0 and 1) is printed as ``CRASH`` with its last line.

    .venv/bin/python bench/doctor_real.py --mirror /work/.mirror [--group first] [--only NAME]
    .venv/bin/python bench/doctor_real.py --mirror /work/.mirror --build   # and the builds

``--build`` also runs ``fcmigrate migrate`` (no flags but the app's own ``--env`` settings,
as ``real_apps.py`` does) and doctor on the build it makes; it takes minutes per app.
``--json FILE`` writes every finding (id, file, line, message) for reading them one by one.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from real_apps import FCMIGRATE, GROUPS, App, export

ORDER = ("first", "second", "third", "fourth", "fifth", "sixth")


def doctor(folder: Path) -> tuple[str, dict[str, object]]:
    """One line of codes for ``folder``, and doctor's JSON report (empty on a crash)."""
    try:
        proc = subprocess.run(
            [*FCMIGRATE, "doctor", str(folder), "--json"],
            capture_output=True,
            text=True,
            timeout=300,
        )
    except subprocess.TimeoutExpired:
        return "CRASH timed out after 300 s", {}
    if proc.returncode not in (0, 1) or "Traceback" in proc.stderr:
        last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        return f"CRASH exit {proc.returncode}: {last}", {}
    report = json.loads(proc.stdout)
    findings = report["findings"]
    errors = sorted(f["id"] for f in findings if f["severity"] == "error")
    warnings = sorted(f["id"] for f in findings if f["severity"] != "error")
    line = (
        f"exit {proc.returncode}  E: {' '.join(errors) or '-'}  W: {' '.join(warnings) or '-'}"
        f"  N: {len(report['notes'])}"
    )
    return line, report


def migrate(project: Path, app: App) -> str:
    """``fcmigrate migrate`` as ``real_apps.py`` runs it: the app's own settings only."""
    env_args = [f"--env={k}={v.format(tmp='/tmp')}" for k, v in app.env.items()]
    proc = subprocess.run(
        [*FCMIGRATE, "migrate", str(project), *env_args],
        capture_output=True,
        text=True,
        env={**os.environ, **app.build_env},
    )
    if proc.returncode != 0:
        errors = [line for line in proc.stderr.splitlines() if line.startswith("Error")]
        return "migrate FAIL: " + (errors or proc.stderr.strip().splitlines() or ["?"])[-1][:150]
    return "ok"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--mirror", type=Path, required=True)
    parser.add_argument("--group", action="append", choices=ORDER, help="default: all")
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument("--build", action="store_true", help="also doctor the migrate build")
    parser.add_argument("--json", type=Path, help="write every finding to this file")
    args = parser.parse_args()

    apps = [app for group in args.group or ORDER for app in GROUPS[group]]
    if args.only:
        apps = [app for app in apps if app.name in args.only]
    counts: Counter[str] = Counter()
    everything: dict[str, object] = {}
    crashes = 0
    for app in apps:
        if not (args.mirror / app.repo.replace("/", "+") / "repo").exists():
            print(f"{app.name:24} not in the mirror", flush=True)
            continue
        with tempfile.TemporaryDirectory(prefix="doctor-real-") as scratch:
            root = Path(scratch) / app.name
            root.mkdir()
            commit = export(args.mirror, app, root)
            project = root / app.subdir if app.subdir else root
            line, report = doctor(project)
            print(f"{app.name:24} {commit[:10]}  {line}", flush=True)
            crashes += line.startswith("CRASH")
            findings = report.get("findings", [])
            counts.update(f["id"] for f in findings)  # type: ignore[attr-defined]
            entry: dict[str, object] = {"commit": commit, "project": report}
            if args.build:
                outcome = migrate(project, app)
                build = project / ".fcmigrate" / "build"
                if outcome == "ok" and build.is_dir():
                    bline, breport = doctor(build)
                    print(f"{'  build':24} {'':10}  {bline}", flush=True)
                    crashes += bline.startswith("CRASH")
                    entry["build"] = breport
                else:
                    print(f"{'  build':24} {'':10}  {outcome}", flush=True)
            everything[app.name] = entry
    total = sum(counts.values())
    print(
        f"\n{len(everything)} apps, {total} findings, {crashes} crashes: "
        + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    )
    if args.json:
        args.json.write_text(json.dumps(everything, indent=1))
    return 1 if crashes else 0


if __name__ == "__main__":
    raise SystemExit(main())
