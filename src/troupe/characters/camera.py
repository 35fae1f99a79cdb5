"""Camera motion across a window: each frame's map onto a reference frame, chained from steps
between neighbouring frames, so pans, zooms and hand shake can be undone before comparing them."""

from __future__ import annotations

from itertools import pairwise

import cv2
import numpy as np

MAX_CORNERS = 200
CORNER_QUALITY = 0.002
CORNER_SPACING = 4
# Pixels at the analysis size; RANSAC inliers must agree to this.
RANSAC_THRESHOLD = 0.75
MIN_INLIERS = 10
# A step that moves no frame corner this far is sensor noise: snapping it to the identity keeps
# a tripod shot exactly aligned instead of drifting through a chain of tiny errors.
MIN_STEP = 0.25
# A camera move is accepted only if it fits the frames this much better than no move at all.
MIN_GAIN = 0.85
# The worst-matching share of pixels is left out of the fit: that is where the subject moved.
SUBJECT_SHARE = 0.3


def align_frames(greys: list[np.ndarray]) -> list[np.ndarray]:
    """3x3 maps from each grey uint8 frame's pixels to the middle frame's pixels."""
    softened = [cv2.GaussianBlur(g, (0, 0), 1.0).astype(np.float32) for g in greys]
    steps: list[np.ndarray] = []
    for (a, b), (soft_a, soft_b) in zip(pairwise(greys), pairwise(softened), strict=True):
        # The camera moves smoothly: the last step is a candidate for the next one.
        steps.append(_step(a, b, soft_a, soft_b, steps[-1] if steps else np.eye(3)))
    reference = len(greys) // 2
    maps = [np.eye(3) for _ in greys]
    for i in range(reference + 1, len(greys)):
        maps[i] = maps[i - 1] @ steps[i - 1]
    for i in range(reference - 1, -1, -1):
        maps[i] = maps[i + 1] @ np.linalg.inv(steps[i])
    return maps


def scale_of(matrix: np.ndarray) -> float:
    """Linear magnification of a map: > 1 when the frame shows things smaller than the reference."""
    return float(np.sqrt(abs(np.linalg.det(matrix[:2, :2]))))


def _step(
    a: np.ndarray, b: np.ndarray, soft_a: np.ndarray, soft_b: np.ndarray, last: np.ndarray
) -> np.ndarray:
    """3x3 map from frame b's pixels to frame a's: whichever of no move, the last step, and
    similarities fitted to tracked corners (or, with too few corners, a shift found by phase
    correlation) makes b match a best. Corners and phase alone can follow a busy subject over a
    bland background; the pixel check catches that."""
    h, w = a.shape[:2]
    fits = _corner_fits(a, b) or [_phase_shift(soft_a, soft_b)]
    candidates = [last, *fits]
    candidates = [m for m in candidates if _largest_move(m, w, h) >= MIN_STEP]
    if not candidates:
        return np.eye(3)
    edges = cv2.magnitude(cv2.Sobel(soft_a, cv2.CV_32F, 1, 0), cv2.Sobel(soft_a, cv2.CV_32F, 0, 1))
    still = _misfit(soft_a, edges, soft_b, np.eye(3))
    misfit, best = min((_misfit(soft_a, edges, soft_b, m), i) for i, m in enumerate(candidates))
    return candidates[best] if misfit < MIN_GAIN * still else np.eye(3)


def _phase_shift(soft_a: np.ndarray, soft_b: np.ndarray) -> np.ndarray:
    window = cv2.createHanningWindow((soft_a.shape[1], soft_a.shape[0]), cv2.CV_32F)
    # Copies: OpenCV 5 applies the window to phaseCorrelate's inputs in place.
    (dx, dy), _ = cv2.phaseCorrelate(soft_a.copy(), soft_b.copy(), window)
    # phaseCorrelate reports how far b's content moved; b's pixels map back by the opposite.
    return np.array([[1.0, 0.0, -dx], [0.0, 1.0, -dy], [0.0, 0.0, 1.0]])


def _corner_fits(a: np.ndarray, b: np.ndarray) -> list[np.ndarray]:
    """Similarities (shift, zoom, roll) from corners of b tracked into a: the largest group that
    moves together, and the largest among the rest, since a busy subject can outnumber the
    background's corners."""
    corners = cv2.goodFeaturesToTrack(b, MAX_CORNERS, CORNER_QUALITY, CORNER_SPACING, blockSize=5)
    if corners is None:
        return []
    moved, status, _ = cv2.calcOpticalFlowPyrLK(
        b, a, corners, np.empty(0), winSize=(15, 15), maxLevel=2
    )
    ok = status.ravel() == 1
    source, target = corners[ok], moved[ok]
    fits: list[np.ndarray] = []
    while len(fits) < 2 and len(source) >= MIN_INLIERS:
        fit, inliers = cv2.estimateAffinePartial2D(
            source, target, method=cv2.RANSAC, ransacReprojThreshold=RANSAC_THRESHOLD
        )
        if fit is None or inliers.sum() < MIN_INLIERS:
            break
        fits.append(np.vstack([fit, [0.0, 0.0, 1.0]]))
        rest = inliers.ravel() == 0
        source, target = source[rest], target[rest]
    return fits


def _misfit(soft_a: np.ndarray, edges: np.ndarray, soft_b: np.ndarray, matrix: np.ndarray) -> float:
    """Grey difference between a and b moved by `matrix`, over the pixels both show, weighted by
    a's edge strength (flat sky matches under any small move and would only dilute the verdict)
    and leaving out the worst-matching SUBJECT_SHARE. Every other pixel both ways is plenty."""
    h, w = soft_a.shape[:2]
    moved = cv2.warpAffine(soft_b, matrix[:2], (w, h), borderValue=float("nan"))
    diff = np.abs(moved - soft_a)[::2, ::2].ravel()
    seen = ~np.isnan(diff)
    if seen.mean() < 0.3:
        return float("inf")
    diff, weight = diff[seen], edges[::2, ::2].ravel()[seen]
    cut = int(len(diff) * (1.0 - SUBJECT_SHARE))
    kept = diff <= np.partition(diff, cut)[cut]
    return float((diff[kept] * weight[kept]).sum() / max(float(weight[kept].sum()), 1e-6))


def _largest_move(matrix: np.ndarray, w: int, h: int) -> float:
    corners = np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1]], np.float64)
    moved = corners @ matrix.T
    return float(np.abs(moved[:, :2] - corners[:, :2]).max())
