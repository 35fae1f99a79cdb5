"""Fingerprints and consistency scores on a drawn test set: same character vs different ones."""

from __future__ import annotations

import functools
import io
import math
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
import skimage.data

from tests.characters.drawing import background as gradient_background
from troupe.characters.consistency import (
    WORK_SIDE,
    FrameFeatures,
    analyse_frame,
    lit_colour_distance,
    score_cast,
    score_features,
    score_frames,
    score_video,
)
from troupe.characters.fingerprint import (
    FORMAT_VERSION,
    MAX_KEYPOINTS,
    build_fingerprint,
    colour_signature,
    load_fingerprint,
)
from troupe.media.frames import Frame
from troupe.media.window import sample_frames

Size = tuple[int, int]  # width, height
SIZE: Size = (640, 360)
SPRITE_SIDE = 400
Colour = tuple[int, int, int]
ORANGE, BROWN, YELLOW = (235, 120, 30), (120, 50, 10), (250, 210, 40)
WHITE, BLACK = (255, 255, 255), (15, 15, 20)
Sprite = Callable[[int], np.ndarray]  # pose -> RGBA, SPRITE_SIDE at most

# --- characters ---------------------------------------------------------------------------


def _canvas() -> np.ndarray:
    return np.zeros((SPRITE_SIDE, SPRITE_SIDE, 4), np.uint8)


def _c(rgb: Colour) -> tuple[int, int, int, int]:
    return (*rgb, 255)


def _text(img: np.ndarray, text: str, org: tuple[int, int], scale: float, rgb: Colour) -> None:
    thickness = max(1, round(scale * 2.5))
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_DUPLEX, scale, _c(rgb), thickness, cv2.LINE_AA)


def bolt(pose: int, body: Colour = ORANGE, outline: Colour = BROWN) -> np.ndarray:
    """Round mascot: waving arms, two eyes, a lightning bolt and its name on the belly."""
    img = _canvas()
    wave = (-30, 0, 25)[pose % 3]
    for side in (-1, 1):
        cv2.ellipse(img, (200 + side * 160, 210), (50, 22), side * wave, 0, 360, _c(outline), -1)
    cv2.ellipse(img, (150, 375), (45, 20), 0, 0, 360, _c(outline), -1)
    cv2.ellipse(img, (250, 375), (45, 20), 0, 0, 360, _c(outline), -1)
    cv2.circle(img, (200, 210), 160, _c(outline), -1, cv2.LINE_AA)
    cv2.circle(img, (200, 210), 150, _c(body), -1, cv2.LINE_AA)
    look = (-6, 0, 6)[pose % 3]
    for ex in (145, 255):
        cv2.circle(img, (ex, 140), 32, _c(WHITE), -1, cv2.LINE_AA)
        cv2.circle(img, (ex + look, 145), 14, _c(BLACK), -1, cv2.LINE_AA)
    mouth = 8 + 10 * (pose % 2)
    cv2.ellipse(img, (200, 200), (40, mouth), 0, 0, 180, _c(BLACK), -1, cv2.LINE_AA)
    flash = np.array([[210, 225], [170, 285], [200, 285], [185, 335], [235, 265], [205, 265]])
    cv2.fillPoly(img, [flash], _c(YELLOW), cv2.LINE_AA)
    _text(img, "BOLT", (135, 325), 1.1, outline)
    return img


def bolt_blue(pose: int) -> np.ndarray:
    """Bolt's exact design in blue: a different character that only colour tells apart."""
    return bolt(pose, body=(40, 90, 230), outline=(20, 30, 90))


