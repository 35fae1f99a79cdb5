"""Train the likeness head: crops of real people vs. drawn, painted, rendered and toy characters
(and photographed animals and things), found by troupe's own face and body detectors the way
characters/humans.py finds them, augmented, embedded by the MobileNetV2 backbone; a logistic
head fitted on them, checked by leaving each source out in turn.

Run: .venv/bin/python tools/likeness/train.py   (writes tools/likeness/likeness.npz)
"""

from __future__ import annotations

import io
import random
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from scipy.optimize import minimize

sys.path.insert(0, str(Path(__file__).resolve().parent))

import likeness
from sources import CACHE, SOURCES, Source, fetch

from troupe.characters import humans

OUT = Path(__file__).resolve().with_name("likeness.npz")
REAL_VARIANTS = 12  # real crops are few: each one is seen at several sizes and qualities
OTHER_VARIANTS = 3
PER_PICTURE = 8
REAL_PER_PICTURE = 16  # group photographs hold many people
REAL_PER_SOURCE = 1500
PER_SOURCE = 700  # cap on stylised crops from any one source, so none dominates
VIDEO_STEP = 40  # frames between samples of a video
# Strong shrinkage: with weak regularisation (1.0) the head told sources apart and was
# confidently wrong on held-out real people (19% of them under 0.001); 10000 on the mid-level
# features kept the most characters under a cut-off that keeps 99.5% of held-out real crops.
L2 = 10000.0


def load(path: Path) -> list[np.ndarray]:
    """RGB pictures in a file (a video gives several), alpha flattened onto grey."""
    if path.suffix == ".avi":
        capture, frames, index = cv2.VideoCapture(str(path)), [], 0
        while True:
            ok, frame = capture.read()
            if not ok:
                return frames
            if index % VIDEO_STEP == 0:
                frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
            index += 1
    if path.suffix == ".svg":
        png = subprocess.run(
            ["convert", "-background", "none", "-density", "300", str(path), "png:-"],
            capture_output=True,
            check=True,
        ).stdout
        data = Image.open(io.BytesIO(png))
    else:
        data = Image.open(path)
    rgba = np.asarray(data.convert("RGBA")).astype(np.float32)
    alpha = rgba[:, :, 3:] / 255
    grey = random.choice([128.0, 200.0, 60.0])
    return [(rgba[:, :, :3] * alpha + grey * (1 - alpha)).astype(np.uint8)]


