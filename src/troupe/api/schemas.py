"""The wire format: request bodies and response objects as clients of the seeds and SDK see them."""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from troupe.api.text import refuse_lone_surrogates
from troupe.characters.timestamps import Window, round_seconds
from troupe.errors import ERROR_CODES
from troupe.store.tables import Character, Review, Task, Video

ATTEST_DESCRIPTION = (
    "true: you vouch that the subject is an original character, not a real person, which lets "
    "through a subject the screening is uncertain about (never one it sees as a real person). "
    "Only keys created with `troupe keys create --may-attest` may send true"
)

# --- requests ---------------------------------------------------------------------------


class RequestBody(BaseModel):
    """A body FastAPI reads as JSON: text that cannot be stored is refused before any field is
    read (the hand-read bodies get the same check in `api.forms.read_body`)."""

    @model_validator(mode="before")
    @classmethod
    def _storable_text(cls, data: Any) -> Any:
        # A TroupeError passes through pydantic untouched, so the answer names the field
        # (`name`, `video.id`); a ValueError would be reported against the whole body.
        refuse_lone_surrogates(data)
        return data


class CharacterCreateBody(RequestBody):
    """JSON body of the seeds' creation routes; a field not listed here is refused."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    model: str | None = Field(None, examples=["sora-2-character"])
    url: str | None = Field(None, description="Public http(s) URL of the source video")
    video_url: str | None = Field(None, description="Alias of url (task-style resellers)")
    from_task: str | None = Field(None, description="A completed video job of yours")
    video_id: str | None = Field(None, description="Alias of from_task")
    timestamps: Any = Field(
        None,
        description='"start,end" in seconds, 1-3 s apart; omitted: the best window troupe finds',
        examples=["1,3"],
    )
    name: str | None = Field(
        None, description="Display name, 1-80 characters; default: from the URL's file name"
    )
    username: str | None = Field(None, description="Wanted @username; derived from name if absent")
    async_: bool = Field(False, alias="async", description="Answer 202 with a task at once")
    attest_original_character: bool | None = Field(None, description=ATTEST_DESCRIPTION)


class VideoCreateBody(RequestBody):
    """`POST /v1/videos`, as JSON or multipart (nested fields as `characters[][id]`)."""

    model_config = ConfigDict(extra="allow")

    prompt: str = Field(examples=["@acme_mascot skateboarding through a night market"])
    model: str | None = Field(None, examples=["sora-2"])
    seconds: str | None = Field(None, examples=["4"], description="4, 8, 10, 12, 15, 16 or 20")
    duration: int | str | None = Field(None, description="Alias of seconds (seeds 001, 003)")
    size: str | None = Field(None, examples=["1280x720"])
    resolution: str | None = Field(
        None, description='"720p" or "1080p": the size at that height, in the orientation of size'
    )
    input_reference: Any = Field(
        None, description="An uploaded image (multipart) or {image_url}; becomes the scene"
    )
    characters: list[Any] | None = Field(None, description='[{"id": "char_…"}] or plain ids')
    character_ids: list[str] | None = None
    character_url: str | None = Field(None, description="Create a character inline from a URL")
    character_timestamps: str | None = None
    character_from_task: str | None = Field(
        None, description="Create a character inline from a completed video of yours"
    )
    character_name: str | None = None
    character_username: str | None = None
    attest_original_character: bool | None = Field(
        None, description=f"For the inline character: {ATTEST_DESCRIPTION}"
    )


class VideoRemixBody(RequestBody):
    """`POST /v1/videos/{id}/remix`: the source's cast, model and size with a new prompt."""

    model_config = ConfigDict(extra="allow")

    prompt: str = Field(examples=["@acme_mascot skateboarding at dawn"])


class VideoEditBody(VideoRemixBody):
    """`POST /v1/videos/edits`: a remix that names its source in the body."""

    # A plain object rather than a nested model: the schema is inlined into the document
    # by hand, where a `$defs` reference would not resolve.
    video: dict[str, str] = Field(
        description='A completed video of yours: {"id": "video_…"}', examples=[{"id": "video_1"}]
    )


