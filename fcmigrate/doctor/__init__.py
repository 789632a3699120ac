"""``fcmigrate doctor``: pre-flight checks for the things that break a web app on FC.

Each check reads the project folder (and imports its Django settings or Flask app in a child
process) and reports :class:`Finding` objects; :func:`diagnose` runs them all. The runtime
path never imports this package.
"""

from __future__ import annotations

# Importing the check modules registers their rules and checks.
from fcmigrate.doctor import checks_config as checks_config
from fcmigrate.doctor import checks_django as checks_django
from fcmigrate.doctor import checks_flask as checks_flask
from fcmigrate.doctor import checks_jobs as checks_jobs
from fcmigrate.doctor import checks_secret as checks_secret
from fcmigrate.doctor import checks_source as checks_source
from fcmigrate.doctor import checks_start as checks_start
from fcmigrate.doctor import checks_static as checks_static
from fcmigrate.doctor import checks_templates as checks_templates
from fcmigrate.doctor.model import CHECKS, RULES, Finding, Rule
from fcmigrate.doctor.project import Project
from fcmigrate.doctor.report import Report, diagnose, render_json, render_text, rules_markdown

__all__ = [
    "CHECKS",
    "RULES",
    "Finding",
    "Project",
    "Report",
    "Rule",
    "diagnose",
    "render_json",
    "render_text",
    "rules_markdown",
]
