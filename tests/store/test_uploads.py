"""Which uploads a sweep or a settled task may remove, on real SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from troupe.jobs import queue
from troupe.store import repo
from troupe.store.blobs import BlobStore
from troupe.store.db import Database
from troupe.store.uploads import release_task_uploads, sweep_orphan_uploads


def test_uploads_live_while_their_task_has_not_settled(db: Database, tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    for key in ("uploads/task_a", "uploads/task_b", "uploads/orphan", "uploads/.upload-x"):
        blobs.put_bytes(key, b"video")
    with db.transaction() as session:
        for task_id in ("task_a", "task_b"):
            source = {"type": "upload", "upload_key": f"uploads/{task_id}"}
            repo.create_task(
                session,
                task_id=task_id,
                owner="o",
                kind="character",
                model="m",
                request={"source": source},
            )
    job = queue.claim_next(db, "w", lease_seconds=30, max_attempts=3)
    assert job is not None and job.task_id == "task_a"
    assert release_task_uploads(db, blobs, "task_a") == 0, "a running job still reads it"

    assert sweep_orphan_uploads(db, blobs, min_age_seconds=3600) == 0, (
        "young files may be a request's"
    )
    assert sweep_orphan_uploads(db, blobs, min_age_seconds=0) == 2
    assert blobs.exists("uploads/task_a") and blobs.exists("uploads/task_b")

    assert queue.settle(db, job, lambda session: None, None)
    assert release_task_uploads(db, blobs, "task_a") == 1
    assert not blobs.exists("uploads/task_a") and blobs.exists("uploads/task_b")
