"""The posable body: which cut-outs get one, how its handles bend the mesh, and how it draws."""

from __future__ import annotations

import dataclasses
import itertools

import cv2
import numpy as np
import pytest

from troupe.render.animatic.motion import ACTIONS
from troupe.render.animatic.rig import (
    _CORE_SHARE,
    CYCLES_PER_SECOND,
    Rig,
    _core,
    build_rig,
    deform,
    draw,
    limb_pose,
)

HEIGHT = 500
BROWN, WHITE, DARK = (200, 120, 60, 255), (250, 250, 250, 255), (30, 20, 10, 255)
RED, DARK_RED, YELLOW = (230, 60, 40, 255), (140, 35, 25, 255), (250, 210, 40, 255)
PHASES = np.linspace(0.0, 1.0, 24, endpoint=False)


def gingerbread(arms: bool = True, legs: bool = True) -> np.ndarray:
    """A gingerbread man, RGBA: head, body, arms held out, legs apart, eyes and buttons."""
    img = np.zeros((HEIGHT, 360, 4), np.uint8)
    cv2.circle(img, (180, 62), 55, BROWN, -1, cv2.LINE_AA)
    cv2.ellipse(img, (180, 210), (65, 100), 0, 0, 360, BROWN, -1, cv2.LINE_AA)
    if arms:
        cv2.line(img, (140, 150), (20, 190), BROWN, 36, cv2.LINE_AA)
        cv2.line(img, (220, 150), (340, 190), BROWN, 36, cv2.LINE_AA)
    if legs:
        cv2.line(img, (150, 280), (105, 475), BROWN, 40, cv2.LINE_AA)
        cv2.line(img, (210, 280), (255, 475), BROWN, 40, cv2.LINE_AA)
    for x in (160, 200):
        cv2.circle(img, (x, 50), 8, DARK, -1, cv2.LINE_AA)
    for y in (170, 210, 250):
        cv2.circle(img, (180, y), 9, WHITE, -1, cv2.LINE_AA)
    return img


# The mascot's body: an egg this wide and tall (half-axes) about this centre.
EGG_CENTRE, EGG_AXES = (140, 155), (104, 124)


def mascot() -> np.ndarray:
    """A cartoon mascot, RGBA, 300 px tall: an egg of a body, arm stubs at its sides that stick
    out a tenth of its height, two feet tucked under it and an antenna on top."""
    img = np.zeros((300, 280, 4), np.uint8)
    cv2.line(img, (150, 40), (166, 16), DARK_RED, 4, cv2.LINE_AA)
    cv2.circle(img, (166, 14), 9, YELLOW, -1, cv2.LINE_AA)
    for x in (26, 254):
        cv2.ellipse(img, (x, 184), (20, 16), 0, 0, 360, DARK_RED, -1, cv2.LINE_AA)
    for x in (102, 178):
        cv2.ellipse(img, (x, 283), (27, 13), 0, 0, 360, DARK_RED, -1, cv2.LINE_AA)
    cv2.ellipse(img, EGG_CENTRE, EGG_AXES, 0, 0, 360, RED, -1, cv2.LINE_AA)
    for x in (105, 175):
        cv2.circle(img, (x, 110), 16, WHITE, -1, cv2.LINE_AA)
        cv2.circle(img, (x + 3, 112), 7, DARK, -1, cv2.LINE_AA)
    return img


@pytest.fixture(scope="module")
def figure() -> np.ndarray:
    return gingerbread()


@pytest.fixture(scope="module")
def stubby() -> np.ndarray:
    return mascot()


@pytest.fixture(scope="module")
def stubby_rig(stubby: np.ndarray) -> Rig:
    built = build_rig(stubby[:, :, 3])
    assert built is not None
    return built


@pytest.fixture(scope="module")
def rig(figure: np.ndarray) -> Rig:
    built = build_rig(figure[:, :, 3])
    assert built is not None
    return built


def signed_areas(vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    corners = vertices[triangles]
    a, b = corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
    return a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]


