"""Scheduled jobs: the ones a build runs on FC's timers, or a project's schedules to come.

Not problems, so they are notes: a build's ``fcmigrate_jobs.json`` (what its timer triggers
run), or the schedules that ``fcmigrate migrate`` would turn into timer triggers, read from
the project's ``cron.yaml``, ``zappa_settings.json`` or ``serverless.yml``.
"""

from __future__ import annotations

from collections.abc import Iterator

from fcmigrate.build.origins import choose_origin, find_origins
from fcmigrate.doctor.model import Finding, check
from fcmigrate.doctor.project import Project
from fcmigrate.errors import FCMigrateError
from fcmigrate.runtime.jobs import JOBS_FILE, Jobs


def _jobs(project: Project) -> list[str]:
    if (project.root / JOBS_FILE).is_file():
        try:
            declared = Jobs.load(project.root / JOBS_FILE).by_name.values()
        except FCMigrateError as exc:
            return [f"{exc} Run `fcmigrate migrate` again to write it."]
        listed = "; ".join(f"{j['name']}: {j['kind']} {j['target']}" for j in declared)
        return [
            f"Scheduled jobs in {JOBS_FILE}, run by FC's timer triggers: {listed}. Fire one "
            "with `fcmigrate local --job NAME`."
        ]
    try:
        origin, _ = choose_origin(find_origins(project.root))
    except FCMigrateError as exc:
        return [f"Where the app runs today could not be read: {exc}"]
    if origin is None or not (origin.jobs or origin.not_carried):
        return []
    notes = []
    if origin.jobs:
        listed = "; ".join(f"{j.name} ({j.schedule}): {j.kind} {j.target}" for j in origin.jobs)
        notes.append(
            f"Schedules in {origin.name} that `fcmigrate migrate` turns into FC timer "
            f"triggers: {listed}."
        )
    notes += [
        f"Not carried from {origin.name}: {line}"
        for line in origin.not_carried
        if "schedule" in line or "cron job" in line
    ]
    return notes


@check
def check_jobs(project: Project) -> Iterator[Finding]:
    project.notes.extend(_jobs(project))
    return iter(())
