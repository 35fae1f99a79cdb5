"""Human refusal on a labelled set of photographs and drawings animated like 3 s of video, plus
every clip of tests/footage.py and every video of tests/conftest.py CLIPS, encoded and decoded in
several windows as the pipeline decodes them: prints each window's verdict, the refusal and
false-refusal rates, and the screening time per window.

Run: .venv/bin/python bench/humans_eval.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import functools
import statistics
import tempfile
import time
from collections.abc import Callable

import cv2
import numpy as np
from skimage import data

from tests.characters.test_humans import (
    FPS,
    FRAMES,
    HUMANS,
    NON_HUMANS,
    cartoon,
    frames,
    pan_zoom,
    pasted,
    rgb,
)
from tests.conftest import CLIPS
from tests.footage import build_footage
from troupe.characters.humans import find_human
from troupe.media.frames import Frame
from troupe.media.synthetic import ClipSpec, make_mascot_clip
from troupe.media.window import decode_window

Clip = Callable[[], list[Frame]]
LFW_FACES = 100  # lfw_subset holds 100 faces, then 100 patches that are not faces
LFW_SIZES = (120, 180, 240)
# Patches of the non-face half that show most of a real face (eyes, nose and mouth).
LFW_FACE_PARTS = {125}


def animated(make: Callable[[], list[np.ndarray]]) -> Clip:
    return lambda: frames(make())


def lfw(index: int) -> Clip:
    """A 25x25 grey LFW picture blown up and carried across the background."""
    patch = (data.lfw_subset()[index] * 255).astype(np.uint8)
    side = LFW_SIZES[index % len(LFW_SIZES)]
    big = cv2.resize(patch, (side, side), interpolation=cv2.INTER_CUBIC)
    return animated(lambda: pasted(rgb(big), side, seed=index))


def mirrored(make: Callable[[], list[np.ndarray]]) -> Callable[[], list[np.ndarray]]:
    return lambda: [np.ascontiguousarray(image[:, ::-1]) for image in make()]


def mascot(spec: ClipSpec) -> Clip:
    """troupe's own synthetic mascot clip, encoded and decoded like an upload."""

    def make() -> list[Frame]:
        with tempfile.TemporaryDirectory() as scratch:
            path = Path(scratch) / "mascot.mp4"
            make_mascot_clip(path, spec)
            return decode_window(path, 0.0, spec.seconds, max_side=640)

    return make


def grey_photos() -> dict[str, Clip]:
    names = ["coins", "moon", "page", "text", "clock", "cell", "brick", "grass", "gravel"]
    return {name: animated(functools.partial(_grey_photo, name)) for name in names}


def _grey_photo(name: str) -> list[np.ndarray]:
    return pan_zoom(rgb(getattr(data, name)()))


def horse() -> list[np.ndarray]:
    """skimage's horse silhouette, coloured brown, on a field."""
    silhouette = ~data.horse()
    photo = np.full((*silhouette.shape, 3), (120, 170, 90), np.uint8)
    photo[silhouette] = (110, 70, 40)
    return pan_zoom(photo)


