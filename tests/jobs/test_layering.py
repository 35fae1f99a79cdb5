"""`jobs/` is a generic engine: the kinds of job live in their own packages and import it, never
the other way round."""

from __future__ import annotations

import ast
from pathlib import Path

import troupe.jobs

DOMAIN_PACKAGES = ("troupe.characters", "troupe.videos", "troupe.render", "troupe.api")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_jobs_imports_no_domain_package() -> None:
    folder = Path(troupe.jobs.__file__).parent
    offending = {
        f"{path.name}: {name}"
        for path in folder.glob("*.py")
        for name in imported_modules(path)
        if name.startswith(DOMAIN_PACKAGES)
    }
    assert not offending, sorted(offending)
