"""Turning a local source video into a character's files: validate, pick the window, extract."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from troupe.characters.extract import (
    MAX_ANALYSED_FRAMES,
    Extraction,
    extract_character,
    frame_scores,
)
from troupe.characters.files import CharacterFiles, Doubt
from troupe.characters.humans import find_humans
from troupe.characters.likeness import (
    Judgement,
    evidence_jpegs,
    faces_on_subject,
    judge_likeness,
)
from troupe.characters.own_motion import (
    STRIP_FPS,
    cut_out_strip,
    profile_at_source_size,
    references_at_source_size,
)
from troupe.characters.reuse import Earlier, copy_files
from troupe.characters.sources import SourceRules
from troupe.characters.timestamps import MAX_WINDOW_SECONDS, Window, check_within
from troupe.characters.windows import WindowCandidate, rank_windows
from troupe.errors import TroupeError
from troupe.media.frames import Frame
from troupe.media.probe import MediaInfo, probe
from troupe.media.strip import strip_bytes
from troupe.media.window import (
    Grid,
    Kept,
    decode_grids,
    extract_audio_clip,
    sample_frames,
)
from troupe.store.blobs import BlobStore

# Extraction works on frames whose long side is at most this; boxes are scaled back to source.
ANALYSIS_MAX_SIDE = 640
# The profile picture is taken from the best frame at up to this long side (a 720p source's own
# size), not from the analysis size.
SOURCE_MAX_SIDE = 1280
# Extraction looks at up to MAX_ANALYSED_FRAMES frames of a window and screening at 5; short
# windows are sampled at up to this rate.
ANALYSIS_FPS = 8.0
WINDOW_SEARCH_FPS = 4.0
WINDOW_SEARCH_MAX_SIDE = 320
# Failures that another window of the same source may not have, and so deserve suggestions.
SUGGESTIBLE = ("no_subject_found", "low_quality_segment", "human_likeness_detected")
SUGGESTIONS = 2
# Windows judged in full beyond those wanted, when the best by their sparse frames are refused.
EXTRA_TRIES = 2
MIN_SUGGESTION_SCORE = 0.05


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
    """The checked source's duration and its best `count` windows that creation accepts."""
    info = check_source(path, rules)
    return info.duration, [found.candidate for found in accepted_windows(path, info, count)]


@dataclass(frozen=True)
class Judged:
    """A window that went through the whole decision: its extraction and likeness verdict
    (`character` or `uncertain`; a person raises), and the frames they came from."""

    window: Window
    frames: list[Frame]
    extraction: Extraction
    judgement: Judgement
    # From the same decoding pass, for a window judged to be built: its every frame at
    # STRIP_FPS, and its analysis frames as decoded (for the profile picture's larger size).
    built: tuple[list[Frame], Kept] | None = None


@dataclass(frozen=True)
class AcceptedWindow:
    candidate: WindowCandidate
    judged: Judged


def accepted_windows(
    path: Path, info: MediaInfo, count: int, avoid: Window | None = None
) -> list[AcceptedWindow]:
    """The best `count` windows by their sparse frames' scores, none overlapping `avoid`, that
    the same judgement as creation accepts outright: a window suggested is never refused. At
    most `count` + EXTRA_TRIES windows are judged in full."""
    samples = sample_frames(path, WINDOW_SEARCH_FPS, WINDOW_SEARCH_MAX_SIDE)
    times = [frame.time for frame in samples]
    ranked = rank_windows(times, frame_scores(samples), info.duration, count + EXTRA_TRIES, avoid)
    found: list[AcceptedWindow] = []
    for candidate in ranked:
        if candidate.score < MIN_SUGGESTION_SCORE:
            break
        try:
            judged = judge_window(path, info, candidate.window)
        except TroupeError:
            continue
        if judged.judgement.verdict == "character":
            found.append(AcceptedWindow(candidate, judged))
        if len(found) == count:
            break
    return found


def with_suggestion(error: TroupeError, path: Path, info: MediaInfo, tried: Window) -> TroupeError:
    """The same failure, naming other windows of the source that creation would accept. Those
    overlapping the one tried are not judged: they would not be named."""
    away = [found.candidate.window for found in accepted_windows(path, info, SUGGESTIONS, tried)]
    if not away:
        return error
    names = " or ".join(str(window) for window in away)
    return TroupeError(error.code, f"{error.message}; try timestamps {names}", error.param)


def judge_window(path: Path, info: MediaInfo, window: Window, to_build: bool = False) -> Judged:
    """Decode the window as creation does, extract the character and judge its likeness.
    `to_build`: the window's files will be built if it passes, so the same decoding pass keeps
    what they need as well. A window merely tried decodes every frame too: skipping the frames
    nothing references (B-frames) made its grid take later frames than creation's, so the
    windows route could suggest a window that creation, judging other frames, refused."""
    analysis = Grid(window.start, window.end, analysis_fps(window.length), ANALYSIS_MAX_SIDE)
    built = None
    if to_build:
        strip = Grid(window.start, window.end, STRIP_FPS, ANALYSIS_MAX_SIDE)
        (frames, strip_frames), originals = decode_grids(path, [analysis, strip], keep=0)
        built = (strip_frames, originals)
    else:
        [frames], _ = decode_grids(path, [analysis])
    if not frames:
        message = f"no video frames could be decoded between {window}s"
        raise TroupeError("unsupported_media", message)
    extraction, judgement = screened_extraction(frames, info)
    return Judged(window, frames, extraction, judgement, built)


