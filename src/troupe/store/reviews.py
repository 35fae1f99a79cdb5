"""Repository functions of reviews: the character tasks parked for an operator's decision."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from troupe.store.repo import Page, keyset_page
from troupe.store.tables import Review

WAITING = "waiting"
DECIDED = ("approved", "rejected", "expired")


def insert_review(session: Session, review: Review) -> Review:
    session.add(review)
    session.flush()
    return review


def get_review(session: Session, task_id: str) -> Review | None:
    return session.get(Review, task_id)


def list_reviews(
    session: Session, *, status: str | None, after: str | None, limit: int, order: str
) -> Page[Review]:
    """Reviews of every owner (operators see them all), oldest first for `asc`; `status` None
    lists every status."""
    statement = select(Review)
    if status is not None:
        statement = statement.where(Review.status == status)
    cursor = session.get(Review, after) if after else None
    key = (cursor.created_ns, cursor.task_id) if cursor is not None else None
    columns = (Review.created_ns, Review.task_id)
    return keyset_page(session, statement, columns, key, limit, order)


def record_decision(
    session: Session, task_id: str, status: str, decided_by: str, why: str | None, decided_at: int
) -> bool:
    """Write a decision on a waiting review; False when it was no longer waiting."""
    done = session.execute(
        update(Review)
        .where(Review.task_id == task_id, Review.status == WAITING)
        .values(status=status, decided_by=decided_by[:200], decided_at=decided_at, why=why)
    ).rowcount  # type: ignore[attr-defined]
    return bool(done)


def due_reviews(session: Session, now: int, limit: int = 50) -> list[str]:
    """Task ids of waiting reviews whose deadline has passed."""
    query = select(Review.task_id).where(Review.status == WAITING, Review.expires_at <= now)
    return list(session.scalars(query.order_by(Review.expires_at).limit(limit)))
