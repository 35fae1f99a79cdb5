"""The pictures a character is made of: a soft matte from the model's probabilities, RGBA
cut-outs, and a square profile picture framed on the subject inside its source frame.

Pure functions of images: extraction decides which frames and boxes, this module draws.
"""

from __future__ import annotations

import cv2
import numpy as np

from troupe.characters.subject import fill_holes

Box = tuple[int, int, int, int]  # x, y, w, h in the image's pixels

# The guided filter's window, as a share of the image's long side (2 px at 640): GrabCut has
# placed the edge; the filter only softens it along the picture's own, and a wider window
# fades thin limbs whose grey differs little from the background's.
MATTE_RADIUS = 0.003
# Below this local variance of the guide the matte is smoothed rather than kept to the
# picture's edges (He et al.'s epsilon, for a guide in 0..1).
MATTE_EPSILON = 1e-4
# How far beyond the subject's mask the matte may reach, and how deep inside the model's sure
# core the subject is solid whatever the map says there (eyes, logos and shadows it encloses).
MATTE_REACH = 0.012
MATTE_SOLID = 0.01
# The model's probabilities from which a pixel may be the subject, and surely is.
FAINT = 0.25
SURE = 0.75
# GrabCut may take pixels this many times the matte's reach beyond the model's mask (a limb the
# model missed), in this many rounds of refitting its colour models.
GRABCUT_REACH = 3
GRABCUT_ROUNDS = 2
GRABCUT_SIDE = 200
# A hole in the model's sure core below this share of the core's area is part of the subject.
SMALL_HOLE = 0.005
PROFILE_SIDE = 512
PROFILE_MARGIN = 1.4
JPEG_QUALITY = 90
# zlib level 1: a third faster than the default at ~10% more bytes.
PNG_COMPRESSION = 1
# Outside the frame a square profile picture shows the frame itself, blurred this much (share of
# the square's side): a neutral backdrop of the scene's colours, never streaks of edge pixels.
BACKDROP_BLUR = 0.05


