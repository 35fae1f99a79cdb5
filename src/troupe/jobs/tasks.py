"""Tasks seen from the jobs that run them: a job's stored request, and waiting for a task to
settle (or to park, waiting for a person)."""

from __future__ import annotations

import time
from typing import Any

from troupe.errors import TroupeError
from troupe.jobs.parking import parked_notes
from troupe.jobs.queue import ClaimedJob
from troupe.jobs.worker import Worker
from troupe.store import repo
from troupe.store.db import Database
from troupe.store.tables import Task

TERMINAL_STATUSES = ("completed", "failed")


def task_request(db: Database, job: ClaimedJob) -> tuple[str, dict[str, Any]]:
    """The owner and the stored request of a claimed job's task."""
    with db.transaction() as session:
        task = repo.get_task_by_id(session, job.task_id)
        if task is None:
            raise TroupeError("task_not_found", f"task {job.task_id} vanished")
        return task.owner, dict(task.request)


def wait_for_task(db: Database, worker: Worker, task: Task, timeout: float) -> Task:
    """The task once it has settled or parked (a person decides the rest, which may take
    days), or as it stands when `timeout` runs out."""
    deadline = time.monotonic() + timeout
    while True:
        with db.transaction() as session:
            current = repo.get_task_by_id(session, task.id)
            assert current is not None
            parked = current.status == "queued" and bool(parked_notes(session, [task.id]))
        remaining = deadline - time.monotonic()
        if current.status in TERMINAL_STATUSES or parked or remaining <= 0:
            return current
        # Jobs may settle in another process, so re-read the database at least every 0.25 s.
        worker.wait_settled(min(0.25, remaining))
