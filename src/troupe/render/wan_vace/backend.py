"""The `wan-vace` back end: the cast acting in a generated scene. Wan2.1-VACE (diffusers) makes
clips at its native size and rate from the prompt, with each character's cut-out on white as a
reference image; long videos are chained clips, each continuing from the last frames of the one
before (VACE's video conditioning), as an extension continues its source video and a video
with an `input_reference` image starts from it; an edit is conditioned on its plate. The clips
are scaled and retimed to the request, and the sound is the same mix as the animatic's: the
place's ambience (or the plate's sound) under the voices.

One pipeline per process, loaded on first use; renders take turns on it."""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from troupe.errors import TroupeError
from troupe.media.encode import VideoSettings, read_audio, write_mp4
from troupe.media.probe import main_video_stream, open_media
from troupe.render.audio import soundtrack
from troupe.render.backend import CastMember, RenderProgress, RenderRequest
from troupe.render.clip import Plate
from troupe.render.prompt import parse_prompt
from troupe.render.wan_vace.model import (
    ModelUnavailable,
    Placement,
    check_libraries,
    check_model_dir,
    check_placement,
    load_pipeline,
)
from troupe.render.wan_vace.plan import (
    NativeFormat,
    SegmentPlan,
    cover,
    name_mentions,
    on_white,
    plan_segments,
    source_index,
)

log = logging.getLogger(__name__)

FPS = 24
CRF = 20
_GREY = 127  # frames the model is to make, in a conditioning video
_OUR_PIXELS = 3840 * 2160


@dataclass(frozen=True)
class WanVaceConfig:
    model_dir: Path | None
    placement: Placement
    native: NativeFormat
    steps: int
    guidance: float
    conditioning_scale: float
    negative_prompt: str = ""


class WanVaceBackend:
    """Checks its model folder and libraries when built, so a server that cannot render with it
    refuses to start; loads the pipeline when the first render needs it."""

    name = "wan-vace"

    def __init__(self, config: WanVaceConfig) -> None:
        check_libraries()
        check_model_dir(config.model_dir)
        check_placement(config.placement)
        if config.steps < 1:
            raise ModelUnavailable("TROUPE_WAN_VACE_STEPS must be at least 1")
        self.config = config
        self._pipeline: Any = None
        self._lock = threading.Lock()

    def render(self, request: RenderRequest, dest: Path, progress: RenderProgress) -> None:
        if request.width % 2 or request.height % 2:
            raise ValueError("width and height must be even")
        continues = request.continues is not None
        plan = plan_segments(self.config.native, request.seconds, FPS, continues)
        audio = _soundtrack(request)
        partial = dest.with_name(dest.name + ".partial")
        with self._lock:
            pipeline = self._loaded()
            clips = _Clips(pipeline, self.config, request, plan, progress)
            try:
                frames = _retimed(clips.frames(), request, self.config.native.fps)
                settings = VideoSettings(request.width, request.height, fps=FPS, crf=CRF)
                write_mp4(partial, frames, audio, settings)
                partial.replace(dest)
            except Exception as error:
                out_of_memory = _out_of_memory(error)
                if out_of_memory is None:
                    raise
                raise out_of_memory from error
            finally:
                partial.unlink(missing_ok=True)
                clips.close()
        progress(1.0)

    def _loaded(self) -> Any:
        if self._pipeline is None:
            assert self.config.model_dir is not None
            try:
                self._pipeline = load_pipeline(self.config.model_dir, self.config.placement)
            except ModelUnavailable as error:
                raise TroupeError("internal_error", f"the wan-vace back end: {error}") from error
            except Exception as error:
                # The folder's path and the library's words are for the operator's log only.
                log.exception("loading the wan-vace model from %s failed", self.config.model_dir)
                raise TroupeError(
                    "internal_error",
                    "the wan-vace model could not be loaded on this server; its operator should "
                    "check the model's files (the server log says what failed)",
                ) from error
        return self._pipeline


