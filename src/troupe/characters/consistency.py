"""How consistently a character appears in a video or frames: a score in [0, 1] from its
fingerprint, from geometrically verified SIFT matches and the colours where they land."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from troupe.characters.fingerprint import MASK_SIDE, Fingerprint, colour_signature, sift_detector
from troupe.characters.frame_quality import resize_long_side
from troupe.media.frames import Frame, evenly_spaced
from troupe.media.probe import probe
from troupe.media.window import sample_frames

# SIFT cost grows with area: at 800 px a 720p frame takes 35-100 ms on two cores (more in busy
# scenes), and a subject a third of the frame tall is still ~150 px, the least SIFT matches well.
WORK_SIDE = 800
# The strongest keypoints are kept: too few, and a busy background crowds out a small subject.
FRAME_KEYPOINTS = 3000
MAX_FRAME_PIXELS = 3840 * 2160  # probe's limit for the videos scored
# Frames are decoded up to this side (a rendered video's previews are), for the closer look.
SAMPLED_SIDE = 1280
COLOUR_SIDE = 200
RATIO = 0.8  # Lowe's ratio test
# RANSAC runs from frame to view, so its tolerance is in view pixels (a subject ~256 px across)
# whatever the subject's size in the frame: a few percent of the subject, for pose changes.
REPROJECTION_PX = 8.0
MIN_SCALE, MAX_SCALE = 0.05, 20.0  # view px per frame px
KEYPOINT_SCALE_TOLERANCE = math.log(1.6)
KEYPOINT_ANGLE_TOLERANCE = 30.0  # degrees
# Inliers bunched into less of the view than this (a word in a common font, one eye) are not
# evidence of the whole character.
MIN_INLIER_SPREAD = 0.01
# Logistic on verified inliers: 50% at INLIER_MIDPOINT, ~90% at INLIER_MIDPOINT + 2.2 * WIDTH.
# On the drawn test set other characters never passed verification; a small blurred subject
# gave 4-8. A flat cartoon redrawn in another pose (its own motion looped, a posed body) gives
# 3-8 (bench/acting_eval.py). On real footage (bench/consistency_real.py: 40 characters, 62
# clips) no other character's clip scored above 0.22 at 4, nor at 3.5.
INLIER_MIDPOINT = 4.0
INLIER_WIDTH = 1.0
# Earth mover's distance in CIE Lab units from the character's colours to the matched region's,
# mapped linearly from 1 at COLOUR_NEAR to 0 at COLOUR_FAR. Compression moves colours by ~3, a
# dim warm light by 10-30, repainting orange as blue by 50-80.
COLOUR_NEAR, COLOUR_FAR = 15.0, 50.0
# The character's colours need only fill this share of the region: the rest may be background
# inside its outline or something in front of it.
REGION_SHARE = 0.75
# A scene's light dims and tints the character (a render's night or sunset lights its cast, a
# lamp lights footage): the colours are compared again under the light that takes the
# character's mean colour to the region's, as far as a light can: a brightness within
# LIGHT_BRIGHTNESS of the reference's and a warmth (the log gain of red over green and of green
# over blue, a blackbody's way of changing colour) within LIGHT_WARMTH. A warm lamp
# (0.85, 0.72, 0.6) is warmth 0.17. A light changes every colour alike, so it explains the
# change only where it leaves no more than LIGHT_UNEXPLAINED of the colours' weight farther than
# LIGHT_NEAR from where it lands. On the drawn test set (bench/consistency_eval.py), characters
# under a dim warm light left 0.13-0.32 unexplained (their distance 17-31 fell to 7-14); the
# blue twin of an orange mascot, its body repainted and the rest alike, 0.89 or more.
LIGHT_BRIGHTNESS = (0.5, 1.2)
LIGHT_WARMTH = 0.2
LIGHT_NEAR = 20.0
LIGHT_UNEXPLAINED = 0.5
# Pool the best half of the frames: the character may be out of shot for a while.
POOLED_SHARE = 0.5
# A match this weak (a score below about 0.9) is looked at again closer up: the frame's own
# pixels around where the view landed, scaled to the view's size, where SIFT finds the features
# that the working size blurred away. A character drawn small and soft (a CGI bunny a third of a
# 720p frame tall) verifies 3-7 inliers at the working size and more at the view's.
ZOOM_BELOW = 6
ZOOM_MARGIN = 0.25  # of the landed view's size, on every side
MAX_ZOOM = 4.0  # crop px per image px: beyond it, enlarging adds nothing SIFT can use
ZOOM_KEYPOINTS = 1000


@dataclass(frozen=True, eq=False)
class FrameFeatures:
    """What scoring needs of one frame; analyse once, score against several characters."""

    keypoints: np.ndarray  # (N, 4) x, y, size, angle in working pixels
    descriptors: np.ndarray  # (N, 128) float32
    lab: np.ndarray  # 8-bit Lab, long side COLOUR_SIDE
    colour_scale: float  # lab pixels per working pixel
    image: np.ndarray  # the RGB frame as given, for a closer look
    image_scale: float  # image pixels per working pixel


@dataclass(frozen=True)
class _Match:
    """The best view's verified similarity transform (frame working px -> view px)."""

    view: int
    inliers: int
    transform: np.ndarray  # 2x3


