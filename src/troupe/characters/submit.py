"""Submitting character tasks: check what can be checked at once, then queue the job."""

from __future__ import annotations

import dataclasses

from troupe.characters.intake import CreationRequest
from troupe.errors import TroupeError
from troupe.ids import new_id
from troupe.jobs.admission import Admission
from troupe.jobs.worker import Worker
from troupe.store import repo
from troupe.store.db import Database
from troupe.store.tables import Task


def check_source_task(db: Database, owner: str, task_id: str, param: str = "from_task") -> str:
    """`from_task` must name a completed video job of the caller's; the blob key of its MP4."""
    with db.transaction() as session:
        task = repo.get_task(session, owner, task_id)
        video = repo.get_video(session, owner, task_id) if task else None
    if task is None:
        raise TroupeError("task_not_found", f"no task or video {task_id!r}", param=param)
    if task.kind != "video":
        raise TroupeError(
            "invalid_request",
            f"{task_id} is a {task.kind} task; {param} must name a video job",
            param=param,
        )
    if task.status != "completed":
        raise TroupeError(
            "task_not_completed", f"video job {task_id} is {task.status}", param=param
        )
    if video is None or video.expired_at is not None or "video" not in video.blobs:
        raise TroupeError(
            "video_not_found", f"video {task_id} was deleted or its files expired", param=param
        )
    return str(video.blobs["video"])


def submit_character_task(
    db: Database,
    worker: Worker,
    admission: Admission,
    owner: str,
    creation: CreationRequest,
    task_id: str | None = None,
) -> Task:
    """Check what can be checked now, then write the task and its job in one transaction."""
    if creation.source["type"] == "task":
        key = check_source_task(db, owner, creation.source["task_id"])
        creation = dataclasses.replace(creation, source={**creation.source, "video_key": key})
    task_id = task_id or new_id("task")
    with db.transaction() as session:
        if creation.username and repo.username_in_use(session, creation.username):
            raise TroupeError(
                "username_taken", f"username @{creation.username} is taken", param="username"
            )
        admission.admit(session, owner, task_id, admission.prices.for_character())
        task = repo.create_task(
            session,
            task_id=task_id,
            owner=owner,
            kind="character",
            model=creation.model,
            request=creation.to_task_request(new_id("char")),
        )
    worker.notify_new_job()
    return task
