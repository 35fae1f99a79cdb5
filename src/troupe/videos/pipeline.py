"""One video job's files: render through a back end, stitch extensions, previews, scores."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from troupe.characters.consistency import score_cast
from troupe.characters.fingerprint import Fingerprint
from troupe.render.backend import Backend, RenderRequest
from troupe.render.previews import write_spritesheet, write_thumbnail
from troupe.render.stitch import stitch
from troupe.store.blobs import BlobStore

# Frames sampled per video to score consistency: a few seconds of SIFT on two cores at most.
SCORED_FRAMES = 8
# How the job's progress (0-100) is shared out between its steps.
RENDER_SPAN = (10, 80)
SCORE_AT = 85


@dataclass(frozen=True)
class RenderJob:
    request: RenderRequest
    fingerprints: dict[str, Fingerprint]  # character id -> fingerprint
    extends: Path | None  # an extension's source video, which comes first


@dataclass(frozen=True)
class RenderedVideo:
    blobs: dict[str, str]  # video, thumbnail, spritesheet -> blob key
    consistency: dict[str, float]  # character id -> score in [0, 1]


def video_blob_prefix(video_id: str) -> str:
    return f"videos/{video_id}"


def render_video(
    job: RenderJob,
    backend: Backend,
    blobs: BlobStore,
    prefix: str,
    progress: Callable[[int], None],
) -> RenderedVideo:
    """Render, then keep the MP4, a WebP thumbnail and a JPEG spritesheet under `prefix`."""
    low, high = RENDER_SPAN
    with blobs.scratch_dir() as scratch_name:
        scratch = Path(scratch_name)
        rendered = scratch / "rendered.mp4"
        backend.render(
            job.request, rendered, lambda share: progress(low + round(share * (high - low)))
        )
        final = rendered
        if job.extends is not None:
            final = scratch / "extended.mp4"
            stitch(job.extends, rendered, final)
        progress(SCORE_AT)
        consistency = score_cast(job.fingerprints, final, SCORED_FRAMES)
        write_thumbnail(final, scratch / "thumbnail.webp")
        write_spritesheet(final, scratch / "spritesheet.jpg")
        keys = {
            role: blobs.put_file(f"{prefix}/{name}", scratch / name)
            for role, name in (("thumbnail", "thumbnail.webp"), ("spritesheet", "spritesheet.jpg"))
        }
        keys["video"] = blobs.put_file(f"{prefix}/video.mp4", final)
    return RenderedVideo(blobs=keys, consistency=consistency)
