"""Find the character in a short window of frames: motion against a background model plus colour
distinctiveness give a coarse mask per frame; GrabCut refines the few frames that get used.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from troupe.characters.frame_quality import camera_shift, resize_long_side, translate

ANALYSIS_SIDE = 192
MAX_BACKGROUND_FRAMES = 15
BORDER_FRACTION = 0.06
BORDER_CLUSTERS = 5
# Soft thresholds in CIE Lab delta-E: below FLOOR is noise, FLOOR + RANGE is certainly different.
MOTION_FLOOR, MOTION_RANGE = 10.0, 20.0
SALIENCY_FLOOR, SALIENCY_RANGE = 14.0, 22.0
# Motion is trusted only when it covers a plausible share of the frame (not noise, not a pan).
MIN_MOTION_FRACTION = 0.002
MAX_MOTION_FRACTION = 0.5
MAX_SALIENT_FRACTION = 0.6
MIN_SEED_PIXELS = 6
MAX_SUBJECT_FRACTION = 0.92

# OpenCV's 8-bit Lab -> CIE units.
LAB_SCALE = np.array([100.0 / 255.0, 1.0, 1.0], np.float32)
LAB_OFFSET = np.array([0.0, 128.0, 128.0], np.float32)

GRABCUT_SIDE = 224
GRABCUT_ITERATIONS = 2
ROI_MARGIN = 0.3


@dataclass(frozen=True)
class SubjectMask:
    """The subject in one frame: box (x, y, w, h) and bool mask in that frame's pixels."""

    box: tuple[int, int, int, int]
    mask: np.ndarray
    coverage: float
    touches_edge: bool


def locate_subjects(images: list[np.ndarray]) -> list[SubjectMask | None]:
    """Coarse subject mask for every frame of a window (None where nothing clear stands out)."""
    if not images:
        return []
    small = [resize_long_side(im, ANALYSIS_SIDE) for im in images]
    labs = [_lab(s) for s in small]
    shifts = _shifts_to_reference(small)
    background = _background(labs, shifts)
    sides = _border_colours(background)
    background_saliency = _saliency(background, sides)
    result = []
    for image, lab, shift in zip(images, labs, shifts, strict=True):
        motion = _ramp(_delta_e(lab, translate(background, shift)), MOTION_FLOOR, MOTION_RANGE)
        saliency = _saliency(lab, sides)
        # Where a slow subject lingered, the median kept it: leaving that spot is not motion.
        ghost = (translate(background_saliency, shift) > 0.5) & (saliency < 0.5)
        motion[ghost] = 0.0
        seed = _seed(motion, saliency)
        result.append(_to_subject(seed, image.shape[:2]) if seed is not None else None)
    return result


def refine_subject(image: np.ndarray, coarse: SubjectMask) -> SubjectMask:
    """GrabCut around the coarse box at reduced scale; keeps the coarse mask if GrabCut drifts."""
    h, w = image.shape[:2]
    x0, y0, x1, y1 = _expand(coarse.box, ROI_MARGIN, w, h)
    roi = image[y0:y1, x0:x1]
    small = resize_long_side(roi, GRABCUT_SIDE)
    seed = cv2.resize(
        coarse.mask[y0:y1, x0:x1].astype(np.uint8),
        (small.shape[1], small.shape[0]),
        interpolation=cv2.INTER_NEAREST,
    )
    inner_edges = (x0 > 0, y0 > 0, x1 < w, y1 < h)
    labels = _grabcut_labels(seed.astype(bool), inner_edges)
    if not ((labels == cv2.GC_BGD) | (labels == cv2.GC_PR_BGD)).any() or not seed.any():
        return coarse
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    # The rect is ignored when initialising from the mask.
    cv2.grabCut(small, labels, (0, 0, 0, 0), bgd, fgd, GRABCUT_ITERATIONS, cv2.GC_INIT_WITH_MASK)
    fg = ((labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)).astype(np.uint8) * 255
    fg = cv2.resize(fg, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    full = np.zeros((h, w), bool)
    full[y0:y1, x0:x1] = _largest_component(_fill_holes(fg > 127))
    area, coarse_area = int(full.sum()), int(coarse.mask.sum())
    # GrabCut can swallow a similar-coloured background or shrink to a detail: trust the seed then.
    if not 0.4 * coarse_area <= area <= 2.5 * coarse_area:
        return coarse
    return _subject_from_mask(full)


def _lab(rgb: np.ndarray) -> np.ndarray:
    """CIE Lab in float units (L 0..100); the uint8 conversion is a table lookup, much faster."""
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab).astype(np.float32)
    return lab * LAB_SCALE - LAB_OFFSET


