"""Turn a short window of decoded frames into a character: profile picture, cut-out references,
an appearance fingerprint and a quality report; or a TroupeError saying why the window is unusable.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from typing import cast

import cv2
import numpy as np

from troupe.characters.fingerprint import build_fingerprint
from troupe.characters.frame_quality import (
    Exposure,
    completeness_score,
    exposure,
    resize_long_side,
    sharpness,
    steadiness,
    subject_size_score,
)
from troupe.characters.pictures import (
    Box,
    margin_box,
    profile_jpeg,
    reference_pngs,
    rgba_cut_out,
    soft_alpha,
)
from troupe.characters.scenery import SceneryVerdict, judge_scenery
from troupe.characters.subject import Sighting, SubjectMask, Track, track_subject
from troupe.errors import TroupeError, format_apart
from troupe.media.frames import Frame, evenly_spaced

WORK_SIDE = 640
MAX_ANALYSED_FRAMES = 12
# Window search: pieces of a video judged together, and the most a frame without a subject scores.
SCAN_CHUNK = 3.0
QUALITY_TIE_BREAK = 0.01
MIN_SHARPNESS = 0.05
SOFT_SHARPNESS = 0.25
MIN_COVERAGE = 0.005
# Below this the segmentation model is not sure that one region, and nothing else, stands out:
# no subject, rather than scenery or one of several things cut out as a character.
MIN_CONFIDENCE = 0.5
# Below this the subject is kept with a warning: the model may have cut out the wrong thing
# (a background tree scored 0.54 on real footage; clear characters score 0.7 and more).
SURE_CONFIDENCE = 0.65
SMALL_COVERAGE = 0.03
LARGE_COVERAGE = 0.8
DIM_MEAN = 60.0
BRIGHT_CLIPPED = 0.3
HD_SHORT_SIDE = 720
# A subject below this share of the size its track expects is partly hidden: a warning for the
# best frame, a refusal when no usable frame shows more.
HIDDEN_RATIO = 0.8
# Above this share, something merged into it: that frame's mask holds more than the subject (the
# tree behind the demo's mascot took half as much again in one frame, with B-frames skipped), so
# it is never cut out.
MERGED_RATIO = 1 / HIDDEN_RATIO
# A frame's mask can also take in something beside the subject where the model's fringe joins
# it (trees behind the test mascot: half as much area again, in green and brown) while the
# tracked region, and so its size ratio, stays as it was. Such a mask is larger than
# MERGED_AREA times the median of the window's other confident masks and holds at least
# NOVEL_COLOUR of its pixels in colours those masks hardly hold (under NOVEL_FACTOR of its own
# share of them). A subject turning shows new colours at much its own size; one coming closer
# grows in the colours it had.
MERGED_AREA = 1.25
NOVEL_COLOUR = 0.15
NOVEL_FACTOR = 0.25
COLOUR_LEVELS = 4  # per RGB channel: bins coarse enough that shading stays in its own
# Reference candidates must score at least this share of the best frame.
REFERENCE_SCORE_SHARE = 0.5
MIN_REFERENCES = 3
# A reference beyond the third must differ at least this much (time apart + look apart).
EXTRA_NOVELTY = 0.4
CUT_OUT_THREADS = 2
REFERENCE_MARGIN = 0.08


@dataclass(frozen=True)
class QualityReport:
    """What the window looked like, for the client and for later consistency checks."""

    resolution: str
    sharpness: float
    subject_coverage: float
    best_frame_time: float
    subject_box: list[int]
    subject_confidence: float
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
    # Where the subject is in each analysed frame: (time, bool mask at the frame's analysis
    # size), for judging whether a person the screening saw is the character or beside it.
    subject_masks: list[tuple[float, np.ndarray]]
    # Each frame whose mask can be trusted (`_trusted_mask`), with the subject's soft matte there
    # (float 0..1 at the frame's size), in time order: what its own motion is cut out from.
    mattes: list[tuple[Frame, np.ndarray]]
    # The times of the frames the model looked at whose masks could not be trusted: what passed
    # in front of the subject or merged into it there must not be carried into its own motion.
    doubtful_times: list[float]
    # Each reference's frame time and subject box (in its analysis frame's pixels), in the order
    # of references_png: to cut them again from the frames as decoded, at the source's size.
    reference_boxes: list[tuple[float, Box]]


@dataclass(frozen=True)
class _Scored:
    """One analysed frame: `image` is the working-resolution copy the subject mask refers to."""

    frame: Frame
    image: np.ndarray
    exposure: Exposure
    sharpness: float
    sighting: Sighting | None
    score: float
    modelled: bool  # the segmentation model looked at this frame itself
    merged: bool = False  # its mask took in something beside the subject (MERGED_AREA)

    @property
    def subject(self) -> SubjectMask | None:
        return self.sighting.subject if self.sighting else None


# Whether a figure (a face the detectors are sure of) lies on the subject, given its masks at
# their frames' times: a figure, drawn or real, is never scenery.
FigureCheck = Callable[[list[tuple[float, np.ndarray]]], bool]


def extract_character(
    frames: list[Frame],
    source_width: int,
    source_height: int,
    figure: FigureCheck | None = None,
) -> Extraction:
    """Pick the best and most varied frames of the window and cut the subject out of them.
    A subject that looks like scenery is refused unless `figure` finds a face on it; then it
    is kept, with the warning that it may be scenery."""
    if not frames:
        raise TroupeError("low_quality_segment", "no frames could be decoded", param="timestamps")
    frames = sorted(frames, key=lambda f: f.time)
    scored, track = _score_frames(evenly_spaced(frames, MAX_ANALYSED_FRAMES))
    best = _best_or_raise(scored, track.confidence, _window_text(frames))
    masks = [(s.frame.time, s.subject.mask) for s in scored if s.subject is not None]
    scenery = _scenery(scored, track, best)
    if scenery.is_scenery and figure is not None and figure(masks):
        scenery = replace(scenery, is_scenery=False, unsure=True)
    if scenery.is_scenery:
        message = f"{scenery.reason} {_window_text(frames)}"
        raise TroupeError("no_subject_found", message, param="timestamps")
    chosen = _diverse(scored, best)
    mattes = _mattes(scored)
    cut_outs = _cut_outs(chosen, mattes)
    best_mask = cast(SubjectMask, best.subject)
    return Extraction(
        profile_jpeg=profile_jpeg(best.frame.image, _full_box(best, best_mask)),
        references_png=[png for _, pngs in cut_outs for png in pngs],
        fingerprint=build_fingerprint([_fingerprint_view(s) for s in chosen]),
        report=_report(
            best, best_mask, track.confidence, source_width, source_height, scenery.unsure
        ),
        subject_masks=masks,
        mattes=[mattes[time] for time in sorted(mattes)],
        doubtful_times=[s.frame.time for s in scored if s.modelled and not _trusted_mask(s)],
        reference_boxes=[
            (s.frame.time, _full_box(s, cast(SubjectMask, s.subject))) for s in chosen
        ],
    )


def frame_scores(frames: list[Frame]) -> list[float]:
    """How good a character each of a whole video's sparse frames (~4 fps) would make, 0..1, in
    time order: 0 without a usable subject, weighed by how sure the model is of it, plus at most
    QUALITY_TIE_BREAK for a sharp, well exposed frame so that a clean stretch still wins when no
    frame has a subject. The video is judged in pieces of SCAN_CHUNK seconds, each with
    its own track: cuts and long camera moves make one track of a whole video meaningless."""
    ordered = sorted(frames, key=lambda f: f.time)
    scores: list[float] = []
    for chunk in scan_chunks(ordered):
        scored, _ = _score_frames(chunk)
        scores.extend(
            min(1.0, s.score * _confidence(s) + QUALITY_TIE_BREAK * s.sharpness * s.exposure.score)
            for s in scored
        )
    return scores


def _confidence(s: _Scored) -> float:
    return s.sighting.confidence if s.sighting else 0.0


def scan_chunks(frames: list[Frame]) -> list[list[Frame]]:
    """Time-ordered frames in the pieces of SCAN_CHUNK seconds that a video is judged in."""
    chunks: list[list[Frame]] = []
    for frame in frames:
        if chunks and frame.time - chunks[-1][0].time < SCAN_CHUNK:
            chunks[-1].append(frame)
        else:
            chunks.append([frame])
    return chunks


def _mattes(scored: list[_Scored]) -> dict[float, tuple[Frame, np.ndarray]]:
    """Every frame whose mask can be trusted, with its soft matte, by time, two frames at a
    time: OpenCV releases the GIL while it filters. Another frame is no key of the strip: its
    mask may hold what passed in front (a passer-by's legs over a parked bicycle, on real
    footage) or merged in, which the strip would then carry as the subject's own."""
    modelled = [s for s in scored if _trusted_mask(s)]

    def matte(s: _Scored) -> tuple[Frame, np.ndarray]:
        return s.frame, _alpha(s, cast(SubjectMask, s.subject))

    with ThreadPoolExecutor(max_workers=CUT_OUT_THREADS) as pool:
        return dict(zip([s.frame.time for s in modelled], pool.map(matte, modelled), strict=True))


