"""The likeness decision: is a window's subject a stylised or non-human character, a real person,
or something no model here can decide?

The face and body detectors (humans.py) say where something person-shaped is; a sighting counts
only when it lies on the subject that is cut out, or fills the frame: people, statues and posters
elsewhere never reach the character's cut-outs. When sightings count, three models made for
their own jobs give positive evidence that the subject is not a real person:
- a drawings-versus-photographs classifier (stylisation.py: nsfwjs), on each sighting and on the
  whole figure: drawn and painted people;
- an anime face detector (anime_faces.py: AnimeFace 2009) on each face: anime and manga;
- an ImageNet classifier (the one scenery.py runs) on the figure: animals and toys, which the
  face detectors sometimes take for people;
- CLIP's image embedding with a head fitted on registry photographs and renders (rendered.py)
  on each face: rendered, painted and drawn faces, film and game CGI among them; on bodies
  where no face was seen, only to tell a photographed body from one nobody can place.
The window is stylised when that evidence is strong, a real person when every kind of it is
absent, and uncertain between: a person decides then (`TROUPE_LIKENESS_REVIEW`)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import cv2
import numpy as np

from troupe.characters.anime_faces import find_anime_faces
from troupe.characters.humans import Box, HumanSighting, confirmed
from troupe.characters.imagenet import imagenet_classifier
from troupe.characters.rendered import photograph_probability
from troupe.characters.stylisation import DRAWING, HENTAI, drawing_scores
from troupe.errors import TroupeError
from troupe.media.frames import Frame

# The subject's mask grown by this share of the frame's long side: a face at the outline of a
# cut-out, or a mask that missed some hair, still lies on it.
SUBJECT_GROWTH = 0.04
# A sighting is on the subject when this share of its box lies on the grown mask.
ON_SUBJECT = 0.4
# A face or body this large is the picture, whatever the segmentation model picked.
FILLS_FRAME = {"face": 0.12, "body": 0.45}
# Crops shown to the classifiers: the box grown by these factors, so a face keeps its hair and
# outline, and a figure a little of its surroundings, as in the pictures the models learnt from.
CROP_GROWTH = {"face": 1.6, "body": 1.1}
FIGURE_GROWTH = 1.1
# Sightings weighed per window (the earliest, spread over its frames): each costs the classifier
# a crop and, for a face, the anime detector a call.
MAX_WEIGHED = 6
# ImageNet's animal classes are its first 398; 850 is "teddy, teddy bear".
ANIMAL_CLASSES = slice(0, 398)
TOY_CLASSES = [850]
# Evidence in [0, 1], the median over the window's weighed sightings. From DRAWN (as a drawing)
# or NON_HUMAN (as an animal or toy) on, the subject is a character; at or under PHOTOGRAPHED on
# both, a real person; between, nobody here can decide. Measured per window on the calibration
# split (bench/screening_eval.py): drawn and anime people 0.85-0.99 as drawings, real people
# 0.00-0.08 except a photographed football crowd at 0.57-0.75; animals 0.89-0.93 as animals,
# real people 0.00-0.09 except one window at 0.42; film and game CGI people 0.00-0.16 on both.
DRAWN = 0.8
NON_HUMAN = 0.6
PHOTOGRAPHED = 0.15
# CLIP's chance that a face is a photograph, the median over the window's faces (tools/rendered/
# train.py, sources held out): real faces 0.57-0.95 on the real footage, never under 0.57;
# rendered, painted and drawn faces 0.09-0.50, median 0.24; 2.5% of held-out real crops scored
# under 0.3 one by one. At or under RENDERED the faces are a character's; under PHOTOGRAPHIC
# they are doubtful; from PHOTOGRAPHIC on, they are no evidence either way.
# Where no face was seen, the bodies are scored instead, but can only make a window uncertain,
# never accept it: per window, real bodies scored 0.20-0.85 (a faceless firefighter cut out of
# a photograph 0.20-0.29, a black-and-white soldier 0.47-0.53), CGI people, a rag doll and
# products held in a hand 0.09-0.37.
RENDERED = 0.25
PHOTOGRAPHIC = 0.5
# Sightings shown to the CLIP model per window: each takes it 50-160 ms on one core.
MAX_EMBEDDED = 3
# The anime face detector also fires on some real women's faces framed by long hair (a studio
# close-up, up to 1.0): where it finds anime faces on at least half the faces, a window it would
# otherwise call a person is uncertain instead, never accepted on this evidence alone.
ANIME_SHARE = 0.5
EVIDENCE_FRAMES = 3
EVIDENCE_SIDE = 640
JPEG_QUALITY = 85

Verdict = Literal["character", "person", "uncertain"]


@dataclass(frozen=True)
class Weighed:
    """One sighting that counts, with the evidence that it is not a real person: the chance it
    is a drawing (the higher of its own crop's and its figure's), whether an anime face lies on
    it, and the chance that its figure is an animal or a toy."""

    sighting: HumanSighting
    drawing: float
    anime: bool
    animal: float


@dataclass(frozen=True)
class Evidence:
    """The window's evidence, each the median over its weighed sightings."""

    drawing: float
    anime: float
    animal: float
    # CLIP's chance that the faces are photographed, or the bodies where no face was seen.
    photograph: float = 1.0
    of_faces: bool = True

    def verdict(self) -> Verdict:
        rendered_faces = self.of_faces and self.photograph <= RENDERED
        if self.drawing >= DRAWN or self.animal >= NON_HUMAN or rendered_faces:
            return "character"
        stylised = max(self.drawing, self.animal) > PHOTOGRAPHED or self.anime >= ANIME_SHARE
        if not stylised and self.photograph >= PHOTOGRAPHIC:
            return "person"
        return "uncertain"

    def describe(self) -> str:
        return (
            f"drawing {self.drawing:.2f}, anime face {self.anime:.2f}, animal or toy "
            f"{self.animal:.2f}, photographed {'face' if self.of_faces else 'body'} "
            f"{self.photograph:.2f}"
        )


