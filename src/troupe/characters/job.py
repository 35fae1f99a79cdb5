"""The character job: extract a character from the source its task names, then record it (or,
when the screening was uncertain, refuse it or park it for an operator, as the policy says)."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import replace
from functools import partial
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from troupe.characters import doubts
from troupe.characters.files import CharacterFiles
from troupe.characters.reuse import Earlier, earlier_in, extraction_key
from troupe.characters.sources import SourceAccess, local_source
from troupe.characters.timestamps import parse_timestamps
from troupe.characters.usernames import derive_username, name_from_source, name_from_title
from troupe.errors import TroupeError
from troupe.jobs.parking import Parked
from troupe.jobs.queue import ClaimedJob
from troupe.jobs.tasks import task_request
from troupe.jobs.worker import Apply, ProgressFn
from troupe.media.sandbox import run_sandboxed, start_sandbox
from troupe.store import repo, reviews
from troupe.store.blobs import BlobStore
from troupe.store.db import Database
from troupe.store.tables import Character

# A derived username raced by another process gets a fresh suffix this many times.
USERNAME_ATTEMPTS = 5


def character_blob_prefix(character_id: str) -> str:
    return f"characters/{character_id}"


def upload_blob_key(task_id: str) -> str:
    return f"uploads/{task_id}"


class CharacterExecutor:
    """Creates one character from the request stored on its task."""

    def __init__(
        self,
        db: Database,
        access: SourceAccess,
        policy: doubts.LikenessPolicy | None = None,
    ) -> None:
        self.db = db
        self.access = access
        self.policy = policy or doubts.LikenessPolicy()

    def __call__(self, job: ClaimedJob, progress: ProgressFn) -> Apply | Parked:
        owner, request = task_request(self.db, job)
        files = character_files(request, self.access, progress, partial(earlier_in, self.db, owner))
        return screened_outcome(job.task_id, owner, request, files, self.policy, self.access.blobs)


def screened_outcome(
    task_id: str,
    owner: str,
    request: dict[str, Any],
    files: CharacterFiles,
    policy: doubts.LikenessPolicy,
    blobs: BlobStore,
) -> Apply | Parked:
    """What to write for extracted files: the character, or (uncertain) a refusal or a review."""
    doubt = files.doubt
    attested = bool(request.get("attested"))
    decided = doubts.verdict(doubt, attested=attested, policy=policy.review)
    if doubt is None or decided == "accept":
        likeness = doubts.likeness_record(doubt, attested=True) if doubt else None
        return lambda session: record_character(session, task_id, owner, request, files, likeness)
    if decided == "review":
        review = doubts.waiting_review(task_id, owner, files, doubt, policy.review_hours)

        def ask_for_review(session: Session) -> None:
            reviews.insert_review(session, review)

        return Parked(
            apply=ask_for_review,
            waiting_for=doubts.WAITING_FOR,
            event="character.review_requested",
        )
    doubts.discard_files(blobs, files)
    raise doubts.uncertain_refusal(doubt)


def character_files(
    request: dict[str, Any],
    access: SourceAccess,
    progress: ProgressFn,
    find_earlier: Callable[[str], Earlier | None],
) -> CharacterFiles:
    """Extract the character that `request` (a character task's, or a video's inline one) asks
    for from its source into the blob store, decoding in a sandboxed child; or, where
    `find_earlier` finds a character made by the same extraction, copy its files."""
    # Imported here: extraction brings OpenCV and PyAV, which a process that never runs this
    # job does not need (the sandbox's fork server, where extraction runs, has them loaded).
    from troupe.characters.create import build_character_files

    raw_window = request.get("timestamps")
    window = parse_timestamps(raw_window) if raw_window is not None else None
    start_sandbox()  # the first job's fork server then loads its models while the source comes
    with ExitStack() as stack:
        source_path = local_source(request["source"], access, stack)
        progress(10)
        key = extraction_key(source_path, window)
        files = run_sandboxed(
            access.decode_limits,
            build_character_files,
            source_path,
            window,
            access.rules,
            access.blobs,
            character_blob_prefix(request["character_id"]),
            find_earlier(key),
            progress=progress,
        )
        return replace(files, extraction_key=key)


def record_character(
    session: Session,
    task_id: str,
    owner: str,
    request: dict[str, Any],
    files: CharacterFiles,
    likeness: dict[str, Any] | None = None,
) -> None:
    """Insert the character `request` asked for, made of `files`, and attach it to its task;
    `likeness` is kept with one let through despite a doubt (whose frames it keeps too)."""
    wanted: str | None = request.get("username")
    # Unnamed, a character is called after its source: its title tag where it has one, which
    # its maker wrote, else its file ("fox.mp4": "fox", @fox).
    name: str | None = (
        request.get("name") or name_from_title(files.title) or name_from_source(request["source"])
    )
    for _ in range(USERNAME_ATTEMPTS):
        username = wanted or derive_username(
            name, lambda taken: repo.username_in_use(session, taken)
        )
        if wanted and repo.username_in_use(session, wanted):
            break
        try:
            # A savepoint: another process may take the name between the check and the insert.
            with session.begin_nested():
                row = _character_row(
                    task_id, owner, request, files, likeness, (username, name or username)
                )
                repo.insert_character(session, row)
        except IntegrityError as error:
            if "username" not in str(error.orig).lower():
                raise
            continue
        repo.attach_character_to_task(session, task_id, request["character_id"])
        return
    raise TroupeError(
        "username_taken", f"username @{wanted or username} is taken", param="username"
    )


def _character_row(
    task_id: str,
    owner: str,
    request: dict[str, Any],
    files: CharacterFiles,
    likeness: dict[str, Any] | None,
    names: tuple[str, str],  # (username, display name)
) -> Character:
    source = request["source"]
    created_ns = time.time_ns()
    blobs = dict(files.blobs)
    if likeness is not None and files.doubt is not None:
        # Kept with the character, so its deletion removes them with its other files.
        blobs[doubts.EVIDENCE_ROLE] = list(files.doubt.evidence)
    return Character(
        id=request["character_id"],
        owner=owner,
        username=names[0],
        display_name=names[1],
        created_at=created_ns // 1_000_000_000,
        created_ns=created_ns,
        task_id=task_id,
        source={
            "type": source["type"],
            "url": source.get("url"),
            "task_id": source.get("task_id"),
            "filename": source.get("filename"),
            "timestamps": str(files.window),
            "title": files.title,
            "extraction_key": files.extraction_key,
            "reused_from": files.reused_from,
        },
        quality=files.quality,
        blobs=blobs,
        likeness=likeness,
    )
