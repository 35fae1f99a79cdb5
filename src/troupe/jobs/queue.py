"""The durable job queue: claiming, leasing and settling job rows in the database.

Every state change is a conditional UPDATE checked by its row count, so two workers (threads,
processes or machines sharing one database) never both own a job, and a worker whose lease ran
out cannot settle a job that another worker has taken over.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, UnaryExpression, case, func, or_, select, true, update
from sqlalchemy.orm import Session, aliased

from troupe.billing.ledger import settle_payment
from troupe.errors import TroupeError
from troupe.ids import now_seconds
from troupe.jobs.presence import Serves
from troupe.jobs.webhooks import enqueue_event
from troupe.store.db import Database, notify_jobs
from troupe.store.tables import Job, Task


@dataclass(frozen=True)
class ClaimedJob:
    id: int
    task_id: str
    kind: str
    attempt: int
    worker_id: str


def _claimable(now: float) -> ColumnElement[bool]:
    return or_(
        Job.state == "queued",
        (Job.state == "running") & (Job.lease_expires_at < now),
    )


# Kinds taken first when owners are level: a character takes seconds, a render minutes.
FIRST_KINDS = ("character",)


def _claim_order(now: float) -> tuple[UnaryExpression[Any], ...]:
    """Fair turns, then short jobs, then age: the owner with the fewest live running jobs goes
    first (one owner's 500 queued jobs do not hold back another's one), character jobs before
    renders, and the oldest job of those."""
    other_job, other_task = aliased(Job), aliased(Task)
    running_of_owner = (
        select(func.count())
        .select_from(other_job)
        .join(other_task, other_task.id == other_job.task_id)
        .where(
            other_task.owner == Task.owner,
            other_job.state == "running",
            other_job.lease_expires_at >= now,
        )
        .scalar_subquery()
    )
    short_first = case((Job.kind.in_(FIRST_KINDS), 0), else_=1)
    return running_of_owner.asc(), short_first.asc(), Job.id.asc()


def _served(serves: Serves | None) -> ColumnElement[bool]:
    """Jobs a worker serving `serves` may take (None: any)."""
    if serves is None:
        return true()
    return Job.kind.in_(serves.kinds) & or_(Job.backend.is_(None), Job.backend.in_(serves.backends))


def claim_next(
    db: Database,
    worker_id: str,
    lease_seconds: float,
    max_attempts: int,
    *,
    serves: Serves | None = None,
    webhook_events: bool = False,
    given_up: Callable[[str], None] | None = None,
) -> ClaimedJob | None:
    """Take the next claimable job in `_claim_order` among those `serves` covers, or None. Jobs
    out of attempts are failed on the way.

    With `webhook_events`, failing one also writes its `<kind>.failed` event to the outbox;
    `given_up` is told each such task id once that failure is committed.
    """
    failed: list[str] = []
    try:
        return _claim_next(
            db, worker_id, lease_seconds, max_attempts, _served(serves), webhook_events, failed
        )
    finally:
        for task_id in failed:
            if given_up is not None:
                given_up(task_id)


def _claim_next(
    db: Database,
    worker_id: str,
    lease_seconds: float,
    max_attempts: int,
    served: ColumnElement[bool],
    webhook_events: bool,
    failed: list[str],
) -> ClaimedJob | None:
    while True:
        now = time.time()
        with db.transaction() as session:
            candidate = session.scalar(
                select(Job)
                .join(Task, Task.id == Job.task_id)
                .where(_claimable(now), served)
                .order_by(*_claim_order(now))
                .limit(1)
                # PostgreSQL: a row another claimer holds is passed over, not waited for.
                # SQLite has one writer at a time and no row locks; it renders no clause.
                .with_for_update(of=Job, skip_locked=True)
            )
            if candidate is None:
                return None
            attempt = candidate.attempts + 1
            if candidate.attempts >= max_attempts:
                if _give_up(session, candidate, now, webhook_events):
                    failed.append(candidate.task_id)
                continue
            taken = session.execute(
                update(Job)
                .where(Job.id == candidate.id, _claimable(now))
                .values(
                    state="running",
                    worker_id=worker_id,
                    attempts=Job.attempts + 1,
                    lease_expires_at=now + lease_seconds,
                )
            ).rowcount  # type: ignore[attr-defined]
            if not taken:
                continue  # another worker won the race; look again
            # A job taken over starts again from nothing: the dead attempt's progress is stale.
            session.execute(
                update(Task)
                .where(Task.id == candidate.task_id, Task.status.in_(("queued", "in_progress")))
                .values(status="in_progress", progress=0)
            )
            return ClaimedJob(
                id=candidate.id,
                task_id=candidate.task_id,
                kind=candidate.kind,
                attempt=attempt,
                worker_id=worker_id,
            )


def _give_up(session: Session, job: Job, now: float, webhook_events: bool) -> bool:
    """A job whose every attempt died with its worker fails instead of looping forever; False
    when another worker got to it first."""
    taken = session.execute(
        update(Job).where(Job.id == job.id, _claimable(now)).values(state="done", worker_id=None)
    ).rowcount  # type: ignore[attr-defined]
    if taken:
        fail_task(
            session,
            job.task_id,
            TroupeError(
                "internal_error",
                f"the job was interrupted {job.attempts} times and was given up",
            ),
        )
        if webhook_events:
            enqueue_event(session, f"{job.kind}.failed", job.task_id)
    return bool(taken)


def next_lease_expiry(db: Database) -> float | None:
    """When the earliest running job's lease runs out (its worker may be dead), or None."""
    with db.transaction() as session:
        return session.scalar(select(func.min(Job.lease_expires_at)).where(Job.state == "running"))


