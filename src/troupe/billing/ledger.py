"""The billing ledger: a job's price is reserved when it is queued and then charged on success
or refunded on failure, each exactly once, inside the transactions that change the job."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from troupe.errors import TroupeError
from troupe.ids import now_seconds
from troupe.store.tables import Account, LedgerEntry

MICROS_PER_DOLLAR = 1_000_000


def to_micros(dollars: float) -> int:
    return round(dollars * MICROS_PER_DOLLAR)


def to_dollars(micros: int) -> float:
    return micros / MICROS_PER_DOLLAR


@dataclass(frozen=True)
class Price:
    amount_micros: int
    description: str


@dataclass(frozen=True)
class PriceList:
    """What each job costs: a character creation, and a second of video for each model."""

    character: float
    per_second: dict[str, float]

    def for_character(self) -> Price:
        return Price(to_micros(self.character), "character creation")

    def for_video(self, model: str, seconds: int, inline_character: bool) -> Price:
        amount = to_micros(self.per_second.get(model, 0.0) * seconds)
        description = f"{seconds}s of {model} video"
        if inline_character:
            amount += to_micros(self.character)
            description += " with a character creation"
        return Price(amount, description)


def reserve(session: Session, owner: str, task_id: str, price: Price) -> None:
    """Hold the price of a job being queued; `quota_exceeded` when a funded owner cannot pay.

    Owners without an account are not limited by money, but their jobs are still on the ledger.
    """
    account = session.scalar(select(Account).where(Account.owner == owner).with_for_update())
    if account is not None:
        if account.balance_micros < price.amount_micros:
            raise TroupeError(
                "quota_exceeded",
                f"this job costs ${to_dollars(price.amount_micros):.2f} and the balance is "
                f"${to_dollars(account.balance_micros):.2f}",
            )
        account.balance_micros -= price.amount_micros
        account.updated_at = now_seconds()
    _add(session, owner, task_id, "reserve", price.amount_micros, price.description)


def settle_payment(session: Session, task_id: str, succeeded: bool) -> None:
    """Turn a job's reservation into a charge or a refund, once; a job without one is free."""
    entries = {
        entry.kind: entry
        for entry in session.scalars(select(LedgerEntry).where(LedgerEntry.task_id == task_id))
    }
    held = entries.get("reserve")
    if held is None or "charge" in entries or "refund" in entries:
        return
    if succeeded:
        _add(session, held.owner, task_id, "charge", held.amount_micros, held.description)
        return
    account = session.scalar(select(Account).where(Account.owner == held.owner).with_for_update())
    if account is not None:
        account.balance_micros += held.amount_micros
        account.updated_at = now_seconds()
    _add(session, held.owner, task_id, "refund", held.amount_micros, held.description)


def add_credit(session: Session, owner: str, dollars: float) -> Account:
    """Fund an owner (creating its account); from then on its jobs need a balance."""
    amount = to_micros(dollars)
    account = session.scalar(select(Account).where(Account.owner == owner).with_for_update())
    if account is None:
        account = Account(owner=owner, balance_micros=0, updated_at=now_seconds())
        session.add(account)
    account.balance_micros += amount
    account.updated_at = now_seconds()
    _add(session, owner, None, "credit", amount, "credit added")
    return account


def _add(
    session: Session, owner: str, task_id: str | None, kind: str, amount: int, description: str
) -> None:
    session.add(
        LedgerEntry(
            owner=owner,
            task_id=task_id,
            kind=kind,
            amount_micros=amount,
            description=description,
            created_at=now_seconds(),
        )
    )
    # Flushed now, so a second entry of one kind for one job fails here, inside the transaction.
    session.flush()
