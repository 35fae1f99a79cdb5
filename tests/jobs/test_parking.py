"""Parked jobs on real SQLite and PostgreSQL: never claimed, kept through restarts and hand-backs,
out of the concurrency count, and finished (charged or refunded) exactly once."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from troupe.billing.ledger import Price, PriceList, add_credit, reserve
from troupe.errors import TroupeError
from troupe.jobs import parking, queue
from troupe.jobs.admission import Admission
from troupe.jobs.parking import Parked
from troupe.store import repo
from troupe.store.db import Database
from troupe.store.tables import Account, Job, LedgerEntry, WebhookEvent

PRICE = Price(10_000, "character creation")


def add_paid_task(db: Database, task_id: str, owner: str = "o") -> None:
    with db.transaction() as session:
        reserve(session, owner, task_id, PRICE)
        repo.create_task(
            session, task_id=task_id, owner=owner, kind="character", model="m", request={}
        )


def park_next(db: Database, note: str = "a person's decision") -> str:
    job = queue.claim_next(db, "w", lease_seconds=30, max_attempts=3)
    assert job is not None
    with db.transaction() as session:
        repo.set_task_progress(session, job.task_id, 95)
    written: list[str] = []
    parked = Parked(apply=lambda session: written.append("applied"), waiting_for=note, event="x.y")
    assert parking.park(db, job, parked, webhook_events=True)
    assert written == ["applied"]
    return job.task_id


def state_of(db: Database, task_id: str) -> tuple[str, str, int]:
    with db.transaction() as session:
        task = repo.get_task_by_id(session, task_id)
        job = session.scalar(select(Job).where(Job.task_id == task_id))
        assert task is not None and job is not None
        return task.status, job.state, task.progress


def ledger(db: Database, task_id: str) -> list[str]:
    with db.transaction() as session:
        query = select(LedgerEntry.kind).where(LedgerEntry.task_id == task_id)
        return sorted(session.scalars(query))


def test_a_parked_job_waits_unclaimed_through_restarts(db: Database) -> None:
    add_paid_task(db, "task_a")
    task_id = park_next(db, "review by an operator")
    assert state_of(db, task_id) == ("queued", "parked", 95)
    with db.transaction() as session:
        assert parking.parked_notes(session, [task_id, "task_x"]) == {
            task_id: "review by an operator"
        }
        events = list(session.scalars(select(WebhookEvent.type)))
    assert events == ["x.y"]
    # A restart takes back running jobs, a shutdown hands its own back: neither touches it.
    queue.release_running_jobs(db)
    queue.hand_back(db, "w", [1, 2, 3])
    assert queue.claim_next(db, "w2", lease_seconds=30, max_attempts=3) is None
    assert state_of(db, task_id) == ("queued", "parked", 95)
    assert ledger(db, task_id) == ["reserve"]


def test_only_the_worker_that_holds_the_job_may_park_it(db: Database) -> None:
    add_paid_task(db, "task_a")
    job = queue.claim_next(db, "w", lease_seconds=30, max_attempts=3)
    assert job is not None
    assert queue.settle(db, job, lambda session: None, None)
    parked = Parked(apply=lambda session: None, waiting_for="x")
    assert not parking.park(db, job, parked)
    assert state_of(db, "task_a")[:2] == ("completed", "done")


def test_finishing_completes_and_charges_once(db: Database) -> None:
    add_paid_task(db, "task_a")
    task_id = park_next(db)
    applied: list[Session] = []
    with db.transaction() as session:
        assert parking.finish_parked(session, task_id, applied.append, None)
    with db.transaction() as session:
        assert not parking.finish_parked(session, task_id, applied.append, None)
        assert not parking.finish_parked(session, task_id, None, TroupeError("internal_error", "x"))
    assert len(applied) == 1
    assert state_of(db, task_id) == ("completed", "done", 100)
    assert ledger(db, task_id) == ["charge", "reserve"]


def test_failing_refunds_once_even_when_deciders_race(db: Database) -> None:
    with db.transaction() as session:
        add_credit(session, "o", 1.0)
    add_paid_task(db, "task_a")
    task_id = park_next(db)
    outcomes: list[bool] = []
    barrier = threading.Barrier(6)

    def decide() -> None:
        barrier.wait()
        with db.transaction() as session:
            error = TroupeError("human_likeness_detected", "a real person")
            outcomes.append(parking.finish_parked(session, task_id, None, error))

    threads = [threading.Thread(target=decide) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == [False] * 5 + [True]
    with db.transaction() as session:
        task = repo.get_task_by_id(session, task_id)
        balance = session.scalar(select(Account.balance_micros).where(Account.owner == "o"))
    assert task is not None and (task.status, task.error_code) == (
        "failed",
        "human_likeness_detected",
    )
    assert ledger(db, task_id) == ["refund", "reserve"]
    assert balance == 1_000_000, "the whole reservation came back, once"


def test_parked_jobs_do_not_count_against_the_concurrency_limit(db: Database) -> None:
    admission = Admission(prices=PriceList(0.01, {}), max_concurrent_jobs=1)
    add_paid_task(db, "task_a")
    park_next(db)
    with db.transaction() as session:
        admission.check_concurrency(session, "o")  # the parked one holds no worker
        repo.create_task(
            session, task_id="task_b", owner="o", kind="character", model="m", request={}
        )
    with pytest.raises(TroupeError) as caught, db.transaction() as session:
        admission.check_concurrency(session, "o")
    assert caught.value.code == "rate_limit_exceeded"
