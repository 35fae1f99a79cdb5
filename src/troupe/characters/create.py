"""Turning a local source video into a character's files: validate, pick the window, extract."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from troupe.characters.extract import extract_character, suggest_window
from troupe.characters.timestamps import Window, check_within
from troupe.errors import TroupeError
from troupe.media.probe import MediaInfo, probe
from troupe.media.window import decode_window, extract_audio_clip, sample_frames
from troupe.store.blobs import BlobStore

# Extraction works on frames whose long side is at most this; boxes are scaled back to source.
ANALYSIS_MAX_SIDE = 640
WINDOW_SEARCH_FPS = 4.0
WINDOW_SEARCH_MAX_SIDE = 320


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


def choose_window(path: Path, info: MediaInfo, window: Window | None) -> Window:
    """The caller's window checked against the duration, or the best window troupe finds."""
    if window is not None:
        check_within(window, info.duration)
        return window
    samples = sample_frames(path, WINDOW_SEARCH_FPS, WINDOW_SEARCH_MAX_SIDE)
    start, end = suggest_window(samples, info.duration)
    return Window(start, end)


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
    frames = decode_window(path, chosen.start, chosen.end, max_side=ANALYSIS_MAX_SIDE)
    if not frames:
        raise TroupeError(
            "unsupported_media", f"no video frames could be decoded between {chosen}s"
        )
    progress(40)
    extraction = extract_character(frames, info.width, info.height)
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