def soft_alpha(image: np.ndarray, probability: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The subject's matte, float32 0..1 at the image's size. The model's map says where the
    subject surely is and where it may be; GrabCut (Rother, Kolmogorov, Blake, 2004) settles
    the uncertain pixels by the subject's and the background's colours, which keeps limbs the
    model half saw and drops background it half saw; a guided filter (He, Sun, Tang, 2010)
    then softens the edge along the picture's own."""
    h, w = image.shape[:2]
    probability = _fit(probability.astype(np.float32), w, h, cv2.INTER_LINEAR)
    inside = _fit(mask.astype(np.uint8), w, h, cv2.INTER_NEAREST).astype(bool)
    long_side = max(h, w)
    reach = round(MATTE_REACH * long_side)
    near = _grown(inside, reach)
    # Sure: the model's confident core with its small holes filled, not a fringe it took in.
    core = inside & (probability > SURE)
    solid = _shrunk(_small_holes_filled(core), round(MATTE_SOLID * long_side))
    around = _grown(inside, GRABCUT_REACH * reach)
    if not solid.any():
        hard = near & (probability > 0.5)
    else:
        hard = _grabcut(image, _trimap(solid, near & (probability > FAINT), around))
    return _softened(image, hard, long_side)


def matte_on(image: np.ndarray, matte: np.ndarray, long_side: int) -> np.ndarray:
    """A matte made on a smaller copy of `image` (or a crop of one), brought to the image's own
    size: its shape scaled up, then its edge softened along the larger picture's own edges, as
    `soft_alpha` softens it; `long_side` is the whole larger picture's, for the edge's width."""
    h, w = image.shape[:2]
    hard = _fit(matte.astype(np.float32), w, h, cv2.INTER_LINEAR) > 0.5
    return _softened(image, hard, long_side)


def _softened(image: np.ndarray, hard: np.ndarray, long_side: int) -> np.ndarray:
    """The hard mask's edge softened by a guided filter on the picture's grey."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    radius = max(2, round(MATTE_RADIUS * long_side))
    matte = guided_filter(grey, hard.astype(np.float32), radius, MATTE_EPSILON)
    # Only the edge is soft: inside, the filter dips by the picture's own edges (an eye's dark
    # pupil), which would thin the subject's details.
    matte = np.where(_shrunk(hard, radius + 1), 1.0, np.clip(matte, 0.0, 1.0))
    return np.where(_grown(hard, radius), matte, 0.0).astype(np.float32)


def _trimap(sure: np.ndarray, likely: np.ndarray, around: np.ndarray) -> np.ndarray:
    """GrabCut's labels: surely the subject, probably it, probably not (around it), surely not."""
    labels = np.full(sure.shape, cv2.GC_BGD, np.uint8)
    labels[around] = cv2.GC_PR_BGD
    labels[likely] = cv2.GC_PR_FGD
    labels[sure] = cv2.GC_FGD
    return labels


def _grabcut(image: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The subject's pixels as GrabCut settles them, run on the box around the undecided ones
    (with a margin of background to learn its colours from), shrunk to GRABCUT_SIDE at most:
    its cost grows with the pixels, and the guided filter restores the edge's detail after."""
    undecided = labels != cv2.GC_BGD
    x, y, w, h = cv2.boundingRect(undecided.view(np.uint8))
    m = max(4, round(0.25 * max(w, h)))
    fh, fw = labels.shape
    x0, y0, x1, y1 = max(0, x - m), max(0, y - m), min(fw, x + w + m), min(fh, y + h + m)
    scale = min(1.0, GRABCUT_SIDE / max(x1 - x0, y1 - y0))
    size = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
    crop = cv2.resize(labels[y0:y1, x0:x1], size, interpolation=cv2.INTER_NEAREST)
    picture = cv2.resize(image[y0:y1, x0:x1], size, interpolation=cv2.INTER_AREA)
    background, foreground = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    unused_rect = (0, 0, 0, 0)  # the labels start it
    rounds, start = GRABCUT_ROUNDS, cv2.GC_INIT_WITH_MASK
    cv2.grabCut(picture, crop, unused_rect, background, foreground, rounds, start)
    settled = ((crop == cv2.GC_FGD) | (crop == cv2.GC_PR_FGD)).astype(np.uint8)
    subject = np.zeros(labels.shape, bool)
    full = cv2.resize(settled, (x1 - x0, y1 - y0), interpolation=cv2.INTER_NEAREST)
    subject[y0:y1, x0:x1] = full > 0
    # where the model was sure, it stays the subject at full detail
    return subject | (labels == cv2.GC_FGD)


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
    x0, y0, x1, y1 = margin_box(image.shape, box, margin)
    opacity = (alpha[y0:y1, x0:x1] * 255.0).round().astype(np.uint8)
    colour = image[y0:y1, x0:x1].copy()
    colour[opacity == 0] = 0
    return np.dstack([colour, opacity])


def margin_box(shape: tuple[int, ...], box: Box, margin: float) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1): the box grown by `margin` of its long side and 2 px, within an image of
    this shape."""
    fh, fw = shape[:2]
    x, y, w, h = box
    m = round(max(w, h) * margin) + 2
    return max(0, x - m), max(0, y - m), min(fw, x + w + m), min(fh, y + h + m)


def profile_jpeg(image: np.ndarray, box: Box) -> bytes:
    """A PROFILE_SIDE square JPEG on the subject's box with a margin, inside the frame wherever
    the frame allows."""
    square = square_around((image.shape[1], image.shape[0]), box, PROFILE_MARGIN)
    crop = square_picture(image, square)
    shrinking = crop.shape[0] > PROFILE_SIDE
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
    picture = cv2.resize(crop, (PROFILE_SIDE, PROFILE_SIDE), interpolation=interpolation)
    bgr = cv2.cvtColor(picture, cv2.COLOR_RGB2BGR)
    ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    assert ok
    return data.tobytes()


def reference_pngs(rgba: np.ndarray) -> list[bytes]:
    """The cut-out twice: composited on white (RGB) and with transparency (RGBA)."""
    rgb, a = rgba[:, :, :3].astype(np.float32), rgba[:, :, 3:].astype(np.float32) / 255.0
    white = (rgb * a + 255.0 * (1.0 - a)).round().astype(np.uint8)
    return [
        _png(cv2.cvtColor(white, cv2.COLOR_RGB2BGR)),
        _png(cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA)),
    ]


def _png(bgr: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, PNG_COMPRESSION])
    assert ok
    return data.tobytes()


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
    _, labels, stats, _ = cv2.connectedComponentsWithStats(holes.astype(np.uint8))
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