def on_canvas(image: np.ndarray, offset: tuple[float, float], margin: int = 60) -> np.ndarray:
    """`image` pasted where its offset puts it, on a canvas of the rest cut-out grown by
    `margin` all round."""
    canvas = np.zeros((HEIGHT + 2 * margin, 360 + 2 * margin, image.shape[2]), np.uint8)
    x, y = round(offset[0]) + margin, round(offset[1]) + margin
    canvas[y : y + image.shape[0], x : x + image.shape[1]] = image
    return canvas


# --- which cut-outs get a body ------------------------------------------------------------


def test_a_gingerbread_man_gets_handles_on_his_head_hands_and_feet(rig: Rig) -> None:
    assert set(rig.handles) == {
        "head",
        "body",
        "hips",
        "left_hand",
        "right_hand",
        "left_foot",
        "right_foot",
    }
    assert 100 <= len(rig.vertices) <= 300
    head, body = rig.rest("head"), rig.rest("body")
    assert head[1] < 0.15 * HEIGHT and abs(head[0] - 180) < 15
    assert 0.3 * HEIGHT < body[1] < 0.55 * HEIGHT and abs(body[0] - 180) < 15
    for side, sign in (("left", -1), ("right", 1)):
        hand, foot = rig.rest(f"{side}_hand"), rig.rest(f"{side}_foot")
        assert sign * (hand[0] - 180) > 120 and 0.25 * HEIGHT < hand[1] < 0.45 * HEIGHT
        assert sign * (foot[0] - 180) > 50 and foot[1] > 0.85 * HEIGHT


def test_a_figure_without_arms_gets_feet_only_and_every_action_still_poses() -> None:
    legs_only = build_rig(gingerbread(arms=False)[:, :, 3])
    assert legs_only is not None
    assert set(legs_only.handles) == {"head", "body", "hips", "left_foot", "right_foot"}
    for action in ACTIONS:
        assert set(limb_pose(legs_only, action, 0.3)) == set(legs_only.handles)


def test_a_figure_without_legs_moves_its_arms_and_does_not_sink() -> None:
    legless = build_rig(gingerbread(legs=False)[:, :, 3])
    assert legless is not None
    assert set(legless.handles) == {"head", "body", "hips", "left_hand", "right_hand"}
    crouch = limb_pose(legless, "jump", 0.06)
    np.testing.assert_allclose(crouch["head"], legless.rest("head"), atol=1e-6)
    shoulder = legless.joints["right_hand"]
    assert limb_pose(legless, "wave", 0.0)["right_hand"][1] < shoulder[1] - 0.1 * HEIGHT


def test_a_figure_without_legs_keeps_its_bottom_planted_and_leans() -> None:
    legless = build_rig(gingerbread(legs=False)[:, :, 3])
    assert legless is not None
    for phase in PHASES:
        hips = limb_pose(legless, "dance", phase)["hips"]
        np.testing.assert_allclose(hips, legless.rest("hips"), atol=1e-6)
    swayed = limb_pose(legless, "dance", 0.125)  # the hips' sway peaks to the right
    body = swayed["body"][0] - legless.rest("body")[0]
    head = swayed["head"][0] - legless.rest("head")[0]
    assert head > body > 0.02 * legless.height  # the torso turns about its hips, as one


def square() -> np.ndarray:
    alpha = np.zeros((HEIGHT, HEIGHT), np.uint8)
    cv2.rectangle(alpha, (50, 50), (450, 450), 255, -1)
    return alpha


def disc() -> np.ndarray:
    alpha = np.zeros((HEIGHT, HEIGHT), np.uint8)
    cv2.circle(alpha, (250, 250), 200, 255, -1, cv2.LINE_AA)
    return alpha


def square_filling_its_image() -> np.ndarray:
    return np.full((300, 200), 255, np.uint8)


