"""Turn a short window of decoded frames into a character: profile picture, cut-out references,
an appearance fingerprint and a quality report; or a TroupeError saying why the window is unusable.
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass
from typing import cast

import cv2
import numpy as np

from troupe.characters.frame_quality import (
    Exposure,
    exposure,
    resize_long_side,
    shake,
    sharpness,
)
from troupe.characters.subject import (
    LAB_OFFSET,
    LAB_SCALE,
    SubjectMask,
    locate_subjects,
    refine_subject,
)
from troupe.errors import TroupeError
from troupe.media.frames import Frame

WORK_SIDE = 640
MAX_ANALYSED_FRAMES = 36
MIN_SHARPNESS = 0.05
SOFT_SHARPNESS = 0.25
MIN_COVERAGE = 0.005
SMALL_COVERAGE = 0.03
LARGE_COVERAGE = 0.8
DIM_MEAN = 60.0
BRIGHT_CLIPPED = 0.3
HD_SHORT_SIDE = 720
# Camera motion per frame (fraction of width) at which a frame's score halves.
SHAKE_SCALE = 0.02
# Reference candidates must score at least this share of the best frame.
REFERENCE_SCORE_SHARE = 0.5
REFERENCE_COUNT = 3
PROFILE_SIDE = 512
PROFILE_MARGIN = 1.4
REFERENCE_MARGIN = 0.08
JPEG_QUALITY = 90
# zlib level 1: a third faster than the default at ~10% more bytes.
PNG_COMPRESSION = 1
THUMB_SIDE = 32
LAB_BINS = (4, 12, 12)


@dataclass(frozen=True)
class QualityReport:
    """What the window looked like, for the client and for later consistency checks."""

    resolution: str
    sharpness: float
    subject_coverage: float
    best_frame_time: float
    subject_box: list[int]
    warnings: list[str]

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class Extraction:
    """Encoded artefacts of a character: references are [white0, alpha0, white1, alpha1, ...]."""

    profile_jpeg: bytes
    references_png: list[bytes]
    fingerprint: bytes
    report: QualityReport


@dataclass(frozen=True)
class _Scored:
    """One analysed frame: `image` is the working-resolution copy the subject mask refers to."""

    frame: Frame
    image: np.ndarray
    exposure: Exposure
    sharpness: float
    subject: SubjectMask | None
    score: float


def extract_character(frames: list[Frame], source_width: int, source_height: int) -> Extraction:
    """Pick the best and most varied frames of the window and cut the subject out of them."""
    if not frames:
        raise TroupeError("low_quality_segment", "no frames could be decoded", param="timestamps")
    frames = sorted(frames, key=lambda f: f.time)
    scored = _score_frames(_evenly(frames, MAX_ANALYSED_FRAMES))
    best = _best_or_raise(scored, _window_text(frames))
    chosen = _diverse(scored, best)
    # Every chosen frame scored above zero, so each has a subject.
    refined = [refine_subject(s.image, cast(SubjectMask, s.subject)) for s in chosen]
    report = _report(chosen[0], refined[0], source_width, source_height)
    return Extraction(
        profile_jpeg=_profile_jpeg(chosen[0], refined[0]),
        references_png=[
            png for s, m in zip(chosen, refined, strict=True) for png in _reference_pngs(s, m)
        ],
        fingerprint=_fingerprint(chosen, refined),
        report=report,
    )


def suggest_window(
    frames: list[Frame], duration: float, min_len: float = 1.0, max_len: float = 3.0
) -> tuple[float, float]:
    """Best [start, end] window of a whole video, judged on sparse frames (~4 fps)."""
    if duration <= min_len or not frames:
        return 0.0, max(0.0, min(duration, max_len))
    scored = _score_frames(sorted(frames, key=lambda f: f.time))
    # Quality alone only breaks ties: with no subject anywhere, still prefer a clean stretch.
    goodness = [s.score + 0.05 * s.sharpness * s.exposure.score for s in scored]
    times = [s.frame.time for s in scored]
    best_value, best_window = -1.0, (0.0, min(duration, max_len))
    for length in _lengths(min_len, min(max_len, duration)):
        for start in sorted({*(min(t, duration - length) for t in times), 0.0}):
            inside = [
                g for g, t in zip(goodness, times, strict=True) if start <= t < start + length
            ]
            if not inside:
                continue
            # A longer window is worth a little: more motion and angles for the character.
            value = float(np.mean(inside)) * (1.0 - 0.04 * (max_len - length))
            if value > best_value:
                best_value, best_window = value, (start, start + length)
    return round(best_window[0], 3), round(best_window[1], 3)


def _lengths(min_len: float, max_len: float) -> list[float]:
    lengths = [max_len]
    while lengths[-1] - 0.5 >= min_len:
        lengths.append(lengths[-1] - 0.5)
    return lengths


def _evenly(frames: list[Frame], count: int) -> list[Frame]:
    if len(frames) <= count:
        return frames
    picks = np.linspace(0, len(frames) - 1, count).round().astype(int)
    return [frames[i] for i in picks]


def _window_text(frames: list[Frame]) -> str:
    return f"between {frames[0].time:.1f}s and {frames[-1].time:.1f}s"


def _score_frames(frames: list[Frame]) -> list[_Scored]:
    images = [resize_long_side(f.image, WORK_SIDE) for f in frames]
    subjects = locate_subjects(images)
    shakes = shake(images)
    scored = []
    for frame, image, subject, motion in zip(frames, images, subjects, shakes, strict=True):
        exp = exposure(image)
        # Judge focus on the subject: a sharp toy in front of a soft background is a good frame.
        sharp = sharpness(image, subject.box if subject else None)
        score = _frame_score(exp, sharp, subject, motion)
        scored.append(_Scored(frame, image, exp, sharp, subject, score))
    return scored


def _frame_score(exp: Exposure, sharp: float, subject: SubjectMask | None, motion: float) -> float:
    if subject is None or exp.problem or sharp < MIN_SHARPNESS or subject.coverage < MIN_COVERAGE:
        return 0.0
    edge = 0.5 if subject.touches_edge else 1.0
    steadiness = 1.0 / (1.0 + motion / SHAKE_SCALE)
    return sharp * exp.score * _size_term(subject.coverage) * edge * steadiness


def _size_term(coverage: float) -> float:
    """Favour a subject big enough to show detail yet with room around it."""
    grow = min(1.0, 0.2 + coverage / 0.08)
    crowd = 1.0 if coverage <= 0.6 else max(0.3, 1.0 - (coverage - 0.6) * 2.0)
    return grow * crowd


def _best_or_raise(scored: list[_Scored], window: str) -> _Scored:
    """The best frame, or the reason no frame will do, checked from the most basic cause."""
    exposed = [s for s in scored if s.exposure.problem is None]
    if not exposed:
        raise _exposure_error(scored, window)
    sharp = [s for s in exposed if s.sharpness >= MIN_SHARPNESS]
    if not sharp:
        best = max(s.sharpness for s in exposed)
        message = f"too blurred: sharpest frame scores {best:.2f} (needs {MIN_SHARPNESS:.2f})"
        raise TroupeError("low_quality_segment", f"{message} {window}", param="timestamps")
    coverages = [s.subject.coverage for s in sharp if s.subject is not None]
    if not coverages:
        message = f"no moving or distinct subject found {window}"
        raise TroupeError("no_subject_found", message, param="timestamps")
    if max(coverages) < MIN_COVERAGE:
        message = (
            f"subject too small: covers {max(coverages):.2%} of the frame "
            f"(needs {MIN_COVERAGE:.2%}) {window}"
        )
        raise TroupeError("no_subject_found", message, param="timestamps")
    return max(sharp, key=lambda s: s.score)


def _exposure_error(scored: list[_Scored], window: str) -> TroupeError:
    mean = float(np.median([s.exposure.mean for s in scored]))
    dark = sum(s.exposure.problem == "dark" for s in scored) * 2 >= len(scored)
    if dark:
        message = f"too dark: mean brightness {mean:.0f}/255 {window}"
    else:
        clipped = float(np.median([s.exposure.bright_fraction for s in scored]))
        message = (
            f"overexposed: mean brightness {mean:.0f}/255, "
            f"{clipped:.0%} of pixels clipped white {window}"
        )
    return TroupeError("low_quality_segment", message, param="timestamps")


def _diverse(scored: list[_Scored], best: _Scored) -> list[_Scored]:
    """Best frame first, then greedily the good frames least like those already chosen
    (far in time, different look), so references show more than one pose."""
    pool = [s for s in scored if s.score >= REFERENCE_SCORE_SHARE * best.score and s is not best]
    span = max(1e-3, scored[-1].frame.time - scored[0].frame.time)
    looks = {id(s): _look(s) for s in [best, *pool]}
    chosen = [best]

    def novelty(s: _Scored) -> float:
        """Distance to the nearest chosen frame: time apart (0..1) plus look apart (0..2)."""
        return min(
            abs(s.frame.time - c.frame.time) / span + 1.0 - float(looks[id(s)] @ looks[id(c)])
            for c in chosen
        )

    while pool and len(chosen) < REFERENCE_COUNT:
        pick = max(pool, key=lambda s: s.score / best.score * (0.25 + novelty(s)))
        chosen.append(pick)
        pool.remove(pick)
    return chosen


def _look(s: _Scored) -> np.ndarray:
    """Unit-norm grey thumbnail of the subject box: dot products compare appearance."""
    x, y, w, h = cast(SubjectMask, s.subject).box
    crop = cv2.cvtColor(s.image[y : y + h, x : x + w], cv2.COLOR_RGB2GRAY)
    thumb = cv2.resize(crop, (16, 16), interpolation=cv2.INTER_AREA).astype(np.float32).ravel()
    thumb -= thumb.mean()
    return thumb / max(float(np.linalg.norm(thumb)), 1e-6)


def _report(best: _Scored, subject: SubjectMask, source_w: int, source_h: int) -> QualityReport:
    sx, sy = source_w / best.image.shape[1], source_h / best.image.shape[0]
    x, y, w, h = subject.box
    box = [round(x * sx), round(y * sy), round(w * sx), round(h * sy)]
    sharp = sharpness(best.image, subject.box)
    return QualityReport(
        resolution=f"{source_w}x{source_h}",
        sharpness=round(sharp, 3),
        subject_coverage=round(subject.coverage, 4),
        best_frame_time=best.frame.time,
        subject_box=box,
        warnings=_warnings(best, subject, sharp, min(source_w, source_h)),
    )


def _warnings(best: _Scored, subject: SubjectMask, sharp: float, short_side: int) -> list[str]:
    checks = [
        (short_side < HD_SHORT_SIDE, "below 720p"),
        (subject.coverage < SMALL_COVERAGE, "subject small"),
        (subject.coverage > LARGE_COVERAGE, "subject fills the frame"),
        (subject.touches_edge, "subject touches the frame edge"),
        (best.exposure.mean < DIM_MEAN, "dark"),
        (best.exposure.bright_fraction > BRIGHT_CLIPPED, "overexposed"),
        (sharp < SOFT_SHARPNESS, "soft focus"),
    ]
    return [text for failed, text in checks if failed]


def _full_alpha(s: _Scored, subject: SubjectMask) -> np.ndarray:
    """Subject mask at the frame's own resolution as float alpha with a one-pixel soft edge."""
    h, w = s.frame.image.shape[:2]
    alpha = cv2.resize(subject.mask.astype(np.uint8) * 255, (w, h), interpolation=cv2.INTER_LINEAR)
    return cv2.GaussianBlur(alpha, (3, 3), 0).astype(np.float32) / 255.0


