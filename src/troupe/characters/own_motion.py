"""A character's own motion: every frame of its window (at STRIP_FPS) cut out, so a back end can
play the way it really moved. The model looks at a few frames only; optical flow between
neighbouring frames carries the nearest of their mattes to each of the others. And its profile
picture from a frame larger than the analysis's."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np

from troupe.characters.extract import REFERENCE_MARGIN, Extraction
from troupe.characters.pictures import (
    margin_box,
    matte_on,
    profile_jpeg,
    reference_pngs,
    rgba_cut_out,
)
from troupe.media.frames import Frame
from troupe.media.strip import StripFrame

STRIP_FPS = 12.0
CUT_OUT_THREADS = 2
# Flow is computed at this long side: neighbouring frames move little, and it runs per frame.
FLOW_SIDE = 320
# Opacity (of 255) below which a pixel is not the subject's, for its crop and feet.
TRACE = 8
# Around each crop, as a share of the subject's long side, and 2 px more.
MARGIN = 0.04
# Mean grey difference (of 255) between the subject as carried and as the key frame showed it,
# beyond which the flow has lost it.
LOST_DIFFERENCE = 24.0
# A carried matte smaller than this share of its key's area lost the subject (it left, or the
# flow failed): that frame is left out of the strip.
LOST_AREA = 0.3
# Frames decoded in two passes carry the same timestamps: one frame's, within float rounding.
SAME_FRAME = 1e-4


def cut_out_strip(
    frames: list[Frame],
    mattes: list[tuple[Frame, np.ndarray]],
    doubtful: Sequence[float] = (),
) -> list[StripFrame]:
    """Each frame's cut-out, its matte carried from the key (a frame the model looked at and
    the float matte in it, at that frame's size) nearest in time: by the flow from the key's
    frame to the nearest of these frames, then along the flows between neighbouring ones.
    Frames nearer a `doubtful` time (one the model looked at and could not trust its mask)
    than to any key are left out, and no matte is carried past them."""
    if not frames or not mattes:
        return []
    frames = sorted(frames, key=lambda f: f.time)
    carried = _carried_mattes(frames, mattes, doubtful)
    found = [(frame, entry) for frame, entry in zip(frames, carried, strict=True) if entry]

    def cut_out(item: tuple[Frame, tuple[np.ndarray, float]]) -> StripFrame | None:
        frame, (matte, key_area) = item
        return _cut_out(frame, matte, key_area)

    # two frames at a time: OpenCV releases the GIL, and the screening's core is free by now
    with ThreadPoolExecutor(max_workers=CUT_OUT_THREADS) as pool:
        return [cut for cut in pool.map(cut_out, found) if cut is not None]


def _carried_mattes(
    frames: list[Frame], mattes: list[tuple[Frame, np.ndarray]], doubtful: Sequence[float] = ()
) -> list[tuple[np.ndarray, float] | None]:
    """Every frame's matte and the opaque area of the key it came from; None where the flow
    could not follow the subject there (it left the frame, or something hid it), or where the
    frame is nearer a doubtful time than to a key: a passer-by's legs over a parked bicycle,
    which the model's mask took in there, the flow would otherwise carry in as the subject's."""
    times = np.array([f.time for f in frames])
    keys = {int(np.argmin(np.abs(times - key.time))): (key, matte) for key, matte in mattes}
    owner = [min(keys, key=lambda k: (abs(times[k] - times[i]), k)) for i in range(len(frames))]
    doubted = [
        any(abs(t - d) < abs(t - times[owner[i]]) for d in doubtful) for i, t in enumerate(times)
    ]
    greys = [_flow_grey(f.image) for f in frames]
    flow = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
    out: list[tuple[np.ndarray, float] | None] = [None] * len(frames)
    for nearest, (key, matte) in keys.items():
        area = float(np.count_nonzero(matte > TRACE / 255))
        key_grey = _flow_grey(key.image)
        # The key's own frame may be a moment off the nearest of these (decoded on another grid)
        start = _moved_back(flow, greys[nearest], key_grey, _identity(matte.shape))
        out[nearest] = (cv2.remap(matte, *start, cv2.INTER_LINEAR, borderValue=0.0), area)
        for step in (1, -1):
            i, where = nearest + step, start
            while 0 <= i < len(frames) and owner[i] == nearest and not doubted[i]:
                # Where each pixel of frame i was in the key frame: the flow to its neighbour
                # nearer the key, then where that neighbour's pixel was. One resampling of the
                # key's matte at the end, not one per step, keeps its edges sharp.
                where = _moved_back(flow, greys[i], greys[i - step], where)
                carried = cv2.remap(matte, *where, cv2.INTER_LINEAR, borderValue=0.0)
                if _lost(greys[i], key_grey, where, carried):
                    break
                out[i] = (carried, area)
                i += step
    return out


def _identity(shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    h, w = shape[:2]
    grid_x, grid_y = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return grid_x, grid_y


def _flow_grey(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    scale = min(1.0, FLOW_SIDE / max(h, w))
    small = cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)


def _moved_back(
    flow: cv2.DISOpticalFlow,
    grey: np.ndarray,
    neighbour: np.ndarray,
    where: tuple[np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """`where` (the neighbour's pixels' places in the key frame) seen from this frame."""
    back = flow.calc(grey, neighbour, np.zeros((*grey.shape, 2), np.float32))
    h, w = where[0].shape
    back = cv2.resize(back, (w, h), interpolation=cv2.INTER_LINEAR) * np.float32(w / grey.shape[1])
    x, y = _identity((h, w))
    x += back[..., 0]
    y += back[..., 1]
    border = cv2.BORDER_REPLICATE
    return (
        cv2.remap(where[0], x, y, cv2.INTER_LINEAR, borderMode=border),
        cv2.remap(where[1], x, y, cv2.INTER_LINEAR, borderMode=border),
    )


def _lost(
    grey: np.ndarray,
    key_grey: np.ndarray,
    where: tuple[np.ndarray, np.ndarray],
    carried: np.ndarray,
) -> bool:
    """Whether the subject under the carried matte no longer looks like it did in the key
    frame: the flow followed something else, or nothing."""
    h, w = grey.shape
    scale = np.float32(w / where[0].shape[1])
    small = [cv2.resize(c, (w, h), interpolation=cv2.INTER_AREA) * scale for c in where]
    seen = cv2.remap(key_grey, small[0], small[1], cv2.INTER_LINEAR)
    weight = cv2.resize(carried, (w, h), interpolation=cv2.INTER_AREA)
    if float(weight.sum()) < 1.0:
        return True
    difference = np.abs(seen.astype(np.float32) - grey.astype(np.float32))
    return float((difference * weight).sum() / weight.sum()) > LOST_DIFFERENCE


def _cut_out(frame: Frame, matte: np.ndarray, key_area: float) -> StripFrame | None:
    """The frame's subject cut out along its matte (both at the analysis size)."""
    seen = matte >= TRACE / 255
    if np.count_nonzero(seen) < LOST_AREA * key_area:
        return None
    x, y, w, h = cv2.boundingRect(seen.view(np.uint8))
    x0, y0, x1, y1 = margin_box(matte.shape, (x, y, w, h), MARGIN)
    opacity = (np.clip(matte[y0:y1, x0:x1], 0.0, 1.0) * 255.0).round().astype(np.uint8)
    opacity[opacity < TRACE] = 0
    colour = frame.image[y0:y1, x0:x1].copy()
    colour[opacity == 0] = 0
    ys, xs = np.nonzero(opacity)
    weights = opacity[ys, xs].astype(np.float64)
    feet = (float(np.average(xs, weights=weights)), float(ys.max() + 1))
    return StripFrame(frame.time, np.dstack([colour, opacity]), feet)


