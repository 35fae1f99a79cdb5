"""The wan-vace back end on the CPU with a tiny random-weight model in the real layout: the
MP4 it writes (size, length, sound), its progress, continuing a video, an edit's plate, and
stopping when its progress report says so. The pictures are noise: quality needs real weights."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

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


@pytest.fixture(scope="module")
def backend(tiny_wan: Path) -> WanVaceBackend:
    config = WanVaceConfig(
        model_dir=tiny_wan,
        placement=Placement("auto", "auto", "none"),
        native=TINY_FORMAT,
        steps=2,
        guidance=5.0,
        conditioning_scale=1.0,
    )
    return WanVaceBackend(config)


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
    # 4 s at 8 fps is 33 generated frames: three calls of 17 (the last two continue from 5),
    # each of two steps, then the end of the file.
    assert len(seen) == 3 * 2 + 1


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
