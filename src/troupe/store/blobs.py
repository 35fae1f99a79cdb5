"""The blob store: files addressed by a relative key, kept in a local folder."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path, PurePosixPath


class BlobStore:
    """Files under one root. Writes land whole (temp file + rename) so readers never see halves."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        parts = PurePosixPath(key).parts
        if not parts or any(part in ("..", "") or part.startswith("/") for part in parts):
            raise ValueError(f"bad blob key {key!r}")
        return self.root.joinpath(*parts)

    def put_bytes(self, key: str, data: bytes) -> str:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
        return key

    def put_file(self, key: str, source: Path) -> str:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".tmp-{target.name}")
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
        return key

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def scratch_dir(self) -> tempfile.TemporaryDirectory[str]:
        """A private working folder on the same disk, removed when the context ends."""
        scratch = self.root / ".scratch"
        scratch.mkdir(exist_ok=True)
        return tempfile.TemporaryDirectory(dir=scratch)

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def delete_folder_if_empty(self, key: str) -> None:
        """Remove the folder `key`, when nothing is left in it."""
        with contextlib.suppress(OSError):  # not empty, or already gone
            self.path(key).rmdir()
