"""Time of the salient-object model (characters/saliency.py) per frame, pre- and
post-processing included, for frames of several sizes and onnxruntime thread counts; the model
itself always sees MODEL_SIDE × MODEL_SIDE. Prints wall-clock and CPU milliseconds per frame
(CPU time counts every thread, so it shows what a second concurrent job would cost).

Run: .venv/bin/python bench/saliency_model.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import os
import statistics
import time

import cv2
import numpy as np
from skimage import data

from troupe.characters.saliency import MODEL_SIDE, SaliencyModel, model_file

SIZES = ((640, 360), (1280, 720), (1920, 1080))
THREADS = (1, 2)
REPEATS = 5


def frame(width: int, height: int) -> np.ndarray:
    """A real photograph (the coffee cup) scaled to the frame size."""
    return cv2.resize(data.coffee(), (width, height), interpolation=cv2.INTER_AREA)


def timed(model: SaliencyModel, image: np.ndarray) -> tuple[float, float]:
    """Median wall and CPU milliseconds of one predict, after one untimed warm-up run."""
    model.predict(image)
    walls, cpus = [], []
    for _ in range(REPEATS):
        wall, cpu = time.perf_counter(), time.process_time()
        model.predict(image)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls) * 1000, statistics.median(cpus) * 1000


def main() -> None:
    path = model_file()
    print(f"model: {path.name} ({path.stat().st_size / 1e6:.1f} MB), input {MODEL_SIDE}²")
    print(f"cores: {os.cpu_count()}, median of {REPEATS} runs")
    print(f"{'frame':>10} {'threads':>7} {'wall ms':>8} {'cpu ms':>8}")
    for threads in THREADS:
        started = time.perf_counter()
        model = SaliencyModel(path, threads=threads)
        print(f"{'(load)':>10} {threads:>7} {(time.perf_counter() - started) * 1000:>8.0f}")
        for width, height in SIZES:
            wall, cpu = timed(model, frame(width, height))
            print(f"{f'{width}x{height}':>10} {threads:>7} {wall:>8.0f} {cpu:>8.0f}")


if __name__ == "__main__":
    main()
