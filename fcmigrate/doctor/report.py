"""Running every check on a project, and printing the result for people or for tools."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from fcmigrate.doctor.model import CHECKS, RULES, Finding
from fcmigrate.doctor.project import Project
from fcmigrate.errors import FCMigrateError

_SEVERITY_ORDER = {"error": 0, "warning": 1}
#: ``# fcmigrate: ignore`` or ``# fcmigrate: ignore[FC301, FC302]`` on the reported line.
_IGNORE_COMMENT = re.compile(r"#\s*fcmigrate:\s*ignore(?:\[([A-Z0-9,\s]+)\])?")


@dataclass
class Report:
    root: Path
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity == "warning")

    @property
    def exit_code(self) -> int:
        """1 when any error was found; warnings alone pass."""
        return 1 if self.errors else 0

    def summary(self) -> str:
        if not self.findings:
            return f"No problems found in {self.root}."
        return f"{_count(self.errors, 'error')}, {_count(self.warnings, 'warning')} in {self.root}."

    def to_dict(self) -> dict[str, object]:
        return {
            "path": str(self.root),
            "findings": [f.to_dict() for f in self.findings],
            "notes": list(self.notes),
            "summary": {
                "errors": self.errors,
                "warnings": self.warnings,
                "exit_code": self.exit_code,
            },
        }


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def diagnose(path: str | Path, *, ignore: Iterable[str] = ()) -> Report:
    """Run every registered check on the project at ``path``.

    Raises :class:`~fcmigrate.errors.FCMigrateError` when ``path`` is not a readable folder.
    """
    skipped = _rule_ids(ignore)
    project = Project.open(path)
    findings: list[Finding] = []
    seen: set[object] = set()
    for run in CHECKS:
        for finding in run(project):
            key = _problem(finding)
            if finding.id in skipped or key in seen or _suppressed(project, finding):
                continue
            seen.add(key)
            findings.append(finding)
    findings.sort(key=lambda f: (_SEVERITY_ORDER[f.severity], f.file or "", f.line or 0, f.id))
    return Report(project.root, findings, list(dict.fromkeys(project.notes)))


def _problem(finding: Finding) -> object:
    """What makes two findings one problem: the rule and the place, when there is a line.

    The same settings line reached through two app specs (``app:app`` in the bootstrap,
    ``app:create_app()`` in a Dockerfile) is one thing to fix, reported once.
    """
    if finding.file is not None and finding.line is not None:
        return (finding.id, finding.file, finding.line)
    return finding


def _rule_ids(values: Iterable[str]) -> set[str]:
    """Finding ids from ids or names (``FC402``, ``fc402``, ``forced-download``)."""
    by_name = {rule.name: rule.id for rule in RULES.values()}
    ids = set()
    for value in values:
        key = value.strip()
        rule_id = key.upper() if key.upper() in RULES else by_name.get(key.lower())
        if rule_id is None:
            raise FCMigrateError(
                f"Unknown finding {value!r}. Use an id or name from "
                "'fcmigrate doctor --list-rules', e.g. --ignore FC402 or --ignore forced-download."
            )
        ids.add(rule_id)
    return ids


def _suppressed(project: Project, finding: Finding) -> bool:
    if not finding.file or not finding.line:
        return False
    lines = (project.text(finding.file) or "").splitlines()
    if finding.line > len(lines):
        return False
    match = _IGNORE_COMMENT.search(lines[finding.line - 1])
    if match is None:
        return False
    ids = match.group(1)
    return ids is None or finding.id in {i.strip() for i in ids.split(",")}


def render_text(report: Report) -> str:
    """One block per finding, errors first, then notes and a summary line."""
    out: list[str] = []
    for severity, title in (("error", "Errors"), ("warning", "Warnings")):
        group = [f for f in report.findings if f.severity == severity]
        if not group:
            continue
        out.append(f"{title} ({len(group)}):")
        for finding in group:
            place = f"{finding.location}: " if finding.location else ""
            out.append("")
            out.append(f"  {place}{finding.id} {finding.name}")
            out.append(f"    {finding.message}")
            out.append(f"    why: {finding.why}")
            fix = finding.fix.splitlines() or [""]
            out.append(f"    fix: {fix[0]}")
            out += [f"         {line}" for line in fix[1:]]
        out.append("")
    if report.notes:
        out.append("Notes:")
        out += [f"  - {note}" for note in report.notes]
        out.append("")
    out.append(report.summary())
    return "\n".join(out)


def render_json(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False)


def rules_markdown() -> str:
    """The rule table of ``docs/doctor.md``; a test keeps the page equal to it."""
    rows = [
        "| id | name | severity | why it breaks on FC | fix |",
        "|---|---|---|---|---|",
    ]
    for rule in sorted(RULES.values(), key=lambda r: r.id):
        severity = rule.severity + (f" ({rule.severity_note})" if rule.severity_note else "")
        fix = "<br>".join(f"`{line}`" for line in rule.fix.splitlines())
        rows.append(
            f"| {rule.id} | `{rule.name}` | {severity} | {_cell(rule.why)} | {_cell(fix)} |"
        )
    return "\n".join(rows) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")
