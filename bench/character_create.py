"""Character creation time for a 720p 3 s window, against raw PyAV decode of that window.

Run: .venv/bin/python bench/character_create.py [--repeats N]
Prints, as medians with their ratio to the raw decode measured in the same run:
- extraction: decode at analysis size + human screening + subject extraction, in process;
- end to end: POST /v1/characters over HTTP to a real server (uvicorn, in this process) with a
  URL source on a local file server (fetch, then probe, extraction, audio clip and files in a
  sandboxed child process, then the database);
- the salient-object model's own time per frame (pre- and post-processing included) on the
  frames of the window that extraction gives it;
- where the time goes: the whole in-process build of a character's files (what the sandboxed
  child runs), stage by stage, timed by wrapping each stage's function (medians; the screening
  detectors run on a second core beside extraction, so they are not part of the sum), and
  what end to end adds around it (fetch, the sandbox's fork, the database, HTTP).
"""

from __future__ import annotations

import argparse
import functools
import statistics
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import av
import httpx
import uvicorn

from troupe.api.app import create_app
from troupe.characters import create, extract, own_motion, saliency
from troupe.characters.create import (
    ANALYSIS_MAX_SIDE,
    analysis_fps,
    build_character_files,
    screened_extraction,
)
from troupe.characters.extract import MAX_ANALYSED_FRAMES, WORK_SIDE
from troupe.characters.frame_quality import resize_long_side
from troupe.characters.saliency import predict_saliency
from troupe.characters.sources import SourceRules
from troupe.characters.subject import model_frames
from troupe.media.probe import open_media, probe
from troupe.media.sandbox import preload_also
from troupe.media.synthetic import ClipSpec, make_mascot_clip
from troupe.media.window import decode_window
from troupe.settings import Settings
from troupe.store.blobs import BlobStore

WINDOW = (1.0, 4.0)
# (module, function, stage): each call's wall time counts to its stage. The model runs inside
# tracking, so tracking is shown without it; the detectors run on a second core.
STAGES = [
    (create, "check_source", "probe"),
    (create, "decode_grids", "decode (analysis + strip, one pass)"),
    (saliency, "predict_saliency", "salient-object model"),
    (extract, "track_subject", "tracking (besides the model)"),
    (extract, "_scenery", "scenery check"),
    (extract, "_mattes", "mattes (GrabCut, guided filter)"),
    (extract, "_cut_outs", "cut-outs, PNGs (analysis size)"),
    (extract, "build_fingerprint", "fingerprint"),
    (extract, "profile_jpeg", "profile JPEG"),
    (create, "cut_out_strip", "strip: flow and mattes"),
    (own_motion, "profile_jpeg", "profile JPEG"),
    (create, "references_at_source_size", "references at source size"),
    (create, "strip_bytes", "strip PNGs"),
    (create, "judge_likeness", "likeness judgement"),
    (create, "extract_audio_clip", "voice clip (AAC)"),
    (BlobStore, "put_bytes", "writing files"),
    (BlobStore, "put_file", "writing files"),
    (create, "find_humans", "screening detectors"),
]
BESIDE = "screening detectors"


def raw_decode_seconds(path: Path, start: float, end: float) -> float:
    """Seek to the keyframe before `start` and decode every frame up to `end`, converting none."""
    began = time.perf_counter()
    with open_media(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        container.seek(int(start / stream.time_base), stream=stream, backward=True)
        for frame in container.decode(stream):
            if frame.time is not None and frame.time >= end:
                break
    return time.perf_counter() - began


def extraction_seconds(path: Path, start: float, end: float) -> float:
    began = time.perf_counter()
    fps = analysis_fps(end - start)
    frames = decode_window(path, start, end, ANALYSIS_MAX_SIDE, fps, every_frame=True)
    screened_extraction(frames, probe(path, 3840 * 2160))
    return time.perf_counter() - began


def model_seconds_per_frame(path: Path, start: float, end: float) -> float:
    """The model alone on the frames of the window it sees in an extraction."""
    fps = analysis_fps(end - start)
    frames = decode_window(path, start, end, ANALYSIS_MAX_SIDE, fps, every_frame=True)
    frames = frames[:MAX_ANALYSED_FRAMES]
    images = [resize_long_side(frames[i].image, WORK_SIDE) for i in model_frames(len(frames))]
    began = time.perf_counter()
    for image in images:
        predict_saliency(image)
    return (time.perf_counter() - began) / len(images)


@contextmanager
def stage_clock() -> Iterator[dict[str, float]]:
    """Wrap every STAGES function so that its calls add their seconds to its stage."""
    spent: dict[str, float] = defaultdict(float)
    saved = [(owner, name, getattr(owner, name)) for owner, name, _ in STAGES]

    def timed(function: Callable[..., object], stage: str) -> Callable[..., object]:
        def run(*args: object, **kwargs: object) -> object:
            began = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[stage] += time.perf_counter() - began

        return run

    for (owner, name, original), (_, _, stage) in zip(saved, STAGES, strict=True):
        setattr(owner, name, timed(original, stage))
    try:
        yield spent
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)


