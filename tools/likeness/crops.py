"""Attempt 2, step 1: the crops a fine-tuned network learns from. For every source in sources.py,
the boxes troupe's own face and body detectors hand the discriminator (train.candidates), each cut
out as likeness.crop would (a few box jitters, mirror), at CROP_SIDE, undegraded: train_cnn.py
degrades them on the fly. Saved to CACHE/crops/<source>.npz (crops, kind, group).

Run: .venv/bin/python tools/likeness/crops.py [source ...]
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import likeness
import train
from sources import CACHE, SOURCES, fetch

CROP_SIDE = 128
JITTERS = 3  # box jitters per candidate (faces are few, so these matter)
REAL_PER_PICTURE = 24
PER_PICTURE = 8
PER_SOURCE = 2400  # crops (candidates x jitters) per source at most
VIDEO_STEP = 25


def load(path: Path) -> list[np.ndarray]:
    if path.suffix in (".avi", ".mp4", ".mov"):
        capture, frames, index = cv2.VideoCapture(str(path)), [], 0
        while True:
            ok, frame = capture.read()
            if not ok:
                return frames
            if index % VIDEO_STEP == 0:
                frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
            index += 1
    return train.load(path)


def jittered(box: tuple[int, int, int, int], rng: random.Random) -> tuple[int, int, int, int]:
    x, y, w, h = box
    s = rng.uniform(0.85, 1.2)
    dx, dy = rng.uniform(-0.1, 0.1) * w, rng.uniform(-0.1, 0.1) * h
    return (
        round(x + dx + w * (1 - s) / 2),
        round(y + dy + h * (1 - s) / 2),
        max(2, round(w * s)),
        max(2, round(h * s)),
    )


def build(source) -> Path:
    out = CACHE / "crops" / f"{source.name}.npz"
    if out.exists():
        return out
    rng = random.Random(source.name)
    random.seed(source.name)
    paths = fetch(source)
    rng.shuffle(paths)
    crops, kinds, groups, sizes = [], [], [], []
    per_picture = REAL_PER_PICTURE if source.label else PER_PICTURE
    for path in paths:
        if len(crops) >= PER_SOURCE:
            break
        group = f"{source.name}/{path.stem.split('__')[-1]}" if source.per_file else source.name
        for image in load(path):
            found = train.candidates(image, bool(source.label), source.kind == "portrait")
            for box, kind in rng.sample(found, min(len(found), per_picture)):
                for j in range(JITTERS):
                    crop = likeness.crop(image, box if j == 0 else jittered(box, rng), kind)
                    crops.append(crop)
                    kinds.append(kind)
                    groups.append(group)
                    sizes.append(max(box[2], box[3]))
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        out,
        crops=np.stack(crops[:PER_SOURCE])
        if crops
        else np.zeros((0, CROP_SIDE, CROP_SIDE, 3), np.uint8),
        kinds=np.array(kinds[:PER_SOURCE]),
        groups=np.array(groups[:PER_SOURCE]),
        sizes=np.array(sizes[:PER_SOURCE]),
    )
    return out


def main() -> None:
    began = time.perf_counter()
    wanted = set(sys.argv[1:])
    for source in SOURCES:
        if wanted and source.name not in wanted:
            continue
        with np.load(build(source)) as saved:
            n, faces = len(saved["crops"]), int(np.sum(saved["kinds"] == "face"))
            g = len(set(saved["groups"]))
        print(
            f"{source.name:18s} label {source.label} {n:5d} crops ({faces} faces) {g} groups "
            f"{time.perf_counter() - began:.0f} s",
            flush=True,
        )


if __name__ == "__main__":
    main()
