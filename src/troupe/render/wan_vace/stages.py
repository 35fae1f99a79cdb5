"""Where a wan-vace render is: its stages in order, the share of its progress each takes, and a
failure told as the stage it happened in and why, for the job's error and the server's log."""

from __future__ import annotations

import logging
import re

from troupe.errors import TroupeError
from troupe.render.backend import RenderProgress

log = logging.getLogger(__name__)

# Shares of a render's progress. Loading comes only with a process's first render; the clips
# share most of the rest; the last twentieth is the file's end (the encoder's flush, the index).
LOADING = (0.0, 0.08)
PROMPT = 0.08
CLIPS = (0.10, 0.95)
# Where each part of one clip starts, as a share of that clip; its denoising steps fill the
# span from `denoising` to `decoding`.
_CLIP_PARTS = {"encoding": 0.0, "denoising": 0.05, "decoding": 0.85, "writing": 0.92}
_CLIP_STAGES = {
    "encoding": "encoding the conditioning video and reference pictures of clip {} (the VAE)",
    "denoising": "denoising clip {} (the transformer)",
    "decoding": "decoding clip {} (the VAE)",
    "writing": "writing clip {} to the video",
}
# A path in an error's words: the server's folders stay in its log.
_PATH = re.compile(r"(?<![\w.])/[^\s'\",;:()\[\]]+")


class RenderStages:
    """One render's stage and progress. Entering a stage logs it (at DEBUG) and, where given a
    share, reports it; every report moves the progress on or holds it."""

    def __init__(self, progress: RenderProgress, clips: int, steps: int) -> None:
        self._progress = progress
        self.clips = clips
        self.steps = steps
        self.name = "starting"
        self.stopped: BaseException | None = None  # what the progress report raised, if it did

    def enter(self, name: str, share: float | None = None) -> None:
        self.name = name
        log.debug("wan-vace: %s", name)
        if share is not None:
            self.report(share)

    def report(self, share: float) -> None:
        """Report `share`. What the report raises (a deleted video stops its render so) is
        remembered, so that it ends the render as it is rather than as a failure."""
        try:
            self._progress(share)
        except BaseException as error:
            self.stopped = error
            raise

    def loading(self, part: str, done: float) -> None:
        start, end = LOADING
        self.enter(f"loading the model's {part}", start + done * (end - start))

    def prompt(self) -> None:
        self.enter("encoding the prompt (the text encoder)", PROMPT)

    def clip(self, index: int, part: str) -> None:
        """Enter `part` (encoding, denoising, decoding, writing) of clip `index` (from 0)."""
        name = _CLIP_STAGES[part].format(f"{index + 1} of {self.clips}")
        self.enter(name, self._at(index, _CLIP_PARTS[part]))

    def step(self, index: int, step: int) -> None:
        """Denoising step `step` (from 0) of clip `index` is done; after the last, the VAE
        decodes the clip."""
        if step + 1 >= self.steps:
            self.clip(index, "decoding")
            return
        start, end = _CLIP_PARTS["denoising"], _CLIP_PARTS["decoding"]
        self.report(self._at(index, start + (end - start) * (step + 1) / self.steps))

    def finishing(self) -> None:
        self.enter("finishing the video", CLIPS[1])

    def _at(self, index: int, within: float) -> float:
        start, end = CLIPS
        return start + (end - start) * (index + within) / self.clips

    def failure(self, error: Exception) -> BaseException:
        """`error` as the render's failure. What the progress report raised, and troupe's own
        errors, end it as they are; anything else becomes an `internal_error` that names the
        stage and the cause (a GPU out of memory in words an operator can act on), with the
        traceback in the log."""
        if error is self.stopped or isinstance(error, TroupeError):
            return error
        import torch

        if isinstance(error, torch.OutOfMemoryError):
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            return TroupeError(
                "internal_error",
                f"the GPU ran out of memory while {self.name}; nothing was charged. An operator "
                "can lower TROUPE_WAN_VACE_RESOLUTION or set TROUPE_WAN_VACE_OFFLOAD=model",
            )
        log.error("wan-vace: the render failed while %s", self.name, exc_info=error)
        return TroupeError(
            "internal_error",
            f"the wan-vace back end failed while {self.name}: {described(error)}; nothing was "
            "charged (the server log has the traceback)",
        )


def described(error: BaseException) -> str:
    """The error's kind and the first line of its words, paths left out, at most 300 chars."""
    words = str(error).strip().splitlines()
    first = _PATH.sub("…", words[0]) if words else ""
    text = f"{type(error).__name__}: {first}" if first else type(error).__name__
    return text if len(text) <= 300 else text[:299] + "…"