def zig(pose: int) -> np.ndarray:
    """Bolt's palette, another design: square body, one eye, zigzag stripes, its name."""
    img = _canvas()
    cv2.rectangle(img, (120, 330), (160, 390), _c(BROWN), -1)
    cv2.rectangle(img, (240, 330), (280, 390), _c(BROWN), -1)
    cv2.rectangle(img, (60, 60), (340, 340), _c(BROWN), -1)
    cv2.rectangle(img, (70, 70), (330, 330), _c(ORANGE), -1)
    tilt = (-12, 0, 12)[pose % 3]
    hat = np.array([[200 + tilt, 5], [150, 62], [250, 62]])
    cv2.fillPoly(img, [hat], _c(YELLOW), cv2.LINE_AA)
    cv2.ellipse(img, (200, 140), (70, 45), 0, 0, 360, _c(WHITE), -1, cv2.LINE_AA)
    cv2.circle(img, (200 + (-15, 0, 15)[pose % 3], 140), 22, _c(BLACK), -1, cv2.LINE_AA)
    for row in (215, 245):
        points = np.array([[70 + 26 * i, row + (12 if i % 2 else -12)] for i in range(11)])
        cv2.polylines(img, [points], False, _c(BROWN), 7, cv2.LINE_AA)
    _text(img, "ZIG", (140, 315), 1.6, WHITE)
    return img


def pip(pose: int) -> np.ndarray:
    """Teal bird: polka dots, a beak, a wing, orange feet."""
    img = _canvas()
    for fx in (160, 240):
        cv2.line(img, (fx, 330), (fx, 385), _c(ORANGE), 8)
        cv2.line(img, (fx - 20, 390), (fx + 20, 390), _c(ORANGE), 8)
    cv2.ellipse(img, (200, 210), (150, 140), 0, 0, 360, _c((20, 90, 95)), -1, cv2.LINE_AA)
    cv2.ellipse(img, (200, 210), (142, 132), 0, 0, 360, _c((40, 170, 170)), -1, cv2.LINE_AA)
    rng = np.random.default_rng(7)
    for _ in range(14):
        x, y = int(rng.integers(90, 300)), int(rng.integers(200, 320))
        cv2.circle(img, (x, y), int(rng.integers(6, 14)), _c(WHITE), -1, cv2.LINE_AA)
    wing = (20, 0, -25)[pose % 3]
    cv2.ellipse(img, (285, 230), (60, 28), wing, 0, 360, _c((20, 90, 95)), -1, cv2.LINE_AA)
    cv2.circle(img, (150, 140), 26, _c(WHITE), -1, cv2.LINE_AA)
    cv2.circle(img, (145, 142), 11, _c(BLACK), -1, cv2.LINE_AA)
    beak = np.array([[60, 165], [115, 145], [115, 190]])
    cv2.fillPoly(img, [beak], _c(YELLOW), cv2.LINE_AA)
    return img


def cereal_box(pose: int) -> np.ndarray:
    """A product: a cereal box with printed brand, a bowl, small print and a barcode."""
    img = _canvas()
    cv2.rectangle(img, (70, 10), (330, 390), _c((200, 30, 40)), -1)
    cv2.rectangle(img, (85, 95), (315, 300), _c((250, 245, 230)), -1)
    _text(img, "CRUNCHY", (88, 60), 1.3, WHITE)
    _text(img, "O's", (160, 88), 0.9, YELLOW)
    cv2.ellipse(img, (200, 240), (90, 45), 0, 0, 180, _c((60, 110, 190)), -1, cv2.LINE_AA)
    rng = np.random.default_rng(3)
    for _ in range(18):
        x, y = int(rng.integers(125, 275)), int(rng.integers(195, 245))
        cv2.circle(img, (x, y), 11, _c((220, 160, 50)), 5, cv2.LINE_AA)
    _text(img, "WHOLE GRAIN", (105, 130), 0.8, (200, 30, 40))
    _text(img, "12 g protein", (125, 160), 0.6, BLACK)
    x = 100
    for width in rng.integers(1, 5, 28):
        cv2.rectangle(img, (x, 320), (x + int(width), 375), _c(BLACK), -1)
        x += int(width) + 2
    _text(img, "NET WT 12 OZ", (205, 350), 0.45, WHITE)
    return _pose_warp(img, pose)