def screened_extraction(frames: list[Frame], info: MediaInfo) -> tuple[Extraction, Judgement]:
    """Look for people while extracting, on the second core, then judge the people seen against
    the subject cut out. A photographed person outranks any other failure: when no subject is
    found, every person seen counts."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        screening = pool.submit(find_humans, frames)

        def figure(masks: list[tuple[float, np.ndarray]]) -> bool:
            return faces_on_subject(frames, screening.result(), masks)

        try:
            extraction = extract_character(frames, info.width, info.height, figure)
        except TroupeError:
            judgement = judge_likeness(frames, screening.result(), None)
            if judgement.verdict == "person":
                raise judgement.refusal() from None
            raise
    judgement = judge_likeness(frames, screening.result(), extraction.subject_masks)
    if judgement.verdict == "person":
        raise judgement.refusal()
    return extraction, judgement


def _judge_chosen(path: Path, info: MediaInfo, window: Window | None) -> Judged:
    """The caller's window, judged (a refusal names windows that would work), or the best
    window troupe finds; with none accepted outright, the first 3 s, judged."""
    if window is not None:
        check_within(window, info.duration)
        try:
            return judge_window(path, info, window, to_build=True)
        except TroupeError as error:
            if error.code not in SUGGESTIBLE:
                raise
            raise with_suggestion(error, path, info, window) from error
    found = accepted_windows(path, info, 1)
    if found:
        return found[0].judged
    whole = Window(0.0, min(info.duration, MAX_WINDOW_SECONDS))
    return judge_window(path, info, whole, to_build=True)


def window_pictures(path: Path, judged: Judged) -> tuple[list[Frame], list[Frame]]:
    """The window's every frame at STRIP_FPS and the analysis size, for its own motion, and at
    up to SOURCE_MAX_SIDE the frames around the best one, for the profile picture, and the
    references' frames, to cut them again (a character filling a third of a 720p frame is soft
    when enlarged from the analysis size): from the pass that judged the window where it kept
    them, else from one more pass."""
    extraction = judged.extraction
    times = [extraction.report.best_frame_time] + [t for t, _ in extraction.reference_boxes]
    spans = [(t - 0.5 / STRIP_FPS, t + 0.5 / STRIP_FPS) for t in times]
    if judged.built is not None:
        strip_frames, originals = judged.built
        return strip_frames, _distinct(
            [f for start, end in spans for f in originals.within(start, end, SOURCE_MAX_SIDE)]
        )
    window = judged.window
    strip = Grid(window.start, window.end, STRIP_FPS, ANALYSIS_MAX_SIDE)
    around = [Grid(start, end, None, SOURCE_MAX_SIDE) for start, end in spans]
    (strip_frames, *at_source), _ = decode_grids(path, [strip, *around])
    return strip_frames, _distinct([frame for frames in at_source for frame in frames])


def _distinct(frames: list[Frame]) -> list[Frame]:
    """One of each frame, in time order: the spans around the times may overlap."""
    return sorted({frame.time: frame for frame in frames}.values(), key=lambda frame: frame.time)


def build_character_files(
    path: Path,
    window: Window | None,
    rules: SourceRules,
    blobs: BlobStore,
    prefix: str,
    earlier: Earlier | None,
    progress: Callable[[int], None],
) -> CharacterFiles:
    """Run the whole extraction and write its files under `prefix` in the blob store; with an
    `earlier` character made by the same extraction, copy its files instead, once the source
    passes today's rules."""
    info = check_source(path, rules)
    if earlier is not None:
        try:
            return copy_files(blobs, earlier, prefix)
        except FileNotFoundError:
            pass  # deleted since it was found: extract anew
    progress(15)
    judged = _judge_chosen(path, info, window)
    extraction = judged.extraction
    progress(70)
    # The strip at the analysis size; the references at the source's, as sharp as it shows
    # the character. The fingerprint stays at the analysis size its scorer was calibrated at.
    strip_frames, at_source = window_pictures(path, judged)
    strip = cut_out_strip(strip_frames, extraction.mattes, extraction.doubtful_times)
    progress(80)
    profile = profile_at_source_size(at_source, extraction, info.width)
    references = references_at_source_size(at_source, extraction)
    keys: dict[str, Any] = {
        "profile": blobs.put_bytes(f"{prefix}/profile.jpg", profile),
        "fingerprint": blobs.put_bytes(f"{prefix}/fingerprint.npz", extraction.fingerprint),
        "references": [
            blobs.put_bytes(f"{prefix}/reference_{index}.png", data)
            for index, data in enumerate(references)
        ],
    }
    if strip:
        keys["motion"] = blobs.put_bytes(f"{prefix}/motion.zip", strip_bytes(strip))
    with blobs.scratch_dir() as scratch:
        clip = Path(scratch) / "voice.m4a"
        if extract_audio_clip(path, judged.window.start, judged.window.end, clip):
            keys["voice"] = blobs.put_file(f"{prefix}/voice.m4a", clip)
    doubt = None
    if judged.judgement.verdict == "uncertain":
        evidence = evidence_jpegs(judged.frames, judged.judgement)
        doubt = Doubt(
            judged.judgement.reason(),
            [
                blobs.put_bytes(f"{prefix}/doubt_{index}.jpg", picture)
                for index, picture in enumerate(evidence)
            ],
        )
    progress(95)
    return CharacterFiles(judged.window, extraction.report.to_dict(), keys, doubt, info.title)
