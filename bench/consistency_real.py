"""The consistency scorer on real footage nobody on the team made (bench/real_footage/): does a
character's fingerprint stay near 0 on every other clip, and how does it score its own clip?

Run: .venv/bin/python bench/real_footage/fetch.py (once), then
     .venv/bin/python bench/consistency_real.py [--cache DIR] [--samples N]
Each clip that yields a character from its first 3 s (as bench/real_footage_eval.py judges
it, uncertain verdicts included) gives a fingerprint. Every fingerprint scores `--samples`
frames of every clip, as a rendered video is scored (`score_features`). Clips made from the
same file (the same source video, or the same photograph composited behind two characters) may
show the same thing, so they are left out of each other's "different" scores and listed apart.
Prints each character's own score and its highest different one, then the distribution of
different scores (the wrong subject must stay low) and how long scoring took.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import argparse
import json
import time

import numpy as np
from real_footage_eval import CATALOG, FIRST_SECONDS, within

from troupe.characters.consistency import FrameFeatures, analyse_frame, score_features
from troupe.characters.create import judge_window
from troupe.characters.fingerprint import Fingerprint, load_fingerprint
from troupe.errors import TroupeError
from troupe.media.probe import probe
from troupe.media.window import sample_frames

WRONG = 0.3  # a wrong subject scoring above this is a failure (issue 22)


def media_of(clip: dict) -> set[str]:
    """The files a clip was made from: its source and the photograph it was composited over."""
    used = [clip["source"], clip.get("make", {}).get("background")]
    return {f"{part['package']}:{part['path']}" for part in used if part}


def fingerprint_of(path: Path) -> Fingerprint | None:
    info = probe(path, 3840 * 2160)
    try:
        judged = judge_window(path, info, within(FIRST_SECONDS, info.duration))
    except TroupeError:
        return None
    return load_fingerprint(judged.extraction.fingerprint)


def frames_of(path: Path, samples: int) -> list[FrameFeatures]:
    duration = probe(path, 3840 * 2160).duration
    frames = sample_frames(path, fps=samples / max(duration, 0.1), max_side=1280)
    return [analyse_frame(frame.image) for frame in frames[:samples]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache/troupe-real-footage")
    parser.add_argument("--samples", type=int, default=8)
    args = parser.parse_args()
    clips = [
        clip
        for clip in json.loads(CATALOG.read_text())["clips"]
        if (args.cache / "clips" / f"{clip['name']}.mp4").exists()
    ]
    if not clips:
        sys.exit(f"no clips in {args.cache}: run bench/real_footage/fetch.py first")
    paths = {clip["name"]: args.cache / "clips" / f"{clip['name']}.mp4" for clip in clips}
    prints = {name: fingerprint_of(path) for name, path in paths.items()}
    characters = {name: fp for name, fp in prints.items() if fp is not None}
    began = time.perf_counter()
    features = {name: frames_of(path, args.samples) for name, path in paths.items()}
    analysed = time.perf_counter() - began
    media = {clip["name"]: media_of(clip) for clip in clips}
    different: list[tuple[float, str, str]] = []
    shared: list[tuple[float, str, str]] = []
    began = time.perf_counter()
    print(f"{'character':34} {'own':>5} {'highest other':>14}  on")
    for name, fingerprint in characters.items():
        own = score_features(fingerprint, features[name])
        others = [
            (score_features(fingerprint, frames), name, other)
            for other, frames in features.items()
            if other != name and not media[other] & media[name]
        ]
        different.extend(others)
        shared.extend(
            (score_features(fingerprint, frames), name, other)
            for other, frames in features.items()
            if other != name and media[other] & media[name]
        )
        top = max(others)
        print(f"{name:34} {own:5.2f} {top[0]:14.2f}  {top[2]}")
    scored = time.perf_counter() - began
    values = np.array([score for score, _, _ in different])
    wrong = [entry for entry in different if entry[0] > WRONG]
    print(
        f"\n{len(characters)} characters x {len(features)} clips, {len(values)} different pairs: "
        f"max {values.max():.3f}, 99th percentile {np.percentile(values, 99):.3f}, "
        f"mean {values.mean():.4f}, above {WRONG}: {len(wrong)}"
    )
    for score, name, other in sorted(wrong, reverse=True)[:10]:
        print(f"  {score:.2f} {name} on {other}")
    print("clips sharing a file (not counted):")
    for score, name, other in sorted(shared, reverse=True):
        print(f"  {score:.2f} {name} on {other}")
    frames = sum(len(f) for f in features.values())
    print(
        f"analysing {frames} frames (up to 1280 px): {analysed * 1000 / frames:.0f} ms each; "
        f"scoring: {scored * 1000 / max(1, len(values) + len(characters)):.1f} ms a pair"
    )


if __name__ == "__main__":
    main()
