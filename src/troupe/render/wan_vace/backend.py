"""The `wan-vace` back end: the cast acting in a generated scene. Wan2.1-VACE (diffusers) makes
clips at its native size and rate from the prompt, with each character's cut-out on white as a
reference image; long videos are chained clips, each continuing from the last frames of the one
before (VACE's video conditioning), as an extension continues its source video and a video
with an `input_reference` image starts from it; an edit is conditioned on its plate. The clips
are scaled and retimed to the request, and the sound is the same mix as the animatic's: the
place's ambience (or the plate's sound) under the voices.

One pipeline per process, loaded on first use; renders take turns on it. Progress moves with
each stage (loading, the prompt, each clip's encoding, steps and decoding), and a failure says
in which stage it happened (stages.py)."""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable, Iterator
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
    check_capacity,
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
from troupe.render.wan_vace.stages import RenderStages

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
    max_references: int = 8  # a cast member each: each is one more latent frame


class WanVaceBackend:
    """Checks its model folder, that the model can make the configured clips, and its libraries
    when built, so a server that cannot render with it refuses to start; loads the pipeline when
    the first render needs it."""

    name = "wan-vace"

    def __init__(self, config: WanVaceConfig) -> None:
        check_libraries()
        check_model_dir(config.model_dir)
        assert config.model_dir is not None
        check_capacity(config.model_dir, config.native, config.max_references)
        check_placement(config.placement)
        if config.steps < 1:
            raise ModelUnavailable("TROUPE_WAN_VACE_STEPS must be at least 1")
        self.config = config
        self._pipeline: Any = None
        self._lock = threading.Lock()

    @property
    def pipeline(self) -> Any:
        """The loaded pipeline, or None before the first render."""
        return self._pipeline

    def render(self, request: RenderRequest, dest: Path, progress: RenderProgress) -> None:
        if request.width % 2 or request.height % 2:
            raise ValueError("width and height must be even")
        continues = request.continues is not None
        plan = plan_segments(self.config.native, request.seconds, FPS, continues)
        stages = RenderStages(progress, plan.segments, self.config.steps)
        try:
            self._render(request, plan, dest, stages)
        except Exception as error:
            failure = stages.failure(error)
            if failure is error:
                raise
            raise failure from error
        progress(1.0)

    def _render(
        self, request: RenderRequest, plan: SegmentPlan, dest: Path, stages: RenderStages
    ) -> None:
        stages.enter("mixing the soundtrack")
        audio = _soundtrack(request)
        partial = dest.with_name(dest.name + ".partial")
        with self._lock:
            pipeline = self._loaded(stages)
            stages.prompt()
            prompt = _encoded_prompt(
                pipeline, name_mentions(request.prompt, request.cast), self.config
            )
            stages.enter("reading the reference pictures and the frames to continue from")
            clips = _Clips(pipeline, self.config, request, plan, stages, prompt)
            try:
                frames = _retimed(clips.frames(), request, self.config.native.fps)
                settings = VideoSettings(request.width, request.height, fps=FPS, crf=CRF)
                write_mp4(partial, _then(frames, stages.finishing), audio, settings)
                partial.replace(dest)
            finally:
                partial.unlink(missing_ok=True)
                clips.close()

    def _loaded(self, stages: RenderStages) -> Any:
        if self._pipeline is None:
            model_dir = self.config.model_dir
            assert model_dir is not None
            log.info("wan-vace: loading the model in %s", model_dir)
            began = time.monotonic()
            try:
                self._pipeline = load_pipeline(model_dir, self.config.placement, stages.loading)
            except ModelUnavailable as error:
                raise TroupeError("internal_error", f"the wan-vace back end: {error}") from error
            except Exception as error:
                if error is stages.stopped:
                    raise
                # The folder's path and the library's words are for the operator's log only.
                log.exception("wan-vace: %s from %s failed", stages.name, model_dir)
                raise TroupeError(
                    "internal_error",
                    f"the wan-vace model could not be loaded on this server ({stages.name} "
                    "failed); its operator should check the model's files (the server log says "
                    "what failed)",
                ) from error
            log.info("wan-vace: the model is loaded (%.1f s)", time.monotonic() - began)
        return self._pipeline


@dataclass(frozen=True)
class _Prompt:
    """The prompt and the negative prompt as the text encoder's output, made once a render."""

    embeds: Any
    negative_embeds: Any


def _encoded_prompt(pipeline: Any, prompt: str, config: WanVaceConfig) -> _Prompt:
    import torch

    with torch.no_grad():
        embeds, negative = pipeline.encode_prompt(
            prompt=prompt,
            negative_prompt=config.negative_prompt,
            do_classifier_free_guidance=config.guidance > 1.0,
            device=pipeline._execution_device,
        )
    return _Prompt(embeds, negative)


class _Clips:
    """The model's clips one after another, as one stream of native frames (uint8 RGB)."""

    def __init__(
        self,
        pipeline: Any,
        config: WanVaceConfig,
        request: RenderRequest,
        plan: SegmentPlan,
        stages: RenderStages,
        prompt: _Prompt,
    ) -> None:
        self.pipeline = pipeline
        self.config = config
        self.plan = plan
        self.stages = stages
        self.size = config.native.oriented(request.width, request.height)
        self.prompt = prompt
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
            self.stages.clip(index, "writing")
            new = clip[len(clip) - fresh :] if self.context else clip
            new = new[: self.plan.timeline_frames - made]
            yield from new
            made += len(new)
            self.context = list(clip[-self.config.native.context_frames :])

    def _clip(self, index: int, made: int) -> np.ndarray:
        import torch

        fmt = self.config.native
        width, height = self.size
        stages = self.stages
        stages.clip(index, "encoding")
        video, mask = self._conditioning(made)
        denoising = False

        def on_transformer(module: Any, args: Any) -> None:
            # The transformer's first call ends the VAE's encoding of the conditioning.
            nonlocal denoising
            if not denoising:
                denoising = True
                stages.clip(index, "denoising")

        def on_step(pipe: Any, step: int, timestep: Any, tensors: dict[str, Any]) -> dict[str, Any]:
            stages.step(index, step)
            return {}

        generator = torch.Generator(device="cpu").manual_seed(self.seed + index)
        hook = self.pipeline.transformer.register_forward_pre_hook(on_transformer)
        try:
            output = self.pipeline(
                prompt_embeds=self.prompt.embeds,
                negative_prompt_embeds=self.prompt.negative_embeds,
                video=video,
                mask=mask,
                reference_images=self.references or None,
                conditioning_scale=self.config.conditioning_scale,
                height=height,
                width=width,
                num_frames=fmt.frames,
                num_inference_steps=self.config.steps,
                guidance_scale=self.config.guidance,
                generator=generator,
                output_type="np",
                callback_on_step_end=on_step,
            )
        finally:
            hook.remove()
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


def _then(frames: Iterator[np.ndarray], then: Callable[[], None]) -> Iterator[np.ndarray]:
    """`frames`, then `then()` once the writer has taken the last of them."""
    yield from frames
    then()


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
