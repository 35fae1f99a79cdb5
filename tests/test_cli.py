"""The `troupe` command: keys made on the data dir, characters made from the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support import MediaServer, ServerProcess


def troupe(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "troupe", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_character_create_from_url_and_file(server: ServerProcess, media: MediaServer) -> None:
    common = ["--server", server.base_url, "--api-key", "test-key-alpha"]
    by_url = troupe(
        "character",
        "create",
        "--url",
        media.url("small.mp4"),
        "--timestamps",
        "0,2",
        "--name",
        "CLI Mascot",
        *common,
    )
    assert by_url.returncode == 0, by_url.stderr
    assert json.loads(by_url.stdout)["display_name"] == "CLI Mascot"
    by_file = troupe(
        "character",
        "create",
        "--file",
        str(media.root / "small.mp4"),
        "--timestamps",
        "1,2",
        *common,
    )
    assert by_file.returncode == 0, by_file.stderr
    assert json.loads(by_file.stdout)["source"]["type"] == "upload"


def test_character_create_reports_errors(server: ServerProcess, media: MediaServer) -> None:
    result = troupe(
        "character",
        "create",
        "--url",
        media.url("silent.mp4"),
        "--timestamps",
        "0,2",
        "--server",
        server.base_url,
        "--api-key",
        "test-key-alpha",
    )
    assert result.returncode == 1
    assert json.loads(result.stdout)["error"]["code"] == "no_audio_track"


def test_keys_create_list_revoke(server: ServerProcess) -> None:
    data_dir = str(server.data_dir)
    made = json.loads(troupe("keys", "create", "--owner", "team-a", "--data-dir", data_dir).stdout)
    assert made["owner"] == "team-a" and made["key"].startswith("sk-troupe-")
    with server.client(made["key"]) as client:
        assert client.get("/v1/characters").status_code == 200
    listed = troupe("keys", "list", "--data-dir", data_dir).stdout
    assert made["id"] in listed and made["key"] not in listed
    assert troupe("keys", "revoke", made["id"], "--data-dir", data_dir).returncode == 0
    with server.client(made["key"]) as client:
        assert client.get("/v1/characters").status_code == 401


def test_open_mode_without_any_key(tmp_path: Path, media: MediaServer) -> None:
    """A fresh local install with no key configured anywhere serves its single user."""
    process = ServerProcess(data_dir=tmp_path / "open", env={"TROUPE_API_KEYS": ""}, api_key=None)
    process.start()
    try:
        with process.client() as client:
            assert client.get("/v1/characters").status_code == 200
    finally:
        process.stop()