class VideoExtendBody(VideoEditBody):
    """`POST /v1/videos/extensions`: the source followed by `seconds` more."""

    seconds: str | None = Field(None, examples=["4"], description="4, 8, 10, 12, 15, 16 or 20")


# --- responses --------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None
    code: str


class ErrorBody(BaseModel):
    error: ErrorDetail


def answers_by_reference(answers: dict[int, type[BaseModel]]) -> dict[int | str, dict[str, Any]]:
    """A route's other answers for its OpenAPI document, as references to component schemas.

    FastAPI builds a validator for every `{"model": ...}` answer of every route when the route is
    declared, though only the document reads them: for the error answers of some forty routes
    that was a sixth of what importing the app cost. `document_answers` adds the schemas.
    """
    return {
        status: {
            "description": HTTPStatus(status).phrase,
            "content": {"application/json": {"schema": {"$ref": schema_ref(model.__name__)}}},
        }
        for status, model in answers.items()
    }


def error_answers(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return answers_by_reference(dict.fromkeys(statuses, ErrorBody))


def schema_ref(name: str) -> str:
    return f"#/components/schemas/{name}"


def referenced_schemas() -> dict[str, Any]:
    """The component schemas that `answers_by_reference` may point at and no route declares."""
    schema = ErrorBody.model_json_schema(ref_template=schema_ref("{model}"), mode="serialization")
    nested = schema.pop("$defs", {})
    return {"ErrorBody": schema, **nested}


class CharacterSource(BaseModel):
    type: Literal["url", "task", "upload"]
    url: str | None = None
    task_id: str | None = None
    timestamps: str


class CharacterLikeness(BaseModel):
    """Why a character the human screening was uncertain about was let through."""

    screening: Literal["uncertain"] = "uncertain"
    reason: str = Field(description="What the screening could not decide")
    attested: bool = Field(description="Its creator's key attested an original character")
    reviewed_at: int | None = Field(description="When an operator approved it, if one did")


class CharacterObject(BaseModel):
    id: str
    object: Literal["character"] = "character"
    character_id: str = Field(description="Same as id; the name seeds 001 and 003 read")
    task_id: str | None = Field(description="The task that created it, when one did")
    username: str
    display_name: str
    name: str
    created_at: int
    permalink: str
    profile_picture_url: str
    source: CharacterSource
    quality: dict[str, Any]
    references: list[str]
    voice_url: str | None
    motion_url: str | None = Field(
        default=None,
        description="troupe: the window cut out frame by frame, the character's own motion: a "
        "ZIP of RGBA PNGs and a manifest.json giving each one's time and feet",
    )
    visibility: Literal["private", "public"] = Field(
        description="public: other keys' owners may see it and mention it in their videos"
    )
    likeness: CharacterLikeness | None = Field(
        default=None,
        description="null when the screening was sure the subject is no real person; else why "
        "it was let through (an attestation, or an operator's review)",
    )


class VideoCharacter(BaseModel):
    id: str
    username: str | None
    consistency: float | None = Field(
        description="How consistently the character appears, 0-1; null until rendered"
    )
    warning: str | None = Field(
        default=None,
        description="Set when the consistency is so low that the character was hardly found",
    )


class VideoObject(BaseModel):
    id: str
    object: Literal["video"] = "video"
    created_at: int
    completed_at: int | None
    expires_at: int | None
    status: Literal["queued", "in_progress", "completed", "failed", "expired"]
    progress: int
    model: str
    backend: str = Field(description="The render back end that ran (or will run) this job")
    prompt: str
    seconds: str
    size: str
    remixed_from_video_id: str | None
    error: ErrorDetail | None
    characters: list[VideoCharacter]
    waiting_for: str | None = Field(
        default=None,
        description="While queued: the worker it waits for, when no running worker would take it",
    )


class VideoList(BaseModel):
    object: Literal["list"] = "list"
    data: list[VideoObject]
    first_id: str | None
    last_id: str | None
    has_more: bool


class VideoDeleted(BaseModel):
    id: str
    object: Literal["video.deleted"] = "video.deleted"
    deleted: bool = True


class LedgerEntryObject(BaseModel):
    id: int
    object: Literal["ledger.entry"] = "ledger.entry"
    kind: Literal["credit", "reserve", "charge", "refund"]
    amount: float = Field(description="US dollars")
    task_id: str | None
    description: str
    created_at: int


class UsageObject(BaseModel):
    object: Literal["usage"] = "usage"
    currency: Literal["usd"] = "usd"
    balance: float | None = Field(description="Prepaid balance; null when money never limits you")
    held: float = Field(description="Reserved for jobs that have not finished")
    charged: float
    refunded: float
    credited: float
    data: list[LedgerEntryObject] = Field(description="Ledger entries, newest first")
    has_more: bool


class TaskObject(BaseModel):
    id: str
    object: Literal["generation.task"] = "generation.task"
    kind: Literal["character", "video"] = Field(description="What the task makes (troupe's own)")
    model: str
    status: Literal["queued", "in_progress", "completed", "failed"]
    progress: int
    created_at: int
    completed_at: int | None
    result: CharacterObject | VideoObject | None
    character_id: str | None = Field(
        description="The character a completed character task made (seed 003 reads it here)"
    )
    error: ErrorDetail | None
    waiting_for: str | None = Field(
        default=None,
        description="While queued: the worker it waits for, when no running worker would take it",
    )


class TaskList(BaseModel):
    object: Literal["list"] = "list"
    data: list[TaskObject]
    first_id: str | None
    last_id: str | None
    has_more: bool


class CharacterList(BaseModel):
    object: Literal["list"] = "list"
    data: list[CharacterObject]
    first_id: str | None
    last_id: str | None
    has_more: bool


class WindowCandidateObject(BaseModel):
    timestamps: str
    start: float
    end: float
    score: float


class WindowList(BaseModel):
    object: Literal["list"] = "list"
    duration: float
    data: list[WindowCandidateObject]


class ReviewSource(BaseModel):
    type: Literal["url", "task", "upload"]
    url: str | None = None
    task_id: str | None = None
    filename: str | None = None


class ReviewObject(BaseModel):
    """A character task the screening was uncertain about, for operators to decide."""

    id: str = Field(description="The character task's id")
    object: Literal["character.review"] = "character.review"
    status: Literal["waiting", "approved", "rejected", "expired"]
    task_status: Literal["queued", "in_progress", "completed", "failed"]
    owner: str
    reason: str = Field(description="What the screening could not decide")
    evidence: list[str] = Field(
        description="JPEG frames with the doubtful region boxed (none once refused: they are "
        "removed with the rest of what extraction made)"
    )
    name: str | None = Field(description="The display name the request asked for")
    username: str | None = Field(description="The username the request asked for")
    source: ReviewSource
    timestamps: str = Field(description="The window the character was cut from")
    created_at: int
    expires_at: int = Field(description="When a review nobody decided fails (and is refunded)")
    decided_at: int | None
    decided_by: str | None = Field(description="The operator (or `troupe`, for an expiry)")
    why: str | None


class ReviewList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ReviewObject]
    first_id: str | None
    last_id: str | None
    has_more: bool


