"""Idempotency records: a POST's key is claimed before the request runs, then holds its answer
for the retries that follow."""

from __future__ import annotations

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError

from troupe.ids import now_seconds
from troupe.store.db import Database
from troupe.store.tables import IdempotencyRecord

# Past this a key may be used again for a new request (Stripe keeps keys for 24 hours).
KEY_LIFETIME_SECONDS = 24 * 60 * 60
# No request runs this long (synchronous waits end after TROUPE_SYNC_WAIT_SECONDS): a claim
# this old belongs to a server that died mid-request, and retries may run again.
CLAIM_LIFETIME_SECONDS = 60 * 60


def claim(db: Database, owner: str, key: str, request_hash: str) -> IdempotencyRecord | None:
    """Take `key` for a request about to run: None once taken, else the row that holds it."""
    try:
        return _claim_once(db, owner, key, request_hash)
    except IntegrityError:
        # A concurrent request inserted the same key between our read and our insert; looking
        # again finds its row.
        return _claim_once(db, owner, key, request_hash)


def _claim_once(db: Database, owner: str, key: str, request_hash: str) -> IdempotencyRecord | None:
    now = now_seconds()
    with db.transaction() as session:
        session.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.owner == owner,
                IdempotencyRecord.key == key,
                (IdempotencyRecord.created_at <= now - KEY_LIFETIME_SECONDS)
                | (
                    (IdempotencyRecord.state == "in_progress")
                    & (IdempotencyRecord.created_at <= now - CLAIM_LIFETIME_SECONDS)
                ),
            )
        )
        held = session.get(IdempotencyRecord, (owner, key))
        if held is not None:
            return held
        session.add(
            IdempotencyRecord(
                owner=owner,
                key=key,
                request_hash=request_hash,
                state="in_progress",
                created_at=now,
            )
        )
    return None


def finish(
    db: Database, owner: str, key: str, status_code: int, body: str, headers: dict[str, str]
) -> None:
    """Keep the answer of the request that claimed `key`, to replay it to retries."""
    with db.transaction() as session:
        session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.owner == owner, IdempotencyRecord.key == key)
            .values(
                state="done", status_code=status_code, response_body=body, response_headers=headers
            )
        )


def release(db: Database, owner: str, key: str) -> None:
    """Give up a claim whose answer is not worth keeping, so that a retry runs again."""
    with db.transaction() as session:
        session.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.owner == owner,
                IdempotencyRecord.key == key,
                IdempotencyRecord.state == "in_progress",
            )
        )


def release_all_claims(db: Database) -> int:
    """Drop every claim still running. Only safe when this process alone serves the database:
    then they were left by a process that died mid-request."""
    with db.transaction() as session:
        return session.execute(
            delete(IdempotencyRecord).where(IdempotencyRecord.state == "in_progress")
        ).rowcount  # type: ignore[attr-defined,no-any-return]
