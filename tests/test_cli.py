"""The `troupe` command: keys on the data dir; characters, videos and usage on a live server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import av
import pytest

from tests.support import MediaServer, ServerProcess


def troupe(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "troupe", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


@pytest.fixture(scope="module")
def remote(server: ServerProcess) -> list[str]:
    return ["--server", server.base_url, "--api-key", "test-key-alpha"]


def ok(*args: str) -> subprocess.CompletedProcess[str]:
    result = troupe(*args)
    assert result.returncode == 0, result.stderr
    return result


def as_json(*args: str) -> Any:
    return json.loads(ok(*args, "--json").stdout)


def test_character_create_from_url_and_file(remote: list[str], media: MediaServer) -> None:
    by_url = as_json(
        "character", "create", "--url", media.url("small.mp4"), "--timestamps", "0,2",
        "--name", "CLI Mascot", *remote,
    )  # fmt: skip
    assert by_url["display_name"] == "CLI Mascot"
    file_ = str(media.root / "small.mp4")
    by_file = ok("character", "create", "--file", file_, "--username", "cli_filed", *remote)
    assert by_file.stdout.startswith("@cli_filed  char_")
    assert "  warnings   " in by_file.stdout and "creating character" in by_file.stderr


def test_errors_are_shown_with_their_code(remote: list[str], media: MediaServer) -> None:
    silent = ["character", "create", "--url", media.url("silent.mp4"), *remote]
    human = troupe(*silent)
    assert human.returncode == 1
    assert human.stderr.splitlines()[-1].startswith("error: no_audio_track: ")
    scripted = troupe(*silent, "--json")
    assert scripted.returncode == 1
    assert json.loads(scripted.stdout)["error"]["code"] == "no_audio_track"
    missing = troupe("video", "get", "video_nothing", *remote, "--json")
    assert missing.returncode == 1
    assert json.loads(missing.stdout)["error"]["code"] == "video_not_found"
    both = troupe("character", "create", "--url", "http://x/a.mp4", "--from-task", "t", *remote)
    assert both.returncode == 2 and "exactly one of" in both.stderr


def test_character_verbs(remote: list[str], media: MediaServer) -> None:
    file_ = str(media.root / "mascot.mp4")
    windows = ok("character", "windows", "--file", file_, "--count", "2", *remote).stdout
    assert windows.startswith("source is 4.00s; best windows first:")
    assert len(windows.splitlines()) == 3
    made = as_json("character", "create", "--file", file_, "--username", "cli_verbs", *remote)
    shown = ok("character", "get", "@cli_verbs", *remote).stdout
    assert shown.splitlines()[0] == f"@cli_verbs  {made['id']}  {made['display_name']}"
    listed = as_json("character", "list", "--q", "cli_verbs", *remote)
    assert [row["id"] for row in listed["data"]] == [made["id"]]
    assert "@cli_verbs\t" in ok("character", "list", "--q", "cli_v", *remote).stdout
    public = ok("character", "visibility", made["id"], "public", *remote).stdout
    assert public.strip() == "@cli_verbs is now public"
    assert as_json("character", "delete", made["id"], *remote)["deleted"] is True
    gone = troupe("character", "get", made["id"], *remote)
    assert gone.returncode == 1 and "character_not_found" in gone.stderr


def test_create_many_reports_each_source(remote: list[str], media: MediaServer) -> None:
    sources = [str(media.root / "small.mp4"), media.url("grass.mp4"), media.url("silent.mp4")]
    result = troupe("character", "create-many", *sources, "--concurrency", "2", *remote)
    assert result.returncode == 1, result.stderr
    rows = result.stdout.splitlines()
    assert len(rows) == 3 and rows[0].startswith(sources[0] + "\t@")
    assert rows[2].startswith(f"{sources[2]}\tfailed\tno_audio_track: ")


def decodes(path: Path) -> tuple[int, int, int]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        return stream.codec_context.width, stream.codec_context.height, frames


def test_video_verbs(remote: list[str], media: MediaServer, tmp_path: Path) -> None:
    ok("character", "create", "--url", media.url("small.mp4"), "--username", "cli_star", *remote)
    saved = tmp_path / "forest.mp4"
    video = as_json(
        "video", "create", "@cli_star walks through a forest", "--size", "720x1280",
        "--download", str(saved), *remote,
    )  # fmt: skip
    assert video["status"] == "completed"
    assert decodes(saved) == (720, 1280, 96)
    shown = ok("video", "get", video["id"], *remote).stdout
    assert shown.startswith(f"{video['id']}  completed  100%  4s 720x1280 sora-2 (animatic)")
    assert "  cast       @cli_star " in shown
    assert video["id"] in ok("video", "list", "--limit", "5", *remote).stdout
    thumbnail = tmp_path / "thumb.webp"
    ok("video", "download", video["id"], "--variant", "thumbnail", "-o", str(thumbnail), *remote)
    assert thumbnail.read_bytes()[8:12] == b"WEBP"
    remix = as_json("video", "remix", video["id"], "at night", "--no-wait", *remote)
    assert remix["status"] in ("queued", "in_progress")
    assert remix["remixed_from_video_id"] == video["id"]
    task = ok("task", "get", remix["id"], *remote).stdout
    assert task.startswith(remix["id"] + "  ")
    listed = ok("task", "list", "--kind", "video", "--limit", "100", *remote).stdout
    assert f"{remix['id']}\tvideo\t" in listed
    assert f"{video['id']}\tvideo\tcompleted\t100%\t@cli_star walks" in listed
    assert as_json("video", "delete", remix["id"], *remote)["deleted"] is True  # mid-render
    extended = as_json("video", "extend", video["id"], "then it rains", *remote)
    assert extended["status"] == "completed" and extended["seconds"] == "8"
    assert as_json("video", "delete", video["id"], *remote)["deleted"] is True
    usage = ok("usage", "--limit", "3", *remote).stdout
    assert usage.startswith("balance    not limited\nheld       $")


def test_keys_create_list_revoke(server: ServerProcess) -> None:
    data_dir = str(server.data_dir)
    made = as_json("keys", "create", "--owner", "team-a", "--data-dir", data_dir)
    assert made["owner"] == "team-a" and made["key"].startswith("sk-troupe-")
    with server.client(made["key"]) as client:
        assert client.get("/v1/characters").status_code == 200
    listed = ok("keys", "list", "--data-dir", data_dir).stdout
    assert made["id"] in listed and made["key"] not in listed
    human = ok("keys", "create", "--owner", "team-b", "--credit", "2", "--data-dir", data_dir)
    assert "balance  $2.00" in human.stdout
    assert ok("keys", "revoke", made["id"], "--data-dir", data_dir).stdout.strip() == (
        f"revoked {made['id']}"
    )
    # A server checks a stored key against the database at most once a second.
    deadline = time.monotonic() + 30
    with server.client(made["key"]) as client:
        while client.get("/v1/characters").status_code != 401:
            assert time.monotonic() < deadline, "a revoked key kept working"
            time.sleep(0.2)


def test_open_mode_without_any_key(tmp_path: Path, media: MediaServer) -> None:
    """A fresh local install with no key configured anywhere serves its single user."""
    process = ServerProcess(data_dir=tmp_path / "open", env={"TROUPE_API_KEYS": ""}, api_key=None)
    process.start()
    try:
        with process.client() as client:
            assert client.get("/v1/characters").status_code == 200
    finally:
        process.stop()


def test_keys_create_names_the_owner_of_what_open_mode_made(tmp_path: Path) -> None:
    """What was made without keys belongs to `local`: a key of another owner is told it does not
    see it, and how to make one that does."""
    data_dir = tmp_path / "open"
    # It answers the API only: the video it is asked for need not render.
    env = {"TROUPE_API_KEYS": "", "TROUPE_WORKERS": "0"}
    process = ServerProcess(data_dir=data_dir, env=env, api_key=None)
    process.start()
    no_env_keys = {"TROUPE_API_KEYS": ""}
    keys = ["keys", "create", "--data-dir", str(data_dir)]
    try:
        with process.client() as client:
            made = client.post("/v1/videos", json={"prompt": "a red ball bounces", "seconds": "4"})
            assert made.status_code == 200, made.text
        first = troupe(*keys, env=no_env_keys)
        assert first.returncode == 0, first.stderr
        assert "The server's first key: from now on every request needs a key." in first.stdout
        assert "note: 0 characters and 1 video made while the server had no key" in first.stderr
        assert "troupe keys create --owner local" in first.stderr
        local = troupe(*keys, "--owner", "local", "--json", env=no_env_keys)
        assert local.returncode == 0 and "note:" not in local.stderr
        with process.client(json.loads(local.stdout)["key"]) as client:
            listed = client.get("/v1/videos").json()["data"]
            assert [video["id"] for video in listed] == [made.json()["id"]]
        # Once a key sees them, other keys are made without the notice.
        later = troupe(*keys, "--owner", "team-a", env=no_env_keys)
        assert later.returncode == 0 and "note:" not in later.stderr
        assert "first key" not in later.stdout
    finally:
        process.stop()


def test_keys_create_on_a_new_data_dir_has_nothing_to_say(tmp_path: Path) -> None:
    made = troupe(
        "keys", "create", "--data-dir", str(tmp_path / "new"), env={"TROUPE_API_KEYS": ""}
    )
    assert made.returncode == 0 and "note:" not in made.stderr
    assert "first key" in made.stdout
