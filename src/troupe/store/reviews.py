"""Repository functions of reviews: the character tasks parked for an operator's decision."""

from __future__ import annotations

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from troupe.ids import now_seconds
from troupe.store.repo import Page
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
    created, ident = Review.created_ns, Review.task_id
    descending = order == "desc"
    cursor = session.get(Review, after) if after else None
    if cursor is not None:
        key = (cursor.created_ns, cursor.task_id)
        if descending:
            statement = statement.where(
                or_(created < key[0], (created == key[0]) & (ident < key[1]))
            )
        else:
            statement = statement.where(
                or_(created > key[0], (created == key[0]) & (ident > key[1]))
            )
    sort = (created, ident)
    statement = statement.order_by(*(c.desc() for c in sort) if descending else sort)
    rows = list(session.scalars(statement.limit(limit + 1)))
    return Page(rows=rows[:limit], has_more=len(rows) > limit)


def record_decision(
    session: Session, task_id: str, status: str, decided_by: str, why: str | None
) -> bool:
    """Write a decision on a waiting review; False when it was no longer waiting."""
    done = session.execute(
        update(Review)
        .where(Review.task_id == task_id, Review.status == WAITING)
        .values(status=status, decided_by=decided_by[:200], decided_at=now_seconds(), why=why)
    ).rowcount  # type: ignore[attr-defined]
    return bool(done)


def due_reviews(session: Session, now: int, limit: int = 50) -> list[str]:
    """Task ids of waiting reviews whose deadline has passed."""
    query = select(Review.task_id).where(Review.status == WAITING, Review.expires_at <= now)
    return list(session.scalars(query.order_by(Review.expires_at).limit(limit)))
