"""Find and follow the character through a window. A salient-object model marks what stands out in
a few frames; dense optical flow carries its map to the frames between and tells what moves
against the camera; the main character is one consistent track through the candidate regions,
favouring large, salient, moving and central ones; and how sure the model was, of that region
and of nothing else, becomes the subject's confidence.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import pairwise

import cv2
import numpy as np

from troupe.characters import saliency
from troupe.characters.camera import align_frames, scale_of
from troupe.characters.frame_quality import resize_long_side

ANALYSIS_SIDE = 192
# Frames the model looks at itself, evenly spread; flow carries its maps to the others. The
# model is most of an extraction's time; on the real-footage set 4 frames found the subjects as
# well as 5 (mean IoU 0.85 and 0.86) and they give up to 4 references.
MODEL_FRAMES = 4
# Model probability from which a pixel belongs to a salient object.
SALIENT = 0.5
# Weaker pixels join the detailed mask where they touch the salient core.
FRINGE = 0.3
# The model can find a painted sky or backdrop half salient, joined to the character in front
# of it: one region reaching across the frame, which is scenery. Where such a region holds a
# core the model is sure of (from CORE), touching no edge of the frame, and at most
# CORE_SHARE of the region's salience (the rest is the weaker backdrop), that core is a
# candidate too, cut out at CORE alone; a close-up reaching across the frame is sure all over
# and is left whole. The backdrop is then no rival for the core's share of the frame's salience.
CORE = 0.9
CORE_SHARE = 0.75
MIN_REGION_PIXELS = 6
MAX_SUBJECT_FRACTION = 0.92
# Residual motion (analysis pixels per second, the camera's motion taken out) that counts as
# moving: 2% of the frame width a second.
MOVING_SPEED = 4.0
# Among candidates, a region that moves counts up to MOTION_BONUS more, one at the centre
# CENTRE_BONUS more; each frame edge it touches, and reaching across the frame, count less: that
# is what scenery does, not characters.
MOTION_BONUS = 0.5
CENTRE_BONUS = 0.3
EDGE_DISCOUNT = 0.8
SPANNING_DISCOUNT = 0.3
# Tracking: what an empty frame is worth against a region of full strength (1.0), and the costs
# between neighbouring frames of a jump (per subject size moved), a change in size (per e-fold),
# a change of mean colour (per RECOLOUR_SCALE delta-E) and of losing or regaining the subject.
CANDIDATES = 4
EMPTY_REWARD = 0.1
JUMP_COST = 1.0
GROWTH_COST = 0.5
RECOLOUR_COST = 0.3
RECOLOUR_SCALE = 20.0
GAP_COST = 0.5
# The model's detailed mask is kept only near the tracked region: other salient things are not
# the subject.
REGION_MARGIN = 0.06
LAB_SCALE = np.array([100.0 / 255.0, 1.0, 1.0], np.float32)
LAB_OFFSET = np.array([0.0, 128.0, 128.0], np.float32)


@dataclass(frozen=True)
class SubjectMask:
    """The subject in one frame: box (x, y, w, h) and bool mask in that frame's pixels, and
    where the model looked at the frame itself, its probability map there (for a soft matte)."""

    box: tuple[int, int, int, int]
    mask: np.ndarray
    coverage: float
    touches_edge: bool
    probability: np.ndarray | None = None


@dataclass(frozen=True)
class Sighting:
    """The tracked subject in one frame. `size_ratio` is its area over the area the track
    expects at that moment: below 1 when part of it is hidden, above when something merged into
    it. `speed` is how fast it crosses the frame, in frame widths per second. `confidence` is
    how sure the model is of this region (its mean probability, squared: a half-sure region is
    a quarter-sure subject) times the share of all the frame's salience that it holds."""

    subject: SubjectMask
    size_ratio: float
    speed: float
    confidence: float


@dataclass(frozen=True)
class Track:
    """A sighting per frame (None where the subject is not seen), each frame's camera (the 3x3
    map from its pixels at ANALYSIS_SIDE to the window's middle frame's), which frames the model
    looked at itself, and the track's confidence: the mean confidence of its sightings in those
    frames, times the square root of the share of them where it was seen at all (a subject
    that enters half-way is still sure; a pattern seen now and then is not)."""

    sightings: list[Sighting | None]
    cameras: list[np.ndarray]
    modelled: list[bool]
    confidence: float


@dataclass(frozen=True)
class _Blob:
    """A candidate region (component `index` of `labels`, at analysis size): its strength as a
    candidate, its area and centre in reference-frame pixels, its centre as a fraction of the
    frame width, its mean colour and its confidence."""

    labels: np.ndarray
    index: int
    strength: float
    area: float
    centre: np.ndarray
    frame_centre: np.ndarray
    colour: np.ndarray  # mean CIE Lab
    confidence: float
    # The probabilities its region and its detailed mask's fringe were cut at.
    cut: tuple[float, float] = (SALIENT, FRINGE)

    @property
    def mask(self) -> np.ndarray:
        return self.labels == self.index


