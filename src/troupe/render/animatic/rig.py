"""A posable body for a character cut-out: a triangle mesh of its figure, bent as rigidly as
possible (Igarashi, Moscovich & Hughes, SIGGRAPH 2005) by a few handles that the actions move,
and drawn with one inverse warp; a short arm stub, which would fold if bent, is a piece of its
own turned whole and drawn over the body.

Coordinates are pixels of the rest cut-out: x grows to the right, y downwards; angles are
degrees counter-clockwise on screen, as in motion.py. "left" and "right" are the image's.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import cv2
import numpy as np

from troupe.render.animatic.compose import blend
from troupe.render.animatic.motion import hop

# The body's core is the figure opened by a disc this share of its thickest half-width:
# thinner parts are candidate limbs.
_CORE_SHARE = 0.5
# A candidate is a limb when it passes three tests: a figure gets a rig because something
# sticks out of its core, whatever its overall shape (a mascot, an egg with arm stubs, fills
# 0.885 of its hull, a box with a lid 0.955). The figures in brackets were measured on the
# demo mascot, cut-outs of Big Buck Bunny (some with the rocks the segmenter took in) and
# boxes, discs, triangles and stickers.
# 1. Root to tip at least this share of the figure's height: shorter bumps are fur, a fold or
# the segmenter's ragged edge (the mascot's arm stubs and feet are 0.10 to 0.11 of it, the
# bunny's toes 0.08 at most).
_MIN_LIMB_LENGTH = 0.08
# 2. It sticks out of the core at least this share of the width it joins the core along: a
# lump (a rock, a belly, a toe, a rounded-off corner) is wider than it sticks out (0.3 at
# most); a limb, even a foot wider than it is tall, sticks out at least half as far (the
# mascot's feet 0.56, its arm stubs 1.7, the bunny's arms 0.8 to 1.6, a gingerbread man's
# legs 4).
_MIN_PROTRUSION = 0.4
# 3. It leaves a notch beside it, outside the figure but inside the hull of the core and it,
# of at least this share of its own area: the corners of a box, a triangle or a sticker that
# the core's disc rounded off leave none (0.05 at most); a limb leaves one on each side (0.55
# for a mascot's foot, 1 to 3 for arms).
_MIN_NOTCH = 0.25
# So a figure filling this much of its convex hull (its soft edge aside) has no notch, and
# no limb: it is not searched for any (a box, a ball, a sticker fill 1.0).
_CONVEX = 0.99
# Places where a part meets the core within this many pixels of each other are one join.
_JOIN_REACH = 2
# A limb rooted in the core's top share, within this share of the core's half-width of its
# middle, crowns the head (an antenna, ears, a hat, a lid, a stalk): it follows the head.
_CROWN_TOP = 0.1
_CROWN_WIDTH = 0.25
_LEG_ZONE = 0.8  # a limb whose tip is below this share of the height is a leg
_TORSO_STIFFNESS = 10.0  # weight of the core's triangles against the limbs'
_GRIP = 0.85  # a tip handle sits this share of the way from the limb's root to its tip
# Beyond this turn (degrees) the bend where a limb joins the torso folds over itself.
_MAX_SWING = 90.0
# How far a waving hand drops, in degrees and as a share of its raise.
WAVE_DROP = 40.0
WAVE_DROP_SHARE = 0.7
_STRIDE_LEG = 0.15  # share of the height: a foot steps as if its leg were at least this long
_INWARD_SWING = 0.4  # share of its swing a limb takes when it turns towards the torso
_REACH = 0.15  # a limb turned by _MAX_SWING reaches this share further
# A limb turns at most as far as its mesh bends with no triangle stretched beyond this ratio
# of its axes (tried alone, in _RANGE_STEP steps, when the rig is built): past 3 a stub
# folds into a kidney (the mascot's arm stubs do at 60°); 2.5 leaves room for the torso's
# own moves in a pose. A gingerbread man's arms still turn 60° to 90°, the mascot's stubs
# 30° to 45°. A limb's moves slow down from _RANGE_KNEE of its range, not stop dead at it.
_MAX_STRETCH = 2.5
_RANGE_STEP = 7.5
_RANGE_KNEE = 0.5
# The torso sinks in a crouch (or rises in flight), and a foot lifts, at most this share of
# how far the foot hangs below its hip: a gingerbread man's long legs take the whole of every
# move (a run's lift is 0.23 of them), a mascot's foot stubs would fold into its body.
_LEG_TRAVEL = 0.3
# A hand between these many times as long as it is wide where it joins the body, and shorter
# than this share of the figure's height, is a stub (a mascot's flipper, a tenth of its height,
# 1.1 times as long as wide): bending folds it within 30-45°, so it is cut out as a piece of its
# own, drawn over the body from its own pixels and turned whole, as a paper puppet's arm is
# pinned on. Other hands bend: turned whole, a CGI bunny's thick arm (a third of its height)
# opened a gap at its shoulder, and a blurred mascot's stub, a lump 0.7 times as long as its
# join was wide, a crack along the join.
_STUB_SHAPE = (0.9, 2.0)
_STUB_LENGTH = 0.15
# It turns about a pivot this share of its width inside the body from the middle of its join,
# carried by the _ANCHORS body vertices nearest the pivot; its pixels reach _FRINGE px past it,
# for its soft edge and the light rim a matte leaves (left on the body, it showed where the
# stub had been).
_PIVOT_DEPTH = 0.25
_ANCHORS = 8
_FRINGE = 4
# A stub swings this much further than an arm in a stride: 16° moved the demo mascot's 4 px.
_STUB_SWING = 2.5
_LOOSE_PARTS = 0.02  # share of the figure allowed apart from its main piece (it is dropped)
_TARGET_VERTICES = 280
_MIN_VERTICES = 24  # a smaller mesh is too coarse to bend
_EDGE_PULL = 1e-6  # step 1's pull of edges to their rest vectors, against its terms (traces)
_MIN_SPACING = 4.0  # px between mesh points, at least
# A short limb is meshed finer, with this many spacings from root to tip: with fewer, a swing
# crowds its bend into one or two triangles where it joins the core, and they fold.
_LIMB_CELLS = 5.0
_SLIVER = 0.2  # a triangle thinner than this share of the spacing is dropped
_MARGIN = 2  # px the mesh reaches past the opaque figure, for its soft edge
_PAD = _MARGIN + 1
_OUTLINE_TOLERANCE = 1.0  # px the mesh's outline may cut across the figure's
_MAP_SCALE = 4  # the inverse map is computed at this fraction of the size, then enlarged
_EXTEND = 2  # low-resolution pixels a triangle's map reaches past its edge
_FAR = -1.0e6  # a source coordinate that samples nothing, even blended with a near one

# Each limb's handle (near its tip) and the joint it turns about; "head", "body" and "hips"
# hold the torso. A rig has the handles of the limbs it found.
LIMBS = {
    "left_hand": "left_shoulder",
    "right_hand": "right_shoulder",
    "left_foot": "left_hip",
    "right_foot": "right_hip",
}
_HANDS = ("left_hand", "right_hand")
_FEET = ("left_foot", "right_foot")

# Cycles per second of each action's limb moves, so `limb_pose(rig, action, hz * t + offset)`
# keeps time with motion.py: a walk cycle is two steps, a jump one hop, dance one beat per arm.
CYCLES_PER_SECOND = {
    "walk": 1.0,
    "run": 1.6,
    "jump": 1 / 1.2,
    "bounce": 1 / 0.55,
    "wave": 1.4,
    "dance": 0.5,
    "sit": 0.15,
    "idle": 0.3,
    "fly": 0.8,
    "swim": 0.5,
    "spin": 1 / 2.4,
    "skate": 1 / 3.0,
}

# A rider's arms see-saw for balance this many times in a skate's cycle (CYCLES_PER_SECOND).
SKATE_BALANCES = 3

HandleTargets = Mapping[str, tuple[float, float]] | np.ndarray


@dataclass(frozen=True, eq=False)
class _Hinge:
    """A stub cut out of the mesh: its triangles on vertices of their own, drawn from the rest
    cut-out's pixels it owns over the body (drawn from the others), and turned whole about
    `pivot` as its handle asks, carried by the body's vertices around the pivot."""

    piece: np.ndarray  # (p,) vertex indices
    rows: slice  # its triangles in the rig's
    pixels: np.ndarray  # (h, w) bool over the rest cut-out
    pivot: np.ndarray  # (2,) rest point it turns about
    anchors: np.ndarray  # (a,) body vertex indices nearest the pivot


