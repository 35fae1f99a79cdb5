"""Video routes: the official SDK's `/v1/videos` family (create, read, list, delete, content,
remix, edits, extensions), in JSON or multipart."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel
from starlette.datastructures import UploadFile

from troupe.api.forms import read_body
from troupe.api.ranges import blob_response
from troupe.api.responses import (
    CacheKey,
    json_answer,
    settled_answer,
    settled_cache_of,
    tagged,
)
from troupe.api.routes.characters import (
    ERRORS,
    Owner,
    check_attestation,
    check_url_now,
    poll_headers,
)
from troupe.api.schemas import (
    VideoCreateBody,
    VideoDeleted,
    VideoEditBody,
    VideoExtendBody,
    VideoList,
    VideoObject,
    VideoRemixBody,
    page_of,
    video_object,
)
from troupe.api.services import Services, base_url, services_of, waiting_note
from troupe.api.uploads import save_upload
from troupe.characters.mentions import find_mentions
from troupe.errors import TroupeError
from troupe.ids import new_id
from troupe.store import repo
from troupe.store.tables import Task, Video
from troupe.videos.clips import render_size, vet_clip, whole_seconds
from troupe.videos.intake import (
    VideoLimits,
    VideoRequest,
    check_prompt,
    check_seconds,
    check_video_model,
    read_video_request,
)
from troupe.videos.retention import remove_video_files
from troupe.videos.submit import VideoOrder, submit_video

router = APIRouter()

CONTENT_TYPES = {"video": "video/mp4", "thumbnail": "image/webp", "spritesheet": "image/jpeg"}
EXTENSIONS = {"video": "mp4", "thumbnail": "webp", "spritesheet": "jpg"}
# An extension of an extension grows; past this the stitched video is refused.
MAX_EXTENDED_SECONDS = 120


def documented_body(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` for a body read by hand, since it comes as JSON or multipart."""
    schema = model.model_json_schema()
    content = {kind: {"schema": schema} for kind in ("application/json", "multipart/form-data")}
    return {"requestBody": {"required": True, "content": content}}


def limits_of(services: Services) -> VideoLimits:
    settings = services.settings
    return VideoLimits(
        models=settings.backend_by_model.keys(),
        default_model=settings.default_model,
        aliases=settings.model_by_alias,
        max_prompt_chars=settings.max_prompt_chars,
        max_characters=settings.max_characters_per_video,
    )


# A video in these states never changes but to expire (which changes its body and ETag).
SETTLED_VIDEOS = ("completed", "failed", "expired")


def video_response(services: Services, video: Video, task: Task) -> Response:
    return json_answer(video_object(video, task), 200, poll_headers(services))


def find_video(
    services: Services, owner: str, video_id: str, param: str = "video_id"
) -> tuple[Video, Task]:
    """The caller's video and its task. The task is read first: a job settles both rows in one
    transaction, so a video row read after a `completed` task already holds its files."""
    with services.db.transaction() as session:
        task = repo.get_task_by_id(session, video_id)
        video = repo.get_video(session, owner, video_id)
    if video is None or task is None:
        raise TroupeError("video_not_found", f"no video {video_id!r}", param=param)
    return video, task


def require_completed(task: Task, param: str) -> None:
    if task.status != "completed":
        raise TroupeError("task_not_completed", f"video {task.id} is {task.status}", param=param)


def order_video(services: Services, owner: str, order: VideoOrder, video_id: str) -> Response:
    try:
        video, task = submit_video(
            services.db, services.worker, services.admission, owner, order, video_id
        )
    except TroupeError:
        if order.reference_key:
            services.blobs.delete(order.reference_key)  # no job will ever read it
        raise
    return video_response(services, video, task)


@router.post(
    "/v1/videos",
    response_model=VideoObject,
    responses=ERRORS,
    openapi_extra=documented_body(VideoCreateBody),
    summary="Render a video; @mentions and `characters` bring characters into it",
)
@router.post(
    "/v1/sora/generations",
    response_model=VideoObject,
    responses=ERRORS,
    openapi_extra=documented_body(VideoCreateBody),
    summary="Render a video (seeds 001 and 003: `duration`, model aliases)",
)
@router.post("/sora/v1/videos", response_model=VideoObject, include_in_schema=False)
async def create_video(request: Request, owner: Owner) -> Response:
    body = await read_body(request)
    services = services_of(request)
    wanted = read_video_request(body, limits_of(services))
    return await run_in_threadpool(_create_video, services, owner, wanted, request)


