"""The wan-vace back end's pure planning, and the model-folder check, without torch."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from troupe.render.backend import CastMember
from troupe.render.wan_vace.model import (
    ModelUnavailable,
    check_capacity,
    check_libraries,
    check_model_dir,
    native_format,
    read_declaration,
)
from troupe.render.wan_vace.plan import (
    NativeFormat,
    cover,
    name_mentions,
    on_white,
    parse_resolution,
    plan_segments,
    source_index,
)

WAN_480P = NativeFormat(832, 480, 81, 16)


def test_resolutions_are_named_or_explicit_and_follow_the_request_orientation() -> None:
    assert parse_resolution("480p") == (832, 480)
    assert parse_resolution(" 720P ") == (1280, 720)
    assert parse_resolution("48x64") == (64, 48)
    with pytest.raises(ValueError, match="480p, 720p or WxH"):
        parse_resolution("big")
    assert WAN_480P.oriented(1280, 720) == (832, 480)
    assert WAN_480P.oriented(720, 1280) == (480, 832)


def test_a_native_format_must_suit_the_model() -> None:
    with pytest.raises(ValueError, match="multiple of 16"):
        NativeFormat(830, 480, 81, 16)
    with pytest.raises(ValueError, match="4k \\+ 1"):
        NativeFormat(832, 480, 80, 16)
    assert WAN_480P.context_frames == 9
    assert NativeFormat(64, 48, 17, 8).context_frames == 5


@pytest.mark.parametrize("seconds", [1, 4, 5, 8, 12, 20])
@pytest.mark.parametrize("continues", [False, True])
def test_segments_cover_exactly_the_frames_the_output_shows(seconds: int, continues: bool) -> None:
    plan = plan_segments(WAN_480P, seconds, 24, continues)
    last_shown = source_index(seconds * 24 - 1, 24, 16)
    assert plan.timeline_frames == last_shown + 1
    assert sum(plan.new_per_segment) >= plan.timeline_frames
    # One segment fewer would not be enough.
    assert sum(plan.new_per_segment[:-1]) < plan.timeline_frames
    fresh = WAN_480P.frames - WAN_480P.context_frames
    assert plan.new_per_segment[0] == (fresh if continues else WAN_480P.frames)
    assert set(plan.new_per_segment[1:]) <= {fresh}


def test_a_five_second_request_is_one_call_of_the_model_and_twenty_seconds_four() -> None:
    assert plan_segments(WAN_480P, 5, 24, False).segments == 1
    assert plan_segments(WAN_480P, 20, 24, False).segments == 5


def test_retiming_picks_the_nearest_generated_frame_in_order() -> None:
    picked = [source_index(i, 24, 16) for i in range(48)]
    assert picked[:6] == [0, 1, 1, 2, 3, 3]
    assert picked == sorted(picked) and picked[-1] == 31


def test_cover_fills_the_output_and_crops_the_overflow_evenly() -> None:
    frame = np.zeros((480, 832, 3), np.uint8)
    frame[:4] = 255  # a band along the top: 832x480 is wider than 16:9, so rows are cropped
    out = cover(frame, 1280, 720)
    assert out.shape == (720, 1280, 3)
    assert out[0].max() < 255
    portrait = cover(frame, 720, 1280)
    assert portrait.shape == (1280, 720, 3)


def test_reference_images_are_the_subject_on_white_cropped_to_it() -> None:
    rgba = np.zeros((20, 30, 4), np.uint8)
    rgba[5:15, 10:20] = (200, 0, 0, 255)
    rgba[5, 10, 3] = 128  # half see-through: half-way to white
    image = on_white(rgba)
    assert image.shape == (10, 10, 3)
    assert tuple(image[1, 1]) == (200, 0, 0)
    assert tuple(image[0, 0]) == (227, 127, 127)


def test_mentions_become_the_characters_names() -> None:
    cast = (
        CastMember("char_1", "acme_mascot", "Acme Fox", (), None),
        CastMember("char_2", "blue_box", "", (), None),
    )
    prompt = "@acme_mascot skates. @char_2 watches @Acme_Mascot and @nobody."
    assert name_mentions(prompt, cast) == "Acme Fox skates. blue box watches Acme Fox and nobody."


def _model_dir(root: Path) -> Path:
    index = {
        "_class_name": "WanVACEPipeline",
        "scheduler": ["diffusers", "FlowMatchEulerDiscreteScheduler"],
        "tokenizer": ["transformers", "T5TokenizerFast"],
        "text_encoder": ["transformers", "UMT5EncoderModel"],
        "transformer": ["diffusers", "WanVACETransformer3DModel"],
        "transformer_2": [None, None],
        "vae": ["diffusers", "AutoencoderKLWan"],
    }
    root.mkdir()
    (root / "model_index.json").write_text(json.dumps(index))
    (root / "scheduler").mkdir()
    (root / "scheduler" / "scheduler_config.json").write_text("{}")
    (root / "tokenizer").mkdir()
    (root / "tokenizer" / "tokenizer.json").write_text("{}")
    for name in ("text_encoder", "transformer", "vae"):
        (root / name).mkdir()
        (root / name / "config.json").write_text("{}")
        (root / name / "model.safetensors").write_bytes(b"")
    return root


def test_a_complete_model_folder_passes_and_each_gap_is_named(tmp_path: Path) -> None:
    root = _model_dir(tmp_path / "wan")
    check_model_dir(root)
    (root / "vae" / "model.safetensors").unlink()
    (root / "tokenizer" / "tokenizer.json").unlink()
    with pytest.raises(ModelUnavailable) as refused:
        check_model_dir(root)
    assert "no tokenizer files" in str(refused.value)
    assert "no weights in vae/" in str(refused.value)


def test_a_missing_or_foreign_model_folder_is_refused_with_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="TROUPE_WAN_VACE_MODEL"):
        check_model_dir(None)
    with pytest.raises(ModelUnavailable, match=r"no model_index\.json"):
        check_model_dir(tmp_path)
    (tmp_path / "model_index.json").write_text(json.dumps({"_class_name": "WanPipeline"}))
    with pytest.raises(ModelUnavailable, match="'WanPipeline' model, not a WanVACEPipeline"):
        check_model_dir(tmp_path)


def test_the_size_a_folder_declares_and_what_its_configs_can_cover_are_read_without_torch(
    tmp_path: Path,
) -> None:
    root = _model_dir(tmp_path / "wan")
    assert native_format(root, "auto", 81, 16) == WAN_480P  # nothing declared: Wan2.1's 480p
    (root / "troupe.json").write_text(json.dumps({"resolution": "80x48", "cpu_threads": 1}))
    assert native_format(root, "auto", 81, 16) == NativeFormat(80, 48, 81, 16)
    assert native_format(root, "720p", 81, 16) == NativeFormat(1280, 720, 81, 16)
    assert read_declaration(root).cpu_threads == 1
    (root / "troupe.json").write_text(json.dumps({"resolution": "big"}))
    with pytest.raises(ModelUnavailable, match=r"troupe\.json: resolution must be"):
        native_format(root, "auto", 81, 16)
    # Configs that leave the rotary table out have Wan's 1024 positions: 720p fits.
    check_capacity(root, NativeFormat(1280, 720, 81, 16), max_references=8)
    (root / "transformer" / "config.json").write_text(json.dumps({"rope_max_seq_len": 32}))
    check_capacity(root, NativeFormat(512, 288, 81, 16), max_references=8)
    with pytest.raises(ModelUnavailable, match="needs 52; set TROUPE_WAN_VACE_RESOLUTION"):
        check_capacity(root, WAN_480P, max_references=8)


def test_the_libraries_are_found_without_importing_them(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("torch", "diffusers", "transformers"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    check_libraries()
    assert not {"torch", "diffusers", "transformers"} & set(sys.modules)
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name == "diffusers" else real(name)
    )
    with pytest.raises(ModelUnavailable, match=r"'wan' extra \(diffusers is missing\)"):
        check_libraries()