def photo_sticker() -> np.ndarray:
    """A landscape photo with a soft edge."""
    alpha = np.zeros((300, 400), np.uint8)
    cv2.rectangle(alpha, (20, 20), (380, 280), 255, -1)
    return cv2.GaussianBlur(alpha, (15, 15), 5)


def triangle() -> np.ndarray:
    alpha = np.zeros((300, 300), np.uint8)
    cv2.fillPoly(alpha, [np.array([[150, 20], [280, 260], [20, 260]], np.int32)], 255)
    return alpha


def box_with_a_lid() -> np.ndarray:
    alpha = np.zeros((300, 300), np.uint8)
    cv2.rectangle(alpha, (40, 60), (260, 240), 255, -1)
    cv2.rectangle(alpha, (120, 30), (180, 60), 255, -1)
    return alpha


def cherry() -> np.ndarray:
    """A ball with a stalk on top: something sticks out, but it crowns the ball."""
    alpha = np.zeros((300, 300), np.uint8)
    cv2.circle(alpha, (150, 160), 110, 255, -1, cv2.LINE_AA)
    cv2.line(alpha, (150, 60), (165, 10), 255, 14, cv2.LINE_AA)
    return alpha


def lollipop() -> np.ndarray:
    """A disc on a stick: one foot, which cannot step."""
    alpha = np.zeros((300, 300), np.uint8)
    cv2.circle(alpha, (150, 120), 90, 255, -1, cv2.LINE_AA)
    cv2.line(alpha, (150, 200), (150, 290), 255, 14)
    return alpha


def hairline_arc() -> np.ndarray:
    """A figure one pixel thick: no disc fits inside it, so it has no core to hang limbs on."""
    alpha = np.zeros((200, 200), np.uint8)
    cv2.ellipse(alpha, (100, 100), (80, 60), 0, 20, 300, 255, 1)
    return alpha


@pytest.mark.parametrize(
    "alpha",
    [
        square(),
        disc(),
        square_filling_its_image(),
        photo_sticker(),
        triangle(),
        box_with_a_lid(),
        cherry(),
        lollipop(),
        hairline_arc(),
    ],
    ids=[
        "square",
        "disc",
        "full",
        "sticker",
        "triangle",
        "lidded box",
        "cherry",
        "lollipop",
        "hairline arc",
    ],
)
def test_shapes_without_limbs_keep_rigid_motion(alpha: np.ndarray) -> None:
    assert build_rig(alpha) is None


ALL_HANDLES = {"head", "body", "hips", "left_hand", "right_hand", "left_foot", "right_foot"}


def test_a_mascot_s_stubs_are_its_hands_and_feet(stubby_rig: Rig) -> None:
    """Its arms stick out a tenth of its height, its feet less, and it fills 0.9 of its hull:
    still, they are limbs. Its antenna is not a hand."""
    rig = stubby_rig
    assert set(rig.handles) == ALL_HANDLES
    (cx, cy), (ax, ay) = EGG_CENTRE, EGG_AXES
    for side, sign in (("left", -1), ("right", 1)):
        hand, foot = rig.rest(f"{side}_hand"), rig.rest(f"{side}_foot")
        assert sign * (hand[0] - cx) > ax and abs(hand[1] - 184) < 15
        assert 20 < sign * (foot[0] - cx) < ax and foot[1] > cy + ay


def test_a_figure_in_two_pieces_keeps_rigid_motion(figure: np.ndarray) -> None:
    alpha = figure[:, :, 3].copy()
    alpha[:, 175:185] = 0  # split down the middle
    assert build_rig(alpha) is None


# --- deforming ----------------------------------------------------------------------------


def test_handles_at_rest_leave_the_mesh_at_rest(rig: Rig) -> None:
    rest = np.array([rig.rest(name) for name in rig.handles])
    np.testing.assert_allclose(deform(rig, {}), rig.vertices, atol=1e-6)
    np.testing.assert_allclose(deform(rig, rest), rig.vertices, atol=1e-6)


