"""Task routes: polling a character job (`generation.task`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from troupe.api.routes.characters import ERRORS, Owner, task_response
from troupe.api.schemas import TaskObject
from troupe.api.services import services_of
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
