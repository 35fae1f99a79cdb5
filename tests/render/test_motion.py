"""Layout, easing and motion paths: pure functions checked for every frame size."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from troupe.render.animatic.motion import (
    ACTIONS,
    MAX_ZOOM,
    CameraPath,
    back_and_forth,
    camera_budget,
    choreograph,
    hop,
    layout,
    pose_at,
    smootherstep,
)

SPEC_SIZES = [(720, 1280), (1280, 720), (1024, 1792), (1792, 1024), (1080, 1920), (1920, 1080)]
ASPECTS = (0.8, 1.0, 0.65, 1.3)  # width / height of the cut-outs
CAMERAS = ("drift", "static", "zoom_in", "zoom_out", "pan_left", "pan_right", "orbit", "track")


@pytest.mark.parametrize("size", SPEC_SIZES)
def test_one_character_fills_half_the_frame_height(size: tuple[int, int]) -> None:
    width, height = size
    (slot,) = layout([0.8], width, height)
    assert 0.45 * height <= slot.height <= 0.6 * height
    assert slot.x == pytest.approx(width / 2)
    assert slot.height - slot.ground < 0 < slot.ground <= height


@pytest.mark.parametrize(("size", "count"), list(itertools.product(SPEC_SIZES, (2, 3, 4))))
def test_a_cast_is_spread_out_inside_the_frame_and_large_enough(
    size: tuple[int, int], count: int
) -> None:
    width, height = size
    aspects = ASPECTS[:count]
    slots = layout(aspects, width, height)
    assert len(slots) == count
    # 220 px at 720p; a narrow portrait frame leaves four characters a little less
    assert min(s.height for s in slots) >= (0.3 if width > height else 0.2) * min(size)
    for slot, aspect in zip(slots, aspects, strict=True):
        half = aspect * slot.height / 2
        assert half <= slot.x <= width - half
        assert slot.height < slot.ground <= height
    rows: dict[float, list[tuple[float, float]]] = {}
    for slot, aspect in zip(slots, aspects, strict=True):
        rows.setdefault(slot.ground, []).append((slot.x, aspect * slot.height))
    for row in rows.values():
        for (x1, w1), (x2, w2) in itertools.pairwise(sorted(row)):
            assert x2 - x1 >= (w1 + w2) / 2  # neighbours in a row never overlap


def test_easing_and_hops() -> None:
    assert (smootherstep(-1), smootherstep(0), smootherstep(0.5), smootherstep(2)) == (
        0.0,
        0.0,
        0.5,
        1.0,
    )
    values = [smootherstep(u) for u in np.linspace(0, 1, 50)]
    assert values == sorted(values)
    path = [back_and_forth(t, 100.0, 80.0) for t in np.linspace(0, 20, 400)]
    assert path[0] == 0.0 and max(path) == pytest.approx(100, abs=1) and min(path) >= -100
    assert max(abs(b - a) for a, b in itertools.pairwise(path)) < 10  # no jumps
    lifts = [hop(u, air=0.55, squash=0.15) for u in np.linspace(0, 0.999, 200)]
    assert max(lift for lift, _ in lifts) == pytest.approx(1.0, abs=0.01)
    assert min(stretch for _, stretch in lifts) == pytest.approx(0.85, abs=0.01)


@pytest.mark.parametrize(("action", "camera"), list(itertools.product(sorted(ACTIONS), CAMERAS)))
def test_motion_is_smooth_mild_and_keeps_the_cast_in_shot(action: str, camera: str) -> None:
    width, height, seconds = 1280, 720, 8
    aspects = (0.8, 1.0)
    plan = choreograph([action] * 2, aspects, camera, (width, height), seconds, rng())
    times = np.arange(0, seconds, 1 / 24)
    for motion, aspect in zip(plan.motions, aspects, strict=True):
        poses = [pose_at(motion, t) for t in times]
        stretch = np.array([p.stretch for p in poses])
        assert stretch.min() >= 0.8 and stretch.max() <= 1.12
        assert np.mean(stretch < 0.92) < 0.1  # heavy squash only for a few frames
        assert all(p.lift >= 0 and p.lift <= motion.headroom + 1e-6 for p in poses)
        for a, b in itertools.pairwise(poses):
            assert abs(b.x - a.x) < 0.1 * width  # smooth paths
            assert abs(b.lift - a.lift) < 0.1 * height
        cameras = [plan.camera.at(t) for t in times]
        # the feet's centre stays in the frame, whatever the camera does
        cx, _ = plan.camera.centre
        screen = [c.zoom * (p.x - c.x - cx) + cx for p, c in zip(poses, cameras, strict=True)]
        margin = 0.25 * aspect * motion.slot.height
        assert min(screen) >= margin - 1 and max(screen) <= width - margin + 1


def test_the_camera_path_is_eased_and_bounded() -> None:
    path = CameraPath("zoom_in", 8.0, 1280, (640, 400), sweep=0.0, max_zoom=1.3)
    assert path.at(0).zoom == 1.0 and path.at(8).zoom == pytest.approx(1.3)
    pan = CameraPath("pan_left", 8.0, 1280, (640, 400), sweep=100.0)
    assert (pan.at(0).x, pan.at(4).x, pan.at(8).x) == (100.0, 0.0, -100.0)


def test_the_camera_takes_only_the_room_the_cast_leaves() -> None:
    slots = layout([1.0, 1.0], 1280, 720)
    room, _, _ = camera_budget("static", slots, [1.0, 1.0], 1280)
    travel, sweep, _ = camera_budget("pan_right", slots, [1.0, 1.0], 1280)
    assert travel + sweep == pytest.approx(room) and sweep > 0
    _, _, zoom = camera_budget("zoom_in", layout([1.0], 1280, 720), [1.0], 1280)
    assert zoom == MAX_ZOOM


def test_choreography_depends_only_on_its_seed() -> None:
    def poses(seed: int) -> list[float]:
        plan = choreograph(["dance", "walk"], (1.0, 1.0), "drift", (640, 360), 4, rng(seed))
        return [p.x for t in np.arange(0, 4, 0.5) for p in plan.poses(t)]

    assert poses(1) == poses(1)
    assert poses(1) != poses(2)


def test_a_speaking_character_pulses() -> None:
    plan = choreograph(["idle"], (1.0,), "static", (640, 360), 4, rng(), talk=[((1.0, 2.0),)])
    (motion,) = plan.motions
    quiet = [pose_at(motion, t).stretch for t in np.arange(2.2, 3.0, 0.02)]
    talking = [pose_at(motion, t).stretch for t in np.arange(1.2, 1.8, 0.02)]
    assert max(talking) - min(talking) > 2 * (max(quiet) - min(quiet))


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)
