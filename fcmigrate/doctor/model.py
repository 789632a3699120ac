"""What a doctor check reports, and the registries of rules and checks.

A :class:`Rule` is one kind of problem with a stable id (``FC101``) and name
(``dev-server``), the reason it breaks on FC and the usual fix; ``docs/doctor.md`` is
generated from the rules. A check is a function ``(project) -> Iterable[Finding]`` that
may report several rules; it is registered with :func:`check`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from fcmigrate.doctor.project import Project

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    """One problem found in one place.

    ``file`` is relative to the project folder (``/``-separated); ``file`` and ``line`` are
    ``None`` when the problem has no single place.
    """

    id: str
    name: str
    severity: Severity
    message: str
    why: str
    fix: str
    file: str | None = None
    line: int | None = None

    @property
    def location(self) -> str:
        if self.file is None:
            return ""
        return f"{self.file}:{self.line}" if self.line else self.file

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "severity": self.severity,
            "message": self.message,
            "why": self.why,
            "fix": self.fix,
            "file": self.file,
            "line": self.line,
        }


@dataclass(frozen=True)
class Rule:
    """A kind of finding. ``severity_note`` says when a finding differs from ``severity``."""

    id: str
    name: str
    severity: Severity
    why: str
    fix: str
    severity_note: str = ""

    def finding(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        fix: str | None = None,
        why: str | None = None,
        severity: Severity | None = None,
    ) -> Finding:
        return Finding(
            id=self.id,
            name=self.name,
            severity=severity or self.severity,
            message=message,
            why=why or self.why,
            fix=fix or self.fix,
            file=file,
            line=line,
        )


RULES: dict[str, Rule] = {}

Check = Callable[["Project"], Iterable[Finding]]
CHECKS: list[Check] = []


def rule(
    id: str,
    name: str,
    severity: Severity,
    *,
    why: str,
    fix: str,
    severity_note: str = "",
) -> Rule:
    """Register a rule; ids and names must be unique, since users and CI match on them."""
    if id in RULES or any(r.name == name for r in RULES.values()):
        raise ValueError(f"Duplicate doctor rule {id} {name}")
    new = Rule(id, name, severity, why, fix, severity_note)
    RULES[id] = new
    return new


def check(func: Check) -> Check:
    """Register ``func`` to run on every project."""
    CHECKS.append(func)
    return func