def test_moving_a_hand_bends_its_arm_and_leaves_the_far_leg(rig: Rig) -> None:
    hand = rig.rest("right_hand")
    lift = 0.15 * HEIGHT
    moved = deform(rig, {"right_hand": (hand[0], hand[1] - lift)})
    travel = np.linalg.norm(moved - rig.vertices, axis=1)
    near_hand = np.linalg.norm(rig.vertices - hand, axis=1) < 0.06 * HEIGHT
    near_other_foot = np.linalg.norm(rig.vertices - rig.rest("left_foot"), axis=1) < 0.1 * HEIGHT
    assert travel[near_hand].min() > 0.6 * lift
    assert travel[near_other_foot].max() < 0.03 * lift


def test_an_unknown_handle_is_refused(rig: Rig) -> None:
    with pytest.raises(ValueError, match="tail"):
        deform(rig, {"tail": (0.0, 0.0)})


def test_every_action_the_prompts_know_has_limb_moves() -> None:
    assert set(CYCLES_PER_SECOND) == ACTIONS


@pytest.mark.parametrize(("action", "direction"), list(itertools.product(sorted(ACTIONS), (1, -1))))
def test_no_triangle_flips_over_a_cycle(rig: Rig, action: str, direction: int) -> None:
    rest = signed_areas(rig.vertices, rig.triangles)
    assert (rest > 0).all()
    for phase in PHASES:
        posed = deform(rig, limb_pose(rig, action, phase, direction))
        assert (signed_areas(posed, rig.triangles) > 0).all(), phase


def test_a_pose_depends_on_the_phase_fraction_only(rig: Rig) -> None:
    def targets(phase: float) -> np.ndarray:
        return np.array(list(limb_pose(rig, "walk", phase).values()))

    np.testing.assert_allclose(targets(0.3), targets(2.3), atol=1e-6)
    assert np.abs(targets(0.3) - targets(0.8)).max() > 0.03 * HEIGHT


def test_feet_stay_planted_in_a_crouch(rig: Rig) -> None:
    crouch = limb_pose(rig, "jump", 0.06)  # the take-off crouch of motion.hop
    assert crouch["head"][1] - rig.rest("head")[1] > 0.04 * HEIGHT
    for foot in ("left_foot", "right_foot"):
        np.testing.assert_allclose(crouch[foot], rig.rest(foot), atol=1e-6)


# --- drawing ------------------------------------------------------------------------------


def test_drawing_at_rest_reproduces_the_cut_out(figure: np.ndarray, rig: Rig) -> None:
    image, offset = draw(figure, rig, rig.vertices)
    drawn, original = on_canvas(image, offset), on_canvas(figure, (0.0, 0.0))
    assert np.abs(drawn.astype(int) - original).mean() < 0.05
    assert (drawn[:, :, 3][original[:, :, 3] == 255] == 255).all()


def test_every_channel_is_warped_alike(figure: np.ndarray, rig: Rig) -> None:
    grey = np.repeat(figure[:, :, 3:], 4, axis=2)
    posed = deform(rig, limb_pose(rig, "wave", 0.25))
    image, _ = draw(grey, rig, posed)
    for channel in range(3):
        np.testing.assert_array_equal(image[:, :, channel], image[:, :, 3])


def best_similarity(rest: np.ndarray, posed: np.ndarray) -> np.ndarray:
    """The similarity that takes most rest vertices onto their posed places (2 x 3)."""
    matrix, _ = cv2.estimateAffinePartial2D(rest, posed, method=cv2.LMEDS)
    return matrix


def beyond_rigid(figure: np.ndarray, rig: Rig, posed: np.ndarray) -> float:
    """The IoU the posed outline loses against the figure moved by the best similarity
    transform of the rig's vertices: how far the pose is from moving the figure as one piece."""
    image, (ox, oy) = draw(figure, rig, posed)
    matrix = best_similarity(rig.vertices, posed)
    matrix[:, 2] -= (ox, oy)
    size = image.shape[1::-1]
    fitted = cv2.warpAffine(figure[:, :, 3], matrix, size, flags=cv2.INTER_LINEAR) >= 128
    shape = image[:, :, 3] >= 128
    return float(1.0 - (fitted & shape).sum() / (fitted | shape).sum())


