"""Anime and manga faces, found by the AnimeFace 2009 detector compiled into the `animeface`
wheel: evidence, beside humans.py's photographic detectors, that a face is drawn.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import cv2
import numpy as np

log = logging.getLogger(__name__)

# The one build whose struct layout (Pillow 4.2.1, bundled in its sdist) the shim below mirrors.
ANIMEFACE_VERSION = "2.0.3"
# The detector scans square windows from 42 px up to 0.75 of the picture's shorter side (faces
# of 56 px and more: 16 of 16 found, 40 px: 13, 32 px: 2). An edge-density gate in front of it
# wants more edges in bigger windows than an enlarged, soft drawing has: faces enlarged past
# ~110 px are lost (a 48 px face enlarged to 128 px: 3 of 16 found; to 80 px: 15 of 16). So
# pictures are never enlarged beyond what a small crop needs to reach MIN_SIDE on its shorter
# side, and are reduced to WORK_SIDE on their longer side: at 1280 px it found 13 false faces
# in 78 frames of anime sprites over photographs (none at 640 px), and took 1-3 s a frame
# against 0.2-0.6 s at 640 px.
WORK_SIDE = 640
MIN_SIDE = 160
# A face that fills the picture is bigger than the largest window: each side is padded with
# white by this share of the shorter side (faces filling a crop: 1 of 16 found unpadded, 15 of
# 16 with a sixth of a face of margin on each side, 16 of 16 with a quarter).
PAD_SHARE = 0.2
PAD_COLOUR = (255, 255, 255)

# The detector keeps global state (a random-number table used to sample skin and hair colours)
# and holds the GIL for the whole call; one call at a time.
_LOCK = threading.Lock()


@dataclass(frozen=True)
class AnimeFace:
    """A face: its square box (x, y, w, h) in the given image's pixels, clipped to the image,
    and the detector's likelihood, 0.5 (its threshold) to 1. Anime faces score 0.9-1, and most
    false faces 0.5-0.8, but a real woman's close-up and CGI faces also reached 1: a likelihood
    alone does not prove a face is drawn."""

    box: tuple[int, int, int, int]
    likelihood: float


# animeface.detect hands the detector a Pillow image's C struct, read with Pillow 4.2.1's headers
# (bundled in animeface's sdist). Pillow 12 made the struct's mode an enum, which moved the
# fields: the detector reads a height of 0 and finds nothing, silently, in every picture. So
# troupe calls the compiled detector itself with a struct of the old layout, and no Pillow.
class _Imaging(ctypes.Structure):
    """Pillow 4.2.1's `struct ImagingMemoryInstance` (libImaging/Imaging.h), as compiled into
    animeface 2.0.3's `_nvxs` extension."""

    _fields_ = [
        ("mode", ctypes.c_char * 7),
        ("type", ctypes.c_int),
        ("depth", ctypes.c_int),
        ("bands", ctypes.c_int),
        ("xsize", ctypes.c_int),
        ("ysize", ctypes.c_int),
        ("palette", ctypes.c_void_p),
        ("image8", ctypes.c_void_p),
        ("image32", ctypes.c_void_p),
        ("image", ctypes.c_void_p),
        ("block", ctypes.c_void_p),
        ("pixelsize", ctypes.c_int),
        ("linesize", ctypes.c_int),
        ("destroy", ctypes.c_void_p),
    ]


def find_anime_faces(image: np.ndarray) -> list[AnimeFace]:
    """Anime or manga faces in an RGB uint8 image (a frame or a crop around a character), most
    likely first; empty, with one log line per process, when animeface is not installed.

    Faces under ~9% of the longer side of a big picture are missed (under 56 px at WORK_SIDE):
    to judge a face another detector found, pass a square crop of about twice its side. The
    detector holds the GIL for its 0.1-1 s, so call it in a worker, not in the API's process."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an RGB uint8 image, got {image.dtype} {image.shape}")
    detect = _detector()
    if detect is None or min(image.shape[:2]) == 0:
        return []
    height, width = image.shape[:2]
    scale = _work_scale(width, height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    work = np.ascontiguousarray(image)
    if size != (width, height):
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
        work = cv2.resize(work, size, interpolation=interpolation)
    pad = round(PAD_SHARE * min(work.shape[:2]))
    work = cv2.copyMakeBorder(work, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=PAD_COLOUR)
    picture = _Picture(work)
    with _LOCK:
        results = detect(picture.struct)
    faces = [_face(r, scale, pad, width, height) for r in results]
    # A window may lie mostly in the padding: keep only faces that reach into the picture.
    faces = [f for f in faces if f.box[2] > 0 and f.box[3] > 0]
    return sorted(faces, key=lambda f: -f.likelihood)


def _work_scale(width: int, height: int) -> float:
    long_side, short_side = max(width, height), min(width, height)
    if long_side > WORK_SIDE:
        return WORK_SIDE / long_side
    if short_side < MIN_SIDE:
        return min(MIN_SIDE / short_side, WORK_SIDE / long_side)
    return 1.0


def _face(result: dict[str, Any], scale: float, pad: int, width: int, height: int) -> AnimeFace:
    x, y, w, h = result["face_box"]
    x0, y0 = max(0, round((x - pad) / scale)), max(0, round((y - pad) / scale))
    x1 = min(width, round((x + w - pad) / scale))
    y1 = min(height, round((y + h - pad) / scale))
    return AnimeFace((x0, y0, x1 - x0, y1 - y0), float(result["likelihood"]))


class _Picture:
    """An `_Imaging` struct over an RGBX copy of the image, kept alive with its rows."""

    def __init__(self, rgb: np.ndarray) -> None:
        height, width = rgb.shape[:2]
        self.pixels = np.zeros((height, width, 4), np.uint8)
        self.pixels[..., :3] = rgb
        base, stride = self.pixels.ctypes.data, self.pixels.strides[0]
        self.rows = (ctypes.c_void_p * height)(*(base + y * stride for y in range(height)))
        rows = ctypes.addressof(self.rows)
        self.struct = _Imaging(
            b"RGB", 0, 8, 3, width, height, None, None, rows, rows, base, 4, width * 4, None
        )


@functools.cache
def _detector() -> Callable[[Any], list[dict[str, Any]]] | None:
    """animeface's compiled detector, or None (logged once) when it is missing or not the build
    whose struct layout `_Imaging` mirrors."""
    try:
        installed = version("animeface")
    except PackageNotFoundError:
        log.warning("anime-face detection off: animeface is not installed (see scripts/setup)")
        return None
    if installed != ANIMEFACE_VERSION:
        log.warning(
            "anime-face detection off: animeface %s installed, troupe reads %s's structs",
            installed,
            ANIMEFACE_VERSION,
        )
        return None
    try:
        from animeface import _nvxs
    except (ImportError, OSError) as error:
        log.warning("anime-face detection off: animeface does not load (%s)", error)
        return None
    probe = _Imaging()
    if ctypes.c_void_p.from_address(id(probe) + object.__basicsize__).value != ctypes.addressof(
        probe
    ):
        log.warning("anime-face detection off: this Python's ctypes objects are laid out anew")
        return None
    detect: Callable[[Any], list[dict[str, Any]]] = _nvxs.detect
    return detect
