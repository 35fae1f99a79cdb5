"""A character job's outcome for an uncertain screening, and operators' decisions on it, on real
SQLite and PostgreSQL databases and a real blob folder: approve records the character, reject
and expiry fail and refund, each once, with its webhook events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from troupe.billing.ledger import Price, reserve
from troupe.characters.doubts import LikenessPolicy
from troupe.characters.files import CharacterFiles, Doubt
from troupe.characters.job import screened_outcome
from troupe.characters.review import ReviewDesk
from troupe.characters.timestamps import Window
from troupe.errors import TroupeError
from troupe.jobs import parking, queue
from troupe.jobs.parking import Parked
from troupe.store import repo, reviews
from troupe.store.blobs import BlobStore
from troupe.store.db import Database
from troupe.store.tables import Character, LedgerEntry, Review, WebhookEvent

OPERATOR = LikenessPolicy(review="operator", review_hours=1)


def extracted(blobs: BlobStore, character_id: str) -> CharacterFiles:
    """Files as extraction leaves them in the blob store, with a doubt and its boxed frame."""
    prefix = f"characters/{character_id}"
    return CharacterFiles(
        window=Window(0.0, 2.0),
        quality={"subject_confidence": 0.7, "warnings": []},
        blobs={
            "profile": blobs.put_bytes(f"{prefix}/profile.jpg", b"jpeg"),
            "fingerprint": blobs.put_bytes(f"{prefix}/fingerprint.npz", b"npz"),
            "references": [blobs.put_bytes(f"{prefix}/reference_0.png", b"png")],
        },
        doubt=Doubt(
            "a face too lifelike to call", [blobs.put_bytes(f"{prefix}/doubt_0.jpg", b"j")]
        ),
    )


def creation(task_id: str, username: str | None = "doubtful") -> dict[str, Any]:
    return {
        "character_id": "char_" + task_id.removeprefix("task_"),
        "source": {"type": "url", "url": "http://example.com/a.mp4"},
        "timestamps": "0,2",
        "name": "Doubtful",
        "username": username,
    }


def run_job(
    db: Database, blobs: BlobStore, task_id: str, policy: LikenessPolicy = OPERATOR, **extra: Any
) -> CharacterFiles:
    """Queue a paid character task, claim it, and write what `screened_outcome` decides."""
    request = {**creation(task_id), **extra}
    with db.transaction() as session:
        reserve(session, "owner_a", task_id, Price(10_000, "character creation"))
        repo.create_task(
            session,
            task_id=task_id,
            owner="owner_a",
            kind="character",
            model="sora-2-character",
            request=request,
        )
    job = queue.claim_next(db, "w", lease_seconds=30, max_attempts=3)
    assert job is not None and job.task_id == task_id
    files = extracted(blobs, request["character_id"])
    try:
        outcome = screened_outcome(task_id, "owner_a", request, files, policy, blobs)
    except TroupeError as error:
        assert queue.settle(db, job, None, error, webhook_events=True)
        return files
    if isinstance(outcome, Parked):
        assert parking.park(db, job, outcome, webhook_events=True)
    else:
        assert queue.settle(db, job, outcome, None, webhook_events=True)
    return files


@pytest.fixture
def blobs(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "blobs")


@pytest.fixture
def desk(db: Database, blobs: BlobStore) -> ReviewDesk:
    return ReviewDesk(db, blobs, webhook_events=True)


def events(db: Database, task_id: str) -> list[str]:
    with db.transaction() as session:
        query = select(WebhookEvent.type).where(WebhookEvent.object_id == task_id)
        return list(session.scalars(query.order_by(WebhookEvent.created_at)))


def ledger(db: Database, task_id: str) -> list[str]:
    with db.transaction() as session:
        query = select(LedgerEntry.kind).where(LedgerEntry.task_id == task_id)
        return sorted(session.scalars(query))


def task_state(db: Database, task_id: str) -> tuple[str, str | None, str | None]:
    with db.transaction() as session:
        task = repo.get_task_by_id(session, task_id)
        assert task is not None
        return task.status, task.error_code, task.character_id


def test_refuse_policy_fails_the_task_and_removes_the_files(db: Database, blobs: BlobStore) -> None:
    files = run_job(db, blobs, "task_r", LikenessPolicy(review="refuse"))
    status, code, _ = task_state(db, "task_r")
    assert (status, code) == ("failed", "human_likeness_detected")
    assert ledger(db, "task_r") == ["refund", "reserve"]
    assert files.doubt is not None
    assert not any(blobs.exists(key) for key in [files.blobs["profile"], *files.doubt.evidence])


def test_an_attested_request_is_recorded_with_its_likeness(db: Database, blobs: BlobStore) -> None:
    files = run_job(db, blobs, "task_t", LikenessPolicy(review="refuse"), attested=True)
    status, _, character_id = task_state(db, "task_t")
    assert status == "completed"
    with db.transaction() as session:
        character = session.get(Character, character_id)
        assert character is not None
        assert character.likeness == {
            "screening": "uncertain",
            "reason": "a face too lifelike to call",
            "attested": True,
            "reviewed_at": None,
        }
        assert files.doubt is not None
        assert character.blobs["likeness_evidence"] == files.doubt.evidence


def test_approval_records_the_character_as_the_job_would(db: Database, desk: ReviewDesk) -> None:
    files = run_job(db, desk.blobs, "task_a")
    assert task_state(db, "task_a") == ("queued", None, None)
    assert events(db, "task_a") == ["character.review_requested"]
    decided = desk.approve("task_a", "ops (key_1)", "a drawn mascot")
    assert (decided.review.status, decided.task_status) == ("approved", "completed")
    assert (decided.review.decided_by, decided.review.why) == ("ops (key_1)", "a drawn mascot")
    assert decided.review.decided_at is not None
    status, _, character_id = task_state(db, "task_a")
    assert status == "completed" and character_id == "char_a"
    with db.transaction() as session:
        character = session.get(Character, "char_a")
        assert character is not None
        assert (character.owner, character.username, character.task_id) == (
            "owner_a",
            "doubtful",
            "task_a",
        )
        assert character.likeness is not None and character.likeness["attested"] is False
        assert character.likeness["reviewed_at"] == decided.review.decided_at
        assert character.source["timestamps"] == "0,2"
    assert files.doubt is not None
    kept = [files.blobs["profile"], *files.doubt.evidence]
    assert all(desk.blobs.exists(key) for key in kept)
    assert ledger(db, "task_a") == ["charge", "reserve"]
    assert events(db, "task_a") == [
        "character.review_requested",
        "character.review_approved",
        "character.completed",
    ]
    with pytest.raises(TroupeError) as again:
        desk.reject("task_a", "someone else")
    assert again.value.code == "invalid_request" and "approved by ops" in again.value.message


def test_rejection_fails_refunds_and_removes_the_files(db: Database, desk: ReviewDesk) -> None:
    files = run_job(db, desk.blobs, "task_b")
    decided = desk.reject("task_b", "ops", "a photograph of a person")
    assert (decided.review.status, decided.task_status) == ("rejected", "failed")
    with db.transaction() as session:
        task = repo.get_task_by_id(session, "task_b")
        assert task is not None and task.error_code == "human_likeness_detected"
        assert task.error_message is not None and "a photograph of a person" in task.error_message
    assert ledger(db, "task_b") == ["refund", "reserve"]
    assert not any(desk.blobs.exists(key) for key in files.blobs.values() if isinstance(key, str))
    assert files.doubt is not None and not desk.blobs.exists(files.doubt.evidence[0])
    assert events(db, "task_b")[1:] == ["character.review_rejected", "character.failed"]


def test_expiry_fails_and_refunds_once(db: Database, desk: ReviewDesk) -> None:
    run_job(db, desk.blobs, "task_c")
    run_job(db, desk.blobs, "task_d")
    assert desk.expire_due() == 0, "not yet due"
    with db.transaction() as session:
        session.execute(
            update(Review)
            .where(Review.task_id == "task_c")
            .values(created_at=Review.created_at - 3601, expires_at=Review.expires_at - 3601)
        )
    assert desk.expire_due() == 1
    assert desk.expire_due() == 0
    status, code, _ = task_state(db, "task_c")
    assert (status, code) == ("failed", "human_likeness_detected")
    assert task_state(db, "task_d")[0] == "queued"
    with db.transaction() as session:
        review = reviews.get_review(session, "task_c")
        assert review is not None
        assert (review.status, review.decided_by) == ("expired", "troupe")
        assert review.why == "nobody reviewed it within 1 hour"
    assert ledger(db, "task_c") == ["refund", "reserve"]
    assert events(db, "task_c")[1:] == ["character.review_expired", "character.failed"]
    with pytest.raises(TroupeError) as late:
        desk.approve("task_c", "ops")
    assert late.value.code == "invalid_request"


def test_an_approval_whose_username_was_taken_meanwhile_fails_refunded(
    db: Database, desk: ReviewDesk
) -> None:
    run_job(db, desk.blobs, "task_e")
    with db.transaction() as session:
        taken = Character(
            id="char_other",
            owner="owner_b",
            username="doubtful",
            display_name="x",
            created_at=1,
            created_ns=1,
            source={},
            quality={},
            blobs={},
        )
        repo.insert_character(session, taken)
    decided = desk.approve("task_e", "ops")
    assert (decided.review.status, decided.task_status) == ("approved", "failed")
    assert task_state(db, "task_e")[:2] == ("failed", "username_taken")
    assert ledger(db, "task_e") == ["refund", "reserve"]


def test_unknown_tasks_are_not_found(desk: ReviewDesk) -> None:
    with pytest.raises(TroupeError) as caught:
        desk.approve("task_nothing", "ops")
    assert caught.value.code == "task_not_found"