def _full_box(s: _Scored, subject: SubjectMask) -> tuple[int, int, int, int]:
    scale = s.frame.image.shape[1] / s.image.shape[1]
    x, y, w, h = subject.box
    return round(x * scale), round(y * scale), max(1, round(w * scale)), max(1, round(h * scale))


def _profile_jpeg(s: _Scored, subject: SubjectMask) -> bytes:
    crop = _square_crop(s.frame.image, _full_box(s, subject), PROFILE_MARGIN)
    shrinking = crop.shape[0] > PROFILE_SIDE
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
    square = cv2.resize(crop, (PROFILE_SIDE, PROFILE_SIDE), interpolation=interpolation)
    ok, data = cv2.imencode(
        ".jpg", cv2.cvtColor(square, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]
    )
    assert ok
    return data.tobytes()


def _square_crop(image: np.ndarray, box: tuple[int, int, int, int], margin: float) -> np.ndarray:
    """Square centred on the box; parts beyond the frame are filled by edge replication."""
    x, y, w, h = box
    side = max(16, round(max(w, h) * margin))
    x0, y0 = x + w // 2 - side // 2, y + h // 2 - side // 2
    x1, y1 = x0 + side, y0 + side
    fh, fw = image.shape[:2]
    crop = image[max(0, y0) : min(fh, y1), max(0, x0) : min(fw, x1)]
    pads = (max(0, -y0), max(0, y1 - fh), max(0, -x0), max(0, x1 - fw))
    return cv2.copyMakeBorder(crop, *pads, cv2.BORDER_REPLICATE)


