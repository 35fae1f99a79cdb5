"""The queue's PostgreSQL mode on a real server: claims pass over rows another claimer has
locked (SKIP LOCKED) instead of waiting for them, and an idle worker is woken by LISTEN/NOTIFY
the moment another process queues a job, with no polling sleep in between."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from troupe.jobs import queue
from troupe.jobs.worker import Worker, WorkerConfig
from troupe.store import repo
from troupe.store.db import Database, upgrade_database
from troupe.store.tables import Job


@pytest.fixture
def pg(postgres_url: str) -> Iterator[Callable[[], Database]]:
    """Connections to one fresh PostgreSQL database, as separate processes would have."""
    upgrade_database(postgres_url)
    opened: list[Database] = []

    def connect() -> Database:
        opened.append(Database(postgres_url))
        return opened[-1]

    yield connect
    for database in opened:
        database.dispose()


def enqueue(db: Database, *task_ids: str) -> None:
    with db.transaction() as session:
        for task_id in task_ids:
            repo.create_task(
                session, task_id=task_id, owner="o", kind="character", model="m", request={}
            )


def test_a_claim_passes_over_a_row_another_transaction_has_locked(
    pg: Callable[[], Database],
) -> None:
    holder, claimer = pg(), pg()
    enqueue(holder, "task_locked", "task_free")
    claimed: list[str | None] = []
    with holder.transaction() as session:
        session.scalar(select(Job).order_by(Job.id).limit(1).with_for_update())

        def claim() -> None:
            job = queue.claim_next(claimer, "w", lease_seconds=30, max_attempts=3)
            claimed.append(job.task_id if job else None)

        thread = threading.Thread(target=claim)
        thread.start()
        thread.join(10)
        # Without SKIP LOCKED the claim would wait for this transaction to end.
        assert not thread.is_alive(), "the claim waited for the locked row"
    assert claimed == ["task_free"]


def test_an_idle_worker_is_woken_by_a_job_queued_in_another_process(
    pg: Callable[[], Database],
) -> None:
    ran = threading.Event()

    def executor(
        job: queue.ClaimedJob, progress: Callable[[int], None]
    ) -> Callable[[Session], None]:
        ran.set()
        return lambda session: None

    # It would sleep a minute between polls; only a notification can wake it sooner.
    config = WorkerConfig(threads=1, lease_seconds=60, max_attempts=3, idle_poll_seconds=60)
    worker = Worker(pg(), {"character": executor}, config)
    worker.start()
    try:
        time.sleep(1.0)  # idle and listening
        began = time.monotonic()
        enqueue(pg(), "task_from_elsewhere")
        assert ran.wait(10), "the worker was not woken"
        assert time.monotonic() - began < 5
    finally:
        worker.stop(5)