def candidates(
    image: np.ndarray, real: bool, portrait: bool
) -> list[tuple[tuple[int, int, int, int], str]]:
    """Boxes the detectors would hand the discriminator. Real scenes keep only confident
    detections (those are people); other pictures keep weak ones too (hard negatives)."""
    found: list[tuple[tuple[int, int, int, int], str]] = []
    face_floor, body_floor = (0.5, 0.6) if real else (0.25, 0.3)
    parts = [(0, 0, image), *humans._tiles(image)]
    for x0, y0, part in parts:
        scores, boxes = humans.face_scores(part)
        for i in humans._distinct(scores, boxes, face_floor, 3):
            box = humans._clip_box(boxes[i] + (x0, y0, 0, 0), image.shape)
            if box[2] < 8 or box[3] < 8:
                continue
            if real and humans.face_presence(image, box) < humans.FACE_PRESENCE:
                continue
            found.append((box, "face"))
    h, w = image.shape[:2]
    windows = [(0, 0, image)]
    if max(h, w) > 400:  # the four quarters too: small people score low in the whole frame
        half_w, half_h = w // 2, h // 2
        windows += [
            (x, y, image[y : y + half_h, x : x + half_w]) for x in (0, half_w) for y in (0, half_h)
        ]
    for x0, y0, part in windows:
        if min(part.shape[:2]) < 32:
            continue
        scores, boxes = humans.body_scores(part)
        for i in humans._distinct(scores, boxes, body_floor, 4):
            box = humans._clip_box(boxes[i] + (x0, y0, 0, 0), image.shape)
            if box[2] >= 8 and box[3] >= 16:
                found.append((box, "body"))
    if portrait:
        found.append(((0, 0, w, h), "face"))
        found.append(((w // 6, h // 8, w * 2 // 3, h * 2 // 3), "face"))
    return found


def augment(
    image: np.ndarray, box: tuple[int, int, int, int], kind: str, rng: random.Random
) -> np.ndarray:
    """A crop as a video might show it: box jitter, a random size (down to a 16 px face),
    blur, JPEG, exposure, colour, mirror."""
    x, y, w, h = box
    s = rng.uniform(0.85, 1.2)
    dx, dy = rng.uniform(-0.1, 0.1) * w, rng.uniform(-0.1, 0.1) * h
    jittered = (
        round(x + dx + w * (1 - s) / 2),
        round(y + dy + h * (1 - s) / 2),
        max(2, round(w * s)),
        max(2, round(h * s)),
    )
    crop = likeness.crop(image, jittered, kind)
    size = int(np.exp(rng.uniform(np.log(18), np.log(likeness.SIDE))))
    small = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
    if rng.random() < 0.3:
        small = cv2.GaussianBlur(small, (0, 0), rng.uniform(0.3, 1.2))
    if rng.random() < 0.6:
        _, jpeg = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, rng.randint(25, 95)])
        small = cv2.imdecode(jpeg, cv2.IMREAD_UNCHANGED)
    out = cv2.resize(small, (likeness.SIDE, likeness.SIDE), interpolation=cv2.INTER_LINEAR).astype(
        np.float32
    )
    out = out * rng.uniform(0.6, 1.3) + rng.uniform(-25, 25)
    out = out * np.array([rng.uniform(0.9, 1.1) for _ in range(3)], np.float32)
    if rng.random() < 0.1:
        out[:] = out.mean(axis=2, keepdims=True)
    if rng.random() < 0.5:
        out = out[:, ::-1]
    return np.ascontiguousarray(out.clip(0, 255).astype(np.uint8))


def source_features(source: Source) -> tuple[np.ndarray, list[str], list[np.ndarray]]:
    """Embedded augmented crops of one source, with each crop's validation group (the source,
    or the source and file when its files show different people), cached under CACHE/features."""
    cached = CACHE / "features" / f"{source.name}.npz"
    if cached.exists():
        with np.load(cached) as saved:
            groups = list(saved["groups"]) if "groups" in saved else [source.name] * len(saved["x"])
            # Older caches also hold the final-layer features after the tapped ones.
            return saved["x"][:, : likeness.FEATURES], groups, list(saved["previews"])
    rng = random.Random(source.name)
    random.seed(source.name)
    paths = fetch(source)
    rng.shuffle(paths)
    crops: list[np.ndarray] = []
    groups: list[str] = []
    variants = REAL_VARIANTS if source.label else OTHER_VARIANTS
    budget = REAL_PER_SOURCE if source.label else PER_SOURCE
    per_picture = REAL_PER_PICTURE if source.label else PER_PICTURE
    for path in paths:
        if len(crops) >= budget:
            break
        group = f"{source.name}/{path.stem.split('__')[-1]}" if source.per_file else source.name
        for image in load(path):
            found = candidates(image, bool(source.label), source.kind == "portrait")
            for box, kind in rng.sample(found, min(len(found), per_picture)):
                crops += [augment(image, box, kind, rng) for _ in range(variants)]
                groups += [group] * variants
    crops, groups = crops[:budget], groups[:budget]
    features = np.concatenate([likeness.embed(crops[i : i + 32]) for i in range(0, len(crops), 32)])
    previews = crops[:: max(1, len(crops) // 48)][:48]
    cached.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(cached, x=features, groups=np.array(groups), previews=np.stack(previews))
    return features, groups, previews


def fit(x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """Class-balanced, L2-regularised logistic regression on standardised features."""
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-3
    z = (x - mean) / scale
    weight = np.where(y == 1, 0.5 / y.mean(), 0.5 / (1 - y.mean())) / len(y)

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = params[:-1], params[-1]
        logits = z @ w + b
        p = 1 / (1 + np.exp(-logits))
        nll = np.sum(weight * (np.logaddexp(0, logits) - y * logits))
        grad = weight * (p - y)
        penalty = L2 / len(y)
        return nll + 0.5 * penalty * w @ w, np.append(z.T @ grad + penalty * w, grad.sum())

    result = minimize(
        loss, np.zeros(z.shape[1] + 1), jac=True, method="L-BFGS-B", options={"maxiter": 500}
    )
    return {
        "mean": mean.astype(np.float32),
        "scale": scale.astype(np.float32),
        "weights": result.x[:-1].astype(np.float32),
        "bias": np.array([result.x[-1]], np.float32),
    }


def predict(head: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    return 1 / (
        1 + np.exp(-(((x - head["mean"]) / head["scale"]) @ head["weights"] + head["bias"][0]))
    )


# Candidate cut-offs for the veto, and what the chosen one must keep: the share of held-out real
# crops that fall below it, over all of them and in the worst group (one picture or source).
THRESHOLDS = tuple(round(t, 3) for t in np.arange(0.025, 0.601, 0.025))
MAX_REAL_LOST = 0.005
MAX_REAL_LOST_GROUP = 0.02


def main() -> None:
    began = time.perf_counter()
    data: dict[str, tuple[np.ndarray, np.ndarray, int]] = {}
    for source in SOURCES:
        x, groups, previews = source_features(source)
        data[source.name] = (x, np.array(groups), source.label)
        rows = [np.hstack(previews[i : i + 12]) for i in range(0, len(previews) - 11, 12)]
        if rows:
            preview = cv2.cvtColor(np.vstack(rows), cv2.COLOR_RGB2BGR)
            cv2.imwrite(str(CACHE / f"preview-{source.name}.jpg"), preview)
        print(
            f"{source.name:16s} label {source.label}: {len(x)} crops in "
            f"{len(set(groups))} groups, {time.perf_counter() - began:.0f} s",
            flush=True,
        )
    print(
        "\nleave one source out (scores of each held-out source under a head fitted on the rest):"
    )
    held: dict[str, np.ndarray] = {}
    for name in data:
        train = [n for n in data if n != name]
        head = fit(
            np.concatenate([data[n][0] for n in train]),
            np.concatenate([np.full(len(data[n][0]), data[n][2], float) for n in train]),
        )
        held[name] = predict(head, data[name][0])
    by_group: dict[str, tuple[np.ndarray, int]] = {}
    for name, (_, groups, label) in data.items():
        for group in sorted(set(groups)):
            p = held[name][groups == group]
            by_group[group] = (p, label)
            print(
                f"  {group:40s} label {label} n {len(p):5d}  median {np.median(p):.3f}  "
                f"p1 {np.percentile(p, 1):.4f}  p10 {np.percentile(p, 10):.3f}  "
                f"p90 {np.percentile(p, 90):.3f}"
            )
    real = np.concatenate([held[n] for n in data if data[n][2]])
    other = np.concatenate([held[n] for n in data if not data[n][2]])
    print("\nvalidation curve (veto when score < t):")
    print("  t        real lost  worst real group   stylised vetoed  balanced accuracy")
    chosen = THRESHOLDS[0]
    for t in THRESHOLDS:
        lost = float(np.mean(real < t))
        worst = max((float(np.mean(p < t)), g) for g, (p, label) in by_group.items() if label)
        vetoed = float(np.mean(other < t))
        print(
            f"  {t:<7} {lost:9.4f}  {worst[0]:.4f} {worst[1]:22s} {vetoed:.4f}  "
            f"{(1 - lost + vetoed) / 2:.3f}"
        )
        if lost <= MAX_REAL_LOST and worst[0] <= MAX_REAL_LOST_GROUP:
            chosen = t
    print(
        f"chosen veto cut-off: {chosen} (held-out real crops lost <= {MAX_REAL_LOST}, "
        f"worst group <= {MAX_REAL_LOST_GROUP})"
    )
    x = np.concatenate([data[n][0] for n in data])
    y = np.concatenate([np.full(len(data[n][0]), data[n][2], float) for n in data])
    head = fit(x, y)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        OUT, **{k: v.astype(np.float16) if k == "weights" else v for k, v in head.items()}
    )
    print(
        f"\nwrote {OUT} ({OUT.stat().st_size / 1024:.0f} KiB) "
        f"from {len(y)} crops, {int(y.sum())} real, in {time.perf_counter() - began:.0f} s"
    )


if __name__ == "__main__":
    main()
