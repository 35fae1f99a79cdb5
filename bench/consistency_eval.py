"""Consistency scores on the drawn test set (tests/characters/test_consistency.py) and their speed.

Run: .venv/bin/python bench/consistency_eval.py [--frames N] [--no-renders]
Prints the score matrix (clip x character), min same-character score, max different-character
score, their margin and the AUC, with and without the stress settings (subjects below the
~150 px SIFT needs), fingerprint sizes, and milliseconds per 720p frame. Then, unless
--no-renders, characters made by the real extraction (the demo's mascot, and Big Buck Bunny's
1-3 s once bench/real_footage_eval.py has fetched it) rendered at 1280x720 three ways: rigid
(TROUPE_ANIMATIC_ACTING=false), deformed (a posed body walking) and looped (its own motion,
standing), each scored against its own fingerprint and the other character's.
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
from tests.render.test_acting import character_from
from troupe.characters.consistency import analyse_frame, frame_score, score_video
from troupe.characters.fingerprint import load_fingerprint
from troupe.characters.timestamps import Window
from troupe.media.synthetic import ClipSpec, make_mascot_clip
from troupe.render.animatic.production import produce, render_animatic
from troupe.render.backend import RenderRequest

HD = (1280, 720)
BUNNY = Path.home() / ".cache/troupe-real-footage/clips/cgi_bbb_bunny.mp4"
# (mode, prompt, acting): how each character is rendered
RENDER_MODES = (
    ("rigid", "@{username} walking through a park at noon", False),
    ("deformed", "@{username} walking through a park at noon", True),
    ("looped", "@{username} standing in a sunny meadow", True),
)


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


def render_modes() -> None:
    """Own and other scores of renders drawn rigid, deformed and looped (see the docstring)."""
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        clip = root / "mascot.mp4"
        make_mascot_clip(clip, ClipSpec(seconds=4, width=1280, height=720))
        made = {"mascot": character_from(clip, Window(1.0, 3.0), "mascot", root)}
        if BUNNY.exists():
            made["bunny"] = character_from(BUNNY, Window(1.0, 3.0), "bunny", root)
        print(f"\n{'character':10} {'mode':9} {'drawn as':9} {'own':>5} {'other':>6}")
        own_scores, other_scores = [], []
        for name, (member, fingerprint) in made.items():
            others = [load_fingerprint(fp) for other, (_, fp) in made.items() if other != name]
            for index, (mode, template, acting) in enumerate(RENDER_MODES):
                request = RenderRequest(
                    template.format(username=member.username), (member,), 4, *HD, seed=index
                )
                actor = produce(request, acting).compositor.actors[0]
                drawn = type(actor.moves).__name__ if actor.moves is not None else "rigid"
                video = root / f"{name}_{mode}.mp4"
                render_animatic(request, video, lambda _: None, acting=acting)
                own = score_video(load_fingerprint(fingerprint), video)
                other = max((score_video(fp, video) for fp in others), default=0.0)
                own_scores.append(own)
                other_scores.append(other)
                print(f"{name:10} {mode:9} {drawn:9} {own:5.2f} {other:6.2f}")
        print(f"renders: min own {min(own_scores):.2f}, max other {max(other_scores):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=3, help="frames per drawn clip")
    parser.add_argument("--no-renders", action="store_true", help="skip the rendered characters")
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
    if not args.no_renders:
        render_modes()


if __name__ == "__main__":
    main()
