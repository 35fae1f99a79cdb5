"""Task routes: one job (`generation.task`) to poll, and the caller's jobs, newest first."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from troupe.api.routes.characters import ERRORS, Owner, task_objects, task_response
from troupe.api.schemas import TaskList, TaskObject
from troupe.api.services import base_url, services_of
from troupe.errors import TroupeError
from troupe.store import repo

router = APIRouter()


@router.get("/v1/tasks/{task_id}", response_model=TaskObject, responses=ERRORS)
def get_task(request: Request, task_id: str, owner: Owner) -> JSONResponse:
    with services_of(request).db.transaction() as session:
        task = repo.get_task(session, owner, task_id)
    if task is None:
        raise TroupeError("task_not_found", f"no task {task_id!r}", param="task_id")
    return task_response(request, task, 200)


@router.get("/v1/tasks", response_model=TaskList, responses=ERRORS)
def list_tasks(
    request: Request,
    owner: Owner,
    after: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    order: Literal["asc", "desc"] = "desc",
    kind: Literal["character", "video"] | None = None,
    status: Literal["queued", "in_progress", "completed", "failed"] | None = None,
) -> TaskList:
    """Character creations and videos alike, with their progress, result or error."""
    with services_of(request).db.transaction() as session:
        page = repo.list_tasks(
            session, owner, after=after, limit=limit, order=order, kind=kind, status=status
        )
        data = task_objects(session, page.rows, base_url(request))
    return TaskList(
        data=data,
        first_id=data[0].id if data else None,
        last_id=data[-1].id if data else None,
        has_more=page.has_more,
    )
