"""The wan-vace back end on the CPU with a tiny random-weight model in the real layout: the
MP4 it writes (size, length, sound), its progress through each stage, continuing a video, an
edit's plate, stopping when its progress report says so, a failure naming its stage, the size
the model declares, and refusing a model that cannot make the configured clips. The pictures
are noise: quality needs real weights."""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from troupe.errors import TroupeError
from troupe.media.probe import probe
from troupe.media.synthetic import ClipSpec, make_mascot_clip
from troupe.render.backend import CastMember, RenderRequest
from troupe.render.registry import BackendConfigError, load_backends
from troupe.render.wan_vace.backend import WanVaceBackend, WanVaceConfig
from troupe.render.wan_vace.model import Placement
from troupe.render.wan_vace.plan import NativeFormat
from troupe.settings import Settings

pytest.importorskip("diffusers", reason="the wan extra (scripts/setup wan) is not installed")

TINY_FORMAT = NativeFormat(64, 48, 17, 8)


class Stop(Exception):
    pass


def _config(model: Path) -> WanVaceConfig:
    return WanVaceConfig(
        model_dir=model,
        placement=Placement("auto", "auto", "none"),
        native=TINY_FORMAT,
        steps=2,
        guidance=5.0,
        conditioning_scale=1.0,
    )


@pytest.fixture(scope="module")
def backend(tiny_wan: Path) -> WanVaceBackend:
    return WanVaceBackend(_config(tiny_wan))


def _request(cast: dict[str, CastMember], **changes: object) -> RenderRequest:
    fields: dict[str, object] = {
        "prompt": "@bolt skates along the beach at night",
        "cast": (cast["bolt"], cast["pip"]),
        "seconds": 2,
        "width": 720,
        "height": 1280,
        "seed": 3,
    }
    fields.update(changes)
    return RenderRequest(**fields)  # type: ignore[arg-type]


def _shape(path: Path) -> tuple[int, int, float, bool]:
    info = probe(path, 3840 * 2160)
    return info.width, info.height, round(info.duration, 2), info.audio_codec == "aac"


def test_a_render_has_the_asked_size_length_and_sound_and_reports_progress(
    backend: WanVaceBackend, drawn_cast: dict[str, CastMember], tmp_path: Path
) -> None:
    seen: list[float] = []
    dest = tmp_path / "out.mp4"
    backend.render(_request(drawn_cast, seconds=4, width=1280, height=720), dest, seen.append)
    assert _shape(dest) == (1280, 720, 4.0, True)
    assert seen == sorted(seen) and seen[-1] == 1.0
    # 4 s at 8 fps is 33 generated frames: three calls of 17 (the last two continue from 5).
    # Loading (four parts) and the prompt, then for each call its encoding, the start of its
    # denoising, its two steps (the last starts its decoding) and its writing, then the end of
    # the file and done.
    assert len(seen) == 4 + 1 + 3 * 5 + 2


def test_continuing_a_video_drawing_over_a_plate_and_starting_from_a_picture(
    backend: WanVaceBackend, drawn_cast: dict[str, CastMember], tmp_path: Path
) -> None:
    source = tmp_path / "source.mp4"
    make_mascot_clip(source, ClipSpec(seconds=2, width=720, height=1280, fps=24))
    continued = tmp_path / "continued.mp4"
    backend.render(_request(drawn_cast, continues=source), continued, lambda share: None)
    assert _shape(continued) == (720, 1280, 2.0, True)
    edited = tmp_path / "edited.mp4"
    backend.render(_request(drawn_cast, plate=source), edited, lambda share: None)
    assert _shape(edited) == (720, 1280, 2.0, True)
    picture = tmp_path / "first.png"
    Image.new("RGB", (300, 200), (200, 40, 40)).save(picture)
    started = tmp_path / "started.mp4"
    backend.render(_request(drawn_cast, input_reference=picture), started, lambda share: None)
    assert _shape(started) == (720, 1280, 2.0, True)


def test_a_progress_report_that_raises_stops_the_render_and_leaves_no_file(
    backend: WanVaceBackend, drawn_cast: dict[str, CastMember], tmp_path: Path
) -> None:
    seen: list[float] = []

    def stop_after_first_step(share: float) -> None:
        seen.append(share)
        raise Stop

    dest = tmp_path / "stopped.mp4"
    with pytest.raises(Stop):
        backend.render(_request(drawn_cast, seconds=8), dest, stop_after_first_step)
    assert len(seen) == 1
    assert list(tmp_path.iterdir()) == []
    # The pipeline is still usable after a render was cut short.
    backend.render(_request(drawn_cast, seconds=1), dest, lambda share: None)
    assert dest.exists()


def test_the_registry_builds_it_from_settings_and_refuses_a_bad_set_up(tiny_wan: Path) -> None:
    settings = Settings(
        model_backends=["sora-2=animatic", "wan=wan-vace"],
        wan_vace_model=tiny_wan,
        wan_vace_resolution="64x48",
        wan_vace_frames=17,
    )
    backends = load_backends(settings)
    assert sorted(backends) == ["animatic", "wan-vace"]
    assert backends["wan-vace"].name == "wan-vace"
    for change, message in [
        ({"wan_vace_model": None}, "needs TROUPE_WAN_VACE_MODEL"),
        ({"wan_vace_model": tiny_wan / "vae"}, "no model_index.json"),
        ({"wan_vace_frames": 16}, "4k \\+ 1"),
        ({"wan_vace_offload": "disk"}, "TROUPE_WAN_VACE_OFFLOAD must be one of"),
        ({"wan_vace_resolution": "huge"}, "480p, 720p or WxH"),
    ]:
        with pytest.raises(BackendConfigError, match=message):
            load_backends(settings.model_copy(update=change))


