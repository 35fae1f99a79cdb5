"""`POST /v1/characters/windows`: the best 1–3 s windows of a source, so clients need not guess."""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from troupe.api.auth import authenticate
from troupe.api.forms import read_body
from troupe.api.routes.characters import ERRORS
from troupe.api.schemas import WindowCandidateObject, WindowList
from troupe.api.services import Services, services_of
from troupe.api.uploads import save_upload
from troupe.characters.intake import check_source_url
from troupe.characters.job import upload_blob_key
from troupe.characters.sources import SourceAccess, local_source
from troupe.characters.submit import check_source_task
from troupe.characters.timestamps import round_seconds
from troupe.errors import TroupeError
from troupe.ids import new_id
from troupe.media.sandbox import run_sandboxed

router = APIRouter()
DEFAULT_COUNT = 3
MAX_COUNT = 10


def _count(raw: object) -> int:
    try:
        count = int(str(raw)) if raw not in (None, "") else DEFAULT_COUNT
    except ValueError:
        count = 0
    if not 1 <= count <= MAX_COUNT:
        raise TroupeError("invalid_request", f"count must be 1-{MAX_COUNT}", param="count")
    return count


async def _read_source(
    request: Request, services: Services, owner: str
) -> tuple[dict[str, Any], int]:
    """The source and count from either a JSON body or a multipart upload."""
    body = await read_body(request)
    video = body.get("video")
    if isinstance(video, UploadFile):
        key = upload_blob_key(new_id("scan"))
        limit = services.settings.max_upload_bytes
        await run_in_threadpool(save_upload, video, services.blobs, key, limit)
        return {"type": "upload", "upload_key": key}, _count(body.get("count"))
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise TroupeError("invalid_request", "upload the source as the 'video' file", "video")
    if not isinstance(body, dict) or bool(body.get("url")) == bool(body.get("from_task")):
        raise TroupeError("invalid_request", "give exactly one of url and from_task", "url")
    if body.get("from_task"):
        check_source_task(services.db, owner, str(body["from_task"]))
        return {"type": "task", "task_id": body["from_task"]}, _count(body.get("count"))
    return {"type": "url", "url": check_source_url(body["url"])}, _count(body.get("count"))


def _scan(source: dict[str, Any], access: SourceAccess, count: int) -> WindowList:
    # Imported here: the scan runs in the sandbox, but handing it over needs the function, and
    # its module brings OpenCV and PyAV, which a server never asked to scan does not need.
    from troupe.characters.create import scan_windows

    with ExitStack() as stack:
        path = local_source(source, access, stack)
        try:
            duration, candidates = run_sandboxed(
                access.decode_limits, scan_windows, path, access.rules, count
            )
        finally:
            if source["type"] == "upload":
                access.blobs.delete(source["upload_key"])
    data = [WindowCandidateObject.model_validate(c.to_dict()) for c in candidates]
    return WindowList(duration=round_seconds(duration), data=data)


@router.post(
    "/v1/characters/windows",
    response_model=WindowList,
    responses=ERRORS,
    summary="Rank the best 1-3 s windows of a source (JSON url/from_task, or multipart video)",
)
async def find_windows(request: Request) -> WindowList:
    owner = await run_in_threadpool(authenticate, request)
    services = services_of(request)
    source, count = await _read_source(request, services, owner)
    return await run_in_threadpool(_scan, source, services.access, count)
