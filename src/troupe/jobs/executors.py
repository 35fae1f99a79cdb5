"""Executors: what each kind of job does. Slow work first, then one function that records it."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from troupe.characters.create import CharacterFiles, SourceRules, build_character_files
from troupe.characters.timestamps import parse_timestamps
from troupe.characters.usernames import derive_username
from troupe.errors import TroupeError
from troupe.ids import now_seconds
from troupe.jobs.queue import ClaimedJob
from troupe.jobs.worker import Executor, ProgressFn
from troupe.media.fetch import FetchLimits, fetch_to_file
from troupe.settings import Settings
from troupe.store import repo
from troupe.store.blobs import BlobStore
from troupe.store.db import Database
from troupe.store.tables import Character


def character_blob_prefix(character_id: str) -> str:
    return f"characters/{character_id}"


def upload_blob_key(task_id: str) -> str:
    return f"uploads/{task_id}"


def fetch_limits(settings: Settings) -> FetchLimits:
    return FetchLimits(
        max_bytes=settings.max_download_bytes,
        timeout_seconds=settings.fetch_timeout_seconds,
        max_redirects=settings.fetch_max_redirects,
        allowed_hosts=frozenset(host.lower() for host in settings.allowed_hosts),
    )


def make_executors(settings: Settings, db: Database, blobs: BlobStore) -> dict[str, Executor]:
    return {"character": CharacterExecutor(settings, db, blobs)}


class CharacterExecutor:
    """Creates one character from the request stored on its task."""

    def __init__(self, settings: Settings, db: Database, blobs: BlobStore) -> None:
        self.settings = settings
        self.db = db
        self.blobs = blobs
        self.rules = SourceRules(
            max_seconds=settings.max_source_seconds,
            require_audio=settings.require_audio,
            max_frame_pixels=settings.max_frame_pixels,
        )

    def __call__(self, job: ClaimedJob, progress: ProgressFn) -> Callable[[Session], None]:
        with self.db.transaction() as session:
            task = repo.get_task_by_id(session, job.task_id)
            if task is None:
                raise TroupeError("task_not_found", f"task {job.task_id} vanished")
            owner, request = task.owner, dict(task.request)
        raw_window = request.get("timestamps")
        window = parse_timestamps(raw_window) if raw_window is not None else None
        character_id: str = request["character_id"]
        with ExitStack() as stack:
            source_path = self._source_file(job.task_id, request["source"], stack)
            progress(10)
            files = build_character_files(
                source_path,
                window,
                self.rules,
                self.blobs,
                character_blob_prefix(character_id),
                progress,
            )
        return lambda session: _record_character(session, job, owner, request, files)

    def _source_file(self, task_id: str, source: dict[str, Any], stack: ExitStack) -> Path:
        if source["type"] == "upload":
            return self.blobs.path(source["upload_key"])
        if source["type"] == "url":
            scratch = Path(stack.enter_context(self.blobs.scratch_dir()))
            target = scratch / "source"
            fetch_to_file(source["url"], target, fetch_limits(self.settings))
            return target
        raise TroupeError(
            "task_not_found", f"task {source.get('task_id')} has no video", param="from_task"
        )


def _record_character(
    session: Session,
    job: ClaimedJob,
    owner: str,
    request: dict[str, Any],
    files: CharacterFiles,
) -> None:
    wanted = request.get("username")
    if wanted and repo.username_in_use(session, wanted):
        raise TroupeError("username_taken", f"username @{wanted} is taken", param="username")
    username = wanted or derive_username(
        request.get("name"), lambda name: repo.username_in_use(session, name)
    )
    source = request["source"]
    repo.insert_character(
        session,
        Character(
            id=request["character_id"],
            owner=owner,
            username=username,
            display_name=request.get("name") or username,
            created_at=now_seconds(),
            task_id=job.task_id,
            source={
                "type": source["type"],
                "url": source.get("url"),
                "task_id": source.get("task_id"),
                "filename": source.get("filename"),
                "timestamps": str(files.window),
            },
            quality=files.quality,
            blobs=files.blobs,
        ),
    )
    repo.attach_character_to_task(session, job.task_id, request["character_id"])