def human_clips() -> dict[str, Clip]:
    astronaut, camera = data.astronaut(), rgb(data.camera())
    clips = {name: animated(make) for name, make in HUMANS.items()}
    clips |= {
        "astronaut_face_closeup": animated(lambda: pan_zoom(astronaut[40:200, 130:310])),
        "astronaut_mirrored": animated(mirrored(HUMANS["astronaut"])),
        "cameraman_mirrored": animated(mirrored(HUMANS["cameraman"])),
        "astronaut_dim": animated(lambda: [i // 2 for i in HUMANS["astronaut"]()]),
        "astronaut_240": animated(lambda: pasted(astronaut, 240, seed=5)),
        "cameraman_120": animated(lambda: pasted(camera, 120, seed=6)),
        "cameraman_300": animated(lambda: pasted(camera, 300, seed=7)),
    }
    clips |= {f"lfw_face_{i}": lfw(i) for i in range(LFW_FACES)}
    return clips | {f"lfw_face_part_{i}": lfw(i) for i in sorted(LFW_FACE_PARTS)}


def non_human_clips() -> dict[str, Clip]:
    clips = {name: animated(make) for name, make in NON_HUMANS.items()}
    clips |= grey_photos()
    clips |= {
        "horse": animated(horse),
        "chelsea_mirrored": animated(mirrored(NON_HUMANS["chelsea"])),
        "coffee_small": animated(lambda: pasted(data.coffee(), 150, seed=8)),
        "rocket_small": animated(lambda: pasted(data.rocket(), 200, seed=9)),
        "ihc": animated(lambda: pan_zoom(data.immunohistochemistry())),
        "hubble": animated(lambda: pan_zoom(data.hubble_deep_field())),
        "retina": animated(lambda: pan_zoom(data.retina())),
        "colorwheel": animated(lambda: pan_zoom(data.colorwheel())),
        "logo": animated(lambda: pan_zoom(data.logo()[:, :, :3])),
        "motorcycle": animated(lambda: pan_zoom(data.stereo_motorcycle()[0])),
        "cartoon_mirrored": animated(mirrored(cartoon)),
        "mascot_scene": mascot(ClipSpec(seconds=3, width=1280, height=720)),
        "mascot_texture": mascot(ClipSpec(seconds=3, width=640, height=360, background="texture")),
        "mascot_blue_plain": mascot(
            ClipSpec(
                seconds=3, width=640, height=360, background="plain", sprite_color=(40, 90, 220)
            )
        ),
    }
    patches = set(range(LFW_FACES, 2 * LFW_FACES)) - LFW_FACE_PARTS
    return clips | {f"lfw_patch_{i}": lfw(i) for i in sorted(patches)}


def _windows(seconds: float) -> list[tuple[float, float]]:
    """Windows of up to 3 s across the clip, as users pick them."""
    if seconds > 4:
        return [(s, min(seconds, s + 3.0)) for s in np.linspace(0, seconds - 3.0, 5).round(2)]
    spans = [(0.0, min(seconds, 3.0)), (0.0, 2.0), (seconds - 2.0, seconds)]
    return list(dict.fromkeys(spans))


def encoded_clips(root: Path) -> tuple[dict[str, Clip], dict[str, Clip]]:
    """(human, other) windows of the labelled footage and of conftest's videos."""
    people: dict[str, Clip] = {}
    others: dict[str, Clip] = {}
    videos = [(c.name, c.path, c.seconds, c.human) for c in build_footage(root / "footage")]
    for name, spec in CLIPS.items():
        make_mascot_clip(root / name, spec)
        videos.append((name, root / name, spec.seconds, False))
    for name, path, seconds, human in videos:
        for start, end in _windows(seconds):
            clip = functools.partial(decode_window, path, start, end, max_side=640)
            (people if human else others)[f"{name}@{start:g}-{end:g}"] = clip
    return people, others


def run(clips: dict[str, Clip], human: bool) -> tuple[int, list[float], list[float]]:
    """Print a line per clip; return how many were refused, and the wall and CPU seconds
    (all threads) each took."""
    refused, wall, cpu = 0, [], []
    for name, make in clips.items():
        window = make()
        began, began_cpu = time.perf_counter(), time.process_time()
        sighting = find_human(window)
        wall.append(time.perf_counter() - began)
        cpu.append(time.process_time() - began_cpu)
        refused += sighting is not None
        wrong = (sighting is None) == human
        verdict = (
            f"{sighting.kind} {sighting.score:.2f} at {sighting.time:.2f}s box {sighting.box}"
            if sighting
            else "passes"
        )
        print(f"{'!!' if wrong else '  '} {'human' if human else 'other'} {name:34s} {verdict}")
    return refused, wall, cpu


def main() -> None:
    for warm_up in (HUMANS["astronaut"], NON_HUMANS["cartoon"]):  # load all three models
        find_human(frames(warm_up()))
    scratch = tempfile.TemporaryDirectory()
    encoded_humans, encoded_others = encoded_clips(Path(scratch.name))
    humans = human_clips() | encoded_humans
    others = non_human_clips() | encoded_others
    caught, *human_times = run(humans, human=True)
    wrongly, *other_times = run(others, human=False)
    print(
        f"\nclips of {FRAMES} frames at {FPS:g} fps, and windows of encoded video decoded at 24 fps"
        " (mascots, footage, conftest CLIPS), 640x360 or less"
    )
    print(f"human refusal:  {caught}/{len(humans)} = {caught / len(humans):.1%}")
    print(f"false refusal:  {wrongly}/{len(others)} = {wrongly / len(others):.1%}")
    # Non-human windows are the costly ones: every sampled frame goes through every check.
    for label, times in (("non-human", other_times), ("human", human_times)):
        for clock, seconds in zip(("wall", "CPU"), times, strict=True):
            ms = sorted(s * 1000 for s in seconds)
            print(
                f"{clock} ms per {label} window: median {statistics.median(ms):.0f}, "
                f"p90 {ms[int(0.9 * (len(ms) - 1))]:.0f}, max {ms[-1]:.0f}"
            )


if __name__ == "__main__":
    main()
