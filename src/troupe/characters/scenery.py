"""Is the subject extraction found part of the scenery? A window with no character in it (an
empty street, a skyline, a stage, a photograph of a building) still has a most salient region;
this judges from its cut-out, its motion and a picture classifier whether that region is a
character or a piece of the background, so that extraction can refuse it as `no_subject_found`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast

import cv2
import numpy as np

from troupe.characters.frame_quality import resize_long_side
from troupe.characters.imagenet import imagenet_classifier
from troupe.characters.subject import ANALYSIS_SIDE

# --- the cues ---------------------------------------------------------------------------------
# Each cue becomes evidence in [0, 1]; the score is their weighted sum, scenery from
# SCENERY_SCORE on, unsure within UNSURE_MARGIN of it. Figures are from bench/scenery_eval.py:
# 94 scenery windows and 67 character windows that the existing checks accept (59 of the 94 are
# the conformance test's showcase windows at 40 seeds held out); with every cue it refuses all
# 94 and keeps all 67, the highest character scoring 0.59. "Without" is the same with that
# cue's weight set to 0.
#
# Spread: scenery (ground, sky, a skyline, a stage) runs on past the frame, so its cut-out covers
# much of the frame's border: the share of the four edges (BORDER_BAND of the long side deep)
# under the mask, full evidence from FULL_BORDER. Stages, wide streets and canopies cover
# 0.15-0.46; characters 0 except close-ups cut by the frame (a bust 0.39, others <= 0.11).
# Without: 91 of 94 refused.
BORDER_BAND = 0.01
FULL_BORDER = 0.2
# Side to side: a band of sky, a treeline or a row of hills runs across the whole frame without
# reaching its bottom; a character that wide is a close-up, cut by the bottom edge too. The
# share of the frames looked at where the cut-out touches both side edges (BORDER_BAND deep)
# and not the bottom one. No character in the set does; the blurred leaves of a photograph
# pan and the sky between painted hills do. Without: 93 of 94 refused.
# Straight outline: buildings, windows, stages and furniture are outlined by long horizontal and
# vertical edges; a segment counts when it is within STRAIGHT_DEGREES of an axis and at least
# STRAIGHT_LENGTH of the frame's long side, and the frame's own border is left out. Boxes and
# packages are straight too (0.70-0.94, like buildings' 0.6-0.85), so a straight outline counts
# in full only for a cut-out spanning ARCHITECTURE_SPAN of the frame's width (boxes span <= 0.27).
# Without: 81 of 94 refused.
STRAIGHT_DEGREES = 6.0
STRAIGHT_LENGTH = 0.02
OUTLINE_TOLERANCE = 0.004  # polygon simplification, of the long side
ARCHITECTURE_SPAN = 0.6
# Blending in: a piece of the background differs little in colour from the rest of the frame
# (mean CIE Lab, delta E): painted buildings 7-15, 59 of 67 characters above 20, but still
# products and a photographed cat can be as low (an espresso cup from above 7, a motorcycle 6),
# hence its small weight. Full evidence below SIMILAR_COLOUR, none above DISTINCT_COLOUR.
# Without: 93 of 94 refused, and the highest character would score 0.43 instead of 0.59 (a
# package on a wooden table, filmed zooming in).
SIMILAR_COLOUR = 10.0
DISTINCT_COLOUR = 30.0
# Floating high: clouds, the sun, the moon, planets and lamps hang in the upper part of the
# frame, where characters, who stand on something, rarely end: their cut-outs' lowest points
# were at 0.24-0.38 of the frame's height, every character's at 0.55 or lower down. Full
# evidence above HIGH_BOTTOM, none below LOW_BOTTOM. Without: 64 of 94 refused.
HIGH_BOTTOM = 0.3
LOW_BOTTOM = 0.55
# Moving apart: scenery moves only with the camera. The median speed of the cut-out's pixels
# once the camera's motion is taken out, less the background's, in frame widths a second:
# scenery <= 0.002, 33 of the 67 characters 0.04-0.25; full evidence for a character
# from INDEPENDENT_SPEED. Still products and characters posing do not move, so no motion is
# no evidence of scenery: this cue only holds characters back. Without: the same counts, but a
# CGI close-up that talks (a bust cut by three edges) scores 0.86 instead of -0.14. Nothing
# moves in a painted scene without a cast, so the cues below tell a still building, tree or
# sofa from a still product or a figure posing by where and how it stands.
INDEPENDENT_SPEED = 0.06
# Rooted at the back: a building, a tree or a piece of furniture stands where the ground
# begins, so its base sits on the long straight line that runs on across the frame between the
# ground and what stands behind it (a kerb, a grass line, the foot of a wall); a character
# stands on the ground in front of that line. On each side of the cut-out (its columns and
# BASE_MARGIN either side left out; a side narrower than BASE_SIDE of the frame is not judged):
# the share of the columns with a near-horizontal edge (at least LINE_STEP delta E a pixel,
# LINE_FLATNESS times steeper across than along) on the row of the cut-out's base (within
# BASE_TOLERANCE), less the mean share on the rows around it (BASE_REACH up and down: a
# texture or a tiled floor has edges on every row), counted only as far as that line divides
# two different regions: the mean colours BASE_STRIP above and below it differ by
# DIVIDED_COLOUR delta E or more (a tiled or planked floor's lines divide the floor from
# itself, 1-2; the ground from what stands behind it 12-29). The evidence is the weaker side's:
# the ground's edge runs on at both, the foot of a box standing beside a character at one.
# The base is the cut-out's lowest point (a trunk, a post) or its lowest row at least
# BASE_FOOT of its width wide (a building whose mask leaks a sliver below the kerb), whichever
# sits on the clearer line. Painted buildings, a fridge, a sofa and mountains 0.5-1.0; of the
# 67 characters, 63 have 0, a squirrel on a branch 0.42; 104 windows of animatic casts over
# four more seeds, 0. Without: 78 of 94 refused; the showcase's buildings are what it is for.
# The model often leaves out a building's darker foot, so its cut-out ends above the line: where
# both of the cut-out's sides (the extremes of its lowest WALL_LOWER_PART, WALL_MARGIN either
# side) run on below its base as near-vertical edges, the base is also looked for where they end
# (no edge at one side for WALL_GAP rows; at most WALL_REACH below). A figure's feet have no walls
# under them. In a sweep of the showcase at seeds 300-399 (frames drawn by the compositor, as
# bench/scenery_eval.py's showcase_test), two windows of seed 392 (a red building whose brown
# foot was left out, confidence 0.6) scored 0.50 and 0.68 and were made characters; 1.30 and
# 1.48 with it. The 41 character windows of footage and animatic_cast scored the same.
LINE_STEP = 6.0
LINE_FLATNESS = 4.0
BASE_TOLERANCE = 0.01
BASE_REACH = 0.12
BASE_MARGIN = 0.02
BASE_SIDE = 0.1
BASE_STRIP = 0.1
BASE_FOOT = 0.05
UNDIVIDED_COLOUR = 4.0
DIVIDED_COLOUR = 12.0
ROOTED_NONE = 0.1
ROOTED_FULL = 0.8
WALL_LOWER_PART = 0.25
WALL_MARGIN = 0.005
WALL_GAP = 3
WALL_REACH = 0.3
# On a stem: a tree's crown, a palm's fronds, a lamp or a sign is held up by a thin trunk or post
# that the cut-out often leaves out, or takes only the top of: a thin upright strip (two or
# three near-vertical edges at most STEM_WIDTH of the cut-out's width apart) runs down from under
# its lowest part (STEM_MARGIN either side) in STEM_COVER of the rows STEM_REACH below it. A
# character stands on its own feet or on the ground; a background of upright lines (bricks set
# on end 0.22, a tiled wall 0.14 of its columns) is no stem: at most STEM_CLUTTER of the columns
# beside it (the trees of a painted forest, 0.00-0.04) may have such a line. The share of the
# frames looked at with one: painted trees and palms 0.25-1; every character 0 (a cat over
# bricks set on end had 0.25 before the clutter test). Without: 93 of 94 refused (a lone
# painted tree is let through); in the place prompts' sweep (bench/scenery_eval.py), 21 of 336
# windows accepted instead of 12, the 9 more all painted trees and palms.
STEM_REACH = 0.1
STEM_MARGIN = 0.05
STEM_COVER = 0.8
STEM_WIDTH = 0.25
STEM_CLUTTER = 0.1
# The learned cue: MobileNetV2 (ImageNet) on a square crop around the cut-out; the probability
# it gives to places, buildings and structures (PLACE_CLASSES). Photographed buildings get
# 0.87-0.94, painted ones 0.05-0.48, the set's characters at most 0.17 (a painted city behind a
# mascot). Full evidence from PLACE_FULL. Without: 89 of 94 refused; on the held-out photograph
# pans, the only cue that refuses a building standing alone in the frame. It sees painted
# buildings, trees and palms as envelopes, sticking plasters and pinwheels: no help there.
PLACE_FULL = 0.5

# Weights: a logistic fit on the sources not held out (bench/scenery_eval.py), scaled so that
# the threshold is 1 and rounded; rooted, band and on_a_stem were added later at 0.8, set by
# hand and not fitted: none of them refuses a cut-out on its own.
WEIGHTS = {
    "spread": 0.6,
    "architecture": 0.9,
    "blending": 0.3,
    "floating": 1.5,
    "place": 1.2,
    "rooted": 0.8,
    "band": 0.8,
    "on_a_stem": 0.8,
    "moving": -1.0,
}
SCENERY_SCORE = 1.0
UNSURE_MARGIN = 0.25

# --- the classifier ---------------------------------------------------------------------------
CROP_MARGIN = 1.15
_GREY = (124, 116, 104)  # the ImageNet mean colour, for crops past the frame
# ImageNet classes that are a place, a building or structure, or a surface that backgrounds are
# made of; chosen by meaning, not by the evaluation set.
PLACE_CLASSES: dict[int, str] = {
    970: "alp", 972: "cliff", 973: "coral reef", 974: "geyser", 975: "lakeside",
    976: "promontory", 977: "sandbar", 978: "seashore", 979: "valley", 980: "volcano",
    406: "altar", 410: "apiary", 415: "bakery", 421: "bannister", 424: "barbershop",
    425: "barn", 437: "beacon", 442: "bell cote", 449: "boathouse", 453: "bookcase",
    454: "bookshop", 460: "breakwater", 467: "butcher shop", 483: "castle",
    489: "chainlink fence", 497: "church", 498: "cinema", 500: "cliff dwelling",
    509: "confectionery", 525: "dam", 536: "dock", 538: "dome", 539: "doormat",
    540: "drilling platform", 562: "fountain", 580: "greenhouse", 582: "grocery store",
    598: "home theater", 624: "library", 634: "lumbermill", 640: "manhole cover", 646: "maze",
    649: "megalith", 660: "mobile home", 663: "monastery", 668: "mosque", 682: "obelisk",
    698: "palace", 703: "park bench", 706: "patio", 716: "picket fence", 718: "pier",
    727: "planetarium", 741: "prayer rug", 743: "prison", 750: "quilt", 755: "radio telescope",
    762: "restaurant", 788: "shoe shop", 789: "shoji", 794: "shower curtain",
    799: "sliding door", 807: "solar dish", 819: "stage", 821: "steel arch bridge",
    825: "stone wall", 832: "stupa", 839: "suspension bridge", 853: "thatch",
    854: "theater curtain", 858: "tile roof", 860: "tobacco shop", 865: "toyshop",
    873: "triumphal arch", 884: "vault", 888: "viaduct", 900: "water tower",
    904: "window screen", 905: "window shade", 912: "worm fence", 913: "wreck", 915: "yurt",
    919: "street sign", 920: "traffic light", 958: "hay", 984: "rapeseed",
}  # fmt: skip


@dataclass(frozen=True)
class SceneryVerdict:
    """Whether the subject is scenery, how strongly (`score`, scenery from SCENERY_SCORE on),
    whether that is close to call, the reason to give, and each cue's value."""

    is_scenery: bool
    unsure: bool
    score: float
    reason: str
    cues: dict[str, float] = field(default_factory=dict)


