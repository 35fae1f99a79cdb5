"""Window ranking from per-frame scores, and on a real source."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from skimage import data

from troupe.characters.create import accepted_windows, judge_window
from troupe.characters.timestamps import Window
from troupe.characters.windows import rank_windows, window_lengths
from troupe.media.encode import VideoSettings, write_mp4
from troupe.media.probe import probe
from troupe.media.synthetic import ClipSpec, make_mascot_clip


def frame_times(duration: float, fps: float = 4.0) -> list[float]:
    return [index / fps for index in range(int(duration * fps))]


def test_lengths_longest_first() -> None:
    assert window_lengths(10) == [3.0, 2.5, 2.0, 1.5, 1.0]
    assert window_lengths(1.6) == [1.6, 1.1]


def test_best_window_covers_the_good_stretch() -> None:
    times = frame_times(10)
    scores = [0.9 if 5.0 <= t < 8.0 else 0.05 for t in times]
    best = rank_windows(times, scores, 10)[0]
    assert best.window == Window(5.0, 8.0)
    assert best.score > 0.85


def test_candidates_do_not_overlap_and_are_ordered() -> None:
    times = frame_times(12)
    scores = [0.8 if t < 3 else 0.6 if 6 <= t < 9 else 0.1 for t in times]
    ranked = rank_windows(times, scores, 12, count=3)
    assert [c.window for c in ranked[:2]] == [Window(0.0, 3.0), Window(6.0, 9.0)]
    assert ranked[0].score >= ranked[1].score >= ranked[2].score
    for i, a in enumerate(ranked):
        for b in ranked[i + 1 :]:
            assert a.window.end <= b.window.start or b.window.end <= a.window.start


def test_windows_overlapping_one_to_avoid_are_passed_over() -> None:
    times = frame_times(12)
    scores = [0.8 if t < 3 else 0.6 if 6 <= t < 9 else 0.1 for t in times]
    ranked = rank_windows(times, scores, 12, count=2, avoid=Window(0.5, 2.5))
    assert ranked[0].window == Window(6.0, 9.0)
    assert all(c.window.end <= 0.5 or c.window.start >= 2.5 for c in ranked)


def test_windows_stay_inside_short_sources() -> None:
    times = frame_times(1.5)
    ranked = rank_windows(times, [0.5] * len(times), 1.5)
    assert ranked and all(c.window.end <= 1.5 and c.window.length >= 1.0 for c in ranked)
    assert rank_windows(frame_times(0.8), [1.0, 1.0, 1.0], 0.8) == []


def test_to_dict_is_what_the_api_returns() -> None:
    best = rank_windows(frame_times(4), [0.5] * 16, 4)[0]
    assert best.to_dict() == {"timestamps": "0,3", "start": 0.0, "end": 3.0, "score": 0.5}


def creeping(photo: np.ndarray, frames: int) -> list[np.ndarray]:
    """A slow zoom into a photograph, as 640x360 frames."""
    h, w = photo.shape[:2]
    views = []
    for i in range(frames):
        zoom = 1.0 + 0.1 * i / frames
        cw, ch = w / zoom, w / zoom * 9 / 16
        x0, y0 = (w - cw) / 2, max(0.0, (h - ch) / 2)
        crop = photo[round(y0) : round(y0 + min(ch, h)), round(x0) : round(x0 + cw)]
        views.append(cv2.resize(crop, (640, 360), interpolation=cv2.INTER_AREA))
    return views


def test_windows_where_a_real_person_shows_are_never_suggested(tmp_path: Path) -> None:
    """Three seconds of skimage's astronaut (a real person, and very salient), then three of its
    coffee cup: every window suggested is in the cup's half."""
    path = tmp_path / "person_then_cup.mp4"
    images = creeping(data.astronaut(), 72) + creeping(data.coffee(), 72)
    write_mp4(path, images, np.zeros((2, 48000 * 6), np.float32), VideoSettings(640, 360))
    found = accepted_windows(path, probe(path, 1920 * 1080), 5)
    assert found and found[0].candidate.score > 0.2
    assert all(f.candidate.window.start >= 3.0 for f in found), found


def test_a_window_suggested_is_judged_on_the_frames_creation_judges(tmp_path: Path) -> None:
    """A window tried (the windows route, a scan) and one built (a creation naming it) see the
    same frames: a source with B-frames once gave the scan the frames after those creation
    took, and the two could judge one window differently."""
    path = tmp_path / "mascot.mp4"
    make_mascot_clip(path, ClipSpec(seconds=3, width=640, height=360))
    info = probe(path, 1920 * 1080)
    tried = judge_window(path, info, Window(1.0, 3.0))
    built = judge_window(path, info, Window(1.0, 3.0), to_build=True)
    assert [f.time for f in tried.frames] == [f.time for f in built.frames]
    assert all(
        np.array_equal(a.image, b.image) for a, b in zip(tried.frames, built.frames, strict=True)
    )
    assert tried.extraction.report == built.extraction.report
