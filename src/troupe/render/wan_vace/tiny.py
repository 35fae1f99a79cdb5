"""A tiny, randomly initialised Wan VACE model in the real diffusers layout, for tests and
smoke checks: the back end loads it exactly as it loads real weights. Nothing comes from a hub:
the text encoder's config is written here and its tokenizer is built from bytes.

The sizes follow diffusers' own tests of the pipeline (`tests/pipelines/wan/test_wan_vace.py`),
with the real models' rotary table (1024 positions), so it can make clips of any size they can.
It declares a small native size (troupe.json), which the back end uses at the default settings
as it uses 480p for Wan2.1: Wan's own clips (81 frames at 16 fps) at 80x48 render in seconds on
a CPU, and are scaled to the request like any model's. Its layers are too small to share
between threads: on a CPU one thread runs it fastest (20 times faster than two on a busy
two-core machine), and it declares that too.
"""

from __future__ import annotations

import json
from pathlib import Path

from troupe.render.wan_vace.model import DECLARATION

NATIVE_RESOLUTION = "80x48"  # about 832x480's shape, a tenth of its side
_TEXT_DIM = 32
_SPECIALS = ("<pad>", "</s>", "<unk>")


def make_tiny(dest: Path, seed: int = 0) -> Path:
    """Write the model to `dest` (created if missing) and return it."""
    import torch
    from diffusers import (
        AutoencoderKLWan,
        FlowMatchEulerDiscreteScheduler,
        WanVACEPipeline,
        WanVACETransformer3DModel,
    )
    from transformers import UMT5Config, UMT5EncoderModel

    tokenizer = byte_tokenizer()
    torch.manual_seed(seed)
    vae = AutoencoderKLWan(
        base_dim=3,
        z_dim=16,
        dim_mult=[1, 1, 1, 1],
        num_res_blocks=1,
        temperal_downsample=[False, True, True],
    )
    text_encoder = UMT5EncoderModel(
        UMT5Config(
            vocab_size=len(tokenizer),
            d_model=_TEXT_DIM,
            d_kv=8,
            d_ff=37,
            num_layers=2,
            num_heads=4,
            relative_attention_num_buckets=8,
            relative_attention_max_distance=16,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
            decoder_start_token_id=tokenizer.pad_token_id,
        )
    )
    transformer = WanVACETransformer3DModel(
        patch_size=(1, 2, 2),
        num_attention_heads=2,
        attention_head_dim=12,
        in_channels=16,
        out_channels=16,
        text_dim=_TEXT_DIM,
        freq_dim=256,
        ffn_dim=32,
        num_layers=3,
        cross_attn_norm=True,
        qk_norm="rms_norm_across_heads",
        rope_max_seq_len=1024,
        vace_layers=[0, 2],
        vace_in_channels=96,
    )
    pipeline = WanVACEPipeline(
        tokenizer=tokenizer,
        text_encoder=text_encoder,
        vae=vae,
        scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0),
        transformer=transformer,
    )
    dest.mkdir(parents=True, exist_ok=True)
    pipeline.save_pretrained(dest, safe_serialization=True)
    declaration = {
        "about": "a tiny random-weight model from `troupe backend make-tiny`: noise, made at "
        "this resolution and scaled to the request (TROUPE_WAN_VACE_RESOLUTION overrides it); "
        "its layers are too small to share between threads, so one runs it on a CPU",
        "resolution": NATIVE_RESOLUTION,
        "cpu_threads": 1,
    }
    (dest / DECLARATION).write_text(json.dumps(declaration, indent=2) + "\n")
    return dest


def byte_tokenizer():  # type: ignore[no-untyped-def]
    """A byte-level tokenizer (any text, no unknown words) that ends every prompt with `</s>`,
    as T5's does."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {token: index for index, token in enumerate([*_SPECIALS, *sorted(alphabet)])}
    core = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    core.post_processor = processors.TemplateProcessing(
        single="$A </s>", special_tokens=[("</s>", vocab["</s>"])]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        pad_token="<pad>",
        eos_token="</s>",
        unk_token="<unk>",
        model_max_length=512,
    )