def track_subject(images: list[np.ndarray], times: list[float]) -> Track:
    """The subject in every frame of a window (None where it is not seen), as one track."""
    if not images:
        return Track([], [], [], 0.0)
    small = [resize_long_side(im, ANALYSIS_SIDE) for im in images]
    greys = [cv2.cvtColor(s, cv2.COLOR_RGB2GRAY) for s in small]
    cameras = align_frames(greys)
    picked = model_frames(len(images))
    detailed = {i: saliency.predict_saliency(images[i]) for i in picked}
    size = (greys[0].shape[1], greys[0].shape[0])
    coarse = {i: cv2.resize(d, size, interpolation=cv2.INTER_AREA) for i, d in detailed.items()}
    maps, motions = _carry(greys, cameras, coarse, times)
    candidates = [
        _regions(p, m, _lab(s), c) for p, m, s, c in zip(maps, motions, small, cameras, strict=True)
    ]
    path = _follow(candidates)
    ratios, speeds = _size_ratios(path, times), _speeds(path, times)
    sightings: list[Sighting | None] = []
    for i, (blob, image) in enumerate(zip(path, images, strict=True)):
        if blob is None:
            sightings.append(None)
            continue
        subject = _detailed_subject(detailed[i], blob.mask, blob.cut) if i in detailed else None
        subject = subject or _to_subject(blob.mask, image.shape[:2])
        sightings.append(Sighting(subject, ratios[i], speeds[i], blob.confidence))
    confidence = _track_confidence([path[i] for i in picked])
    modelled = [i in detailed for i in range(len(images))]
    return Track(sightings, cameras, modelled, confidence)


def model_frames(count: int) -> list[int]:
    """Indices of the frames the model looks at: MODEL_FRAMES evenly spread, ends included."""
    return sorted({round(x) for x in np.linspace(0, count - 1, min(count, MODEL_FRAMES))})


def _track_confidence(sampled: list[_Blob | None]) -> float:
    seen = [blob.confidence for blob in sampled if blob is not None]
    if not seen:
        return 0.0
    return float(np.mean(seen) * np.sqrt(len(seen) / len(sampled)))