def _copy_with(model: Path, dest: Path, component: str, **changes: object) -> Path:
    """A copy of `model` whose `component`/config.json has `changes`."""
    shutil.copytree(model, dest)
    path = dest / component / "config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))
    return dest


def _native(settings: Settings) -> NativeFormat:
    backend = load_backends(settings)["wan-vace"]
    assert isinstance(backend, WanVaceBackend)
    return backend.config.native


def test_the_tiny_model_declares_the_size_it_renders_at_and_a_setting_overrides_it(
    tiny_wan: Path, tmp_path: Path
) -> None:
    # The default settings: the size is the model's own, frames and rate Wan2.1's.
    settings = Settings(model_backends=["wan=wan-vace"], wan_vace_model=tiny_wan)
    assert _native(settings) == NativeFormat(80, 48, 81, 16)
    # Its rotary table is the real models': it can make their clips too, slowly.
    chosen = settings.model_copy(update={"wan_vace_resolution": "480p"})
    assert _native(chosen) == NativeFormat(832, 480, 81, 16)
    # A folder that declares nothing (as Wan-AI's own) makes Wan2.1's 480p.
    plain = tmp_path / "plain"
    shutil.copytree(tiny_wan, plain)
    (plain / "troupe.json").unlink()
    undeclared = settings.model_copy(update={"wan_vace_model": plain})
    assert _native(undeclared) == NativeFormat(832, 480, 81, 16)


def test_a_model_that_cannot_make_the_configured_clip_is_refused_at_start_in_one_line(
    tiny_wan: Path, tmp_path: Path
) -> None:
    settings = Settings(model_backends=["wan=wan-vace"], wan_vace_resolution="480p")
    short_rope = _copy_with(tiny_wan, tmp_path / "short", "transformer", rope_max_seq_len=32)
    coarse_vae = _copy_with(
        tiny_wan, tmp_path / "coarse", "vae", temperal_downsample=[False, True, True, True]
    )
    for model, change, words in [
        (short_rope, {}, ["832x480", "rotary", "52", "TROUPE_WAN_VACE_RESOLUTION"]),
        (
            short_rope,
            {"wan_vace_resolution": "80x48", "wan_vace_frames": 129},
            ["129 frames", "at most 93", "TROUPE_WAN_VACE_FRAMES"],
        ),
        (coarse_vae, {"wan_vace_resolution": "80x48"}, ["multiples of 32"]),
    ]:
        update = {"wan_vace_model": model, **change}
        with pytest.raises(BackendConfigError) as refused:
            load_backends(settings.model_copy(update=update))
        message = str(refused.value)
        assert message.startswith("wan-vace: ") and "\n" not in message
        assert all(word in message for word in words), message
    # What the table does cover is accepted.
    load_backends(
        settings.model_copy(update={"wan_vace_model": short_rope, "wan_vace_resolution": "512x288"})
    )


def test_progress_moves_while_the_model_loads_and_encodes_before_the_first_step(
    tiny_wan: Path,
    drawn_cast: dict[str, CastMember],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="troupe.render.wan_vace")
    fresh = WanVaceBackend(replace(_config(tiny_wan), native=NativeFormat(80, 48, 81, 16)))
    reports: list[tuple[str, float]] = []

    def record(share: float) -> None:
        stage = next(
            r.getMessage() for r in reversed(caplog.records) if "wan-vace: " in r.getMessage()
        )
        reports.append((stage.removeprefix("wan-vace: "), share))

    dest = tmp_path / "out.mp4"
    fresh.render(_request(drawn_cast, seconds=4, width=1280, height=720), dest, record)
    assert _shape(dest) == (1280, 720, 4.0, True)
    shares = [share for _, share in reports]
    assert shares == sorted(shares) and shares[-1] == 1.0
    stages = list(dict.fromkeys(stage for stage, _ in reports))
    loading = [stage for stage in stages if stage.startswith("loading the model")]
    assert len(loading) >= 3, stages  # its text encoder, transformer and VAE, in turn
    assert stages[len(loading) :] == [
        "encoding the prompt (the text encoder)",
        "encoding the conditioning video and reference pictures of clip 1 of 1 (the VAE)",
        "denoising clip 1 of 1 (the transformer)",
        "decoding clip 1 of 1 (the VAE)",
        "writing clip 1 of 1 to the video",
        "finishing the video",
    ]
    # Each stage before the first step moved the progress on.
    first = {stage: share for stage, share in reversed(reports)}
    before_steps = [first[stage] for stage in stages[: len(loading) + 3]]
    assert before_steps == sorted(set(before_steps)), reports


@pytest.mark.parametrize(
    ("part", "method", "stage"),
    [
        ("transformer", "forward", "denoising clip 1 of 1"),
        ("vae", "decode", "decoding clip 1 of 1"),
    ],
)
def test_a_failure_says_in_which_stage_and_why(
    backend: WanVaceBackend,
    drawn_cast: dict[str, CastMember],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    part: str,
    method: str,
    stage: str,
) -> None:
    backend.render(_request(drawn_cast, seconds=1), tmp_path / "warm.mp4", lambda share: None)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"shape '[1, 1, 52, -1]' is invalid, see {tmp_path}/weights")

    monkeypatch.setattr(getattr(backend.pipeline, part), method, broken)
    with pytest.raises(TroupeError) as failed:
        backend.render(_request(drawn_cast, seconds=1), tmp_path / "out.mp4", lambda share: None)
    error = failed.value
    assert error.code == "internal_error"
    assert f"failed while {stage}" in error.message
    assert "RuntimeError: shape '[1, 1, 52, -1]' is invalid" in error.message
    assert str(tmp_path) not in error.message  # the server's paths stay in its log
    assert not (tmp_path / "out.mp4").exists()
