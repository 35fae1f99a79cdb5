"""Letting a job into the queue: the owner's concurrent-job limit, then its price reserved,
both in the transaction that writes the task, under a lock on the owner."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from troupe.billing.ledger import Price, PriceList, reserve
from troupe.errors import TroupeError
from troupe.jobs.parking import PARKED
from troupe.store.db import lock_owner
from troupe.store.tables import Job, Task

# A full queue drains at about a job a second or two; ask clients to come back after this.
BUSY_RETRY_SECONDS = 5


@dataclass(frozen=True)
class Admission:
    prices: PriceList
    max_concurrent_jobs: int  # 0: no limit

    def admit(self, session: Session, owner: str, task_id: str, price: Price) -> None:
        # Held to the commit that inserts the task: submissions racing for the last free place
        # count one after another, not all before any of them writes.
        lock_owner(session, owner)
        self.check_concurrency(session, owner)
        reserve(session, owner, task_id, price)

    def check_concurrency(self, session: Session, owner: str) -> None:
        """Queued and running jobs count; a parked one (waiting for a person) holds no worker
        and does not, though its price stays reserved."""
        if not self.max_concurrent_jobs:
            return
        active = session.scalar(
            select(func.count())
            .select_from(Task)
            .join(Job, Job.task_id == Task.id)
            .where(
                Task.owner == owner,
                Task.status.in_(("queued", "in_progress")),
                Job.state != PARKED,
            )
        )
        if active is not None and active >= self.max_concurrent_jobs:
            raise TroupeError(
                "rate_limit_exceeded",
                f"{active} of your jobs are queued or running; at most "
                f"{self.max_concurrent_jobs} may be at once",
                headers={"Retry-After": str(BUSY_RETRY_SECONDS)},
            )