def staged_build(clip: Path, blobs: BlobStore) -> dict[str, float]:
    """One in-process build of a character's files, with each stage's seconds and the total."""
    rules = SourceRules(max_seconds=60, require_audio=False, max_frame_pixels=3840 * 2160)
    with stage_clock() as spent:
        began = time.perf_counter()
        window = create.Window(*WINDOW)
        build_character_files(clip, window, rules, blobs, "bench", None, lambda _: None)
        total = time.perf_counter() - began
    stages = dict(spent)
    stages["tracking (besides the model)"] -= stages["salient-object model"]
    return {**stages, "total": total}


def print_stages(builds: list[dict[str, float]], end_to_end: float, decode: float) -> None:
    total = statistics.median(b["total"] for b in builds)
    print(f"\nwhere the time goes (medians of {len(builds)} in-process builds):")
    print(f"{'stage':<34} {'ms':>8} {'share':>6}")
    shown = 0.0
    for stage in dict.fromkeys(stage for _, _, stage in STAGES):
        median = statistics.median(b.get(stage, 0.0) for b in builds)
        note = "  (second core, beside the rest)" if stage == BESIDE else ""
        shown += 0.0 if stage == BESIDE else median
        print(f"{stage:<34} {median * 1000:8.1f} {median / total:6.0%}{note}")
    other = total - shown
    print(f"{'other in the build':<34} {other * 1000:8.1f} {other / total:6.0%}")
    print(f"{'build total':<34} {total * 1000:8.1f} {1:6.0%}  = {total / decode:.2f}x raw decode")
    around = end_to_end - total
    print(f"{'around it, end to end':<34} {around * 1000:8.1f}  (fetch, fork, database, HTTP)")


def serve_files(root: Path) -> ThreadingHTTPServer:
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def start_troupe(data_dir: Path) -> tuple[uvicorn.Server, str]:
    settings = Settings(data_dir=data_dir, allowed_hosts=["127.0.0.1"], api_keys=["bench"])
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}"


def create_fresh(client: httpx.Client, body: dict[str, str]) -> float:
    """Seconds one creation took; the character is then deleted, so that the next one from
    the same bytes and window extracts again instead of copying its files (reuse.py)."""
    began = time.perf_counter()
    created = client.post("/v1/characters", json=body)
    seconds = time.perf_counter() - began
    assert created.is_success, created.text
    client.delete(f"/v1/characters/{created.json()['id']}").raise_for_status()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    # The sandbox's children run this script again on start: its imports are loaded once.
    preload_also("troupe.api.app", "uvicorn", "httpx")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        clip = root / "source.mp4"
        make_mascot_clip(clip, ClipSpec(seconds=5, width=1280, height=720, fps=24))
        files = serve_files(root)
        troupe, base = start_troupe(root / "data")
        url = f"http://127.0.0.1:{files.server_address[1]}/source.mp4"
        body = {"url": url, "timestamps": f"{WINDOW[0]:g},{WINDOW[1]:g}"}
        with httpx.Client(
            base_url=base, headers={"Authorization": "Bearer bench"}, timeout=300
        ) as client:
            create_fresh(client, body)  # warm-up
            create_times, decode_times, extract_times, model_times = [], [], [], []
            builds = []
            for index in range(args.repeats):
                create_times.append(create_fresh(client, body))
                decode_times.append(raw_decode_seconds(clip, *WINDOW))
                extract_times.append(extraction_seconds(clip, *WINDOW))
                model_times.append(model_seconds_per_frame(clip, *WINDOW))
                builds.append(staged_build(clip, BlobStore(root / f"staged-{index}")))
        troupe.should_exit = True
        files.shutdown()
    decode = statistics.median(decode_times)
    print(f"source: 1280x720 H.264 24 fps, window {WINDOW[0]:g}-{WINDOW[1]:g} s")
    print(f"medians of {args.repeats} runs; PyAV {av.__version__}")
    print(f"{'raw decode of the window':<32} {decode * 1000:8.1f} ms")
    for label, times in (("extraction", extract_times), ("end-to-end POST", create_times)):
        median = statistics.median(times)
        print(f"{label:<32} {median * 1000:8.1f} ms = {median / decode:5.2f}x raw decode")
    frames = len(model_frames(MAX_ANALYSED_FRAMES))
    model = statistics.median(model_times)
    print(f"{'salient-object model':<32} {model * 1000:8.1f} ms a frame, {frames} frames a window")
    model_share = model * frames / decode
    floor = decode + model * frames
    end_to_end = statistics.median(create_times)
    print(
        f"{'raw decode + the model':<32} {floor * 1000:8.1f} ms "
        f"(model {model_share:.2f}x raw decode); end to end = {end_to_end / floor:.2f}x that"
    )
    print_stages(builds, end_to_end, decode)


if __name__ == "__main__":
    main()
