"""The pictures a character is made of: a soft matte from the model's probabilities, RGBA
cut-outs, and a square profile picture framed on the subject inside its source frame.

Pure functions of images: extraction decides which frames and boxes, this module draws.
"""

from __future__ import annotations

import cv2
import numpy as np

from troupe.characters.subject import fill_holes

Box = tuple[int, int, int, int]  # x, y, w, h in the image's pixels

# The guided filter's window, as a share of the image's long side (4 px at 640): the model's
# map is 256 px square, so its edges are uncertain by about that much.
MATTE_RADIUS = 0.006
# Below this local variance of the guide, the matte follows the model's map instead of the
# picture's edges (He et al.'s epsilon, for a guide in 0..1).
MATTE_EPSILON = 1e-3
# How far beyond the subject's mask the matte may reach, and how deep inside the model's sure
# core the subject is solid whatever the map says there (eyes, logos and shadows it encloses).
MATTE_REACH = 0.012
MATTE_SOLID = 0.01
# Probabilities from which a pixel is shown at all, and fully.
FAINT = 0.25
SURE = 0.75
# A hole in the model's sure core below this share of the core's area is part of the subject.
SMALL_HOLE = 0.005
# Outside the frame a square profile picture shows the frame itself, blurred this much (share of
# the square's side): a neutral backdrop of the scene's colours, never streaks of edge pixels.
BACKDROP_BLUR = 0.05


def soft_alpha(image: np.ndarray, probability: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The subject's matte, float32 0..1 at the image's size: the model's probability near the
    subject's mask (solid inside it), with its edges snapped to the picture's by a guided filter
    (He, Sun, Tang, "Guided Image Filtering", 2010)."""
    h, w = image.shape[:2]
    probability = _fit(probability.astype(np.float32), w, h, cv2.INTER_LINEAR)
    inside = _fit(mask.astype(np.uint8), w, h, cv2.INTER_NEAREST)
    long_side = max(h, w)
    near = _grown(inside, round(MATTE_REACH * long_side))
    # Solid: the model's sure core with its small holes filled, not a fringe the mask took in.
    core = inside & (probability > 0.5)
    solid = _shrunk(_small_holes_filled(core), round(MATTE_SOLID * long_side))
    # The model's middling belief (a patch of background it half saw) fades out; its sure
    # pixels are opaque; between, opacity follows its probability.
    belief = np.clip((probability - FAINT) / (SURE - FAINT), 0.0, 1.0)
    prior = np.where(solid, 1.0, np.where(near, belief, 0.0)).astype(np.float32)
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    radius = max(2, round(MATTE_RADIUS * long_side))
    matte = guided_filter(grey, prior, radius, MATTE_EPSILON)
    return np.where(_grown(near, radius), np.clip(matte, 0.0, 1.0), 0.0).astype(np.float32)


def guided_filter(guide: np.ndarray, source: np.ndarray, radius: int, epsilon: float) -> np.ndarray:
    """`source` smoothed but keeping the edges of the single-channel `guide` (float32)."""
    size = (2 * radius + 1, 2 * radius + 1)

    def mean(x: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(x, cv2.CV_32F, size, borderType=cv2.BORDER_REFLECT)

    mean_guide, mean_source = mean(guide), mean(source)
    covariance = mean(guide * source) - mean_guide * mean_source
    variance = mean(guide * guide) - mean_guide * mean_guide
    a = covariance / (variance + epsilon)
    b = mean_source - a * mean_guide
    return mean(a) * guide + mean(b)


def rgba_cut_out(image: np.ndarray, alpha: np.ndarray, box: Box, margin: float) -> np.ndarray:
    """The subject's box grown by `margin` of its long side (and 2 px), within the image, with
    the matte as its alpha channel; colour where the matte is empty is zeroed, so no background
    leaks into scaling or compression."""
    fh, fw = image.shape[:2]
    x, y, w, h = box
    m = round(max(w, h) * margin) + 2
    x0, y0, x1, y1 = max(0, x - m), max(0, y - m), min(fw, x + w + m), min(fh, y + h + m)
    opacity = (alpha[y0:y1, x0:x1] * 255.0).round().astype(np.uint8)
    colour = image[y0:y1, x0:x1].copy()
    colour[opacity == 0] = 0
    return np.dstack([colour, opacity])


def square_around(frame_size: tuple[int, int], box: Box, margin: float) -> Box:
    """A square `margin` times the box's long side, holding the whole box, placed inside the
    frame (width, height) wherever the frame is big enough: centred on the box, then moved in.
    Larger than the frame's short side only when the box itself is."""
    fw, fh = frame_size
    x, y, w, h = box
    side = max(16, w, h, min(round(max(w, h) * margin), min(fw, fh)))
    return _slide(x, w, side, fw), _slide(y, h, side, fh), side, side


def _slide(start: int, length: int, side: int, limit: int) -> int:
    """Where a span of `side` starts: centred on [start, start+length), then moved to lie
    within [0, limit) if it fits, else centred on the frame (it overhangs both ends)."""
    centred = start + length // 2 - side // 2
    if side > limit:
        return (limit - side) // 2
    return min(max(centred, 0), limit - side)


def square_picture(image: np.ndarray, square: Box) -> np.ndarray:
    """The square's pixels; where it overhangs the frame, the whole frame stretched over the
    square and blurred shows instead."""
    fh, fw = image.shape[:2]
    x0, y0, side, _ = square
    x1, y1 = x0 + side, y0 + side
    if x0 >= 0 and y0 >= 0 and x1 <= fw and y1 <= fh:
        return image[y0:y1, x0:x1].copy()
    sigma = max(1.0, BACKDROP_BLUR * side)
    canvas = cv2.GaussianBlur(cv2.resize(image, (side, side)), (0, 0), sigma)
    cx0, cy0, cx1, cy1 = max(0, x0), max(0, y0), min(fw, x1), min(fh, y1)
    canvas[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0] = image[cy0:cy1, cx0:cx1]
    return canvas


def _fit(image: np.ndarray, w: int, h: int, interpolation: int) -> np.ndarray:
    if image.shape[:2] == (h, w):
        return image
    return cv2.resize(image, (w, h), interpolation=interpolation)


def _small_holes_filled(mask: np.ndarray) -> np.ndarray:
    """The mask with the holes it encloses filled where they are small (an eye, a logo): a large
    one is background seen between an arm and the body, and stays as the model saw it."""
    holes = fill_holes(mask) & ~mask
    count, labels, stats, _ = cv2.connectedComponentsWithStats(holes.astype(np.uint8))
    small = stats[:, cv2.CC_STAT_AREA] < SMALL_HOLE * max(1, int(np.count_nonzero(mask)))
    small[0] = False
    return mask | small[labels]


def _grown(mask: np.ndarray, pixels: int) -> np.ndarray:
    if pixels <= 0:
        return mask.astype(bool)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * pixels + 1, 2 * pixels + 1))
    return cv2.dilate(mask.astype(np.uint8), disc) > 0


def _shrunk(mask: np.ndarray, pixels: int) -> np.ndarray:
    if pixels <= 0:
        return mask.astype(bool)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * pixels + 1, 2 * pixels + 1))
    return cv2.erode(mask.astype(np.uint8), disc) > 0