def _photo_sticker(photo: np.ndarray, box: tuple[int, int, int, int], oval: bool) -> Sprite:
    """A region of a photograph cut out as an oval or a rectangle."""
    x, y, w, h = box
    scale = SPRITE_SIDE / max(w, h)
    size = (round(w * scale), round(h * scale))
    crop = cv2.resize(photo[y : y + h, x : x + w], size, interpolation=cv2.INTER_AREA)
    alpha = np.zeros(size[::-1], np.uint8)
    if oval:
        half = (size[0] // 2, size[1] // 2)
        cv2.ellipse(alpha, half, (half[0] - 2, half[1] - 2), 0, 0, 360, 255, -1)
    else:
        cv2.rectangle(alpha, (2, 2), (size[0] - 3, size[1] - 3), 255, -1)
    sticker = np.dstack([crop, alpha])
    return functools.partial(_pose_warp, sticker)


def _pose_warp(rgba: np.ndarray, pose: int) -> np.ndarray:
    """A rigid object from another angle: a slight shear and a change of light."""
    h, w = rgba.shape[:2]
    shear = (0.0, 0.06, -0.05)[pose % 3]
    gain = (1.0, 1.1, 0.88)[pose % 3]
    matrix = np.array([[1, shear, -shear * h / 2], [0, 1, 0]], np.float32)
    out = cv2.warpAffine(rgba, matrix, (w, h), flags=cv2.INTER_LINEAR)
    out[:, :, :3] = np.clip(out[:, :, :3] * gain, 0, 255).astype(np.uint8)
    return out


CHARACTERS: dict[str, Sprite] = {
    "bolt": bolt,
    "bolt_blue": bolt_blue,
    "zig": zig,
    "pip": pip,
    "cereal_box": cereal_box,
    "cat": _photo_sticker(skimage.data.chelsea(), (40, 0, 380, 300), oval=True),
    "coffee": _photo_sticker(skimage.data.coffee(), (75, 15, 410, 380), oval=True),
    "rocket": _photo_sticker(skimage.data.rocket(), (225, 110, 190, 310), oval=False),
}

# --- scenes -------------------------------------------------------------------------------


def _tinted(gray: np.ndarray, tint: tuple[float, float, float], size: Size) -> np.ndarray:
    """A greyscale texture tiled at its own scale over the frame, tinted."""
    w, h = size
    tiled = np.tile(gray, (math.ceil(h / gray.shape[0]), math.ceil(w / gray.shape[1])))
    return (tiled[:h, :w, None] * np.array(tint, np.float32)).clip(0, 255).astype(np.uint8)


def _clutter(size: Size) -> np.ndarray:
    """Gravel strewn with signs: corners everywhere, and letters in the characters' font."""
    img = _tinted(skimage.data.gravel(), (0.9, 0.85, 0.7), size)
    rng = np.random.default_rng(11)
    for _ in range(25 * size[0] * size[1] // (640 * 360)):
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        x, y = int(rng.integers(0, size[0])), int(rng.integers(0, size[1]))
        cv2.rectangle(img, (x, y), (x + int(rng.integers(10, 60)), y + 30), colour, -1)
        word = "".join(chr(int(c)) for c in rng.integers(65, 91, 4))
        cv2.putText(img, word, (x, y + 25), cv2.FONT_HERSHEY_DUPLEX, 0.8, WHITE, 2)
    return img


@functools.cache
def scenes(size: Size = SIZE) -> tuple[np.ndarray, ...]:
    """Backgrounds no character was fingerprinted on: gradient, brick, clutter, printed page."""
    return (
        gradient_background(*size, seed=5).astype(np.uint8),
        _tinted(skimage.data.brick(), (1.0, 0.7, 0.55), size),
        _clutter(size),
        _tinted(skimage.data.page(), (0.95, 0.95, 0.9), size),
    )


def place(
    scene: np.ndarray, rgba: np.ndarray, centre: tuple[float, float], height: float, angle: float
) -> np.ndarray:
    """Composite the sprite scaled to `height` px and turned `angle` degrees at `centre`."""
    h, w = rgba.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, height / h)
    matrix[:, 2] += (centre[0] - w / 2, centre[1] - h / 2)
    warped = cv2.warpAffine(rgba, matrix, scene.shape[1::-1], flags=cv2.INTER_AREA)
    alpha = warped[:, :, 3:].astype(np.float32) / 255.0
    out = scene * (1.0 - alpha) + warped[:, :, :3] * alpha
    return out.astype(np.uint8)


def cutouts(sprite: Sprite) -> list[np.ndarray]:
    """Three cut-outs as extraction makes them: from frames of another scene, in other poses
    and sizes, with a mask a little too generous."""
    scene = gradient_background(*SIZE, seed=1).astype(np.uint8)
    centre = (SIZE[0] / 2, SIZE[1] / 2 + 10)
    cuts = []
    for pose, height, angle in ((0, 260, 0.0), (1, 220, -4.0), (2, 300, 5.0)):
        rgba = sprite(pose)
        frame = place(scene, rgba, centre, height, angle)
        silhouette = np.dstack([np.repeat(rgba[:, :, 3:], 3, axis=2), rgba[:, :, 3]])
        alpha = place(np.zeros_like(scene), silhouette, centre, height, angle)[:, :, 0]
        alpha = cv2.dilate((alpha > 127).astype(np.uint8) * 255, np.ones((5, 5), np.uint8))
        ys, xs = np.nonzero(alpha)
        box = np.s_[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
        cuts.append(np.dstack([frame[box], alpha[box]]))
    return cuts


@dataclass(frozen=True)
class Setting:
    """How a clip shows its character: which scene, how big, turned, hidden, lit, compressed."""

    scene: int
    height: float  # share of the frame's height
    angle: float  # degrees, growing by 2 a frame
    hidden: float  # share of the subject's width behind a post
    jpeg: int  # JPEG quality; 0 for none
    pose: int
    blur: float = 0.0  # Gaussian sigma at 640x360
    light: tuple[float, float, float] = (1.0, 1.0, 1.0)  # gain per RGB channel


SETTINGS = {
    "moved": Setting(scene=0, height=0.55, angle=8.0, hidden=0.0, jpeg=0, pose=1),
    "brick_small": Setting(scene=1, height=0.45, angle=-10.0, hidden=0.0, jpeg=40, pose=2),
    "clutter_hidden": Setting(scene=2, height=0.7, angle=3.0, hidden=0.3, jpeg=60, pose=0),
    "text_big": Setting(scene=3, height=0.85, angle=-5.0, hidden=0.15, jpeg=50, pose=1),
    "small_blurred": Setting(scene=2, height=0.42, angle=15.0, hidden=0.0, jpeg=35, pose=2, blur=1),
    "dim_warm_hidden": Setting(
        scene=1, height=0.6, angle=-18.0, hidden=0.4, jpeg=45, pose=0, light=(0.85, 0.72, 0.6)
    ),
}
# Below the ~150 px SIFT needs: the benchmark reports it; the tests do not hold it to the margin.
STRESS_SETTINGS = {
    "tiny_blurred": Setting(scene=2, height=0.33, angle=15.0, hidden=0.0, jpeg=35, pose=2, blur=1),
}
FRAMES_PER_CLIP = 2  # pooled: one frame alone may lose a small subject in clutter


def clip_frames(
    sprite: Sprite | None, setting: Setting, count: int = FRAMES_PER_CLIP, size: Size = SIZE
) -> list[Frame]:
    """The character crossing the scene left to right; None gives the empty scene."""
    scene = scenes(size)[setting.scene]
    w, h = size
    frames = []
    for i in range(count):
        x = w * (0.3 + 0.4 * i / max(1, count - 1))
        img = scene
        if sprite is not None:
            height = setting.height * h
            img = place(scene, sprite(setting.pose + i), (x, h / 2), height, setting.angle + 2 * i)
            img = _hide(img, x, height, setting.hidden)
        frames.append(Frame(i / 8, _compress(_camera(img, setting), setting.jpeg)))
    return frames


def _hide(img: np.ndarray, cx: float, height: float, share: float) -> np.ndarray:
    """A post in front of the subject's right-hand side."""
    if share <= 0:
        return img
    out = img.copy()
    right = round(cx + height * 0.45)
    left = round(right - share * height * 0.9)
    cv2.rectangle(out, (left, 0), (right, out.shape[0]), (90, 70, 50), -1)
    return out


def _camera(img: np.ndarray, setting: Setting) -> np.ndarray:
    """Lens blur and a dim, tinted light."""
    if setting.blur:
        img = cv2.GaussianBlur(img, (0, 0), setting.blur * img.shape[1] / SIZE[0])
    return (img * np.array(setting.light, np.float32)).clip(0, 255).astype(np.uint8)


def _compress(img: np.ndarray, quality: int) -> np.ndarray:
    """A JPEG round trip (chroma subsampling and blocking), RGB in and out."""
    if not quality:
        return img
    bgr = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    decoded = cv2.imdecode(data, cv2.IMREAD_COLOR)
    assert ok and decoded is not None
    return cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)


def write_mp4(path: Path, images: list[np.ndarray], fps: int) -> Path:
    """H.264 at crf 28: visible compression, like a generated video's."""
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=fps, options={"preset": "veryfast", "crf": "28"})
        assert isinstance(stream, av.VideoStream)
        stream.height, stream.width = images[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        for i, image in enumerate(images):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


MP4_SETTING = Setting(scene=0, height=0.6, angle=-6.0, hidden=0.0, jpeg=0, pose=2)
MP4_FPS, MP4_FRAMES = 8, 12


def mp4_clip(path: Path, sprite: Sprite | None, size: Size = SIZE) -> Path:
    """The character walking across the gradient scene for 1.5 s, as a real MP4."""
    frames = clip_frames(sprite, MP4_SETTING, MP4_FRAMES, size)
    return write_mp4(path, [f.image for f in frames], MP4_FPS)


# --- the test set -------------------------------------------------------------------------


@dataclass(frozen=True)
class Clip:
    """A scored clip: whose character it shows (None: nobody) and its analysed frames."""

    name: str
    owner: str | None
    features: list[FrameFeatures]


@dataclass(frozen=True)
class ScoreSet:
    """Fingerprints of every character and clips to score each of them on."""

    fingerprints: dict[str, bytes]
    clips: list[Clip]

    def matrix(self) -> dict[tuple[str, str], float]:
        """(character, clip name) -> score."""
        loaded = {name: load_fingerprint(data) for name, data in self.fingerprints.items()}
        return {
            (name, clip.name): score_features(fp, clip.features)
            for name, fp in loaded.items()
            for clip in self.clips
        }

    def split(self, matrix: dict[tuple[str, str], float]) -> tuple[list[float], list[float]]:
        """Scores of each character on its own clips, and on everyone else's or nobody's."""
        owners = {clip.name: clip.owner for clip in self.clips}
        same = [s for (name, clip), s in matrix.items() if owners[clip] == name]
        different = [s for (name, clip), s in matrix.items() if owners[clip] != name]
        return same, different


@functools.cache
def consistency_set(
    settings: tuple[str, ...] = tuple(SETTINGS), frames_per_clip: int = FRAMES_PER_CLIP
) -> ScoreSet:
    """Every character fingerprinted, then shown in each setting and in an MP4; plus each
    setting's scene with nobody in it. `settings` may name STRESS_SETTINGS too."""
    chosen = {name: {**SETTINGS, **STRESS_SETTINGS}[name] for name in settings}
    fingerprints = {name: build_fingerprint(cutouts(sprite)) for name, sprite in CHARACTERS.items()}
    clips = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, sprite in CHARACTERS.items():
            for label, setting in chosen.items():
                frames = clip_frames(sprite, setting, frames_per_clip)
                clips.append(Clip(f"{name}/{label}", name, _analysed(frames)))
            video = mp4_clip(Path(tmp) / f"{name}.mp4", sprite)
            fps = frames_per_clip * MP4_FPS / MP4_FRAMES
            sampled = sample_frames(video, fps=fps, max_side=WORK_SIDE)
            clips.append(Clip(f"{name}/mp4", name, _analysed(sampled)))
    for label, setting in chosen.items():
        frames = clip_frames(None, setting, frames_per_clip)
        clips.append(Clip(f"nobody/{label}", None, _analysed(frames)))
    return ScoreSet(fingerprints, clips)


def _analysed(frames: list[Frame]) -> list[FrameFeatures]:
    return [analyse_frame(f.image) for f in frames]


def roc_auc(positives: list[float], negatives: list[float]) -> float:
    """Chance a random same-character score beats a random different one (ties count half)."""
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    return wins / (len(positives) * len(negatives))


@functools.cache
def _matrix() -> dict[tuple[str, str], float]:
    return consistency_set().matrix()


# --- tests --------------------------------------------------------------------------------


def test_same_character_clips_beat_every_different_one_by_a_clear_margin() -> None:
    same, different = consistency_set().split(_matrix())
    assert len(same) == len(CHARACTERS) * (len(SETTINGS) + 1)
    # measured 0.99 (0.56 for the blue twin under a dim warm light before colours were
    # compared under the light that explains them)
    assert min(same) >= 0.9
    assert max(different) <= 0.3
    assert min(same) - max(different) >= 0.6


def test_hard_pairs_stay_apart() -> None:
    matrix = _matrix()
    for setting in [*SETTINGS, "mp4"]:
        # one design in two colours: only the colour cue parts them
        assert matrix[("bolt", f"bolt_blue/{setting}")] <= 0.1
        assert matrix[("bolt_blue", f"bolt/{setting}")] <= 0.1
        # one palette, two designs: only the keypoints part them
        assert matrix[("bolt", f"zig/{setting}")] <= 0.1
        assert matrix[("zig", f"bolt/{setting}")] <= 0.1


def _signature(
    rgb: list[Colour], shares: list[float], light: tuple[float, float, float]
) -> np.ndarray:
    """The colour signature of patches of `rgb` colours in `shares`, lit by per-channel gains."""
    rows = [
        np.full((round(1000 * share), 3), colour, np.float32)
        for colour, share in zip(rgb, shares, strict=True)
    ]
    pixels = (np.concatenate(rows) * np.array(light, np.float32)).clip(0, 255).astype(np.uint8)
    return colour_signature(cv2.cvtColor(pixels[None], cv2.COLOR_RGB2Lab)[0])


def test_colours_under_a_dim_warm_light_are_the_same_colours_but_a_repaint_is_not() -> None:
    blue, shares, warm = (40, 90, 220), [0.6, 0.15, 0.15, 0.1], (0.85, 0.72, 0.6)
    mascot = _signature([blue, BROWN, YELLOW, WHITE], shares, (1.0, 1.0, 1.0))
    # The same colours under the lamp: 23 apart as they are, a colour score of 0.77.
    lit = _signature([blue, BROWN, YELLOW, WHITE], shares, warm)
    assert lit_colour_distance(mascot, lit) <= 5
    # Its twin with the body painted orange, lit or not: no light explains most of its colours.
    for light in [(1.0, 1.0, 1.0), warm]:
        twin = _signature([ORANGE, BROWN, YELLOW, WHITE], shares, light)
        assert lit_colour_distance(mascot, twin) >= 50


def test_scenes_without_the_character_score_low() -> None:
    nobody = [s for (_, clip), s in _matrix().items() if clip.startswith("nobody/")]
    assert len(nobody) == len(CHARACTERS) * len(SETTINGS)
    assert max(nobody) <= 0.1


def test_a_small_soft_character_in_a_large_frame_is_looked_at_closer_up() -> None:
    # A quarter of a 1280x720 frame tall, blurred and compressed: the working size leaves zig
    # 3-5 verified inliers a frame (it scored 0.73); where they land, the frame's own pixels
    # at the view's scale hold more.
    quarter = Setting(scene=2, height=0.25, angle=15.0, hidden=0.0, jpeg=35, pose=2, blur=1)
    fingerprints = consistency_set().fingerprints
    drawn = ("bolt", "zig", "pip", "cereal_box")
    for name in drawn:
        frames = _analysed(clip_frames(CHARACTERS[name], quarter, size=(1280, 720)))
        for other in drawn:
            score = score_features(load_fingerprint(fingerprints[other]), frames)
            assert score >= 0.9 if other == name else score <= 0.3, (name, other, score)


def test_score_video_samples_an_mp4(tmp_path: Path) -> None:
    fingerprint = load_fingerprint(consistency_set().fingerprints["cereal_box"])
    same = score_video(fingerprint, mp4_clip(tmp_path / "box.mp4", cereal_box), samples=3)
    other = score_video(fingerprint, mp4_clip(tmp_path / "cat.mp4", CHARACTERS["cat"]), samples=3)
    assert same >= 0.6
    assert other <= 0.3


def test_score_frames_analyses_then_scores() -> None:
    fingerprint = load_fingerprint(consistency_set().fingerprints["pip"])
    frames = clip_frames(pip, SETTINGS["moved"])
    scored = score_frames(fingerprint, frames)
    assert scored == score_features(fingerprint, _analysed(frames))
    assert scored >= 0.6
    assert score_frames(fingerprint, []) == 0.0


def test_fingerprint_round_trips_small_and_deterministic() -> None:
    cuts = cutouts(cereal_box)
    data = build_fingerprint(cuts)
    fingerprint = load_fingerprint(data)
    assert fingerprint.version == FORMAT_VERSION
    assert len(fingerprint.keypoints) == len(fingerprint.descriptors) == len(fingerprint.views)
    assert len(fingerprint.keypoints) <= MAX_KEYPOINTS * len(cuts)
    assert set(fingerprint.views.tolist()) == {0, 1, 2}
    assert fingerprint.descriptors.shape[1] == 128
    assert abs(float(fingerprint.colours[:, 0].sum()) - 1.0) < 1e-4
    assert 0.5 < fingerprint.aspect < 1.0  # the box stands upright
    assert abs(float(np.linalg.norm(fingerprint.thumbnail)) - 1.0) < 1e-2
    assert build_fingerprint(cuts) == data
    assert len(data) < 120_000


def _with_version(data: bytes, version: int) -> bytes:
    with np.load(io.BytesIO(data)) as npz:
        arrays = {name: npz[name] for name in npz.files}
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **{**arrays, "version": np.int32(version)})
    return buffer.getvalue()


def test_other_versions_and_other_bytes_are_refused() -> None:
    data = consistency_set().fingerprints["zig"]
    for version in (1, FORMAT_VERSION + 1):
        with pytest.raises(ValueError, match=f"version {version} is not supported"):
            load_fingerprint(_with_version(data, version))
    with pytest.raises(ValueError, match="not a character fingerprint"):
        load_fingerprint(b"not an npz")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "hello")
    with pytest.raises(ValueError, match="version -1"):
        load_fingerprint(buffer.getvalue())


def test_unusable_cutouts_are_refused() -> None:
    with pytest.raises(ValueError, match="RGBA"):
        build_fingerprint([np.zeros((50, 50, 3), np.uint8)])
    with pytest.raises(ValueError, match="empty"):
        build_fingerprint([np.zeros((50, 50, 4), np.uint8)])
    with pytest.raises(ValueError, match="1 to 5"):
        build_fingerprint([])


def test_a_video_without_a_cast_is_not_analysed_for_scores() -> None:
    """Scoring looks at frames only for the characters a video has: a prompt-only video's
    frames are never analysed (these are not even pictures)."""
    not_pictures = [Frame(time=0.0, image=np.zeros(0, np.uint8))]
    assert score_cast({}, not_pictures, 8) == {}
