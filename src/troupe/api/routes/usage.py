"""`GET /v1/usage`: the caller's balance and billing ledger."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from troupe.api.routes.characters import ERRORS, Owner
from troupe.api.schemas import LedgerEntryObject, UsageObject
from troupe.api.services import services_of
from troupe.billing.ledger import to_dollars
from troupe.billing.usage import read_usage

router = APIRouter()


@router.get("/v1/usage", response_model=UsageObject, responses=ERRORS)
def get_usage(
    request: Request,
    owner: Owner,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    # Ids are SQL BIGINTs: a larger number names no entry, and the driver cannot bind it.
    before: Annotated[
        int | None, Query(ge=1, le=2**63 - 1, description="Entries older than this entry id")
    ] = None,
) -> UsageObject:
    with services_of(request).db.snapshot() as session:
        usage = read_usage(session, owner, limit, before)
        entries = [
            LedgerEntryObject(
                id=entry.id,
                kind=entry.kind,  # type: ignore[arg-type]
                amount=to_dollars(entry.amount_micros),
                task_id=entry.task_id,
                description=entry.description,
                created_at=entry.created_at,
            )
            for entry in usage.entries
        ]
    totals = usage.totals_micros
    return UsageObject(
        balance=None if usage.balance_micros is None else to_dollars(usage.balance_micros),
        held=to_dollars(usage.held_micros),
        charged=to_dollars(totals["charge"]),
        refunded=to_dollars(totals["refund"]),
        credited=to_dollars(totals["credit"]),
        data=entries,
        has_more=usage.has_more,
    )
