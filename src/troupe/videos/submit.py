"""Queueing video jobs: resolve the characters, then write the task, its job and the video row
in one transaction."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy.orm import Session

from troupe.characters.mentions import suggest
from troupe.characters.submit import check_source_task
from troupe.errors import TroupeError
from troupe.ids import new_id
from troupe.jobs.admission import Admission
from troupe.jobs.worker import Worker
from troupe.store import repo
from troupe.store.db import Database
from troupe.store.tables import Character, Task, Video
from troupe.videos.clips import whole_seconds
from troupe.videos.intake import InlineCharacter, VideoRequest


@dataclass(frozen=True)
class VideoOrder:
    """A checked request plus where it comes from (a new video, or a remix/edit/extension)."""

    request: VideoRequest
    backend: str
    origin: str = "create"
    source: Video | None = None  # the video a remix, edit or extension starts from
    inherited_cast: tuple[str, ...] = ()  # character ids of the source video
    reference_key: str | None = None  # blob key of an uploaded input_reference
    # An uploaded video standing in for `source`: an edit's plate, or what an extension
    # continues. Its blob key, and its length in seconds.
    clip_key: str | None = None
    clip_seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def seed_of(video_id: str) -> int:
    """A render seed from the id, so a video re-renders the same after a restart."""
    return int(video_id.rsplit("_", 1)[-1][:8], 16)


def unknown_character(ref: str, param: str, known: list[str]) -> TroupeError:
    near = suggest(ref, known)
    hint = f"; did you mean {', '.join('@' + name for name in near)}?" if near else ""
    shown = ref if ref.startswith("char_") else f"@{ref}"
    return TroupeError(
        "unknown_character", f"no character {shown} that you may use{hint}", param=param
    )


def resolve_cast(session: Session, owner: str, order: VideoOrder) -> list[Character]:
    """The characters in order: inherited, listed, then mentioned; each once.

    A remix, edit or extension is a new render, so its source's cast must be usable by the
    caller now, as a listed or mentioned character must: one deleted or no longer shared
    since the source was made is refused, not rendered again.
    """
    cast: dict[str, Character] = {}
    for character_id in order.inherited_cast:
        row = repo.get_usable_character(session, owner, character_id)
        if row is None:
            raise TroupeError(
                "unknown_character",
                f"the source video's character {character_id} was deleted or is no longer "
                "shared with you",
                param="video",
            )
        cast.setdefault(row.id, row)
    for refs, param in ((order.request.listed, "characters"), (order.request.mentioned, "prompt")):
        for ref in refs:
            row = repo.get_usable_character(session, owner, ref)
            if row is None:
                raise unknown_character(ref, param, repo.live_usernames(session, owner))
            cast.setdefault(row.id, row)
    return list(cast.values())


def submit_video(
    db: Database, worker: Worker, admission: Admission, owner: str, order: VideoOrder, video_id: str
) -> tuple[Video, Task]:
    """The video and its task as written: what a client is answered, with no second read."""
    order = _with_inline_source(db, owner, order)
    inline = order.request.inline
    with db.transaction() as session:
        cast = resolve_cast(session, owner, order)
        if inline and inline.username and repo.username_in_use(session, inline.username):
            raise TroupeError(
                "username_taken",
                f"username @{inline.username} is taken",
                param="character_username",
            )
        price = admission.prices.for_video(
            order.request.model, order.request.seconds, inline_character=inline is not None
        )
        admission.admit(session, owner, video_id, price)
        task = repo.create_task(
            session,
            task_id=video_id,
            owner=owner,
            kind="video",
            model=order.request.model,
            request=_task_request(order, cast, video_id),
            backend=order.backend,
        )
        video = repo.insert_video(session, _video_row(order, owner, cast, video_id))
    worker.notify_new_job()
    return video, task


def _with_inline_source(db: Database, owner: str, order: VideoOrder) -> VideoOrder:
    """An inline character from a task: a character task's character joins the cast (seed 004
    passes it as `character_url`); a video task's MP4 becomes the source to extract from."""
    inline = order.request.inline
    if inline is None or inline.source["type"] != "task":
        return order
    task_id, param = inline.source["task_id"], inline.source.get("param", "character_from_task")
    with db.transaction() as session:
        task = repo.get_task(session, owner, task_id)
    if task is not None and task.kind == "character":
        if task.status != "completed" or task.character_id is None:
            raise TroupeError(
                "task_not_completed", f"character task {task_id} is {task.status}", param=param
            )
        listed = (*order.request.listed, task.character_id)
        return replace(order, request=replace(order.request, inline=None, listed=listed))
    key = check_source_task(db, owner, task_id, param=param)
    inline = replace(inline, source={"type": "task", "task_id": task_id, "video_key": key})
    return replace(order, request=replace(order.request, inline=inline))


def _task_request(order: VideoOrder, cast: list[Character], video_id: str) -> dict[str, Any]:
    request = order.request
    source = order.source
    return {
        "prompt": request.prompt,
        "backend": order.backend,
        "seconds": request.seconds,
        "width": request.width,
        "height": request.height,
        "cast": [row.id for row in cast],
        "inline": _inline_request(request.inline),
        "reference_url": request.reference_url,
        "reference_key": order.reference_key,
        "extends_video_id": source.id if order.origin == "extension" and source else None,
        "clip_key": order.clip_key,
        "clip_extends": order.clip_key is not None and order.origin == "extension",
        "seed": seed_of(source.id if source and order.origin != "extension" else video_id),
        **order.extra,
    }


def _inline_request(inline: InlineCharacter | None) -> dict[str, Any] | None:
    if inline is None:
        return None
    request = {
        "character_id": new_id("char"),
        "source": inline.source,
        "timestamps": inline.timestamps,
        "name": inline.name,
        "username": inline.username,
    }
    return {**request, "attested": True} if inline.attested else request


def _video_row(order: VideoOrder, owner: str, cast: list[Character], video_id: str) -> Video:
    created_ns = time.time_ns()
    source = order.source
    seconds = order.request.seconds
    if order.origin == "extension" and source is not None:
        seconds += source.seconds  # the SDK's `seconds` of an extension is the stitched total
    if order.origin == "extension" and order.clip_key is not None:
        seconds += whole_seconds(order.clip_seconds)
    return Video(
        id=video_id,
        owner=owner,
        prompt=order.request.prompt,
        model=order.request.model,
        backend=order.backend,
        seconds=seconds,
        size=order.request.size,
        origin=order.origin,
        source_video_id=source.id if source else None,
        remixed_from_video_id=source.id if source and order.origin == "remix" else None,
        cast=[{"id": row.id, "username": row.username, "consistency": None} for row in cast],
        # An uploaded clip belongs to its video: deleted or expired with it.
        blobs={"source": order.clip_key} if order.clip_key else {},
        created_at=created_ns // 1_000_000_000,
        created_ns=created_ns,
    )