def _shifts_to_reference(small: list[np.ndarray]) -> list[tuple[float, float]]:
    """Translation of each frame against the middle one, so a hand-held camera still gets a
    usable background model."""
    greys = [cv2.cvtColor(s, cv2.COLOR_RGB2GRAY).astype(np.float32) for s in small]
    reference = greys[len(greys) // 2]
    return [camera_shift(reference, g) for g in greys]


def _background(labs: list[np.ndarray], shifts: list[tuple[float, float]]) -> np.ndarray:
    """Per-pixel median of (aligned) frames: a subject that moves is voted out."""
    step = max(1, len(labs) // MAX_BACKGROUND_FRAMES)
    pairs = zip(labs[::step], shifts[::step], strict=True)
    aligned = [translate(lab, (-dx, -dy)) for lab, (dx, dy) in pairs]
    return np.median(np.stack(aligned), axis=0).astype(np.float32)


def _border_colours(lab: np.ndarray) -> list[np.ndarray]:
    """K-means colour centres of each of the four border strips: what the background looks like."""
    h, w = lab.shape[:2]
    b = max(2, round(BORDER_FRACTION * min(h, w)))
    strips = [lab[:b], lab[-b:], lab[:, :b], lab[:, -b:]]
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
    cv2.setRNGSeed(7)
    centres = []
    for strip in strips:
        pixels = np.ascontiguousarray(strip.reshape(-1, 3), dtype=np.float32)
        labels = np.zeros((len(pixels), 1), np.int32)
        _, _, c = cv2.kmeans(pixels, BORDER_CLUSTERS, labels, criteria, 1, cv2.KMEANS_PP_CENTERS)
        centres.append(c)
    return centres


def _border_distance(lab: np.ndarray, sides: list[np.ndarray]) -> np.ndarray:
    """Colour distance to the border, robust to one side: a subject touching one edge puts its
    colours in that strip, but background colours show up on at least two sides."""
    pixels = lab.reshape(-1, 3)
    centres = np.concatenate(sides)
    # |p - c|^2 = |p|^2 - 2 p.c + |c|^2 as one matmul, centre-major so the mins run on rows.
    squared = centres @ (-2.0 * pixels.T) + np.einsum("ij,ij->i", centres, centres)[:, None]
    a, b, c, d = squared.reshape(len(sides), -1, len(pixels)).min(axis=1)
    # Second smallest of four, elementwise: far cheaper than np.partition across arrays.
    second = np.minimum(
        np.maximum(np.minimum(a, b), np.minimum(c, d)),
        np.minimum(np.maximum(a, b), np.maximum(c, d)),
    )
    distance = second + np.einsum("ij,ij->i", pixels, pixels)
    return np.sqrt(np.maximum(distance, 0.0)).reshape(lab.shape[:2])


def _saliency(lab: np.ndarray, sides: list[np.ndarray]) -> np.ndarray:
    return _ramp(_border_distance(lab, sides), SALIENCY_FLOOR, SALIENCY_RANGE)


def _delta_e(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = a - b
    # A light blur suppresses per-pixel noise and compression speckle.
    return cv2.GaussianBlur(np.sqrt(np.einsum("ijk,ijk->ij", d, d)), (3, 3), 0)


def _ramp(values: np.ndarray, floor: float, span: float) -> np.ndarray:
    return np.clip((values - floor) / span, 0.0, 1.0)


def _seed(motion: np.ndarray, saliency: np.ndarray) -> np.ndarray | None:
    """Combine the cues: motion says which distinct region is the subject, saliency completes
    the parts that did not move; with no usable motion the most distinct region wins."""
    kernel = np.ones((3, 3), np.uint8)
    moving = cv2.morphologyEx((motion > 0.5).astype(np.uint8), cv2.MORPH_OPEN, kernel) > 0
    salient = cv2.morphologyEx((saliency > 0.5).astype(np.uint8), cv2.MORPH_OPEN, kernel)
    if MIN_MOTION_FRACTION <= moving.mean() <= MAX_MOTION_FRACTION:
        seed = moving | _components_touching(salient, moving)
        weight = motion + saliency
    else:
        seed = salient > 0
        weight = saliency
    seed = cv2.morphologyEx(seed.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    seed = _heaviest_component(_fill_holes(seed > 0), weight)
    if seed.sum() < MIN_SEED_PIXELS or seed.mean() > MAX_SUBJECT_FRACTION:
        return None
    return seed


def _components_touching(salient: np.ndarray, moving: np.ndarray) -> np.ndarray:
    count, labels, stats, _ = cv2.connectedComponentsWithStats(salient, connectivity=8)
    limit = MAX_SALIENT_FRACTION * salient.size
    keep = [i for i in np.unique(labels[moving]) if i and stats[i, cv2.CC_STAT_AREA] <= limit]
    return np.isin(labels, keep) if count > 1 else np.zeros_like(moving)


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    """Close interior holes (eyes, logos) by flooding the background from outside the frame."""
    padded = np.pad(mask.astype(np.uint8), 1)
    flood = padded.copy()
    cv2.floodFill(flood, None, (0, 0), 1)
    return (padded | (1 - flood)).astype(bool)[1:-1, 1:-1]


def _heaviest_component(mask: np.ndarray, weight: np.ndarray) -> np.ndarray:
    count, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    if count <= 2:
        return mask
    mass = np.bincount(labels.ravel(), weights=weight.ravel(), minlength=count)
    mass[0] = -1.0
    return labels == int(mass.argmax())


def _largest_component(mask: np.ndarray) -> np.ndarray:
    return _heaviest_component(mask, np.ones(mask.shape, np.float32))


def _to_subject(seed: np.ndarray, shape: tuple[int, int]) -> SubjectMask:
    h, w = shape
    full = cv2.resize(seed.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST)
    return _subject_from_mask(full > 0)


def _subject_from_mask(mask: np.ndarray) -> SubjectMask:
    h, w = mask.shape
    x, y, bw, bh = cv2.boundingRect(mask.astype(np.uint8))
    touches = x <= 1 or y <= 1 or x + bw >= w - 1 or y + bh >= h - 1
    return SubjectMask((x, y, bw, bh), mask, float(mask.mean()), touches)


def _expand(
    box: tuple[int, int, int, int], margin: float, w: int, h: int
) -> tuple[int, int, int, int]:
    x, y, bw, bh = box
    mx, my = round(bw * margin) + 4, round(bh * margin) + 4
    return max(0, x - mx), max(0, y - my), min(w, x + bw + mx), min(h, y + bh + my)


def _grabcut_labels(seed: np.ndarray, inner_edges: tuple[bool, bool, bool, bool]) -> np.ndarray:
    """Seed -> probably foreground, its eroded core -> foreground, the rest -> probably
    background; ROI borders inside the frame -> background (the margin is outside the subject)."""
    labels = np.full(seed.shape, cv2.GC_PR_BGD, np.uint8)
    labels[seed] = cv2.GC_PR_FGD
    side = max(3, (min(seed.shape) // 12) | 1)
    core = cv2.erode(seed.astype(np.uint8), np.ones((side, side), np.uint8)) > 0
    labels[core] = cv2.GC_FGD
    left, top, right, bottom = inner_edges
    if left:
        labels[:, :2] = cv2.GC_BGD
    if top:
        labels[:2] = cv2.GC_BGD
    if right:
        labels[:, -2:] = cv2.GC_BGD
    if bottom:
        labels[-2:] = cv2.GC_BGD
    return labels
