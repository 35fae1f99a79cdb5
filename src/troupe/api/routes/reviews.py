"""The operator API: character tasks the human screening was uncertain about, parked when
`TROUPE_LIKENESS_REVIEW=operator`; list them, look at the frames that raised the doubt, approve
or reject. To anyone but an operator these routes answer as routes that do not exist (404)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from troupe.api.auth import operator_name
from troupe.api.ranges import blob_response
from troupe.api.responses import json_answer
from troupe.api.schemas import (
    ReviewDecision,
    ReviewList,
    ReviewObject,
    error_answers,
    page_of,
    review_object,
)
from troupe.api.services import base_url, services_of
from troupe.characters.review import Decided
from troupe.errors import TroupeError
from troupe.store import repo, reviews

router = APIRouter()
Operator = Annotated[str, Depends(operator_name)]
ERRORS = error_answers(400, 401, 403, 404, 415, 429)


def _shown(request: Request, task_id: str) -> ReviewObject:
    services = services_of(request)
    with services.db.transaction() as session:
        review = reviews.get_review(session, task_id)
        task = repo.get_task_by_id(session, task_id)
        if review is None or task is None:
            raise TroupeError("task_not_found", f"no review of task {task_id!r}", param="task_id")
        return review_object(review, task, base_url(request))


@router.get("/v1/reviews", response_model=ReviewList, responses=ERRORS)
def list_reviews(
    request: Request,
    operator: Operator,
    status: Literal["waiting", "approved", "rejected", "expired", "all"] = "waiting",
    after: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    order: Literal["asc", "desc"] = "asc",
) -> Response:
    """Reviews of every owner, oldest first: by default those still waiting for a decision."""
    services = services_of(request)
    with services.db.transaction() as session:
        page = reviews.list_reviews(
            session,
            status=None if status == "all" else status,
            after=after,
            limit=limit,
            order=order,
        )
        tasks = repo.tasks_by_id(session, [row.task_id for row in page.rows])
        base = base_url(request)
        data = [review_object(row, tasks[row.task_id], base) for row in page.rows]
    return json_answer(page_of(ReviewList, data, page.has_more))


@router.get("/v1/reviews/{task_id}", response_model=ReviewObject, responses=ERRORS)
def get_review(request: Request, task_id: str, operator: Operator) -> Response:
    return json_answer(_shown(request, task_id))


@router.get("/v1/reviews/{task_id}/evidence/{index}.jpg", include_in_schema=False)
def review_evidence(request: Request, task_id: str, index: int, operator: Operator) -> Response:
    """A frame that raised the doubt, boxed; for operators only, never cached by others."""
    services = services_of(request)
    with services.db.transaction() as session:
        review = reviews.get_review(session, task_id)
    evidence = review.evidence if review is not None else []
    missing = TroupeError("task_not_found", f"no evidence {index} for task {task_id!r}")
    if not 0 <= index < len(evidence):
        raise missing
    return blob_response(
        request,
        services.blobs,
        evidence[index],
        0,  # served here: the page fetches it with its key, and may reach no other host
        missing,
        media_type="image/jpeg",
        headers={"Cache-Control": "private, no-store"},
    )


def _decision_answer(request: Request, decided: Decided) -> Response:
    return json_answer(_shown(request, decided.review.task_id))


@router.post("/v1/reviews/{task_id}/approve", response_model=ReviewObject, responses=ERRORS)
def approve_review(
    request: Request, task_id: str, operator: Operator, body: ReviewDecision | None = None
) -> Response:
    """Let the character through: the task completes with it, as if the screening were sure."""
    why = body.why if body else None
    return _decision_answer(request, services_of(request).reviews.approve(task_id, operator, why))


@router.post("/v1/reviews/{task_id}/reject", response_model=ReviewObject, responses=ERRORS)
def reject_review(
    request: Request, task_id: str, operator: Operator, body: ReviewDecision | None = None
) -> Response:
    """Refuse it as a real person: the task fails with `human_likeness_detected`, refunded."""
    why = body.why if body else None
    return _decision_answer(request, services_of(request).reviews.reject(task_id, operator, why))
