"""Retention: a finished video's files are removed once `expires_at` passes (status `expired`)."""

from __future__ import annotations

import logging
import threading
from typing import Any

from troupe.ids import now_seconds
from troupe.store import repo
from troupe.store.blobs import BlobStore
from troupe.store.db import Database

log = logging.getLogger(__name__)


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


class RetentionSweeper:
    """A thread that expires due videos every `interval` seconds."""

    def __init__(self, db: Database, blobs: BlobStore, interval: float) -> None:
        self.db = db
        self.blobs = blobs
        self.interval = interval
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="troupe-retention", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stopping.wait(self.interval):
            try:
                expired = expire_due_videos(self.db, self.blobs)
            except Exception:
                log.exception("expiring videos failed")
                continue
            if expired:
                log.info("expired %d video(s)", expired)