def renew_leases(db: Database, worker_id: str, job_ids: list[int], lease_seconds: float) -> None:
    if not job_ids:
        return
    with db.transaction() as session:
        session.execute(
            update(Job)
            .where(Job.id.in_(job_ids), Job.worker_id == worker_id, Job.state == "running")
            .values(lease_expires_at=time.time() + lease_seconds)
        )


def release_running_jobs(db: Database) -> int:
    """Expire every lease at once. Only safe when this process alone uses the database."""
    with db.transaction() as session:
        return session.execute(
            update(Job).where(Job.state == "running").values(lease_expires_at=0.0)
        ).rowcount  # type: ignore[attr-defined]


def hand_back(db: Database, worker_id: str, job_ids: list[int]) -> int:
    """Requeue this worker's running jobs on a clean shutdown; the interrupted attempt is not
    counted against the job, since nothing went wrong with it."""
    with db.transaction() as session:
        mine = (Job.id.in_(job_ids), Job.worker_id == worker_id, Job.state == "running")
        task_ids = list(session.scalars(select(Job.task_id).where(*mine)))
        handed = session.execute(
            update(Job)
            .where(*mine)
            .values(
                state="queued",
                worker_id=None,
                lease_expires_at=None,
                attempts=Job.attempts - 1,
            )
        ).rowcount  # type: ignore[attr-defined]
        session.execute(
            update(Task)
            .where(Task.id.in_(task_ids), Task.status == "in_progress")
            .values(status="queued", progress=0)
        )
        if handed:
            notify_jobs(session)
        return int(handed)


def settle(
    db: Database,
    job: ClaimedJob,
    apply: Callable[[Session], None] | None,
    error: TroupeError | None,
    *,
    webhook_events: bool = False,
) -> bool:
    """Finish a job and its task in one transaction; False when the job is no longer ours.

    With `webhook_events`, the same transaction writes the `<kind>.completed` or `<kind>.failed`
    event to the outbox, so an event is sent exactly for the outcome that was recorded.
    """
    with db.transaction() as session:
        owned = session.execute(
            update(Job)
            .where(Job.id == job.id, Job.worker_id == job.worker_id, Job.state == "running")
            .values(state="done", lease_expires_at=None)
        ).rowcount  # type: ignore[attr-defined]
        if not owned:
            return False
        if error is None and apply is not None:
            apply(session)
            complete_task(session, job.task_id)
            outcome = "completed"
        else:
            fail_task(session, job.task_id, error or TroupeError("internal_error", "no result"))
            outcome = "failed"
        if webhook_events:
            # The job's kind is its task's kind ("character", "video"); the task id is the
            # object clients know (a video's id is its task's id).
            enqueue_event(session, f"{job.kind}.{outcome}", job.task_id)
        return True


def complete_task(session: Session, task_id: str) -> None:
    """Complete the task and charge what it reserved, in the caller's transaction."""
    session.execute(
        update(Task)
        .where(Task.id == task_id)
        .values(status="completed", progress=100, completed_at=now_seconds())
    )
    settle_payment(session, task_id, succeeded=True)


def fail_task(session: Session, task_id: str, error: TroupeError) -> None:
    """Fail the task and refund what it reserved, in the caller's transaction."""
    session.execute(
        update(Task)
        .where(Task.id == task_id)
        .values(
            status="failed",
            error_code=error.code,
            error_message=error.message,
            error_param=error.param,
            completed_at=now_seconds(),
        )
    )
    settle_payment(session, task_id, succeeded=False)
