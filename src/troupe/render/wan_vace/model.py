"""The local model directory: what a complete one holds and whether it can make the configured
clips (both checked at start-up, before any job is taken), the size it declares, and loading it
into a `WanVACEPipeline` on the configured device."""

from __future__ import annotations

import importlib.util
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from troupe.render.wan_vace.plan import NativeFormat, parse_resolution

PIPELINE_CLASS = "WanVACEPipeline"
OFFLOADS = ("none", "model", "sequential")
# troupe's own file in a model folder, read as a Declaration: the size the model makes clips at
# when TROUPE_WAN_VACE_RESOLUTION is `auto` (Wan-AI's folders have none: 480p), and such.
DECLARATION = "troupe.json"
DEFAULT_RESOLUTION = "480p"
_WEIGHTS = ("*.safetensors", "*.bin", "*.safetensors.index.json", "*.bin.index.json")
_TOKENIZER_FILES = ("tokenizer.json", "spiece.model", "tokenizer_config.json")
# diffusers' defaults for Wan, for a config.json that leaves them out.
_VAE_DOWNSAMPLE = (False, True, True)
_PATCH = (1, 2, 2)
_ROPE_POSITIONS = 1024


class ModelUnavailable(ValueError):
    """The back end cannot run as configured; the message says what to do."""


@dataclass(frozen=True)
class Placement:
    """Where the model runs: a torch device, a dtype name and an offload mode."""

    device: str  # "auto", "cpu", "cuda", "cuda:1", ...
    dtype: str  # "auto", "bfloat16", "float16", "float32"
    offload: str  # one of OFFLOADS


def check_model_dir(path: Path | None) -> None:
    """Raise ModelUnavailable unless `path` holds a complete diffusers-format Wan VACE model."""
    if path is None:
        raise ModelUnavailable(
            "the wan-vace back end needs TROUPE_WAN_VACE_MODEL: the folder of a diffusers-format "
            "Wan2.1-VACE model (see the README, 'Running on a GPU')"
        )
    index_file = path / "model_index.json"
    if not index_file.is_file():
        raise ModelUnavailable(f"{path} is not a diffusers model folder: no model_index.json")
    try:
        index = json.loads(index_file.read_text())
    except (OSError, ValueError) as error:
        raise ModelUnavailable(f"{index_file} cannot be read: {error}") from error
    if index.get("_class_name") != PIPELINE_CLASS:
        raise ModelUnavailable(
            f"{path} holds a {index.get('_class_name')!r} model, not a {PIPELINE_CLASS}"
        )
    missing = [
        problem for name, entry in sorted(index.items()) if (problem := _missing(path, name, entry))
    ]
    if missing:
        raise ModelUnavailable(f"the model in {path} is incomplete: {'; '.join(missing)}")


def _missing(root: Path, name: str, entry: Any) -> str | None:
    """What a component listed in model_index.json lacks, or None."""
    if name.startswith("_") or not isinstance(entry, list) or entry[0] is None:
        return None
    folder = root / name
    if not folder.is_dir():
        return f"no {name}/ folder"
    if name == "scheduler":
        return None if (folder / "scheduler_config.json").is_file() else "no scheduler config"
    if name == "tokenizer":
        present = any((folder / file).is_file() for file in _TOKENIZER_FILES)
        return None if present else "no tokenizer files"
    if not (folder / "config.json").is_file():
        return f"no {name}/config.json"
    if not any(any(folder.glob(pattern)) for pattern in _WEIGHTS):
        return f"no weights in {name}/"
    return None


@dataclass(frozen=True)
class Declaration:
    """What a model folder's troupe.json says about running the model (Wan-AI's folders have
    none; the tiny model's has both)."""

    resolution: str | None = None  # its native size, for TROUPE_WAN_VACE_RESOLUTION=auto
    cpu_threads: int | None = None  # torch's threads on a CPU, where fewer are faster


