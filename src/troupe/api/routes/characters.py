"""Character routes: the seeds' JSON creation, the SDK's upload, reading, listing, deleting."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy.orm import Session

from troupe.api.auth import authenticated_owner, rights_of
from troupe.api.character_json import list_json, listed_page
from troupe.api.responses import (
    character_json_of,
    json_answer,
    settled_answer,
    settled_cache_of,
    tagged,
    tagged_bytes,
)
from troupe.api.schemas import (
    CharacterCreateBody,
    CharacterDeleted,
    CharacterList,
    CharacterObject,
    CharacterUpdate,
    TaskObject,
    VideoObject,
    answers_by_reference,
    character_object,
    error_answers,
    task_object,
    video_object,
)
from troupe.api.services import Services, base_url, services_of, waiting_note
from troupe.api.text import refuse_lone_surrogates
from troupe.api.uploads import save_upload
from troupe.characters.attestation import attestation_not_allowed
from troupe.characters.intake import CreationRequest, read_json_request, read_upload_request
from troupe.characters.job import upload_blob_key
from troupe.characters.submit import submit_character_task
from troupe.errors import TroupeError
from troupe.ids import new_id
from troupe.jobs.parking import parked_notes
from troupe.jobs.tasks import wait_for_task
from troupe.media.fetch import check_url_before_lookup
from troupe.store import repo
from troupe.store.tables import Character, Task, Video

router = APIRouter()
Owner = Annotated[str, Depends(authenticated_owner)]
ERRORS = error_answers(400, 401, 402, 403, 404, 409, 413, 415, 422, 429, 502)
ACCEPTED_OR_ERRORS = {**answers_by_reference({202: TaskObject}), **ERRORS}


def poll_headers(services: Services) -> dict[str, str]:
    return {"openai-poll-after-ms": str(services.settings.poll_after_ms)}


def wants_async(request: Request, body_flag: bool) -> bool:
    return body_flag or "respond-async" in request.headers.get("prefer", "").lower()


# A task, video or character in these states never changes again (a video may still expire,
# which changes its body and so its ETag).
SETTLED_TASKS = ("completed", "failed")


def submitted_response(request: Request, task: Task, status_code: int) -> Response:
    """A task this request has just written: queued, with nothing made and no decision awaited
    yet, so its answer needs no second transaction (a fifth of an upload's CPU, profiled)."""
    shown = task_object(task, None)
    return json_answer(shown, status_code, poll_headers(services_of(request)))


def task_response(request: Request, task: Task, status_code: int) -> Response:
    """A task as `generation.task`; once completed its result is the character or the video."""
    services = services_of(request)
    with services.db.transaction() as session:
        [shown] = task_objects(session, [task], base_url(request))
    return json_answer(shown, status_code, poll_headers(services))


async def poll_task(request: Request, owner: str, task_id: str) -> Response:
    """A poll of one task; a settled task's answer is kept a moment (`SettledCache`)."""
    known = settled_cache_of(request).get(("task", owner, task_id, base_url(request)))
    if known is not None:
        return settled_answer(request, known, poll_headers(services_of(request)))
    return await run_in_threadpool(read_task, request, owner, task_id)


def read_task(request: Request, owner: str, task_id: str) -> Response:
    """The task and what it made, read in one transaction; a settled task answers with an
    ETag (and 304 to a client that has it)."""
    services = services_of(request)
    with services.db.transaction() as session:
        task = repo.get_task(session, owner, task_id)
        if task is None:
            raise TroupeError("task_not_found", f"no task {task_id!r}", param="task_id")
        [shown] = task_objects(session, [task], base_url(request))
    if task.status == "queued":
        shown.waiting_for = shown.waiting_for or waiting_note(
            services, task.kind, task.request.get("backend")
        )
        if isinstance(shown.result, VideoObject):
            shown.result.waiting_for = shown.waiting_for
    if task.status not in SETTLED_TASKS:
        return json_answer(shown, 200, poll_headers(services))
    answer = tagged(shown)
    settled_cache_of(request).put(("task", owner, task_id, base_url(request)), answer, None)
    return settled_answer(request, answer, poll_headers(services))


def task_objects(session: Session, tasks: list[Task], base: str) -> list[TaskObject]:
    """Tasks with what they made: the Video (any status), or the Character once made; a task
    parked for a person's decision says so in `waiting_for`."""
    made = repo.task_results(session, tasks)
    parked = parked_notes(session, [task.id for task in tasks if task.status == "queued"])
    shown = []
    for task in tasks:
        result = made.get(task.id)
        if isinstance(result, Video):
            shown.append(task_object(task, video_object(result, task)))
        elif isinstance(result, Character):
            shown.append(task_object(task, character_object(result, base)))
        else:
            shown.append(task_object(task, None))
        shown[-1].waiting_for = parked.get(task.id)
    return shown


def settled_character(request: Request, owner: str, task: Task) -> CharacterObject | Response:
    """Wait for a task; its character, its error, or (past the wait limit) the task as 202."""
    services = services_of(request)
    settled = wait_for_task(services.db, services.worker, task, services.settings.sync_wait_seconds)
    if settled.status == "failed":
        raise TroupeError(
            settled.error_code or "internal_error",
            settled.error_message or "character creation failed",
            param=settled.error_param,
        )
    if settled.status != "completed" or settled.character_id is None:
        return task_response(request, settled, 202)
    with services.db.transaction() as session:
        row = repo.get_character(session, owner, settled.character_id)
    if row is None:
        raise TroupeError("character_not_found", "the character was deleted meanwhile")
    return character_object(row, base_url(request))


def check_attestation(request: Request, attested: bool) -> None:
    """`attest_original_character: true` from a key without the right is refused."""
    if attested and not rights_of(request).may_attest:
        raise attestation_not_allowed()


def check_url_now(request: Request, url: str, param: str) -> None:
    """Refuse at once a URL that the job's fetch would refuse before looking its host up (its
    scheme, a private address written out); a host name waits for the job, which resolves it."""
    allowed_hosts = services_of(request).access.fetch_limits.allowed_hosts
    try:
        check_url_before_lookup(url, allowed_hosts)
    except TroupeError as error:
        raise TroupeError(error.code, error.message, param=param) from error


def submit(
    request: Request, owner: str, creation: CreationRequest, task_id: str | None = None
) -> Task:
    check_attestation(request, creation.attested)
    if creation.source["type"] == "url":
        check_url_now(request, creation.source["url"], "url")
    services = services_of(request)
    return submit_character_task(
        services.db, services.worker, services.admission, owner, creation, task_id
    )


@router.post(
    "/v1/characters",
    response_model=CharacterObject,
    responses=ACCEPTED_OR_ERRORS,
    summary="Create a character from a video URL or a completed video job",
)
@router.post(
    "/sora/v1/characters",
    response_model=CharacterObject,
    responses=ACCEPTED_OR_ERRORS,
    include_in_schema=False,
)
@router.post(
    "/v1/sora/characters",
    response_model=CharacterObject,
    responses=ACCEPTED_OR_ERRORS,
    include_in_schema=False,
)
def create_character(
    request: Request, body: CharacterCreateBody, owner: Owner
) -> CharacterObject | Response:
    creation = read_json_request(body.model_dump(by_alias=True))
    task = submit(request, owner, creation)
    if wants_async(request, body.async_):
        return submitted_response(request, task, 202)
    return settled_character(request, owner, task)


@router.post(
    "/v1/videos/generations",
    response_model=TaskObject,
    responses=ERRORS,
    summary="Create a character as a task (task-style resellers)",
)
def create_character_task(request: Request, body: CharacterCreateBody, owner: Owner) -> Response:
    raw = body.model_dump(by_alias=True)
    if not any(raw.get(field) for field in ("url", "video_url", "from_task", "video_id")):
        raise TroupeError(
            "invalid_request",
            "this server creates characters here: give url (or video_url) or from_task; "
            "prompt-only video generation is POST /v1/videos",
            param="url",
        )
    task = submit(request, owner, read_json_request(raw))
    return submitted_response(request, task, 200)


@router.post(
    "/v1/videos/characters",
    response_model=CharacterObject,
    responses=ACCEPTED_OR_ERRORS,
    summary="Create a character from an uploaded video (official SDK)",
)
def upload_character(
    request: Request,
    owner: Owner,
    video: Annotated[UploadFile, File(description="The source video")],
    name: Annotated[
        str | None,
        Form(description="Display name, 1-80 characters; default: from the file's name"),
    ] = None,
    timestamps: Annotated[str | None, Form(description='"start,end"; default: best window')] = None,
    username: Annotated[str | None, Form()] = None,
    attest_original_character: Annotated[
        str | None,
        Form(
            description="true: you vouch for an original character (see POST "
            "/v1/characters); only keys created --may-attest"
        ),
    ] = None,
) -> CharacterObject | Response:
    # A form's charset (`unicode_escape`, say) can carry text that cannot be stored, as JSON can.
    refuse_lone_surrogates(
        {
            "name": name,
            "timestamps": timestamps,
            "username": username,
            "video": video.filename,
            "attest_original_character": attest_original_character,
        }
    )
    creation = read_upload_request(
        name, timestamps, username, video.filename, attest_original_character
    )
    check_attestation(request, creation.attested)  # before the upload is saved
    services = services_of(request)
    task_id = new_id("task")
    key = save_upload(
        video, services.blobs, upload_blob_key(task_id), services.settings.max_upload_bytes
    )
    creation = dataclasses.replace(creation, source={**creation.source, "upload_key": key})
    try:
        task = submit(request, owner, creation, task_id)
    except TroupeError:
        services.blobs.delete(key)  # no task will ever read it
        raise
    if wants_async(request, False):
        return submitted_response(request, task, 202)
    return settled_character(request, owner, task)


@router.get("/v1/characters", response_model=CharacterList, responses=ERRORS)
def list_characters(
    request: Request,
    owner: Owner,
    after: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    order: Literal["asc", "desc"] = "desc",
    q: str | None = None,
) -> Response:
    services = services_of(request)
    base = base_url(request)
    page, items = listed_page(
        services.db,
        character_json_of(request),
        lambda session: repo.list_character_keys(
            session, owner, after=after, limit=limit, order=order, query=q
        ),
        base,
    )
    body = list_json(items, [ident for ident, _ in page.rows], page.has_more)
    return settled_answer(request, tagged_bytes(body))


def find_character(request: Request, owner: str, ref: str) -> Response:
    """One character; it never changes but for its visibility, so it answers with an ETag."""
    services = services_of(request)
    with services.db.transaction() as session:
        row = repo.get_usable_character(session, owner, ref)
    if row is None:
        raise TroupeError("character_not_found", f"no character {ref!r}", param="character_id")
    return settled_answer(request, character_object(row, base_url(request)))


@router.get("/v1/characters/{character_ref}", response_model=CharacterObject, responses=ERRORS)
def get_character(request: Request, character_ref: str, owner: Owner) -> Response:
    return find_character(request, owner, character_ref)


@router.get(
    "/v1/videos/characters/{character_id}", response_model=CharacterObject, responses=ERRORS
)
def get_character_sdk(request: Request, character_id: str, owner: Owner) -> Response:
    return find_character(request, owner, character_id)


@router.get(
    "/sora/v1/characters/{ref}",
    response_model=CharacterObject | TaskObject,
    responses=ERRORS,
    include_in_schema=False,
)
async def get_character_or_task(request: Request, ref: str, owner: Owner) -> Response:
    """Seed 003 polls its creation's `task_id` here for `status` and `character_id`."""
    if not ref.startswith("task_"):
        return await run_in_threadpool(find_character, request, owner, ref)
    return await poll_task(request, owner, ref)


@router.patch("/v1/characters/{character_ref}", response_model=CharacterObject, responses=ERRORS)
def update_character(
    request: Request, character_ref: str, body: CharacterUpdate, owner: Owner
) -> CharacterObject:
    """Share a character (`public`) or take it back (`private`); its look never changes."""
    services = services_of(request)
    with services.db.transaction() as session:
        row = repo.get_character(session, owner, character_ref)
        if row is None:
            raise TroupeError("character_not_found", f"no character {character_ref!r}")
        row.visibility = body.visibility
        return character_object(row, base_url(request))


@router.delete("/v1/characters/{character_ref}", response_model=CharacterDeleted, responses=ERRORS)
def delete_character(request: Request, character_ref: str, owner: Owner) -> CharacterDeleted:
    services = services_of(request)
    with services.db.transaction() as session:
        row = repo.get_character(session, owner, character_ref)
        if row is None:
            raise TroupeError("character_not_found", f"no character {character_ref!r}")
        repo.delete_character(session, row)
        task_id = row.task_id
    if task_id is not None:
        settled_cache_of(request).forget(task_id)  # its result was this character
    return CharacterDeleted(id=row.id)