def _create_video(
    services: Services, owner: str, wanted: VideoRequest, request: Request
) -> Response:
    check_attestation(request, wanted.inline is not None and wanted.inline.attested)
    if wanted.reference_url is not None:
        check_url_now(request, wanted.reference_url, "input_reference.image_url")
    if wanted.inline is not None and wanted.inline.source["type"] == "url":
        check_url_now(request, wanted.inline.source["url"], "character_url")
    video_id = new_id("video")
    reference_key = None
    if wanted.reference_upload is not None:
        reference_key = save_upload(
            wanted.reference_upload,
            services.blobs,
            f"uploads/{video_id}-reference",
            services.settings.max_upload_bytes,
            param="input_reference",
        )
        _check_image(services, reference_key)
    order = VideoOrder(
        request=wanted,
        backend=services.settings.backend_by_model[wanted.model],
        reference_key=reference_key,
    )
    return order_video(services, owner, order, video_id)


def _check_image(services: Services, key: str) -> None:
    """A readable image of sane size; its header alone is read, so a pixel bomb costs nothing."""
    # Pillow loads with the first image reference, not with the app (issue 21: start-up).
    from PIL import Image, UnidentifiedImageError

    limit = services.settings.max_frame_pixels
    try:
        with Image.open(services.blobs.path(key)) as image:
            pixels = image.width * image.height
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as error:
        services.blobs.delete(key)
        raise TroupeError(
            "invalid_request", "input_reference is not an image", param="input_reference"
        ) from error
    if pixels > limit:
        services.blobs.delete(key)
        raise TroupeError(
            "invalid_request",
            f"input_reference has {pixels} pixels; at most {limit} are accepted",
            param="input_reference",
        )


@router.get("/v1/videos", response_model=VideoList, responses=ERRORS)
def list_videos(
    request: Request,
    owner: Owner,
    after: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    order: Literal["asc", "desc"] = "desc",
) -> Response:
    services = services_of(request)
    with services.db.transaction() as session:
        page = repo.list_videos(session, owner, after=after, limit=limit, order=order)
        tasks = repo.tasks_by_id(session, [row.id for row in page.rows])
        # Read again after their tasks, as `find_video` does: a video seen before its task
        # completed would be listed `completed` without its files.
        repo.reload_videos(session, page.rows)
    data = [video_object(row, tasks[row.id]) for row in page.rows if row.id in tasks]
    return settled_answer(request, page_of(VideoList, data, page.has_more))


@router.get("/v1/videos/{video_id}", response_model=VideoObject, responses=ERRORS)
@router.get("/v1/sora/generations/{video_id}", response_model=VideoObject, responses=ERRORS)
async def get_video(request: Request, video_id: str, owner: Owner) -> Response:
    """A poll: a finished video answers with an ETag, and 304 to a client that has it; its
    answer is kept a moment (`SettledCache`), so a client polling in a loop costs no query."""
    services = services_of(request)
    key = ("video", owner, video_id, base_url(request))
    known = settled_cache_of(request).get(key)
    if known is not None:
        return settled_answer(request, known, poll_headers(services))
    return await run_in_threadpool(_read_video, request, services, key)


def _read_video(request: Request, services: Services, key: CacheKey) -> Response:
    _, owner, video_id, _ = key
    video, task = find_video(services, owner, video_id)
    shown = video_object(video, task)
    if shown.status == "queued":
        shown.waiting_for = waiting_note(services, "video", video.backend)
    if shown.status not in SETTLED_VIDEOS:
        return json_answer(shown, 200, poll_headers(services))
    answer = tagged(shown)
    settled_cache_of(request).put(key, answer, None if video.expired_at else video.expires_at)
    return settled_answer(request, answer, poll_headers(services))