def judge_scenery(
    images: Sequence[np.ndarray],
    masks: Sequence[np.ndarray | None],
    times: Sequence[float],
    cameras: Sequence[np.ndarray],
    modelled: Sequence[bool],
    best: int,
    *,
    learned: bool = True,
) -> SceneryVerdict:
    """Judge the tracked subject of one window.

    `images` are the working-size RGB frames extraction analysed, in time order; `masks` the
    subject's mask in each (None where it was not seen) and `times` their times; `cameras` and
    `modelled` are the `Track`'s; `best` is the index of the frame to be cut out. Without
    `learned` the classifier is not run (its cue counts 0)."""
    mask = masks[best]
    if mask is None or not mask.any():
        raise ValueError("the best frame has no subject")
    seen_at = [i for i, m in enumerate(masks) if modelled[i] and m is not None and m.any()] or [
        best
    ]
    looked = [cast(np.ndarray, masks[i]) for i in seen_at]
    framed = [
        (_edges(_at_mask_size(images[i], m)), m) for i, m in zip(seen_at, looked, strict=True)
    ]
    height, width = mask.shape
    spans = [_box(m)[2] / width for m in looked]
    straight = [_straight_share(m) for m in looked]
    bottoms = [(_box(m)[1] + _box(m)[3]) / height for m in looked]
    cues = {
        "width_span": float(np.median(spans)),
        "border": float(np.median([_border_share(m) for m in looked])),
        "side_to_side": float(np.mean([_side_to_side(m) for m in looked])),
        "straight": float(np.median(straight)),
        "colour_difference": _colour_difference(images[best], mask),
        "bottom": float(np.median(bottoms)),
        "base_line": float(np.median([_base_line(e, m) for e, m in framed])),
        "stem": float(np.mean([_on_a_stem(e, m) for e, m in framed])),
        "independent_speed": _independent_speed(images, masks, times, cameras, modelled),
        "place_probability": place_probability(images[best], mask) if learned else 0.0,
    }
    return verdict(cues)