@dataclass(frozen=True, eq=False)
class _Solver:
    """The two least-squares systems of the method, solved once for one handle set: each
    frame is then two matrix products (and a rotation fit per triangle between them)."""

    free: np.ndarray  # (m,) vertices the handles do not pin
    # (k,) the vertices set before solving: the bending handles', in the rig's handle order,
    # then each hinged piece's (they share no triangle with the rest, which they leave alone)
    fixed: np.ndarray
    similar: np.ndarray  # (2m, 2k) step 1: free coordinates from handle coordinates
    offset: np.ndarray  # (2m,) step 1: and the pull towards the rest pose
    from_edges: np.ndarray  # (m, 3t) step 2: free positions from the fitted edge vectors
    from_handles: np.ndarray  # (m, k) step 2: and from the handle positions
    rest_shapes: np.ndarray  # (t, 3, 2) each rest triangle about its centroid


@dataclass(frozen=True, eq=False)
class Rig:
    """A cut-out's figure as a mesh with named handles, ready to deform and draw."""

    vertices: np.ndarray  # (n, 2) rest positions, float64
    triangles: np.ndarray  # (t, 3) vertex indices, positive area with y down; drawn in order
    handles: dict[str, int]  # handle name -> vertex index; its order is the targets' order
    joints: dict[str, np.ndarray]  # limb (its tip handle's name) -> the rest point it turns about
    height: float  # of the figure, px: the actions' amplitudes are shares of it
    solver: _Solver
    # limb -> how far it may turn clockwise (negative) and counter-clockwise, in degrees
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    # stubs cut out as pieces of their own, turned whole (their handles move no mesh)
    hinges: dict[str, _Hinge] = field(default_factory=dict)

    def rest(self, name: str) -> np.ndarray:
        """Where the handle `name` is at rest."""
        return self.vertices[self.handles[name]]


# --- building -----------------------------------------------------------------------------


def build_rig(alpha: np.ndarray) -> Rig | None:
    """The rig of a cut-out with this alpha (uint8, h x w), or None where the figure has no
    limbs to move (a box, a ball, a mushroom on its stalk) or comes in several pieces: it then
    keeps rigid motion."""
    # a cut-out cropped to its subject touches its edges: give the figure room all round
    solid = cv2.copyMakeBorder((alpha >= 128).astype(np.uint8), *(_PAD,) * 4, cv2.BORDER_CONSTANT)
    region = _figure_region(solid)
    if region is None:
        return None
    top, bottom = _rows(solid)
    height = float(bottom - top + 1)
    core = _core(solid)
    if not core.any():  # a figure too thin for the core's disc (a hairline) has no body
        return None
    roles = _limb_roles(_limbs(solid, core, height), core, top + _LEG_ZONE * height)
    if not _poseable(roles):
        return None
    mesh = _mesh(region, list(roles.values()))
    if mesh is None or len(mesh[0]) < _MIN_VERTICES:
        return None
    return _assemble(*mesh, solid, core, roles, height)


def _poseable(roles: Mapping[str, _Limb]) -> bool:
    """A hand, or a pair of feet, is something to pose. One arm is enough (the other may be
    hidden, or lie over a rock the segmenter took in); a lone foot is not: it is as likely the
    stalk of a mushroom, a lamp's stand or a wine glass's stem, and one foot cannot step."""
    return any(hand in roles for hand in _HANDS) or all(foot in roles for foot in _FEET)


def _figure_region(solid: np.ndarray) -> np.ndarray | None:
    """The figure's main piece, grown by the margin its soft edge needs; None for a convex
    figure or one in several pieces."""
    area = cv2.countNonZero(solid)
    if area == 0 or area >= _CONVEX * cv2.contourArea(_hull_corners(solid)):
        return None
    region = _main_piece(cv2.dilate(solid, np.ones((2 * _MARGIN + 1,) * 2, np.uint8)))
    if cv2.countNonZero(solid & (1 - region)) > _LOOSE_PARTS * area:
        return None
    return region


def _assemble(
    vertices: np.ndarray,
    triangles: np.ndarray,
    solid: np.ndarray,
    core: np.ndarray,
    roles: dict[str, _Limb],
    height: float,
) -> Rig:
    """The rig from its mesh and body parts (found in the padded mask), in cut-out pixels."""
    points = {**_torso_points(core), **_limb_points(roles)}
    handles = dict(zip(points, _snap(list(points.values()), vertices), strict=True))
    triangles = _layered(vertices, triangles, vertices[handles["body"]], solid)
    stubs = {
        name: limb
        for name, limb in roles.items()
        if name in _HANDS
        and _STUB_SHAPE[0] * limb.width < limb.length < _STUB_SHAPE[1] * limb.width
        and limb.length < _STUB_LENGTH * height
    }
    vertices, triangles, handles, cuts = _cut_out_stubs(vertices, triangles, handles, stubs)
    weights = _stiffness(vertices, triangles, core)
    vertices = vertices - _PAD
    pieces = {name: piece for name, (piece, _) in cuts.items()}
    bending = [index for name, index in handles.items() if name not in pieces]
    solver = _solve(vertices, triangles, weights, np.concatenate([bending, *pieces.values()]))
    joints = {name: limb.root - _PAD for name, limb in roles.items()}
    body = min((int(piece[0]) for piece in pieces.values()), default=len(vertices))
    in_pieces = np.zeros(len(triangles), bool)
    for _, rows in cuts.values():
        in_pieces[rows] = True
    # the body draws every pixel its triangles hold, at rest
    held = _rasterised(triangles[~in_pieces], vertices + _PAD, solid.shape[::-1]) > 0
    hinges = {
        name: _hinge(vertices[:body], piece, rows, stubs[name], held)
        for name, (piece, rows) in cuts.items()
    }
    rig = Rig(vertices, triangles, handles, joints, height, solver, hinges=hinges)
    ranges = {
        limb: (-_MAX_SWING, _MAX_SWING) if limb in hinges else _range(rig, limb) for limb in joints
    }
    return dataclasses.replace(rig, ranges=ranges)


def _cut_out_stubs(
    vertices: np.ndarray,
    triangles: np.ndarray,
    handles: dict[str, int],
    stubs: Mapping[str, _Limb],
) -> tuple[np.ndarray, np.ndarray, dict[str, int], dict[str, tuple[np.ndarray, slice]]]:
    """The mesh with each stub's triangles on vertices of their own, after the body's vertices
    (and its triangles before the body's); each stub's handle moved to its piece; and each
    piece's vertices and triangle rows. Crumbs of the body the cut leaves apart (slivers at a
    join) go with the stub they touch; a mesh the cut would break otherwise (a handle hanging
    on by a stub) is left whole."""
    if not stubs:
        return vertices, triangles, handles, {}
    centroids = np.round(vertices[triangles].mean(axis=1)).astype(int)
    owned = {name: limb.part[centroids[:, 1], centroids[:, 0]] for name, limb in stubs.items()}
    in_stubs = np.logical_or.reduce(list(owned.values()))
    apart = np.flatnonzero(~in_stubs)[~_largest_piece(triangles[~in_stubs], len(vertices))]
    for name in owned:
        touching = np.isin(triangles[apart], triangles[owned[name]]).any(axis=1)
        owned[name][apart[touching]] = True
        in_stubs[apart[touching]] = True
    body = triangles[~in_stubs]
    others = [index for name, index in handles.items() if name not in stubs]
    if not np.isin(others, body).all() or not _largest_piece(body, len(vertices)).all():
        return vertices, triangles, handles, {}
    used = np.unique(body)
    renumbered = np.full(len(vertices), -1)
    renumbered[used] = np.arange(len(used))
    moved = {name: int(renumbered[index]) for name, index in handles.items()}
    points: list[np.ndarray] = [vertices[used]]
    layers: list[np.ndarray] = []
    cuts = {}
    for name in stubs:
        own, local = np.unique(triangles[owned[name]], return_inverse=True)
        start, first_row = sum(len(p) for p in points), sum(len(t) for t in layers)
        nearest = np.argmin(((vertices[own] - vertices[handles[name]]) ** 2).sum(axis=1))
        moved[name] = start + int(nearest)
        points.append(vertices[own])
        layers.append(start + local.reshape(-1, 3))
        cuts[name] = (start + np.arange(len(own)), slice(first_row, first_row + len(layers[-1])))
    return np.vstack(points), np.vstack([*layers, renumbered[body]]), moved, cuts


