"""One video job's files: render through a back end (over an uploaded plate), stitch extensions,
previews, scores."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from troupe.media.sandbox import DecodeLimits, run_sandboxed
from troupe.render.backend import Backend, RenderRequest
from troupe.store.blobs import BlobStore

if TYPE_CHECKING:
    from troupe.characters.fingerprint import Fingerprint

# Frames sampled per video to score consistency: a few seconds of SIFT on two cores at most.
SCORED_FRAMES = 8
# How the job's progress (0-100) is shared out between its steps.
RENDER_SPAN = (10, 80)
SCORE_AT = 85
# Every back end renders at 24 fps: an edit's plate and an extended clip are remade at it.
PLATE_FPS = 24


@dataclass(frozen=True)
class UploadedClip:
    """A caller's clip standing in for the source video: an edit's plate, or (`extends`) the
    footage an extension continues. It is untrusted, so it is remade in the sandbox first."""

    path: Path
    extends: bool
    limits: DecodeLimits
    max_frame_pixels: int


@dataclass(frozen=True)
class RenderJob:
    request: RenderRequest
    fingerprints: dict[str, Fingerprint]  # character id -> fingerprint
    extends: Path | None  # an extension's source video, which comes first
    clip: UploadedClip | None = None


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
    # Imported in the first job that renders: decoding, scoring and the picture writers bring
    # PyAV, OpenCV and Pillow, which a server does not load to answer requests.
    from troupe.characters.consistency import score_cast
    from troupe.render.previews import preview_frames, write_spritesheet, write_thumbnail
    from troupe.render.stitch import stitch

    low, high = RENDER_SPAN
    with blobs.scratch_dir() as scratch_name:
        scratch = Path(scratch_name)
        rendered = scratch / "rendered.mp4"
        request = job.request
        clip = job.clip
        if clip is not None and not clip.extends:
            plate = scratch / "plate.mp4"
            size = (request.width, request.height)
            _prepare(clip, plate, size, PLATE_FPS, request.seconds)
            request = replace(request, plate=plate)
        head = job.extends
        if clip is not None and clip.extends:
            # At the render's own size and rate, so the stitch only joins.
            head = scratch / "head.mp4"
            _prepare(clip, head, (request.width, request.height), PLATE_FPS, None)
        request = replace(request, continues=head)
        backend.render(request, rendered, lambda share: progress(low + round(share * (high - low))))
        final = rendered
        if head is not None:
            final = scratch / "extended.mp4"
            stitch(head, rendered, final)
        progress(SCORE_AT)
        frames, duration = preview_frames(final)
        consistency = score_cast(job.fingerprints, frames, SCORED_FRAMES)
        write_thumbnail(frames, duration, scratch / "thumbnail.webp")
        write_spritesheet(frames, scratch / "spritesheet.jpg")
        keys = {
            role: blobs.put_file(f"{prefix}/{name}", scratch / name)
            for role, name in (("thumbnail", "thumbnail.webp"), ("spritesheet", "spritesheet.jpg"))
        }
        keys["video"] = blobs.put_file(f"{prefix}/video.mp4", final)
    return RenderedVideo(blobs=keys, consistency=consistency)


def _prepare(
    clip: UploadedClip, dest: Path, size: tuple[int, int], fps: int, seconds: float | None
) -> None:
    """The uploaded clip remade as our own MP4, decoded in a sandboxed child."""
    from troupe.render.clip import prepare_clip  # see render_video

    run_sandboxed(
        clip.limits, prepare_clip, clip.path, dest, size, fps, seconds, clip.max_frame_pixels
    )
