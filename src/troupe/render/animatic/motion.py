"""Where the characters stand and how they and the camera move: pure functions of time.

Lengths are pixels of the output frame at zoom 1; x grows to the right, y downwards, angles
are degrees counter-clockwise on screen. A character's own motion keeps its cut-out nearly
undistorted (mild stretch and rotation, heavy squash only for a few frames on landing), so
the consistency scorer can still recognise it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

# Height of one character as a share of the frame's height, by cast size (1, 2, 3+).
_TARGET_HEIGHT = (0.55, 0.5, 0.45)
# Below this share in one row, the cast stands in two rows.
_MIN_ROW_HEIGHT = 0.3
_GROUND = 0.88  # the front row's feet, share of the frame height
_BACK_SCALE = 0.85
_BACK_OVERLAP = 0.2  # share of the back row hidden behind the front row's heads, at most
_FILL = 0.9  # share of the frame width a row may take
_GAP = 0.08  # between characters, share of their height
_MARGIN = 0.03  # kept clear at the frame's edges, share of its width
SKATEBOARD_HEIGHT = 0.07  # share of the character's height the board lifts it by

# Ground speeds in character heights per second.
_SPEEDS = {"walk": 0.6, "run": 1.5, "skate": 1.1, "swim": 0.5, "fly": 0.8}
TRAVELLING = frozenset(_SPEEDS)
_MIN_LEG_SECONDS = 1.5  # a back-and-forth leg never turns quicker than this
MAX_ZOOM = 1.35
_MIN_ZOOM_MOVE = 1.12  # a zoom the prompt asks for shows, even if the cast's edges leave
_PAN = 0.12  # the most a pan moves either side, share of the frame width
_DRIFT = 0.02


@dataclass(frozen=True)
class Slot:
    """A character's home: the centre of its feet and its height, in frame pixels."""

    x: float
    ground: float
    height: float


@dataclass(frozen=True)
class Pose:
    """A character at one instant. `stretch` > 1 makes it taller and thinner, keeping area."""

    x: float  # centre of the feet, world pixels (the ground layer's)
    ground: float  # the ground line under it
    lift: float  # feet above the ground
    scale: float  # of the slot's height
    stretch: float
    angle: float
    pivot: float  # rotation centre, as a share of the height above the feet
    shadow: float  # ground shadow opacity, 0..1


@dataclass(frozen=True)
class Motion:
    """One character's moves: its action from the prompt and where it may go."""

    action: str
    slot: Slot
    phase: float  # 0..1, so a cast does not move in lockstep
    direction: int  # +1 starts to the right, -1 to the left
    travel: float  # how far it may wander either side of its slot (back and forth)
    headroom: float  # free space above its head, for flying and jumping
    # px/s on and on (a tracking camera follows); 0 travels back and forth instead
    pace: float = 0.0
    talk: tuple[tuple[float, float], ...] = ()  # (start, end) seconds of its voice


@dataclass(frozen=True)
class CameraPose:
    """The camera at one instant: the ground layer's horizontal offset and magnification, and
    a parallax spread (a layer of depth d shifts by orbit * (d - 1))."""

    x: float
    zoom: float
    orbit: float


@dataclass(frozen=True)
class CameraPath:
    """A camera move over the video, around a fixed zoom centre in frame pixels."""

    move: str
    seconds: float
    width: int
    centre: tuple[float, float]
    direction: int = 1
    sweep: float = 0.0  # how far a pan or drift moves either side of centre, px
    max_zoom: float = MAX_ZOOM
    follow: tuple[Motion, ...] = ()  # the travellers a tracking camera keeps in shot

    def at(self, t: float) -> CameraPose:
        u = smootherstep(t / self.seconds)
        sweep = self.sweep * (2 * u - 1)
        if self.move == "zoom_in":
            return CameraPose(0.0, 1.0 + (self.max_zoom - 1.0) * u, 0.0)
        if self.move == "zoom_out":
            return CameraPose(0.0, self.max_zoom - (self.max_zoom - 1.0) * u, 0.0)
        if self.move in ("pan_left", "pan_right"):
            return CameraPose(sweep if self.move == "pan_right" else -sweep, 1.02, 0.0)
        if self.move == "orbit":
            return CameraPose(0.0, 1.06, self.direction * 0.2 * self.width * (2 * u - 1))
        if self.move == "track":
            orbit = self.direction * 0.06 * self.width * (2 * u - 1)
            return CameraPose(self._followed(t), 1.05, orbit)
        if self.move == "static":
            return CameraPose(0.0, 1.0, 0.0)
        return CameraPose(self.direction * sweep, 1.0 + 0.04 * u, 0.0)

    def _followed(self, t: float) -> float:
        if not self.follow:
            return self.direction * 0.08 * self.width * (2 * smootherstep(t / self.seconds) - 1)
        moved = [pose_at(m, t).x - m.slot.x for m in self.follow]
        return float(np.mean(moved))


