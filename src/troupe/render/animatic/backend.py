"""The `animatic` back end: the cast's cut-outs moving through a scene drawn from the prompt
(or over an edit's plate), with an ambience and their voices, encoded as H.264 + AAC. CPU only,
no model weights."""

from __future__ import annotations

from pathlib import Path

from troupe.render.backend import RenderProgress, RenderRequest


class AnimaticBackend:
    """Renders a request on the CPU; deterministic for a given request (seed included). With
    `acting`, characters act (`render.animatic.acting`)."""

    name = "animatic"

    def __init__(self, acting: bool = False) -> None:
        self.acting = acting

    def render(self, request: RenderRequest, dest: Path, progress: RenderProgress) -> None:
        # Imported on the first render: drawing brings NumPy, OpenCV and PyAV, which a server
        # does not load to build its back ends and answer requests.
        from troupe.render.animatic.production import render_animatic

        render_animatic(request, dest, progress, acting=self.acting)
