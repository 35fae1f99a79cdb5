"""Executors: what each kind of job does. Slow work first, then one function that records it."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from troupe.characters.create import CharacterFiles, build_character_files
from troupe.characters.fingerprint import Fingerprint, load_fingerprint
from troupe.characters.sources import SourceAccess, local_source
from troupe.characters.timestamps import parse_timestamps
from troupe.characters.usernames import derive_username
from troupe.errors import TroupeError
from troupe.ids import now_seconds
from troupe.jobs.queue import ClaimedJob
from troupe.jobs.worker import Executor, ProgressFn
from troupe.media.fetch import fetch_to_file
from troupe.media.sandbox import run_sandboxed, start_sandbox
from troupe.render.backend import Backend, CastMember, RenderRequest
from troupe.store import repo
from troupe.store.blobs import BlobStore
from troupe.store.db import Database
from troupe.store.tables import Character, Video
from troupe.videos.pipeline import (
    RenderedVideo,
    RenderJob,
    UploadedClip,
    render_video,
    video_blob_prefix,
)
from troupe.videos.retention import remove_video_files

# A derived username raced by another process gets a fresh suffix this many times.
USERNAME_ATTEMPTS = 5


def character_blob_prefix(character_id: str) -> str:
    return f"characters/{character_id}"


def upload_blob_key(task_id: str) -> str:
    return f"uploads/{task_id}"


def make_executors(
    db: Database, access: SourceAccess, backends: dict[str, Backend], retention_seconds: int
) -> dict[str, Executor]:
    start_sandbox()  # its imports then overlap the server's start, not the first job
    return {
        "character": CharacterExecutor(db, access),
        "video": VideoExecutor(db, access, backends, retention_seconds),
    }


class CharacterExecutor:
    """Creates one character from the request stored on its task."""

    def __init__(self, db: Database, access: SourceAccess) -> None:
        self.db = db
        self.access = access

    def __call__(self, job: ClaimedJob, progress: ProgressFn) -> Callable[[Session], None]:
        owner, request = _task_request(self.db, job)
        files = _character_files(request, self.access, progress)
        return lambda session: _record_character(session, job, owner, request, files)


def _task_request(db: Database, job: ClaimedJob) -> tuple[str, dict[str, Any]]:
    with db.transaction() as session:
        task = repo.get_task_by_id(session, job.task_id)
        if task is None:
            raise TroupeError("task_not_found", f"task {job.task_id} vanished")
        return task.owner, dict(task.request)


def _character_files(
    request: dict[str, Any], access: SourceAccess, progress: ProgressFn
) -> CharacterFiles:
    """Extract the character that `request` (a character task's, or a video's inline one) asks
    for from its source into the blob store, decoding in a sandboxed child."""
    raw_window = request.get("timestamps")
    window = parse_timestamps(raw_window) if raw_window is not None else None
    with ExitStack() as stack:
        source_path = local_source(request["source"], access, stack)
        progress(10)
        return run_sandboxed(
            access.decode_limits,
            build_character_files,
            source_path,
            window,
            access.rules,
            access.blobs,
            character_blob_prefix(request["character_id"]),
            progress=progress,
        )


def _record_character(
    session: Session,
    job: ClaimedJob,
    owner: str,
    request: dict[str, Any],
    files: CharacterFiles,
) -> None:
    wanted: str | None = request.get("username")
    for _ in range(USERNAME_ATTEMPTS):
        username = wanted or derive_username(
            request.get("name"), lambda name: repo.username_in_use(session, name)
        )
        if wanted and repo.username_in_use(session, wanted):
            break
        try:
            # A savepoint: another process may take the name between the check and the insert.
            with session.begin_nested():
                repo.insert_character(session, _character_row(job, owner, request, files, username))
        except IntegrityError as error:
            if "username" not in str(error.orig).lower():
                raise
            continue
        repo.attach_character_to_task(session, job.task_id, request["character_id"])
        return
    raise TroupeError(
        "username_taken", f"username @{wanted or username} is taken", param="username"
    )


def _character_row(
    job: ClaimedJob, owner: str, request: dict[str, Any], files: CharacterFiles, username: str
) -> Character:
    source = request["source"]
    created_ns = time.time_ns()
    return Character(
        id=request["character_id"],
        owner=owner,
        username=username,
        display_name=request.get("name") or username,
        created_at=created_ns // 1_000_000_000,
        created_ns=created_ns,
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
    )


class VideoExecutor:
    """Renders one video: its inline character first, if any, then the back end's MP4, its
    previews and the consistency of every character in it."""

    def __init__(
        self,
        db: Database,
        access: SourceAccess,
        backends: dict[str, Backend],
        retention_seconds: int,
    ) -> None:
        self.db = db
        self.access = access
        self.backends = backends
        self.retention_seconds = retention_seconds

    def __call__(self, job: ClaimedJob, progress: ProgressFn) -> Callable[[Session], None]:
        owner, request = _task_request(self.db, job)
        backend = self.backends.get(request["backend"])
        if backend is None:
            raise TroupeError("internal_error", f"back end {request['backend']!r} is not loaded")
        inline: dict[str, Any] | None = request.get("inline")
        files = None
        if inline is not None:
            # Its extraction takes the first tenth of the job's progress.
            files = _character_files(inline, self.access, lambda percent: progress(percent // 10))
        members, fingerprints = self._load_cast(request["cast"], inline, files)
        with ExitStack() as stack:
            render_job = RenderJob(
                request=RenderRequest(
                    prompt=request["prompt"],
                    cast=tuple(members),
                    seconds=request["seconds"],
                    width=request["width"],
                    height=request["height"],
                    input_reference=self._reference(request, stack),
                    seed=request["seed"],
                ),
                fingerprints=fingerprints,
                extends=self._extended_video(request),
                clip=self._uploaded_clip(request),
            )
            rendered = render_video(
                render_job, backend, self.access.blobs, video_blob_prefix(job.task_id), progress
            )
        expires_at = now_seconds() + self.retention_seconds

        def record(session: Session) -> None:
            if inline is not None and files is not None:
                _record_character(session, job, owner, inline, files)
            _record_video(session, self.access.blobs, job.task_id, rendered, expires_at, inline)

        return record

    def _load_cast(
        self, character_ids: list[str], inline: dict[str, Any] | None, files: CharacterFiles | None
    ) -> tuple[list[CastMember], dict[str, Fingerprint]]:
        """What the back end and the scorer need of each character, the inline one last."""
        with self.db.transaction() as session:
            rows = [repo.get_character_any(session, ref) for ref in character_ids]
        entries = [(r.id, r.username, r.display_name, r.blobs) for r in rows if r is not None]
        if inline is not None and files is not None:
            username = inline.get("username") or ""
            entries.append(
                (inline["character_id"], username, inline.get("name") or "", files.blobs)
            )
        members = [self._cast_member(*entry) for entry in entries]
        fingerprints = {entry[0]: self._fingerprint(entry[3]) for entry in entries}
        return members, fingerprints

    def _cast_member(
        self, character_id: str, username: str, name: str, blobs: dict[str, Any]
    ) -> CastMember:
        # References alternate subject-on-white and subject-with-alpha; back ends want the latter.
        cutouts = tuple(self.access.blobs.path(key) for key in blobs.get("references", [])[1::2])
        voice = self.access.blobs.path(blobs["voice"]) if "voice" in blobs else None
        return CastMember(
            id=character_id, username=username, display_name=name, cutouts=cutouts, voice=voice
        )

    def _fingerprint(self, blobs: dict[str, Any]) -> Fingerprint:
        return load_fingerprint(self.access.blobs.path(blobs["fingerprint"]).read_bytes())

    def _reference(self, request: dict[str, Any], stack: ExitStack) -> Path | None:
        if request.get("reference_key"):
            return self.access.blobs.path(request["reference_key"])
        if request.get("reference_url"):
            scratch = Path(stack.enter_context(self.access.blobs.scratch_dir()))
            target = scratch / "input_reference"
            fetch_to_file(request["reference_url"], target, self.access.fetch_limits)
            return target
        return None

    def _extended_video(self, request: dict[str, Any]) -> Path | None:
        source_id = request.get("extends_video_id")
        if not source_id:
            return None
        with self.db.transaction() as session:
            source = session.get(Video, source_id)
            key = source.blobs.get("video") if source and source.expired_at is None else None
        if key is None or not self.access.blobs.exists(key):
            raise TroupeError(
                "video_not_found", f"video {source_id} was deleted or its files expired"
            )
        return self.access.blobs.path(key)

    def _uploaded_clip(self, request: dict[str, Any]) -> UploadedClip | None:
        """The clip an edit or extension of an uploaded video was given, if it was."""
        key = request.get("clip_key")
        if not key:
            return None
        if not self.access.blobs.exists(key):  # the video was deleted before it rendered
            raise TroupeError("video_not_found", "the uploaded video was deleted")
        return UploadedClip(
            path=self.access.blobs.path(key),
            extends=bool(request.get("clip_extends")),
            limits=self.access.decode_limits,
            max_frame_pixels=self.access.rules.max_frame_pixels,
        )


def _record_video(
    session: Session,
    blobs: BlobStore,
    video_id: str,
    rendered: RenderedVideo,
    expires_at: int,
    inline: dict[str, Any] | None,
) -> None:
    video = session.get(Video, video_id)
    if video is None:
        raise TroupeError("video_not_found", f"video {video_id} vanished")
    if video.deleted_at is not None:  # deleted while it rendered: keep nothing
        remove_video_files(blobs, rendered.blobs)
        return
    cast = [dict(entry) for entry in video.cast]
    if inline is not None:
        created = session.get(Character, inline["character_id"])
        username = created.username if created else inline.get("username")
        cast.append({"id": inline["character_id"], "username": username})
    for entry in cast:
        score = rendered.consistency.get(entry["id"])
        entry["consistency"] = None if score is None else round(score, 4)
    video.cast = cast
    # An uploaded source clip, stored with the video since it was queued, stays with it.
    video.blobs = {**video.blobs, **rendered.blobs}
    video.expires_at = expires_at
