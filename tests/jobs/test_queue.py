"""The queue's guarantees on real SQLite and PostgreSQL databases: one owner per job, leases,
attempts."""

from __future__ import annotations

import threading
import time

import pytest

from troupe.errors import TroupeError
from troupe.jobs import queue
from troupe.jobs.presence import Serves
from troupe.store import repo
from troupe.store.db import Database


def add_tasks(db: Database, count: int) -> list[str]:
    ids = [f"task_{index}" for index in range(count)]
    with db.transaction() as session:
        for task_id in ids:
            repo.create_task(
                session, task_id=task_id, owner="o", kind="character", model="m", request={}
            )
    return ids


def task_status(db: Database, task_id: str) -> tuple[str, str | None]:
    with db.transaction() as session:
        task = repo.get_task_by_id(session, task_id)
        assert task is not None
        return task.status, task.error_code


def test_each_job_is_claimed_exactly_once_under_contention(db: Database) -> None:
    add_tasks(db, 100)
    claimed: list[str] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def drain(worker: str) -> None:
        try:
            while job := queue.claim_next(db, worker, lease_seconds=30, max_attempts=3):
                with lock:
                    claimed.append(job.task_id)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=drain, args=(f"w{index}",)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(claimed) == sorted(f"task_{index}" for index in range(100))
    assert {task_status(db, task_id)[0] for task_id in claimed} == {"in_progress"}


def test_expired_lease_is_claimed_again_and_old_owner_cannot_settle(db: Database) -> None:
    [task_id] = add_tasks(db, 1)
    first = queue.claim_next(db, "dead", lease_seconds=0.2, max_attempts=3)
    assert first is not None and first.attempt == 1
    assert task_status(db, task_id) == ("in_progress", None)
    assert queue.claim_next(db, "other", lease_seconds=30, max_attempts=3) is None
    time.sleep(0.3)
    with db.transaction() as session:
        repo.set_task_progress(session, task_id, 80)
    second = queue.claim_next(db, "alive", lease_seconds=30, max_attempts=3)
    assert second is not None and second.attempt == 2
    assert task_progress(db, task_id) == 0, "a job taken over starts from 0 again"
    assert not queue.settle(db, first, lambda session: None, None), "the dead owner lost the job"
    assert queue.settle(db, second, lambda session: None, None)
    assert task_status(db, task_id) == ("completed", None)


def test_renewed_lease_keeps_the_job(db: Database) -> None:
    add_tasks(db, 1)
    job = queue.claim_next(db, "w", lease_seconds=0.5, max_attempts=3)
    assert job is not None
    for _ in range(3):
        time.sleep(0.25)
        queue.renew_leases(db, "w", [job.id], lease_seconds=0.5)
    assert queue.claim_next(db, "thief", lease_seconds=30, max_attempts=3) is None


def test_job_out_of_attempts_fails_with_internal_error(db: Database) -> None:
    [task_id] = add_tasks(db, 1)
    for _ in range(2):
        assert queue.claim_next(db, "crashy", lease_seconds=0.05, max_attempts=2) is not None
        time.sleep(0.1)
    assert queue.claim_next(db, "next", lease_seconds=30, max_attempts=2) is None
    assert task_status(db, task_id) == ("failed", "internal_error")


def test_failure_is_recorded_with_its_code(db: Database) -> None:
    [task_id] = add_tasks(db, 1)
    job = queue.claim_next(db, "w", lease_seconds=30, max_attempts=3)
    assert job is not None
    assert queue.settle(db, job, None, TroupeError("no_subject_found", "nothing there"))
    assert task_status(db, task_id) == ("failed", "no_subject_found")


def task_progress(db: Database, task_id: str) -> int:
    with db.transaction() as session:
        task = repo.get_task_by_id(session, task_id)
        assert task is not None
        return task.progress


def test_release_running_jobs_makes_them_claimable_at_once(db: Database) -> None:
    [task_id] = add_tasks(db, 1)
    assert queue.claim_next(db, "dead", lease_seconds=3600, max_attempts=3) is not None
    with db.transaction() as session:
        repo.set_task_progress(session, task_id, 57)
    assert queue.release_running_jobs(db) == 1
    assert queue.claim_next(db, "new", lease_seconds=30, max_attempts=3) is not None
    assert task_progress(db, task_id) == 0, "the dead attempt's progress is not shown again"


def test_task_and_job_are_written_together(db: Database) -> None:
    with pytest.raises(RuntimeError), db.transaction() as session:
        repo.create_task(session, task_id="task_x", owner="o", kind="k", model="m", request={})
        raise RuntimeError("the request failed after the insert")
    assert queue.claim_next(db, "w", lease_seconds=30, max_attempts=3) is None


def add_owned(db: Database, owner: str, kind: str, count: int, start: int) -> list[str]:
    ids = [f"task_{owner}_{kind}_{start + index}" for index in range(count)]
    with db.transaction() as session:
        for task_id in ids:
            repo.create_task(
                session, task_id=task_id, owner=owner, kind=kind, model="m", request={}
            )
    return ids


def test_owners_take_turns_and_characters_go_before_renders(db: Database) -> None:
    """One owner's queue of renders does not hold back another owner's job, and a character
    job (seconds) is taken before a render (minutes) when owners are level."""
    flood = add_owned(db, "busy", "video", 5, 0)
    quick = add_owned(db, "busy", "character", 1, 5)
    lone = add_owned(db, "other", "video", 1, 0)

    def claim() -> str:
        job = queue.claim_next(db, "w", lease_seconds=30, max_attempts=3)
        assert job is not None
        return job.task_id

    # Both owners run nothing: the character goes first, though four renders are older.
    assert claim() == quick[0]
    # "busy" now runs one job and "other" none: the other owner's render is next.
    assert claim() == lone[0]
    # Level again (one running each): "busy"'s renders in age order.
    assert [claim() for _ in range(5)] == flood
    assert queue.claim_next(db, "w", lease_seconds=30, max_attempts=3) is None


def test_a_worker_claims_only_the_kinds_and_back_ends_it_serves(db: Database) -> None:
    with db.transaction() as session:
        for task_id, kind, backend in [
            ("task_drawn", "video", "animatic"),
            ("task_character", "character", None),
            ("task_generated", "video", "wan-vace"),
        ]:
            repo.create_task(
                session,
                task_id=task_id,
                owner="o",
                kind=kind,
                model="m",
                request={},
                backend=backend,
            )

    def claim_all(serves: Serves) -> list[str]:
        claimed = []
        while job := queue.claim_next(db, "w", lease_seconds=30, max_attempts=3, serves=serves):
            claimed.append(job.task_id)
        return claimed

    # A GPU worker: renders with wan-vace only, never an animatic job nor a character.
    assert claim_all(Serves(kinds=("video",), backends=("wan-vace",))) == ["task_generated"]
    assert claim_all(Serves(kinds=("character", "video"), backends=("animatic",))) == [
        "task_character",
        "task_drawn",
    ]