def verdict(cues: dict[str, float], weights: dict[str, float] = WEIGHTS) -> SceneryVerdict:
    """The verdict on measured cues (`judge_scenery`'s), with the given weights."""
    evidence = _evidence(cues)
    score = float(sum(weights[name] * value for name, value in evidence.items()))
    return SceneryVerdict(
        is_scenery=score >= SCENERY_SCORE,
        unsure=abs(score - SCENERY_SCORE) < UNSURE_MARGIN,
        score=round(score, 3),
        reason=_reason(evidence, weights),
        cues={k: round(v, 3) for k, v in cues.items()},
    )


def _ramp(value: float, none: float, full: float) -> float:
    """0 at `none`, 1 at `full`, linear between (either direction)."""
    return float(np.clip((value - none) / (full - none), 0.0, 1.0))


def _evidence(cues: dict[str, float]) -> dict[str, float]:
    return {
        "spread": _ramp(cues["border"], 0.0, FULL_BORDER),
        "architecture": cues["straight"] * min(1.0, cues["width_span"] / ARCHITECTURE_SPAN),
        "blending": _ramp(cues["colour_difference"], DISTINCT_COLOUR, SIMILAR_COLOUR),
        "floating": _ramp(cues["bottom"], LOW_BOTTOM, HIGH_BOTTOM),
        "place": _ramp(cues["place_probability"], 0.0, PLACE_FULL),
        "rooted": _ramp(cues["base_line"], ROOTED_NONE, ROOTED_FULL),
        "band": cues["side_to_side"],
        "on_a_stem": cues["stem"],
        "moving": _ramp(cues["independent_speed"], 0.0, INDEPENDENT_SPEED),
    }


