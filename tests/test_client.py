"""`troupe.Client` against a live server: sources, batches with progress, polling that follows
the server's header, retries that follow Retry-After, videos and downloads."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import av

from tests.conftest import StartServer
from tests.support import MediaServer
from troupe.client import Client, RetryPolicy, TroupeAPIError


def recording_client(base_url: str, sleeps: list[float]) -> Client:
    client = Client(base_url, api_key="test-key-alpha", retry=RetryPolicy(base_seconds=0.01))
    real_sleep = client.sleep

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        real_sleep(seconds)

    client.sleep = sleep
    return client


def test_characters_from_every_source_and_in_batches(
    make_server: StartServer, media: MediaServer
) -> None:
    server = make_server({"TROUPE_POLL_AFTER_MS": "50"})
    sleeps: list[float] = []
    seen: list[tuple[int, int]] = []
    with recording_client(server.base_url, sleeps) as client:
        from_url = client.create_character(url=media.url("small.mp4"), name="From URL")
        from_file = client.create_character(file=media.root / "small.mp4", username="filed")
        batch = client.create_many(
            [{"url": media.url("small.mp4")}, {"url": media.url("empty.mp4")}, {"url": "ftp://x"}],
            concurrency=2,
            progress=lambda done, total, _: seen.append((done, total)),
        )
        assert client.character("@filed")["id"] == from_file["id"]
    assert from_url["display_name"] == "From URL" and from_file["username"] == "filed"
    assert isinstance(batch[0], dict) and batch[0]["object"] == "character"
    assert isinstance(batch[1], TroupeAPIError) and batch[1].code == "no_subject_found"
    assert isinstance(batch[2], TroupeAPIError) and batch[2].code == "url_not_allowed"
    assert sorted(seen) == [(1, 3), (2, 3), (3, 3)]
    assert 0.05 in sleeps, "polling follows openai-poll-after-ms"


def test_retries_follow_retry_after(make_server: StartServer) -> None:
    server = make_server({"TROUPE_RATE_LIMIT_PER_MINUTE": "60"})
    sleeps: list[float] = []
    with recording_client(server.base_url, sleeps) as client:
        answers: list[Any] = [client.request("GET", "/v1/characters") for _ in range(62)]
    assert all(answer["object"] == "list" for answer in answers)
    assert sleeps and all(seconds >= 1.0 for seconds in sleeps), sleeps


def test_videos_render_and_download(
    make_server: StartServer, media: MediaServer, tmp_path: Path
) -> None:
    server = make_server({"TROUPE_POLL_AFTER_MS": "100"})
    with Client(server.base_url, api_key="test-key-alpha") as client:
        client.create_character(url=media.url("small.mp4"), username="client_star")
        video = client.create_video("@client_star waves on a beach", seconds="4")
        path = client.download(video["id"], tmp_path / "out.mp4")
    assert video["status"] == "completed" and video["characters"][0]["username"] == "client_star"
    with av.open(io.BytesIO(path.read_bytes())) as container:
        assert container.streams.video[0].width == 720