@pytest.mark.parametrize(("action", "phase"), [("walk", 0.0), ("walk", 0.5), ("wave", 0.25)])
def test_walk_and_wave_reshape_the_limbs_and_keep_the_torso(
    figure: np.ndarray, rig: Rig, action: str, phase: float
) -> None:
    posed = deform(rig, limb_pose(rig, action, phase))
    assert beyond_rigid(figure, rig, posed) > 0.05
    torso = np.linalg.norm(rig.vertices - rig.rest("body"), axis=1) < 0.12 * HEIGHT
    assert np.abs(posed[torso] - rig.vertices[torso]).max() < 0.01 * HEIGHT


def test_a_mascot_steps_its_feet_in_turn(stubby_rig: Rig) -> None:
    rig = stubby_rig
    poses = [limb_pose(rig, "walk", phase) for phase in PHASES]
    feet = ("left_foot", "right_foot")
    step = {foot: np.array([pose[foot][0] - rig.rest(foot)[0] for pose in poses]) for foot in feet}
    lift = {foot: np.array([rig.rest(foot)[1] - pose[foot][1] for pose in poses]) for foot in feet}
    for foot in feet:
        assert np.ptp(step[foot]) > 0.04 * rig.height
    # one goes forward as the other goes back, and each is up while the other is down
    assert np.corrcoef(step["left_foot"], step["right_foot"])[0, 1] < -0.9
    higher = lift["left_foot"] - lift["right_foot"]
    quarter, three_quarters = list(PHASES).index(0.25), list(PHASES).index(0.75)
    assert higher[quarter] > 0.005 * rig.height
    assert -higher[three_quarters] > 0.005 * rig.height


@pytest.mark.parametrize(("action", "phase"), [("walk", 0.0), ("walk", 0.5), ("wave", 0.25)])
def test_a_mascot_moves_its_stubs_and_keeps_its_body(
    stubby: np.ndarray, stubby_rig: Rig, action: str, phase: float
) -> None:
    rig = stubby_rig
    posed = deform(rig, limb_pose(rig, action, phase))
    assert beyond_rigid(stubby, rig, posed) > 0.01
    (cx, cy), (ax, ay) = EGG_CENTRE, EGG_AXES
    egg = ((rig.vertices[:, 0] - cx) / ax) ** 2 + ((rig.vertices[:, 1] - cy) / ay) ** 2 < 0.8
    assert np.abs(posed[egg] - rig.vertices[egg]).max() < 0.01 * rig.height


def test_a_mascot_waves_its_stub_through_a_visible_arc(stubby_rig: Rig) -> None:
    # Its stub turns at most about 40°: a wave of 20° either side of a raised arm, past that
    # range, moved the hand 2.7 % of the mascot's height over a cycle (now 5 %).
    hands = np.array([limb_pose(stubby_rig, "wave", phase)["right_hand"] for phase in PHASES])
    travel = np.linalg.norm(hands.max(axis=0) - hands.min(axis=0))
    assert travel > 0.04 * stubby_rig.height


@pytest.mark.parametrize(("action", "direction"), list(itertools.product(sorted(ACTIONS), (1, -1))))
def test_no_triangle_of_a_mascot_flips_over_a_cycle(
    stubby_rig: Rig, action: str, direction: int
) -> None:
    rig = stubby_rig
    for phase in PHASES:
        posed = deform(rig, limb_pose(rig, action, phase, direction))
        assert (signed_areas(posed, rig.triangles) > 0).all(), phase