def _carry(
    greys: list[np.ndarray],
    cameras: list[np.ndarray],
    coarse: dict[int, np.ndarray],
    times: list[float],
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Every frame's probability map (the model's own where it looked, else the nearest model
    frame's moved along the optical flow) and its moving pixels, from the flow's residual once
    the camera's motion is taken out."""
    flow = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
    h, w = greys[0].shape
    grid = np.dstack(np.meshgrid(np.arange(w), np.arange(h))).astype(np.float32)
    maps, motions = [], []
    for i, grey in enumerate(greys):
        source = min(coarse, key=lambda j: (abs(times[j] - times[i]), j))
        # A model frame is compared with its next frame for motion (its previous at the end).
        other = source if source != i else (i + 1 if i + 1 < len(greys) else i - 1)
        if other < 0:
            maps.append(coarse[i])
            motions.append(np.zeros((h, w), bool))
            continue
        moved = flow.calc(grey, greys[other], np.zeros((h, w, 2), np.float32))
        camera = _camera_shift(grid, np.linalg.inv(cameras[other]) @ cameras[i])
        residual = np.linalg.norm(moved - camera, axis=2)
        gap = max(abs(times[other] - times[i]), 1e-3)
        motions.append(residual / gap > MOVING_SPEED)
        if source == i:
            maps.append(coarse[i])
        else:
            x, y = np.moveaxis(grid + moved, 2, 0)
            carried = cv2.remap(
                coarse[source], x, y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
            )
            maps.append(carried)
    return maps, motions


def _camera_shift(grid: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """How far the camera alone moves each pixel, by a 3x3 map between two frames' pixels."""
    moved = grid @ matrix[:2, :2].T.astype(np.float32) + matrix[:2, 2].astype(np.float32)
    return moved - grid


def _lab(small: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(small, cv2.COLOR_RGB2Lab).astype(np.float32) * LAB_SCALE - LAB_OFFSET


def _regions(
    probability: np.ndarray, moving: np.ndarray, lab: np.ndarray, camera: np.ndarray
) -> list[_Blob]:
    """The strongest candidate regions of one frame: components of its salient pixels, and the
    sure cores of those that reach across the frame over a weaker backdrop."""
    seed = (probability > SALIENT).astype(np.uint8)
    _, labels, stats, centroids = cv2.connectedComponentsWithStats(seed, connectivity=8)
    h, w = seed.shape
    spanning = [i for i in range(1, len(stats)) if _spans(_edges_touched(stats[i], w, h))]
    total = max(float(probability.sum()), 1e-6)
    found = _blobs(labels, stats, centroids, probability, moving, lab, camera, total)
    if spanning:
        region = np.isin(labels, spanning)
        cores = (probability > CORE) & region
        core_mass, region_mass = float(probability[cores].sum()), float(probability[region].sum())
        if cores.any() and core_mass <= CORE_SHARE * region_mass:
            _, core_labels, core_stats, core_centroids = cv2.connectedComponentsWithStats(
                cores.astype(np.uint8), connectivity=8
            )
            backdrop = region_mass - core_mass
            found += _blobs(
                core_labels, core_stats, core_centroids, probability, moving, lab, camera,
                max(total - backdrop, 1e-6), cut=(CORE, CORE), inside=True,
            )  # fmt: skip
    return sorted(found, key=lambda blob: -blob.strength)[:CANDIDATES]


def _spans(edges: tuple[bool, bool, bool, bool]) -> bool:
    return (edges[0] and edges[2]) or (edges[1] and edges[3])


def _blobs(
    labels: np.ndarray,
    stats: np.ndarray,
    centroids: np.ndarray,
    probability: np.ndarray,
    moving: np.ndarray,
    lab: np.ndarray,
    camera: np.ndarray,
    total: float,
    cut: tuple[float, float] = (SALIENT, FRINGE),
    inside: bool = False,
) -> list[_Blob]:
    """A candidate for each component of `labels` (those touching an edge left out when
    `inside`), its share of the frame's salience taken of `total`."""
    count = len(stats)
    flat = labels.ravel()
    mass = np.bincount(flat, weights=probability.ravel(), minlength=count)
    areas = stats[:, cv2.CC_STAT_AREA]
    moved = np.bincount(flat, weights=moving.ravel(), minlength=count) / np.maximum(areas, 1)
    sums = [np.bincount(flat, weights=c.ravel(), minlength=count) for c in cv2.split(lab)]
    colours = np.stack(sums, axis=-1) / np.maximum(areas, 1)[:, None]
    h, w = labels.shape
    magnify = scale_of(camera) ** 2
    found = []
    for i in range(1, count):
        if not MIN_REGION_PIXELS <= areas[i] <= MAX_SUBJECT_FRACTION * labels.size:
            continue
        edges = _edges_touched(stats[i], w, h)
        # The whole frame's border is scenery; a core found inside a spanning region is a
        # candidate only clear of every edge.
        if all(edges) or (inside and any(edges)):
            continue
        certainty, share = mass[i] / areas[i], mass[i] / total
        offset = np.hypot(*(centroids[i] / (w, h) - 0.5)) / np.hypot(0.5, 0.5)
        strength = (
            mass[i]
            / labels.size
            * (1.0 + MOTION_BONUS * moved[i])
            * (1.0 + CENTRE_BONUS * (1.0 - offset))
            * EDGE_DISCOUNT ** sum(edges)
            * (SPANNING_DISCOUNT if _spans(edges) else 1.0)
        )
        found.append(
            _Blob(
                labels=labels,
                index=i,
                strength=float(strength),
                area=float(areas[i]) * magnify,
                centre=(camera @ [*centroids[i], 1.0])[:2],
                frame_centre=centroids[i] / w,
                colour=colours[i],
                confidence=float(certainty**2 * min(share, 1.0)),
                cut=cut,
            )
        )
    return found


def _edges_touched(stat: np.ndarray, w: int, h: int) -> tuple[bool, bool, bool, bool]:
    """Left, top, right, bottom."""
    x, y, bw, bh = (int(v) for v in stat[:4])
    return x <= 0, y <= 0, x + bw >= w, y + bh >= h


def _detailed_subject(
    probability: np.ndarray, region: np.ndarray, cut: tuple[float, float] = (SALIENT, FRINGE)
) -> SubjectMask | None:
    """The model's own mask at the frame's resolution, kept near the tracked region: pixels
    from `cut[0]`, and those from `cut[1]` joined to them."""
    h, w = probability.shape
    resized = cv2.resize(region.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST)
    side = max(3, round(REGION_MARGIN * max(h, w)) | 1)
    near = cv2.dilate(resized, np.ones((side, side), np.uint8)) > 0
    salient, fringe = cut
    core = (probability > salient) & near
    if not core.any():
        return None
    # Thin limbs and fringes get a middling probability: they count where they join the core.
    count, labels = cv2.connectedComponents((probability > fringe).astype(np.uint8))
    joined = np.zeros(count, bool)
    joined[labels[core]] = True
    joined[0] = False
    subject = _subject_from_mask(fill_holes(joined[labels] & near))
    return replace(subject, probability=probability)


def _follow(candidates: list[list[_Blob]]) -> list[_Blob | None]:
    """One region (or none) per frame, maximising total strength minus the costs of jumps, size
    changes and gaps between neighbouring frames (Viterbi over the candidates): the subject is
    what stays put and coherent, not whatever is strongest in a single frame."""
    strongest = [c[0].strength for c in candidates if c]
    if not strongest:
        return [None] * len(candidates)
    typical = float(np.median(strongest))
    states: list[list[_Blob | None]] = [[*c, None] for c in candidates]
    totals = [_reward(s, typical) for s in states[0]]
    back: list[list[int]] = []
    for previous, current in pairwise(states):
        step_totals, step_back = [], []
        for state in current:
            options = [t - _transition(p, state) for t, p in zip(totals, previous, strict=True)]
            best = int(np.argmax(options))
            step_totals.append(options[best] + _reward(state, typical))
            step_back.append(best)
        totals, back = step_totals, [*back, step_back]
    index = int(np.argmax(totals))
    path = [states[-1][index]]
    for frame, pointers in zip(reversed(states[:-1]), reversed(back), strict=True):
        index = pointers[index]
        path.append(frame[index])
    return path[::-1]


def _reward(blob: _Blob | None, typical: float) -> float:
    return EMPTY_REWARD if blob is None else min(1.0, blob.strength / typical)


def _transition(a: _Blob | None, b: _Blob | None) -> float:
    if a is None or b is None:
        return 0.0 if a is b else GAP_COST
    size = np.sqrt(0.5 * (a.area + b.area))
    jump = float(np.hypot(*(a.centre - b.centre))) / size
    recolour = float(np.linalg.norm(a.colour - b.colour)) / RECOLOUR_SCALE
    growth = abs(float(np.log(a.area / b.area)))
    return JUMP_COST * jump + GROWTH_COST * growth + RECOLOUR_COST * recolour


def _size_ratios(track: list[_Blob | None], times: list[float]) -> list[float]:
    """Each sighting's area over the track's robust trend (a line through log area over time,
    so a subject walking closer is not penalised); 1 where there is too little to judge."""
    seen = [(t, np.log(b.area)) for t, b in zip(times, track, strict=True) if b is not None]
    if len(seen) < 3:
        return [1.0] * len(track)
    t, y = np.array(seen).T
    i, j = np.triu_indices(len(t), 1)
    apart = np.abs(t[j] - t[i]) > 1e-6
    slope = float(np.median((y[j] - y[i])[apart] / (t[j] - t[i])[apart])) if apart.any() else 0.0
    level = float(np.median(y - slope * t))
    return [
        1.0 if b is None else float(np.exp(np.log(b.area) - level - slope * time))
        for b, time in zip(track, times, strict=True)
    ]


def _speeds(track: list[_Blob | None], times: list[float]) -> list[float]:
    """Each sighting's speed across the frame (widths per second), from its neighbours' positions:
    the cause of motion blur on the subject, whether it or the camera moved."""
    seen = [(t, b.frame_centre) for t, b in zip(times, track, strict=True) if b is not None]
    speeds = {}
    for k, (t, centre) in enumerate(seen):
        steps = [
            float(np.hypot(*(centre - c))) / abs(t - u)
            for u, c in seen[max(0, k - 1) : k + 2]
            if abs(t - u) > 1e-6
        ]
        speeds[t] = float(np.mean(steps)) if steps else 0.0
    return [speeds.get(t, 0.0) for t in times]


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """Close interior holes (eyes, logos) by flooding the background from outside the frame."""
    padded = np.pad(mask.astype(np.uint8), 1)
    flood = padded.copy()
    cv2.floodFill(flood, None, (0, 0), 1)
    return (padded | (1 - flood)).astype(bool)[1:-1, 1:-1]


def _to_subject(seed: np.ndarray, shape: tuple[int, ...]) -> SubjectMask:
    """Upsampled bilinearly and cut at half: smooth outlines instead of analysis-size blocks.
    Cutting at half pulls an outline off the frame edge it touched: the seed says if it did."""
    h, w = shape[:2]
    full = cv2.resize(seed.astype(np.uint8) * 255, (w, h), interpolation=cv2.INTER_LINEAR)
    subject = _subject_from_mask(full > 127)
    touches = subject.touches_edge or _subject_from_mask(seed).touches_edge
    return SubjectMask(subject.box, subject.mask, subject.coverage, touches)


def _subject_from_mask(mask: np.ndarray) -> SubjectMask:
    h, w = mask.shape
    x, y, bw, bh = cv2.boundingRect(np.ascontiguousarray(mask).view(np.uint8))
    touches = x <= 1 or y <= 1 or x + bw >= w - 1 or y + bh >= h - 1
    return SubjectMask((x, y, bw, bh), mask, np.count_nonzero(mask) / mask.size, touches)
