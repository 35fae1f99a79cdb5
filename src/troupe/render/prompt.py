"""Read a video prompt into a plan: the scene's words, each cast member's action, the camera.

Pure functions over plain values: a keyword reading, not language understanding. Whatever the
prompt does not say falls back to a default (a park by day, clear weather, a gentle idle, a
slow camera drift).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from troupe.render.backend import CastMember

Phrases = Mapping[str, tuple[str, ...]]

PLACES: Phrases = {
    "beach": ("beach", "shore", "seaside", "coast", "ocean", "sea", "surf", "island", "tropical"),
    "forest": ("forest", "woods", "woodland", "jungle", "rainforest", "trees"),
    "city": (
        "city",
        "street",
        "streets",
        "downtown",
        "skyline",
        "rooftop",
        "alley",
        "town",
        "urban",
        "road",
        "sidewalk",
    ),
    "market": ("market", "night market", "bazaar", "stalls", "festival", "food stalls"),
    "desert": ("desert", "dunes", "dune", "sahara", "canyon", "oasis"),
    "mountain": (
        "mountain",
        "mountains",
        "alps",
        "glacier",
        "arctic",
        "tundra",
        "ski slope",
        "snowfield",
        "snowy mountain",
    ),
    "space": ("space", "outer space", "galaxy", "planet", "asteroid", "cosmos", "on the moon"),
    "underwater": (
        "underwater",
        "under the sea",
        "ocean floor",
        "seabed",
        "sea floor",
        "reef",
        "coral",
        "coral reef",
        "aquarium",
        "deep sea",
    ),
    "kitchen": ("kitchen", "bakery", "diner", "restaurant", "cafe"),
    "room": (
        "room",
        "living room",
        "bedroom",
        "indoors",
        "indoor",
        "office",
        "house",
        "classroom",
        "library",
        "studio",
    ),
    "park": ("park", "field", "meadow", "garden", "lawn", "countryside", "farm", "hill", "picnic"),
    "stage": ("stage", "concert", "theater", "theatre", "spotlight", "club", "disco"),
}
DEFAULT_PLACE = "park"

TIMES: Phrases = {
    "dawn": ("dawn", "sunrise", "daybreak", "morning", "early morning"),
    "day": ("day", "daytime", "noon", "midday", "afternoon", "daylight", "sunny"),
    "sunset": ("sunset", "dusk", "evening", "twilight", "golden hour", "sundown"),
    "night": ("night", "nighttime", "midnight", "moonlight", "moonlit", "starry", "nightfall"),
}
DEFAULT_TIME = "day"

WEATHERS: Phrases = {
    "rain": (
        "rain",
        "rains",
        "raining",
        "rainy",
        "drizzle",
        "drizzling",
        "storm",
        "stormy",
        "thunderstorm",
        "downpour",
        "showers",
    ),
    "snow": ("snow", "snows", "snowing", "snowy", "snowfall", "snowflakes", "blizzard", "flurries"),
    "fog": ("fog", "foggy", "mist", "misty", "haze", "hazy"),
    "wind": ("wind", "windy", "breeze", "breezy", "gust", "gusts", "gusty", "blustery"),
    "clear": ("clear", "clear sky", "sunny"),
}
DEFAULT_WEATHER = "clear"

PALETTES: Phrases = {
    "pink": ("pink", "magenta", "rose"),
    "neon": ("neon", "cyberpunk", "synthwave", "glowing"),
    "pastel": ("pastel", "pastels", "soft colors", "soft colours"),
    "golden": ("golden", "gold", "amber"),
    "warm": ("warm",),
    "cool": ("cool tones", "cool colors", "cool colours", "icy"),
    "blue": ("blue", "navy"),
    "purple": ("purple", "violet", "lavender"),
    "red": ("red", "crimson", "scarlet"),
    "orange": ("orange",),
    "green": ("green", "emerald"),
    "teal": ("teal", "turquoise", "aqua", "cyan"),
    "yellow": ("yellow",),
    "monochrome": ("monochrome", "black and white", "grayscale", "greyscale", "noir"),
    "vibrant": ("vibrant", "colorful", "colourful", "rainbow", "saturated"),
    "dark": ("dark", "moody", "gloomy"),
    "sepia": ("sepia", "vintage", "retro"),
}

VERBS: Phrases = {
    "walk": (
        "walk",
        "walks",
        "walking",
        "walked",
        "stroll",
        "strolls",
        "strolling",
        "wander",
        "wanders",
        "wandering",
        "march",
        "marches",
        "marching",
        "waddle",
        "waddles",
        "waddling",
    ),
    "run": (
        "run",
        "runs",
        "running",
        "ran",
        "sprint",
        "sprints",
        "sprinting",
        "dash",
        "dashes",
        "dashing",
        "race",
        "races",
        "racing",
        "jog",
        "jogs",
        "jogging",
        "chase",
        "chases",
        "chasing",
    ),
    "jump": ("jump", "jumps", "jumping", "jumped", "leap", "leaps", "leaping", "leapt"),
    "bounce": (
        "bounce",
        "bounces",
        "bouncing",
        "bounced",
        "hop",
        "hops",
        "hopping",
        "hopped",
        "bob",
        "bobs",
        "bobbing",
    ),
    "spin": (
        "spin",
        "spins",
        "spinning",
        "spun",
        "twirl",
        "twirls",
        "twirling",
        "pirouette",
        "pirouettes",
        "rotate",
        "rotates",
        "rotating",
    ),
    "fly": (
        "fly",
        "flies",
        "flying",
        "flew",
        "soar",
        "soars",
        "soaring",
        "glide",
        "glides",
        "gliding",
        "hover",
        "hovers",
        "hovering",
        "float",
        "floats",
        "floating",
    ),
    "dance": ("dance", "dances", "dancing", "danced", "groove", "grooves", "grooving", "boogie"),
    "wave": ("wave", "waves", "waving", "waved", "greet", "greets", "greeting", "salute"),
    "skate": (
        "skate",
        "skates",
        "skating",
        "skateboard",
        "skateboards",
        "skateboarding",
        "rollerblade",
        "rollerblading",
        "surfs",
        "surfing",
    ),
    "swim": (
        "swim",
        "swims",
        "swimming",
        "swam",
        "dive",
        "dives",
        "diving",
        "paddle",
        "paddles",
        "paddling",
    ),
    "sit": (
        "sit",
        "sits",
        "sitting",
        "sat",
        "rest",
        "rests",
        "resting",
        "relax",
        "relaxes",
        "relaxing",
        "lounge",
        "lounges",
        "lounging",
        "sleep",
        "sleeps",
        "sleeping",
        "nap",
        "naps",
        "napping",
    ),
    "idle": (
        "stand",
        "stands",
        "standing",
        "idle",
        "wait",
        "waits",
        "waiting",
        "pose",
        "poses",
        "posing",
        "talk",
        "talks",
        "talking",
        "sing",
        "sings",
        "singing",
        "speak",
        "speaks",
        "speaking",
    ),
}
DEFAULT_ACTION = "idle"
# "waves" after these words, or before these, is the sea's, not a greeting.
_WAVE_NOUN_BEFORE = frozenset(
    {"the", "a", "ocean", "sea", "big", "huge", "giant", "crashing", "rolling", "gentle", "of"}
)
_WAVE_NOUN_AFTER = frozenset({"crash", "crashing", "roll", "rolling", "break", "breaking", "lap"})

# Unambiguous camera phrases.
CAMERA_PHRASES: Phrases = {
    "zoom_in": (
        "zoom in",
        "zooms in",
        "zooming in",
        "zoomed in",
        "push in",
        "pushes in",
        "pushing in",
        "dolly in",
        "dollies in",
        "close up",
        "closeup",
        "zoom",
        "zooms",
        "zooming",
    ),
    "zoom_out": (
        "zoom out",
        "zooms out",
        "zooming out",
        "pull back",
        "pulls back",
        "pulling back",
        "pull out",
        "pulls out",
        "dolly out",
        "dollies out",
    ),
    "pan_left": (
        "pan left",
        "pans left",
        "panning left",
        "pan to the left",
        "pans to the left",
        "panning to the left",
    ),
    "pan_right": (
        "pan right",
        "pans right",
        "panning right",
        "pan to the right",
        "pans to the right",
        "panning to the right",
    ),
    "orbit": ("orbit shot", "orbiting camera", "arc shot", "360", "parallax"),
    "track": ("tracking shot", "tracking", "dolly", "dolly shot", "side scrolling"),
    "static": ("static shot", "static camera", "locked off", "tripod"),
}
# Words that are camera moves only when the camera is their subject ("the camera pans"): on
# their own they are too often something else ("flips pans", "@a follows @b").
CAMERA_VERBS: Phrases = {
    "pan_right": ("pan", "pans", "panning"),
    "orbit": ("orbit", "orbits", "orbiting", "circles", "circling", "circle"),
    "track": ("follow", "follows", "following", "track", "tracks", "trucks", "trucking"),
    "static": ("still", "static"),
}
DEFAULT_CAMERA = "drift"
_CAMERA_WINDOW = 3  # "camera" at most this many words before the verb

_SENTENCE_END = "."
_TOKEN = re.compile(r"@[a-z0-9_.]+|[a-z0-9_]+|[.!?;]")


@dataclass(frozen=True)
class ScenePlan:
    """What to draw: one of PLACES, TIMES and WEATHERS, and PALETTES words in prompt order."""

    place: str = DEFAULT_PLACE
    time_of_day: str = DEFAULT_TIME
    weather: str = DEFAULT_WEATHER
    palette: tuple[str, ...] = ()


@dataclass(frozen=True)
class PromptPlan:
    """The whole reading: `actions` has one VERBS key per cast member, in cast order."""

    scene: ScenePlan
    actions: tuple[str, ...]
    camera: str  # a CAMERA_PHRASES key or DEFAULT_CAMERA


def parse_prompt(prompt: str, cast: Sequence[CastMember] = ()) -> PromptPlan:
    """Plan a render from the prompt's words and where each cast member is mentioned."""
    tokens = tokenize(prompt)
    scene = ScenePlan(
        place=_first_key(tokens, PLACES) or DEFAULT_PLACE,
        time_of_day=_first_key(tokens, TIMES) or DEFAULT_TIME,
        weather=_first_key(tokens, WEATHERS) or DEFAULT_WEATHER,
        palette=_all_keys(tokens, PALETTES),
    )
    return PromptPlan(scene=scene, actions=cast_actions(tokens, cast), camera=camera_move(tokens))


