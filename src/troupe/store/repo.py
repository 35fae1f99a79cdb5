"""Repository functions: every SQL statement troupe runs outside the job queue lives here."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Exists, Select, Text, cast, func, or_, select, update
from sqlalchemy.orm import Session

from troupe.ids import new_id, now_seconds
from troupe.store.db import notify_jobs
from troupe.store.tables import ApiKey, Character, Job, Review, Task, Video, WebhookEvent

Row = TypeVar("Row", Character, Video, Task, Review)
Item = TypeVar("Item")
# A SELECT of any columns, kept as its own type through the filters added to it.
Query = TypeVar("Query", bound=Select[*tuple[Any, ...]])


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


# --- API keys -------------------------------------------------------------------------


def create_api_key(
    session: Session, owner: str, *, operator: bool = False, may_attest: bool = False
) -> tuple[ApiKey, str]:
    """Store a new key for `owner`, with its rights; the plain key is returned once and never
    stored."""
    plain = new_id("sk-troupe").replace("_", "-")
    row = ApiKey(
        id=new_id("key"),
        owner=owner,
        key_hash=hash_key(plain),
        prefix=plain[:14],
        created_at=now_seconds(),
        operator=operator,
        may_attest=may_attest,
    )
    session.add(row)
    return row, plain


def owner_of_key(session: Session, plain: str) -> str | None:
    row = api_key_of(session, plain)
    return row.owner if row else None


def api_key_of(session: Session, plain: str) -> ApiKey | None:
    """The live (not revoked) stored key `plain`, with its rights."""
    return session.scalar(
        select(ApiKey).where(ApiKey.key_hash == hash_key(plain), ApiKey.revoked_at.is_(None))
    )


def list_api_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)))


def revoke_api_key(session: Session, key_id: str) -> bool:
    result = session.execute(
        update(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=now_seconds())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def any_api_keys(session: Session) -> bool:
    return session.scalar(select(func.count()).select_from(ApiKey)) != 0


def owner_has_live_key(session: Session, owner: str) -> bool:
    found = session.scalar(
        select(ApiKey.id).where(ApiKey.owner == owner, ApiKey.revoked_at.is_(None)).limit(1)
    )
    return found is not None


def count_owned(session: Session, owner: str) -> tuple[int, int]:
    """(characters, videos) that `owner` holds, deleted ones left out."""
    characters = session.scalar(
        select(func.count())
        .select_from(Character)
        .where(Character.owner == owner, Character.deleted_at.is_(None))
    )
    videos = session.scalar(
        select(func.count())
        .select_from(Video)
        .where(Video.owner == owner, Video.deleted_at.is_(None))
    )
    return characters or 0, videos or 0


# --- tasks ----------------------------------------------------------------------------


def create_task(
    session: Session,
    *,
    task_id: str,
    owner: str,
    kind: str,
    model: str,
    request: dict[str, Any],
    backend: str | None = None,
) -> Task:
    """Insert a task and the job that runs it in one transaction, so neither exists alone;
    `backend` is the render back end the job needs, if any."""
    created_ns = time.time_ns()
    created = created_ns // 1_000_000_000
    task = Task(
        id=task_id,
        owner=owner,
        kind=kind,
        model=model,
        status="queued",
        progress=0,
        request=request,
        created_at=created,
        created_ns=created_ns,
    )
    session.add(task)
    session.flush()  # the job's foreign key needs the task row first
    session.add(
        Job(
            task_id=task_id,
            kind=kind,
            state="queued",
            attempts=0,
            created_at=created,
            backend=backend,
        )
    )
    notify_jobs(session)
    return task


def get_task(session: Session, owner: str, task_id: str) -> Task | None:
    """The owner's task; a video's task (which shares the video's id) is gone with the video,
    as GET /v1/videos/{id} of a deleted video finds nothing."""
    return session.scalar(
        select(Task).where(Task.id == task_id, Task.owner == owner, ~_of_a_deleted_video())
    )


def _of_a_deleted_video() -> Exists:
    return select(Video.id).where(Video.id == Task.id, Video.deleted_at.is_not(None)).exists()


def get_task_by_id(session: Session, task_id: str) -> Task | None:
    return session.get(Task, task_id)


def list_tasks(
    session: Session,
    owner: str,
    *,
    after: str | None,
    limit: int,
    order: str,
    kind: str | None,
    status: str | None,
) -> Page[Task]:
    """The owner's tasks, but those of deleted videos (gone with them, as from `get_task`)."""
    statement = select(Task).where(Task.owner == owner, ~_of_a_deleted_video())
    if kind is not None:
        statement = statement.where(Task.kind == kind)
    if status is not None:
        statement = statement.where(Task.status == status)
    return _page(session, Task, statement, owner, after, limit, order)


def task_results(session: Session, tasks: list[Task]) -> dict[str, Character | Video]:
    """What each task made, by task id: its video (any status), or its character once made.
    Read after the tasks, so a completed task always finds what it made."""
    video_ids = [task.id for task in tasks if task.kind == "video"]
    character_ids = [task.character_id for task in tasks if task.character_id]
    results: dict[str, Character | Video] = {}
    if video_ids:
        videos = select(Video).where(Video.id.in_(video_ids), Video.deleted_at.is_(None))
        results.update({video.id: video for video in session.scalars(videos)})
    if character_ids:
        live = select(Character).where(
            Character.id.in_(character_ids), Character.deleted_at.is_(None)
        )
        made = {row.id: row for row in session.scalars(live)}
        results.update(
            {task.id: made[task.character_id] for task in tasks if task.character_id in made}
        )
    return results


def tasks_by_id(session: Session, task_ids: list[str]) -> dict[str, Task]:
    """Many tasks in one query, by id."""
    if not task_ids:
        return {}
    return {task.id: task for task in session.scalars(select(Task).where(Task.id.in_(task_ids)))}


def set_task_progress(session: Session, task_id: str, progress: int) -> None:
    session.execute(
        update(Task)
        .where(Task.id == task_id, Task.status == "in_progress")
        .values(progress=progress)
    )


def attach_character_to_task(session: Session, task_id: str, character_id: str) -> None:
    session.execute(update(Task).where(Task.id == task_id).values(character_id=character_id))


# --- characters -----------------------------------------------------------------------


def username_in_use(session: Session, username: str) -> bool:
    query = select(Character.id).where(
        func.lower(Character.username) == username.lower(), Character.deleted_at.is_(None)
    )
    return session.scalar(query) is not None


def insert_character(session: Session, character: Character) -> Character:
    session.add(character)
    session.flush()
    return character


def get_character(session: Session, owner: str, id_or_username: str) -> Character | None:
    ref = id_or_username.removeprefix("@")
    query = select(Character).where(
        Character.owner == owner,
        Character.deleted_at.is_(None),
        or_(Character.id == ref, func.lower(Character.username) == ref.lower()),
    )
    return session.scalar(query)


def get_usable_character(session: Session, owner: str, id_or_username: str) -> Character | None:
    """A live character the caller may see and mention: its own, or anyone's public one."""
    ref = id_or_username.removeprefix("@")
    query = select(Character).where(
        or_(Character.owner == owner, Character.visibility == "public"),
        Character.deleted_at.is_(None),
        or_(Character.id == ref, func.lower(Character.username) == ref.lower()),
    )
    return session.scalar(query)


def get_live_character_by_id(session: Session, character_id: str) -> Character | None:
    """For file URLs: the unguessable id is the capability, so no owner is asked for."""
    query = select(Character).where(Character.id == character_id, Character.deleted_at.is_(None))
    return session.scalar(query)


@dataclass(frozen=True)
class Page(Generic[Item]):
    rows: list[Item]
    has_more: bool


def list_character_keys(
    session: Session, owner: str, *, after: str | None, limit: int, order: str, query: str | None
) -> Page[tuple[str, str]]:
    """Live characters, newest first for `desc` (`query` is a username or name prefix), as
    each one's id and visibility: all of a character that ever changes, so a reader holding
    the rest need not load it again."""
    statement = _owned_characters(select(Character.id, Character.visibility), owner, query)
    key = _cursor(session, Character, owner, after)
    paged = _keyset(statement, (Character.created_ns, Character.id), key, order)
    rows = [(ident, visibility) for ident, visibility in session.execute(paged.limit(limit + 1))]
    return Page(rows=rows[:limit], has_more=len(rows) > limit)


def characters_by_id(session: Session, ids: list[str]) -> list[Character]:
    return list(session.scalars(select(Character).where(Character.id.in_(ids)))) if ids else []


def _owned_characters(statement: Query, owner: str, query: str | None) -> Query:
    statement = statement.where(Character.owner == owner, Character.deleted_at.is_(None))
    if query:
        prefix = query.removeprefix("@").lower().replace("%", r"\%").replace("_", r"\_") + "%"
        statement = statement.where(
            or_(
                func.lower(Character.username).like(prefix, escape="\\"),
                func.lower(Character.display_name).like(prefix, escape="\\"),
            )
        )
    return statement


def _page(
    session: Session,
    model: type[Row],
    statement: Select[Row],
    owner: str,
    after: str | None,
    limit: int,
    order: str,
) -> Page[Row]:
    """Cursor pagination over (created_ns, id): ids alone are random, seconds alone tie."""
    created, ident = model.created_ns, model.id  # type: ignore[attr-defined]
    key = _cursor(session, model, owner, after)
    return keyset_page(session, statement, (created, ident), key, limit, order)


def _cursor(
    session: Session, model: type[Row], owner: str, after: str | None
) -> tuple[int, str] | None:
    """The ordering values of the owner's row `after`; None when it names none of theirs."""
    if not after:
        return None
    created, ident, row_owner = model.created_ns, model.id, model.owner  # type: ignore[attr-defined]
    found = session.execute(
        select(created, ident).where(ident == after, row_owner == owner)
    ).first()
    return (found[0], found[1]) if found else None


def keyset_page(
    session: Session,
    statement: Select[Row],
    columns: tuple[Any, Any],
    after: tuple[int, str] | None,
    limit: int,
    order: str,
) -> Page[Row]:
    """A page of `statement` ordered by `columns` (a creation time and a unique id), starting
    past the row whose values of them are `after`."""
    rows = list(session.scalars(_keyset(statement, columns, after, order).limit(limit + 1)))
    return Page(rows=rows[:limit], has_more=len(rows) > limit)


def _keyset(
    statement: Query, columns: tuple[Any, Any], after: tuple[int, str] | None, order: str
) -> Query:
    """`statement` ordered by `columns`, past the row whose values of them are `after`."""
    created, ident = columns
    descending = order == "desc"
    if after is not None:
        if descending:
            statement = statement.where(
                or_(created < after[0], (created == after[0]) & (ident < after[1]))
            )
        else:
            statement = statement.where(
                or_(created > after[0], (created == after[0]) & (ident > after[1]))
            )
    sort = (created, ident)
    return statement.order_by(*(c.desc() for c in sort) if descending else sort)


def delete_character(session: Session, character: Character) -> None:
    character.deleted_at = now_seconds()


def deleted_characters_with_files(session: Session, deleted_before: int) -> list[Character]:
    """Characters deleted before then whose files are still on disk."""
    query = select(Character).where(
        Character.deleted_at.is_not(None),
        Character.deleted_at <= deleted_before,
        cast(Character.blobs, Text) != "{}",
    )
    return list(session.scalars(query))


def character_in_use(session: Session, character_id: str) -> bool:
    """Whether a video may still read the character's files: one whose job has not settled. A
    settled video never reads them again (a remix, edit or extension of it refuses a deleted
    character)."""
    unsettled = select(Task.id).where(Task.status.in_(("queued", "in_progress")))
    query = select(Video.id).where(
        cast(Video.cast, Text).contains(f'"{character_id}"', autoescape=True),
        Video.id.in_(unsettled),
    )
    return session.scalar(query.limit(1)) is not None


def live_usernames(session: Session, owner: str) -> list[str]:
    query = select(Character.username).where(
        Character.owner == owner, Character.deleted_at.is_(None)
    )
    return list(session.scalars(query))


# --- videos ---------------------------------------------------------------------------


def insert_video(session: Session, video: Video) -> Video:
    session.add(video)
    session.flush()
    return video


def get_video(session: Session, owner: str, video_id: str) -> Video | None:
    query = select(Video).where(
        Video.id == video_id, Video.owner == owner, Video.deleted_at.is_(None)
    )
    return session.scalar(query)


def list_videos(
    session: Session, owner: str, *, after: str | None, limit: int, order: str
) -> Page[Video]:
    statement = select(Video).where(Video.owner == owner, Video.deleted_at.is_(None))
    return _page(session, Video, statement, owner, after, limit, order)


def reload_videos(session: Session, videos: list[Video]) -> None:
    """Read these rows again from the database, in place."""
    if videos:
        statement = select(Video).where(Video.id.in_([video.id for video in videos]))
        session.scalars(statement.execution_options(populate_existing=True)).all()


def videos_due_to_expire(session: Session, now: int, limit: int = 50) -> list[Video]:
    query = select(Video).where(
        Video.expires_at <= now, Video.expired_at.is_(None), Video.deleted_at.is_(None)
    )
    return list(session.scalars(query.limit(limit)))


def delete_video(session: Session, video: Video) -> None:
    video.deleted_at = now_seconds()


def mark_expired(session: Session, video: Video) -> None:
    video.expired_at = now_seconds()


@dataclass(frozen=True)
class StoreCounts:
    """What the store holds right now, for /metrics."""

    tasks: dict[tuple[str, str], int]  # (kind, status) -> tasks
    jobs: dict[tuple[str, str], int]  # (kind, state) -> jobs not done
    characters: int  # not deleted
    webhook_events_pending: int  # neither delivered nor given up


def count_store(session: Session) -> StoreCounts:
    tasks = session.execute(
        select(Task.kind, Task.status, func.count()).group_by(Task.kind, Task.status)
    )
    jobs = session.execute(
        select(Job.kind, Job.state, func.count())
        .where(Job.state != "done")
        .group_by(Job.kind, Job.state)
    )
    characters = session.scalar(
        select(func.count()).select_from(Character).where(Character.deleted_at.is_(None))
    )
    pending = session.scalar(
        select(func.count())
        .select_from(WebhookEvent)
        .where(WebhookEvent.delivered_at.is_(None), WebhookEvent.failed_at.is_(None))
    )
    return StoreCounts(
        tasks={(kind, status): count for kind, status, count in tasks},
        jobs={(kind, state): count for kind, state, count in jobs},
        characters=characters or 0,
        webhook_events_pending=pending or 0,
    )
