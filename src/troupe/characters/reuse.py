"""A character made again from the same bytes and window as one its owner still has reuses that
one's files instead of extracting anew. Extraction is deterministic, so the second run would
write the same files: a script that creates its character on every run, or a client retrying
after a timeout, waits for a copy rather than for the model."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import troupe.characters
import troupe.media
from troupe.characters.files import CharacterFiles
from troupe.characters.timestamps import Window, parse_timestamps
from troupe.store.blobs import BlobStore
from troupe.store.db import Database
from troupe.store.tables import Character

CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class Earlier:
    """A live character made from the same bytes and window, and the files it was made of."""

    character_id: str
    files: CharacterFiles


@functools.cache
def extraction_code() -> str:
    """A digest of the code that extraction runs: an upgrade that changes what it makes never
    reuses what an older version made."""
    digest = hashlib.sha256()
    for package in (troupe.characters, troupe.media):
        for path in sorted(Path(next(iter(package.__path__))).glob("*.py")):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


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
