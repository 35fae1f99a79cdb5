"""SQLAlchemy tables: API keys, tasks, the jobs that run them and the workers that run those,
characters and the reviews of doubtful ones, videos, webhooks, idempotency records, and the
billing ledger."""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class ApiKey(Base):
    """A key made with `troupe keys create`; only its SHA-256 is stored."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    owner: Mapped[str] = mapped_column(String(80), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[int] = mapped_column(Integer)
    revoked_at: Mapped[int | None] = mapped_column(Integer, default=None)
    # `--operator`: may list, look at and decide reviews of doubtful characters.
    operator: Mapped[bool] = mapped_column(Boolean, server_default=false(), default=False)
    # `--may-attest`: its requests may attest that a doubtful subject is an original character.
    may_attest: Mapped[bool] = mapped_column(Boolean, server_default=false(), default=False)


class Task(Base):
    """What a client polls: the public face of one job (`generation.task`)."""

    __tablename__ = "tasks"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    owner: Mapped[str] = mapped_column(String(80), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # "character" | "video"
    model: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(20))  # queued | in_progress | completed | failed
    progress: Mapped[int] = mapped_column(Integer, default=0)
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    character_id: Mapped[str | None] = mapped_column(String(40), default=None)
    error_code: Mapped[str | None] = mapped_column(String(40), default=None)
    error_message: Mapped[str | None] = mapped_column(Text, default=None)
    error_param: Mapped[str | None] = mapped_column(String(40), default=None)
    created_at: Mapped[int] = mapped_column(Integer)
    # Lists page by creation order (tasks made before 0004 carry created_at in nanoseconds).
    created_ns: Mapped[int] = mapped_column(BigInteger, server_default="0")
    completed_at: Mapped[int | None] = mapped_column(Integer, default=None)

    __table_args__ = (Index("ix_tasks_owner_created", "owner", "created_ns"),)


class Job(Base):
    """A unit of work for the worker, written in the same transaction as its task.

    A worker owns a running job while its lease lasts and renews the lease by heartbeat;
    a job whose lease ran out belongs to a dead worker and may be claimed again.
    """

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20))  # queued | running | done
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker_id: Mapped[str | None] = mapped_column(String(80), default=None)
    lease_expires_at: Mapped[float | None] = mapped_column(Float, default=None)
    created_at: Mapped[float] = mapped_column(Float)
    # The render back end a video job needs (only workers that load it claim the job); None:
    # any worker that runs its kind.
    backend: Mapped[str | None] = mapped_column(String(40), default=None)
    # A `parked` job waits for something outside the queue (a person's decision) and is never
    # claimed; this says what, for its task's `waiting_for`.
    waiting_for: Mapped[str | None] = mapped_column(String(200), default=None)

    __table_args__ = (Index("ix_jobs_claimable", "state", "lease_expires_at"),)


class WorkerPresence(Base):
    """A worker process that runs jobs, as its last heartbeat left it: what it serves (kinds,
    back ends) and how many jobs it runs. Removed when it stops; a dead one just goes stale."""

    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    kinds: Mapped[list[Any]] = mapped_column(JSON)
    backends: Mapped[list[Any]] = mapped_column(JSON)
    threads: Mapped[int] = mapped_column(Integer)
    running: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[float] = mapped_column(Float)
    seen_at: Mapped[float] = mapped_column(Float, index=True)


# Usernames are unique among the characters not deleted: a partial index.
LIVE_USERNAME_INDEX = "uq_characters_live_username"
LIVE_ONLY = "deleted_at IS NULL"


class Character(Base):
    """A reusable subject. Never modified in place; deletion hides it and frees its username."""

    __tablename__ = "characters"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    owner: Mapped[str] = mapped_column(String(80), index=True)
    username: Mapped[str] = mapped_column(String(30))
    display_name: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[int] = mapped_column(Integer)
    # Lists page by creation order; seconds alone tie, so keep nanoseconds too.
    created_ns: Mapped[int] = mapped_column(BigInteger)
    task_id: Mapped[str | None] = mapped_column(String(40), default=None)
    source: Mapped[dict[str, Any]] = mapped_column(JSON)
    quality: Mapped[dict[str, Any]] = mapped_column(JSON)
    blobs: Mapped[dict[str, Any]] = mapped_column(JSON)  # role -> blob key
    deleted_at: Mapped[int | None] = mapped_column(Integer, default=None)
    # "private": its owner alone sees and uses it; "public": anyone may mention it.
    visibility: Mapped[str] = mapped_column(String(20), server_default="private")
    # Set when the screening could not tell it from a real person and it was let through
    # anyway: {"screening": "uncertain", "reason", "attested", "reviewed_at"}. None: the
    # screening was sure.
    likeness: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)

    __table_args__ = (
        Index(LIVE_USERNAME_INDEX, "username", unique=True, sqlite_where=text(LIVE_ONLY)),
    )


class Review(Base):
    """A character task whose screening was uncertain, parked for an operator: what extraction
    made (recorded as the character on approval), the doubt, and the decision once taken."""

    __tablename__ = "reviews"

    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id"), primary_key=True)
    owner: Mapped[str] = mapped_column(String(80), index=True)
    # waiting | approved | rejected | expired
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    evidence: Mapped[list[Any]] = mapped_column(JSON)  # blob keys of the boxed JPEG frames
    # What extraction made: {"window", "quality", "blobs"}.
    files: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[int] = mapped_column(Integer)
    created_ns: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(Integer)
    decided_at: Mapped[int | None] = mapped_column(Integer, default=None)
    decided_by: Mapped[str | None] = mapped_column(String(200), default=None)
    why: Mapped[str | None] = mapped_column(Text, default=None)

    __table_args__ = (Index("ix_reviews_status_expires", "status", "expires_at"),)


class Video(Base):
    """A video job's own fields; its status, progress and error live on the task of the same id."""

    __tablename__ = "videos"

    id: Mapped[str] = mapped_column(ForeignKey("tasks.id"), primary_key=True)
    owner: Mapped[str] = mapped_column(String(80), index=True)
    prompt: Mapped[str] = mapped_column(Text)
    model: Mapped[str] = mapped_column(String(60))
    backend: Mapped[str] = mapped_column(String(40))
    seconds: Mapped[int] = mapped_column(Integer)  # for extensions: the stitched total
    size: Mapped[str] = mapped_column(String(12))
    # "create" | "remix" | "edit" | "extension"; the last three start from source_video_id.
    origin: Mapped[str] = mapped_column(String(20))
    source_video_id: Mapped[str | None] = mapped_column(String(40), default=None)
    remixed_from_video_id: Mapped[str | None] = mapped_column(String(40), default=None)
    # [{id, username, display_name, consistency}]; kept as rendered, so deleting a character
    # leaves its videos intact.
    cast: Mapped[list[Any]] = mapped_column(JSON)
    blobs: Mapped[dict[str, Any]] = mapped_column(JSON)  # role -> blob key, once rendered
    created_at: Mapped[int] = mapped_column(Integer)
    created_ns: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int | None] = mapped_column(Integer, default=None)
    expired_at: Mapped[int | None] = mapped_column(Integer, default=None)
    deleted_at: Mapped[int | None] = mapped_column(Integer, default=None)


