"""The video job: its inline character first, if any, then the render and its record."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from troupe.characters import doubts
from troupe.characters.files import CharacterFiles
from troupe.characters.job import character_files, record_character
from troupe.characters.reuse import earlier_in
from troupe.characters.sources import SourceAccess
from troupe.errors import TroupeError, format_apart
from troupe.ids import now_seconds
from troupe.jobs.queue import ClaimedJob
from troupe.jobs.tasks import task_request
from troupe.jobs.worker import ProgressFn
from troupe.media.fetch import fetch_to_file
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

if TYPE_CHECKING:
    from troupe.characters.fingerprint import Fingerprint

# A character scoring under this in its own video gets a warning beside the score: troupe's own
# renders of a well cut-out character score 0.95 and more (the demo), while videos that lost
# their character (a background tree cut out as one) scored 0.0.
CONSISTENCY_FLOOR = 0.3


class VideoExecutor:
    """Renders one video: its inline character first, if any, then the back end's MP4, its
    previews and the consistency of every character in it."""

    def __init__(
        self,
        db: Database,
        access: SourceAccess,
        backends: dict[str, Backend],
        retention_seconds: int,
        likeness_review: str = "refuse",
    ) -> None:
        self.db = db
        self.access = access
        self.backends = backends
        self.retention_seconds = retention_seconds
        self.likeness_review = likeness_review

    def __call__(self, job: ClaimedJob, progress: ProgressFn) -> Callable[[Session], None]:
        owner, request = task_request(self.db, job)
        backend = self.backends.get(request["backend"])
        if backend is None:
            raise TroupeError("internal_error", f"back end {request['backend']!r} is not loaded")
        cast = self._usable_cast(owner, request["cast"])  # before any work is spent
        inline: dict[str, Any] | None = request.get("inline")
        files = None
        likeness = None
        if inline is not None:
            # Its extraction takes the first tenth of the job's progress.
            files = character_files(
                inline,
                self.access,
                lambda percent: progress(percent // 10),
                partial(earlier_in, self.db, owner),
            )
            likeness = self._inline_likeness(inline, files)
        members, fingerprints = self._load_cast(cast, inline, files)
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
                render_job,
                backend,
                self.access.blobs,
                video_blob_prefix(job.task_id),
                self._cancellable(job.task_id, progress),
            )
        expires_at = now_seconds() + self.retention_seconds

        def record(session: Session) -> None:
            if inline is not None and files is not None:
                record_character(session, job.task_id, owner, inline, files, likeness)
            _record_video(session, self.access.blobs, job.task_id, rendered, expires_at, inline)

        return record

    def _inline_likeness(
        self, inline: dict[str, Any], files: CharacterFiles
    ) -> dict[str, Any] | None:
        """An inline character the screening was uncertain about goes through only attested:
        a render cannot wait days for an operator, whatever the policy."""
        doubt = files.doubt
        if doubt is None:
            return None
        if not inline.get("attested"):
            doubts.discard_files(self.access.blobs, files)
            raise doubts.inline_refusal(doubt, self.likeness_review)
        return doubts.likeness_record(doubt, attested=True)

    def _cancellable(self, video_id: str, progress: ProgressFn) -> ProgressFn:
        """`progress` that stops the render once the video is deleted: the error raised ends
        the back end's work at its next report, and the job fails, so nothing is charged."""

        def report(percent: int) -> None:
            progress(percent)
            with self.db.transaction() as session:
                deleted = session.scalar(select(Video.deleted_at).where(Video.id == video_id))
            if deleted is not None:
                raise TroupeError(
                    "video_not_found", f"video {video_id} was deleted while it rendered"
                )

        return report

    def _usable_cast(self, owner: str, character_ids: list[str]) -> list[Character]:
        """The cast's rows, each still usable by the owner: one deleted or made private while
        the job waited fails it, as it would have been refused at submission."""
        with self.db.transaction() as session:
            rows = [repo.get_usable_character(session, owner, ref) for ref in character_ids]
        usable = []
        for character_id, row in zip(character_ids, rows, strict=True):
            if row is None:
                raise TroupeError(
                    "unknown_character",
                    f"character {character_id} was deleted or is no longer shared with you "
                    "since this video was ordered",
                )
            usable.append(row)
        return usable

    def _load_cast(
        self, rows: list[Character], inline: dict[str, Any] | None, files: CharacterFiles | None
    ) -> tuple[list[CastMember], dict[str, Fingerprint]]:
        """What the back end and the scorer need of each character, the inline one last."""
        entries = [(row.id, row.username, row.display_name, row.blobs) for row in rows]
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
        cutouts = tuple(self.access.blobs.local(key) for key in blobs.get("references", [])[1::2])
        voice = self.access.blobs.local(blobs["voice"]) if "voice" in blobs else None
        motion = self.access.blobs.local(blobs["motion"]) if "motion" in blobs else None
        return CastMember(
            id=character_id,
            username=username,
            display_name=name,
            cutouts=cutouts,
            voice=voice,
            motion=motion,
        )

    def _fingerprint(self, blobs: dict[str, Any]) -> Fingerprint:
        # Imported in the first job that renders, as the render's own modules are (OpenCV).
        from troupe.characters.fingerprint import load_fingerprint

        return load_fingerprint(self.access.blobs.local(blobs["fingerprint"]).read_bytes())

    def _reference(self, request: dict[str, Any], stack: ExitStack) -> Path | None:
        if request.get("reference_key"):
            return self.access.blobs.local(request["reference_key"])
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
        return self.access.blobs.local(key)

    def _uploaded_clip(self, request: dict[str, Any]) -> UploadedClip | None:
        """The clip an edit or extension of an uploaded video was given, if it was."""
        key = request.get("clip_key")
        if not key:
            return None
        if not self.access.blobs.exists(key):  # the video was deleted before it rendered
            raise TroupeError("video_not_found", "the uploaded video was deleted")
        return UploadedClip(
            path=self.access.blobs.local(key),
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
        entry["warning"] = consistency_warning(score)
    video.cast = cast
    # An uploaded source clip, stored with the video since it was queued, stays with it.
    video.blobs = {**video.blobs, **rendered.blobs}
    video.expires_at = expires_at


def consistency_warning(score: float | None) -> str | None:
    """What to tell the caller when a character was hardly found in its video: a score this low
    means the render lost it or drew something else, not a character that merely turned."""
    if score is None or score >= CONSISTENCY_FLOOR:
        return None
    shown, floor = format_apart(score, CONSISTENCY_FLOOR)
    return (
        f"consistency {shown} is below {floor}: the character was hardly found in the video "
        "and may not look like its references"
    )