@router.delete("/v1/videos/{video_id}", response_model=VideoDeleted, responses=ERRORS)
def delete_video(request: Request, video_id: str, owner: Owner) -> VideoDeleted:
    services = services_of(request)
    with services.db.transaction() as session:
        video = repo.get_video(session, owner, video_id)
        if video is None:
            raise TroupeError("video_not_found", f"no video {video_id!r}", param="video_id")
        repo.delete_video(session, video)
        keys = dict(video.blobs)
    settled_cache_of(request).forget(video_id)
    remove_video_files(services.blobs, keys)
    return VideoDeleted(id=video_id)


@router.get(
    "/v1/videos/{video_id}/content",
    responses={200: {"content": {kind: {} for kind in CONTENT_TYPES.values()}}, **ERRORS},
    response_class=FileResponse,
)
def video_content(
    request: Request,
    video_id: str,
    owner: Owner,
    variant: Literal["video", "thumbnail", "spritesheet"] = "video",
) -> Response:
    """The MP4 (with Range support), its WebP thumbnail or its JPEG spritesheet."""
    services = services_of(request)
    video, task = find_video(services, owner, video_id)
    require_completed(task, param="video_id")
    key = video.blobs.get(variant)
    missing = TroupeError(
        "video_not_found", f"the files of video {video_id} have expired", param="video_id"
    )
    if video.expired_at is not None or not key:
        raise missing
    return blob_response(
        request,
        services.blobs,
        key,
        services.settings.blob_presign_seconds,
        missing,
        media_type=CONTENT_TYPES[variant],
        filename=f"{video_id}.{EXTENSIONS[variant]}",
        content_disposition_type="inline",
    )


@router.post(
    "/v1/videos/{video_id}/remix",
    response_model=VideoObject,
    responses=ERRORS,
    openapi_extra=documented_body(VideoRemixBody),
)
async def remix_video(request: Request, video_id: str, owner: Owner) -> Response:
    body = await read_body(request)
    services = services_of(request)
    return await run_in_threadpool(_derive, services, owner, video_id, "remix", body)


@router.post(
    "/v1/videos/edits",
    response_model=VideoObject,
    responses=ERRORS,
    openapi_extra=documented_body(VideoEditBody),
)
async def edit_video(request: Request, owner: Owner) -> Response:
    """The prompt rendered again over a video of yours, or over an uploaded clip as the plate."""
    body = await read_body(request)
    services = services_of(request)
    source = _video_source(body)
    if isinstance(source, UploadFile):
        return await run_in_threadpool(_derive_from_clip, services, owner, source, "edit", body)
    return await run_in_threadpool(_derive, services, owner, source, "edit", body)


@router.post(
    "/v1/videos/extensions",
    response_model=VideoObject,
    responses=ERRORS,
    openapi_extra=documented_body(VideoExtendBody),
)
async def extend_video(request: Request, owner: Owner) -> Response:
    """A video of yours, or an uploaded clip, followed by `seconds` more."""
    body = await read_body(request)
    services = services_of(request)
    source = _video_source(body)
    if isinstance(source, UploadFile):
        return await run_in_threadpool(
            _derive_from_clip, services, owner, source, "extension", body
        )
    return await run_in_threadpool(_derive, services, owner, source, "extension", body)


def _video_source(body: dict[str, Any]) -> str | UploadFile:
    """The id of a video of the caller's, or an uploaded video file (the official SDK's)."""
    video = body.get("video")
    if isinstance(video, UploadFile):
        return video
    if isinstance(video, dict) and isinstance(video.get("id"), str):
        return str(video["id"])
    if isinstance(video, str) and video.startswith("video_"):
        return video
    raise TroupeError(
        "invalid_request",
        "video must be an uploaded video file, or a completed video of yours as {'id': 'video_…'}",
        param="video",
    )