def _cut_outs(
    chosen: list[_Scored], mattes: dict[float, tuple[Frame, np.ndarray]]
) -> list[tuple[np.ndarray, list[bytes]]]:
    """Each chosen frame's RGBA cut-out and reference PNGs, two frames at a time: OpenCV
    releases the GIL while it encodes."""

    def cut_out(s: _Scored) -> tuple[np.ndarray, list[bytes]]:
        # Every chosen frame was modelled and scored above zero, so each has a subject.
        box = _full_box(s, cast(SubjectMask, s.subject))
        rgba = rgba_cut_out(s.frame.image, mattes[s.frame.time][1], box, REFERENCE_MARGIN)
        return rgba, reference_pngs(rgba)

    with ThreadPoolExecutor(max_workers=CUT_OUT_THREADS) as pool:
        return list(pool.map(cut_out, chosen))


def _window_text(frames: list[Frame]) -> str:
    return f"between {frames[0].time:.1f}s and {frames[-1].time:.1f}s"


def _score_frames(frames: list[Frame]) -> tuple[list[_Scored], Track]:
    """Every frame scored, and the subject's track."""
    images = [resize_long_side(f.image, WORK_SIDE) for f in frames]
    track = track_subject(images, [f.time for f in frames])
    scored = []
    for frame, image, sighting, modelled in zip(
        frames, images, track.sightings, track.modelled, strict=True
    ):
        exp = exposure(image)
        # Judge focus on the subject: a sharp toy in front of a soft background is a good frame.
        sharp = sharpness(image, sighting.subject.box if sighting else None)
        score = _frame_score(exp, sharp, sighting)
        scored.append(_Scored(frame, image, exp, sharp, sighting, score, modelled))
    return _mark_merged(scored), track


