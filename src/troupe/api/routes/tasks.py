"""Task routes: one job (`generation.task`) to poll, and the caller's jobs, newest first."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from troupe.api.responses import settled_answer
from troupe.api.routes.characters import ERRORS, Owner, poll_task, task_objects
from troupe.api.schemas import TaskList, TaskObject, page_of
from troupe.api.services import base_url, services_of
from troupe.store import repo

router = APIRouter()


@router.get("/v1/tasks/{task_id}", response_model=TaskObject, responses=ERRORS)
async def get_task(request: Request, task_id: str, owner: Owner) -> Response:
    return await poll_task(request, owner, task_id)


@router.get("/v1/tasks", response_model=TaskList, responses=ERRORS)
def list_tasks(
    request: Request,
    owner: Owner,
    after: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    order: Literal["asc", "desc"] = "desc",
    kind: Literal["character", "video"] | None = None,
    status: Literal["queued", "in_progress", "completed", "failed"] | None = None,
) -> Response:
    """Character creations and videos alike, with their progress, result or error."""
    with services_of(request).db.transaction() as session:
        page = repo.list_tasks(
            session, owner, after=after, limit=limit, order=order, kind=kind, status=status
        )
        data = task_objects(session, page.rows, base_url(request))
    return settled_answer(request, page_of(TaskList, data, page.has_more))
