"""Extraction on the labelled footage of tests/footage.py: real H.264 clips of mascots, photo
stickers, a package and a toy, with pans, zooms, hand shake and a start hidden by an occluder."""

from __future__ import annotations

import re
import statistics

import pytest

from tests.footage import FOOTAGE, Clip, build_footage, iou
from tests.support import computed_each, run_dir
from troupe.characters.create import ANALYSIS_MAX_SIDE, analysis_fps
from troupe.characters.extract import QualityReport, extract_character
from troupe.errors import TroupeError
from troupe.media.window import Grid, decode_grids

# Everything but the human clips (those are for human screening) and one of the two empty ones.
NAMES = [s.name for s in FOOTAGE if not s.human and s.name != "empty_brick_pan"]
MIN_MEAN_IOU = 0.6


@pytest.fixture(scope="module")
def footage(tmp_path_factory: pytest.TempPathFactory) -> list[Clip]:
    folder = run_dir(tmp_path_factory) / "footage_eval"
    clips = computed_each(
        tmp_path_factory, "footage_eval_clips", NAMES, lambda name: build_footage(folder, [name])[0]
    )
    return list(clips.values())


@pytest.fixture(scope="module")
def outcomes(
    tmp_path_factory: pytest.TempPathFactory, footage: list[Clip]
) -> dict[str, QualityReport | TroupeError]:
    by_name = {clip.name: clip for clip in footage}
    return computed_each(
        tmp_path_factory, "footage_eval_outcomes", NAMES, lambda name: extract(by_name[name])
    )


def extract(clip: Clip) -> QualityReport | TroupeError:
    """What a creation naming the clip's whole length as its window extracts."""
    grid = Grid(0.0, clip.seconds, analysis_fps(clip.seconds), ANALYSIS_MAX_SIDE)
    [frames], _ = decode_grids(clip.path, [grid])
    try:
        return extract_character(frames, clip.width, clip.height).report
    except TroupeError as error:
        return error


def reports(
    footage: list[Clip], outcomes: dict[str, QualityReport | TroupeError]
) -> dict[str, tuple[Clip, QualityReport]]:
    return {c.name: (c, r) for c in footage if isinstance(r := outcomes[c.name], QualityReport)}


def test_every_clip_with_a_subject_yields_a_character(
    footage: list[Clip], outcomes: dict[str, QualityReport | TroupeError]
) -> None:
    failed = {
        c.name: str(outcomes[c.name])
        for c in footage
        if c.expected == "ok" and isinstance(outcomes[c.name], TroupeError)
    }
    assert failed == {}


def test_subject_boxes_match_the_truth(
    footage: list[Clip], outcomes: dict[str, QualityReport | TroupeError]
) -> None:
    scores = {
        name: iou(report.subject_box, clip.box_at(report.best_frame_time))
        for name, (clip, report) in reports(footage, outcomes).items()
    }
    expected = [c.name for c in footage if c.expected == "ok"]
    mean = statistics.mean(scores.get(name, 0.0) for name in expected)
    assert mean >= MIN_MEAN_IOU, scores


def test_the_best_frame_is_not_one_the_occluder_hides(
    footage: list[Clip], outcomes: dict[str, QualityReport | TroupeError]
) -> None:
    hidden = [c for c in footage if c.occluded]
    assert hidden
    for clip in hidden:
        report = reports(footage, outcomes)[clip.name][1]
        nearest = min(clip.boxes, key=lambda t: abs(t - report.best_frame_time))
        assert clip.occluded.get(nearest, 0.0) < 0.02, (clip.name, report.best_frame_time)


def test_footage_without_a_subject_is_refused(
    footage: list[Clip], outcomes: dict[str, QualityReport | TroupeError]
) -> None:
    empty = [c for c in footage if c.expected == "no_subject"]
    assert empty
    for clip in empty:
        error = outcomes[clip.name]
        assert isinstance(error, TroupeError)
        assert error.code == "no_subject_found"
        # It names the span of the frames looked at: the window's, to its last grid point.
        found = re.search(r"between 0\.0s and (\d+\.\d)s$", error.message)
        assert found, error.message
        last_step = 1 / analysis_fps(clip.seconds)
        assert clip.seconds - last_step - 0.05 <= float(found.group(1)) < clip.seconds
