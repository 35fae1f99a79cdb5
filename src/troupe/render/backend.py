"""The interface every render back end implements, free of any one back end's details."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

# Progress as a fraction in [0, 1] of the back end's own work.
RenderProgress = Callable[[float], None]


@dataclass(frozen=True)
class CastMember:
    """A character as a back end sees it."""

    id: str
    username: str
    display_name: str
    cutouts: tuple[Path, ...]  # RGBA PNGs of the subject (alpha = its mask), best first
    voice: Path | None  # AAC .m4a clip from the character's source, if it had sound
    # Its window cut out frame by frame (`media.strip`), for its own motion; older characters
    # have none.
    motion: Path | None = None


@dataclass(frozen=True)
class RenderRequest:
    prompt: str
    cast: tuple[CastMember, ...]
    seconds: int
    width: int
    height: int
    input_reference: Path | None = None  # an image that guides the first frame / the scene
    seed: int = 0
    # A clip (ours, from `render.clip.prepare_clip`: this size, `seconds` long) that is the
    # background frame by frame, the camera at rest, its sound under the voices: an edit.
    plate: Path | None = None
    # A video (ours, this size, 24 fps) that this render continues, an extension's source: a
    # back end may start from its last frames; the result is joined after it either way.
    continues: Path | None = None


class Backend(Protocol):
    """Turns a request into an MP4 (H.264 + AAC, exactly width x height, `seconds` long)."""

    name: str

    def render(self, request: RenderRequest, dest: Path, progress: RenderProgress) -> None: ...
