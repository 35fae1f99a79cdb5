"""Import every troupe module once, so that Python caches the bytecode of troupe and of all it
imports: the modules that each server, worker and CLI process loads at start. Run by
scripts/setup with bytecode writing on. Libraries imported only on first use (torch for
wan-vace) are cached by the first process that imports them, where bytecode may be written."""

from __future__ import annotations

import importlib
import pkgutil

import troupe


def main() -> None:
    for module in pkgutil.walk_packages(troupe.__path__, "troupe."):
        # __main__ runs the CLI; the migrations are Alembic scripts, loaded by Alembic.
        if module.name.endswith(".__main__") or ".migrations." in module.name:
            continue
        try:
            importlib.import_module(module.name)
        except ImportError:
            # A module of an extra that is not installed (`s3`, `wan`): the set-up goes on, and
            # the tests say when a module that should import does not.
            continue


if __name__ == "__main__":
    main()
