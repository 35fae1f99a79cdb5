"""The blob store: files addressed by a relative key, kept in a local folder or, when an object
store is configured, in that store with the local folder as this machine's copy of what it
wrote or read (machines then share no disk)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from troupe.store.objects import ObjectInfo, ObjectStore

SCRATCH = ".scratch"
# A file in each scratch folder that its process locks (flock) while it works there. The kernel
# drops the lock when the process dies, even by SIGKILL, so a folder whose lock is free was left
# by a process that is gone.
SCRATCH_LOCK = ".in-use"
# With an object store, this machine's copy of a blob unused for this long is dropped.
COPIES_KEPT_SECONDS = 24 * 3600.0


class BlobStore:
    """Files under one root. Writes land whole (temp file + rename) so readers never see halves.

    With `remote`, every write is also stored there (`publish`), reads fetch what this machine
    lacks (`local`), and deletes reach both."""

    def __init__(self, root: Path, remote: ObjectStore | None = None) -> None:
        self.root = root
        self.remote = remote
        self.root.mkdir(parents=True, exist_ok=True)

    @property
    def is_shared(self) -> bool:
        """Whether other machines see these blobs through an object store."""
        return self.remote is not None

    def path(self, key: str) -> Path:
        """Where `key` lives on this machine (it may not be there yet: see `local`)."""
        parts = PurePosixPath(key).parts
        if not parts or any(part in ("..", "") or part.startswith("/") for part in parts):
            raise ValueError(f"bad blob key {key!r}")
        if parts[0] == SCRATCH:
            raise ValueError(f"bad blob key {key!r}")
        return self.root.joinpath(*parts)

    def local(self, key: str) -> Path:
        """The file of `key` on this machine, fetched from the object store if it is not here
        (FileNotFoundError when it is nowhere)."""
        target = self.path(key)
        if self.remote is None:
            if not target.is_file():
                raise FileNotFoundError(f"no blob {key!r}")
            return target
        if target.is_file():
            with contextlib.suppress(FileNotFoundError):
                os.utime(target)  # in use: `forget_copies` keeps it
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".fetch-")
        os.close(fd)
        try:
            self.remote.get_to_file(key, Path(tmp))
            os.replace(tmp, target)
        finally:
            Path(tmp).unlink(missing_ok=True)
        return target

    def publish(self, key: str) -> str:
        """Store the file written at `path(key)` where every machine can read it."""
        if self.remote is not None:
            self.remote.put_file(key, self.path(key))
        return key

    def put_bytes(self, key: str, data: bytes) -> str:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
        return self.publish(key)

    def put_file(self, key: str, source: Path) -> str:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".tmp-{target.name}")
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
        return self.publish(key)

    def exists(self, key: str) -> bool:
        if self.path(key).is_file():
            return True
        return self.remote is not None and self.remote.head(key) is not None

    def listing(self, prefix: str) -> list[ObjectInfo]:
        """Every file under the folder `prefix`, here and in the object store, with its size
        and age (half-written ones here included)."""
        found: dict[str, ObjectInfo] = {}
        folder = self.path(prefix)
        if folder.is_dir():
            for path in folder.rglob("*"):
                with contextlib.suppress(FileNotFoundError):
                    if path.is_file():
                        stat = path.stat()
                        key = path.relative_to(self.root).as_posix()
                        found[key] = ObjectInfo(key, stat.st_size, stat.st_mtime)
        if self.remote is not None:
            found.update((info.key, info) for info in self.remote.list(prefix))
        return sorted(found.values(), key=lambda info: info.key)

    def signed_url(self, key: str, seconds: int) -> str | None:
        """A URL that reads `key` straight from the object store, or None without one."""
        return None if self.remote is None else self.remote.signed_url(key, seconds)

    @contextlib.contextmanager
    def scratch_dir(self) -> Iterator[str]:
        """A private working folder on the same disk, removed when the context ends, and locked
        until then so that `sweep_scratch` leaves it."""
        scratch = self.root / SCRATCH
        scratch.mkdir(exist_ok=True)
        folder = Path(tempfile.mkdtemp(dir=scratch))
        with (folder / SCRATCH_LOCK).open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield str(folder)
            finally:
                shutil.rmtree(folder, ignore_errors=True)  # still locked: no sweep races this

    def sweep_scratch(self, min_age_seconds: float) -> int:
        """Remove the scratch folders whose process is gone (a crash or SIGKILL skips their
        clean-up); the count removed. One changed within `min_age_seconds` stays: its process
        may be between creating it and locking it."""
        scratch = self.root / SCRATCH
        if not scratch.is_dir():
            return 0
        cutoff = time.time() - min_age_seconds
        removed = 0
        for folder in scratch.iterdir():
            with contextlib.suppress(FileNotFoundError):
                if not folder.is_dir() or folder.stat().st_mtime > cutoff:
                    continue
                if not _locked(folder / SCRATCH_LOCK):
                    shutil.rmtree(folder, ignore_errors=True)
                    removed += 1
        return removed

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)
        if self.remote is not None:
            self.remote.delete(key)

    def delete_folder_if_empty(self, key: str) -> None:
        """Remove the folder `key` on this machine, when nothing is left in it."""
        with contextlib.suppress(OSError):  # not empty, or already gone
            self.path(key).rmdir()

    def forget_copies(self, older_than_seconds: float) -> int:
        """With an object store, drop this machine's copies unused for that long (the store
        keeps them); answers how many went."""
        if self.remote is None:
            return 0
        cutoff = time.time() - older_than_seconds
        dropped = 0
        for path in self.root.rglob("*"):
            if SCRATCH in path.relative_to(self.root).parts[:1] or not path.is_file():
                continue
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    dropped += 1
        return dropped


def _locked(lock_path: Path) -> bool:
    """Whether a live process holds the lock file (an absent one is held by nobody)."""
    try:
        fd = os.open(lock_path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # and with it the lock, if this took it
    return False