Page = TypeVar("Page", VideoList, TaskList, CharacterList, ReviewList)


def page_of(kind: type[Page], data: Sequence[Any], has_more: bool) -> Page:
    """One page of a list: its objects, and the ids at its ends that name the next pages."""
    return kind(
        data=list(data),
        first_id=data[0].id if data else None,
        last_id=data[-1].id if data else None,
        has_more=has_more,
    )


class ReviewDecision(RequestBody):
    """An operator's approval or rejection; `why` is kept with it and shown to the owner."""

    model_config = ConfigDict(extra="forbid")

    why: str | None = Field(None, max_length=2000, examples=["a drawn mascot"])


class CharacterUpdate(RequestBody):
    """The one thing about a character that may change: who may use it."""

    model_config = ConfigDict(extra="forbid")

    visibility: Literal["private", "public"]


class CharacterDeleted(BaseModel):
    id: str
    object: Literal["character.deleted"] = "character.deleted"
    deleted: bool = True


# --- building responses from rows -------------------------------------------------------


def character_file_url(base_url: str, character_id: str, filename: str) -> str:
    return f"{base_url}/v1/characters/{character_id}/{filename}"


# The quality report's times in seconds: stored as measured (a frame's exact time), rounded
# here, so characters made before rounding show alike.
QUALITY_TIMES = ("best_frame_time",)


