"""How characters act in the animatic: the demo's mascot and Big Buck Bunny, made by the real
extraction, rendered at 1280x720 in the demo's two scenes and in a walk, a wave and standing.

Run: .venv/bin/python bench/acting_eval.py [--out DIR] [--seconds S] [--rigid] [--real]
(renders as the server does by default, its characters acting; --rigid renders as
TROUPE_ANIMATIC_ACTING=false does.
--real: instead of the bunny, every real-footage clip that yields a character from its first
3 s, as bench/consistency_real.py makes them, standing and walking; "other" is then the
mascot's fingerprint on its videos.)
For each video it prints how its character acts (rigid, posed body, own motion), the mean outline
change between consecutive frames beyond a rigid move (`acting.outline_change`), the share of
frames that change by more than 2%, the most any frame's outline differs so from the first
frame's ("reach": a limb's whole swing, which 24 small steps a second hide), the consistency
score against the character's own fingerprint and against the other character's, and render
seconds per video second. It writes a contact sheet of 8 frames per video to DIR. The bunny
clip comes from the real-footage set (bench/real_footage_eval.py fetches it into
~/.cache/troupe-real-footage); without it, only the mascot runs.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import argparse
import itertools
import json
import tempfile
import time

import av
import numpy as np
from PIL import Image
from real_footage_eval import CATALOG, FIRST_SECONDS, within

from tests.render.test_acting import character_from, departure, padded
from troupe.characters.consistency import score_video
from troupe.characters.fingerprint import load_fingerprint
from troupe.characters.timestamps import Window
from troupe.cli.demo import SCENES
from troupe.errors import TroupeError
from troupe.media.probe import probe
from troupe.media.synthetic import ClipSpec, make_mascot_clip
from troupe.render.animatic.acting import outline_change
from troupe.render.animatic.production import FPS, produce, render_animatic
from troupe.render.backend import CastMember, RenderRequest

CLIPS = Path.home() / ".cache/troupe-real-footage/clips"
BUNNY = CLIPS / "cgi_bbb_bunny.mp4"
PROMPTS = [prompt for _, prompt in SCENES] + [
    "@{username} walking through a park at noon",
    "@{username} waving hello in a sunny meadow",
    "@{username} standing in a sunny meadow",
]
REAL_PROMPTS = PROMPTS[2:3] + PROMPTS[4:5]  # walking, standing
SHEET_FRAMES = 8
CHANGED = 0.02


def outline_changes(request: RenderRequest, acting: bool) -> tuple[str, list[float], float]:
    """How the actor is drawn, its outline change between each pair of consecutive frames, and
    the most a frame's outline changes from the first's."""
    actor = produce(request, acting).compositor.actors[0]
    kind = type(actor.moves).__name__ if actor.moves is not None else "rigid"
    masks = [actor.look(i / FPS).rgba[:, :, 3] > 127 for i in range(request.seconds * FPS)]
    changes = [outline_change(a, b) for a, b in itertools.pairwise(padded(masks))]
    return kind, changes, departure(masks)


def contact_sheet(video: Path, dest: Path) -> None:
    with av.open(str(video)) as container:
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    picks = [frames[round(i)] for i in np.linspace(0, len(frames) - 1, SHEET_FRAMES)]
    small = [Image.fromarray(f).resize((320, 180)) for f in picks]
    sheet = Image.new("RGB", (320 * 4, 180 * 2))
    for i, image in enumerate(small):
        sheet.paste(image, ((i % 4) * 320, (i // 4) * 180))
    sheet.save(dest)


def real_characters(root: Path) -> dict[str, tuple[CastMember, bytes]]:
    """A character from the first 3 s of every real-footage clip that yields one."""
    made = {}
    for clip in json.loads(CATALOG.read_text())["clips"]:
        path = CLIPS / f"{clip['name']}.mp4"
        if not path.exists():
            continue
        window = within(FIRST_SECONDS, probe(path, 3840 * 2160).duration)
        try:
            folder = root / clip["name"]
            folder.mkdir()
            made[clip["name"]] = character_from(path, window, "star", folder)
        except TroupeError:
            continue
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("acting-eval"))
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--rigid", action="store_true")
    parser.add_argument("--real", action="store_true")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        mascot_clip = root / "mascot.mp4"
        make_mascot_clip(mascot_clip, ClipSpec(seconds=4, width=1280, height=720))
        mascot = character_from(mascot_clip, Window(1.0, 3.0), "mascot", root)
        characters = {"mascot": mascot}
        if args.real:
            characters = real_characters(root)
        elif BUNNY.exists():
            characters["bunny"] = character_from(BUNNY, Window(1.0, 3.0), "bunny", root)
        width = max(9, *map(len, characters))
        print(
            f"{'character':{width}} {'prompt':58} {'acts as':8} {'change':>7} {'>2%':>5} "
            f"{'reach':>6} {'own':>5} {'other':>6} {'s/s':>5}"
        )
        for name, (member, fingerprint) in characters.items():
            others = (
                [mascot[1]]
                if args.real
                else [fp for other, (_, fp) in characters.items() if other != name]
            )
            for index, template in enumerate(REAL_PROMPTS if args.real else PROMPTS):
                prompt = template.format(username=member.username)
                request = RenderRequest(prompt, (member,), args.seconds, 1280, 720, seed=index)
                kind, changes, reach = outline_changes(request, not args.rigid)
                video = root / f"{name}_{index}.mp4"
                began = time.perf_counter()
                render_animatic(request, video, lambda _: None, acting=not args.rigid)
                per_second = (time.perf_counter() - began) / args.seconds
                own = score_video(load_fingerprint(fingerprint), video)
                other = max((score_video(load_fingerprint(fp), video) for fp in others), default=0)
                sheet = f"{name}_{index}{'_rigid' if args.rigid else ''}.png"
                contact_sheet(video, args.out / sheet)
                changed = float(np.mean([c > CHANGED for c in changes]))
                print(
                    f"{name:{width}} {prompt[:58]:58} {kind:8} {np.mean(changes):7.3f} "
                    f"{changed:5.0%} {reach:6.3f} {own:5.2f} {other:6.2f} {per_second:5.2f}"
                )
    print(f"contact sheets in {args.out}/")


if __name__ == "__main__":
    main()
