"""Is a character drawn or photographed? nsfwjs's MobileNetV2 picture classifier (2.6 MB of
uint8 weights, run by onnxruntime on the CPU) gives each picture the chance that it is a
drawing. It learned drawings mostly of people: a high P(drawing) is evidence of a drawn
character, but cartoon animals and mascots score as photographs, so a low one proves nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from troupe.characters.per_process import PerProcess, cpu_session
from troupe.media.frames import check_rgb_image

# nsfwjs 4.4.0 (npm, MIT; weights from GantMan/nsfw_model, MIT), converted by
# tools/nsfwjs/convert.py with its uint8 weights kept as they are. On twelve pictures the
# preprocessing below is TF.js's to the bit and the probabilities are nsfwjs's within 2e-6
# (tools/nsfwjs/README.md).
MODEL_FILE = Path(__file__).resolve().parent / "models" / "nsfwjs_mobilenet_v2.onnx"
MODEL_SIDE = 224
# The model's classes, in the order of its output. "drawing" is safe-for-work drawn pictures,
# anime included; "neutral" is safe-for-work photographs; the other three are not safe for work
# (drawn, photographed, and suggestive).
CLASSES = ("drawing", "hentai", "neutral", "porn", "sexy")
DRAWING, HENTAI, NEUTRAL, PORN, SEXY = range(len(CLASSES))

# Each uint8 level as TF.js sees it: divided by 255 in float32, then read as a double.
_LEVELS = (np.arange(256, dtype=np.float32) / np.float32(255)).astype(np.float64)


class StylisationModel:
    """One loaded model: `scores` takes RGB pictures and returns their class probabilities.

    A session may be shared by threads: onnxruntime's `run` is safe to call concurrently."""

    def __init__(self, path: str | Path = MODEL_FILE, *, threads: int = 1) -> None:
        """Load the ONNX file at `path`. One thread by default: a batch of a few crops takes
        tens of milliseconds, and the worker runs other models beside it."""
        self.path = Path(path)
        if not self.path.is_file():
            raise RuntimeError(f"{self.path} is missing: run tools/nsfwjs/convert.py")
        # The weights are stored as uint8 codes with a table of their values: the default graph
        # optimisation folds them into float32 constants once, here.
        self._session = cpu_session(str(self.path), threads)
        self._input = self._session.get_inputs()[0].name

    def scores(self, images: list[np.ndarray]) -> np.ndarray:
        """N×len(CLASSES) float32 class probabilities (rows sum to 1) for N RGB uint8 pictures
        of any size, run as one batch."""
        if not images:
            return np.zeros((0, len(CLASSES)), np.float32)
        (output, *_) = self._session.run(None, {self._input: preprocess_batch(images)})
        return np.asarray(output, np.float32)


def preprocess_batch(images: list[np.ndarray]) -> np.ndarray:
    """The N×MODEL_SIDE×MODEL_SIDE×3 float32 tensor (NHWC, RGB, [0, 1]) for N pictures."""
    return np.stack([preprocess(image) for image in images])


def preprocess(image: np.ndarray, side: int = MODEL_SIDE) -> np.ndarray:
    """nsfwjs's own preprocessing (`NSFWJS.infer`), to the bit: RGB pixels divided by 255 in
    float32, then TF.js's `resizeBilinear` with `alignCorners` true to side × side, whatever
    the aspect ratio. It squashes rather than crops, and, with corners aligned and no
    antialiasing, a large picture is point-sampled on a grid whose first and last samples are
    its corner pixels. The result is side × side × 3 float32 in [0, 1]."""
    height, width = check_rgb_image(image)
    rows, row_frac = _source_grid(height, side)
    cols, col_frac = _source_grid(width, side)
    # Only the four neighbours of each output pixel are read; TF.js divides every pixel by 255
    # in float32 first, which for each pixel gives the same float32.
    pixels = np.ascontiguousarray(image).reshape(-1, 3)
    index = np.stack([row[:, None] * width + col[None, :] for row in rows for col in cols])
    top_left, top_right, bottom_left, bottom_right = _LEVELS[np.take(pixels, index, axis=0)]
    # TF.js's CPU kernel interpolates in doubles and stores float32, in this order:
    # top = tl + (tr - tl)·cf, bottom = bl + (br - bl)·cf, out = top + (bottom - top)·rf.
    col_frac, row_frac = col_frac[None, :, None], row_frac[:, None, None]
    upper = np.subtract(top_right, top_left, out=top_right)
    upper *= col_frac
    upper += top_left
    lower = np.subtract(bottom_right, bottom_left, out=bottom_right)
    lower *= col_frac
    lower += bottom_left
    lower -= upper
    lower *= row_frac
    lower += upper
    return lower.astype(np.float32)


def _source_grid(old: int, new: int) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
    """For each of `new` output positions, the two source indices and the weight of the second
    (TF.js resizeBilinear, alignCorners true, halfPixelCenters false)."""
    ratio = (old - 1) / (new - 1) if new > 1 else old / new
    source = ratio * np.arange(new, dtype=np.float64)
    low = np.maximum(0, np.floor(source)).astype(np.intp)
    high = np.minimum(old - 1, np.ceil(source)).astype(np.intp)
    return (low, high), source - low


def stylisation_model() -> StylisationModel:
    """The process's model, loaded on first use. A forked child builds its own session:
    onnxruntime's threads do not survive a fork (see saliency.saliency_model)."""
    return _MODEL.get()


def drawing_scores(images: list[np.ndarray]) -> np.ndarray:
    """`StylisationModel.scores` with the process's shared model: an N×5 float32 array of
    probabilities, columns in the order of CLASSES (DRAWING, NEUTRAL … index them)."""
    return stylisation_model().scores(images)


def drawing_probability(image: np.ndarray) -> float:
    """The chance that one RGB uint8 picture is a safe-for-work drawing (nsfwjs's "Drawing")."""
    return float(drawing_scores([image])[0, DRAWING])


_MODEL = PerProcess(StylisationModel)