def quality_report(quality: dict[str, Any]) -> dict[str, Any]:
    """A character's quality report as answers show it: times to the millisecond."""
    return {
        key: round_seconds(value) if key in QUALITY_TIMES and isinstance(value, float) else value
        for key, value in quality.items()
    }


def character_object(row: Character, base_url: str) -> CharacterObject:
    references = row.blobs.get("references", [])
    return CharacterObject(
        id=row.id,
        character_id=row.id,
        task_id=row.task_id,
        username=row.username,
        display_name=row.display_name,
        name=row.display_name,
        created_at=row.created_at,
        permalink=f"{base_url}/characters/{row.username}",
        profile_picture_url=character_file_url(base_url, row.id, "profile.jpg"),
        source=CharacterSource(
            type=row.source["type"],
            url=row.source.get("url"),
            task_id=row.source.get("task_id"),
            timestamps=row.source["timestamps"],
        ),
        quality=quality_report(row.quality),
        references=[
            character_file_url(base_url, row.id, f"references/{index}.png")
            for index in range(len(references))
        ],
        voice_url=character_file_url(base_url, row.id, "voice.m4a")
        if "voice" in row.blobs
        else None,
        motion_url=character_file_url(base_url, row.id, "motion.zip")
        if "motion" in row.blobs
        else None,
        visibility=row.visibility,  # type: ignore[arg-type]
        likeness=CharacterLikeness(**row.likeness) if row.likeness else None,
    )


def task_error(task: Task) -> ErrorDetail | None:
    if task.status != "failed" or task.error_code is None:
        return None
    return ErrorDetail(
        message=task.error_message or "",
        type=ERROR_CODES.get(task.error_code, (500, "api_error"))[1],
        param=task.error_param,
        code=task.error_code,
    )


def task_object(task: Task, result: CharacterObject | VideoObject | None) -> TaskObject:
    return TaskObject(
        id=task.id,
        kind=task.kind,  # type: ignore[arg-type]
        model=task.model,
        status=task.status,  # type: ignore[arg-type]
        progress=task.progress,
        created_at=task.created_at,
        completed_at=task.completed_at,
        result=result if task.status == "completed" else None,
        character_id=task.character_id if task.status == "completed" else None,
        error=task_error(task),
    )


def video_object(video: Video, task: Task) -> VideoObject:
    return VideoObject(
        id=video.id,
        created_at=video.created_at,
        completed_at=task.completed_at,
        expires_at=video.expires_at,
        status="expired" if video.expired_at is not None else task.status,  # type: ignore[arg-type]
        progress=task.progress,
        model=video.model,
        backend=video.backend,
        prompt=video.prompt,
        seconds=str(video.seconds),
        size=video.size,
        remixed_from_video_id=video.remixed_from_video_id,
        error=task_error(task),
        characters=[VideoCharacter(**entry) for entry in video.cast],
    )


def review_evidence_url(base_url: str, task_id: str, index: int) -> str:
    return f"{base_url}/v1/reviews/{task_id}/evidence/{index}.jpg"


def review_object(review: Review, task: Task, base_url: str) -> ReviewObject:
    source = task.request.get("source", {})
    start, end = review.files["window"]
    return ReviewObject(
        id=review.task_id,
        status=review.status,  # type: ignore[arg-type]
        task_status=task.status,  # type: ignore[arg-type]
        owner=review.owner,
        reason=review.reason,
        # A refused subject's frames were removed with its other files.
        evidence=[
            review_evidence_url(base_url, review.task_id, index)
            for index in range(len(review.evidence))
            if review.status in ("waiting", "approved")
        ],
        name=task.request.get("name"),
        username=task.request.get("username"),
        source=ReviewSource(
            type=source.get("type", "url"),
            url=source.get("url"),
            task_id=source.get("task_id"),
            filename=source.get("filename"),
        ),
        timestamps=str(Window(float(start), float(end))),
        created_at=review.created_at,
        expires_at=review.expires_at,
        decided_at=review.decided_at,
        decided_by=review.decided_by,
        why=review.why,
    )
