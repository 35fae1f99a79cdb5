"""Getting a source video onto local disk: a fetched URL, a stored upload, or a job's video."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from troupe.errors import TroupeError
from troupe.media.fetch import FetchLimits, fetch_to_file
from troupe.media.sandbox import DecodeLimits
from troupe.settings import Settings
from troupe.store.blobs import BlobStore


@dataclass(frozen=True)
class SourceRules:
    """What a source video must be: at most this long, with sound if required, and frames no
    larger than this."""

    max_seconds: float
    require_audio: bool
    max_frame_pixels: int


@dataclass(frozen=True)
class SourceAccess:
    """What reading a source needs: the blob store, and the limits on fetching and decoding."""

    blobs: BlobStore
    fetch_limits: FetchLimits
    rules: SourceRules
    decode_limits: DecodeLimits

    @classmethod
    def from_settings(cls, settings: Settings, blobs: BlobStore) -> SourceAccess:
        return cls(
            blobs=blobs,
            fetch_limits=FetchLimits(
                max_bytes=settings.max_download_bytes,
                timeout_seconds=settings.fetch_timeout_seconds,
                max_redirects=settings.fetch_max_redirects,
                allowed_hosts=frozenset(host.lower() for host in settings.allowed_hosts),
            ),
            rules=SourceRules(
                max_seconds=settings.max_source_seconds,
                require_audio=settings.require_audio,
                max_frame_pixels=settings.max_frame_pixels,
            ),
            decode_limits=DecodeLimits.from_settings(settings),
        )


def local_source(source: dict[str, Any], access: SourceAccess, stack: ExitStack) -> Path:
    """A local path to the source's bytes; downloads live in scratch space closed by `stack`."""
    if source["type"] == "upload":
        return access.blobs.local(source["upload_key"])
    if source["type"] == "url":
        scratch = Path(stack.enter_context(access.blobs.scratch_dir()))
        target = scratch / "source"
        fetch_to_file(source["url"], target, access.fetch_limits)
        return target
    try:
        return access.blobs.local(source["video_key"])
    except FileNotFoundError:  # deleted or expired since the request was accepted
        raise TroupeError(
            "video_not_found",
            f"video {source.get('task_id')} has no file any more",
            param="from_task",
        ) from None