def read_declaration(path: Path | None) -> Declaration:
    file = None if path is None else path / DECLARATION
    if file is None or not file.is_file():
        return Declaration()
    try:
        declared = json.loads(file.read_text())
    except (OSError, ValueError) as error:
        raise ModelUnavailable(f"{file} cannot be read: {error}") from error
    if not isinstance(declared, dict):
        raise ModelUnavailable(f'{file} must be an object, e.g. {{"resolution": "480p"}}')
    resolution, threads = declared.get("resolution"), declared.get("cpu_threads")
    if resolution is not None:
        try:
            parse_resolution(str(resolution))
        except ValueError as error:
            raise ModelUnavailable(f"{file}: {error}") from error
    if threads is not None and (type(threads) is not int or threads < 1):
        raise ModelUnavailable(f"{file}: cpu_threads must be a whole number from 1")
    return Declaration(None if resolution is None else str(resolution), threads)


def native_format(path: Path | None, resolution: str, frames: int, fps: int) -> NativeFormat:
    """What one call of the model makes: `resolution` (for `auto`, the one the model folder
    declares, else Wan2.1's 480p) and `frames` at `fps`."""
    if resolution.strip().lower() == "auto":
        resolution = read_declaration(path).resolution or DEFAULT_RESOLUTION
    width, height = parse_resolution(resolution)
    return NativeFormat(width, height, frames, fps)