def _hinge(
    body: np.ndarray, piece: np.ndarray, rows: slice, limb: _Limb, held: np.ndarray
) -> _Hinge:
    """A stub's hinge: its pixels are the limb's and its fringe's that the body's triangles do
    not hold (`held`, padded); it turns about a point inside the body behind the middle of its
    join, carried by the body vertices (`body`, in cut-out pixels) nearest that point."""
    grown = cv2.dilate(limb.part.astype(np.uint8), np.ones((2 * _FRINGE + 1,) * 2, np.uint8))
    pixels = (grown > 0) & ~held
    inward = limb.root - limb.tip
    depth = _PIVOT_DEPTH * limb.width / max(float(np.linalg.norm(inward)), 1e-9)
    pivot = limb.root + depth * inward - _PAD
    anchors = np.argsort(((body - pivot) ** 2).sum(axis=1))[:_ANCHORS]
    return _Hinge(piece, rows, pixels[_PAD:-_PAD, _PAD:-_PAD], pivot, anchors)


def _main_piece(mask: np.ndarray) -> np.ndarray:
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    biggest = 1 + int(np.argmax(stats[1:count, cv2.CC_STAT_AREA]))
    return (labels == biggest).astype(np.uint8)


def _rows(mask: np.ndarray) -> tuple[int, int]:
    ys = np.flatnonzero(mask.any(axis=1))
    return int(ys[0]), int(ys[-1])


