"""Retention: a finished video's files are removed once `expires_at` passes (status `expired`),
and a deleted character's once no video may read them again. The same thread runs the other
periodic sweeps it is given (reviews past their deadline)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from troupe.ids import now_seconds
from troupe.store import repo
from troupe.store.blobs import COPIES_KEPT_SECONDS, BlobStore
from troupe.store.db import Database

log = logging.getLogger(__name__)

# A video submitted while its character was being deleted commits its cast a moment later; the
# files wait this long after the deletion, so that video is seen needing them.
DELETED_CHARACTER_GRACE_SECONDS = 5


def remove_video_files(blobs: BlobStore, keys: dict[str, Any]) -> None:
    for key in keys.values():
        blobs.delete(key)


def expire_due_videos(db: Database, blobs: BlobStore) -> int:
    """Mark every video past its expiry as expired, then remove its files; the count done.

    The row changes first: a reader then sees `expired`, never a video whose files vanish.
    """
    with db.transaction() as session:
        due = repo.videos_due_to_expire(session, now_seconds())
        keys = [dict(video.blobs) for video in due]
        for video in due:
            repo.mark_expired(session, video)
    for video_keys in keys:
        remove_video_files(blobs, video_keys)
    return len(keys)


def remove_deleted_characters_files(db: Database, blobs: BlobStore) -> int:
    """Remove the files of deleted characters that no video needs any more; the count done.

    Videos do not copy a character's files: a render reads its cut-outs, voice and fingerprint
    where they are. A deleted character is in no new render (a remix, edit or extension of a
    video refuses it), so the files stay only while a video whose job has not settled has the
    character in its cast. The row forgets them first, as expiry does.
    """
    deleted_before = now_seconds() - DELETED_CHARACTER_GRACE_SECONDS
    with db.transaction() as session:
        unneeded = [
            character
            for character in repo.deleted_characters_with_files(session, deleted_before)
            if not repo.character_in_use(session, character.id)
        ]
        keys = [_file_keys(character.blobs) for character in unneeded]
        for character in unneeded:
            character.blobs = {}
    for character_keys in keys:
        for key in character_keys:
            blobs.delete(key)
        for folder in {key.rsplit("/", 1)[0] for key in character_keys if "/" in key}:
            blobs.delete_folder_if_empty(folder)
    return len(keys)


def _file_keys(character_blobs: dict[str, Any]) -> list[str]:
    keys: list[str] = []
    for value in character_blobs.values():
        keys.extend(value if isinstance(value, list) else [value])
    return [key for key in keys if isinstance(key, str)]


# How often this machine's unused copies of blobs kept in an object store are dropped.
FORGET_EVERY_SECONDS = 3600.0


def forget_copies(blobs: BlobStore) -> None:
    """Drop this machine's copies of object-store blobs unused for a day (see BlobStore)."""
    try:
        dropped = blobs.forget_copies(COPIES_KEPT_SECONDS)
    except OSError:
        log.exception("dropping unused copies of blobs failed")
        return
    if dropped:
        log.info("dropped %d unused local copies of stored blobs", dropped)


# A periodic sweep: does what is due, answers how many things it did.
Sweep = Callable[[], int]


class RetentionSweeper:
    """A thread that expires due videos every `interval` seconds, and runs `sweeps` (named) as
    often."""

    def __init__(
        self,
        db: Database,
        blobs: BlobStore,
        interval: float,
        sweeps: Sequence[tuple[str, Sweep]] = (),
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.interval = interval
        self.sweeps = tuple(sweeps)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="troupe-retention", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        last_forget = time.monotonic()
        while not self._stopping.wait(self.interval):
            if time.monotonic() - last_forget > FORGET_EVERY_SECONDS:
                last_forget = time.monotonic()
                forget_copies(self.blobs)
            self._run_sweeps()
            try:
                expired = expire_due_videos(self.db, self.blobs)
                purged = remove_deleted_characters_files(self.db, self.blobs)
            except Exception:
                log.exception("expiring videos or deleted characters' files failed")
                continue
            if expired:
                log.info("expired %d video(s)", expired)
            if purged:
                log.info("removed the files of %d deleted character(s)", purged)

    def _run_sweeps(self) -> None:
        for name, sweep in self.sweeps:
            try:
                done = sweep()
            except Exception:
                log.exception("sweeping %s failed", name)
                continue
            if done:
                log.info("%s: %d", name, done)