@dataclass(frozen=True)
class Judgement:
    """The window's verdict and the sightings behind it (none when nothing person-shaped lay
    on the subject)."""

    verdict: Verdict
    weighed: list[Weighed]
    evidence: Evidence | None

    def refusal(self) -> TroupeError:
        """The error for a `person` verdict, naming the earliest sighting."""
        sighting = self.weighed[0].sighting
        return TroupeError(
            "human_likeness_detected",
            f"a real human {sighting.kind} was found at {sighting.time:.2f}s; "
            "characters cannot be made of real people",
            param="timestamps",
        )

    def reason(self) -> str:
        """Why an `uncertain` verdict is uncertain, in one sentence."""
        sighting = self.weighed[0].sighting
        assert self.evidence is not None
        return (
            f"a {sighting.kind} at {sighting.time:.2f}s on the subject looks neither clearly "
            f"drawn or non-human nor clearly photographed ({self.evidence.describe()}; a drawing "
            f"from {DRAWN:.2f} or an animal or toy from {NON_HUMAN:.2f} is a character, "
            f"{PHOTOGRAPHED:.2f} or less on both, photographed from {PHOTOGRAPHIC:.2f}, a real "
            "person; a body seen without a face is never enough to accept)"
        )


def judge_likeness(
    frames: list[Frame],
    sightings: list[HumanSighting],
    subject_masks: list[tuple[float, np.ndarray]] | None,
) -> Judgement:
    """Weigh the sightings that lie on the subject (all of them when no subject was found)."""
    counted = [
        s
        for s in confirmed(sightings)
        if subject_masks is None
        or counts_against_subject(s, _frame_at(frames, s.time), subject_masks)
    ]
    if not counted:
        return Judgement("character", [], None)
    weighed = weigh(frames, _spread(counted, MAX_WEIGHED), subject_masks)
    evidence = Evidence(
        drawing=float(np.median([w.drawing for w in weighed])),
        anime=float(np.mean([float(w.anime) for w in weighed if w.sighting.kind == "face"] or [0])),
        animal=float(np.median([w.animal for w in weighed])),
    )
    if evidence.verdict() != "character":
        faces = [w.sighting for w in weighed if w.sighting.kind == "face"]
        scored = faces or [w.sighting for w in weighed]
        evidence = replace(evidence, photograph=_photograph(frames, scored), of_faces=bool(faces))
    return Judgement(evidence.verdict(), weighed, evidence)


def faces_on_subject(
    frames: list[Frame],
    sightings: list[HumanSighting],
    subject_masks: list[tuple[float, np.ndarray]],
) -> bool:
    """Whether a face the detectors are sure of lies on the subject (or fills the frame): the
    subject is then a figure, drawn or real, and never scenery; the judgement says which."""
    return any(
        s.kind == "face" and counts_against_subject(s, _frame_at(frames, s.time), subject_masks)
        for s in confirmed(sightings)
    )


def _photograph(frames: list[Frame], sightings: list[HumanSighting]) -> float:
    """CLIP's median chance that the sightings (all faces, or all bodies) are photographed."""
    crops = [
        crop_around(_frame_at(frames, s.time), s.box, CROP_GROWTH[s.kind])
        for s in _spread(sightings, MAX_EMBEDDED)
    ]
    return float(np.median(photograph_probability(crops)))


def counts_against_subject(
    sighting: HumanSighting, image: np.ndarray, subject_masks: list[tuple[float, np.ndarray]]
) -> bool:
    """Whether a sighting lies on the subject's grown mask in the nearest analysed frame, or
    fills the frame."""
    height, width = image.shape[:2]
    x, y, w, h = sighting.box
    if w * h >= FILLS_FRAME[sighting.kind] * width * height:
        return True
    if not subject_masks:
        return False
    grown = grow_mask(_mask_at(subject_masks, sighting.time), (height, width))
    inside = grown[y : y + h, x : x + w]
    return bool(inside.size) and float(inside.mean()) >= ON_SUBJECT


