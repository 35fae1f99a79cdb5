"""A character hardly found in its video is flagged beside its score, not left as a silent 0."""

from __future__ import annotations

from troupe.videos.job import CONSISTENCY_FLOOR, consistency_warning


def test_low_scores_carry_a_warning_and_good_ones_none() -> None:
    assert consistency_warning(None) is None
    assert consistency_warning(0.97) is None
    assert consistency_warning(CONSISTENCY_FLOOR) is None
    warning = consistency_warning(0.0)
    assert warning is not None and "0.00" in warning and "hardly found" in warning


def test_a_score_just_under_the_floor_reads_under_it() -> None:
    warning = consistency_warning(CONSISTENCY_FLOOR - 0.0004)
    assert warning is not None
    assert warning.startswith(f"consistency 0.2996 is below {CONSISTENCY_FLOOR:.4f}:"), warning
