"""Parked jobs: a job whose work is done but whose outcome waits for a person (an operator's
decision). A parked job is never claimed, keeps through restarts (nothing hands it back), holds
no worker, and is finished later by a decision or a deadline: exactly once, with its task's
price charged or refunded then.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from troupe.errors import TroupeError
from troupe.jobs.queue import ClaimedJob, complete_task, fail_task
from troupe.jobs.webhooks import enqueue_event
from troupe.store.db import Database
from troupe.store.tables import Job, Task

PARKED = "parked"


@dataclass(frozen=True)
class Parked:
    """What an executor returns instead of a result when the outcome is not its to decide."""

    # Written in the transaction that parks the job (what the decision will need).
    apply: Callable[[Session], None]
    # What the task now waits for, shown as its `waiting_for`.
    waiting_for: str
    # A webhook event to write then (when webhooks are on), e.g. `character.review_requested`.
    event: str | None = None


def park(db: Database, job: ClaimedJob, parked: Parked, *, webhook_events: bool = False) -> bool:
    """Park a running job of this worker's; its task reads `queued` again, with the progress it
    reached. False when the job is no longer ours (its lease ran out and another took it)."""
    with db.transaction() as session:
        owned = session.execute(
            update(Job)
            .where(Job.id == job.id, Job.worker_id == job.worker_id, Job.state == "running")
            .values(
                state=PARKED,
                worker_id=None,
                lease_expires_at=None,
                waiting_for=parked.waiting_for[:200],
            )
        ).rowcount  # type: ignore[attr-defined]
        if not owned:
            return False
        parked.apply(session)
        session.execute(
            update(Task)
            .where(Task.id == job.task_id, Task.status == "in_progress")
            .values(status="queued")
        )
        if webhook_events and parked.event:
            enqueue_event(session, parked.event, job.task_id)
        return True


def finish_parked(
    session: Session,
    task_id: str,
    apply: Callable[[Session], None] | None,
    error: TroupeError | None,
) -> bool:
    """In the caller's transaction: complete the parked job's task (running `apply` first) or,
    with `error`, fail it, then charge or refund it. False when the job is not parked (already
    finished by someone else: another operator, another process's deadline sweep)."""
    taken = session.execute(
        update(Job)
        .where(Job.task_id == task_id, Job.state == PARKED)
        .values(state="done", waiting_for=None)
    ).rowcount  # type: ignore[attr-defined]
    if not taken:
        return False
    if error is None and apply is not None:
        apply(session)
        complete_task(session, task_id)
    else:
        fail_task(session, task_id, error or TroupeError("internal_error", "no result"))
    return True


def parked_notes(session: Session, task_ids: list[str]) -> dict[str, str]:
    """What each parked task among `task_ids` waits for, by task id."""
    if not task_ids:
        return {}
    rows = session.execute(
        select(Job.task_id, Job.waiting_for).where(Job.task_id.in_(task_ids), Job.state == PARKED)
    )
    return {task_id: note or "a decision" for task_id, note in rows}
