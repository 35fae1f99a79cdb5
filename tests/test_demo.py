"""`troupe demo` from a bare data dir: a clip made, a server started, two videos on disk."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import av

from tests.support import MediaServer, ServerProcess


def run_demo(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "troupe", "demo", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=600,
    )


def decoded(path: Path) -> tuple[int, int, int, float, bool]:
    """Width, height and number of frames actually decoded, duration, whether there is audio."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        assert container.duration is not None
        duration = container.duration / 1_000_000
        width, height = stream.codec_context.width, stream.codec_context.height
        return width, height, frames, duration, bool(container.streams.audio)


def check_video(video: dict[str, Any], seconds: int, size: tuple[int, int]) -> None:
    assert video["status"] == "completed"
    width, height, frames, duration, has_audio = decoded(Path(video["file"]))
    assert (width, height) == size
    assert frames == seconds * 24
    assert abs(duration - seconds) < 0.1
    assert has_audio
    assert Path(video["thumbnail_file"]).read_bytes()[8:12] == b"WEBP"
    assert video["measured"] == {"width": width, "height": height, "duration": duration}


def test_demo_makes_a_clip_starts_a_server_and_renders_two_scenes(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_demo(
        "--port", "0", "--data-dir", str(tmp_path / "data"), "--out", str(out),
        env={"TROUPE_API_KEYS": ""},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    for label in ("making a 4 s source clip", "starting troupe", "creating the character"):
        assert label in result.stderr
    assert "rendering video 1 (city)" in result.stderr
    assert "rendering video 2 (beach)" in result.stderr
    summary = json.loads((out / "demo.json").read_text())
    username = summary["character"]["username"]
    assert summary["character"]["source"]["type"] == "upload"
    assert decoded(out / "source.mp4")[:2] == (1280, 720)
    prompts = [video["prompt"] for video in summary["videos"]]
    assert len(set(prompts)) == 2 and all(f"@{username}" in prompt for prompt in prompts)
    for video in summary["videos"]:
        check_video(video, 4, (1280, 720))
        [member] = video["characters"]
        assert member["username"] == username
        # Over 24 renders of each scene: 0.64-0.97 in the city, 0.75-0.99 on the beach.
        assert member["consistency"] > 0.4
        assert f"consistency @{username} {member['consistency'] * 100:.0f}%" in result.stdout
        assert video["file"] in result.stdout and video["content_url"] in result.stdout
    assert f"Open {summary['page']}" in result.stdout


def test_demo_reuses_a_running_server_with_a_given_clip(
    server: ServerProcess, media: MediaServer, tmp_path: Path
) -> None:
    result = run_demo(
        "--server", server.base_url, "--api-key", "test-key-alpha",
        "--file", str(media.root / "small.mp4"), "--out", str(tmp_path),
        "--size", "720x1280", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "starting troupe" not in result.stderr
    summary = json.loads(result.stdout)
    assert summary["page"] == f"{server.base_url}/"
    assert not (tmp_path / "source.mp4").exists()
    for video in summary["videos"]:
        check_video(video, 4, (720, 1280))
    with server.client() as http:
        listed = http.get("/v1/videos").json()["data"]
    assert {video["id"] for video in summary["videos"]} <= {video["id"] for video in listed}


def test_demo_reports_an_unusable_clip(
    server: ServerProcess, media: MediaServer, tmp_path: Path
) -> None:
    result = run_demo(
        "--server", server.base_url, "--api-key", "test-key-alpha",
        "--file", str(media.root / "silent.mp4"), "--out", str(tmp_path),
    )  # fmt: skip
    assert result.returncode == 1
    assert "error: no_audio_track:" in result.stderr
