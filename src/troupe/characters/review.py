"""Operators' decisions on character tasks parked for review: approve (the character is recorded
as the job would have recorded it), reject (the task fails and is refunded), or, past its
deadline, expire (the same, decided by troupe). Each decision is stored with who, when and why,
written to the webhook outbox, and taken once, whichever operators and processes race for it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.orm import Session

from troupe.characters import doubts
from troupe.characters.files import CharacterFiles
from troupe.characters.job import record_character
from troupe.errors import TroupeError
from troupe.ids import now_seconds
from troupe.jobs.parking import finish_parked
from troupe.jobs.webhooks import enqueue_event
from troupe.store import repo, reviews
from troupe.store.blobs import BlobStore
from troupe.store.db import Database
from troupe.store.tables import Review, Task
from troupe.store.uploads import release_task_uploads

log = logging.getLogger(__name__)

# Who decides a review that nobody decided in time.
EXPIRY_DECIDER = "troupe"


@dataclass(frozen=True)
class Decided:
    """A decision taken: the review as stored, and what became of the task."""

    review: Review
    task_status: str  # completed | failed


@dataclass(frozen=True)
class ReviewDesk:
    """Where decisions are taken, by the API, the CLI and the deadline sweep alike."""

    db: Database
    blobs: BlobStore
    webhook_events: bool = False

    def approve(self, task_id: str, by: str, why: str | None = None) -> Decided:
        """Record the character as the job would have. Should that fail now (its username
        taken meanwhile), the approval stands and the task fails with that error, refunded."""
        with self.db.transaction() as session:
            review, task = waiting(session, task_id)
            files = doubts.reviewed_files(review)
            assert files.doubt is not None
            # One moment for the review's decision and the character's record of it.
            now = now_seconds()
            likeness = doubts.likeness_record(files.doubt, attested=False, reviewed_at=now)

            def record(inner: Session) -> None:
                record_character(inner, task_id, task.owner, dict(task.request), files, likeness)

            failure: TroupeError | None = None
            try:
                with session.begin_nested():
                    finished = finish_parked(session, task_id, record, None)
            except TroupeError as error:
                failure = error
                finished = finish_parked(session, task_id, None, error)
            self._decide(session, review, finished, "approved", by, why, now)
            status = "completed" if failure is None else "failed"
            self._events(session, task_id, "character.review_approved", status)
        self._after(task_id, files if failure is not None else None)
        return self._decided(task_id, status)

    def reject(self, task_id: str, by: str, why: str | None = None) -> Decided:
        """Fail the task as a real person (`human_likeness_detected`) and refund it."""
        with self.db.transaction() as session:
            review, _ = waiting(session, task_id)
            finished = finish_parked(session, task_id, None, doubts.rejection(why))
            self._decide(session, review, finished, "rejected", by, why, now_seconds())
            self._events(session, task_id, "character.review_rejected", "failed")
            files = doubts.reviewed_files(review)
        self._after(task_id, files)
        return self._decided(task_id, "failed")

    def expire_due(self) -> int:
        """Fail and refund every waiting review past its deadline; the count done. Safe with
        several processes sweeping at once: each review is finished by one of them."""
        with self.db.transaction() as session:
            due = reviews.due_reviews(session, now_seconds())
        expired = 0
        for task_id in due:
            try:
                self._expire(task_id)
            except TroupeError:
                continue  # decided meanwhile by an operator or another process
            expired += 1
        return expired

    def _expire(self, task_id: str) -> None:
        with self.db.transaction() as session:
            review, _ = waiting(session, task_id)
            period = review.expires_at - review.created_at
            why = f"nobody reviewed it within {doubts.period_text(period)}"
            finished = finish_parked(session, task_id, None, doubts.expiry(period))
            self._decide(session, review, finished, "expired", EXPIRY_DECIDER, why, now_seconds())
            self._events(session, task_id, "character.review_expired", "failed")
            files = doubts.reviewed_files(review)
        self._after(task_id, files)

    def _decide(
        self,
        session: Session,
        review: Review,
        finished: bool,
        status: str,
        by: str,
        why: str | None,
        at: int,
    ) -> None:
        # Both are conditional: whoever finished the parked job first decided, alone.
        if not finished or not reviews.record_decision(
            session, review.task_id, status, by, why, at
        ):
            raise not_waiting(review.task_id, "decided meanwhile")

    def _events(self, session: Session, task_id: str, decision: str, status: str) -> None:
        if self.webhook_events:
            enqueue_event(session, decision, task_id)
            enqueue_event(session, f"character.{status}", task_id)

    def _after(self, task_id: str, unused: CharacterFiles | None) -> None:
        """Once committed: files no character will use go, and so does an uploaded source."""
        try:
            if unused is not None:
                doubts.discard_files(self.blobs, unused)
            release_task_uploads(self.db, self.blobs, task_id)
        except OSError:
            log.exception("removing the files of reviewed task %s failed", task_id)

    def _decided(self, task_id: str, status: str) -> Decided:
        with self.db.transaction() as session:
            review = reviews.get_review(session, task_id)
        assert review is not None
        return Decided(review, status)


def waiting(session: Session, task_id: str) -> tuple[Review, Task]:
    """A review still waiting for its decision, and its task; `task_not_found` for no review,
    `invalid_request` for one already decided."""
    review = reviews.get_review(session, task_id)
    task = repo.get_task_by_id(session, task_id)
    if review is None or task is None:
        raise TroupeError("task_not_found", f"no review of task {task_id!r}", param="task_id")
    if review.status != reviews.WAITING:
        raise not_waiting(task_id, f"{review.status} by {review.decided_by}")
    return review, task


def not_waiting(task_id: str, what: str) -> TroupeError:
    return TroupeError(
        "invalid_request", f"the review of {task_id} was already {what}", param="task_id"
    )
