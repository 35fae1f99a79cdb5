"""Reading a video request (official SDK or reseller shape) into one checked value."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from typing import Any

from starlette.datastructures import UploadFile

from troupe.characters.attestation import ATTEST_FIELD, read_attestation
from troupe.characters.intake import check_fields, check_name, check_source_url
from troupe.characters.mentions import find_mentions
from troupe.characters.timestamps import parse_timestamps
from troupe.characters.usernames import check_username
from troupe.errors import TroupeError

SIZES = ("720x1280", "1280x720", "1024x1792", "1792x1024", "1080x1920", "1920x1080")
# The official API's 4-20 s, and the 10 and 15 that resellers send.
SECONDS = (4, 8, 10, 12, 15, 16, 20)
DEFAULT_SECONDS = 4
DEFAULT_SIZE = "720x1280"
# `resolution` (seed 003) with the orientation `size` gives, landscape when it gives none.
RESOLUTIONS = {"720p": ("1280x720", "720x1280"), "1080p": ("1920x1080", "1080x1920")}
TASK_PREFIXES = ("task_", "video_")
# Every field a documented client sends; anything else is refused rather than ignored.
FIELDS = frozenset(
    {
        "prompt",
        "model",
        "seconds",
        "duration",
        "size",
        "resolution",
        "input_reference",
        "characters",
        "character_ids",
        "character_url",
        "character_timestamps",
        "character_from_task",
        "character_name",
        "character_username",
        ATTEST_FIELD,
    }
)


@dataclass(frozen=True)
class VideoLimits:
    models: Collection[str]
    default_model: str
    aliases: Mapping[str, str]
    max_prompt_chars: int
    max_characters: int


@dataclass(frozen=True)
class InlineCharacter:
    """A character the video job creates first (`character_url` / `character_from_task`)."""

    source: dict[str, Any]  # {"type": "url", "url"} | {"type": "task", "task_id"}
    timestamps: str | None
    name: str | None
    username: str | None
    attested: bool = False  # `attest_original_character` (see characters.doubts)


@dataclass(frozen=True)
class VideoRequest:
    prompt: str
    model: str
    seconds: int
    size: str
    listed: tuple[str, ...]  # ids or usernames from `characters` / `character_ids`
    mentioned: tuple[str, ...]  # `@handles` found in the prompt
    inline: InlineCharacter | None
    reference_url: str | None  # `input_reference: {"image_url": ...}`
    reference_upload: UploadFile | None

    @property
    def width(self) -> int:
        return int(self.size.split("x")[0])

    @property
    def height(self) -> int:
        return int(self.size.split("x")[1])


def _invalid(message: str, param: str | None) -> TroupeError:
    return TroupeError("invalid_request", message, param=param)


def read_video_request(body: dict[str, Any], limits: VideoLimits) -> VideoRequest:
    check_fields(body, FIELDS)
    prompt = check_prompt(body.get("prompt"), limits.max_prompt_chars)
    inline = _inline_character(body)
    mentioned = tuple(
        handle for handle in find_mentions(prompt) if inline is None or handle != inline.username
    )
    request = VideoRequest(
        prompt=prompt,
        model=check_video_model(body.get("model"), limits),
        seconds=_seconds_or_duration(body),
        size=_size_at_resolution(check_size(body.get("size")), body.get("resolution")),
        listed=_listed_characters(body),
        mentioned=mentioned,
        inline=inline,
        reference_url=None,
        reference_upload=None,
    )
    request = _with_input_reference(request, body.get("input_reference"))
    count = len({*request.listed, *request.mentioned}) + (inline is not None)
    if count > limits.max_characters:
        raise _invalid(
            f"{count} characters requested; at most {limits.max_characters} fit in one video",
            "characters",
        )
    return request


def check_prompt(prompt: object, max_chars: int) -> str:
    if not isinstance(prompt, str) or not prompt.strip():
        raise _invalid("prompt is required: describe the video to make", "prompt")
    if len(prompt) > max_chars:
        raise _invalid(f"prompt is {len(prompt)} characters; the limit is {max_chars}", "prompt")
    if "\x00" in prompt:  # PostgreSQL stores no NUL in text
        raise _invalid("prompt must not contain a NUL character", "prompt")
    return prompt.strip()


def check_video_model(model: object, limits: VideoLimits) -> str:
    if model is None or model == "":
        return limits.default_model
    if isinstance(model, str):
        model = limits.aliases.get(model, model)
    if not isinstance(model, str) or model not in limits.models:
        allowed = ", ".join(sorted({*limits.models, *limits.aliases}))
        raise _invalid(f"model {model!r} is not served here; use one of {allowed}", "model")
    return model


def check_seconds(seconds: object, default: int, param: str = "seconds") -> int:
    if seconds is None or seconds == "":
        return default
    text = str(seconds).strip()
    if not text.isascii() or not text.isdigit() or int(text) not in SECONDS:
        allowed = ", ".join(str(value) for value in SECONDS)
        raise _invalid(f"{param} must be one of {allowed}, got {seconds!r}", param)
    return int(text)


def _seconds_or_duration(body: dict[str, Any]) -> int:
    """`duration` (seeds 001, 003) is `seconds` under another name; both must agree."""
    seconds, duration = body.get("seconds"), body.get("duration")
    if duration is None or duration == "":
        return check_seconds(seconds, DEFAULT_SECONDS)
    if seconds not in (None, "") and str(seconds).strip() != str(duration).strip():
        raise _invalid(
            f"seconds {seconds!r} and duration {duration!r} disagree; give one", "duration"
        )
    return check_seconds(duration, DEFAULT_SECONDS, param="duration")


def _size_at_resolution(size: str | None, resolution: object) -> str:
    """`resolution: "1080p"` scales `size` (or a landscape frame when no size is given)."""
    if resolution is None or resolution == "":
        return size or DEFAULT_SIZE
    key = str(resolution).strip().lower()
    if key not in RESOLUTIONS:
        allowed = ", ".join(RESOLUTIONS)
        raise _invalid(f"resolution must be one of {allowed}, got {resolution!r}", "resolution")
    landscape, portrait = RESOLUTIONS[key]
    if size is None:
        return landscape
    width, height = (int(side) for side in size.split("x"))
    return portrait if height > width else landscape


def check_size(size: object) -> str | None:
    """A listed size, or None when the client gives none."""
    if size is None or size == "":
        return None
    if not isinstance(size, str) or size.strip().lower() not in SIZES:
        raise _invalid(f"size must be one of {', '.join(SIZES)}, got {size!r}", "size")
    return size.strip().lower()


def _listed_characters(body: dict[str, Any]) -> tuple[str, ...]:
    """`characters: [{"id": ...}]` (official), plain ids, or `character_ids`; in order, once."""
    refs: list[str] = []
    for field in ("characters", "character_ids"):
        raw = body.get(field)
        if raw is None or raw == "":
            continue
        for item in raw if isinstance(raw, list) else [raw]:
            ref = item.get("id") if isinstance(item, dict) else item
            if not isinstance(ref, str) or not ref.strip():
                raise _invalid(f"{field} must list character ids, e.g. [{{'id': 'char_…'}}]", field)
            normalised = ref.strip().removeprefix("@")
            if normalised not in refs:
                refs.append(normalised)
    return tuple(refs)


def _inline_character(body: dict[str, Any]) -> InlineCharacter | None:
    url, task_id = body.get("character_url"), body.get("character_from_task")
    attested = read_attestation(body.get(ATTEST_FIELD))
    if url and task_id:
        raise _invalid("give one of character_url and character_from_task", "character_url")
    if not url and not task_id:
        if attested:
            raise _invalid(
                f"{ATTEST_FIELD} vouches for a character made here: it needs character_url "
                "or character_from_task",
                ATTEST_FIELD,
            )
        return None
    if isinstance(url, str) and url.strip().startswith(TASK_PREFIXES):
        # Seed 004 passes the id of a finished task as `character_url`.
        source: dict[str, Any] = {"type": "task", "task_id": url.strip(), "param": "character_url"}
    elif url:
        source = {"type": "url", "url": _source_url(url, "character_url")}
    elif isinstance(task_id, str):
        source = {"type": "task", "task_id": task_id}
    else:
        raise _invalid("character_from_task must be a video id", "character_from_task")
    raw_window = body.get("character_timestamps")
    username = body.get("character_username")
    return InlineCharacter(
        source=source,
        timestamps=None if raw_window in (None, "") else str(parse_timestamps(raw_window)),
        name=check_name(body.get("character_name")),
        username=None if username in (None, "") else check_username(username),
        attested=attested,
    )


def _source_url(url: object, param: str) -> str:
    """A character source's URL rules, the refusal naming this request's field."""
    try:
        return check_source_url(url)
    except TroupeError as error:
        raise TroupeError(error.code, error.message, param=param) from error


def _with_input_reference(request: VideoRequest, raw: object) -> VideoRequest:
    if raw is None or raw == "":
        return request
    if isinstance(raw, UploadFile):
        return replace(request, reference_upload=raw)
    if isinstance(raw, dict) and isinstance(raw.get("image_url"), str):
        return replace(
            request, reference_url=_source_url(raw["image_url"], "input_reference.image_url")
        )
    if isinstance(raw, dict) and "file_id" in raw:
        raise _invalid(
            "troupe has no Files API, so input_reference.file_id cannot be resolved; "
            "upload the image or give input_reference.image_url",
            "input_reference",
        )
    raise _invalid(
        "input_reference must be an uploaded image or {'image_url': ...}", "input_reference"
    )