def check_capacity(path: Path, native: NativeFormat, max_references: int) -> None:
    """Raise ModelUnavailable unless the model in `path` can make `native` clips, in either
    orientation, with up to `max_references` reference pictures: sides that its VAE and its
    transformer's patches divide, and a latent grid within its rotary table on every axis (the
    table was the tiny model's limit once: 32 positions, where 480p needs 52)."""
    vae, transformer = _config(path, "vae"), _config(path, "transformer")
    downsample = vae.get("temperal_downsample") or _VAE_DOWNSAMPLE
    spatial, temporal = 2 ** len(downsample), 2 ** sum(bool(step) for step in downsample)
    p_t, p_h, p_w = transformer.get("patch_size") or _PATCH
    table = int(transformer.get("rope_max_seq_len") or _ROPE_POSITIONS)
    size = f"{native.width}x{native.height}"
    step = spatial * max(p_h, p_w)
    if native.width % step or native.height % step:
        raise ModelUnavailable(
            f"the model in {path} makes clips whose sides are multiples of {step}; {size} is "
            "not: change TROUPE_WAN_VACE_RESOLUTION"
        )
    if (native.frames - 1) % (temporal * p_t):
        raise ModelUnavailable(
            f"the model in {path} makes clips of {temporal * p_t}k + 1 frames; "
            f"{native.frames} is not: change TROUPE_WAN_VACE_FRAMES"
        )
    across = max(native.width // (spatial * p_w), native.height // (spatial * p_h))
    if across > table:
        widest = table * spatial * min(p_h, p_w)
        raise ModelUnavailable(
            f"the model in {path} cannot make {size} clips: its transformer's rotary table "
            f"(rope_max_seq_len) has {table} positions per axis and {size} needs {across}; "
            f"set TROUPE_WAN_VACE_RESOLUTION to at most {widest} pixels on the long side, or "
            "use a model with a longer table"
        )
    through = ((native.frames - 1) // temporal + 1 + max_references) // p_t
    if through > table:
        most = max(0, (table * p_t - max_references - 1) * temporal + 1)
        raise ModelUnavailable(
            f"the model in {path} cannot make clips of {native.frames} frames: its "
            f"transformer's rotary table (rope_max_seq_len) has {table} positions per axis, "
            f"and {native.frames} frames with up to {max_references} reference pictures need "
            f"{through}; set TROUPE_WAN_VACE_FRAMES to at most {most}"
        )


def _config(path: Path, component: str) -> dict[str, Any]:
    file = path / component / "config.json"
    try:
        config = json.loads(file.read_text())
    except (OSError, ValueError) as error:
        raise ModelUnavailable(f"{file} cannot be read: {error}") from error
    if not isinstance(config, dict):
        raise ModelUnavailable(f"{file} is not a model config")
    return config


def check_libraries() -> None:
    """Raise ModelUnavailable unless torch, diffusers and transformers (the `wan` extra) are
    installed. Found, not imported: importing them takes seconds, which the first render pays
    as it loads the pipeline, not every start of a server that may never render with them."""
    for name in ("diffusers", "torch", "transformers"):
        if importlib.util.find_spec(name) is None:
            raise ModelUnavailable(
                f"the wan-vace back end needs the 'wan' extra ({name} is missing): "
                "pip install 'troupe[wan]', or scripts/setup wan"
            )


def check_placement(placement: Placement) -> None:
    if placement.offload not in OFFLOADS:
        raise ModelUnavailable(
            f"TROUPE_WAN_VACE_OFFLOAD must be one of {', '.join(OFFLOADS)}, "
            f"got {placement.offload!r}"
        )
    if placement.dtype not in ("auto", "bfloat16", "float16", "float32"):
        raise ModelUnavailable(
            f"TROUPE_WAN_VACE_DTYPE must be auto, bfloat16, float16 or float32, "
            f"got {placement.dtype!r}"
        )


def load_pipeline(
    path: Path, placement: Placement, loading: Callable[[str, float], None] | None = None
) -> Any:
    """The pipeline on its device, ready to call; the VAE stays float32, as Wan's own code
    keeps it, whatever the transformer's dtype. `loading(part, done)` is told before each part
    is read, with the share of the model's bytes read so far: the text encoder and the
    transformer of a real model are tens of gigabytes, read for a minute or more."""
    import torch
    import transformers
    from diffusers import AutoencoderKLWan, WanVACEPipeline, WanVACETransformer3DModel
    from diffusers.utils import logging as diffusers_logging

    told = loading or (lambda part, done: None)
    # Their loading bars would fill the server's log at every start.
    diffusers_logging.disable_progress_bar()
    transformers.utils.logging.disable_progress_bar()
    device = resolve_device(placement.device)
    on_gpu = device.startswith("cuda")
    if placement.offload != "none" and not on_gpu:
        raise ModelUnavailable("TROUPE_WAN_VACE_OFFLOAD needs a CUDA device")
    dtype_name = placement.dtype
    if dtype_name == "auto":
        dtype_name = "bfloat16" if on_gpu else "float32"
    dtype = getattr(torch, dtype_name)
    threads = read_declaration(path).cpu_threads
    if threads is not None and not on_gpu:
        # Only this back end uses torch in a troupe process.
        torch.set_num_threads(threads)
    parts: list[tuple[str, str, Callable[[], Any]]] = [
        (
            "text_encoder",
            "text encoder",
            lambda: transformers.UMT5EncoderModel.from_pretrained(
                path / "text_encoder", dtype=dtype
            ),
        ),
        (
            "transformer",
            "transformer",
            lambda: WanVACETransformer3DModel.from_pretrained(
                path, subfolder="transformer", dtype=dtype
            ),
        ),
        (
            "vae",
            "VAE",
            lambda: AutoencoderKLWan.from_pretrained(path, subfolder="vae", dtype=torch.float32),
        ),
    ]
    sizes = [_weights_size(path / folder) for folder, _, _ in parts]
    # The rest (tokenizer, scheduler, the move to the device) as a twentieth of the bytes.
    total = sum(sizes) * 1.05 or 1.0
    loaded: dict[str, Any] = {}
    for (folder, name, load), read in zip(parts, [0, *itertools.accumulate(sizes)], strict=False):
        told(name, read / total)
        loaded[folder] = load()
    told(f"tokenizer and scheduler, and the move to {device}", sum(sizes) / total)
    pipeline = WanVACEPipeline.from_pretrained(path, dtype=dtype, **loaded)
    if placement.offload == "model":
        pipeline.enable_model_cpu_offload(device=device)
    elif placement.offload == "sequential":
        pipeline.enable_sequential_cpu_offload(device=device)
    else:
        pipeline.to(device)
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


def _weights_size(folder: Path) -> int:
    return sum(
        file.stat().st_size
        for pattern in ("*.safetensors", "*.bin")
        for file in folder.glob(pattern)
        if file.is_file()
    )


def resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelUnavailable(f"TROUPE_WAN_VACE_DEVICE is {device!r} but no CUDA device is seen")
    return device