def profile_at_source_size(frames: list[Frame], extraction: Extraction, source_width: int) -> bytes:
    """The profile picture from the frame (at its own size, larger than the analysis's) nearest
    the one the extraction chose; the extraction's own where none is near."""
    best = _nearest(frames, extraction.report.best_frame_time)
    if best is None:
        return extraction.profile_jpeg
    scale = best.width / source_width
    x, y, w, h = (round(v * scale) for v in extraction.report.subject_box)
    return profile_jpeg(best.image, (x, y, max(1, w), max(1, h)))


def references_at_source_size(frames: list[Frame], extraction: Extraction) -> list[bytes]:
    """The reference PNGs cut again from the frames as decoded (larger than the analysis's), so
    that a character filling a third of a 720p frame is drawn from as many pixels as it had
    there; each from the very frame its matte was made on, or the extraction's own where that
    frame is not among `frames` or is no larger."""
    mattes = {frame.time: matte for frame, matte in extraction.mattes}
    pngs: list[bytes] = []
    for index, (time, box) in enumerate(extraction.reference_boxes):
        source = next((frame for frame in frames if abs(frame.time - time) < SAME_FRAME), None)
        matte = mattes.get(time)
        if source is None or matte is None or source.width <= matte.shape[1]:
            pngs.extend(extraction.references_png[2 * index : 2 * index + 2])
            continue
        scale = source.width / matte.shape[1]
        x, y, w, h = (round(v * scale) for v in box)
        x0, y0, x1, y1 = margin_box(source.image.shape, (x, y, w, h), REFERENCE_MARGIN)
        crop = source.image[y0:y1, x0:x1]
        scaled = cv2.resize(matte, (source.width, source.height), interpolation=cv2.INTER_LINEAR)
        alpha = matte_on(crop, scaled[y0:y1, x0:x1], max(source.image.shape[:2]))
        pngs.extend(reference_pngs(rgba_cut_out(crop, alpha, (0, 0, x1 - x0, y1 - y0), 0.0)))
    return pngs


def _nearest(frames: list[Frame], time: float) -> Frame | None:
    """The frame seen nearest `time`, if within half a strip frame."""
    near = min(frames, key=lambda frame: abs(frame.time - time), default=None)
    return near if near is not None and abs(near.time - time) <= 0.5 / STRIP_FPS else None