@pytest.mark.parametrize("action", ["walk", "run", "wave", "dance", "jump"])
def test_a_posed_figure_has_no_cracks(figure: np.ndarray, rig: Rig, action: str) -> None:
    opaque = cv2.erode(figure[:, :, 3], np.ones((5, 5), np.uint8)) == 255
    # the mesh reaches a little past the cut-out's edges
    opaque = np.pad(opaque, 8)
    for phase in (0.1, 0.35, 0.6, 0.85):
        posed = deform(rig, limb_pose(rig, action, phase))
        image, offset = draw(figure, rig, posed)
        # where two triangles meet is where a crack would open: the middle of every side
        sides = np.concatenate([rig.triangles[:, [0, 1]], rig.triangles[:, [1, 2]]])
        rest_middles = np.round(rig.vertices[sides].mean(axis=1)).astype(int) + 8
        inside = opaque[rest_middles[:, 1], rest_middles[:, 0]]
        drawn_middles = np.round(posed[sides].mean(axis=1) - offset).astype(int)[inside]
        assert (image[drawn_middles[:, 1], drawn_middles[:, 0], 3] >= 250).all(), phase


def test_a_part_hanging_on_the_mesh_by_a_thread_moves_with_its_neighbours() -> None:
    """At 1.65x the mascot's antenna hangs on the mesh by too little for the method's first
    step alone to place it: with every handle at rest its vertices drifted up to 100 px."""
    figure = mascot()
    figure[:45] = 0  # the antenna redrawn over the egg's top
    cv2.line(figure, (150, 40), (166, 16), DARK_RED, 4, cv2.LINE_AA)
    cv2.circle(figure, (166, 14), 9, YELLOW, -1, cv2.LINE_AA)
    big = cv2.resize(figure, None, fx=1.65, fy=1.65, interpolation=cv2.INTER_CUBIC)
    rig = build_rig(big[:, :, 3])
    assert rig is not None
    np.testing.assert_allclose(deform(rig, {}), rig.vertices, atol=1e-6)
    antenna = np.flatnonzero(rig.vertices[:, 1] < 0.1 * rig.height)
    body = np.setdiff1d(np.arange(len(rig.vertices)), antenna)
    apart = ((rig.vertices[antenna][:, None] - rig.vertices[body][None]) ** 2).sum(axis=2)
    nearest = body[apart.argmin(axis=1)]
    assert len(antenna) > 0
    for action in ("walk", "wave", "jump"):
        for phase in PHASES:
            moved = deform(rig, limb_pose(rig, action, phase)) - rig.vertices
            assert np.abs(moved[antenna] - moved[nearest]).max() < 2.0, (action, phase)


def enlarged(alpha: np.ndarray, scale: float, blurred: bool) -> np.ndarray:
    """The alpha `scale` times as large; `blurred`, as if cut out of a source a third the size."""
    if blurred:
        small = cv2.resize(alpha, None, fx=0.3, fy=0.3, interpolation=cv2.INTER_AREA)
        alpha = cv2.resize(small, alpha.shape[::-1], interpolation=cv2.INTER_CUBIC)
    return cv2.resize(alpha, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)


@pytest.mark.parametrize(
    ("scale", "blurred"), [(2.6, False), (3.5, False), (1.2, True), (2.75, True)]
)
def test_a_large_or_blurred_cut_out_gets_a_whole_rig_that_bends(
    scale: float, blurred: bool
) -> None:
    """A character a portrait video draws 1300 px tall, or one cut from a small source and
    enlarged: their meshes cracked into pieces that hung on each other by a corner, and the
    solve failed (a singular matrix, the render with it) or placed nothing."""
    rig = build_rig(enlarged(gingerbread()[:, :, 3], scale, blurred))
    assert rig is not None
    np.testing.assert_allclose(deform(rig, {}), rig.vertices, atol=1e-6)
    waving = deform(rig, limb_pose(rig, "wave", 0.25))
    moved = np.linalg.norm(waving - rig.vertices, axis=1)
    assert max(moved[rig.handles[hand]] for hand in ("left_hand", "right_hand")) > 0.05 * rig.height
    assert moved.max() < 0.5 * rig.height  # nothing flung away


