"""What a character's permalink shows to anyone: the files behind its URLs (profile picture,
references, voice clip, cut-out strip) and, for a public character, the character itself.

The files are served without a key, as CDN links are: the character id is unguessable, and
`<img src>` tags cannot send an Authorization header. The character object is served without
a key only once its owner made it public, so its permalink works in any browser.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from troupe.api.auth import public_character
from troupe.api.ranges import blob_response
from troupe.api.responses import settled_answer
from troupe.api.schemas import CharacterObject, character_object, error_answers
from troupe.api.services import base_url, services_of
from troupe.errors import TroupeError
from troupe.store import repo

router = APIRouter()

MEDIA_TYPES = {
    "profile": "image/jpeg",
    "voice": "audio/mp4",
    "references": "image/png",
    "motion": "application/zip",
}
ERRORS = error_answers(404, 429)


def character_file(
    request: Request, character_id: str, role: str, index: int | None = None
) -> Response:
    services = services_of(request)
    with services.db.transaction() as session:
        row = repo.get_live_character_by_id(session, character_id)
    blobs = row.blobs if row else {}
    key = blobs.get(role)
    if isinstance(key, list):
        key = key[index] if index is not None and 0 <= index < len(key) else None
    missing = TroupeError("character_not_found", f"no such file for character {character_id!r}")
    if not key:
        raise missing
    return blob_response(
        request,
        services.blobs,
        key,
        services.settings.blob_presign_seconds,
        missing,
        media_type=MEDIA_TYPES[role],
        headers={"Cache-Control": "public, max-age=31536000, immutable"},
    )


@router.get("/v1/characters/{character_id}/profile.jpg", include_in_schema=False)
def profile_picture(request: Request, character_id: str) -> Response:
    return character_file(request, character_id, "profile")


@router.get("/v1/characters/{character_id}/references/{index}.png", include_in_schema=False)
def reference_image(request: Request, character_id: str, index: int) -> Response:
    return character_file(request, character_id, "references", index)


@router.get("/v1/characters/{character_id}/voice.m4a", include_in_schema=False)
def voice_clip(request: Request, character_id: str) -> Response:
    return character_file(request, character_id, "voice")


@router.get("/v1/characters/{character_id}/motion.zip", include_in_schema=False)
def motion_strip(request: Request, character_id: str) -> Response:
    return character_file(request, character_id, "motion")


@router.get(
    "/v1/public/characters/{character_ref}",
    response_model=CharacterObject,
    responses=ERRORS,
    summary="Read a public character without a key (its permalink's page does)",
)
def get_public_character(request: Request, character_ref: str) -> Response:
    """Anyone's public character by id or `@username`, no key asked; nothing else is public."""
    services = services_of(request)
    with services.db.transaction() as session:
        row = public_character(session, character_ref)
        if row is None:
            raise TroupeError(
                "character_not_found",
                f"no public character {character_ref!r}: it is private or does not exist",
                param="character_ref",
            )
        shown = character_object(row, base_url(request))
    return settled_answer(request, shown)
