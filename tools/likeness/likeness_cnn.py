"""Tell a photographed person from a drawn, animated or rendered character (attempt 2): a
MobileNetV2 trunk fine-tuned end to end by tools/likeness/train_cnn.py, run by onnxruntime from
likeness.onnx beside this file. Drop-in for characters/likeness.py (same crop, same score)."""

from __future__ import annotations

import functools
import threading
from pathlib import Path

import cv2
import numpy as np

SIDE = 128
FACE_MARGIN = 1.4
BODY_MARGIN = 1.2
_LOCK = threading.Lock()


def real_person_score(crops: list[np.ndarray]) -> np.ndarray:
    """Probability, per RGB crop around a face or body (as `crop` cuts it), that it shows a
    real photographed person rather than a drawn, animated, rendered, toy or puppet character."""
    if not crops:
        return np.zeros(0, np.float32)
    batch = np.stack(
        [cv2.resize(c[:, :, :3], (SIDE, SIDE), interpolation=cv2.INTER_AREA) for c in crops]
    )
    x = np.ascontiguousarray(batch.transpose(0, 3, 1, 2), np.float32)
    with _LOCK:
        return _session().run(None, {"crops": x})[0].astype(np.float32)


def crop(image: np.ndarray, box: tuple[int, int, int, int], kind: str) -> np.ndarray:
    """The SIDE x SIDE picture the discriminator judges: for a face, a square 1.4 times its
    long side; for a body, its box with a tenth added on each side, squashed."""
    if kind == "face":
        w = h = max(box[2], box[3]) * FACE_MARGIN
    else:
        w, h = box[2] * BODY_MARGIN, box[3] * BODY_MARGIN
    cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
    sx, sy = SIDE / max(w, 1.0), SIDE / max(h, 1.0)
    warp = np.array([[sx, 0, -(cx - w / 2) * sx], [0, sy, -(cy - h / 2) * sy]], np.float32)
    shrink = 1.0 / min(sx, sy)
    source = cv2.GaussianBlur(image, (0, 0), 0.5 * shrink) if shrink > 2 else image
    return cv2.warpAffine(
        source, warp, (SIDE, SIDE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


@functools.cache
def _session():
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    path = Path(__file__).with_name("likeness.onnx")
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
