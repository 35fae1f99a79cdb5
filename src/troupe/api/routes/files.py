"""The files behind a character's URLs: profile picture, references, voice clip.

They are served without a key, as CDN links are: the character id is unguessable, and
`<img src>` tags cannot send an Authorization header.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

from troupe.api.services import services_of
from troupe.errors import TroupeError
from troupe.store import repo

router = APIRouter()

MEDIA_TYPES = {"profile": "image/jpeg", "voice": "audio/mp4", "references": "image/png"}


def character_file(
    request: Request, character_id: str, role: str, index: int | None = None
) -> FileResponse:
    services = services_of(request)
    with services.db.transaction() as session:
        row = repo.get_live_character_by_id(session, character_id)
    blobs = row.blobs if row else {}
    key = blobs.get(role)
    if isinstance(key, list):
        key = key[index] if index is not None and 0 <= index < len(key) else None
    if not key or not services.blobs.exists(key):
        raise TroupeError("character_not_found", f"no such file for character {character_id!r}")
    return FileResponse(
        services.blobs.path(key),
        media_type=MEDIA_TYPES[role],
        headers={"Cache-Control": "public, max-age=31536000, immutable"},
    )


@router.get("/v1/characters/{character_id}/profile.jpg", include_in_schema=False)
def profile_picture(request: Request, character_id: str) -> FileResponse:
    return character_file(request, character_id, "profile")


@router.get("/v1/characters/{character_id}/references/{index}.png", include_in_schema=False)
def reference_image(request: Request, character_id: str, index: int) -> FileResponse:
    return character_file(request, character_id, "references", index)


@router.get("/v1/characters/{character_id}/voice.m4a", include_in_schema=False)
def voice_clip(request: Request, character_id: str) -> FileResponse:
    return character_file(request, character_id, "voice")