def layer_view(camera: CameraPose, depth: float) -> tuple[float, float]:
    """(horizontal offset, zoom) of a scene layer at `depth` (0 the sky, 1 the ground): far
    layers move and magnify less, which is what makes the picture look deep."""
    offset = camera.x * depth + camera.orbit * (depth - 1.0)
    zoom = 1.0 + (camera.zoom - 1.0) * (0.5 + 0.5 * depth)
    return offset, zoom


def ground_top_share(width: int, height: int) -> float:
    """Where the ground begins, as a share of the frame height: higher in a portrait frame,
    whose narrow width leaves the cast short and the ground room for a second row."""
    return 0.72 if width >= height else 0.64


# --- layout -------------------------------------------------------------------------------


def layout(aspects: Sequence[float], width: int, height: int) -> tuple[Slot, ...]:
    """Home slots for characters of these width/height aspects: one row, centred and spread
    out, or two rows (the back one higher and smaller) when one row would make them small."""
    n = len(aspects)
    if n == 0:
        return ()
    target = _TARGET_HEIGHT[min(n, 3) - 1] * height
    one_row = _row_height(aspects, width, target)
    if n == 1 or one_row >= _MIN_ROW_HEIGHT * height:
        return tuple(_row(aspects, range(n), width, one_row, _GROUND * height))
    front, back = range(0, n, 2), range(1, n, 2)
    front_h = _row_height([aspects[i] for i in front], width, target)
    back_h = _BACK_SCALE * _row_height([aspects[i] for i in back], width, target)
    front_row = _row(aspects, front, width, front_h, _GROUND * height)
    # the back row stands further off: higher, just showing over the front row's heads
    above_heads = _GROUND * height - front_h + _BACK_OVERLAP * back_h
    back_ground = max((ground_top_share(width, height) + 0.02) * height, above_heads)
    back_row = _row(aspects, back, width, back_h, back_ground)
    if len(back) == len(front) - 1:
        # stand in the gaps of the front row
        back_row = [
            Slot((a.x + b.x) / 2, s.ground, s.height)
            for a, b, s in zip(front_row, front_row[1:], back_row, strict=False)
        ]
    slots = {**dict(zip(front, front_row, strict=True)), **dict(zip(back, back_row, strict=True))}
    return tuple(slots[i] for i in range(n))


def _row_height(aspects: Sequence[float], width: int, target: float) -> float:
    widths = sum(aspects) + _GAP * (len(aspects) - 1)
    return min(target, _FILL * width / widths)


def _row(
    aspects: Sequence[float], members: range, width: int, h: float, ground: float
) -> list[Slot]:
    """Spread the members' widths evenly across the usable width, in order."""
    widths = [aspects[i] * h for i in members]
    usable = _FILL * width
    gap = (usable - sum(widths)) / len(widths)
    left = (width - usable) / 2
    slots = []
    for w in widths:
        slots.append(Slot(x=left + gap / 2 + w / 2, ground=ground, height=h))
        left += w + gap
    return slots


def free_travel(slots: Sequence[Slot], aspects: Sequence[float], width: int) -> float:
    """How far the cast can shift together, either way, and all stay in the frame."""
    if not slots:
        return 0.0
    left = min(s.x - a * s.height / 2 for s, a in zip(slots, aspects, strict=True))
    right = max(s.x + a * s.height / 2 for s, a in zip(slots, aspects, strict=True))
    margin = _MARGIN * width
    return max(0.0, min(left - margin, width - margin - right))