def tokenize(prompt: str) -> list[str]:
    """Lower-case words, `@mentions` and sentence ends ("."), in order."""
    tokens: list[str] = []
    for token in _TOKEN.findall(prompt.lower()):
        if token.startswith("@"):
            # usernames never end with ".": a trailing one ends the sentence
            mention = token.rstrip(".")
            tokens.append(mention)
            if mention != token:
                tokens.append(_SENTENCE_END)
        elif token in "!?;":
            tokens.append(_SENTENCE_END)
        else:
            tokens.append(token)
    return tokens


def cast_actions(tokens: Sequence[str], cast: Sequence[CastMember]) -> tuple[str, ...]:
    """Each member's action: the first verb after its mention in the same sentence; otherwise
    the prompt's first verb; otherwise DEFAULT_ACTION."""
    verbs = verb_positions(tokens)
    first_verb = verbs[0][1] if verbs else DEFAULT_ACTION
    actions = []
    for member in cast:
        mentioned = [i + len(h) for h in _handles(member) for i in _find(tokens, h)]
        following = [_verb_after(tokens, verbs, end) for end in sorted(mentioned)]
        actions.append(next((v for v in following if v is not None), first_verb))
    return tuple(actions)


def verb_positions(tokens: Sequence[str]) -> list[tuple[int, str]]:
    """(token index, action) of every action verb, in order."""
    by_word = {word: action for action, words in VERBS.items() for word in words}
    found = []
    for i, token in enumerate(tokens):
        action = by_word.get(token)
        if action == "wave" and _is_sea_wave(tokens, i):
            continue
        if action is not None:
            found.append((i, action))
    return found