def _core(solid: np.ndarray) -> np.ndarray:
    """The figure without its thin parts: what a disc of half its thickest half-width sweeps.
    The opening by that disc is taken with two distance transforms (where the disc's centre
    fits, then what it covers from there), in time that does not grow with the disc: OpenCV's
    opening with a large disc took 0.12 s of a render's set-up for the demo's mascot."""
    inside = cv2.distanceTransform(solid, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    radius = max(1, round(_CORE_SHARE * float(inside.max())))
    centres = (inside > radius).astype(np.uint8)
    if not centres.any():
        return np.zeros_like(solid)
    reach = cv2.distanceTransform(1 - centres, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return ((reach <= radius) & (solid > 0)).astype(solid.dtype)


@dataclass(frozen=True, eq=False)
class _Limb:
    root: np.ndarray  # the middle of where it joins the core: it turns about this
    tip: np.ndarray  # its point furthest from the root
    part: np.ndarray  # (h, w) bool: its pixels
    width: float  # across where it joins the core

    @property
    def length(self) -> float:
        return float(np.linalg.norm(self.tip - self.root))


def _limbs(solid: np.ndarray, core: np.ndarray, height: float) -> list[_Limb]:
    """The thin parts joined to the core, in one place, that stick out of it: long enough,
    further than they are wide where they join it, and leaving a notch beside them."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(solid - core, connectivity=8)
    touching = cv2.dilate(core, np.ones((3, 3), np.uint8)).astype(bool)
    away = cv2.distanceTransform(1 - core, cv2.DIST_L2, 5)
    core_corners = _hull_corners(core)
    core_hull = _filled(core_corners, core.shape)
    limbs = []
    for label in range(1, count):
        x, y, w, h = stats[label, :4]
        # Its root and tip lie in its box: a box too small holds no limb long enough. Most
        # parts are crumbs of the edge the core left, each cheap to skip in its box alone.
        if math.hypot(w - 1, h - 1) < _MIN_LIMB_LENGTH * height:
            continue
        box = _grown_box(x, y, w, h, solid.shape)
        part = labels[box] == label
        joint = part & touching[box]
        if not joint.any() or not _joined_once(joint):
            continue
        offset = np.array([box[1].start, box[0].start], np.float64)
        contact = np.argwhere(joint)[:, ::-1] + offset
        pixels = np.argwhere(part)[:, ::-1] + offset
        root = contact.mean(axis=0)
        tip = pixels[np.argmax(((pixels - root) ** 2).sum(axis=1))]
        if float(np.linalg.norm(tip - root)) < _MIN_LIMB_LENGTH * height:
            continue
        width = float(np.linalg.norm(contact.max(axis=0) - contact.min(axis=0)))
        if float(away[box][part].max()) < _MIN_PROTRUSION * width:
            continue
        whole = np.zeros(solid.shape, bool)
        whole[box] = part
        if _notch(core, core_corners, core_hull, whole) >= _MIN_NOTCH * len(pixels):
            limbs.append(_Limb(root, tip, whole, width))
    return limbs


def _grown_box(x: int, y: int, w: int, h: int, shape: tuple[int, ...]) -> tuple[slice, slice]:
    """A part's box grown by what `_joined_once` dilates, so that its join is judged whole."""
    reach = _JOIN_REACH
    return (
        slice(max(0, y - reach), min(shape[0], y + h + reach)),
        slice(max(0, x - reach), min(shape[1], x + w + reach)),
    )


def _joined_once(joint: np.ndarray) -> bool:
    """Whether a part meets the core in one place: one joined in two (a mug's handle, a hand
    on a hip) would tear if it swung."""
    side = 2 * _JOIN_REACH + 1
    grown = cv2.dilate(joint.astype(np.uint8), np.ones((side, side), np.uint8))
    return cv2.connectedComponents(grown)[0] <= 2


def _hull_corners(mask: np.ndarray) -> np.ndarray:
    """The corners of the convex hull of a mask's pixels, from its outer edges alone: every
    hull corner lies on one, and they are a fraction of its pixels."""
    edges, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    return cv2.convexHull(np.concatenate(edges))


def _filled(corners: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    filled = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(filled, corners, 1)
    return filled.astype(bool)


def _notch(
    core: np.ndarray, core_corners: np.ndarray, core_hull: np.ndarray, part: np.ndarray
) -> int:
    """Pixels that the part adds to the core's hull, beyond its own: none for a corner the
    core's disc rounded off a convex figure."""
    joined = core.astype(bool) | part
    corners = cv2.convexHull(np.concatenate([core_corners, _hull_corners(part)]))
    return int(np.count_nonzero(_filled(corners, core.shape) & ~core_hull & ~joined))


def _limb_roles(limbs: list[_Limb], core: np.ndarray, leg_zone: float) -> dict[str, _Limb]:
    """Feet: the two lowest limbs reaching below `leg_zone`; hands: the longest limb above it
    on each side of the core, but for those crowning its head. Any other limb (a tail, an ear,
    an antenna, an animal's hind legs) follows the body."""
    pixels = np.argwhere(core)
    centre = float(pixels[:, 1].mean())
    top, bottom = pixels[:, 0].min(), pixels[:, 0].max()
    half_width = 0.5 * float(pixels[:, 1].max() - pixels[:, 1].min())

    def crowning(limb: _Limb) -> bool:
        x, y = limb.root
        on_top = y <= top + _CROWN_TOP * (bottom - top)
        return on_top and abs(x - centre) <= _CROWN_WIDTH * half_width

    low = [b for b in limbs if b.tip[1] >= leg_zone]
    legs = sorted(low, key=lambda b: -b.tip[1])[:2]
    roles = {}
    if len(legs) == 2:
        roles["left_foot"], roles["right_foot"] = sorted(legs, key=lambda b: b.tip[0])
    elif legs:
        roles["left_foot" if legs[0].tip[0] < centre else "right_foot"] = legs[0]
    high = [b for b in limbs if b not in low and not crowning(b)]
    for side, sign in (("left", -1), ("right", 1)):
        arms = [b for b in high if sign * (b.tip[0] - centre) > 0]
        if arms:
            roles[f"{side}_hand"] = max(arms, key=lambda b: b.length)
    return roles


def _torso_points(core: np.ndarray) -> dict[str, np.ndarray]:
    """The body at the core's centroid, the head in its top tenth (clear of any hand raised
    above it), the hips in its bottom tenth."""
    pixels = np.argwhere(core)[:, ::-1].astype(np.float64)
    top, bottom = pixels[:, 1].min(), pixels[:, 1].max()
    head = pixels[pixels[:, 1] <= top + 0.1 * (bottom - top)].mean(axis=0)
    hips = pixels[pixels[:, 1] >= bottom - 0.1 * (bottom - top)].mean(axis=0)
    return {"head": head, "body": pixels.mean(axis=0), "hips": hips}


def _limb_points(roles: dict[str, _Limb]) -> dict[str, np.ndarray]:
    return {name: limb.root + _GRIP * (limb.tip - limb.root) for name, limb in roles.items()}


def _snap(points: list[np.ndarray], vertices: np.ndarray) -> list[int]:
    """The nearest vertex to each point, each vertex taken once."""
    taken: list[int] = []
    for point in points:
        order = np.argsort(((vertices - point) ** 2).sum(axis=1))
        taken.append(int(next(i for i in order if i not in taken)))
    return taken


def _layered(
    vertices: np.ndarray, triangles: np.ndarray, body: np.ndarray, solid: np.ndarray
) -> np.ndarray:
    """Triangles from the body outwards, so that a limb crossing the torso is drawn over it;
    but first those mostly outside the figure (its soft edge, the gap where a limb meets the
    body): drawn over the body when a limb turns, they would bite a transparent notch out."""
    corners = vertices[triangles]
    centroids = corners.mean(axis=1)
    samples = np.round(np.concatenate([centroids[:, None], (corners + centroids[:, None]) / 2], 1))
    opaque = solid[samples[..., 1].astype(int), samples[..., 0].astype(int)].mean(axis=1) >= 0.5
    order = np.lexsort((((centroids - body) ** 2).sum(axis=1), opaque))
    return triangles[order]


# --- the mesh -----------------------------------------------------------------------------


def _mesh(region: np.ndarray, limbs: list[_Limb]) -> tuple[np.ndarray, np.ndarray] | None:
    """Points along the region's outlines and on grids inside, Delaunay-triangulated: the
    triangles whose centroid is inside, in one connected piece."""
    contours, _ = cv2.findContours(region, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    spacing = _spacing(cv2.countNonZero(region), sum(cv2.arcLength(c, True) for c in contours))
    local = _local_spacing(region, limbs, spacing)
    outline = np.unique(np.vstack([_outline_points(c, local) for c in contours]), axis=0)
    grids = [_grid_points(region, s, local == s) for s in np.unique(local[region > 0])]
    points, first = np.unique(np.vstack([outline, *grids]), axis=0, return_index=True)
    on_outline = first < len(outline)
    thinnest = _SLIVER * float(local.min())
    triangles = _delaunay(points.astype(np.float32), on_outline, region, thinnest)
    if len(triangles) < 2:
        return None
    return _connected(points, triangles)


def _local_spacing(region: np.ndarray, limbs: list[_Limb], spacing: float) -> np.ndarray:
    """(h, w) float32: the point spacing at each pixel: `spacing`, but in a short limb one
    that leaves _LIMB_CELLS from its root to its tip."""
    local = np.full(region.shape, spacing, np.float32)
    for limb in limbs:
        fine = max(_MIN_SPACING, limb.length / _LIMB_CELLS)
        local[limb.part] = np.minimum(local[limb.part], fine)
    return local


def _spacing(area: float, perimeter: float) -> float:
    """Point spacing s that gives about the target count: area / s² inside, perimeter / s
    along the outline."""
    n = _TARGET_VERTICES
    root = math.sqrt(perimeter**2 + 4 * n * area)
    return max(_MIN_SPACING, (perimeter + root) / (2 * n))


def _outline_points(contour: np.ndarray, local: np.ndarray) -> np.ndarray:
    """The outline simplified (its corners kept), long sides split at the local spacing."""
    corners = cv2.approxPolyDP(contour, _OUTLINE_TOLERANCE, closed=True)[:, 0].astype(np.float64)
    ends = np.roll(corners, -1, axis=0)
    points = []
    for start, end in zip(corners, ends, strict=True):
        spacing = min(local[int(y), int(x)] for x, y in (start, end))
        pieces = max(1, math.ceil(np.linalg.norm(end - start) / spacing))
        share = np.arange(pieces)[:, None] / pieces
        points.append(start + share * (end - start))
    return np.vstack(points)


def _grid_points(region: np.ndarray, spacing: float, where: np.ndarray) -> np.ndarray:
    """A grid inside the region, over `where`, kept half a spacing from its edge (no slivers
    there)."""
    depth = cv2.distanceTransform(region, cv2.DIST_L2, 5)
    h, w = region.shape
    ys, xs = np.mgrid[spacing / 2 : h : spacing, spacing / 2 : w : spacing]
    rows, cols = ys.astype(int).ravel(), xs.astype(int).ravel()
    inside = (depth[rows, cols] >= spacing / 2) & where[rows, cols]
    return np.column_stack([cols[inside], rows[inside]]).astype(np.float64)


def _delaunay(
    points: np.ndarray, on_outline: np.ndarray, region: np.ndarray, thinnest: float
) -> np.ndarray:
    """Delaunay triangles (vertex indices, positive signed area with y down) whose centroid
    lies inside the region, but for slivers thinner than `thinnest` px along the outline
    (three outline points almost in line): they carry no picture and flip at any bend. A thin
    triangle inside is kept: without it the mesh cracks, and the pieces either side of the
    crack hang on each other by one corner (the legs of a figure 1300 px tall fell apart so)."""
    h, w = region.shape
    subdiv = cv2.Subdiv2D((-1, -1, w + 2, h + 2))
    subdiv.insert([(float(x), float(y)) for x, y in points])
    index = {(float(x), float(y)): i for i, (x, y) in enumerate(points)}
    triangles = []
    for corners in np.asarray(subdiv.getTriangleList()).reshape(-1, 3, 2):
        keys = [(float(x), float(y)) for x, y in corners]
        if all(key in index for key in keys):
            triangles.append([index[key] for key in keys])
    found = np.array(triangles, np.int64).reshape(-1, 3)
    corners = points[found].astype(np.float64)
    centroids = np.round(corners.mean(axis=1)).astype(int)
    area = _signed_areas(corners)
    longest = np.linalg.norm(corners - np.roll(corners, 1, axis=1), axis=2).max(axis=1)
    sliver = (np.abs(area) <= thinnest * longest) & on_outline[found].all(axis=1)
    keep = (region[centroids[:, 1], centroids[:, 0]] > 0) & ~sliver
    found = found[keep]
    flip = area[keep] < 0
    found[flip] = found[flip][:, [0, 2, 1]]
    return found


def _signed_areas(corners: np.ndarray) -> np.ndarray:
    a, b = corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
    return a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]


def _connected(points: np.ndarray, triangles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The largest edge-connected piece of the mesh, its vertices renumbered."""
    kept = triangles[_largest_piece(triangles, len(points))]
    used, renumbered = np.unique(kept, return_inverse=True)
    return points[used], renumbered.reshape(-1, 3)


def _largest_piece(triangles: np.ndarray, count: int) -> np.ndarray:
    """(t,) bool: the triangles of the mesh's largest piece joined by shared vertices."""
    labels = np.arange(count)
    while True:
        merged = labels.copy()
        np.minimum.at(merged, triangles, labels[triangles].min(axis=1, keepdims=True))
        merged = merged[merged]
        if np.array_equal(merged, labels):
            break
        labels = merged
    owner = labels[triangles[:, 0]]
    return owner == np.bincount(owner).argmax()


# --- deforming ----------------------------------------------------------------------------

_EDGES = ((0, 1), (1, 2), (2, 0))


def _stiffness(vertices: np.ndarray, triangles: np.ndarray, core: np.ndarray) -> np.ndarray:
    """Each triangle's weight in both steps: the core's resist more, so the torso and head
    keep their shape and the limbs take the bending."""
    centroids = np.round(vertices[triangles].mean(axis=1)).astype(int)
    inside = core[centroids[:, 1], centroids[:, 0]] > 0
    return np.where(inside, _TORSO_STIFFNESS, 1.0)


def _solve(
    vertices: np.ndarray, triangles: np.ndarray, weights: np.ndarray, fixed: np.ndarray
) -> _Solver:
    """Both steps' systems restricted to the free vertices, solved for the handles' influence
    once (dense: a few hundred vertices)."""
    free = np.setdiff1d(np.arange(len(vertices)), fixed)
    per_side = np.tile(weights, 3)
    incidence = _incidence(triangles, len(vertices))
    laplacian = incidence.T @ (incidence * per_side[:, None])
    terms = _similarity_terms(vertices, triangles) * np.repeat(np.sqrt(per_side), 2)[:, None]
    gram = terms.T @ terms
    # A triangle that hangs on the mesh by one corner (a sliver on the outline of a large or
    # blurred cut-out) turns and scales freely about it in step 1, which is then singular, or
    # nearly so and solved to noise everywhere. A faint pull of each edge towards its rest
    # vector places it (it keeps its rest shape on that corner) and leaves the rest pose exact.
    pull = _EDGE_PULL * np.trace(gram) / np.trace(laplacian) * np.kron(laplacian, np.eye(2))
    gram += pull
    free2, fixed2 = _coordinates(free), _coordinates(fixed)
    towards_rest = (pull @ vertices.ravel())[free2, None]
    solved = np.linalg.solve(
        gram[np.ix_(free2, free2)], np.hstack([gram[np.ix_(free2, fixed2)], towards_rest])
    )
    similar, offset = -solved[:, :-1], solved[:, -1]
    inner = laplacian[np.ix_(free, free)]
    from_edges = np.linalg.solve(inner, (incidence[:, free] * per_side[:, None]).T)
    from_handles = -np.linalg.solve(inner, laplacian[np.ix_(free, fixed)])
    corners = vertices[triangles]
    shapes = corners - corners.mean(axis=1, keepdims=True)
    return _Solver(free, fixed, similar, offset, from_edges, from_handles, shapes)


def _coordinates(indices: np.ndarray) -> np.ndarray:
    """Indices of the x and y unknowns of these vertices, interleaved."""
    return np.column_stack([2 * indices, 2 * indices + 1]).ravel()


def _similarity_terms(vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Step 1's residuals as rows over the interleaved unknowns: each corner as predicted by
    its opposite edge and its rest coordinates in that edge's frame. Every residual vanishes
    under any similarity of the rest mesh, so step 1 may turn and scale but not shear."""
    t, n = len(triangles), len(vertices)
    terms = np.zeros((3, t, 2, 2 * n))
    rows = np.arange(t)
    for turn in range(3):
        a, b, c = (triangles[:, (turn + k) % 3] for k in range(3))
        edge, to_c = vertices[b] - vertices[a], vertices[c] - vertices[a]
        norm = (edge**2).sum(axis=1)
        along = (to_c * edge).sum(axis=1) / norm
        across = (to_c[:, 1] * edge[:, 0] - to_c[:, 0] * edge[:, 1]) / norm
        # c - a - along (b - a) - across R (b - a), with R a quarter turn: blocks [[p, -q], [q, p]]
        for vertex, p, q in ((a, along - 1, across), (b, -along, -across), (c, 1.0, 0.0)):
            terms[turn, rows, 0, 2 * vertex] = p
            terms[turn, rows, 0, 2 * vertex + 1] = -q
            terms[turn, rows, 1, 2 * vertex] = q
            terms[turn, rows, 1, 2 * vertex + 1] = p
    return terms.reshape(6 * t, 2 * n)


def _incidence(triangles: np.ndarray, n: int) -> np.ndarray:
    """One row per triangle side, +1 at its first vertex and -1 at its second."""
    t = len(triangles)
    incidence = np.zeros((3 * t, n))
    rows = np.arange(t)
    for k, (i, j) in enumerate(_EDGES):
        incidence[k * t + rows, triangles[:, i]] = 1.0
        incidence[k * t + rows, triangles[:, j]] = -1.0
    return incidence


def deform(rig: Rig, targets: HandleTargets) -> np.ndarray:
    """The mesh's vertex positions (n, 2) with its handles at `targets`: a mapping from handle
    names (missing ones stay at rest) or an array (k, 2) in `rig.handles` order."""
    wanted = dict(zip(rig.handles, _handle_positions(rig, targets), strict=True))
    solver = rig.solver
    positions = rig.vertices.copy()
    for name, index in rig.handles.items():
        if name not in rig.hinges:
            positions[index] = wanted[name]
    fixed = positions[solver.fixed]
    positions[solver.free] = (solver.similar @ fixed.ravel() + solver.offset).reshape(-1, 2)
    fitted = _fit_rigidly(solver.rest_shapes, positions[rig.triangles])
    edges = np.concatenate([fitted[:, i] - fitted[:, j] for i, j in _EDGES])
    positions[solver.free] = solver.from_edges @ edges + solver.from_handles @ fixed
    for name, hinge in rig.hinges.items():
        positions[hinge.piece] = _turned(rig, name, positions, wanted[name])
    return positions


def _turned(rig: Rig, name: str, positions: np.ndarray, target: np.ndarray) -> np.ndarray:
    """A hinged piece's vertices: moved as the body moved around its pivot, then turned about
    the pivot so that its handle points from its joint towards `target`."""
    hinge, rest = rig.hinges[name], rig.vertices
    carry, shift = _rigid_fit(rest[hinge.anchors], positions[hinge.anchors])
    joint = rig.joints[name]
    asked = carry.T @ (target - (carry @ joint + shift))
    held = rest[rig.handles[name]] - joint
    angle = math.atan2(asked[1], asked[0]) - math.atan2(held[1], held[0])
    cos, sin = math.cos(angle), math.sin(angle)
    whole = carry @ np.array([[cos, -sin], [sin, cos]])
    return (rest[hinge.piece] - hinge.pivot) @ whole.T + carry @ hinge.pivot + shift


def _rigid_fit(before: np.ndarray, after: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rotation (2x2) and shift that best carry the points `before` onto `after`."""
    centre_before, centre_after = before.mean(axis=0), after.mean(axis=0)
    a, b = before - centre_before, after - centre_after
    angle = math.atan2(float((a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]).sum()), float((a * b).sum()))
    cos, sin = math.cos(angle), math.sin(angle)
    turn = np.array([[cos, -sin], [sin, cos]])
    return turn, centre_after - turn @ centre_before


def _handle_positions(rig: Rig, targets: HandleTargets) -> np.ndarray:
    if isinstance(targets, np.ndarray):
        return np.asarray(targets, np.float64).reshape(len(rig.handles), 2)
    unknown = set(targets) - set(rig.handles)
    if unknown:
        raise ValueError(f"the rig has no handles {sorted(unknown)}")
    rest = {name: rig.rest(name) for name in rig.handles}
    return np.array([targets.get(name, rest[name]) for name in rig.handles], np.float64)


def _fit_rigidly(rest_shapes: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """Step 2's fitting: each rest triangle turned to best match its step-1 corners (the
    rotation of a 2-D Procrustes fit) and centred on them, at its rest size."""
    centre = corners.mean(axis=1, keepdims=True)
    moved = corners - centre
    dot = (rest_shapes * moved).sum(axis=(1, 2))
    cross = (rest_shapes[..., 0] * moved[..., 1] - rest_shapes[..., 1] * moved[..., 0]).sum(1)
    scale = np.maximum(np.hypot(dot, cross), 1e-12)
    cos, sin = (dot / scale)[:, None], (cross / scale)[:, None]
    x, y = rest_shapes[..., 0], rest_shapes[..., 1]
    return centre + np.stack([cos * x - sin * y, sin * x + cos * y], axis=-1)


# --- posing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Moves:
    """A pose as changes from rest; lengths are shares of the figure's height."""

    swing: dict[str, float] = field(default_factory=dict)  # limb tip -> degrees about its root
    lift: dict[str, float] = field(default_factory=dict)  # limb tip -> how far it rises
    sink: float = 0.0  # the torso goes down, rigidly (a crouch); negative rises
    sway: float = 0.0  # body and hips go right, the shoulders half as far, the head stays
    breath: float = 0.0  # the head rises


def limb_pose(
    rig: Rig, action: str, phase: float, direction: int = 1
) -> dict[str, tuple[float, float]]:
    """Every handle's target for `action` at `phase` (cycles: `CYCLES_PER_SECOND[action] * t`
    plus any offset; only its fraction matters). `direction` +1 travels right, -1 left.
    Limbs swing about their roots; the torso moves only rigidly, so the head and body stay
    recognisable. An unknown action idles."""
    return _targets(rig, _ACTIONS.get(action, _idle)(rig, phase % 1.0, direction))


def _leg(rig: Rig, foot: str) -> float:
    return float(np.linalg.norm(rig.rest(foot) - rig.joints[foot]))


def _drop(rig: Rig, foot: str) -> float:
    """How far the foot hangs below its hip: what a crouch or a lift bends."""
    return max(0.0, float(rig.rest(foot)[1] - rig.joints[foot][1]))


def _targets(rig: Rig, moves: _Moves) -> dict[str, tuple[float, float]]:
    # the hips move over planted feet only as far as the legs bend: with no legs, not at all
    travel = _LEG_TRAVEL * min((_drop(rig, foot) for foot in _feet(rig)), default=0.0)
    shifts = _torso_shifts(rig, moves, travel)
    targets = {name: rig.rest(name) + shifts[name] for name in ("head", "body", "hips")}
    for limb, joint in LIMBS.items():
        if limb in rig.joints:
            # feet stay planted whatever the torso does: the legs bend instead
            shift = shifts.get(joint, np.zeros(2))
            swing = _limited(rig, limb, _spared(rig, limb, moves.swing.get(limb, 0.0)))
            targets[limb] = _placed(rig, limb, swing, shift)
            lift = moves.lift.get(limb, 0.0) * rig.height
            targets[limb][1] -= min(lift, _LEG_TRAVEL * _drop(rig, limb))
    return {name: (float(x), float(y)) for name, (x, y) in targets.items()}


def _torso_shifts(rig: Rig, moves: _Moves, travel: float) -> dict[str, np.ndarray]:
    """How far the torso's handles and the shoulders move: all sink alike; the body and hips
    sway, the shoulders half as far, the head not at all, and only the head breathes. The
    hips, over the feet, sink and sway at most `travel` px: with short legs (or none) the
    figure stays planted, and the rest of a sway leans the torso about its hips, rigidly."""
    sink = np.array([0.0, np.clip(moves.sink * rig.height, -travel, travel)])
    sway = moves.sway * rig.height
    side = np.array([np.clip(sway, -travel, travel), 0.0])
    shifts = {
        "head": sink - np.array([0.0, moves.breath * rig.height]),
        "body": sink + side,
        "hips": sink + side,
        "left_shoulder": sink + 0.5 * side,
        "right_shoulder": sink + 0.5 * side,
    }
    lean = sway - side[0]
    if lean:
        pivot = rig.rest("hips")
        turn = -math.degrees(math.atan2(lean, pivot[1] - rig.rest("body")[1]))
        points = {name: rig.rest(name) for name in ("head", "body")}
        points |= {LIMBS[hand]: rig.joints[hand] for hand in _hands(rig)}
        for name, point in points.items():
            shifts[name] = shifts[name] + pivot + _turn(point - pivot, turn) - point
    return shifts


def _spared(rig: Rig, limb: str, swing: float) -> float:
    """A limb turns towards the torso (an arm down into its side, a foot across to the other)
    less far than away from it: the bend would fold over on that side. For an arm the torso is
    where the hips are: one held out level (a mascot's stub, below the body's middle) turns
    down into it, not up past the head. A foot steps (see _stepped): towards the hips' side."""
    joint, hips = rig.joints[limb], rig.rest("hips")
    if limb in _FEET:
        closing = 1 if hips[0] > rig.rest(limb)[0] else -1
    else:
        towards = _screen_angle(hips - joint) - _screen_angle(rig.rest(limb) - joint)
        closing = 1 if (towards + 180.0) % 360.0 - 180.0 > 0 else -1  # the turn that closes
    return _INWARD_SWING * swing if swing * closing > 0 else swing


def _limited(rig: Rig, limb: str, swing: float) -> float:
    """The swing eased into the limb's range: as asked up to its knee, then approaching the
    range's end without reaching it."""
    low, high = rig.ranges.get(limb, (-_MAX_SWING, _MAX_SWING))
    end = high if swing > 0 else -low
    knee = _RANGE_KNEE * end
    if end <= 0.0 or abs(swing) <= knee:
        return swing if end > 0.0 else 0.0
    eased = knee + (end - knee) * math.tanh((abs(swing) - knee) / (end - knee))
    return math.copysign(eased, swing)


def _range(rig: Rig, limb: str) -> tuple[float, float]:
    """How far the limb turns each way, alone, before its mesh stretches past _MAX_STRETCH."""
    ends = []
    for sense in (-1, 1):
        reached = 0.0
        for angle in np.arange(_RANGE_STEP, _MAX_SWING + 1e-6, _RANGE_STEP):
            target = _placed(rig, limb, sense * float(angle), np.zeros(2))
            if _stretch(rig, deform(rig, {limb: (target[0], target[1])})) > _MAX_STRETCH:
                break
            reached = float(angle)
        ends.append(sense * reached)
    return ends[0], ends[1]


def _stretch(rig: Rig, posed: np.ndarray) -> float:
    """The most a triangle is stretched, longer axis over shorter, but for those around a
    handle (a point pulled through a fine mesh pinches it there, however far the limb can
    go); infinite if any flips."""
    linear = _affines(posed, rig.vertices, rig.triangles)[:, :, :2]
    if (np.linalg.det(linear) <= 0).any():
        return math.inf
    axes = np.linalg.svd(linear, compute_uv=False)
    away = ~np.isin(rig.triangles, list(rig.handles.values())).any(axis=1)
    return float((axes[away, 0] / axes[away, 1]).max())


def _placed(rig: Rig, limb: str, swing: float, shift: np.ndarray) -> np.ndarray:
    """Where the limb's handle goes for a swing: a hand turns about its shoulder, a foot steps."""
    return _stepped(rig, limb, swing) if limb in _FEET else _swung(rig, limb, swing, shift)


def _stepped(rig: Rig, foot: str, swing: float) -> np.ndarray:
    """The foot moved as the end of a leg hanging from its hip would be by this swing: forward
    and a little up. Turned about its root, a foot pointing sideways (a mascot's, tucked under
    its body) would only rock; and the leg is at least _STRIDE_LEG long, or a stub's steps
    would hardly show."""
    leg = max(_leg(rig, foot), _STRIDE_LEG * rig.height)
    step = np.array([math.sin(math.radians(swing)), math.cos(math.radians(swing)) - 1.0])
    return rig.rest(foot) + leg * step


def _swung(rig: Rig, limb: str, swing: float, shift: np.ndarray) -> np.ndarray:
    """The limb's handle turned `swing` degrees about its joint, which moves with the torso,
    and reaching a little further the more it turns: the inside of the bend then stretches
    instead of folding."""
    joint = rig.joints[limb]
    reach = 1.0 + _REACH * abs(swing) / _MAX_SWING
    return joint + shift + reach * _turn(rig.rest(limb) - joint, swing)


def _turn(vector: np.ndarray, degrees: float) -> np.ndarray:
    """`vector` turned counter-clockwise on screen (y down)."""
    a = math.radians(degrees)
    x, y = vector
    return np.array([x * math.cos(a) + y * math.sin(a), -x * math.sin(a) + y * math.cos(a)])


def _screen_angle(vector: np.ndarray) -> float:
    return math.degrees(math.atan2(-vector[1], vector[0]))


def _hands(rig: Rig) -> list[str]:
    return [name for name in _HANDS if name in rig.handles]


def _feet(rig: Rig) -> list[str]:
    return [name for name in _FEET if name in rig.handles]


def _outward(rig: Rig, tip: str) -> int:
    """+1 where the limb's tip is right of the body, -1 left."""
    return 1 if rig.rest(tip)[0] >= rig.rest("body")[0] else -1


def _raise(rig: Rig, tip: str, from_up: float) -> float:
    """The swing that points the limb `from_up` degrees out from straight up (0 overhead,
    90 straight out, 180 straight down), turning the short way, at most _MAX_SWING."""
    target = 90.0 - _outward(rig, tip) * from_up
    current = _screen_angle(rig.rest(tip) - rig.joints[tip])
    swing = (target - current + 180.0) % 360.0 - 180.0
    return max(-_MAX_SWING, min(_MAX_SWING, swing))


def _arm_sense(rig: Rig, hand: str) -> int:
    """Which way an arm swings "forward": a hanging arm swings its hand towards +x on a
    counter-clockwise turn; an arm held out swings up and down, opposite the other."""
    limb = rig.rest(hand) - rig.joints[hand]
    hanging = limb[1] > abs(limb[0])
    return 1 if hanging else _outward(rig, hand)


def _stride(rig: Rig, u: float, direction: int, step: float, lift: float, arm: float) -> _Moves:
    """Feet step in turn (one lifts and swings forward while the other, planted, goes back),
    each arm swinging with the opposite leg."""
    swing, lifts = {}, {}
    for foot, hand, offset in (("left_foot", "right_hand", 0.0), ("right_foot", "left_hand", 0.5)):
        angle = 2 * math.pi * (u + offset)
        forward = -math.cos(angle)
        if foot in rig.handles:
            swing[foot] = direction * step * forward
            lifts[foot] = lift * max(0.0, math.sin(angle))
        if hand in rig.handles:
            gain = _STUB_SWING if hand in rig.hinges else 1.0
            swing[hand] = direction * gain * arm * forward * _arm_sense(rig, hand)
    return _Moves(swing, lifts)


def _walk(rig: Rig, u: float, direction: int) -> _Moves:
    return _stride(rig, u, direction, step=18.0, lift=0.04, arm=16.0)


def _run(rig: Rig, u: float, direction: int) -> _Moves:
    return _stride(rig, u, direction, step=28.0, lift=0.08, arm=30.0)


def _hopping(rig: Rig, u: float, squash: float, reach: float) -> _Moves:
    """Motion.py's hop: a crouch, the flight (arms up, body stretched), a landing crouch.
    The feet stay; the torso goes down, the legs bend."""
    air, stretch = hop(u, air=0.55, squash=squash)
    swing = {hand: reach * air * _raise(rig, hand, 45.0) for hand in _hands(rig)}
    return _Moves(swing, sink=0.6 * (1.0 - stretch))


def _jump(rig: Rig, u: float, direction: int) -> _Moves:
    return _hopping(rig, u, squash=0.15, reach=0.6)


def _bounce(rig: Rig, u: float, direction: int) -> _Moves:
    return _hopping(rig, u, squash=0.1, reach=0.25)


def _wave(rig: Rig, u: float, direction: int) -> _Moves:
    """The hand with the most room to wave (the travel side's among equals) raised as far
    towards 15° from straight up as its limb turns, then dropped outwards by WAVE_DROP and
    raised again. A bent limb drops at most WAVE_DROP_SHARE of its raise: waving about a fixed
    angle instead (35° from up, 20° either way) moved the demo mascot's bent stub 3°, both ends
    past the end of its 38° range. So a bent arm held up already has little room, and the other
    waves: Big Buck Bunny stretching, one hand by its head, waved that one 0.1 % of its outline.
    A stub turns whole, so it drops all the way, even from an arm held up already."""
    hands = _hands(rig)
    if not hands:
        return _Moves()
    travel_side = "right_hand" if direction > 0 else "left_hand"
    waves = {hand: _wave_arc(rig, hand) for hand in hands}
    hand = max(hands, key=lambda h: (waves[h][1], h == travel_side))
    top, drop = waves[hand]
    lowered = 0.5 - 0.5 * math.cos(2 * math.pi * u)  # 0 at the top of the wave, 1 at its foot
    return _Moves({hand: top - _outward(rig, hand) * drop * lowered})


def _wave_arc(rig: Rig, hand: str) -> tuple[float, float]:
    """(the swing to the top of the hand's wave, how far it drops from there), in degrees."""
    top = _limited(rig, hand, _raise(rig, hand, 15.0))
    drop = WAVE_DROP if hand in rig.hinges else min(WAVE_DROP, WAVE_DROP_SHARE * abs(top))
    return top, drop


def _dance(rig: Rig, u: float, direction: int) -> _Moves:
    """One arm up, then the other, a beat each, the hips swaying to the beat."""
    beat = math.sin(2 * math.pi * u)
    shares = {"left_hand": 0.5 + 0.5 * beat, "right_hand": 0.5 - 0.5 * beat}
    swing = {hand: shares[hand] * _raise(rig, hand, 30.0) for hand in _hands(rig)}
    return _Moves(swing, sway=0.03 * math.sin(4 * math.pi * u))


def _sit(rig: Rig, u: float, direction: int) -> _Moves:
    return _Moves(sink=0.08, breath=0.004 * math.sin(2 * math.pi * u))


def _skate(rig: Rig, u: float, direction: int) -> _Moves:
    """Knees bent a little, arms out, the body swaying slowly; the arms see-saw for balance
    (SKATE_BALANCES times a cycle, once a second) and the knees pump with them. With the slow
    sway alone (10°) the demo mascot's outline strayed 0.4 % in a second: a rigid cut-out
    gliding, not a rider."""
    sway = math.sin(2 * math.pi * u)
    balance = math.sin(2 * math.pi * SKATE_BALANCES * u)
    swing = {
        hand: _raise(rig, hand, 100.0 + _outward(rig, hand) * (10.0 * sway + 25.0 * balance))
        for hand in _hands(rig)
    }
    return _Moves(swing, sink=0.03 + 0.01 * sway + 0.015 * abs(balance), sway=0.02 * sway)


def _idle(rig: Rig, u: float, direction: int) -> _Moves:
    """A slow breath."""
    return _Moves(breath=0.008 * math.sin(2 * math.pi * u))


def _fly(rig: Rig, u: float, direction: int) -> _Moves:
    """Arms flap together; legs trail behind."""
    flap = 0.5 + 0.5 * math.sin(2 * math.pi * u)
    swing = {hand: flap * _raise(rig, hand, 50.0) for hand in _hands(rig)}
    for foot in _feet(rig):
        swing[foot] = -direction * 12.0
    return _Moves(swing)


def _swim(rig: Rig, u: float, direction: int) -> _Moves:
    """Arms stroke in turn; legs flutter, twice as fast."""
    stroke = math.sin(2 * math.pi * u)
    shares = {"left_hand": 0.5 + 0.5 * stroke, "right_hand": 0.5 - 0.5 * stroke}
    swing = {hand: shares[hand] * _raise(rig, hand, 25.0) for hand in _hands(rig)}
    kick = 10.0 * math.sin(4 * math.pi * u)
    for foot in _feet(rig):
        swing[foot] = kick if foot == "left_foot" else -kick
    return _Moves(swing)


def _spin(rig: Rig, u: float, direction: int) -> _Moves:
    """Arms thrown out by the turn."""
    return _Moves({hand: 0.6 * _raise(rig, hand, 90.0) for hand in _hands(rig)})


_ACTIONS: dict[str, Callable[[Rig, float, int], _Moves]] = {
    "walk": _walk,
    "run": _run,
    "jump": _jump,
    "bounce": _bounce,
    "wave": _wave,
    "dance": _dance,
    "sit": _sit,
    "skate": _skate,
    "idle": _idle,
    "fly": _fly,
    "swim": _swim,
    "spin": _spin,
}


# --- drawing ------------------------------------------------------------------------------


def draw(
    rgba: np.ndarray, rig: Rig, deformed: np.ndarray
) -> tuple[np.ndarray, tuple[float, float]]:
    """The cut-out (any 4-channel uint8, straight or premultiplied: every channel is warped
    alike) with its mesh moved to `deformed`, in a new image that holds it all; and that
    image's offset: where its pixel (0, 0) lies in the rest cut-out's pixels, so that a point
    the mesh moved to p is drawn at p - offset.

    One inverse map: each low-resolution pixel takes the affine map of the triangle over it
    (reaching a little past the mesh's edge), the map is enlarged and the image remapped once.
    The map is continuous across triangles, so nothing cracks between them. A stub cut out as
    a piece of its own is drawn apart from its own pixels and laid over the body as
    premultiplied colour ("over"), which the animatic's cut-outs are."""
    if not rig.hinges:
        return _drawn(rgba, rig.vertices, rig.triangles, deformed)
    cut = np.logical_or.reduce([hinge.pixels for hinge in rig.hinges.values()])
    body = np.ones(len(rig.triangles), bool)
    for hinge in rig.hinges.values():
        body[hinge.rows] = False
    drawn = _drawn(_only(rgba, ~cut), rig.vertices, rig.triangles[body], deformed)
    for hinge in rig.hinges.values():
        piece = rig.triangles[hinge.rows]
        drawn = _over(_drawn(_only(rgba, hinge.pixels), rig.vertices, piece, deformed), drawn)
    return drawn


def _only(rgba: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """The image with every other pixel cleared."""
    return cv2.bitwise_and(rgba, rgba, mask=pixels.astype(np.uint8))


def _over(
    top: tuple[np.ndarray, tuple[float, float]], under: tuple[np.ndarray, tuple[float, float]]
) -> tuple[np.ndarray, tuple[float, float]]:
    """Two drawn layers in one image that holds both, `top` laid over `under` (whose image it
    reuses where it holds both)."""
    (upper, (ux, uy)), (lower, (lx, ly)) = top, under
    x0, y0 = min(ux, lx), min(uy, ly)
    x1 = max(ux + upper.shape[1], lx + lower.shape[1])
    y1 = max(uy + upper.shape[0], ly + lower.shape[0])
    canvas = lower
    if (x0, y0, x1, y1) != (lx, ly, lx + lower.shape[1], ly + lower.shape[0]):
        canvas = np.zeros((round(y1 - y0), round(x1 - x0), 4), np.uint8)
        left, up = round(lx - x0), round(ly - y0)
        canvas[up : up + lower.shape[0], left : left + lower.shape[1]] = lower
    left, up = round(ux - x0), round(uy - y0)
    blend(canvas[up : up + upper.shape[0], left : left + upper.shape[1]], upper)
    return canvas, (x0, y0)


def _drawn(
    rgba: np.ndarray, rest: np.ndarray, triangles: np.ndarray, deformed: np.ndarray
) -> tuple[np.ndarray, tuple[float, float]]:
    """`draw` for one layer of triangles."""
    scale = _MAP_SCALE
    used = deformed[np.unique(triangles)]
    origin = np.floor(used.min(axis=0)) - scale
    span = np.ceil(used.max(axis=0)) + scale - origin
    low_w, low_h = (int(v) for v in np.ceil(span / scale))
    low = _inverse_map(rest, triangles, deformed, origin, (low_w, low_h))
    xs, ys = (
        cv2.resize(low[..., k], (low_w * scale, low_h * scale), interpolation=cv2.INTER_LINEAR)
        for k in (0, 1)
    )
    # Bilinear, not bicubic: 47-49 dB from bicubic on the drawn cast's poses in a sixth of the
    # time (bicubic was the largest part of drawing a pose, 4 ms on two threads).
    image = cv2.remap(rgba, xs, ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    # past the mesh's edge the map extrapolates, and could show a part that moved away
    covered = _coverage(triangles, deformed - origin, image.shape[1::-1])
    return cv2.bitwise_and(image, image, mask=covered), (float(origin[0]), float(origin[1]))


def _inverse_map(
    rest: np.ndarray,
    triangles: np.ndarray,
    deformed: np.ndarray,
    origin: np.ndarray,
    size: tuple[int, int],
) -> np.ndarray:
    """(h, w, 2) float32: the rest position under each low-resolution pixel's centre, which
    cv2.resize puts at full-resolution pixel scale * i + (scale - 1) / 2."""
    scale = _MAP_SCALE
    centre = (scale - 1) / 2
    ids = _triangle_ids(triangles, (deformed - origin - centre) / scale, size)
    nowhere = np.array([[[0.0, 0.0, _FAR], [0.0, 0.0, _FAR]]])
    affines = np.concatenate([nowhere, _affines(deformed, rest, triangles)])
    # float32 from here: the map is float32 anyway, and this is the pose's largest array work
    chosen = affines.astype(np.float32)[ids]
    x = (float(origin[0]) + centre + scale * np.arange(size[0], dtype=np.float32))[None, :, None]
    y = (float(origin[1]) + centre + scale * np.arange(size[1], dtype=np.float32))[:, None, None]
    return chosen[..., 0] * x + chosen[..., 1] * y + chosen[..., 2]


def _coverage(triangles: np.ndarray, points: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """255 on the triangles (each edge pixel included: no cracks) and within the margin
    around them, where the map still extrapolates its neighbours truly (and fills in for the
    slivers the mesh dropped); 0 elsewhere."""
    covered = _rasterised(triangles, points, size)
    return cv2.dilate(covered, np.ones((2 * _MARGIN + 1,) * 2, np.uint8))


def _rasterised(triangles: np.ndarray, points: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """255 on the triangles, each edge pixel included; 0 elsewhere."""
    covered = np.zeros(size[::-1], np.uint8)
    for corner in np.round(points[triangles] * 16).astype(np.int32):  # 4 fractional bits
        cv2.fillConvexPoly(covered, corner, 255, cv2.LINE_8, 4)
    return covered


def _triangle_ids(triangles: np.ndarray, points: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Which triangle (1-based; 0 for none) covers each low-resolution pixel: later triangles
    over earlier ones, and each reaching _EXTEND pixels past the mesh's edge so that
    enlarging the map blends its edge with true values."""
    ids = np.zeros(size[::-1], np.uint16)
    corners = np.round(points[triangles] * 16).astype(np.int32)  # 4 fractional bits
    for number, corner in enumerate(corners, start=1):
        cv2.fillConvexPoly(ids, corner, number, cv2.LINE_8, 4)
    reach = cv2.dilate(ids, np.ones((2 * _EXTEND + 1,) * 2, np.uint8))
    return np.where(ids > 0, ids, reach)


def _affines(deformed: np.ndarray, rest: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """(t, 2, 3): each triangle's map from its deformed corners back to its rest ones."""
    moved, still = deformed[triangles], rest[triangles]
    e = moved[:, 1:] - moved[:, :1]  # rows: the two sides from corner 0
    r = still[:, 1:] - still[:, :1]
    det = e[:, 0, 0] * e[:, 1, 1] - e[:, 0, 1] * e[:, 1, 0]
    det = np.where(np.abs(det) < 1e-9, 1e-9, det)
    inverse = np.stack([[e[:, 1, 1], -e[:, 1, 0]], [-e[:, 0, 1], e[:, 0, 0]]]) / det
    linear = np.einsum("tki,kjt->tij", r, inverse)
    shift = still[:, 0] - np.einsum("tij,tj->ti", linear, moved[:, 0])
    return np.concatenate([linear, shift[..., None]], axis=2)