_PHRASES = {
    "spread": "it runs on past the frame's edges",
    "architecture": "its outline is long straight edges, like a building's",
    "blending": "it barely differs in colour from its surroundings",
    "floating": "it hangs high in the frame like the sky's",
    "place": "a picture classifier sees a place or building in it",
    "rooted": "it stands on the line where the ground begins, like the buildings behind it",
    "band": "it runs from one side of the frame to the other like a band of sky or land",
    "on_a_stem": "it is held up on a thin stem, like a tree's crown on its trunk",
}


def _reason(evidence: dict[str, float], weights: dict[str, float]) -> str:
    """One line naming the strongest cues that made the subject scenery."""
    named = sorted(
        ((weights[k] * v, k) for k, v in evidence.items() if k in _PHRASES and v > 0.0),
        reverse=True,
    )
    parts = [_PHRASES[k] for weight, k in named[:2] if weight >= 0.2]
    if evidence["moving"] < 0.5:
        parts.append("it does not move apart from the background")
    detail = ", ".join(parts) if parts else "nothing about it sets it apart as a character"
    return f"the only region that stands out is part of the scenery ({detail})"


# --- cues ---------------------------------------------------------------------------------


def _at_mask_size(image: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """The frame at its mask's size (extraction gives them the same size)."""
    assert mask is not None
    height, width = mask.shape
    if image.shape[:2] == (height, width):
        return image
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def _u8(mask: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(mask).view(np.uint8)


def _box(mask: np.ndarray) -> tuple[int, int, int, int]:
    x, y, w, h = cv2.boundingRect(_u8(mask))
    return x, y, w, h


def _border_share(mask: np.ndarray) -> float:
    """Share of the frame's border (its four edges, BORDER_BAND deep) that the mask covers."""
    band = max(2, round(BORDER_BAND * max(mask.shape)))
    edges = (mask[:, :band].any(1), mask[:, -band:].any(1), mask[:band].any(0), mask[-band:].any(0))
    return float(sum(e.sum() for e in edges) / sum(e.size for e in edges))


def _side_to_side(mask: np.ndarray) -> bool:
    """Whether the mask touches both side edges of the frame and not its bottom edge."""
    band = max(2, round(BORDER_BAND * max(mask.shape)))
    sides = mask[:, :band].any() and mask[:, -band:].any()
    return bool(sides and not mask[-band:].any())


def _straight_share(mask: np.ndarray) -> float:
    """Share of the mask's outline, off the frame's border, in long near-horizontal or
    near-vertical segments."""
    height, width = mask.shape
    side = max(height, width)
    contours, _ = cv2.findContours(_u8(mask), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    total = straight = 0.0
    for contour in contours:
        polygon = cv2.approxPolyDP(contour, OUTLINE_TOLERANCE * side, True)[:, 0, :]
        for a, b in zip(polygon, np.roll(polygon, -1, axis=0), strict=True):
            if _on_border(a, b, width, height):
                continue
            dx, dy = abs(int(b[0]) - int(a[0])), abs(int(b[1]) - int(a[1]))
            length = float(np.hypot(dx, dy))
            total += length
            angle = np.degrees(np.arctan2(dy, dx))
            axis = min(angle, 90.0 - angle)
            if length >= STRAIGHT_LENGTH * side and axis <= STRAIGHT_DEGREES:
                straight += length
    return straight / total if total > 0 else 0.0


def _on_border(a: np.ndarray, b: np.ndarray, width: int, height: int) -> bool:
    """Whether the segment a-b runs along the frame's edge (where the frame cut the mask)."""
    return bool(
        (a[0] <= 1 and b[0] <= 1)
        or (a[1] <= 1 and b[1] <= 1)
        or (a[0] >= width - 2 and b[0] >= width - 2)
        or (a[1] >= height - 2 and b[1] >= height - 2)
    )


@dataclass(frozen=True)
class _Edges:
    """A frame's CIE Lab colours and its straight edges, for the rooted and stem cues: where
    it steps by at least LINE_STEP delta E a pixel across a near-horizontal (`horizontal`) or
    near-vertical (`vertical`) line, LINE_FLATNESS times more across the line than along it,
    widened by a pixel across it (a line a pixel off, or antialiased over two pixels)."""

    lab: np.ndarray
    horizontal: np.ndarray
    vertical: np.ndarray


def _edges(image: np.ndarray) -> _Edges:
    """The frame's _Edges, once for both cues."""
    lab = cv2.cvtColor(cv2.GaussianBlur(image, (3, 3), 0), cv2.COLOR_RGB2Lab).astype(np.float32)
    lab *= np.array([100.0 / 255.0, 1.0, 1.0], np.float32)
    down, right = (
        np.sqrt(sum(cv2.Sobel(lab[:, :, c], cv2.CV_32F, dx, dy) ** 2 for c in range(3))) / 4
        for dx, dy in ((0, 1), (1, 0))
    )  # a 3x3 Sobel is 4x the step
    horizontal = (down >= LINE_STEP) & (down >= LINE_FLATNESS * right)
    vertical = (right >= LINE_STEP) & (right >= LINE_FLATNESS * down)
    horizontal[1:] |= horizontal[:-1].copy()
    horizontal[:-1] |= horizontal[1:].copy()
    vertical[:, 1:] |= vertical[:, :-1].copy()
    vertical[:, :-1] |= vertical[:, 1:].copy()
    return _Edges(lab, horizontal, vertical)


def _lowest_row(mask: np.ndarray) -> int:
    """The cut-out's lowest row at least two pixels wide (-1 for an empty mask)."""
    return int(np.nonzero(mask.sum(axis=1) >= 2)[0].max(initial=-1))


def _base_line(edges: _Edges, mask: np.ndarray) -> float:
    """How clearly the cut-out's base sits on a straight line that runs on across the frame
    and divides two different regions (the "rooted" cue), 0..1: its lowest point's (a trunk, a
    post) or its broad base's (a building whose mask leaks a sliver below), the clearer."""
    rows = mask.sum(axis=1)
    broad = int(np.nonzero(rows >= max(3.0, BASE_FOOT * _box(mask)[2]))[0].max(initial=-1))
    bases = {_lowest_row(mask), broad, _where_walls_end(edges, mask, broad)}
    return max(_line_under(edges, mask, base) for base in bases)


def _where_walls_end(edges: _Edges, mask: np.ndarray, base: int) -> int:
    """The row where near-vertical edges at both sides of the cut-out's lower part, running on
    below `base`, end (`base` when they do not run on): the foot of a building whose cut-out
    left it out."""
    if base < 0:
        return base
    height, width = mask.shape
    _, top, _, tall = _box(mask)
    lower = mask[max(top, top + tall - max(1, round(WALL_LOWER_PART * tall))) : top + tall]
    columns = np.nonzero(lower.any(axis=0))[0]
    margin = max(2, round(WALL_MARGIN * width))
    sides = [slice(max(0, x - margin), x + margin + 1) for x in (columns.min(), columns.max())]
    end = missing = 0
    for row in range(base + 1, min(height, base + 1 + round(WALL_REACH * height))):
        if all(edges.vertical[row, side].any() for side in sides):
            end, missing = row, 0
        else:
            missing += 1
            if missing >= WALL_GAP:
                break
    return end or base


def _line_under(edges: _Edges, mask: np.ndarray, base: int) -> float:
    """The "rooted" evidence for a line on row `base` (see _base_line), on the side of the
    cut-out where it is weaker: the ground's edge runs on at both sides, whereas the foot of a
    box standing beside a figure makes a line at one side only."""
    height, width = mask.shape
    x, _, w, _ = _box(mask)
    tolerance = max(2, round(BASE_TOLERANCE * height))
    if base < 0 or base + tolerance + 3 >= height:
        return 0.0  # no base, or the frame cuts it: the border spread judges that
    margin = round(BASE_MARGIN * width)
    sides = [(0, max(0, x - margin)), (min(width, x + w + margin), width)]
    sides = [(a, b) for a, b in sides if b - a >= BASE_SIDE * width]
    if not sides:
        return 0.0
    return min(_side_line(edges, base, tolerance, a, b) for a, b in sides)


def _side_line(edges: _Edges, base: int, tolerance: int, a: int, b: int) -> float:
    """The line on row `base` over columns a..b, less the rows around it, as far as it
    divides two different regions."""
    height = edges.lab.shape[0]
    reach, strip = round(BASE_REACH * height), round(BASE_STRIP * height)
    share = edges.horizontal[:, a:b].mean(axis=1)
    line = float(share[max(0, base - tolerance) : base + tolerance + 1].max())
    around = np.concatenate(
        [
            share[max(0, base - reach) : max(0, base - tolerance - 2)],
            share[base + tolerance + 3 : base + reach + 1],
        ]
    )
    lab = edges.lab[:, a:b]
    above = lab[max(0, base - tolerance - strip) : max(0, base - tolerance)].reshape(-1, 3)
    below = lab[base + tolerance + 1 : base + tolerance + 1 + strip].reshape(-1, 3)
    if not len(above) or not len(below):
        return 0.0
    divided = float(np.linalg.norm(above.mean(axis=0) - below.mean(axis=0)))
    excess = line - (float(around.mean()) if around.size else 0.0)
    return max(0.0, excess) * _ramp(divided, UNDIVIDED_COLOUR, DIVIDED_COLOUR)


def _on_a_stem(edges: _Edges, mask: np.ndarray) -> bool:
    """Whether a thin upright stem runs down from under the cut-out's lowest part (the "stem"
    cue): two or three vertical lines, at most STEM_WIDTH of the cut-out's width apart, in
    STEM_COVER of the rows STEM_REACH below it, in a background with few such lines."""
    height, width = mask.shape
    low, reach = _lowest_row(mask), round(STEM_REACH * height)
    if low < 0 or low + 2 + reach > height:
        return False
    foot = np.nonzero(mask[max(0, low - 2) : low + 1].any(axis=0))[0]
    margin = round(STEM_MARGIN * width)
    a, b = max(0, int(foot.min()) - margin), min(width, int(foot.max()) + 1 + margin)
    upright = edges.vertical[low + 2 : low + 2 + reach].mean(axis=0) >= STEM_COVER
    elsewhere = np.ones(width, bool)
    elsewhere[a:b] = False
    if elsewhere.any() and upright[elsewhere].mean() > STEM_CLUTTER:
        return False  # bricks set on end, stripes, tiles: lines everywhere, no stem
    columns = np.nonzero(upright[a:b])[0]
    if len(columns) < 2:
        return False
    lines = [
        float(run.mean()) for run in np.split(columns, np.nonzero(np.diff(columns) > 2)[0] + 1)
    ]
    apart = max(lines) - min(lines)
    return 2 <= len(lines) <= 3 and 2.0 <= apart <= STEM_WIDTH * _box(mask)[2]


def _colour_difference(image: np.ndarray, mask: np.ndarray) -> float:
    """Delta E between the cut-out's mean CIE Lab colour and the rest of the frame's."""
    if mask.all():
        return 0.0
    small = resize_long_side(image, ANALYSIS_SIDE)
    h, w = small.shape[:2]
    inside = cv2.resize(_u8(mask), (w, h), interpolation=cv2.INTER_NEAREST) > 0
    if not inside.any() or inside.all():
        return 0.0
    lab = cv2.cvtColor(small, cv2.COLOR_RGB2Lab).astype(np.float32)
    lab *= np.array([100.0 / 255.0, 1.0, 1.0], np.float32)  # OpenCV's 8-bit L is 0..255
    return float(np.linalg.norm(lab[inside].mean(axis=0) - lab[~inside].mean(axis=0)))


def _independent_speed(
    images: Sequence[np.ndarray],
    masks: Sequence[np.ndarray | None],
    times: Sequence[float],
    cameras: Sequence[np.ndarray],
    modelled: Sequence[bool],
) -> float:
    """Median over the frames the model looked at (each against its next frame, the last
    against its previous) of how much faster the cut-out's pixels move than the background's
    once the camera's motion is taken out, in frame widths a second, at the tracker's analysis
    size and with its camera maps."""
    flow = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
    speeds = []
    for i in [i for i, seen in enumerate(modelled) if seen and masks[i] is not None]:
        j = i + 1 if i + 1 < len(images) else i - 1
        if j < 0:
            continue
        a, b = (_grey(images[k]) for k in (i, j))
        h, w = a.shape
        mask = cast(np.ndarray, masks[i])
        inside = cv2.resize(_u8(mask), (w, h), interpolation=cv2.INTER_NEAREST) > 0
        if inside.sum() < 4 or (~inside).sum() < 4:
            continue
        moved = flow.calc(a, b, np.zeros((h, w, 2), np.float32))
        grid = np.dstack(np.meshgrid(np.arange(w), np.arange(h))).astype(np.float32)
        step = np.linalg.inv(cameras[j]) @ cameras[i]
        camera = grid @ step[:2, :2].T.astype(np.float32) + step[:2, 2].astype(np.float32) - grid
        residual = np.linalg.norm(moved - camera, axis=2) / max(abs(times[j] - times[i]), 1e-3) / w
        speeds.append(float(np.median(residual[inside]) - np.median(residual[~inside])))
    return max(0.0, float(np.median(speeds))) if speeds else 0.0


def _grey(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(resize_long_side(image, ANALYSIS_SIDE), cv2.COLOR_RGB2GRAY)


def place_probability(image: np.ndarray, mask: np.ndarray) -> float:
    """The classifier's probability that the square around the cut-out shows a place."""
    probabilities = imagenet_classifier().probabilities(_square_crop(image, _box(mask)))
    return float(probabilities[list(PLACE_CLASSES)].sum())


def _square_crop(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The square around the box with a margin; past the frame filled with the mean colour."""
    x, y, w, h = box
    side = max(16, round(max(w, h) * CROP_MARGIN))
    x0, y0 = round(x + w / 2 - side / 2), round(y + h / 2 - side / 2)
    x1, y1 = x0 + side, y0 + side
    fh, fw = image.shape[:2]
    crop = image[max(0, y0) : min(fh, y1), max(0, x0) : min(fw, x1)]
    pads = (max(0, -y0), max(0, y1 - fh), max(0, -x0), max(0, x1 - fw))
    return cv2.copyMakeBorder(crop, *pads, cv2.BORDER_CONSTANT, value=_GREY)
