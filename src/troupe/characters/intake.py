"""Reading a character-creation request from any of the wire shapes into one checked value."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from troupe.characters.attestation import ATTEST_FIELD, read_attestation
from troupe.characters.timestamps import parse_timestamps
from troupe.characters.usernames import check_username
from troupe.errors import TroupeError

CHARACTER_MODELS = ("sora-character", "sora-2-character")
# Task-style resellers (seed 003) create characters with a video model and a character source.
VIDEO_MODELS = ("sora-2", "sora-2-pro", "sora-2-vip")
MAX_NAME_LENGTH = 80
# The seeds' creation fields (and the aliases resellers use); anything else is refused.
JSON_FIELDS = frozenset(
    {
        "model",
        "url",
        "video_url",
        "from_task",
        "video_id",
        "timestamps",
        "name",
        "username",
        "async",
        "prompt",
        ATTEST_FIELD,
    }
)


@dataclass(frozen=True)
class CreationRequest:
    """A creation request in troupe's own terms, whatever route and shape it came in."""

    model: str
    source: dict[
        str, Any
    ]  # {"type": "url", "url"} | {"type": "task", "task_id"} | {"type": "upload"}
    timestamps: str | None  # normalised "start,end", or None for "find the best window"
    name: str | None
    username: str | None
    # `attest_original_character`: the caller vouches that an uncertain subject is no real
    # person (only keys with the right may; the API checks that).
    attested: bool = False

    def to_task_request(self, character_id: str) -> dict[str, Any]:
        request = {
            "character_id": character_id,
            "source": self.source,
            "timestamps": self.timestamps,
            "name": self.name,
            "username": self.username,
        }
        return {**request, "attested": True} if self.attested else request


def _invalid(message: str, param: str | None) -> TroupeError:
    return TroupeError("invalid_request", message, param=param)


def check_fields(body: dict[str, Any], accepted: frozenset[str]) -> None:
    """Refuse a field this server would not act on: a client must not lose a setting silently."""
    unknown = sorted(field for field in body if field not in accepted)
    if unknown:
        raise _invalid(
            f"unknown field {unknown[0]!r}; accepted fields: {', '.join(sorted(accepted))}",
            unknown[0],
        )


def check_model(model: object, default: str) -> str:
    if model is None or model == "":
        return default
    if not isinstance(model, str) or model not in (*CHARACTER_MODELS, *VIDEO_MODELS):
        allowed = ", ".join((*CHARACTER_MODELS, *VIDEO_MODELS))
        raise _invalid(f"model {model!r} cannot create characters; use one of {allowed}", "model")
    return model


def check_name(name: object) -> str | None:
    if name is None:
        return None
    if not isinstance(name, str) or not name.strip():
        raise _invalid("name must be a non-empty string", "name")
    if len(name.strip()) > MAX_NAME_LENGTH:
        raise _invalid(f"name must be at most {MAX_NAME_LENGTH} characters", "name")
    if "\x00" in name:  # PostgreSQL stores no NUL in text: the job would fail saving it
        raise _invalid("name must not contain a NUL character", "name")
    return name.strip()


def check_source_url(url: object) -> str:
    if not isinstance(url, str) or not url.strip():
        raise _invalid("url must be a non-empty string", "url")
    try:
        parts = urlsplit(url.strip())
    except ValueError as error:  # an unclosed "[" of an IPv6 host, for one
        raise TroupeError("url_not_allowed", f"url {url!r} is malformed", param="url") from error
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise TroupeError(
            "url_not_allowed", f"url must be an http or https address, got {url!r}", param="url"
        )
    return url.strip()


def _optional_timestamps(raw: object) -> str | None:
    return None if raw is None else str(parse_timestamps(raw))


def _optional_username(raw: object) -> str | None:
    return None if raw is None or raw == "" else check_username(raw)


def read_json_request(body: object) -> CreationRequest:
    """The seeds' JSON: `url` (or `video_url`) xor `from_task` (or `video_id`), `timestamps`."""
    if not isinstance(body, dict):
        raise _invalid("the request body must be a JSON object", None)
    check_fields(body, JSON_FIELDS)
    if body.get("prompt"):
        # Seed 004: "prompt is not required in this mode"; one that is sent would be lost.
        raise _invalid(
            "a character is made from its source video alone, so prompt is not used here; "
            "drop it, and mention the character in a video's prompt later",
            "prompt",
        )
    url = body.get("url") or body.get("video_url")
    task_id = body.get("from_task") or body.get("video_id")
    if url and task_id:
        raise _invalid("give exactly one of url and from_task, not both", "url")
    if not url and not task_id:
        raise _invalid("give exactly one of url and from_task", "url")
    if url:
        source: dict[str, Any] = {"type": "url", "url": check_source_url(url)}
    else:
        if not isinstance(task_id, str):
            raise _invalid("from_task must be a task or video id string", "from_task")
        source = {"type": "task", "task_id": task_id}
    return CreationRequest(
        model=check_model(body.get("model"), CHARACTER_MODELS[0]),
        source=source,
        timestamps=_optional_timestamps(body.get("timestamps")),
        name=check_name(body.get("name")),
        username=_optional_username(body.get("username")),
        attested=read_attestation(body.get(ATTEST_FIELD)),
    )


def read_upload_request(
    name: object,
    timestamps: object,
    username: object,
    filename: str | None,
    attest: object = None,
) -> CreationRequest:
    """The official SDK's multipart form (`timestamps` is troupe's). The SDK always sends
    `name`; troupe lets it out, and then names the character after the uploaded file."""
    return CreationRequest(
        model=CHARACTER_MODELS[0],
        source={"type": "upload", "filename": filename},
        timestamps=_optional_timestamps(timestamps or None),
        name=check_name(name),
        username=_optional_username(username),
        attested=read_attestation(attest),
    )
