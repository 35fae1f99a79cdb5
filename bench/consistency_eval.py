"""Consistency scores on the drawn test set (tests/characters/test_consistency.py) and their speed.

Run: .venv/bin/python bench/consistency_eval.py [--frames N]
Prints the score matrix (clip x character), min same-character score, max different-character
score, their margin and the AUC, with and without the stress settings (subjects below the
~150 px SIFT needs), fingerprint sizes, and milliseconds per 720p frame.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import functools
import statistics
import tempfile
import time
from collections.abc import Callable

from tests.characters.test_consistency import (
    CHARACTERS,
    MP4_SETTING,
    SETTINGS,
    STRESS_SETTINGS,
    ScoreSet,
    clip_frames,
    consistency_set,
    roc_auc,
    write_mp4,
)
from troupe.characters.consistency import analyse_frame, frame_score, score_video
from troupe.characters.fingerprint import load_fingerprint

HD = (1280, 720)


def print_matrix(data: ScoreSet, matrix: dict[tuple[str, str], float]) -> None:
    names = list(data.fingerprints)
    print(f"{'clip':28}" + "".join(f"{name[:9]:>10}" for name in names))
    for clip in data.clips:
        row = "".join(
            f"{matrix[(name, clip.name)]:>9.2f}{'*' if clip.owner == name else ' '}"
            for name in names
        )
        print(f"{clip.name:28}{row}")
    print("(* the clip shows that character)")


def print_separation(label: str, data: ScoreSet, matrix: dict[tuple[str, str], float]) -> None:
    same, different = data.split(matrix)
    low, high = min(same), max(different)
    print(
        f"{label}: {len(same)} same, {len(different)} different; min same {low:.3f}, "
        f"max different {high:.3f}, margin {low - high:+.3f}, AUC {roc_auc(same, different):.4f}"
    )
    owners = {clip.name: clip.owner for clip in data.clips}
    worst = sorted((s, clip) for (name, clip), s in matrix.items() if owners[clip] == name)[:3]
    print("  lowest same: " + ", ".join(f"{clip} {s:.2f}" for s, clip in worst))


def hd_speed(data: ScoreSet, repeats: int = 3) -> None:
    """Analysis and scoring time per 720p frame in every scene, with a textured subject; each
    frame's best of `repeats`, since other work on a shared machine only ever adds time."""
    fingerprint = load_fingerprint(data.fingerprints["cereal_box"])
    frames = [
        frame
        for setting in SETTINGS.values()
        for frame in clip_frames(CHARACTERS["cereal_box"], setting, 2, HD)
    ]
    analyse_ms, score_ms = [], []
    for frame in frames:
        analyse_ms.append(best_ms(functools.partial(analyse_frame, frame.image), repeats))
        features = analyse_frame(frame.image)
        score_ms.append(best_ms(functools.partial(frame_score, fingerprint, features), repeats))
    total = [a + s for a, s in zip(analyse_ms, score_ms, strict=True)]
    print(
        f"720p, {len(frames)} frames, ms per frame (median / max): analyse "
        f"{statistics.median(analyse_ms):.0f} / {max(analyse_ms):.0f}, score one character "
        f"{statistics.median(score_ms):.1f} / {max(score_ms):.1f}, together "
        f"{statistics.median(total):.0f} / {max(total):.0f}"
    )


def best_ms(work: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        work()
        times.append((time.perf_counter() - began) * 1000)
    return min(times)


def hd_video_speed(data: ScoreSet, samples: int = 8) -> None:
    """score_video end to end (probe, decode every frame, analyse the samples) on a 3 s clip."""
    fingerprint = load_fingerprint(data.fingerprints["pip"])
    frames = clip_frames(CHARACTERS["pip"], MP4_SETTING, 72, HD)
    with tempfile.TemporaryDirectory() as tmp:
        path = write_mp4(Path(tmp) / "pip.mp4", [f.image for f in frames], fps=24)
        began = time.perf_counter()
        score = score_video(fingerprint, path, samples=samples)
        seconds = time.perf_counter() - began
    print(
        f"score_video, 3 s 720p H.264 at 24 fps, {samples} samples: {seconds:.2f} s "
        f"({seconds / samples * 1000:.0f} ms per sample, decode included), score {score:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=3, help="frames per drawn clip")
    args = parser.parse_args()
    began = time.perf_counter()
    data = consistency_set((*SETTINGS, *STRESS_SETTINGS), args.frames)
    matrix = data.matrix()
    print(f"built and scored in {time.perf_counter() - began:.1f} s\n")
    print_matrix(data, matrix)
    print()
    stress = tuple(f"/{name}" for name in STRESS_SETTINGS)
    in_range = {key: s for key, s in matrix.items() if not key[1].endswith(stress)}
    print_separation("in range", data, in_range)
    print_separation("with stress", data, matrix)
    sizes = {name: len(blob) for name, blob in data.fingerprints.items()}
    print("fingerprint bytes: " + ", ".join(f"{n} {b}" for n, b in sizes.items()))
    hd_speed(data)
    hd_video_speed(data)


if __name__ == "__main__":
    main()
