"""An uploaded video as the source of an edit or extension: vetted in the sandbox while the
request waits, and the size and length of the video made from it."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from troupe.characters.sources import SourceAccess
from troupe.media.sandbox import run_sandboxed
from troupe.videos.intake import SIZES

if TYPE_CHECKING:
    from troupe.render.clip import ClipInfo


def vet_clip(path: Path, access: SourceAccess) -> ClipInfo:
    """The clip's length and upright size, under a character source's limits (containers,
    codecs, frame size, at most `max_source_seconds`); refused with unsupported_media or
    video_too_long otherwise."""
    # Imported here: decoding brings PyAV and OpenCV, which a server that never receives a
    # clip does not need.
    from troupe.render.clip import inspect_clip

    rules = access.rules
    return run_sandboxed(
        access.decode_limits, inspect_clip, path, rules.max_seconds, rules.max_frame_pixels
    )


def render_size(clip: ClipInfo) -> str:
    """The API size nearest the clip's shape: the closest aspect ratio, then the closest
    pixel count. The clip is scaled to cover it and centre-cropped, so a 16:9 or 9:16 clip
    loses nothing, and every derived video keeps a size the API documents."""

    def distance(size: str) -> tuple[float, float]:
        width, height = (int(side) for side in size.split("x"))
        shape = abs(math.log((clip.width / clip.height) / (width / height)))
        area = abs(math.log((clip.width * clip.height) / (width * height)))
        return round(shape, 3), area

    return min(SIZES, key=distance)


def whole_seconds(seconds: float) -> int:
    """A clip's length as the API's whole `seconds`: the nearest, at least 1."""
    return max(1, math.floor(seconds + 0.5))