def camera_budget(
    move: str, slots: Sequence[Slot], aspects: Sequence[float], width: int
) -> tuple[float, float, float]:
    """Share out the room the cast has left in the frame between its own travel and the
    camera's move, so that neither takes anyone out of shot: (travel, sweep, max zoom)."""
    room = free_travel(slots, aspects, width)
    if move in ("pan_left", "pan_right", "drift"):
        sweep = min((_PAN if move != "drift" else _DRIFT) * width, 0.5 * room)
        return room - sweep, sweep, MAX_ZOOM
    if move in ("zoom_in", "zoom_out") and slots:
        travel = 0.5 * room
        reach = max(
            abs(s.x - width / 2) + a * s.height / 2 for s, a in zip(slots, aspects, strict=True)
        )
        fit = (width / 2 - _MARGIN * width) / (reach + travel)
        return travel, 0.0, min(MAX_ZOOM, max(_MIN_ZOOM_MOVE, fit))
    return room, 0.0, MAX_ZOOM


# --- easing -------------------------------------------------------------------------------


def smootherstep(u: float) -> float:
    """0 to 1 with zero speed and acceleration at both ends; clamped outside [0, 1]."""
    u = min(1.0, max(0.0, u))
    return u * u * u * (u * (6 * u - 15) + 10)


def back_and_forth(t: float, amplitude: float, speed: float) -> float:
    """Eased travel between -amplitude and +amplitude, starting at 0 heading for +amplitude,
    at `speed` on average; each leg eases out of and into its turn."""
    if amplitude <= 0:
        return 0.0
    leg = max(_MIN_LEG_SECONDS, 2 * amplitude / max(speed, 1e-6))
    # start at the middle of a rising leg: time shifted by half a leg
    s = t / leg + 0.5
    k = math.floor(s)
    rising = k % 2 == 0
    eased = smootherstep(s - k)
    return amplitude * (2 * eased - 1 if rising else 1 - 2 * eased)


def hop(u: float, air: float, squash: float) -> tuple[float, float]:
    """One hop cycle at phase u in [0, 1): (lift as a share of the peak, stretch).

    A crouch, `air` of the cycle in flight (stretched a little), a brief squash on landing,
    then rest."""
    crouch, land = 0.12, 0.12
    if u < crouch:
        return 0.0, 1.0 - 0.5 * squash * math.sin(math.pi * u / crouch)
    if u < crouch + air:
        s = (u - crouch) / air
        return 4 * s * (1 - s), 1.0 + 0.06 * (1 - 2 * s) ** 2
    if u < crouch + air + land:
        s = (u - crouch - air) / land
        return 0.0, 1.0 - squash * math.sin(math.pi * s)
    return 0.0, 1.0


# --- actions ------------------------------------------------------------------------------

_Action = Callable[[Motion, float], Pose]


def pose_at(motion: Motion, t: float) -> Pose:
    """The character's pose `t` seconds into the video."""
    pose = _ACTIONS.get(motion.action, _idle)(motion, t)
    talking = _talking(motion.talk, t)
    if talking:
        # a quick pulse while its voice plays reads as speech
        pulse = 1.0 + 0.03 * talking * abs(math.sin(2 * math.pi * 3.0 * t))
        pose = dataclasses.replace(pose, stretch=pose.stretch * pulse)
    return pose


def _base(m: Motion, x: float | None = None, **changes: float) -> Pose:
    values = {
        "x": m.slot.x if x is None else x,
        "ground": m.slot.ground,
        "lift": 0.0,
        "scale": 1.0,
        "stretch": 1.0,
        "angle": 0.0,
        "pivot": 0.0,
        "shadow": 1.0,
        **changes,
    }
    return Pose(**values)


def _cycle(m: Motion, t: float, hz: float) -> float:
    """Phase angle of a periodic move, offset per character."""
    return 2 * math.pi * (hz * t + m.phase)


def _travel(m: Motion, t: float) -> float:
    if m.pace:
        return m.slot.x + m.direction * m.pace * t
    speed = _SPEEDS.get(m.action, 0.0) * m.slot.height
    return m.slot.x + m.direction * back_and_forth(t, m.travel, speed)


