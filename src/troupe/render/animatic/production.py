"""An animatic's making: the prompt read, the scene drawn (or an edit's plate laid), the cast
laid out and choreographed, the sound mixed, then the frames drawn and encoded."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from threadpoolctl import threadpool_limits

from troupe.media.encode import VideoSettings, read_audio, video_frame, write_mp4
from troupe.render.ahead import ahead
from troupe.render.animatic.acting import IN_PLACE, own_motion, posed_body
from troupe.render.animatic.compose import (
    Actor,
    Compositor,
    Moves,
    aspect,
    prepare_cutout,
    read_cutout,
    skateboard,
    typical_cutout,
)
from troupe.render.animatic.motion import SKATEBOARD_HEIGHT, Choreography, choreograph
from troupe.render.animatic.scene import Scene, build_scene
from troupe.render.animatic.talking import Talking, find_mouth, loudness
from troupe.render.animatic.weather import plan_particles
from troupe.render.audio import soundtrack
from troupe.render.backend import CastMember, RenderProgress, RenderRequest
from troupe.render.clip import Plate
from troupe.render.prompt import ScenePlan, parse_prompt

FPS = 24
CRF = 20
MAX_CAST = 8
_PROGRESS_STEP = 0.05
# Frames drawn ahead of the encoder, in a thread of their own: drawing (OpenCV, NumPy) and x264
# both release the GIL, and x264 alone kept 1.5 of two cores busy. An 8 s 1280x720 render went
# from 3.2 s to 2.7 s (bench/render.py).
FRAMES_AHEAD = 4


@dataclass(frozen=True)
class Production:
    """Everything a render needs before its frames are drawn: the compositor that draws them,
    the finished soundtrack, and the encoder's settings."""

    compositor: Compositor
    audio: np.ndarray
    settings: VideoSettings
    frame_count: int


def render_animatic(
    request: RenderRequest, dest: Path, progress: RenderProgress, acting: bool = False
) -> None:
    """Render `request` to the MP4 `dest`; deterministic for a given request (seed included).
    With `acting`, characters act (`render.animatic.acting`)."""
    # One BLAS thread: its others spin between the small solves that pose a body, and with
    # acting on burned 2.3 CPU-seconds of an 8 s render on two cores, more than posing took.
    with threadpool_limits(limits=1, user_api="blas"):
        production = produce(request, acting)
        frames = _frames(production, progress)
        # write aside, then rename: readers never see a half-written video
        partial = dest.with_name(dest.name + ".partial")
        try:
            write_mp4(partial, frames, production.audio, production.settings)
            partial.replace(dest)
        finally:
            partial.unlink(missing_ok=True)
            if production.compositor.plate is not None:
                production.compositor.plate.close()
    progress(1.0)


def produce(request: RenderRequest, acting: bool = False) -> Production:
    """Read the prompt, draw the scene, lay out and choreograph the cast, mix the sound; with
    `acting`, characters play their own motion in place and bend their limbs elsewhere."""
    _check(request)
    plan = parse_prompt(request.prompt, request.cast)
    scene_rng, motion_rng, weather_rng, audio_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(request.seed).spawn(4)
    )
    size = (request.width, request.height)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="troupe-scene") as pool:
        # Painted beside the cast's pictures, the sound and the choreography, which need it not.
        painting = pool.submit(_scene, request, plan.scene, size, scene_rng)
        cutouts = [
            typical_cutout([read_cutout(path) for path in _cutouts(m)]) for m in request.cast
        ]
        voices = [read_audio(m.voice) if m.voice else None for m in request.cast]
        bed = read_audio(request.plate) if request.plate else None
        audio, talk = soundtrack(plan.scene, request.seconds, voices, audio_rng, bed)
        choreography = choreograph(
            plan.actions,
            [aspect(c) for c in cutouts],
            # A plate is filmed footage: a camera move would slide the cast over it.
            "static" if request.plate else plan.camera,
            size,
            request.seconds,
            motion_rng,
            talk=[(w,) if w else () for w in talk],
        )
        scene = painting.result()
    strips = [m.motion for m in request.cast]
    voiced = [
        loudness(voice, window) if voice is not None and window else None
        for voice, window in zip(voices, talk, strict=True)
    ]
    actors = _actors(cutouts, strips, voiced, choreography, scene.sprite_light, acting)
    particles = plan_particles(plan.scene, size, weather_rng)
    plate = Plate(request.plate, size) if request.plate else None
    return Production(
        compositor=Compositor(scene, actors, choreography, particles, size, plate),
        audio=audio,
        settings=VideoSettings(request.width, request.height, fps=FPS, crf=CRF),
        frame_count=request.seconds * FPS,
    )