def score_video(fingerprint: Fingerprint, path: Path, samples: int = 8) -> float:
    """Consistency of the character across about `samples` frames spread over the video."""
    duration = probe(path, MAX_FRAME_PIXELS).duration
    frames = sample_frames(path, fps=samples / max(duration, 0.1), max_side=SAMPLED_SIDE)
    return score_frames(fingerprint, frames[:samples])


def score_cast(
    fingerprints: dict[str, Fingerprint], frames: list[Frame], samples: int
) -> dict[str, float]:
    """Each character's consistency over `samples` of a video's frames, spread evenly; the
    frames are analysed once for the whole cast (not at all for a video without one)."""
    if not fingerprints:
        return {}
    features = [analyse_frame(frame.image) for frame in evenly_spaced(frames, samples)]
    return {key: score_features(fingerprint, features) for key, fingerprint in fingerprints.items()}


def score_frames(fingerprint: Fingerprint, frames: list[Frame]) -> float:
    """Consistency in [0, 1] of the character across `frames` (0 for no frames)."""
    return score_features(fingerprint, [analyse_frame(f.image) for f in frames])


def analyse_frame(image: np.ndarray) -> FrameFeatures:
    """SIFT features and a small Lab copy of an RGB uint8 frame."""
    work = resize_long_side(image, WORK_SIDE)
    keypoints, descriptors = _sift(work, FRAME_KEYPOINTS)
    small = resize_long_side(work, COLOUR_SIDE)
    return FrameFeatures(
        keypoints=keypoints,
        descriptors=descriptors,
        lab=cv2.cvtColor(small, cv2.COLOR_RGB2Lab),
        colour_scale=small.shape[1] / work.shape[1],
        image=image,
        image_scale=image.shape[1] / work.shape[1],
    )