def _mark_merged(scored: list[_Scored]) -> list[_Scored]:
    """The frames, each confident mask that took in something beside the subject marked."""
    confident = [
        s for s in scored if s.modelled and s.sighting and s.sighting.confidence >= MIN_CONFIDENCE
    ]
    if len(confident) < 3:
        return scored
    areas = [float(cast(SubjectMask, s.subject).mask.sum()) for s in confident]
    colours = [_colour_shares(s.image, cast(SubjectMask, s.subject).mask) for s in confident]
    merged = set()
    for i, s in enumerate(confident):
        others = [j for j in range(len(confident)) if j != i]
        larger = areas[i] > MERGED_AREA * float(np.median([areas[j] for j in others]))
        usual = np.mean([colours[j] for j in others], axis=0)
        novel = float(colours[i][usual < NOVEL_FACTOR * colours[i]].sum())
        if larger and novel >= NOVEL_COLOUR:
            merged.add(id(s))
    return [replace(s, merged=True) if id(s) in merged else s for s in scored]


def _colour_shares(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The share of the mask's pixels in each of COLOUR_LEVELS³ RGB bins."""
    levels = image[mask].astype(np.int32) * COLOUR_LEVELS // 256
    bins = (levels[:, 0] * COLOUR_LEVELS + levels[:, 1]) * COLOUR_LEVELS + levels[:, 2]
    counts = np.bincount(bins, minlength=COLOUR_LEVELS**3).astype(np.float64)
    return counts / max(float(counts.sum()), 1.0)


def _scenery(scored: list[_Scored], track: Track, best: _Scored) -> SceneryVerdict:
    """Whether the chosen subject is a piece of the scenery (characters/scenery.py)."""
    return judge_scenery(
        [s.image for s in scored],
        [s.subject.mask if s.subject is not None else None for s in scored],
        [s.frame.time for s in scored],
        track.cameras,
        track.modelled,
        scored.index(best),
    )


def _frame_score(exp: Exposure, sharp: float, sighting: Sighting | None) -> float:
    """Sharp, well exposed, a good size, whole and not smeared by motion."""
    if sighting is None or exp.problem or sharp < MIN_SHARPNESS:
        return 0.0
    subject = sighting.subject
    if subject.coverage < MIN_COVERAGE:
        return 0.0
    whole = completeness_score(sighting.size_ratio, subject.touches_edge)
    size = subject_size_score(subject.coverage)
    return sharp * exp.score * size * whole * steadiness(sighting.speed)


def _best_or_raise(scored: list[_Scored], confidence: float, window: str) -> _Scored:
    """The best of the frames the model looked at, or the reason no frame will do, checked
    from the most basic cause."""
    exposed = [s for s in scored if s.exposure.problem is None]
    if not exposed:
        raise _exposure_error(scored, window)
    sharp = [s for s in exposed if s.sharpness >= MIN_SHARPNESS]
    if not sharp:
        best, needed = format_apart(max(s.sharpness for s in exposed), MIN_SHARPNESS)
        message = f"too blurred: sharpest frame scores {best} (needs {needed})"
        raise TroupeError("low_quality_segment", f"{message} {window}", param="timestamps")
    coverages = [s.subject.coverage for s in sharp if s.subject is not None]
    if not coverages:
        message = f"nothing stands out as a subject {window}"
        raise TroupeError("no_subject_found", message, param="timestamps")
    if max(coverages) < MIN_COVERAGE:
        covers, needed = format_apart(max(coverages), MIN_COVERAGE, percent=True)
        message = f"subject too small: covers {covers} of the frame (needs {needed}) {window}"
        raise TroupeError("no_subject_found", message, param="timestamps")
    if confidence < MIN_CONFIDENCE:
        sure, needed = format_apart(confidence, MIN_CONFIDENCE)
        message = (
            f"no region stands out clearly as one subject (confidence {sure}, needs {needed}): "
            f"several things compete, or none is distinct {window}"
        )
        raise TroupeError("no_subject_found", message, param="timestamps")
    usable = [s for s in sharp if _cut_out_worthy(s)]
    if not usable:
        message = f"the subject is not clear in any frame examined closely {window}"
        raise TroupeError("no_subject_found", message, param="timestamps")
    # Frames showing the subject whole may exist, but blurred or badly exposed.
    shown = max(cast(Sighting, s.sighting).size_ratio for s in usable)
    if shown < HIDDEN_RATIO:
        message = f"subject occluded: at most {shown:.0%} of it shows in usable frames {window}"
        raise TroupeError("no_subject_found", message, param="timestamps")
    return max(usable, key=lambda s: s.score)


def _cut_out_worthy(s: _Scored) -> bool:
    """A usable frame whose mask can be trusted to hold the subject alone."""
    return s.score > 0.0 and _trusted_mask(s)


def _trusted_mask(s: _Scored) -> bool:
    """Whether the frame's mask holds the subject and nothing else: the model looked at the
    frame itself (frames between have masks carried by flow, not good enough to cut out), it
    is sure of its subject there, and nothing merged into it. A partly hidden subject is still
    itself, and may be all a window shows: it is warned of, not left out."""
    sighting = s.sighting
    return (
        s.modelled
        and sighting is not None
        and sighting.confidence >= MIN_CONFIDENCE
        and sighting.size_ratio <= MERGED_RATIO
        and not s.merged
    )


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
    (far in time, different look), so references show more than one pose: three, and more
    while frames the model looked at still add something new."""
    pool = [
        s
        for s in scored
        if _cut_out_worthy(s) and s.score >= REFERENCE_SCORE_SHARE * best.score and s is not best
    ]
    span = max(1e-3, scored[-1].frame.time - scored[0].frame.time)
    looks = {id(s): _look(s) for s in [best, *pool]}
    chosen = [best]

    def novelty(s: _Scored) -> float:
        """Distance to the nearest chosen frame: time apart (0..1) plus look apart (0..2)."""
        return min(
            abs(s.frame.time - c.frame.time) / span + 1.0 - float(looks[id(s)] @ looks[id(c)])
            for c in chosen
        )

    while pool:
        pick = max(pool, key=lambda s: s.score / best.score * (0.25 + novelty(s)))
        if len(chosen) >= MIN_REFERENCES and novelty(pick) < EXTRA_NOVELTY:
            break
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


def _report(
    best: _Scored,
    subject: SubjectMask,
    confidence: float,
    source_w: int,
    source_h: int,
    maybe_scenery: bool,
) -> QualityReport:
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
        subject_confidence=round(confidence, 3),
        warnings=_warnings(
            best, subject, sharp, min(source_w, source_h), confidence, maybe_scenery
        ),
    )


def _warnings(
    best: _Scored,
    subject: SubjectMask,
    sharp: float,
    short_side: int,
    confidence: float,
    maybe_scenery: bool,
) -> list[str]:
    checks = [
        (confidence < SURE_CONFIDENCE, "subject uncertain: check that the right thing was cut out"),
        (maybe_scenery, "subject may be part of the scenery"),
        (short_side < HD_SHORT_SIDE, "below 720p"),
        (subject.coverage < SMALL_COVERAGE, "subject small"),
        (subject.coverage > LARGE_COVERAGE, "subject fills the frame"),
        (subject.touches_edge, "subject touches the frame edge"),
        (cast(Sighting, best.sighting).size_ratio < HIDDEN_RATIO, "subject partly hidden"),
        (best.exposure.mean < DIM_MEAN, "dark"),
        (best.exposure.bright_fraction > BRIGHT_CLIPPED, "overexposed"),
        (sharp < SOFT_SHARPNESS, "soft focus"),
    ]
    return [text for failed, text in checks if failed]


def _fingerprint_view(s: _Scored) -> np.ndarray:
    """The chosen frame as the fingerprint sees it: the tracked mask (holes filled) over the
    frame's own colours, its edge softened a pixel. The scorer's SIFT features and colours were
    calibrated on these: built from the matte's cut-outs (made for drawing, their background
    cleared), the fingerprint scored renders of the demo's mascot 0.1-0.3 instead of 0.8-0.9."""
    subject = cast(SubjectMask, s.subject)
    x0, y0, x1, y1 = margin_box(s.frame.image.shape, _full_box(s, subject), REFERENCE_MARGIN)
    opacity = _mask_opacity(s, subject)
    return np.dstack([s.frame.image[y0:y1, x0:x1], opacity[y0:y1, x0:x1]])


def _alpha(s: _Scored, subject: SubjectMask) -> np.ndarray:
    """The subject's matte at the frame's own resolution: soft from the model's map where the
    model looked at this frame (every cut-out frame), else the mask's edge softened a pixel."""
    if subject.probability is not None:
        return soft_alpha(s.frame.image, subject.probability, subject.mask)
    return _mask_opacity(s, subject).astype(np.float32) / 255.0


def _mask_opacity(s: _Scored, subject: SubjectMask) -> np.ndarray:
    """The subject's mask at the frame's own resolution, uint8, its edge softened a pixel."""
    h, w = s.frame.image.shape[:2]
    alpha = cv2.resize(subject.mask.astype(np.uint8) * 255, (w, h), interpolation=cv2.INTER_LINEAR)
    return cv2.GaussianBlur(alpha, (3, 3), 0)


def _full_box(s: _Scored, subject: SubjectMask) -> Box:
    scale = s.frame.image.shape[1] / s.image.shape[1]
    x, y, w, h = subject.box
    return round(x * scale), round(y * scale), max(1, round(w * scale)), max(1, round(h * scale))
