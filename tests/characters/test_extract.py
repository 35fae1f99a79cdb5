"""The extraction pipeline end to end on synthetic windows, and window suggestion."""

from __future__ import annotations

import functools
import io
import json
import re
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from tests.characters.drawing import SPRITE, Box, background, draw_sprite
from troupe.characters.create import judge_window, window_pictures
from troupe.characters.extract import (
    MAX_ANALYSED_FRAMES,
    MERGED_AREA,
    QUALITY_TIE_BREAK,
    _diverse,
    _mark_merged,
    _mattes,
    _Scored,
    extract_character,
    frame_scores,
)
from troupe.characters.fingerprint import load_fingerprint
from troupe.characters.frame_quality import exposure
from troupe.characters.own_motion import references_at_source_size
from troupe.characters.subject import Sighting, SubjectMask, model_frames
from troupe.characters.timestamps import Window
from troupe.errors import TroupeError
from troupe.media.frames import Frame
from troupe.media.probe import probe
from troupe.media.synthetic import ClipSpec, make_mascot_clip


@functools.cache  # several tests share a window; they never modify it
def window(
    w: int = 640,
    h: int = 360,
    n: int = 24,
    fps: float = 8.0,
    start: float = 1.0,
    size: float = 0.2,
    moving: bool = True,
    growth: float = 0.0,
    visible: Callable[[float], bool] = lambda t: True,
) -> tuple[list[Frame], dict[float, Box]]:
    """Frames of a blob walking across (or standing still), with its box at each visible time."""
    bg, rng = background(w, h), np.random.default_rng(1)
    # A few noise fields reused in turn: sensor noise without drawing millions of normals a frame.
    noise = rng.normal(0, 4, (3, h, w, 3)).astype(np.float32)
    frames, boxes = [], {}
    for i in range(n):
        t, img = start + i / fps, bg.copy()
        cx = w * (0.3 + 0.4 * i / (n - 1)) if moving else w * 0.5
        if visible(t):
            boxes[t] = draw_sprite(img, cx, h * 0.55, size * h * (1 + growth * i / (n - 1)))
        frames.append(Frame(t, np.clip(img + noise[i % 3], 0, 255).astype(np.uint8)))
    return frames, boxes


def iou(a: Box | list[int], b: Box) -> float:
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def failure(frames: list[Frame], width: int = 1280, height: int = 720) -> TroupeError:
    with pytest.raises(TroupeError) as caught:
        extract_character(frames, width, height)
    assert caught.value.param == "timestamps"
    assert caught.value.status == 422
    return caught.value


def test_box_is_reported_in_source_pixels() -> None:
    frames, boxes = window()
    report = extract_character(frames, 1280, 720).report
    x, y, w, h = boxes[report.best_frame_time]
    truth = (2 * x, 2 * y, 2 * w, 2 * h)
    assert iou(report.subject_box, truth) >= 0.85
    assert report.resolution == "1280x720"
    assert report.warnings == []
    assert 0.05 < report.subject_coverage < 0.08
    assert report.sharpness > 0.5
    assert json.loads(json.dumps(report.to_dict()))["subject_box"] == report.subject_box


def test_profile_is_a_square_centred_on_the_subject() -> None:
    frames, _ = window(moving=False)
    profile = Image.open(io.BytesIO(extract_character(frames, 640, 360).profile_jpeg))
    assert profile.format == "JPEG" and profile.size == (512, 512)
    centre = np.asarray(profile.convert("RGB"))[236:276, 236:276].reshape(-1, 3).mean(axis=0)
    assert np.abs(centre - SPRITE).max() < 12
    corner = np.asarray(profile.convert("RGB"))[:20, :20].reshape(-1, 3).mean(axis=0)
    assert np.abs(corner - SPRITE).max() > 60


def test_profile_near_the_edge_is_framed_inside_the_source_without_streaks() -> None:
    frames, _ = window(moving=False)
    shifted = [Frame(f.time, np.ascontiguousarray(f.image[:, 280:])) for f in frames]
    extraction = extract_character(shifted, 360, 360)
    profile = np.asarray(Image.open(io.BytesIO(extraction.profile_jpeg)).convert("RGB"))
    assert profile.shape == (512, 512, 3)
    steps = np.abs(np.diff(profile.astype(int), axis=1)).max(axis=(0, 2))
    assert (steps <= 2).mean() < 0.02  # no column repeats its neighbour, as replication did
    # the subject stands off-centre, towards the frame's edge the square was moved away from
    columns = np.flatnonzero(np.abs(profile.astype(int) - SPRITE).max(axis=2).min(axis=0) < 30)
    assert columns.mean() < 256 - 20


