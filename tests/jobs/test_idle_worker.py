"""An idle worker on either database: it claims a job another process queued within moments,
while nothing is committed it asks the database for no jobs at all, and it stops at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import event

from troupe.jobs import queue
from troupe.jobs.worker import Worker, WorkerConfig
from troupe.store import repo
from troupe.store.db import Database


def enqueue(db: Database, task_id: str) -> None:
    with db.transaction() as session:
        repo.create_task(
            session, task_id=task_id, owner="o", kind="character", model="m", request={}
        )


@pytest.fixture
def claims(db: Database) -> Iterator[list[float]]:
    """When each statement that reads the jobs table ran on `db`'s connections."""
    seen: list[float] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "FROM jobs" in statement:
            seen.append(time.monotonic())

    event.listen(db.engine, "before_cursor_execute", record)
    yield seen
    event.remove(db.engine, "before_cursor_execute", record)


def test_an_idle_worker_reads_no_jobs_until_something_is_committed(
    db: Database, claims: list[float]
) -> None:
    ran = threading.Event()

    def executor(job: queue.ClaimedJob, progress: Callable[[int], None]) -> Callable[..., None]:
        ran.set()
        return lambda session: None

    # Three threads, as a server has, each of which used to claim every idle_poll_seconds.
    config = WorkerConfig(threads=3, lease_seconds=60, max_attempts=3, idle_poll_seconds=0.05)
    worker = Worker(db, {"character": executor}, config)
    worker.start()
    try:
        time.sleep(1.0)  # the start's own claims and wake-ups are over
        quiet_from = time.monotonic()
        time.sleep(1.5)
        assert [at for at in claims if at >= quiet_from] == []
        # Queued through another connection, as another process would, with no notice given
        # to this worker: only the database can tell it.
        elsewhere = Database(db.url)
        try:
            began = time.monotonic()
            enqueue(elsewhere, "task_from_elsewhere")
            assert ran.wait(10), "the worker never claimed the job"
            assert time.monotonic() - began < 5
        finally:
            elsewhere.dispose()
    finally:
        worker.stop(5)
    # Stopped, no thread sleeps on: a wake-up one thread took could hide the stop from another,
    # which then slept for the whole lease.
    assert [t.name for t in threading.enumerate() if t.name.startswith("troupe-worker")] == []
