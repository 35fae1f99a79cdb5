"""Find and follow the character through a window: with the camera's motion undone, motion against
a background mosaic and colour distinctiveness give candidate regions in every frame, and one
consistent track is chosen across all of them; GrabCut refines the few frames that get used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import cv2
import numpy as np

from troupe.characters.camera import align_frames, scale_of
from troupe.characters.frame_quality import resize_long_side

ANALYSIS_SIDE = 192
MAX_BACKGROUND_FRAMES = 8
# Samples of one background pixel agree within this delta-E (noise, compression, resampling).
AGREE_DELTA_E = 8.0
BORDER_FRACTION = 0.06
BORDER_CLUSTERS = 6
# Soft thresholds in CIE Lab delta-E: below FLOOR is noise, FLOOR + RANGE is certainly different.
MOTION_FLOOR, MOTION_RANGE = 10.0, 20.0
SALIENCY_FLOOR, SALIENCY_RANGE = 14.0, 22.0
# Motion is trusted only when it covers a plausible share of the frame (not noise, not a pan).
MIN_MOTION_FRACTION = 0.002
MAX_MOTION_FRACTION = 0.5
MAX_SALIENT_FRACTION = 0.6
MIN_SEED_PIXELS = 6
SPECK_PIXELS = 5
MAX_SUBJECT_FRACTION = 0.92
# Tracking: the regions kept per frame, what an empty frame is worth against a region of full
# strength (1.0), and the costs between neighbouring frames of a jump (per subject size moved),
# a change in size (per e-fold), a change of mean colour (per RECOLOUR_SCALE delta-E) and of
# losing or regaining the subject.
CANDIDATES = 4
EMPTY_REWARD = 0.1
JUMP_COST = 1.0
GROWTH_COST = 0.5
RECOLOUR_COST = 1.0
RECOLOUR_SCALE = 20.0
GAP_COST = 0.5
SPANNING_DISCOUNT = 0.3

# Saliency lookup resolution of 8-bit L, a, b: bins of about 3 L units and 8 a/b units.
TABLE_LEVELS = (32, 32, 32)
# Each 8-bit L, a, b value's share of its colour's index into the saliency table.
_TABLE_INDEX = np.stack(
    [
        (np.arange(256) * n // 256) * int(np.prod(TABLE_LEVELS[c + 1 :]))
        for c, n in enumerate(TABLE_LEVELS)
    ],
    axis=-1,
).astype(np.float32)[None]
# OpenCV's 8-bit Lab -> CIE units.
LAB_SCALE = np.array([100.0 / 255.0, 1.0, 1.0], np.float32)
LAB_OFFSET = np.array([0.0, 128.0, 128.0], np.float32)

# Residual optical flow, in analysis pixels, that counts as moving: for neighbours a quarter
# second away, a subject crossing the frame in a minute.
FLOW_THRESHOLD = 1.0
# A pixel moves with the subject when its flow is this close to the subject's, relative to speed.
FLOW_AGREEMENT = 0.5
# Grey levels per analysis pixel (smoothed gradient) below which flow is not trusted.
FLOW_TEXTURE = 3.0
MAX_FLOW_GROWTH = 2.5
GRABCUT_SIDE = 160
GRABCUT_ITERATIONS = 1
ROI_MARGIN = 0.3
_NAN = (float("nan"),) * 3


@dataclass(frozen=True)
class SubjectMask:
    """The subject in one frame: box (x, y, w, h) and bool mask in that frame's pixels."""

    box: tuple[int, int, int, int]
    mask: np.ndarray
    coverage: float
    touches_edge: bool


@dataclass(frozen=True)
class Sighting:
    """The tracked subject in one frame. `size_ratio` is its area over the area the track
    expects at that moment: below 1 when part of it is hidden, above when something merged into
    it. `speed` is how fast it crosses the frame, in frame widths per second."""

    subject: SubjectMask
    size_ratio: float
    speed: float


