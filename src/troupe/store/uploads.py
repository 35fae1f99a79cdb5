"""Uploaded files under `uploads/` live as long as a row needs them: a task that has not settled
reads its upload, and a video keeps the uploaded clip it was made from. A settled task's other
uploads are removed at once; a start sweeps what nothing needs (left by a crash)."""

from __future__ import annotations

import logging
import time
from typing import Any

from sqlalchemy import Text, cast, select
from sqlalchemy.orm import Session

from troupe.store.blobs import BlobStore
from troupe.store.db import Database
from troupe.store.tables import Task, Video

log = logging.getLogger(__name__)

UPLOADS = "uploads"
UNSETTLED = ("queued", "in_progress")


def upload_keys(value: Any) -> set[str]:
    """Every blob key under `uploads/` that a JSON value (a task's request, a video's blobs)
    names, however deep: the fields that hold one differ from route to route."""
    if isinstance(value, str):
        return {value} if value.startswith(f"{UPLOADS}/") else set()
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return set().union(*(upload_keys(item) for item in value))
    return set()


def needed_uploads(session: Session) -> set[str]:
    """The uploads that a task not yet settled, or a live video, still names."""
    needed: set[str] = set()
    for request in session.scalars(select(Task.request).where(Task.status.in_(UNSETTLED))):
        needed |= upload_keys(request)
    kept_by_videos = select(Video.blobs).where(
        Video.deleted_at.is_(None),
        Video.expired_at.is_(None),
        cast(Video.blobs, Text).contains(f'"{UPLOADS}/', autoescape=True),
    )
    for blobs in session.scalars(kept_by_videos):
        needed |= upload_keys(blobs)
    return needed


def release_task_uploads(db: Database, blobs: BlobStore, task_id: str) -> int:
    """Once `task_id` has settled (completed or failed), remove the uploads its request named
    that nothing else needs; the count removed."""
    with db.transaction() as session:
        task = session.get(Task, task_id)
        if task is None or task.status in UNSETTLED:
            return 0
        named = upload_keys(task.request)
        unneeded = named - needed_uploads(session) if named else set()
    for key in unneeded:
        blobs.delete(key)
    return len(unneeded)


def sweep_orphan_uploads(db: Database, blobs: BlobStore, min_age_seconds: float) -> int:
    """Remove every file under `uploads/` that nothing needs and that is older than
    `min_age_seconds` (a request of another process may be between saving an upload and
    writing its task); the count removed. Half-written `.upload-*` files are among them."""
    with db.transaction() as session:
        needed = needed_uploads(session)
    cutoff = time.time() - min_age_seconds
    removed = 0
    for info in blobs.listing(UPLOADS):
        if info.key in needed or info.modified > cutoff:
            continue
        blobs.delete(info.key)
        removed += 1
    if removed:
        log.info("removed %d upload(s) that no task or video needs", removed)
    return removed
