"""Character creation time for a 720p 3 s window, against raw PyAV decode of that window.

Run: .venv/bin/python bench/character_create.py [--repeats N]
Prints, as medians with their ratio to the raw decode measured in the same run:
- extraction: decode at analysis size + human screening + subject extraction, in process;
- end to end: POST /v1/characters over HTTP to a real server (uvicorn, in this process) with a
  URL source on a local file server (fetch, then probe, extraction, audio clip and files in a
  sandboxed child process, then the database);
- the salient-object model's own time per frame (pre- and post-processing included) on the
  frames of the window that extraction gives it.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import av
import httpx
import uvicorn

from troupe.api.app import create_app
from troupe.characters.create import ANALYSIS_MAX_SIDE, analysis_fps, screened_extraction
from troupe.characters.extract import MAX_ANALYSED_FRAMES, WORK_SIDE
from troupe.characters.frame_quality import resize_long_side
from troupe.characters.saliency import predict_saliency
from troupe.characters.subject import model_frames
from troupe.media.probe import open_media, probe
from troupe.media.synthetic import ClipSpec, make_mascot_clip
from troupe.media.window import decode_window
from troupe.settings import Settings

WINDOW = (1.0, 4.0)


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
    frames = decode_window(path, start, end, max_side=ANALYSIS_MAX_SIDE, fps=fps)
    screened_extraction(frames, probe(path, 3840 * 2160))
    return time.perf_counter() - began


def model_seconds_per_frame(path: Path, start: float, end: float) -> float:
    """The model alone on the frames of the window it sees in an extraction."""
    fps = analysis_fps(end - start)
    frames = decode_window(path, start, end, max_side=ANALYSIS_MAX_SIDE, fps=fps)
    frames = frames[:MAX_ANALYSED_FRAMES]
    images = [resize_long_side(frames[i].image, WORK_SIDE) for i in model_frames(len(frames))]
    began = time.perf_counter()
    for image in images:
        predict_saliency(image)
    return (time.perf_counter() - began) / len(images)


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
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
            client.post("/v1/characters", json=body).raise_for_status()  # warm-up
            create_times, decode_times, extract_times, model_times = [], [], [], []
            for _ in range(args.repeats):
                began = time.perf_counter()
                client.post("/v1/characters", json=body).raise_for_status()
                create_times.append(time.perf_counter() - began)
                decode_times.append(raw_decode_seconds(clip, *WINDOW))
                extract_times.append(extraction_seconds(clip, *WINDOW))
                model_times.append(model_seconds_per_frame(clip, *WINDOW))
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


if __name__ == "__main__":
    main()
