"""Animatic render time per second of video, against encoding alone the same number of frames.

Run: .venv/bin/python bench/render.py [--repeats N] [--seconds S] [--rigid]
(renders as the server does by default: bolt's walk and pip's dance posed, each rig fitted by
the warm-up render; --rigid renders as TROUPE_ANIMATIC_ACTING=false does.)
For 1280x720 and 720x1280: an 8 s video of two drawn characters (tests/characters) in a rainy
city with a camera pan. Prints, as medians: the whole render (prompt to MP4 on disk) in seconds
per second of video, then the same encoder settings writing the same number of frames and the
same soundtrack from frames drawn beforehand (24 of the video's frames, repeated), and the
ratio of the two; then a render after the process's rigs are forgotten (`acting.RIGS`), as
the first video of a cast in a worker is.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import itertools
import statistics
import tempfile
import time

from PIL import Image

from tests.characters.test_consistency import bolt, cutouts, pip
from troupe.media.encode import write_mp4
from troupe.render.animatic.acting import RIGS
from troupe.render.animatic.backend import AnimaticBackend
from troupe.render.animatic.production import FPS, produce
from troupe.render.backend import CastMember, RenderRequest

SIZES = ((1280, 720), (720, 1280))
PROMPT = "@bolt walks through a rainy city at night while @pip dances; the camera pans right"
DISTINCT_FRAMES = 24


def drawn_cast(root: Path) -> tuple[CastMember, ...]:
    cast = []
    for name, sprite in (("bolt", bolt), ("pip", pip)):
        paths = []
        for i, cut in enumerate(cutouts(sprite)):
            path = root / f"{name}_{i}.png"
            Image.fromarray(cut).save(path)
            paths.append(path)
        cast.append(CastMember(f"char_{name}", name, name.title(), tuple(paths), None))
    return tuple(cast)


def render_seconds(request: RenderRequest, dest: Path, acting: bool) -> float:
    began = time.perf_counter()
    AnimaticBackend(acting).render(request, dest, lambda fraction: None)
    return time.perf_counter() - began


def encode_only_seconds(request: RenderRequest, dest: Path, acting: bool) -> float:
    """Write the video's frame count of already drawn frames with the render's settings."""
    production = produce(request, acting)
    step = production.frame_count // DISTINCT_FRAMES
    drawn = [production.compositor.frame(i * step / FPS).copy() for i in range(DISTINCT_FRAMES)]
    frames = itertools.islice(itertools.cycle(drawn), production.frame_count)
    began = time.perf_counter()
    write_mp4(dest, frames, production.audio, production.settings)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rigid", action="store_true")
    args = parser.parse_args()
    acting = not args.rigid
    mode = "acting" if acting else "rigid"
    print(
        f"prompt: {PROMPT!r}, {args.seconds} s at {FPS} fps, {mode}, medians of {args.repeats} runs"
    )
    print(f"{'size':<10} {'render':>14} {'encode only':>14} {'ratio':>7}   first render of a cast")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cast = drawn_cast(root)
        for width, height in SIZES:
            request = RenderRequest(PROMPT, cast, args.seconds, width, height, seed=7)
            render_seconds(request, root / "warm.mp4", acting)  # imports, caches
            renders, encodes, firsts = [], [], []
            for _ in range(args.repeats):
                renders.append(render_seconds(request, root / "render.mp4", acting))
                encodes.append(encode_only_seconds(request, root / "encode.mp4", acting))
                RIGS.clear()  # as a process does that has not posed these characters yet
                firsts.append(render_seconds(request, root / "first.mp4", acting))
            render, encode, first = (
                statistics.median(times) / args.seconds for times in (renders, encodes, firsts)
            )
            print(
                f"{width}x{height:<5} {render:9.3f} s/s {encode:9.3f} s/s {render / encode:6.2f}x"
                f"   {first:.3f} s/s {first / encode:.2f}x"
            )


if __name__ == "__main__":
    main()
