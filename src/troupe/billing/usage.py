"""Reading the ledger back: an owner's balance, totals by kind, and its latest entries."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from troupe.store.tables import Account, LedgerEntry


@dataclass(frozen=True)
class Usage:
    balance_micros: int | None  # None: the owner has no account, so money never limits it
    totals_micros: dict[str, int]  # credit, reserve, charge, refund
    entries: list[LedgerEntry]
    has_more: bool

    @property
    def held_micros(self) -> int:
        """Reserved for jobs that have not finished yet."""
        totals = self.totals_micros
        return totals["reserve"] - totals["charge"] - totals["refund"]


def read_usage(session: Session, owner: str, limit: int, before: int | None) -> Usage:
    """Totals over all time and a page of entries, newest first, older than entry `before`."""
    account = session.get(Account, owner)
    sums = session.execute(
        select(LedgerEntry.kind, func.sum(LedgerEntry.amount_micros))
        .where(LedgerEntry.owner == owner)
        .group_by(LedgerEntry.kind)
    ).all()
    totals = {kind: 0 for kind in ("credit", "reserve", "charge", "refund")}
    totals.update({kind: int(amount or 0) for kind, amount in sums})
    query = select(LedgerEntry).where(LedgerEntry.owner == owner)
    if before is not None:
        query = query.where(LedgerEntry.id < before)
    rows = list(session.scalars(query.order_by(LedgerEntry.id.desc()).limit(limit + 1)))
    return Usage(
        balance_micros=account.balance_micros if account else None,
        totals_micros=totals,
        entries=rows[:limit],
        has_more=len(rows) > limit,
    )
