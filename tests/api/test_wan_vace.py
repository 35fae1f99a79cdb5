"""The wan-vace back end through the API, on the CPU with a tiny random-weight model: a model
routed to it renders a character into an MP4 of the asked size and length with sound, at the
default settings too, its progress moving in stages; deleting it mid-render stops it, and a
failure is refunded. A server whose wan-vace set-up is wrong, or whose model cannot make the
configured clips, refuses to start and says why in one line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.test_trust import ALPHA, fund, ledger, usage
from tests.conftest import StartServer
from tests.support import MediaServer, ServerProcess, free_port
from troupe.media.probe import probe
from troupe.videos.pipeline import RENDER_SPAN

pytest.importorskip("diffusers", reason="the wan extra (scripts/setup wan) is not installed")

MODEL = "sora-2-pro"


def default_env(model_dir: Path) -> dict[str, str]:
    """A model routed to the back end and the tiny model: every wan-vace setting its default.
    The tiny model declares the size it renders at (80x48); the clips are Wan2.1's (81 frames
    at 16 fps), scaled to the request."""
    return {
        "TROUPE_MODEL_BACKENDS": f"sora-2=animatic,{MODEL}=wan-vace",
        "TROUPE_WAN_VACE_MODEL": str(model_dir),
        "TROUPE_RATE_LIMIT_PER_MINUTE": "0",  # the tests poll fast
    }


def wan_env(model_dir: Path) -> dict[str, str]:
    # Two denoising steps rather than 30: these tests are about what surrounds the model.
    return {**default_env(model_dir), "TROUPE_WAN_VACE_STEPS": "2", "TROUPE_POLL_AFTER_MS": "100"}


@pytest.fixture(scope="module")
def wan_server(tmp_path_factory: pytest.TempPathFactory, tiny_wan: Path) -> Iterator[ServerProcess]:
    data_dir = tmp_path_factory.mktemp("wan-server") / "data"
    process = ServerProcess(data_dir=data_dir, env=wan_env(tiny_wan)).start()
    yield process
    process.stop()


def make_character(client: httpx.Client, media: MediaServer, username: str) -> dict[str, Any]:
    made = client.post("/v1/characters", json={"url": media.url("small.mp4"), "username": username})
    assert made.status_code == 200, made.text
    return dict(made.json())


def order_video(client: httpx.Client, prompt: str, seconds: int) -> dict[str, Any]:
    body = {"model": MODEL, "prompt": prompt, "seconds": str(seconds), "size": "1280x720"}
    created = client.post("/v1/videos", json=body)
    assert created.status_code == 200, created.text
    return dict(created.json())


def watch(
    client: httpx.Client, video_id: str, until: float = 180
) -> tuple[dict[str, Any], list[int]]:
    """Poll the Video until it settles; answers it and every progress seen."""
    seen: list[int] = []
    deadline = time.monotonic() + until
    while time.monotonic() < deadline:
        video = client.get(f"/v1/videos/{video_id}").json()
        seen.append(video["progress"])
        if video["status"] in ("completed", "failed"):
            return video, seen
        time.sleep(0.05)
    raise AssertionError(f"video {video_id} did not settle; progress {seen[-5:]}")


def refunded(client: httpx.Client, task_id: str, until: float = 120) -> dict[str, Any]:
    """The usage once the task's reservation is refunded: its job stopped and settled. (Its
    task is gone with its deleted video, from the list of tasks too.)"""
    deadline = time.monotonic() + until
    while time.monotonic() < deadline:
        body = usage(client)
        if "refund" in ledger(body, task_id):
            return body
        time.sleep(0.2)
    raise AssertionError(f"task {task_id} was not refunded in {until}s")


def test_the_tiny_model_renders_at_the_default_settings_and_progress_moves_in_stages(
    make_server: StartServer, media: MediaServer, tiny_wan: Path, tmp_path: Path
) -> None:
    server = make_server(default_env(tiny_wan))
    with server.client() as client:
        make_character(client, media, "wan_default")
        queued = order_video(client, "@wan_default rides a bicycle through the market", 4)
        video, seen = watch(client, queued["id"])
        assert video["status"] == "completed", video
        content = client.get(f"/v1/videos/{video['id']}/content")
    path = tmp_path / "default.mp4"
    path.write_bytes(content.content)
    info = probe(path, 3840 * 2160)
    assert (info.width, info.height, round(info.duration, 2)) == (1280, 720, 4.0)
    assert seen == sorted(seen)
    during = sorted({percent for percent in seen if 0 < percent < 100})
    assert len(during) >= 3, seen
    # The first render of a process loads the model (for seconds): the progress moved on
    # before the first clip was begun.
    from troupe.render.wan_vace.stages import CLIPS

    low, high = RENDER_SPAN
    first_clip = low + round(CLIPS[0] * (high - low))
    assert any(low <= percent < first_clip for percent in during), seen


def test_a_character_renders_through_wan_vace(
    wan_server: ServerProcess, media: MediaServer, tmp_path: Path
) -> None:
    with wan_server.client() as client:
        star = make_character(client, media, "wan_star")
        queued = order_video(client, "@wan_star skates along the beach at night", 4)
        assert queued["backend"] == "wan-vace" and queued["model"] == MODEL
        video, seen = watch(client, queued["id"])
        assert video["status"] == "completed", video
        assert any(0 < percent < 100 for percent in seen), seen
        assert seen == sorted(seen)
        content = client.get(f"/v1/videos/{video['id']}/content")
    assert content.status_code == 200
    path = tmp_path / "wan.mp4"
    path.write_bytes(content.content)
    info = probe(path, 3840 * 2160)
    assert (info.width, info.height, round(info.duration, 2)) == (1280, 720, 4.0)
    assert (info.video_codec, info.audio_codec) == ("h264", "aac")
    [member] = video["characters"]
    assert member["id"] == star["id"]
    assert 0.0 <= member["consistency"] <= 1.0


def test_an_extension_continues_its_source_through_wan_vace(
    wan_server: ServerProcess, media: MediaServer, tmp_path: Path
) -> None:
    with wan_server.client() as client:
        make_character(client, media, "wan_walker")
        first, _ = watch(client, order_video(client, "@wan_walker walks", 4)["id"])
        body = {"video": {"id": first["id"]}, "prompt": "@wan_walker jumps", "seconds": "4"}
        queued = client.post("/v1/videos/extensions", json=body)
        assert queued.status_code == 200, queued.text
        extended, _ = watch(client, queued.json()["id"])
        assert (extended["status"], extended["backend"]) == ("completed", "wan-vace"), extended
        path = tmp_path / "extended.mp4"
        path.write_bytes(client.get(f"/v1/videos/{extended['id']}/content").content)
    info = probe(path, 3840 * 2160)
    assert (info.width, info.height, round(info.duration, 2)) == (1280, 720, 8.0)


def test_deleting_a_rendering_video_stops_it_and_refunds_it(
    wan_server: ServerProcess, media: MediaServer
) -> None:
    fund(wan_server, ALPHA, 10.0)
    with wan_server.client() as client:
        make_character(client, media, "wan_quitter")
        queued = order_video(client, "@wan_quitter dances in the rain", 12)
        deadline = time.monotonic() + 120
        while client.get(f"/v1/videos/{queued['id']}").json()["progress"] < 15:
            assert time.monotonic() < deadline, "the render never started"
            time.sleep(0.05)
        assert client.delete(f"/v1/videos/{queued['id']}").json()["deleted"] is True
        assert client.get(f"/v1/tasks/{queued['id']}").status_code == 404  # gone with its video
        body = refunded(client, queued["id"])
        listed = client.get("/v1/tasks", params={"limit": 100}).json()["data"]
        assert queued["id"] not in [task["id"] for task in listed]
    assert ledger(body, queued["id"]) == ["refund", "reserve"]
    assert body["held"] == 0


def test_a_model_that_cannot_load_fails_the_job_and_refunds_it(
    make_server: StartServer, media: MediaServer, tiny_wan: Path, tmp_path: Path
) -> None:
    model = tmp_path / "model"
    shutil.copytree(tiny_wan, model)
    server = make_server(wan_env(model))
    fund(server, ALPHA, 10.0)
    # The folder was whole at start; its weights break before the first render loads them.
    for weights in (model / "transformer").glob("*.safetensors"):
        weights.write_bytes(b"not weights")
    with server.client() as client:
        make_character(client, media, "wan_unlucky")
        queued = order_video(client, "@wan_unlucky waves", 4)
        video, _ = watch(client, queued["id"])
        assert video["status"] == "failed"
        assert video["error"]["code"] == "internal_error"
        assert "could not be loaded" in video["error"]["message"]
        body = usage(client)
    assert ledger(body, queued["id"]) == ["refund", "reserve"]
    assert body["held"] == 0


def refused_start(env: dict[str, str], data_dir: Path) -> str:
    """What `troupe serve` says on stderr when it refuses to start."""
    command = [sys.executable, "-m", "troupe", "serve", "--port", str(free_port())]
    command += ["--data-dir", str(data_dir)]
    done = subprocess.run(
        command, env={**os.environ, **env}, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    return done.stderr


def test_a_server_with_a_missing_model_refuses_to_start_and_says_why(tmp_path: Path) -> None:
    env = {
        "TROUPE_MODEL_BACKENDS": f"{MODEL}=wan-vace",
        "TROUPE_WAN_VACE_MODEL": str(tmp_path / "nowhere"),
    }
    said = refused_start(env, tmp_path / "data")
    assert "wan-vace:" in said and "no model_index.json" in said


def test_a_server_whose_model_cannot_make_its_clips_refuses_to_start_in_one_line(
    tiny_wan: Path, tmp_path: Path
) -> None:
    model = tmp_path / "model"
    shutil.copytree(tiny_wan, model)
    config = model / "transformer" / "config.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "rope_max_seq_len": 32}))
    env = {**default_env(model), "TROUPE_WAN_VACE_RESOLUTION": "480p"}
    said = refused_start(env, tmp_path / "data")
    [line] = [line for line in said.splitlines() if "wan-vace:" in line]
    assert "832x480" in line and "TROUPE_WAN_VACE_RESOLUTION" in line, said
