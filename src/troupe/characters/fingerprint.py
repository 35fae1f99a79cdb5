"""A character's appearance fingerprint: SIFT features and colours of its cut-outs, stored as
versioned .npz bytes that the renderer and the consistency scorer both load.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

# Version 1 was the colour-only npz (histogram, thumbnail) written before keypoints existed.
FORMAT_VERSION = 2
MAX_VIEWS = 5
# SIFT needs the subject at least ~150 px tall; this is the side of a square of equal area.
VIEW_SIDE = 256
MAX_KEYPOINTS = 300
# Half OpenCV's default contrast threshold (0.04): flat cartoons have few corners, and at the
# default the demo's mascot gave 36-46 keypoints a view and its renders 4-11 verified inliers a
# frame; at 0.02, 63-72 and 4-16. Used for frames and views alike, so that they match.
SIFT_CONTRAST = 0.02
MASK_SIDE = 48
THUMB_SIDE = 32
# Colour cells for the signature, in CIE Lab units: 12.5 in lightness, 16 in a and b.
_CELL_ORIGIN = np.array([0.0, -128.0, -128.0], np.float32)
_CELL_SIZE = np.array([12.5, 16.0, 16.0], np.float32)
_CELL_COUNTS = (8, 16, 16)
SIGNATURE_CELLS = 32
SIGNATURE_MIN_SHARE = 0.005
# CIE units from 8-bit OpenCV Lab (L 0..100, a and b centred on 0).
_LAB_SCALE = np.array([100.0 / 255.0, 1.0, 1.0], np.float32)
_LAB_OFFSET = np.array([0.0, 128.0, 128.0], np.float32)


@dataclass(frozen=True, eq=False)
class Fingerprint:
    """Loaded fingerprint. Keypoint rows are (x, y, size, angle) in their view's pixels; views are
    the cut-outs rescaled to VIEW_SIDE, with sizes (w, h) and masks shrunk to MASK_SIDE square."""

    version: int
    keypoints: np.ndarray  # (N, 4) float32
    descriptors: np.ndarray  # (N, 128) float32, ready for matching
    views: np.ndarray  # (N,) view index of each keypoint
    view_sizes: np.ndarray  # (V, 2) int
    view_masks: np.ndarray  # (V, MASK_SIDE, MASK_SIDE) uint8, 0 or 1
    colours: np.ndarray  # (K, 4) weight, CIE L, a, b: see colour_signature
    lab_mean: np.ndarray  # (3,) CIE Lab
    lab_std: np.ndarray  # (3,)
    aspect: float  # width / height of the first cut-out's subject
    thumbnail: np.ndarray  # (THUMB_SIDE, THUMB_SIDE, 3) on white, zero-mean, unit-norm
    thumbnail_alpha: np.ndarray  # (THUMB_SIDE, THUMB_SIDE) in [0, 1]


@dataclass(frozen=True)
class _View:
    """A cut-out cropped to its subject and rescaled to VIEW_SIDE."""

    rgb: np.ndarray
    mask: np.ndarray  # bool


def build_fingerprint(cutouts: list[np.ndarray]) -> bytes:
    """Fingerprint of 1–MAX_VIEWS RGBA cut-outs of one subject (alpha is the mask), best first."""
    if not 1 <= len(cutouts) <= MAX_VIEWS:
        raise ValueError(f"need 1 to {MAX_VIEWS} cut-outs, got {len(cutouts)}")
    views = [_view(c) for c in cutouts]
    features = [_sift_features(v) for v in views]
    arrays: dict[str, Any] = {
        "version": np.int32(FORMAT_VERSION),
        "keypoints": np.concatenate([k for k, _ in features]).astype(np.float16),
        "descriptors": np.concatenate([d for _, d in features]),
        "views": np.concatenate(
            [np.full(len(k), i, np.uint8) for i, (k, _) in enumerate(features)]
        ),
        "view_sizes": np.array([v.mask.shape[::-1] for v in views], np.int16),
        "view_masks": np.stack([_small_mask(v.mask) for v in views]),
        **_colour_summary(views),
        "aspect": np.float32(views[0].mask.shape[1] / views[0].mask.shape[0]),
        **_thumbnail(views[0]),
    }
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def load_fingerprint(data: bytes) -> Fingerprint:
    """Parse build_fingerprint's bytes; ValueError for anything else or another format version."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError("not a character fingerprint") from exc
    version = _version(arrays)
    if version != FORMAT_VERSION:
        raise ValueError(
            f"fingerprint format version {version} is not supported (expected {FORMAT_VERSION});"
            " recreate the character"
        )
    try:
        return Fingerprint(
            version=version,
            keypoints=arrays["keypoints"].astype(np.float32),
            descriptors=arrays["descriptors"].astype(np.float32),
            views=arrays["views"].astype(np.intp),
            view_sizes=arrays["view_sizes"].astype(np.intp),
            view_masks=arrays["view_masks"],
            colours=arrays["colours"],
            lab_mean=arrays["lab_mean"],
            lab_std=arrays["lab_std"],
            aspect=float(arrays["aspect"]),
            thumbnail=arrays["thumbnail"].astype(np.float32),
            thumbnail_alpha=arrays["thumbnail_alpha"].astype(np.float32),
        )
    except KeyError as exc:
        raise ValueError(f"fingerprint lacks {exc.args[0]!r}") from exc


def _version(arrays: dict[str, np.ndarray]) -> int:
    try:
        return int(arrays.get("version", -1))
    except (TypeError, ValueError) as exc:
        raise ValueError("not a character fingerprint: unreadable version") from exc