class WebhookEvent(Base):
    """An outbox row: written in the transaction that settles a job, sent (and retried) later."""

    __tablename__ = "webhook_events"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    type: Mapped[str] = mapped_column(String(40))  # video.completed, character.failed, ...
    object_id: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[int] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[float] = mapped_column(Float)
    delivered_at: Mapped[int | None] = mapped_column(Integer, default=None)
    # Set when delivery was given up after the last attempt.
    failed_at: Mapped[int | None] = mapped_column(Integer, default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)

    __table_args__ = (Index("ix_webhook_events_pending", "delivered_at", "failed_at"),)


class IdempotencyRecord(Base):
    """The first answer to a POST with an `Idempotency-Key`, replayed to its retries."""

    __tablename__ = "idempotency_records"

    owner: Mapped[str] = mapped_column(String(80), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))  # method, path and body
    state: Mapped[str] = mapped_column(String(20))  # in_progress | done
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    response_body: Mapped[str | None] = mapped_column(Text, default=None)
    response_headers: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[int] = mapped_column(Integer)


class Account(Base):
    """An owner's prepaid balance; an owner without a row is not limited by money."""

    __tablename__ = "accounts"

    owner: Mapped[str] = mapped_column(String(80), primary_key=True)
    balance_micros: Mapped[int] = mapped_column(BigInteger)  # millionths of a dollar
    updated_at: Mapped[int] = mapped_column(Integer)


class LedgerEntry(Base):
    """One movement of money. A job has at most one entry of each kind, so a price is reserved
    once and then either charged or refunded once, whatever retries or crashes happen."""

    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    owner: Mapped[str] = mapped_column(String(80), index=True)
    task_id: Mapped[str | None] = mapped_column(String(40), default=None)
    kind: Mapped[str] = mapped_column(String(20))  # credit | reserve | charge | refund
    amount_micros: Mapped[int] = mapped_column(BigInteger)
    description: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[int] = mapped_column(Integer)

    __table_args__ = (UniqueConstraint("task_id", "kind", name="uq_ledger_task_kind"),)


def describe_for_postgresql() -> None:
    """Give the partial index its PostgreSQL form, once a PostgreSQL database is in use.

    Naming `postgresql_where` in the model itself would load SQLAlchemy's PostgreSQL dialect and
    all its drivers on import, a twentieth of what importing the API costs, in every process
    that never talks to PostgreSQL.
    """
    table = Base.metadata.tables[Character.__tablename__]
    index = next(i for i in table.indexes if i.name == LIVE_USERNAME_INDEX)
    index.dialect_kwargs["postgresql_where"] = text(LIVE_ONLY)