def _velocity(m: Motion, t: float) -> float:
    """Horizontal speed as a share of the action's top speed, signed; drives leaning."""
    dt = 1 / 48
    v = (_travel(m, t + dt) - _travel(m, t - dt)) / (2 * dt)
    top = 2 * _SPEEDS.get(m.action, 1.0) * m.slot.height
    return max(-1.0, min(1.0, v / top))


def _idle(m: Motion, t: float) -> Pose:
    return _base(
        m,
        angle=2.0 * math.sin(_cycle(m, t, 0.25)),
        stretch=1.0 + 0.012 * math.sin(_cycle(m, t, 0.3)),
    )


def _sit(m: Motion, t: float) -> Pose:
    return _base(
        m,
        angle=0.8 * math.sin(_cycle(m, t, 0.15)),
        stretch=0.98 + 0.01 * math.sin(_cycle(m, t, 0.2)),
    )


def _stride(m: Motion, t: float, steps_hz: float, bob: float, lean: float) -> Pose:
    step = _cycle(m, t, steps_hz / 2)  # one sine period is two steps
    return _base(
        m,
        x=_travel(m, t),
        lift=bob * m.slot.height * abs(math.sin(step)),
        angle=3.0 * math.sin(step) - lean * _velocity(m, t),
        stretch=1.0 + 0.015 * math.cos(2 * step),
    )


def _walk(m: Motion, t: float) -> Pose:
    return _stride(m, t, steps_hz=2.0, bob=0.035, lean=4.0)


def _run(m: Motion, t: float) -> Pose:
    return _stride(m, t, steps_hz=3.2, bob=0.07, lean=10.0)


def _hopping(m: Motion, t: float, period: float, peak: float, squash: float) -> Pose:
    u = (t / period + m.phase) % 1.0
    lift, stretch = hop(u, air=0.55, squash=squash)
    height = min(peak * m.slot.height, m.headroom)
    return _base(m, lift=lift * height, stretch=stretch, shadow=1.0 - 0.5 * lift)


def _jump(m: Motion, t: float) -> Pose:
    return _hopping(m, t, period=1.2, peak=0.35, squash=0.15)


def _bounce(m: Motion, t: float) -> Pose:
    return _hopping(m, t, period=0.55, peak=0.12, squash=0.1)


def _spin(m: Motion, t: float) -> Pose:
    # about its middle throughout, so the turn starts and ends without a jump
    turn = min(1.0, max(0.0, ((t / 2.4 + m.phase) % 1.0 - 0.2) / 0.4))
    return _base(
        m,
        angle=m.direction * 360.0 * smootherstep(turn) + 2.0 * math.sin(_cycle(m, t, 0.25)),
        pivot=0.5,
        lift=0.08 * m.slot.height * math.sin(math.pi * turn),
    )


def _fly(m: Motion, t: float) -> Pose:
    takeoff = smootherstep(t / 1.2)
    cruise = min(0.6 * m.slot.height, m.headroom)
    lift = takeoff * (0.85 * cruise + 0.15 * cruise * math.sin(_cycle(m, t, 0.4)))
    return _base(
        m,
        x=_travel(m, t),
        lift=lift,
        angle=-8.0 * _velocity(m, t) * takeoff + 2.0 * math.sin(_cycle(m, t, 0.3)),
        pivot=0.5,
        shadow=1.0 / (1.0 + 3.0 * lift / m.slot.height),
    )


def _swim(m: Motion, t: float) -> Pose:
    depth = min(0.35 * m.slot.height, m.headroom)
    return _base(
        m,
        x=_travel(m, t),
        lift=depth + 0.05 * m.slot.height * math.sin(_cycle(m, t, 0.5)),
        angle=8.0 * math.cos(_cycle(m, t, 0.5)) - 6.0 * _velocity(m, t),
        pivot=0.5,
        shadow=0.3,
    )


