"""Root-relative URLs written into templates and scripts, which no prefix reaches.

Behind a path prefix (FC's ``/2016-08-15/proxy/<service>/<function>/`` URLs, a custom-domain
route served with ``--base-path``) fcmigrate prefixes root-relative ``Location`` headers and
the URLs Flask and Django build, but a literal ``href="/login"`` in a template or
``fetch("/api/items")`` in a script goes to the domain's root as written. The templates
(any file in a ``templates/`` folder, and every ``.html`` file) and the scripts in
``static/`` folders are read line by line; one finding lists the first places.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from fcmigrate.doctor.model import Finding, check, rule
from fcmigrate.doctor.project import SKIP_DIRS, Project

ROOT_RELATIVE_URL = rule(
    "FC307",
    "root-relative-url",
    "warning",
    why="Under a path prefix (FC's /2016-08-15/proxy/<service>/<function>/ URLs, a "
    "custom-domain route with --base-path) a URL written as '/login' in HTML or JavaScript "
    "skips the prefix and reaches another app or a 404; fcmigrate can rewrite headers and the "
    "URLs the framework builds, not literals in page bodies.",
    fix="Flask: href=\"{{ url_for('login') }}\", src=\"{{ url_for('static', "
    'filename=\'app.js\') }}", action="{{ request.script_root }}{{ request.full_path }}"\n'
    "Django: href=\"{% url 'login' %}\", src=\"{% static 'app.js' %}\"\n"
    'JavaScript: fetch("api/items") relative to the page, or a base URL the template '
    "passes in",
)

#: Folders that hold other people's files or generated ones, at any depth.
_SKIP = SKIP_DIRS | {"staticfiles", "fcmigrate-static", "htmlcov", "_build", "vendor"}
_TEMPLATE_SUFFIXES = (".html", ".htm", ".jinja", ".jinja2", ".j2", ".djhtml")
_VALUE = r"""(["'`])/(?![/\\])[^"'`\s]*\1?"""
_PATTERNS = (
    # HTML attributes, also inside scripts that build markup.
    re.compile(
        r"""\b(?:href|src|action|formaction|poster|hx-(?:get|post|put|delete))\s*=\s*""" + _VALUE,
        re.IGNORECASE,
    ),
    # Requests and navigation in JavaScript.
    re.compile(r"""\bfetch\(\s*""" + _VALUE),
    re.compile(r"""\.(?:get|post|put|patch|delete|ajax|getJSON|load)\(\s*""" + _VALUE),
    re.compile(r"""\.open\(\s*["'][A-Za-z]+["']\s*,\s*""" + _VALUE),
    re.compile(r"""\burl\s*:\s*""" + _VALUE),
    re.compile(r"""\blocation(?:\.href)?\s*=\s*""" + _VALUE),
    re.compile(r"""\blocation\.assign\(\s*""" + _VALUE),
)
#: Flask's request.path and request.full_path leave out the prefix (request.script_root): a
#: form posting back to action=request.full_path leaves the function. Django's request.path
#: and get_full_path() start with SCRIPT_NAME, so in a Django project they are fine.
_REQUEST_PATH = re.compile(
    r"""\b(?:href|src|action|formaction)\s*=\s*(["']?)(?:\{\{\s*)?"""
    r"""request\.(?:full_path|path)\b""",
    re.IGNORECASE,
)
_LICENSE = re.compile(r"(LICEN[CS]E|COPYING)(\.\w+)?", re.IGNORECASE)
_SHOWN = 3
#: Lines longer than this are minified code, not written by hand.
_LONG_LINE = 1000


def _scanned(project: Project) -> Iterator[str]:
    """Template and script files of the project's own, relative and sorted.

    A folder among the static files that has its own licence (``static/ckeditor/LICENSE.md``)
    is a library copied in, with its samples and plugins: not the project's pages.
    """
    libraries: list[Path] = []
    for here, files in project.own_folders(_SKIP):
        parts = here.relative_to(project.root).parts
        if "static" in parts[:-1] and any(_LICENSE.fullmatch(name) for name in files):
            libraries.append(here)
        if any(here.is_relative_to(library) for library in libraries):
            continue
        for name in files:
            template = name.endswith(_TEMPLATE_SUFFIXES) and (
                "templates" in parts or name.endswith((".html", ".htm"))
            )
            script = name.endswith(".js") and not name.endswith(".min.js") and "static" in parts
            if template or script:
                yield (here / name).relative_to(project.root).as_posix()


def root_relative_urls(project: Project) -> list[tuple[str, int, str]]:
    """(file, line, the literal as written) for each root-relative URL in a page or script."""
    found: list[tuple[str, int, str]] = []
    patterns = _PATTERNS if project.is_django else (*_PATTERNS, _REQUEST_PATH)
    for rel in _scanned(project):
        for number, line in enumerate((project.text(rel) or "").splitlines(), 1):
            if len(line) > _LONG_LINE:
                continue
            # The same literal may match two patterns (location.href = ...): keep the longer.
            literals: dict[int, str] = {}
            for pattern in patterns:
                for match in pattern.finditer(line):
                    text = match.group(0)
                    if len(text) > len(literals.get(match.start(1), "")):
                        literals[match.start(1)] = text
            found += [(rel, number, text) for text in literals.values()]
    return sorted(set(found), key=lambda place: (place[0], place[1]))


@check
def check_root_relative_urls(project: Project) -> Iterator[Finding]:
    places = root_relative_urls(project)
    if not places:
        return
    files = len({file for file, _, _ in places})
    shown = ", ".join(f"{file}:{line} {text}" for file, line, text in places[:_SHOWN])
    more = f" and {len(places) - _SHOWN} more" if len(places) > _SHOWN else ""
    where = f"{len(places)} in {files} file{'s' if files != 1 else ''}"
    file, line, _ = places[0]
    yield ROOT_RELATIVE_URL.finding(
        f"Root-relative URLs written in pages and scripts ({where}): {shown}{more}.",
        file=file,
        line=line,
    )