def _scene(
    request: RenderRequest, plan: ScenePlan, size: tuple[int, int], rng: np.random.Generator
) -> Scene:
    if request.plate:
        # The footage is lit already; the cast keeps its own colours over it.
        return Scene(layers=(), sprite_light=(1.0, 1.0, 1.0))
    return build_scene(plan, size, rng, request.input_reference)


def _check(request: RenderRequest) -> None:
    if request.width % 2 or request.height % 2 or min(request.width, request.height) < 64:
        raise ValueError("width and height must be even and at least 64")
    if request.seconds <= 0:
        raise ValueError("seconds must be positive")
    if len(request.cast) > MAX_CAST:
        raise ValueError(f"at most {MAX_CAST} characters fit in one animatic")


def _cutouts(member: CastMember) -> tuple[Path, ...]:
    if not member.cutouts:
        raise ValueError(f"character {member.id} has no cut-out")
    return member.cutouts


def _actors(
    cutouts: list[np.ndarray],
    strips: list[Path | None],
    voiced: list[Callable[[float], float] | None],
    choreography: Choreography,
    light: tuple[float, float, float],
    acting: bool,
) -> list[Actor]:
    """Each character ready to draw. One drawn as its cut-out moves its mouth while its voice
    plays (`voiced`: how loud at each moment), where a mouth is drawn on it; one that acts moves
    as its own motion or its posed body does."""
    actors = []
    for rgba, strip, loud, motion in zip(
        cutouts, strips, voiced, choreography.motions, strict=True
    ):
        height = motion.slot.height
        cutout = prepare_cutout(rgba, height, light)
        board = None
        if motion.action == "skate":
            board = skateboard(min(1.1 * aspect(rgba), 0.9) * height, SKATEBOARD_HEIGHT * height)
        moves: Moves | None = None
        if acting and strip is not None and motion.action in IN_PLACE:
            moves = own_motion(strip, height, light, motion.phase)
        if acting and moves is None:
            moves = posed_body(cutout, motion)
        if moves is None and loud is not None:
            mouth = find_mouth(cutout.rgba)
            moves = Talking(cutout, mouth, loud) if mouth is not None else None
        actors.append(Actor(cutout, board, moves))
    return actors


def _frames(production: Production, progress: RenderProgress) -> Iterator[av.VideoFrame]:
    """The video's frames, drawn and converted for the encoder FRAMES_AHEAD ahead of it;
    progress is told here, in the caller's thread, as the encoder takes them."""
    count, settings = production.frame_count, production.settings
    drawn = (video_frame(production.compositor.frame(i / FPS), i, settings) for i in range(count))
    step = max(1, round(count * _PROGRESS_STEP))
    # Closed on the way out, whatever ends the render (a cancelling progress report too): the
    # drawing thread then stops before its next frame.
    with closing(ahead(drawn, FRAMES_AHEAD, name="troupe-draw")) as frames:
        for i, frame in enumerate(frames):
            yield frame
            if (i + 1) % step == 0:
                # the last few percent are the encoder's flush and the file's index
                progress(0.95 * (i + 1) / count)