def camera_move(tokens: Sequence[str]) -> str:
    """The first camera move the prompt names, or DEFAULT_CAMERA."""
    found = _matches(tokens, CAMERA_PHRASES)
    for i, token in enumerate(tokens):
        for move, words in CAMERA_VERBS.items():
            if token in words and "camera" in tokens[max(0, i - _CAMERA_WINDOW) : i]:
                found.append((i, -1, move))
    return min(found)[2] if found else DEFAULT_CAMERA


def _handles(member: CastMember) -> list[tuple[str, ...]]:
    """Every way a prompt may name the member, as token sequences."""
    names = {member.username.lower(), member.id.lower()}
    handles: list[tuple[str, ...]] = [(f"@{name}",) for name in names]
    handles.extend((name,) for name in names)
    display = tuple(tokenize(member.display_name))
    if display:
        handles.append(display)
    return handles


def _verb_after(tokens: Sequence[str], verbs: list[tuple[int, str]], start: int) -> str | None:
    for i, action in verbs:
        if i < start:
            continue
        if _SENTENCE_END in tokens[start:i]:
            return None
        return action
    return None


def _is_sea_wave(tokens: Sequence[str], i: int) -> bool:
    before = tokens[i - 1] if i > 0 else ""
    after = tokens[i + 1] if i + 1 < len(tokens) else ""
    return tokens[i] in ("wave", "waves") and (
        before in _WAVE_NOUN_BEFORE or after in _WAVE_NOUN_AFTER
    )


def _find(tokens: Sequence[str], phrase: tuple[str, ...]) -> list[int]:
    n = len(phrase)
    return [i for i in range(len(tokens) - n + 1) if tuple(tokens[i : i + n]) == phrase]


def _matches(tokens: Sequence[str], phrases: Phrases) -> list[tuple[int, int, str]]:
    """(position, minus phrase length, key) of every phrase found: sorting puts the earliest
    first and, at one position, the longest ("night market" before "night")."""
    found: list[tuple[int, int, str]] = []
    for key, options in phrases.items():
        for option in options:
            words = tuple(option.split())
            found.extend((i, -len(words), key) for i in _find(tokens, words))
    return found


def _first_key(tokens: Sequence[str], phrases: Phrases) -> str | None:
    found = _matches(tokens, phrases)
    return min(found)[2] if found else None


def _all_keys(tokens: Sequence[str], phrases: Phrases) -> tuple[str, ...]:
    keys = [key for _, _, key in sorted(_matches(tokens, phrases))]
    return tuple(dict.fromkeys(keys))