def _sift(image: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """(N, 4) keypoint rows and (N, 128) float32 descriptors of an RGB uint8 image."""
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    keypoints, descriptors = sift_detector(count).detectAndCompute(gray, None)
    rows = np.array([(k.pt[0], k.pt[1], k.size, k.angle) for k in keypoints], np.float32)
    if descriptors is None:
        descriptors = np.zeros((0, 128), np.float32)
    return rows.reshape(-1, 4), descriptors


def score_features(fingerprint: Fingerprint, frames: list[FrameFeatures]) -> float:
    """Pool per-frame scores: the mean of the best POOLED_SHARE of frames."""
    if not frames:
        return 0.0
    scores = sorted((frame_score(fingerprint, f) for f in frames), reverse=True)
    kept = scores[: max(1, math.ceil(len(scores) * POOLED_SHARE))]
    return float(np.mean(kept))


def frame_score(fingerprint: Fingerprint, frame: FrameFeatures) -> float:
    """Evidence in [0, 1] that the character is in this frame: a logistic on the inliers of
    the best view's similarity transform, times the colour likeness of where that view lands."""
    match = _best_match(fingerprint, frame)
    # Colours alone are no evidence: any scene may hold the character's palette somewhere.
    if match is None:
        return 0.0
    inliers = match.inliers
    if inliers < ZOOM_BELOW:
        inliers = max(inliers, _closer_inliers(fingerprint, frame, match))
    geometric = 1.0 / (1.0 + math.exp(-(inliers - INLIER_MIDPOINT) / INLIER_WIDTH))
    return geometric * _colour_agreement(fingerprint, frame, match)


def _closer_inliers(fingerprint: Fingerprint, frame: FrameFeatures, match: _Match) -> int:
    """Inliers of the matched view in the frame's own pixels around where it landed, enlarged
    (up to MAX_ZOOM) so that the view's features are at the scale they were found at."""
    landed = _landed_crop(fingerprint, frame, match)
    if landed is None:
        return 0
    crop, to_frame = landed
    keypoints, descriptors = _sift(crop, ZOOM_KEYPOINTS)
    # In working pixels, as the transform and the keypoints' scale check expect.
    keypoints[:, :2] = keypoints[:, :2] @ to_frame[:, :2].T + to_frame[:, 2]
    keypoints[:, 2] *= to_frame[0, 0]
    closer = replace(frame, keypoints=keypoints, descriptors=descriptors)
    rows = _candidate_matches(fingerprint, closer)
    rows = rows[fingerprint.views[rows[:, 0].astype(np.intp)] == match.view]
    found = _verify(fingerprint, closer, match.view, _one_to_one(rows))
    return found.inliers if found is not None else 0


def _landed_crop(
    fingerprint: Fingerprint, frame: FrameFeatures, match: _Match
) -> tuple[np.ndarray, np.ndarray] | None:
    """The frame's own pixels around the view's landing, at the view's scale (at most
    MAX_ZOOM times the image's), and the 2x3 map from crop pixels to working pixels; None
    where the landing is off the frame or a sliver."""
    w, h = fingerprint.view_sizes[match.view]
    to_view = np.vstack([match.transform, (0.0, 0.0, 1.0)])
    corners = np.array([(0, 0, 1), (w, 0, 1), (0, h, 1), (w, h, 1)], np.float64)
    landed = (np.linalg.inv(to_view) @ corners.T).T[:, :2] * frame.image_scale  # image px
    low, high = landed.min(axis=0), landed.max(axis=0)
    margin = (high - low) * ZOOM_MARGIN
    height, width = frame.image.shape[:2]
    x0, y0 = np.maximum(np.floor(low - margin), 0).astype(int)
    x1, y1 = np.minimum(np.ceil(high + margin), (width, height)).astype(int)
    if x1 - x0 < 8 or y1 - y0 < 8:
        return None
    view_per_image = math.hypot(*match.transform[:, 0]) / frame.image_scale
    zoom = min(max(view_per_image, 1.0), MAX_ZOOM)
    crop = cv2.resize(
        frame.image[y0:y1, x0:x1], None, fx=zoom, fy=zoom, interpolation=cv2.INTER_CUBIC
    )
    per_crop_px = 1.0 / (zoom * frame.image_scale)  # working px per crop px
    to_frame = np.array(
        [[per_crop_px, 0.0, x0 / frame.image_scale], [0.0, per_crop_px, y0 / frame.image_scale]]
    )
    return crop, to_frame


def _candidate_matches(fingerprint: Fingerprint, frame: FrameFeatures) -> np.ndarray:
    """(query, train, squared distance) rows passing Lowe's ratio test, fingerprint -> frame."""
    query, train = fingerprint.descriptors, frame.descriptors
    if len(query) == 0 or len(train) < 2:
        return np.zeros((0, 3))
    # One BLAS product: three times faster than OpenCV's brute-force knnMatch here.
    distances = query @ train.T
    distances *= -2.0
    distances += (train * train).sum(axis=1)
    distances += (query * query).sum(axis=1)[:, None]
    rows = np.arange(len(query))
    nearest = distances.argmin(axis=1)
    first = distances[rows, nearest].copy()
    distances[rows, nearest] = np.inf
    second = distances.min(axis=1)
    keep = first < RATIO**2 * second
    return np.column_stack([rows[keep], nearest[keep], first[keep]]).astype(np.float64)


def _best_match(fingerprint: Fingerprint, frame: FrameFeatures) -> _Match | None:
    """Each view (a pose of the character) is one rigid shape: verify them one by one."""
    candidates = _candidate_matches(fingerprint, frame)
    best: _Match | None = None
    for view in range(len(fingerprint.view_sizes)):
        rows = candidates[fingerprint.views[candidates[:, 0].astype(np.intp)] == view]
        match = _verify(fingerprint, frame, view, _one_to_one(rows))
        if match is not None and (best is None or match.inliers > best.inliers):
            best = match
    return best


def _one_to_one(rows: np.ndarray) -> np.ndarray:
    """Keep each frame keypoint's closest fingerprint keypoint only."""
    rows = rows[np.argsort(rows[:, 2], kind="stable")]
    _, first = np.unique(rows[:, 1], return_index=True)
    return rows[np.sort(first)]


def _verify(
    fingerprint: Fingerprint, frame: FrameFeatures, view: int, rows: np.ndarray
) -> _Match | None:
    """Similarity-transform RANSAC, then keep inliers whose own scale and angle agree with it."""
    if len(rows) < 3:
        return None
    src = frame.keypoints[rows[:, 1].astype(np.intp)]
    dst = fingerprint.keypoints[rows[:, 0].astype(np.intp)]
    transform, inliers = cv2.estimateAffinePartial2D(
        np.ascontiguousarray(src[:, :2]),
        np.ascontiguousarray(dst[:, :2]),
        method=cv2.RANSAC,
        ransacReprojThreshold=REPROJECTION_PX,
        maxIters=1000,
        confidence=0.995,
    )
    if transform is None:
        return None
    scale = math.hypot(transform[0, 0], transform[1, 0])
    if not MIN_SCALE <= scale <= MAX_SCALE:
        return None
    rotation = math.degrees(math.atan2(transform[1, 0], transform[0, 0]))
    keep = inliers[:, 0].astype(bool)
    size_error = np.abs(np.log(dst[keep, 2] / src[keep, 2]) - math.log(scale))
    angle_error = np.abs((dst[keep, 3] - src[keep, 3] - rotation + 180.0) % 360.0 - 180.0)
    agree = (size_error < KEYPOINT_SCALE_TOLERANCE) & (angle_error < KEYPOINT_ANGLE_TOLERANCE)
    points = dst[keep][agree, :2]
    if _spread(points) < MIN_INLIER_SPREAD * float(np.prod(fingerprint.view_sizes[view])):
        return None
    return _Match(view=view, inliers=len(points), transform=transform)


def _spread(points: np.ndarray) -> float:
    """Area of the points' convex hull."""
    if len(points) < 3:
        return 0.0
    return float(cv2.contourArea(cv2.convexHull(points.astype(np.float32))))


def _colour_agreement(fingerprint: Fingerprint, frame: FrameFeatures, match: _Match) -> float:
    """1 when the character's colours are found in the region the transform maps the view's
    mask onto, falling to 0 as their earth mover's distance grows to COLOUR_FAR."""
    region = _region_mask(fingerprint, frame, match)
    if not region.any():
        return 0.0
    distance = lit_colour_distance(fingerprint.colours, colour_signature(frame.lab[region > 0]))
    return float(np.clip((COLOUR_FAR - distance) / (COLOUR_FAR - COLOUR_NEAR), 0.0, 1.0))


def lit_colour_distance(expected: np.ndarray, found: np.ndarray) -> float:
    """The earth mover's distance from the character's colour signature to the region's, the
    lesser of as they are and under the light (see LIGHT_WARMTH) that best explains the change
    of their mean colour."""
    # Weights summing to less than the region's make the earth mover's distance a partial match.
    expected = expected.copy()
    expected[:, 0] *= REGION_SHARE
    distance = float(cv2.EMD(expected, found, cv2.DIST_L2)[0])
    if distance <= COLOUR_NEAR:
        return distance
    rgb = _rgb(expected)
    lit = expected.copy()
    lit[:, 1:] = _lab(rgb * _light(_mean(expected, rgb), _mean(found, _rgb(found))))
    lit_distance, _, flow = cv2.EMD(lit, found, cv2.DIST_L2)
    apart = np.linalg.norm(lit[:, None, 1:] - found[None, :, 1:], axis=2)
    unexplained = float(flow[apart > LIGHT_NEAR].sum()) / max(float(flow.sum()), 1e-9)
    if unexplained > LIGHT_UNEXPLAINED:
        return distance
    return min(distance, float(lit_distance))


def _light(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Per-channel RGB gain of the light within range that comes closest to turning the mean
    colour `before` into `after`: brightness and warmth fitted to the log gains, then bounded."""
    log_gain = np.log(np.maximum(after, 1e-3) / np.maximum(before, 1e-3))
    brightness = np.clip(np.exp(log_gain.mean()), *LIGHT_BRIGHTNESS)
    warmth = np.clip((log_gain[0] - log_gain[2]) / 2.0, -LIGHT_WARMTH, LIGHT_WARMTH)
    return brightness * np.exp(warmth * np.array([1.0, 0.0, -1.0]))


def _rgb(signature: np.ndarray) -> np.ndarray:
    """(K, 3) sRGB in [0, 1] of a signature's (weight, L, a, b) rows."""
    return cv2.cvtColor(signature[None, :, 1:].astype(np.float32), cv2.COLOR_Lab2RGB)[0]


def _lab(rgb: np.ndarray) -> np.ndarray:
    """(K, 3) CIE Lab of (K, 3) sRGB, clipped to [0, 1] first as a camera or encoder would."""
    lit = np.clip(rgb, 0.0, 1.0).astype(np.float32)
    return cv2.cvtColor(lit[None], cv2.COLOR_RGB2Lab)[0]


def _mean(signature: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    """The signature's mean colour: its rows' sRGB `rgb` weighted by their weights."""
    weights = signature[:, 0] / max(float(signature[:, 0].sum()), 1e-9)
    return weights @ rgb


def _region_mask(fingerprint: Fingerprint, frame: FrameFeatures, match: _Match) -> np.ndarray:
    """The view's mask drawn into the Lab image's pixels (uint8, 0 or 1)."""
    w, h = fingerprint.view_sizes[match.view]
    to_mask = np.diag([MASK_SIDE / w, MASK_SIDE / h, 1.0])
    from_lab = np.diag([1.0 / frame.colour_scale, 1.0 / frame.colour_scale, 1.0])
    # Lab pixel -> working pixel -> view pixel -> mask pixel, for warpAffine's inverse map.
    lab_to_mask = to_mask @ np.vstack([match.transform, (0.0, 0.0, 1.0)]) @ from_lab
    height, width = frame.lab.shape[:2]
    return cv2.warpAffine(
        fingerprint.view_masks[match.view],
        lab_to_mask[:2],
        (width, height),
        flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP,
    )