def _reference_pngs(s: _Scored, subject: SubjectMask) -> list[bytes]:
    """The cut-out twice: composited on white (RGB) and with transparency (RGBA)."""
    image, alpha = s.frame.image, _full_alpha(s, subject)
    fh, fw = image.shape[:2]
    x, y, w, h = _full_box(s, subject)
    m = round(max(w, h) * REFERENCE_MARGIN) + 2
    x0, y0, x1, y1 = max(0, x - m), max(0, y - m), min(fw, x + w + m), min(fh, y + h + m)
    rgb, a = image[y0:y1, x0:x1].astype(np.float32), alpha[y0:y1, x0:x1, None]
    white = (rgb * a + 255.0 * (1.0 - a)).round().astype(np.uint8)
    rgba = np.dstack([image[y0:y1, x0:x1], (a[:, :, 0] * 255.0).round().astype(np.uint8)])
    return [
        _png(cv2.cvtColor(white, cv2.COLOR_RGB2BGR)),
        _png(cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA)),
    ]


def _png(bgr: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, PNG_COMPRESSION])
    assert ok
    return data.tobytes()


def _fingerprint(chosen: list[_Scored], subjects: list[SubjectMask]) -> bytes:
    """Cheap appearance summary for later consistency scoring, as np.savez bytes."""
    histogram = np.zeros(LAB_BINS, np.float32)
    pixels = []
    for s, subject in zip(chosen, subjects, strict=True):
        lab = cv2.cvtColor(s.image, cv2.COLOR_RGB2Lab)
        mask = subject.mask.astype(np.uint8)
        ranges = [0, 256, 0, 256, 0, 256]
        histogram += cv2.calcHist([lab], [0, 1, 2], mask, list(LAB_BINS), ranges)
        pixels.append(lab[subject.mask])
    lab_pixels = np.concatenate(pixels).astype(np.float32) * LAB_SCALE - LAB_OFFSET
    thumb, thumb_alpha = _thumbnail(chosen[0], subjects[0])
    _, _, w, h = subjects[0].box
    buffer = io.BytesIO()
    np.savez(
        buffer,
        version=np.int32(1),
        lab_hist=histogram / max(float(histogram.sum()), 1.0),
        lab_mean=lab_pixels.mean(axis=0),
        lab_std=lab_pixels.std(axis=0),
        thumbnail=thumb,
        thumbnail_alpha=thumb_alpha,
        aspect=np.float32(w / h),
    )
    return buffer.getvalue()


def _thumbnail(s: _Scored, subject: SubjectMask) -> tuple[np.ndarray, np.ndarray]:
    """Cut-out on white in a square, THUMB_SIDE wide, zero-mean and unit-norm so that a dot
    product of two thumbnails is their normalised cross-correlation."""
    rgba = np.dstack([s.image, subject.mask.astype(np.uint8) * 255])
    square = _square_crop(rgba, subject.box, 1.0).astype(np.float32)
    small = cv2.resize(square, (THUMB_SIDE, THUMB_SIDE), interpolation=cv2.INTER_AREA)
    alpha = small[:, :, 3:] / 255.0
    white = small[:, :, :3] * alpha + 255.0 * (1.0 - alpha)
    white -= white.mean()
    return white / max(float(np.linalg.norm(white)), 1e-6), alpha[:, :, 0]
