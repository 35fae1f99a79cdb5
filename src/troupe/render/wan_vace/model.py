"""The local model directory: what a complete one holds (checked at start-up, before any job
is taken) and loading it into a `WanVACEPipeline` on the configured device."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PIPELINE_CLASS = "WanVACEPipeline"
OFFLOADS = ("none", "model", "sequential")
_WEIGHTS = ("*.safetensors", "*.bin", "*.safetensors.index.json", "*.bin.index.json")
_TOKENIZER_FILES = ("tokenizer.json", "spiece.model", "tokenizer_config.json")


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


def check_libraries() -> None:
    """Raise ModelUnavailable unless torch and diffusers (the `wan` extra) are installed."""
    try:
        import diffusers  # noqa: F401
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as error:
        raise ModelUnavailable(
            f"the wan-vace back end needs the 'wan' extra ({error.name} is missing): "
            "pip install 'troupe[wan]', or scripts/setup wan"
        ) from error


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


def load_pipeline(path: Path, placement: Placement) -> Any:
    """The pipeline on its device, ready to call; the VAE stays float32, as Wan's own code
    keeps it, whatever the transformer's dtype."""
    import torch
    import transformers
    from diffusers import AutoencoderKLWan, WanVACEPipeline
    from diffusers.utils import logging as diffusers_logging

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
    vae = AutoencoderKLWan.from_pretrained(path, subfolder="vae", dtype=torch.float32)
    pipeline = WanVACEPipeline.from_pretrained(path, vae=vae, dtype=dtype)
    if placement.offload == "model":
        pipeline.enable_model_cpu_offload(device=device)
    elif placement.offload == "sequential":
        pipeline.enable_sequential_cpu_offload(device=device)
    else:
        pipeline.to(device)
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


def resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelUnavailable(f"TROUPE_WAN_VACE_DEVICE is {device!r} but no CUDA device is seen")
    return device
