"""The wan-vace back end's speed and memory: a GPU benchmark that also runs on the CPU.

Run: .venv/bin/python bench/wan_vace.py                      # tiny model, CPU: the code path
     .venv/bin/python bench/wan_vace.py --arch 1.3b --arch 14b --offload none --offload model
     .venv/bin/python bench/wan_vace.py --model DIR --seconds 5   # real weights: + consistency

--arch builds the full-size architecture from Wan2.1-VACE's published configs with random
weights (nothing is downloaded) and times one native clip (480p, 81 frames by default): seconds
per denoising step, steps/s, seconds per clip (text encoding, steps and VAE decode) and peak
GPU memory. Random weights make noise, so no quality figure comes from it.

--model (or the default tiny model) renders through troupe's back end at the server's default
settings (the model's own size: the tiny model declares 80x48; 81 frames at 16 fps; 30 steps):
two drawn characters (tests/characters) for --seconds of 1280x720 at 24 fps, the whole render
timed, when its first denoising step began, and each character's consistency in the result
(meaningful only with real weights).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import tempfile
import time
from typing import Any

import numpy as np
from PIL import Image

from tests.characters.test_consistency import bolt, cutouts, pip
from troupe.characters.consistency import score_video
from troupe.characters.fingerprint import build_fingerprint, load_fingerprint
from troupe.render.backend import CastMember, RenderRequest
from troupe.render.wan_vace.backend import WanVaceBackend, WanVaceConfig
from troupe.render.wan_vace.model import Placement, native_format, resolve_device
from troupe.render.wan_vace.plan import on_white
from troupe.render.wan_vace.stages import CLIPS
from troupe.render.wan_vace.tiny import byte_tokenizer, make_tiny

PROMPT = "@bolt skates through a night market while @pip dances"
# Wan2.1-VACE's published transformer configs; the rest of each is the class's default.
ARCHITECTURES: dict[str, dict[str, Any]] = {
    "1.3b": {
        "num_attention_heads": 12,
        "ffn_dim": 8960,
        "num_layers": 30,
        "vace_layers": list(range(0, 30, 2)),
    },
    "14b": {
        "num_attention_heads": 40,
        "ffn_dim": 13824,
        "num_layers": 40,
        "vace_layers": list(range(0, 40, 5)),
    },
}
# umt5-xxl, the text encoder of every Wan2.1 model.
UMT5_XXL: dict[str, Any] = {
    "vocab_size": 256384,
    "d_model": 4096,
    "d_kv": 64,
    "d_ff": 10240,
    "num_layers": 24,
    "num_heads": 64,
    "feed_forward_proj": "gated-gelu",
    "relative_attention_num_buckets": 32,
    "relative_attention_max_distance": 128,
}


def drawn_cast(root: Path) -> tuple[tuple[CastMember, ...], dict[str, bytes]]:
    cast, fingerprints = [], {}
    for name, sprite in (("bolt", bolt), ("pip", pip)):
        cuts = cutouts(sprite)
        paths = []
        for i, cut in enumerate(cuts):
            paths.append(root / f"{name}_{i}.png")
            Image.fromarray(cut).save(paths[-1])
        cast.append(CastMember(f"char_{name}", name, name.title(), tuple(paths), None))
        fingerprints[f"char_{name}"] = build_fingerprint(cuts)
    return tuple(cast), fingerprints


def through_backend(args: argparse.Namespace, model: Path) -> None:
    native = native_format(model, args.resolution, args.frames, args.fps)
    placement = Placement(args.device, "auto", args.offload[0] if args.offload else "none")
    backend = WanVaceBackend(WanVaceConfig(model, placement, native, args.steps, 5.0, 1.0))
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        cast, fingerprints = drawn_cast(root)
        request = RenderRequest(PROMPT, cast, args.seconds, 1280, 720, seed=1)
        _reset_peak(args.device)
        reports: list[tuple[float, float]] = []
        began = time.perf_counter()
        backend.render(
            request,
            root / "out.mp4",
            lambda share: reports.append((time.perf_counter() - began, share)),
        )
        took = time.perf_counter() - began
        # Loading the model and encoding the prompt and the first clip's conditioning.
        before_steps = next(at for at, share in reports if share > CLIPS[0])
        scores = {
            key: score_video(load_fingerprint(data), root / "out.mp4")
            for key, data in fingerprints.items()
        }
    print(f"model {model}")
    print(f"  native {native.width}x{native.height}, {native.frames} frames at {native.fps} fps,")
    print(f"  {args.steps} steps; {args.seconds} s of 1280x720 at 24 fps")
    print(f"  render {took:.1f} s = {took / args.seconds:.2f} s per second of video")
    print(f"  {len(reports)} progress reports; denoising began after {before_steps:.1f} s")
    print(f"  peak GPU memory {_peak_gib(args.device)}")
    print("  consistency " + ", ".join(f"{k}={v:.3f}" for k, v in scores.items()))


def full_size(args: argparse.Namespace, arch: str, offload: str) -> None:
    import torch
    from diffusers import (
        AutoencoderKLWan,
        FlowMatchEulerDiscreteScheduler,
        WanVACEPipeline,
        WanVACETransformer3DModel,
    )
    from transformers import UMT5Config, UMT5EncoderModel

    device = resolve_device(args.device)
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    build_on = "cpu" if offload != "none" else device
    began = time.perf_counter()
    with torch.device(build_on):
        transformer = WanVACETransformer3DModel(**ARCHITECTURES[arch]).to(dtype)
        text_encoder = UMT5EncoderModel(UMT5Config(**UMT5_XXL)).to(dtype)
        vae = AutoencoderKLWan()
    pipeline = WanVACEPipeline(
        tokenizer=byte_tokenizer(),
        text_encoder=text_encoder,
        vae=vae,
        scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0),
        transformer=transformer,
    )
    if offload == "model":
        pipeline.enable_model_cpu_offload(device=device)
    elif offload == "sequential":
        pipeline.enable_sequential_cpu_offload(device=device)
    pipeline.set_progress_bar_config(disable=True)
    built = time.perf_counter() - began
    native = native_format(None, args.resolution, args.frames, args.fps)
    width, height = native.width, native.height
    reference = Image.fromarray(on_white(cutouts(bolt)[0]))
    stamps: list[float] = []

    def on_step(pipe: Any, step: int, timestep: Any, tensors: dict[str, Any]) -> dict[str, Any]:
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        stamps.append(time.perf_counter())
        return {}

    _reset_peak(device)
    start = time.perf_counter()
    pipeline(
        prompt="Bolt skates through a night market",
        reference_images=[reference],
        height=height,
        width=width,
        num_frames=args.frames,
        num_inference_steps=args.steps,
        generator=torch.Generator("cpu").manual_seed(0),
        output_type="np",
        callback_on_step_end=on_step,
    )
    clip = time.perf_counter() - start
    per_step = float(np.median(np.diff(stamps))) if len(stamps) > 1 else stamps[0] - start
    params = sum(p.numel() for p in transformer.parameters()) / 1e9
    print(f"{arch} ({params:.2f}B transformer), offload {offload}, {device} {dtype}:")
    print(f"  {width}x{height}, {args.frames} frames, {args.steps} steps (guidance 5: 2 passes)")
    print(f"  {per_step:.2f} s per step = {1 / per_step:.2f} steps/s; {clip:.1f} s per clip")
    print(f"  peak GPU memory {_peak_gib(device)}; built in {built:.0f} s")


def _reset_peak(device: str) -> None:
    import torch

    if resolve_device(device).startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()


def _peak_gib(device: str) -> str:
    import torch

    if not resolve_device(device).startswith("cuda"):
        return "n/a (CPU)"
    return f"{torch.cuda.max_memory_allocated() / 2**30:.1f} GiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", action="append", choices=sorted(ARCHITECTURES), default=[])
    parser.add_argument("--model", type=Path, help="a diffusers-format Wan VACE folder")
    parser.add_argument("--offload", action="append", choices=["none", "model", "sequential"])
    parser.add_argument("--device", default="auto")
    # The server's defaults: `auto` is the size the model declares (the tiny model's 80x48),
    # else 480p.
    parser.add_argument("--resolution", default="auto", help="auto (default), 480p, 720p or WxH")
    parser.add_argument("--frames", type=int, default=81)
    parser.add_argument("--fps", type=int, default=16)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--seconds", type=int, default=4)
    args = parser.parse_args()
    tiny = not args.arch and args.model is None
    for arch in args.arch:
        for offload in args.offload or ["none"]:
            full_size(args, arch, offload)
    if args.model is not None:
        through_backend(args, args.model)
    if tiny:
        with tempfile.TemporaryDirectory() as scratch:
            print("tiny random model (noise; times the code path, not a real model):")
            through_backend(args, make_tiny(Path(scratch) / "tiny"))


if __name__ == "__main__":
    main()