def test_references_are_cut_outs_on_white_and_transparent() -> None:
    frames, _ = window()
    pngs = extract_character(frames, 1280, 720).references_png
    assert len(pngs) in (6, 8, 10)  # three to five references, each on white and transparent
    for white_png, alpha_png in zip(pngs[::2], pngs[1::2], strict=True):
        white, alpha = Image.open(io.BytesIO(white_png)), Image.open(io.BytesIO(alpha_png))
        assert (white.format, white.mode, alpha.mode) == ("PNG", "RGB", "RGBA")
        rgba, rgb = np.asarray(alpha), np.asarray(white)
        h, w = rgba.shape[:2]
        assert rgba[h // 2, w // 2, 3] == 255
        assert np.abs(rgba[h // 2, w // 2, :3].astype(int) - SPRITE).max() < 20
        assert rgba[:3, :3, 3].max() == 0 and rgba[-3:, -3:, 3].max() == 0
        assert rgb[:3, :3].min() == 255
        assert 0.5 < (rgba[:, :, 3] > 127).mean() < 0.85


def test_references_come_from_different_moments() -> None:
    frames, _ = window(moving=False, size=0.18, growth=0.5)  # the blob comes closer
    pngs = extract_character(frames, 640, 360).references_png
    heights = sorted(Image.open(io.BytesIO(p)).size[1] for p in pngs[::2])
    assert 3 <= len(heights) <= 5
    assert heights[-1] > 1.25 * heights[0]
    assert len(set(heights)) == len(heights)


def test_fingerprint_holds_colour_and_shape() -> None:
    frames, _ = window()
    fingerprint = load_fingerprint(extract_character(frames, 1280, 720).fingerprint)
    assert 3 <= len(fingerprint.view_sizes) <= 5
    assert len(fingerprint.descriptors) > 20
    assert fingerprint.thumbnail.shape == (32, 32, 3)
    alpha = fingerprint.thumbnail_alpha
    assert alpha[16, 16] > 0.9 and alpha[0, 0] < 0.1
    assert fingerprint.aspect == pytest.approx(0.8, abs=0.08)
    assert fingerprint.lab_mean[1] > 20  # orange: strongly red-yellow in a*


def test_black_window_is_too_dark() -> None:
    frames, _ = window()
    error = failure([Frame(f.time, np.zeros_like(f.image)) for f in frames])
    assert error.code == "low_quality_segment"
    assert error.message.startswith("too dark: mean brightness 0/255")
    assert "between 1.0s and 3.9s" in error.message


def test_blurred_window_is_rejected_as_blurred() -> None:
    frames, _ = window()
    error = failure([Frame(f.time, cv2.GaussianBlur(f.image, (0, 0), 8)) for f in frames])
    assert error.code == "low_quality_segment"
    assert "blur" in error.message


def test_empty_window_has_no_subject() -> None:
    frames, _ = window(visible=lambda t: False)
    error = failure(frames)
    assert error.code == "no_subject_found"
    assert error.message == "nothing stands out as a subject between 1.0s and 3.9s"


def test_several_alike_subjects_are_refused_as_no_clear_subject() -> None:
    """Four identical blobs side by side: the model cannot say which one is the character."""
    bg, rng = background(), np.random.default_rng(9)
    frames = []
    for i in range(12):
        img = bg.copy()
        for cx in (100, 250, 400, 550):
            draw_sprite(img, cx, 180, 40)
        frames.append(
            Frame(1.0 + i / 8, np.clip(img + rng.normal(0, 4, img.shape), 0, 255).astype(np.uint8))
        )
    error = failure(frames)
    assert error.code == "no_subject_found"
    assert error.message.startswith("no region stands out clearly as one subject (confidence 0.")


def test_tiny_subject_is_too_small() -> None:
    frames, _ = window(size=0.045)
    error = failure(frames)
    assert error.code == "no_subject_found"
    assert error.message.startswith("subject too small: covers 0.")


def test_warnings_for_low_resolution_small_and_edge() -> None:
    frames, _ = window(w=480, h=270, size=0.09)
    assert extract_character(frames, 480, 270).report.warnings == ["below 720p", "subject small"]
    edge = [Frame(f.time, np.ascontiguousarray(f.image[:, 290:])) for f in window(moving=False)[0]]
    assert "subject touches the frame edge" in extract_character(edge, 350, 360).report.warnings


def test_frame_scores_find_where_the_subject_is() -> None:
    frames, _ = window(n=40, fps=4.0, start=0.0, visible=lambda t: 5.0 <= t < 8.0)
    scores = frame_scores(frames[::-1])  # any order in, time order out
    assert len(scores) == 40
    inside = [s for s, f in zip(scores, frames, strict=True) if 5.0 <= f.time < 8.0]
    outside = [s for s, f in zip(scores, frames, strict=True) if not 5.0 <= f.time < 8.0]
    # The model looks at a few frames of each piece: the frames where the subject walks in,
    # before the model's next look, can miss it.
    assert sum(score > 0.3 for score in inside) >= len(inside) - 2, inside
    assert 0.0 < max(outside) <= QUALITY_TIE_BREAK  # clean frames still break ties


def test_frame_scores_of_unusable_frames_are_zero() -> None:
    frames, _ = window(n=8, fps=4.0, start=0.0)
    black = [Frame(f.time, np.zeros_like(f.image)) for f in frames]
    assert frame_scores(black) == [0.0] * 8
    assert frame_scores([]) == []


def hide_and_blur(hide_from: float, blur: float) -> list[Frame]:
    """A still blob whose right part, from `hide_from` of its width, is hidden (by something
    the colour of the background) around the second frame the model looks at, where the window
    is sharp; everywhere else it shows whole but blurred."""
    # No more frames than extraction analyses, so it sees every one of them.
    frames, boxes = window(n=MAX_ANALYSED_FRAMES, moving=False)
    x, _, w, _ = next(iter(boxes.values()))
    cut = x + round(w * hide_from)
    plain, _ = window(n=MAX_ANALYSED_FRAMES, moving=False, visible=lambda t: False)
    hidden = model_frames(MAX_ANALYSED_FRAMES)[1]
    result = []
    for i, (f, empty) in enumerate(zip(frames, plain, strict=True)):
        image = f.image.copy()
        if abs(i - hidden) <= 1:
            image[:, cut:] = empty.image[:, cut:]
        else:
            image = cv2.GaussianBlur(image, (0, 0), blur)
        result.append(Frame(f.time, image))
    return result


def test_a_partly_hidden_subject_in_the_best_frame_is_reported() -> None:
    """Whole in the blurred frames, 40% hidden in the sharp ones: the sharp frame still wins."""
    report = extract_character(hide_and_blur(0.6, 3.0), 640, 360).report
    assert "subject partly hidden" in report.warnings


def test_a_subject_hidden_in_every_usable_frame_is_refused() -> None:
    """The whole blob shows only in frames too blurred to use; the sharp ones hide half of it."""
    error = failure(hide_and_blur(0.5, 6.0))
    assert error.code == "no_subject_found"
    # The track may follow the visible half, or drop that frame as not the same subject.
    occluded = r"subject occluded: at most [45]\d% of it shows in usable frames"
    unclear = "the subject is not clear in any frame examined closely"
    assert re.match(f"({occluded}|{unclear}) between 1.0s and 2.4s$", error.message), error


def test_a_720p_window_of_72_frames_reports_source_pixels() -> None:
    """Speed is bench/character_create.py's business; here only the answer is checked."""
    small, boxes = window(n=72, fps=24.0)
    frames = [Frame(f.time, cv2.resize(f.image, (1280, 720))) for f in small]
    report = extract_character(frames, 1280, 720).report
    x, y, w, h = boxes[report.best_frame_time]
    assert iou(report.subject_box, (2 * x, 2 * y, 2 * w, 2 * h)) >= 0.85


def test_own_motion_is_carried_only_from_frames_whose_masks_are_trusted() -> None:
    """A frame whose mask the model was unsure of may hold what passed in front of the subject
    (a passer-by's legs over a parked bicycle, on real footage), and one whose subject grew
    past its track's trend something that merged into it: neither is a key of the strip."""
    frames = [
        scored(0.0, 0.9),
        scored(0.5, 0.3),
        scored(1.0, 0.6, modelled=False),
        scored(1.5, 0.7),
        scored(2.0, 0.8, size_ratio=1.5),
    ]
    assert sorted(_mattes(frames)) == [0.0, 1.5]


def scored(
    time: float,
    confidence: float,
    modelled: bool = True,
    size_ratio: float = 1.0,
    beside: tuple[int, tuple[int, int, int]] | None = None,
) -> _Scored:
    """A frame of a grey picture whose subject is a red box, as the model and track saw it;
    `beside`: (width, colour) of a patch right of the box that its mask took in too."""
    image = np.full((90, 160, 3), 128, np.uint8)
    image[30:60, 60:100] = (200, 40, 40)
    mask = np.zeros((90, 160), bool)
    mask[30:60, 60:100] = True
    if beside is not None:
        width, colour = beside
        image[30:60, 100 : 100 + width] = colour
        mask[30:60, 100 : 100 + width] = True
    subject = SubjectMask((60, 30, 40, 30), mask, float(mask.mean()), touches_edge=False)
    sighting = Sighting(subject, size_ratio=size_ratio, speed=0.0, confidence=confidence)
    return _Scored(Frame(time, image), image, exposure(image), 1.0, sighting, 1.0, modelled)


def test_a_frame_where_something_merged_into_the_subject_is_never_a_reference() -> None:
    """Its mask holds more than the subject (a tree behind the subject, merged into one frame's
    mask): though it looks most unlike the others, it is not cut out."""
    frames = [scored(0.5 * i, 0.9) for i in range(4)] + [scored(2.0, 0.9, size_ratio=1.5)]
    chosen = _diverse(frames, frames[0])
    assert len(chosen) >= 3 and all(s.frame.time != 2.0 for s in chosen)


def test_a_mask_that_took_in_something_of_other_colours_is_marked_merged() -> None:
    """The tree behind the test mascot joined its mask through the model's fringe in one
    frame, while the tracked region, and so the size ratio, stayed the subject's. A mask half
    as large again in colours the others lack is marked; one as large in the subject's own
    colours (coming closer) or of new colours at the subject's size (turning) is not."""
    steady = [scored(0.5 * i, 0.9) for i in range(3)]
    tree = scored(1.5, 0.9, beside=(20, (40, 140, 40)))
    closer = scored(2.0, 0.9, beside=(20, (200, 40, 40)))
    turned = scored(2.5, 0.9, beside=(4, (40, 40, 200)))
    marked = _mark_merged([*steady, tree, closer, turned])
    assert [s.merged for s in marked] == [False, False, False, True, False, False]
    chosen = _diverse(marked, marked[0])
    assert all(s.frame.time != 1.5 for s in chosen)


def test_the_test_mascots_references_hold_the_mascot_alone_at_the_sources_size(
    tmp_path: Path,
) -> None:
    """At the seeds' window "1,3" of the suite's 720p mascot clip, the frame at 2.83 s has two
    trees joined to the mascot's mask: none of the references is that frame's cut-out, so each
    is about the mascot's size (the tree frame's picture was 1.9 times the median's area).
    Cut again from the frames as decoded, the references are as tall as the mascot is in the
    source, not as in the analysis frames (half that)."""
    clip = tmp_path / "mascot.mp4"
    truth = make_mascot_clip(clip, ClipSpec(seconds=4, width=1280, height=720))
    judged = judge_window(clip, probe(clip, 1 << 40), Window(1.0, 3.0), to_build=True)
    areas = [
        float(np.prod(Image.open(io.BytesIO(png)).size)) for png in judged.extraction.references_png
    ]
    assert max(areas) <= MERGED_AREA * float(np.median(areas)), areas
    _, at_source = window_pictures(clip, judged)
    pngs = references_at_source_size(at_source, judged.extraction)
    assert len(pngs) == len(judged.extraction.references_png)
    mascot_height = truth[0][1][3]
    for png in pngs[1::2]:
        alpha = np.asarray(Image.open(io.BytesIO(png)))[:, :, 3]
        rows = np.nonzero((alpha > 127).any(axis=1))[0]
        assert 0.85 * mascot_height <= rows[-1] - rows[0] + 1 <= 1.1 * mascot_height
