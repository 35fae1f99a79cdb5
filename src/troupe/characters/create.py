"""Turning a local source video into a character's files: validate, pick the window, extract."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from troupe.characters.extract import (
    MAX_ANALYSED_FRAMES,
    Extraction,
    extract_character,
    frame_scores,
    scan_chunks,
)
from troupe.characters.humans import check_no_humans, find_human
from troupe.characters.timestamps import MAX_WINDOW_SECONDS, Window, check_within
from troupe.characters.windows import WindowCandidate, rank_windows
from troupe.errors import TroupeError
from troupe.media.frames import Frame
from troupe.media.probe import MediaInfo, probe
from troupe.media.window import decode_window, extract_audio_clip, sample_frames
from troupe.store.blobs import BlobStore

# Extraction works on frames whose long side is at most this; boxes are scaled back to source.
ANALYSIS_MAX_SIDE = 640
# Extraction looks at up to MAX_ANALYSED_FRAMES frames of a window and screening at 5; short
# windows are sampled at up to this rate.
ANALYSIS_FPS = 8.0
WINDOW_SEARCH_FPS = 4.0
WINDOW_SEARCH_MAX_SIDE = 320
# Failures that another window of the same source may not have, and so deserve a suggestion.
SUGGESTIBLE = ("no_subject_found", "low_quality_segment")
SUGGESTION_CANDIDATES = 5
MIN_SUGGESTION_SCORE = 0.05


@dataclass(frozen=True)
class SourceRules:
    max_seconds: float
    require_audio: bool
    max_frame_pixels: int


@dataclass(frozen=True)
class CharacterFiles:
    """What extraction produced: the window used, the quality report, and blob keys by role."""

    window: Window
    quality: dict[str, Any]
    blobs: dict[str, Any] = field(default_factory=dict)


def analysis_fps(seconds: float) -> float:
    """The rate that yields the frames extraction looks at over a window of `seconds`: frames
    it would skip are not worth converting and scaling."""
    return min(ANALYSIS_FPS, MAX_ANALYSED_FRAMES / max(seconds, 0.1))


def check_source(path: Path, rules: SourceRules) -> MediaInfo:
    info = probe(path, rules.max_frame_pixels)
    if info.duration > rules.max_seconds + 0.05:
        raise TroupeError(
            "video_too_long",
            f"the source is {info.duration:.1f}s long; at most {rules.max_seconds:g}s is accepted",
        )
    if rules.require_audio and not info.has_audio:
        raise TroupeError(
            "no_audio_track",
            "the source has no audio track; a character needs one for its voice "
            "(servers may allow silent sources with TROUPE_REQUIRE_AUDIO=false)",
        )
    return info


def scan_windows(path: Path, rules: SourceRules, count: int) -> tuple[float, list[WindowCandidate]]:
    """The checked source's duration and its best `count` windows."""
    info = check_source(path, rules)
    return info.duration, rank_source_windows(path, info, count)


def rank_source_windows(path: Path, info: MediaInfo, count: int) -> list[WindowCandidate]:
    """The best `count` windows of an already checked source, judged on sparse small frames."""
    samples = sample_frames(path, WINDOW_SEARCH_FPS, WINDOW_SEARCH_MAX_SIDE)
    times = [frame.time for frame in samples]
    scores, people = frame_scores(samples), _with_people(samples)
    return rank_windows(times, scores, info.duration, count, blocked=people)


def _with_people(samples: list[Frame]) -> list[bool]:
    """For each frame, in time order, whether the screening sees a person in its piece of the
    video."""
    flags: list[bool] = []
    for chunk in scan_chunks(sorted(samples, key=lambda f: f.time)):
        flags += [find_human(chunk) is not None] * len(chunk)
    return flags


def choose_window(path: Path, info: MediaInfo, window: Window | None) -> Window:
    """The caller's window checked against the duration, or the best window troupe finds."""
    if window is not None:
        check_within(window, info.duration)
        return window
    ranked = rank_source_windows(path, info, 1)
    return ranked[0].window if ranked else Window(0.0, min(info.duration, MAX_WINDOW_SECONDS))


def with_suggestion(error: TroupeError, path: Path, info: MediaInfo, tried: Window) -> TroupeError:
    """The same failure, plus the best other window of the source when it looks usable."""
    ranked = rank_source_windows(path, info, SUGGESTION_CANDIDATES)
    for candidate in ranked:
        away = candidate.window.end <= tried.start or candidate.window.start >= tried.end
        if away and candidate.score >= MIN_SUGGESTION_SCORE:
            return TroupeError(
                error.code, f"{error.message}; try timestamps {candidate.window}", error.param
            )
    return error


def screened_extraction(frames: list[Frame], info: MediaInfo) -> Extraction:
    """Screen for people while extracting, on the second core; a person outranks any other
    failure, since no other window of that source would make it acceptable."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        screening = pool.submit(check_no_humans, frames)
        try:
            extraction = extract_character(frames, info.width, info.height)
        finally:
            screening.result()
    return extraction


def build_character_files(
    path: Path,
    window: Window | None,
    rules: SourceRules,
    blobs: BlobStore,
    prefix: str,
    progress: Callable[[int], None],
) -> CharacterFiles:
    """Run the whole extraction and write its files under `prefix` in the blob store."""
    info = check_source(path, rules)
    progress(15)
    chosen = choose_window(path, info, window)
    frames = decode_window(
        path,
        chosen.start,
        chosen.end,
        max_side=ANALYSIS_MAX_SIDE,
        fps=analysis_fps(chosen.end - chosen.start),
    )
    if not frames:
        raise TroupeError(
            "unsupported_media", f"no video frames could be decoded between {chosen}s"
        )
    progress(40)
    try:
        extraction = screened_extraction(frames, info)
    except TroupeError as error:
        if error.code not in SUGGESTIBLE or window is None:
            raise
        raise with_suggestion(error, path, info, chosen) from error
    progress(80)
    keys: dict[str, Any] = {
        "profile": blobs.put_bytes(f"{prefix}/profile.jpg", extraction.profile_jpeg),
        "fingerprint": blobs.put_bytes(f"{prefix}/fingerprint.npz", extraction.fingerprint),
        "references": [
            blobs.put_bytes(f"{prefix}/reference_{index}.png", data)
            for index, data in enumerate(extraction.references_png)
        ],
    }
    with blobs.scratch_dir() as scratch:
        clip = Path(scratch) / "voice.m4a"
        if extract_audio_clip(path, chosen.start, chosen.end, clip):
            keys["voice"] = blobs.put_file(f"{prefix}/voice.m4a", clip)
    progress(95)
    return CharacterFiles(window=chosen, quality=extraction.report.to_dict(), blobs=keys)