class _Clips:
    """The model's clips one after another, as one stream of native frames (uint8 RGB)."""

    def __init__(
        self,
        pipeline: Any,
        config: WanVaceConfig,
        request: RenderRequest,
        plan: SegmentPlan,
        progress: RenderProgress,
    ) -> None:
        self.pipeline = pipeline
        self.config = config
        self.plan = plan
        self.progress = progress
        self.size = config.native.oriented(request.width, request.height)
        self.prompt = name_mentions(request.prompt, request.cast)
        self.references = [_reference(member) for member in request.cast if member.cutouts]
        self.context: list[np.ndarray] = []
        if request.continues is not None:
            self.context = _tail(request.continues, config.native, self.size)
        elif request.input_reference is not None and request.plate is None:
            # The caller's image is the first frame, kept; the model makes the rest from it.
            self.context = [_first_frame(request.input_reference, self.size)]
        self.seed = request.seed
        self.plate = None  # opened last: close() is only reached once __init__ has returned
        if request.plate is not None:
            self.plate = Plate(request.plate, (request.width, request.height))

    def frames(self) -> Iterator[np.ndarray]:
        made = 0
        for index, fresh in enumerate(self.plan.new_per_segment):
            clip = self._clip(index, made)
            new = clip[len(clip) - fresh :] if self.context else clip
            new = new[: self.plan.timeline_frames - made]
            yield from new
            made += len(new)
            self.context = list(clip[-self.config.native.context_frames :])

    def _clip(self, index: int, made: int) -> np.ndarray:
        import torch

        fmt = self.config.native
        width, height = self.size
        video, mask = self._conditioning(made)
        steps = self.config.steps
        segments = self.plan.segments

        def on_step(pipe: Any, step: int, timestep: Any, tensors: dict[str, Any]) -> dict[str, Any]:
            # The last few percent are the encoder's flush and the file's index.
            self.progress(0.95 * (index + (step + 1) / steps) / segments)
            return {}

        generator = torch.Generator(device="cpu").manual_seed(self.seed + index)
        output = self.pipeline(
            prompt=self.prompt,
            negative_prompt=self.config.negative_prompt,
            video=video,
            mask=mask,
            reference_images=self.references or None,
            conditioning_scale=self.config.conditioning_scale,
            height=height,
            width=width,
            num_frames=fmt.frames,
            num_inference_steps=steps,
            guidance_scale=self.config.guidance,
            generator=generator,
            output_type="np",
            callback_on_step_end=on_step,
        )
        frames = np.asarray(output.frames[0])
        return np.clip(frames * 255.0 + 0.5, 0, 255).astype(np.uint8)

    def _conditioning(self, made: int) -> tuple[list[Image.Image] | None, list[Image.Image] | None]:
        """The conditioning video and mask of the clip whose new frames start at timeline frame
        `made`: kept frames (the context) are black in the mask, frames to make are white and
        show the plate, if there is one, or grey."""
        if not self.context and self.plate is None:
            return None, None
        fmt = self.config.native
        width, height = self.size
        kept = len(self.context)
        video = [Image.fromarray(frame) for frame in self.context]
        for k in range(fmt.frames - kept):
            video.append(Image.fromarray(self._backdrop(made + k, width, height)))
        black = Image.new("L", (width, height), 0)
        white = Image.new("L", (width, height), 255)
        mask = [black] * kept + [white] * (fmt.frames - kept)
        return video, mask

    def _backdrop(self, timeline_index: int, width: int, height: int) -> np.ndarray:
        if self.plate is None:
            return np.full((height, width, 3), _GREY, np.uint8)
        image = self.plate.at(timeline_index / self.config.native.fps)
        return cover(np.ascontiguousarray(image[..., :3]), width, height)

    def close(self) -> None:
        if self.plate is not None:
            self.plate.close()
        # A render cut short (an error, a cancel) can leave offloaded weights on the GPU.
        self.pipeline.maybe_free_model_hooks()


def _reference(member: CastMember) -> Image.Image:
    with Image.open(member.cutouts[0]) as picture:
        rgba = np.asarray(picture.convert("RGBA"))
    return Image.fromarray(on_white(rgba))


def _first_frame(image: Path, size: tuple[int, int]) -> np.ndarray:
    with Image.open(image) as picture:
        upright = ImageOps.exif_transpose(picture).convert("RGB")
    return cover(np.asarray(upright), *size)


def _retimed(
    native: Iterator[np.ndarray], request: RenderRequest, native_fps: int
) -> Iterator[np.ndarray]:
    """Output frames at FPS and the requested size, each the generated frame nearest in time.
    Generated frames are scaled only when shown, and at most two are held."""
    produced = enumerate(native)
    window: collections.deque[tuple[int, np.ndarray]] = collections.deque(maxlen=2)
    for i in range(request.seconds * FPS):
        wanted = source_index(i, FPS, native_fps)
        while not window or window[-1][0] < wanted:
            index, frame = next(produced)
            window.append((index, frame))
        shown = next(frame for index, frame in window if index == wanted)
        yield cover(shown, request.width, request.height)


def _tail(video: Path, fmt: NativeFormat, size: tuple[int, int]) -> list[np.ndarray]:
    """The last `fmt.context_frames` frames of `video` on the model's time grid, at `size`."""
    count = fmt.context_frames
    with open_media(video, _OUR_PIXELS) as container:
        stream = main_video_stream(container)
        if stream is None:
            raise TroupeError("internal_error", "the video to continue has no pictures")
        # Enough decoded frames to span `count` model frames at any source rate up to 60 fps.
        recent: collections.deque[tuple[float, np.ndarray]] = collections.deque(
            maxlen=count * 60 // fmt.fps + 2
        )
        for frame in container.decode(stream):
            time = float(frame.time or 0.0)
            recent.append((time, frame.to_ndarray(format="rgb24")))
    if not recent:
        raise TroupeError("internal_error", "the video to continue has no frames")
    end = recent[-1][0]
    picked = []
    for k in range(count):
        t = end - (count - 1 - k) / fmt.fps
        nearest = min(recent, key=lambda entry: abs(entry[0] - t))[1]
        picked.append(cover(nearest, *size))
    return picked


def _soundtrack(request: RenderRequest) -> np.ndarray:
    """The animatic's mix: the prompt's place and weather (or the plate's own sound) under each
    character's voice in turn."""
    scene = parse_prompt(request.prompt, request.cast).scene
    voices = [read_audio(member.voice) if member.voice else None for member in request.cast]
    bed = read_audio(request.plate) if request.plate else None
    rng = np.random.default_rng(request.seed)
    audio, _ = soundtrack(scene, request.seconds, voices, rng, bed)
    return audio


def _out_of_memory(error: Exception) -> TroupeError | None:
    """A GPU out of memory as an error the caller can act on, with the memory given back."""
    import torch

    if not isinstance(error, torch.OutOfMemoryError):
        return None
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return TroupeError(
        "internal_error",
        "the GPU ran out of memory rendering this video; nothing was charged. An operator "
        "can lower TROUPE_WAN_VACE_RESOLUTION or set TROUPE_WAN_VACE_OFFLOAD=model",
    )
