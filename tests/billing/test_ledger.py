"""The ledger on a real database: reserve once, then charge or refund once, never both."""

from __future__ import annotations

import itertools
import threading

import pytest
from sqlalchemy import select

from troupe.billing.ledger import Price, PriceList, add_credit, reserve, settle_payment, to_micros
from troupe.billing.usage import read_usage
from troupe.errors import TroupeError
from troupe.store.db import Database
from troupe.store.tables import LedgerEntry

PRICE = Price(to_micros(0.01), "character creation")


def kinds(db: Database, task_id: str) -> list[str]:
    with db.transaction() as session:
        query = select(LedgerEntry.kind).where(LedgerEntry.task_id == task_id)
        return sorted(session.scalars(query))


def test_prices_per_job() -> None:
    prices = PriceList(character=0.01, per_second={"sora-2": 0.1})
    assert prices.for_character().amount_micros == 10_000
    assert prices.for_video("sora-2", 8, inline_character=False).amount_micros == 800_000
    assert prices.for_video("sora-2", 4, inline_character=True).amount_micros == 410_000
    assert prices.for_video("other", 4, inline_character=False).amount_micros == 0


def test_success_is_charged_once(db: Database) -> None:
    with db.transaction() as session:
        add_credit(session, "alice", 1.0)
        reserve(session, "alice", "task_1", PRICE)
    for _ in range(2):  # a second settlement (a retry, a replay) changes nothing
        with db.transaction() as session:
            settle_payment(session, "task_1", succeeded=True)
    assert kinds(db, "task_1") == ["charge", "reserve"]
    with db.transaction() as session:
        usage = read_usage(session, "alice", 10, None)
    assert usage.balance_micros == to_micros(0.99)
    assert usage.held_micros == 0 and usage.totals_micros["charge"] == PRICE.amount_micros


def test_failure_is_refunded_once_and_never_also_charged(db: Database) -> None:
    with db.transaction() as session:
        add_credit(session, "bob", 0.01)
        reserve(session, "bob", "task_2", PRICE)
    for succeeded in (False, False, True):
        with db.transaction() as session:
            settle_payment(session, "task_2", succeeded=succeeded)
    assert kinds(db, "task_2") == ["refund", "reserve"]
    with db.transaction() as session:
        assert read_usage(session, "bob", 10, None).balance_micros == to_micros(0.01)


def test_a_balance_that_cannot_pay_is_quota_exceeded(db: Database) -> None:
    with db.transaction() as session:
        add_credit(session, "carol", 0.005)
    with pytest.raises(TroupeError) as caught, db.transaction() as session:
        reserve(session, "carol", "task_3", PRICE)
    assert caught.value.code == "quota_exceeded" and caught.value.status == 402
    assert kinds(db, "task_3") == []


def test_an_owner_without_an_account_is_not_limited_but_recorded(db: Database) -> None:
    with db.transaction() as session:
        reserve(session, "dave", "task_4", PRICE)
        settle_payment(session, "task_4", succeeded=True)
    with db.transaction() as session:
        usage = read_usage(session, "dave", 10, None)
    assert usage.balance_micros is None
    assert [entry.kind for entry in usage.entries] == ["charge", "reserve"]


def test_one_reservation_per_job(db: Database) -> None:
    with db.transaction() as session:
        reserve(session, "erin", "task_5", PRICE)
    with pytest.raises(Exception), db.transaction() as session:  # noqa: B017 (the driver's)
        reserve(session, "erin", "task_5", PRICE)
    assert kinds(db, "task_5") == ["reserve"]


def test_usage_is_read_at_one_moment_while_jobs_settle(db: Database) -> None:
    """The totals and the page come from one view of the ledger: a job settling between the two
    reads once showed its refund in the page while its reservation was still counted as held."""
    settled = threading.Event()

    def settle_jobs() -> None:
        for number in itertools.count():
            if settled.is_set():
                return
            with db.transaction() as session:
                reserve(session, "frank", f"task_f{number}", PRICE)
            with db.transaction() as session:
                settle_payment(session, f"task_f{number}", succeeded=False)

    worker = threading.Thread(target=settle_jobs)
    worker.start()
    try:
        for _ in range(300):
            with db.snapshot() as session:
                usage = read_usage(session, "frank", 5, None)
            newest = usage.entries[0].kind if usage.entries else "refund"
            assert usage.held_micros == (PRICE.amount_micros if newest == "reserve" else 0)
    finally:
        settled.set()
        worker.join()