def _dance(m: Motion, t: float) -> Pose:
    bar = (t / 4.0 + m.phase) % 1.0
    # the last beat of every bar is a twirl; the sway fades out around it
    turn = max(0.0, (bar - 0.8) / 0.2)
    sway = 1.0 - math.sin(math.pi * max(0.0, (bar - 0.7) / 0.3)) ** 2
    beat = _cycle(m, t, 1.0)
    return _base(
        m,
        x=m.slot.x + 0.15 * m.slot.height * math.sin(_cycle(m, t, 0.5)),
        lift=0.06 * m.slot.height * abs(math.sin(beat)),
        angle=10.0 * sway * math.sin(beat) + 360.0 * smootherstep(turn),
        pivot=0.3,
        stretch=1.0 + 0.04 * sway * math.cos(2 * beat),
    )


def _wave(m: Motion, t: float) -> Pose:
    rock = _cycle(m, t, 1.4)
    return _base(
        m,
        angle=6.0 * math.sin(rock),
        lift=0.015 * m.slot.height * abs(math.sin(rock)),
        stretch=1.0 + 0.02 * math.cos(rock),
    )


def _skate(m: Motion, t: float) -> Pose:
    u = (t / 3.0 + m.phase) % 1.0
    ollie = 4 * (u / 0.2) * (1 - u / 0.2) if u < 0.2 else 0.0
    board = SKATEBOARD_HEIGHT * m.slot.height
    return _base(
        m,
        x=_travel(m, t),
        lift=board + ollie * min(0.18 * m.slot.height, m.headroom),
        angle=-7.0 * _velocity(m, t),
    )


_ACTIONS: dict[str, _Action] = {
    "idle": _idle,
    "sit": _sit,
    "walk": _walk,
    "run": _run,
    "jump": _jump,
    "bounce": _bounce,
    "spin": _spin,
    "fly": _fly,
    "swim": _swim,
    "dance": _dance,
    "wave": _wave,
    "skate": _skate,
}
ACTIONS = frozenset(_ACTIONS)


def _talking(windows: tuple[tuple[float, float], ...], t: float) -> float:
    """0..1: how much the character is speaking at t, faded over 0.1 s at both ends."""
    fade = 0.1
    level = 0.0
    for start, end in windows:
        if start <= t <= end:
            level = max(level, min(1.0, (t - start) / fade, (end - t) / fade))
    return level


# --- the whole cast -----------------------------------------------------------------------


@dataclass(frozen=True)
class Choreography:
    """Every character's motion and the camera's path, for one video."""

    motions: tuple[Motion, ...]
    camera: CameraPath

    def poses(self, t: float) -> list[Pose]:
        return [pose_at(m, t) for m in self.motions]


def choreograph(
    actions: Sequence[str],
    aspects: Sequence[float],
    camera: str,
    size: tuple[int, int],
    seconds: float,
    rng: np.random.Generator,
    talk: Sequence[tuple[tuple[float, float], ...]] = (),
) -> Choreography:
    """Lay the cast out for `size` (width, height) and give each its motion and the camera
    its path; `rng` picks phases and directions."""
    width, height = size
    slots = layout(aspects, width, height)
    travel, sweep, max_zoom = camera_budget(camera, slots, aspects, width)
    direction = 1 if rng.random() < 0.5 else -1
    talk = tuple(talk) or tuple(() for _ in slots)
    # travellers a tracking camera follows keep formation, at the slowest one's pace
    paces = [
        _SPEEDS[a] * s.height
        for a, s in zip(actions, slots, strict=True)
        if camera == "track" and a in TRAVELLING
    ]
    pace = min(paces, default=0.0)
    motions = tuple(
        Motion(
            action=action,
            slot=slot,
            phase=float(rng.random()),
            direction=direction,
            travel=travel,
            headroom=max(0.0, slot.ground - slot.height - _MARGIN * height),
            pace=pace if action in TRAVELLING else 0.0,
            talk=windows,
        )
        for action, slot, windows in zip(actions, slots, talk, strict=True)
    )
    centre_y = float(np.mean([s.ground - s.height / 2 for s in slots])) if slots else height / 2
    path = CameraPath(
        move=camera,
        seconds=seconds,
        width=width,
        centre=(width / 2, centre_y),
        direction=direction,
        sweep=sweep,
        max_zoom=max_zoom,
        follow=tuple(m for m in motions if m.pace),
    )
    return Choreography(motions=motions, camera=path)