@dataclass(frozen=True)
class Track:
    """A sighting per frame (None where the subject is not seen) and each frame's camera: the
    3x3 map from its pixels at ANALYSIS_SIDE to the window's middle frame's."""

    sightings: list[Sighting | None]
    cameras: list[np.ndarray]


@dataclass(frozen=True)
class _Blob:
    """A candidate region (component `index` of `labels`, at analysis size): its summed cues as
    a share of the frame, its area and centre in reference-frame pixels, its centre as a
    fraction of the frame width, and its mean colour."""

    labels: np.ndarray
    index: int
    strength: float
    area: float
    centre: np.ndarray
    frame_centre: np.ndarray
    colour: np.ndarray  # mean CIE Lab

    @property
    def mask(self) -> np.ndarray:
        return self.labels == self.index


def track_subject(images: list[np.ndarray], times: list[float]) -> Track:
    """The subject in every frame of a window (None where it is not seen), as one track."""
    if not images:
        return Track([], [])
    small = [resize_long_side(im, ANALYSIS_SIDE) for im in images]
    lab8s = [cv2.cvtColor(s, cv2.COLOR_RGB2Lab) for s in small]
    labs = [lab8.astype(np.float32) * LAB_SCALE - LAB_OFFSET for lab8 in lab8s]
    greys = [cv2.cvtColor(s, cv2.COLOR_RGB2GRAY) for s in small]
    maps = align_frames(greys)
    mosaic, offset = _mosaic(labs, maps)
    shape = labs[0].shape[:2]
    backgrounds = [_view(mosaic, offset @ m, shape) for m in maps]
    table = _saliency_table(
        _border_colours([backgrounds[0], backgrounds[len(maps) // 2], backgrounds[-1]])
    )
    mosaic_saliency = _saliency(_to_lab8(mosaic), table)
    mosaic_saliency[np.isnan(mosaic[..., 0])] = np.nan
    candidates = []
    for lab, lab8, background, matrix in zip(labs, lab8s, backgrounds, maps, strict=True):
        motion = _ramp(_delta_e(lab, background), MOTION_FLOOR, MOTION_RANGE)
        saliency = _saliency(lab8, table)
        # Where a slow subject lingered, the background kept it: leaving that spot is not motion.
        ghost = (_view(mosaic_saliency, offset @ matrix, shape) > 0.5) & (saliency < 0.5)
        motion[ghost | np.isnan(motion)] = 0.0
        candidates.append(_blobs(motion, saliency, lab, matrix))
    track = _follow(candidates)
    ratios = _size_ratios(track, times)
    speeds = _speeds(track, times)
    sightings = [
        None if blob is None else Sighting(_to_subject(blob.mask, image.shape[:2]), c, v)
        for blob, image, c, v in zip(track, images, ratios, speeds, strict=True)
    ]
    return Track(sightings, maps)


def refine_subject(
    image: np.ndarray, coarse: SubjectMask, neighbours: list[tuple[np.ndarray, np.ndarray]]
) -> SubjectMask:
    """The coarse mask completed by what moves with it (flow against `neighbours`: frames a
    moment before and after, each with the camera map from this frame's analysis pixels to its
    own), then GrabCut around it at reduced scale; the seed is kept if GrabCut drifts."""
    seed = _with_moving_parts(image, coarse.mask, neighbours) if neighbours else coarse.mask
    h, w = image.shape[:2]
    x0, y0, x1, y1 = _expand(_subject_from_mask(seed).box, ROI_MARGIN, w, h)
    small = resize_long_side(image[y0:y1, x0:x1], GRABCUT_SIDE)
    size = (small.shape[1], small.shape[0])
    crop = seed[y0:y1, x0:x1].astype(np.uint8)
    small_seed = cv2.resize(crop, size, interpolation=cv2.INTER_NEAREST) > 0
    labels = _grabcut_labels(small_seed, (x0 > 0, y0 > 0, x1 < w, y1 < h))
    if not ((labels == cv2.GC_BGD) | (labels == cv2.GC_PR_BGD)).any() or not small_seed.any():
        return coarse
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    # The rect is ignored when initialising from the mask.
    cv2.grabCut(small, labels, (0, 0, 0, 0), bgd, fgd, GRABCUT_ITERATIONS, cv2.GC_INIT_WITH_MASK)
    fg = ((labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)).astype(np.uint8) * 255
    # Mixed colours along a background edge can join the subject as a one-pixel trail.
    fg = cv2.morphologyEx(fg, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    fg = cv2.resize(fg, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    full = np.zeros((h, w), bool)
    full[y0:y1, x0:x1] = _largest_component(_fill_holes(fg > 127))
    area, seed_area = int(full.sum()), int(seed.sum())
    # GrabCut can swallow a similar-coloured background or shrink to a detail: trust the seed then.
    if not 0.4 * seed_area <= area <= 2.5 * seed_area:
        return _subject_from_mask(seed)
    return _subject_from_mask(full)


def _with_moving_parts(
    image: np.ndarray, mask: np.ndarray, neighbours: list[tuple[np.ndarray, np.ndarray]]
) -> np.ndarray:
    """The mask plus the regions that move along with it, by dense optical flow to each
    neighbour. Background subtraction misses the part of a big, slow subject whose background
    the window never shows; flow sees all of it move. Only textured pixels that move like the
    subject's median motion, and unlike the camera, toward every neighbour count, and only where
    they touch the mask: flow on a bland surface is smeared in from its surroundings."""
    grey = _analysis_grey(image)
    h, w = grey.shape
    inside = cv2.resize(mask.astype(np.uint8), (w, h), interpolation=cv2.INTER_AREA) > 0
    if not inside.any():
        return mask
    grid = np.dstack([*np.meshgrid(np.arange(w), np.arange(h)), np.ones((h, w))]).astype(np.float32)
    flow = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
    flow.setFinestScale(0)
    flow.setPatchStride(4)
    along = np.ones((h, w), bool)
    for other, matrix in neighbours:
        # Where the camera alone carries this frame's pixels: that motion is not the subject's.
        camera = grid @ matrix[:2].T.astype(np.float32)
        found = flow.calc(grey, _analysis_grey(other), np.zeros((h, w, 2), np.float32))
        own = found - (camera - grid[..., :2])
        subject = np.median(own[inside], axis=0)
        speed = float(np.hypot(*subject))
        if speed < FLOW_THRESHOLD:
            return mask
        off = own - subject
        along &= np.hypot(off[..., 0], off[..., 1]) < FLOW_AGREEMENT * speed
    # Sobel's 3x3 kernel weighs 8: divided out, grey levels per pixel.
    edges = cv2.magnitude(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))
    along &= cv2.GaussianBlur(edges, (0, 0), 1.5) > 8.0 * FLOW_TEXTURE
    count, labels = cv2.connectedComponents(along.astype(np.uint8))
    touching = np.zeros(count, bool)
    touching[labels[inside]] = True
    touching[0] = False
    extra = touching[labels].astype(np.uint8) * 255
    full = cv2.resize(extra, (mask.shape[1], mask.shape[0]), interpolation=cv2.INTER_LINEAR)
    completed = _fill_holes(mask | (full > 127))
    # Doubling the subject is not completing it: the flow found something else.
    return completed if completed.sum() <= MAX_FLOW_GROWTH * mask.sum() else mask


def _analysis_grey(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(resize_long_side(image, ANALYSIS_SIDE), cv2.COLOR_RGB2GRAY)


def _mosaic(labs: list[np.ndarray], maps: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The background: aligned frames on a canvas that holds all of them, each pixel the colour
    most frames agree on (NaN where no frame saw), so a moving subject is voted out; and the map
    from reference pixels to canvas pixels."""
    h, w = labs[0].shape[:2]
    corners = np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1]], np.float64)
    seen = np.concatenate([corners @ m.T for m in maps])[:, :2]
    # A runaway alignment must not make a huge canvas: three frames wide at most.
    low = np.floor(np.maximum(seen.min(axis=0), (-w, -h)))
    high = np.ceil(np.minimum(seen.max(axis=0), (2 * w, 2 * h)))
    offset = np.array([[1.0, 0.0, -low[0]], [0.0, 1.0, -low[1]], [0.0, 0.0, 1.0]])
    size = (int(high[0] - low[0]), int(high[1] - low[1]))
    picks = np.linspace(0, len(labs) - 1, min(len(labs), MAX_BACKGROUND_FRAMES)).round()
    aligned = [_warp(labs[i], offset @ maps[i], size) for i in picks.astype(int)]
    return _recurring(np.stack(aligned)), offset


def _warp(image: np.ndarray, matrix: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Image resampled by a 3x3 affine map into a canvas of `size`; NaN outside the image."""
    return cv2.warpAffine(image, matrix[:2], size, flags=cv2.INTER_LINEAR, borderValue=_NAN)


def _view(canvas: np.ndarray, frame_to_canvas: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The part of a canvas one frame sees, in that frame's pixels; NaN where it is unknown."""
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    size = (shape[1], shape[0])
    return cv2.warpAffine(canvas, frame_to_canvas[:2], size, flags=flags, borderValue=_NAN)


def _recurring(stack: np.ndarray) -> np.ndarray:
    """Per pixel, the colour that recurs most among the samples: the mean of the largest group
    agreeing within AGREE_DELTA_E of one sample; NaN where no sample saw the pixel. Unlike a
    median this still finds the background behind a big, slow, textured subject covering a pixel
    most of the time: there the subject shows a different part of itself each time."""
    k = len(stack)
    limit = AGREE_DELTA_E**2
    agree = np.zeros((k, k, *stack.shape[1:3]), bool)
    for a in range(k - 1):
        d = stack[a + 1 :] - stack[a]
        agree[a, a + 1 :] = agree[a + 1 :, a] = np.einsum("nijk,nijk->nij", d, d) < limit
    agree[np.arange(k), np.arange(k)] = ~np.isnan(stack[..., 0])
    winner = agree.sum(axis=1).argmax(axis=0)
    members = np.take_along_axis(agree, winner[None, None], axis=0)[0]
    total = np.where(members[..., None], np.nan_to_num(stack), 0.0).sum(axis=0)
    with np.errstate(invalid="ignore"):
        return (total / members.sum(axis=0)[..., None]).astype(np.float32)


def _border_colours(backgrounds: list[np.ndarray]) -> list[np.ndarray]:
    """K-means colour centres of each border strip (top, bottom, left, right) over a few frames'
    backgrounds: what surrounds the subject, wherever the camera looked."""
    h, w = backgrounds[0].shape[:2]
    b = max(2, round(BORDER_FRACTION * min(h, w)))
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
    cv2.setRNGSeed(7)
    centres: list[np.ndarray] = []
    for side in (np.s_[:b], np.s_[-b:], np.s_[:, :b], np.s_[:, -b:]):
        pixels = np.concatenate([bg[side].reshape(-1, 3) for bg in backgrounds])
        pixels = np.ascontiguousarray(pixels[~np.isnan(pixels).any(axis=1)], dtype=np.float32)
        if len(pixels) < BORDER_CLUSTERS:  # nothing seen there: only the other sides count
            centres.append(np.full((BORDER_CLUSTERS, 3), 1e4, np.float32))
            continue
        labels = np.zeros((len(pixels), 1), np.int32)
        _, _, c = cv2.kmeans(pixels, BORDER_CLUSTERS, labels, criteria, 1, cv2.KMEANS_PP_CENTERS)
        centres.append(np.asarray(c))
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


def _saliency_table(sides: list[np.ndarray]) -> np.ndarray:
    """Saliency of every quantised 8-bit Lab colour, so each frame needs a lookup instead of its
    distance to every border colour."""
    centres = [(np.arange(n, dtype=np.float32) + 0.5) * (256 / n) for n in TABLE_LEVELS]
    grid = np.stack(np.meshgrid(*centres, indexing="ij"), axis=-1).reshape(-1, 1, 3)
    distance = _border_distance(grid * LAB_SCALE - LAB_OFFSET, sides)
    return _ramp(distance, SALIENCY_FLOOR, SALIENCY_RANGE).ravel()


def _saliency(lab8: np.ndarray, table: np.ndarray) -> np.ndarray:
    """How distinct each pixel's colour is from the border's, 0..1, from 8-bit Lab."""
    index = cv2.transform(cv2.LUT(lab8, _TABLE_INDEX), np.ones((1, 3), np.float32))
    return table[index.astype(np.int32)]


def _to_lab8(lab: np.ndarray) -> np.ndarray:
    """Float CIE Lab back to OpenCV's 8-bit encoding (NaN becomes 0)."""
    return np.clip(np.nan_to_num((lab + LAB_OFFSET) / LAB_SCALE), 0, 255).astype(np.uint8)


def _delta_e(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = a - b
    # A light blur suppresses per-pixel noise and compression speckle.
    return cv2.GaussianBlur(np.sqrt(np.einsum("ijk,ijk->ij", d, d)), (3, 3), 0)


def _ramp(values: np.ndarray, floor: float, span: float) -> np.ndarray:
    return np.clip((values - floor) / span, 0.0, 1.0)


def _blobs(
    motion: np.ndarray, saliency: np.ndarray, lab: np.ndarray, matrix: np.ndarray
) -> list[_Blob]:
    """The strongest candidate regions of one frame."""
    channels = cv2.split(lab)  # contiguous planes: no copy per bincount
    found = [
        blob
        for seed, weight in _seeds(motion, saliency)
        for blob in _regions(seed, weight, channels, matrix)
    ]
    return sorted(found, key=lambda blob: -blob.strength)[:CANDIDATES]


def _regions(
    seed: np.ndarray, weight: np.ndarray, lab: Sequence[np.ndarray], matrix: np.ndarray
) -> list[_Blob]:
    """The components of a seed map, strength being their summed weight as a share of the
    frame."""
    count, labels, stats, centroids = cv2.connectedComponentsWithStats(seed, connectivity=8)
    flat = labels.ravel()
    strength = np.bincount(flat, weights=weight.ravel(), minlength=count) / seed.size
    areas = stats[:, cv2.CC_STAT_AREA]
    sums = [np.bincount(flat, weights=channel.ravel(), minlength=count) for channel in lab]
    colours = np.stack(sums, axis=-1) / np.maximum(areas, 1)[:, None]
    h, w = seed.shape
    x, y, bw, bh = (stats[:, k] for k in range(4))
    # Reaching across the whole frame is what poles, walls and occluders do, not characters.
    spans = ((x == 0) & (x + bw == w)) | ((y == 0) & (y + bh == h))
    strength[spans] *= SPANNING_DISCOUNT
    magnify = scale_of(matrix) ** 2
    return [
        _Blob(
            labels=labels,
            index=i,
            strength=float(strength[i]),
            area=float(areas[i]) * magnify,
            centre=(matrix @ [*centroids[i], 1.0])[:2],
            frame_centre=centroids[i] / w,
            colour=colours[i],
        )
        for i in range(1, count)
        if MIN_SEED_PIXELS <= areas[i] <= MAX_SUBJECT_FRACTION * seed.size
    ]


def _seeds(motion: np.ndarray, saliency: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Candidate pixel maps and their weights. Where motion is usable: what moves, completed by
    the distinct regions it touches (the parts that did not move), and apart from it the distinct
    regions that stay still, in case the subject is not what moves. Otherwise the distinct
    regions alone."""
    # Opening clears the thin lines that a slightly misaligned strong edge leaves in the motion.
    kernel = np.ones((3, 3), np.uint8)
    moving = cv2.morphologyEx((motion > 0.5).astype(np.uint8), cv2.MORPH_OPEN, kernel) > 0
    count, labels, stats, _ = cv2.connectedComponentsWithStats((saliency > 0.5).astype(np.uint8))
    areas = stats[:, cv2.CC_STAT_AREA]
    # Dropping specks rather than opening keeps thin outlines, which may be all that shows of a
    # nearly still subject against a busy background.
    salient = areas >= SPECK_PIXELS
    salient[0] = False
    if not MIN_MOTION_FRACTION <= moving.mean() <= MAX_MOTION_FRACTION:
        return [(_closed(salient[labels]), saliency)]
    touched = np.zeros(count, bool)
    touched[labels[moving]] = True
    # A salient region that covers most of the frame is background the motion passes over.
    completing = salient & touched & (areas <= MAX_SALIENT_FRACTION * saliency.size)
    return [
        (_closed(moving | completing[labels]), motion + saliency),
        (_closed((salient & ~touched)[labels]), saliency),
    ]


def _closed(seed: np.ndarray) -> np.ndarray:
    """Gaps bridged and holes filled, as uint8."""
    seed = cv2.morphologyEx(seed.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((7, 7), np.uint8))
    return _fill_holes(seed > 0).astype(np.uint8)


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


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    """Close interior holes (eyes, logos) by flooding the background from outside the frame."""
    padded = np.pad(mask.astype(np.uint8), 1)
    flood = padded.copy()
    cv2.floodFill(flood, None, (0, 0), 1)
    return (padded | (1 - flood)).astype(bool)[1:-1, 1:-1]


def _largest_component(mask: np.ndarray) -> np.ndarray:
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8))
    if count <= 2:
        return mask
    return labels == 1 + int(stats[1:, cv2.CC_STAT_AREA].argmax())


def _to_subject(seed: np.ndarray, shape: tuple[int, ...]) -> SubjectMask:
    """Upsampled bilinearly and cut at half: smooth outlines instead of analysis-size blocks."""
    h, w = shape[:2]
    full = cv2.resize(seed.astype(np.uint8) * 255, (w, h), interpolation=cv2.INTER_LINEAR)
    return _subject_from_mask(full > 127)


def _subject_from_mask(mask: np.ndarray) -> SubjectMask:
    h, w = mask.shape
    x, y, bw, bh = cv2.boundingRect(np.ascontiguousarray(mask).view(np.uint8))
    touches = x <= 1 or y <= 1 or x + bw >= w - 1 or y + bh >= h - 1
    return SubjectMask((x, y, bw, bh), mask, np.count_nonzero(mask) / mask.size, touches)


def _expand(
    box: tuple[int, int, int, int], margin: float, w: int, h: int
) -> tuple[int, int, int, int]:
    x, y, bw, bh = box
    mx, my = round(bw * margin) + 4, round(bh * margin) + 4
    return max(0, x - mx), max(0, y - my), min(w, x + bw + mx), min(h, y + bh + my)


def _grabcut_labels(seed: np.ndarray, inner_edges: tuple[bool, bool, bool, bool]) -> np.ndarray:
    """Seed -> probably foreground, its eroded core -> foreground, a band around it -> probably
    background, beyond that and ROI borders inside the frame -> background. Only the band is
    left for GrabCut to decide: better outlines than the coarse mask, and a much smaller cut."""
    labels = np.full(seed.shape, cv2.GC_BGD, np.uint8)
    side = max(3, (min(seed.shape) // 12) | 1)
    kernel = np.ones((side, side), np.uint8)
    labels[cv2.dilate(seed.astype(np.uint8), kernel, iterations=1) > 0] = cv2.GC_PR_BGD
    labels[seed] = cv2.GC_PR_FGD
    labels[cv2.erode(seed.astype(np.uint8), kernel) > 0] = cv2.GC_FGD
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