def colour_signature(lab: np.ndarray) -> np.ndarray:
    """(K, 4) rows of weight and mean CIE Lab of the commonest colour cells among 8-bit Lab
    pixels (N, 3): a histogram whose bins sit where the colours are, for the earth mover's
    distance, so a colour on a cell edge cannot jump a whole cell."""
    cie = lab.reshape(-1, 3).astype(np.float32) * _LAB_SCALE - _LAB_OFFSET
    cells = np.floor((cie - _CELL_ORIGIN) / _CELL_SIZE).astype(np.intp)
    cells = np.clip(cells, 0, np.array(_CELL_COUNTS) - 1)
    index = np.ravel_multi_index(cells.T, _CELL_COUNTS)
    count = np.bincount(index, minlength=int(np.prod(_CELL_COUNTS))).astype(np.float32)
    top = np.argsort(-count, kind="stable")[:SIGNATURE_CELLS]
    top = top[count[top] >= SIGNATURE_MIN_SHARE * len(index)]
    sums = [np.bincount(index, weights=cie[:, c], minlength=len(count))[top] for c in range(3)]
    weights = count[top] / count[top].sum()
    return np.column_stack([weights, *(s / count[top] for s in sums)]).astype(np.float32)


def _view(cutout: np.ndarray) -> _View:
    if cutout.ndim != 3 or cutout.shape[2] != 4 or cutout.dtype != np.uint8:
        raise ValueError("a cut-out must be an RGBA uint8 image")
    mask = cutout[:, :, 3] > 127
    if not mask.any():
        raise ValueError("a cut-out's alpha is empty")
    ys, xs = np.nonzero(mask)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    scale = VIEW_SIDE / float(np.sqrt((x1 - x0) * (y1 - y0)))
    # Upscaling a small subject adds no detail but puts its features at the scale SIFT likes.
    size = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
    shrinking = scale < 1.0
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
    rgb = cv2.resize(cutout[y0:y1, x0:x1, :3], size, interpolation=interpolation)
    alpha = cv2.resize(cutout[y0:y1, x0:x1, 3], size, interpolation=cv2.INTER_LINEAR)
    return _View(rgb=rgb, mask=alpha > 127)


def _sift_features(view: _View) -> tuple[np.ndarray, np.ndarray]:
    """The MAX_KEYPOINTS strongest SIFT features centred on the subject: (N, 4) rows and uint8."""
    gray = cv2.cvtColor(view.rgb, cv2.COLOR_RGB2GRAY)
    keypoints, descriptors = sift_detector(MAX_KEYPOINTS).detectAndCompute(
        gray, view.mask.astype(np.uint8)
    )
    if descriptors is None:  # a flat, featureless subject: nothing the scorer can match
        return np.zeros((0, 4), np.float32), np.zeros((0, 128), np.uint8)
    rows = np.array([(k.pt[0], k.pt[1], k.size, k.angle) for k in keypoints], np.float32)
    # nfeatures keeps ties at the cut-off, so a few more than asked for can come back.
    order = np.argsort([-k.response for k in keypoints], kind="stable")[:MAX_KEYPOINTS]
    # OpenCV's SIFT descriptor entries are already whole numbers within 0..255.
    return rows[order], np.clip(np.rint(descriptors[order]), 0, 255).astype(np.uint8)


def sift_detector(keypoints: int) -> cv2.SIFT:
    """SIFT keeping the `keypoints` strongest features, as fingerprints and frames both use it."""
    return cv2.SIFT.create(nfeatures=keypoints, contrastThreshold=SIFT_CONTRAST)


def _small_mask(mask: np.ndarray) -> np.ndarray:
    """0/1 mask squeezed to MASK_SIDE square; averaging then rounding keeps the majority."""
    return cv2.resize(mask.astype(np.uint8), (MASK_SIDE, MASK_SIDE), interpolation=cv2.INTER_AREA)


def _colour_summary(views: list[_View]) -> dict[str, np.ndarray]:
    """Signature, mean and spread of every view's subject pixels (each view weighs by area).

    Every other row and column is plenty for colour statistics, at a quarter of the cost."""
    lab = np.concatenate(
        [cv2.cvtColor(v.rgb[::2, ::2], cv2.COLOR_RGB2Lab)[v.mask[::2, ::2]] for v in views]
    )
    cie = lab.astype(np.float32) * _LAB_SCALE - _LAB_OFFSET
    return {
        "colours": colour_signature(lab),
        "lab_mean": cie.mean(axis=0),
        "lab_std": cie.std(axis=0),
    }


def _thumbnail(view: _View) -> dict[str, np.ndarray]:
    """The subject on white in a THUMB_SIDE square, zero-mean and unit-norm, so that the dot
    product of two thumbnails is their normalised cross-correlation."""
    rgba = np.dstack([view.rgb, view.mask.astype(np.uint8) * 255])
    h, w = view.mask.shape
    side = max(h, w)
    top, left = (side - h) // 2, (side - w) // 2
    square = cv2.copyMakeBorder(
        rgba,
        top,
        side - h - top,
        left,
        side - w - left,
        cv2.BORDER_CONSTANT,
        value=(255, 255, 255, 0),
    )
    small = cv2.resize(square, (THUMB_SIDE, THUMB_SIDE), interpolation=cv2.INTER_AREA)
    small = small.astype(np.float32)
    alpha = small[:, :, 3:] / 255.0
    white = small[:, :, :3] * alpha + 255.0 * (1.0 - alpha)
    white -= white.mean()
    white /= max(float(np.linalg.norm(white)), 1e-6)
    return {
        "thumbnail": white.astype(np.float16),
        "thumbnail_alpha": alpha[:, :, 0].astype(np.float16),
    }
