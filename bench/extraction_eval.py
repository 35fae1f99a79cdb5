"""Subject-finding accuracy and speed of extraction on the labelled footage (tests/footage.py).

Run: .venv/bin/python bench/extraction_eval.py [--cache DIR] [--only NAME ...] [--repeats N]
Prints per clip the IoU of the reported subject box against the truth at the best frame, mean IoU
over non-human clips, failures, time per clip, the 720p window time against its raw decode, and,
once troupe.characters.humans provides find_human(frames), human refusal rates.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass

from bench.character_create import raw_decode_seconds
from tests.footage import Clip, build_footage, iou
from troupe.characters.create import ANALYSIS_MAX_SIDE, analysis_fps, screened_extraction
from troupe.characters.extract import extract_character
from troupe.errors import TroupeError
from troupe.media.frames import Frame
from troupe.media.probe import probe
from troupe.media.synthetic import ClipSpec, make_mascot_clip
from troupe.media.window import decode_window


@dataclass(frozen=True)
class Outcome:
    """One clip's result: IoU at the best frame (None on failure) or the error code."""

    clip: Clip
    iou: float | None
    error: str | None
    best_time: float | None
    decode_s: float
    extract_s: float

    @property
    def passed(self) -> bool:
        if self.clip.expected == "no_subject":
            return self.error == "no_subject_found"
        return self.error is None


def decode(clip: Clip) -> list[Frame]:
    # every frame decoded, as creation's judgement decodes them
    return decode_window(
        clip.path, 0.0, clip.seconds, ANALYSIS_MAX_SIDE, analysis_fps(clip.seconds), True
    )


def evaluate(clip: Clip) -> Outcome:
    began = time.perf_counter()
    frames = decode(clip)
    decoded = time.perf_counter()
    try:
        report = extract_character(frames, clip.width, clip.height).report
    except TroupeError as error:
        done = time.perf_counter()
        return Outcome(clip, None, error.code, None, decoded - began, done - decoded)
    done = time.perf_counter()
    truth = clip.box_at(report.best_frame_time) if clip.boxes else None
    score = iou(report.subject_box, truth) if truth else None
    return Outcome(clip, score, None, report.best_frame_time, decoded - began, done - decoded)


def window_timing(
    path: Path, window: tuple[float, float], size: tuple[int, int], repeats: int
) -> tuple[float, float, float]:
    """Fastest raw decode, decode at analysis size and screened extraction (people screened
    while the subject is extracted, as the server does), taken alternately so that load from
    elsewhere hits all three alike."""
    raw, decode, extract = [], [], []
    info = probe(path, 3840 * 2160)
    for _ in range(repeats):
        raw.append(raw_decode_seconds(path, *window))
        began = time.perf_counter()
        fps = analysis_fps(window[1] - window[0])
        frames = decode_window(path, *window, ANALYSIS_MAX_SIDE, fps, every_frame=True)
        decoded = time.perf_counter()
        screened_extraction(frames, info)
        decode.append(decoded - began)
        extract.append(time.perf_counter() - decoded)
    return min(raw), min(decode), min(extract)


def print_timing(name: str, timing: tuple[float, float, float]) -> None:
    raw, decode, extract = timing
    total = decode + extract
    print(
        f"{name}: raw decode {raw * 1000:.0f} ms, decode at analysis size {decode * 1000:.0f} ms"
        f" + screened extraction {extract * 1000:.0f} ms = {total * 1000:.0f} ms"
        f" ({total / raw:.2f}x raw)"
    )


def human_rates(clips: list[Clip], find_human: Callable[[list[Frame]], object]) -> None:
    """Share of human clips refused and of the others refused wrongly, and the screening time."""
    refused, seconds = {}, []
    for clip in clips:
        frames = decode(clip)
        began = time.perf_counter()
        refused[clip.name] = bool(find_human(frames))
        seconds.append(time.perf_counter() - began)
    humans = [c for c in clips if c.human]
    others = [c for c in clips if not c.human]
    hit = sum(refused[c.name] for c in humans)
    false = [c.name for c in others if refused[c.name]]
    print(f"human refusal rate: {hit}/{len(humans)}")
    print(f"false refusal rate: {len(false)}/{len(others)} {' '.join(false)}")
    print(f"find_human: {statistics.mean(seconds) * 1000:.0f} ms per clip (mean)")


def report(outcomes: list[Outcome]) -> None:
    print(f"{'clip':30} {'IoU':>6} {'best t':>7} {'decode':>8} {'extract':>8}  result")
    for o in outcomes:
        score = f"{o.iou:6.3f}" if o.iou is not None else f"{'-':>6}"
        best = f"{o.best_time:7.2f}" if o.best_time is not None else f"{'-':>7}"
        verdict = "ok" if o.passed else "FAIL"
        detail = o.error or ("human" if o.clip.human else "")
        ms = f"{o.decode_s * 1000:6.0f}ms {o.extract_s * 1000:6.0f}ms"
        print(f"{o.clip.name:30} {score} {best} {ms}  {verdict} {detail}")
    scored = [o for o in outcomes if not o.clip.human and o.clip.expected == "ok"]
    ious = [o.iou or 0.0 for o in scored]
    if ious:
        print(
            f"mean IoU (non-human, failures count 0): {statistics.mean(ious):.3f} over {len(ious)}"
        )
        print(f"min IoU: {min(ious):.3f}")
    failures = [o.clip.name for o in outcomes if not o.passed]
    print(f"failures: {len(failures)} {' '.join(failures)}")
    per_clip = statistics.mean(o.decode_s + o.extract_s for o in outcomes)
    print(f"mean time per clip (decode + extract): {per_clip * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--cache", type=Path, default=Path(tempfile.gettempdir()) / "troupe-footage"
    )
    parser.add_argument("--only", nargs="*", help="clip names to run")
    parser.add_argument("--repeats", type=int, default=7, help="timing runs, best kept (0: none)")
    args = parser.parse_args()
    clips = build_footage(args.cache, args.only)
    evaluate(clips[0])  # warm-up: first OpenCV and FFmpeg calls allocate pools
    report([evaluate(clip) for clip in clips])
    if args.repeats:
        # The source bench/character_create.py times: the synthetic mascot, window 1-4 s.
        source = args.cache / "character_create_source.mp4"
        if not source.exists():
            make_mascot_clip(source, ClipSpec(seconds=5, width=1280, height=720, fps=24))
        timing = window_timing(source, (1.0, 4.0), (1280, 720), args.repeats)
        print_timing("character_create source, 720p 1-4 s", timing)
        for clip in clips:
            if clip.height >= 720 and clip.seconds >= 3.0 and clip.expected == "ok":
                size = (clip.width, clip.height)
                timing = window_timing(clip.path, (0.0, clip.seconds), size, args.repeats)
                print_timing(clip.name, timing)
    try:
        from troupe.characters.humans import find_human
    except ImportError:
        print("human screening: troupe.characters.humans.find_human not available yet")
    else:
        human_rates(clips, find_human)


if __name__ == "__main__":
    main()
