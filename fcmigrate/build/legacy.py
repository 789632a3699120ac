"""What environments made by pip used to carry, and installed packages still expect.

Virtual environments made by pip and virtualenv had setuptools in them until Python 3.12, so
packages written in those years import ``pkg_resources`` (part of setuptools) without listing
setuptools as a dependency. A build installs only what is listed, and FC's Python has no
site-packages of the app's: such a package fails at import, or at the first request that
reaches the import. :func:`pkg_resources_users` finds them in a build's ``python/`` folder, so
that the build can carry the setuptools they were written against.
"""

from __future__ import annotations

import ast
from pathlib import Path

__all__ = ["PKG_RESOURCES_REQUIREMENT", "pkg_resources_users"]

#: setuptools 82 removed pkg_resources.
PKG_RESOURCES_REQUIREMENT = "setuptools<82"
#: Exceptions whose handler makes an import optional.
_GUARDS = frozenset({"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})


def pkg_resources_users(site: Path) -> list[str]:
    """The top-level packages in ``site`` whose code imports ``pkg_resources`` without a
    fallback (not inside a ``try`` that catches ``ImportError``), when ``site`` has no
    ``pkg_resources`` of its own; sorted, empty when nothing is missing."""
    # A setuptools of 82 or later, which another package asked for, has none.
    if (site / "pkg_resources").is_dir():
        return []
    users: set[str] = set()
    for file in site.rglob("*.py"):
        top = file.relative_to(site).parts[0]
        if top in users or top.endswith((".dist-info", ".data")) or top == "bin":
            continue
        try:
            text = file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if "pkg_resources" in text and _imports_without_fallback(text):
            users.add(top.removesuffix(".py"))
    return sorted(users)


def _imports_without_fallback(source: str) -> bool:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return False
    return _search(tree, guarded=False)


def _search(node: ast.AST, *, guarded: bool) -> bool:
    if isinstance(node, ast.Import) and not guarded:
        return any(alias.name.split(".")[0] == "pkg_resources" for alias in node.names)
    if isinstance(node, ast.ImportFrom) and not guarded:
        return node.level == 0 and (node.module or "").split(".")[0] == "pkg_resources"
    if isinstance(node, ast.Try):
        inner = guarded or any(_catches_import_error(h) for h in node.handlers)
        return any(_search(child, guarded=inner) for child in node.body) or any(
            _search(child, guarded=guarded)
            for child in [*node.handlers, *node.orelse, *node.finalbody]
        )
    return any(_search(child, guarded=guarded) for child in ast.iter_child_nodes(node))


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    names = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(
        (isinstance(n, ast.Name) and n.id in _GUARDS)
        or (isinstance(n, ast.Attribute) and n.attr in _GUARDS)
        for n in names
    )