@pytest.mark.parametrize(
    "alpha",
    [gingerbread()[:, :, 3], mascot()[:, :, 3], photo_sticker(), triangle()],
    ids=["gingerbread", "mascot", "photo_sticker", "triangle"],
)
def test_the_core_is_the_opening_by_its_disc(alpha: np.ndarray) -> None:
    """Taken with distance transforms, it is what OpenCV's opening by the same disc keeps."""
    solid = (alpha > 127).astype(np.uint8)
    radius = max(1, round(_CORE_SHARE * float(cv2.distanceTransform(solid, cv2.DIST_L2, 5).max())))
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    opened = cv2.morphologyEx(solid, cv2.MORPH_OPEN, disc, borderType=cv2.BORDER_CONSTANT) > 0
    core = _core(solid) > 0
    assert (opened & core).sum() / (opened | core).sum() > 0.98


# --- stubs: pieces of their own -------------------------------------------------------------


def stub_direction(image: np.ndarray, offset: tuple[float, float], joint: np.ndarray) -> float:
    """Degrees up from level of the right arm stub's dark pixels as seen from its joint."""
    canvas = on_canvas(image, offset)
    dark = (np.abs(canvas.astype(int) - DARK_RED).max(axis=2) < 40) & (canvas[:, :, 3] > 200)
    (cx, cy), (ax, _) = EGG_CENTRE, EGG_AXES
    dark[:, : 60 + cx + ax // 2] = False  # the stub lies right of the egg's middle ...
    dark[60 + cy + 80 :] = False  # ... above its feet
    ys, xs = np.nonzero(dark)
    x, y = xs.mean() - 60 - joint[0], ys.mean() - 60 - joint[1]
    return float(np.degrees(np.arctan2(-y, x)))


def in_one_piece(image: np.ndarray) -> bool:
    """Whether a drawn figure's opaque pixels are one piece, but for specks (under 0.5 %)."""
    opaque = (image[:, :, 3] >= 128).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(opaque, connectivity=8)
    areas = np.sort(stats[1:count, cv2.CC_STAT_AREA])[::-1]
    return bool(areas[1:].sum() < 0.005 * areas.sum())


def test_a_mascot_s_arm_stubs_turn_whole_and_a_gingerbread_man_s_arms_bend(
    rig: Rig, stubby_rig: Rig
) -> None:
    assert set(stubby_rig.hinges) == {"left_hand", "right_hand"}
    assert rig.hinges == {}


def test_a_mascot_raises_its_stub_high_to_wave(stubby: np.ndarray, stubby_rig: Rig) -> None:
    # Bent, the stub folded past 40°: raised as far as that, it hardly showed.
    rig = stubby_rig
    joint = rig.joints["right_hand"]
    rest = stub_direction(*draw(stubby, rig, rig.vertices), joint)
    raised = stub_direction(*draw(stubby, rig, deform(rig, limb_pose(rig, "wave", 0.0))), joint)
    assert abs(rest) < 10
    assert raised > 55


def test_a_mascot_swings_its_stubs_in_a_walk(stubby_rig: Rig) -> None:
    rig = stubby_rig
    for hand in ("left_hand", "right_hand"):
        joint, rest = rig.joints[hand], rig.rest(hand) - rig.joints[hand]
        angles = []
        for phase in PHASES:
            posed = deform(rig, limb_pose(rig, "walk", phase))
            moved = posed[rig.handles[hand]] - joint
            turn = np.arctan2(moved[1], moved[0]) - np.arctan2(rest[1], rest[0])
            angles.append(np.degrees((turn + np.pi) % (2 * np.pi) - np.pi))
        assert np.ptp(angles) > 40, hand


def test_drawing_a_mascot_at_rest_reproduces_the_cut_out(
    stubby: np.ndarray, stubby_rig: Rig
) -> None:
    image, offset = draw(stubby, stubby_rig, stubby_rig.vertices)
    drawn, original = on_canvas(image, offset), on_canvas(stubby, (0.0, 0.0))
    assert np.abs(drawn.astype(int) - original).mean() < 0.05
    assert (drawn[:, :, 3][original[:, :, 3] == 255] == 255).all()


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_a_mascot_s_stubs_stay_on_its_body(
    stubby: np.ndarray, stubby_rig: Rig, action: str
) -> None:
    """However the body sways and the stubs turn, the figure stays one piece."""
    for phase in PHASES[::3]:
        image, _ = draw(
            stubby, stubby_rig, deform(stubby_rig, limb_pose(stubby_rig, action, phase))
        )
        assert in_one_piece(image), phase


def test_a_stub_held_up_already_still_waves(stubby_rig: Rig) -> None:
    # A CGI bunny stretching holds its arm up: asked to wave, it dropped 6° and rose again.
    hand = stubby_rig.rest("right_hand")
    joint = hand + np.array([0.0, 20.0])  # as if the stub pointed straight up from it
    rig = dataclasses.replace(stubby_rig, joints={**stubby_rig.joints, "right_hand": joint})
    targets = np.array([limb_pose(rig, "wave", phase)["right_hand"] for phase in PHASES])
    angles = np.degrees(np.arctan2(joint[1] - targets[:, 1], targets[:, 0] - joint[0]))
    assert np.ptp(angles) > 30
    assert angles.min() < 60  # it drops outwards, away from the head


def mascot_with_a_lump() -> np.ndarray:
    """The mascot with its right stub swapped for a lump twice as tall as it sticks out."""
    img = mascot()
    img[150:220, 228:] = 0
    cv2.ellipse(img, (244, 184), (22, 26), 0, 0, 360, DARK_RED, -1, cv2.LINE_AA)
    cv2.ellipse(img, EGG_CENTRE, EGG_AXES, 0, 0, 360, RED, -1, cv2.LINE_AA)
    return img


def test_a_lump_wider_than_it_sticks_out_bends_and_stays_on_the_body() -> None:
    # Turned whole, such a lump on a blurred mascot opened a crack along its join.
    figure = mascot_with_a_lump()
    rig = build_rig(figure[:, :, 3])
    assert rig is not None
    assert "right_hand" in rig.handles
    assert set(rig.hinges) == {"left_hand"}
    for action in sorted(ACTIONS):
        for phase in PHASES[::6]:
            image, _ = draw(figure, rig, deform(rig, limb_pose(rig, action, phase)))
            assert in_one_piece(image), (action, phase)


def test_a_figure_with_one_hand_raised_already_waves_the_other() -> None:
    # Big Buck Bunny stretching: one hand up by its head, one arm held out. The raised arm,
    # bent and near the top of its wave already, had little room to move: its hand travelled
    # 10 px here (the bunny's outline changed 0.1 % in a second of waving); the arm held out
    # travels 49.
    image = np.zeros((HEIGHT, 360, 4), np.uint8)
    cv2.circle(image, (180, 62), 55, BROWN, -1, cv2.LINE_AA)
    cv2.ellipse(image, (180, 210), (65, 100), 0, 0, 360, BROWN, -1, cv2.LINE_AA)
    cv2.line(image, (140, 150), (20, 170), BROWN, 36, cv2.LINE_AA)  # held out
    cv2.line(image, (222, 140), (300, 20), BROWN, 36, cv2.LINE_AA)  # raised, by the head
    for start, end in (((150, 280), (105, 475)), ((210, 280), (255, 475))):
        cv2.line(image, start, end, BROWN, 40, cv2.LINE_AA)
    rig = build_rig(image[:, :, 3])
    assert rig is not None and {"left_hand", "right_hand"} <= set(rig.handles)
    for direction in (1, -1):
        top, foot = (limb_pose(rig, "wave", phase, direction) for phase in (0.0, 0.5))
        travel = max(np.hypot(*np.subtract(top[h], foot[h])) for h in ("left_hand", "right_hand"))
        assert travel > 0.06 * HEIGHT, direction
