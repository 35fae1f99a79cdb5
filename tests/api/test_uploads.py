"""Uploaded sources and a deleted character's files do not outlive their use, over real HTTP."""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from tests.conftest import StartServer
from tests.support import MediaServer, ServerProcess, wait_for_task


def eventually(check: Callable[[], bool], timeout: float = 20) -> bool:
    """Files go once a job has settled, a moment after its answer: poll for it."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def uploads_of(server: ServerProcess) -> set[str]:
    folder = server.data_dir / "blobs" / "uploads"
    return {path.name for path in folder.iterdir()} if folder.exists() else set()


def upload(
    client: httpx.Client, path: Path, headers: dict[str, str] | None = None, **fields: str
) -> httpx.Response:
    with path.open("rb") as video:
        return client.post(
            "/v1/videos/characters",
            data={"name": "Uploaded", **fields},
            files={"video": (path.name, video)},
            headers=headers,
        )


def test_an_upload_goes_when_its_job_settles(make_server: StartServer, media: MediaServer) -> None:
    server = make_server()
    with server.client() as client:
        made = upload(client, media.root / "small.mp4", timestamps="0,2")
        refused = upload(client, media.root / "random.mp4", timestamps="0,2")
        queued = upload(client, media.root / "random.mp4", headers={"Prefer": "respond-async"})
        assert queued.status_code == 202, queued.text
        assert wait_for_task(client, queued.json()["id"])["status"] == "failed"
    assert made.status_code == 200, made.text
    assert refused.json()["error"]["code"] == "unsupported_media", refused.text
    assert eventually(lambda: uploads_of(server) == set()), uploads_of(server)
    # The character keeps what it serves.
    with server.client() as client:
        assert client.get(made.json()["voice_url"]).status_code == 200


def test_an_uploaded_input_reference_goes_when_its_video_settles(
    make_server: StartServer,
) -> None:
    server = make_server()
    picture = io.BytesIO()
    Image.new("RGB", (64, 36), (40, 90, 200)).save(picture, format="PNG")
    with server.client() as client:
        queued = client.post(
            "/v1/videos",
            data={"prompt": "a quiet beach", "seconds": "4", "size": "720x1280"},
            files={"input_reference": ("sky.png", picture.getvalue(), "image/png")},
        )
        assert queued.status_code == 200, queued.text
        done = wait_for_task(client, queued.json()["id"], timeout=180)
    assert done["status"] == "completed", done
    assert eventually(lambda: uploads_of(server) == set()), uploads_of(server)


def test_orphan_uploads_are_swept_at_start(make_server: StartServer) -> None:
    server = make_server()
    server.stop()
    folder = server.data_dir / "blobs" / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("task_left_by_a_crash", ".upload-half-written", "video_x-reference"):
        (folder / name).write_bytes(os.urandom(1024))
    server.start()
    assert uploads_of(server) == set()


def character_files(server: ServerProcess, character: dict[str, Any]) -> list[Path]:
    folder = server.data_dir / "blobs" / "characters" / character["id"]
    return sorted(folder.iterdir()) if folder.exists() else []


def test_a_deleted_characters_files_go_once_no_video_needs_them(
    make_server: StartServer, media: MediaServer
) -> None:
    # A retention of 4 s sweeps every second.
    server = make_server({"TROUPE_VIDEO_RETENTION_SECONDS": "4"})
    with server.client() as client:
        alone, cast = (
            client.post(
                "/v1/characters",
                json={"url": media.url("small.mp4"), "timestamps": "0,2", "username": name},
            ).json()
            for name in ("alone_one", "cast_one")
        )
        video = client.post("/v1/videos", json={"prompt": "@cast_one waves", "seconds": "4"})
        assert video.status_code == 200, video.text
        assert wait_for_task(client, video.json()["id"], timeout=180)["status"] == "completed"
        assert character_files(server, alone) and character_files(server, cast)
        for character in (alone, cast):
            assert client.delete(f"/v1/characters/{character['id']}").status_code == 200
        # A settled video never reads its cast again (a remix of it refuses a deleted
        # character), so the files of both go.
        remix = client.post(f"/v1/videos/{video.json()['id']}/remix", json={"prompt": "at night"})
        assert remix.json()["error"]["code"] == "unknown_character"
    assert eventually(
        lambda: character_files(server, alone) == character_files(server, cast) == [], timeout=90
    )