def _derive_from_clip(
    services: Services, owner: str, upload: UploadFile, origin: str, body: dict[str, Any]
) -> Response:
    """An edit or extension of an uploaded clip, which plays the source video's part: the
    plate an edit is drawn over, or the footage an extension continues. The clip is vetted
    as a character source is; a refused request leaves nothing of it behind."""
    wanted = _clip_request(services, body, origin)  # checked before a byte is stored
    video_id = new_id("video")
    key = save_upload(
        upload, services.blobs, f"uploads/{video_id}-video", services.settings.max_upload_bytes
    )
    try:
        order = _clip_order(services, wanted, origin, key)
        video, task = submit_video(
            services.db, services.worker, services.admission, owner, order, video_id
        )
    except BaseException:
        services.blobs.delete(key)  # no job will ever read it
        raise
    return video_response(services, video, task)


def _clip_request(services: Services, body: dict[str, Any], origin: str) -> VideoRequest:
    """What the body asks of a clip's edit or extension; its size and length come from the
    clip (`_clip_order`). `seconds` is an extension's added seconds."""
    settings = services.settings
    prompt = check_prompt(body.get("prompt"), settings.max_prompt_chars)
    mentioned = tuple(find_mentions(prompt))
    if len(set(mentioned)) > settings.max_characters_per_video:
        raise TroupeError(
            "invalid_request",
            f"{len(set(mentioned))} characters requested; "
            f"at most {settings.max_characters_per_video} fit in one video",
            param="prompt",
        )
    return VideoRequest(
        prompt=prompt,
        model=check_video_model(body.get("model"), limits_of(services)),
        seconds=check_seconds(body.get("seconds"), 4) if origin == "extension" else 0,
        size="",
        listed=(),
        mentioned=mentioned,
        inline=None,
        reference_url=None,
        reference_upload=None,
    )


def _clip_order(services: Services, wanted: VideoRequest, origin: str, key: str) -> VideoOrder:
    """The order once the stored clip passed the sandboxed probe: rendered at the API size
    nearest the clip's; an edit as long as the clip, an extension `seconds` after it."""
    clip = vet_clip(services.blobs.path(key), services.access)
    length = whole_seconds(clip.duration)
    if length + wanted.seconds > MAX_EXTENDED_SECONDS:
        raise TroupeError(
            "invalid_request",
            f"the extended video would be {length + wanted.seconds}s; "
            f"at most {MAX_EXTENDED_SECONDS}s is made",
            param="seconds",
        )
    seconds = wanted.seconds if origin == "extension" else length
    return VideoOrder(
        request=dataclasses.replace(wanted, seconds=seconds, size=render_size(clip)),
        backend=services.settings.backend_by_model[wanted.model],
        origin=origin,
        clip_key=key,
        clip_seconds=clip.duration,
    )


def _derive(
    services: Services, owner: str, source_id: str, origin: str, body: dict[str, Any]
) -> Response:
    """A remix, edit or extension: the source's cast, model and size with a new prompt."""
    source, task = find_video(services, owner, source_id, param="video")
    require_completed(task, param="video")
    prompt = check_prompt(body.get("prompt"), services.settings.max_prompt_chars)
    seconds = source.seconds
    if origin == "extension":
        seconds = check_seconds(body.get("seconds"), 4)
        if source.seconds + seconds > MAX_EXTENDED_SECONDS:
            raise TroupeError(
                "invalid_request",
                f"the extended video would be {source.seconds + seconds}s; "
                f"at most {MAX_EXTENDED_SECONDS}s is made",
                param="seconds",
            )
    earlier = str(task.request.get("prompt", ""))
    wanted = VideoRequest(
        prompt=prompt,
        model=source.model,
        seconds=seconds,
        size=source.size,
        listed=(),
        mentioned=tuple(find_mentions(prompt)),
        inline=None,
        reference_url=None,
        reference_upload=None,
    )
    order = VideoOrder(
        request=wanted,
        backend=services.settings.backend_by_model.get(source.model, source.backend),
        origin=origin,
        source=source,
        inherited_cast=tuple(entry["id"] for entry in source.cast),
        # The prompt parser takes the first place, time, weather and verb it meets: the new
        # words go first so they win, and the source's words fill in what they leave unsaid.
        extra={"prompt": f"{prompt}\n{earlier}"},
    )
    return order_video(services, owner, order, new_id("video"))