def grow_mask(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The mask at `shape` (height, width), grown by SUBJECT_GROWTH of its long side."""
    height, width = shape
    resized = cv2.resize(mask.astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST)
    side = max(3, round(SUBJECT_GROWTH * max(height, width)) | 1)
    return cv2.dilate(resized, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side))) > 0


def weigh(
    frames: list[Frame],
    sightings: list[HumanSighting],
    subject_masks: list[tuple[float, np.ndarray]] | None,
) -> list[Weighed]:
    """Each sighting with its evidence. A face alone is too little for the drawings classifier
    to tell paint from skin (painted faces score as photographs), so the figure it belongs to
    (the subject's box, or the sighting's own when there is no subject) is looked at too."""
    images = [_frame_at(frames, s.time) for s in sightings]
    crops = [
        crop_around(im, s.box, CROP_GROWTH[s.kind]) for im, s in zip(images, sightings, strict=True)
    ]
    figures = [
        crop_around(im, _figure_box(s, subject_masks, im.shape), FIGURE_GROWTH)
        for im, s in zip(images, sightings, strict=True)
    ]
    scores = drawing_scores(crops + figures)
    drawn = scores[:, DRAWING] + scores[:, HENTAI]  # drawn pictures not safe for work are drawn
    drawing = np.maximum(drawn[: len(crops)], drawn[len(crops) :])
    classifier = imagenet_classifier()
    weighed = []
    for sighting, crop, figure, p in zip(sightings, crops, figures, drawing, strict=True):
        classes = classifier.probabilities(figure)
        animal = float(classes[ANIMAL_CLASSES].sum() + classes[TOY_CLASSES].sum())
        anime = sighting.kind == "face" and _anime_face_on(crop)
        weighed.append(Weighed(sighting, float(p), anime, animal))
    return weighed


def _anime_face_on(crop: np.ndarray) -> bool:
    """Whether the anime detector finds a face whose centre lies in the middle of the crop,
    where the sighting's face is."""
    side = crop.shape[0]
    for face in find_anime_faces(crop):
        x, y, w, h = face.box
        cx, cy = (x + w / 2) / side, (y + h / 2) / side
        if abs(cx - 0.5) < 0.25 and abs(cy - 0.5) < 0.25:
            return True
    return False


def _figure_box(
    sighting: HumanSighting,
    subject_masks: list[tuple[float, np.ndarray]] | None,
    shape: tuple[int, ...],
) -> Box:
    if not subject_masks:
        return sighting.box
    mask = _mask_at(subject_masks, sighting.time)
    sy, sx = shape[0] / mask.shape[0], shape[1] / mask.shape[1]
    x, y, w, h = cv2.boundingRect(mask.astype(np.uint8))
    return round(x * sx), round(y * sy), max(1, round(w * sx)), max(1, round(h * sy))


def _spread(sightings: list[HumanSighting], count: int) -> list[HumanSighting]:
    if len(sightings) <= count:
        return sightings
    picks = np.linspace(0, len(sightings) - 1, count).round().astype(int)
    return [sightings[i] for i in picks]


def crop_around(image: np.ndarray, box: Box, growth: float) -> np.ndarray:
    """The square around `box`, its long side grown by `growth`, kept inside the image."""
    height, width = image.shape[:2]
    x, y, w, h = box
    side = min(height, width, max(8, round(max(w, h) * growth)))
    x0 = int(np.clip(round(x + w / 2 - side / 2), 0, width - side))
    y0 = int(np.clip(round(y + h / 2 - side / 2), 0, height - side))
    return image[y0 : y0 + side, x0 : x0 + side]


def evidence_jpegs(frames: list[Frame], judgement: Judgement) -> list[bytes]:
    """JPEG frames with the doubtful regions boxed, for an operator to look at: one frame per
    sighting, at most EVIDENCE_FRAMES, spread over the window."""
    pictures = []
    for weighed in _spread([w.sighting for w in judgement.weighed], EVIDENCE_FRAMES):
        image = _frame_at(frames, weighed.time).copy()
        x, y, w, h = weighed.box
        thickness = max(2, round(max(image.shape[:2]) / 320))
        cv2.rectangle(image, (x, y), (x + w, y + h), (255, 196, 0), thickness)
        scale = EVIDENCE_SIDE / max(image.shape[:2])
        if scale < 1.0:
            image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        ok, data = cv2.imencode(
            ".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]
        )
        assert ok
        pictures.append(data.tobytes())
    return pictures


def _mask_at(subject_masks: list[tuple[float, np.ndarray]], time: float) -> np.ndarray:
    return min(subject_masks, key=lambda entry: abs(entry[0] - time))[1]


def _frame_at(frames: list[Frame], time: float) -> np.ndarray:
    return min(frames, key=lambda f: abs(f.time - time)).image
