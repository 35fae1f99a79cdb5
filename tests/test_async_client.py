"""`troupe.AsyncClient` against a live server: characters from a file, a URL and in bounded
batches, a render and a streamed download, retries after Retry-After and after broken
connections, and error answers as `TroupeAPIError` with their code."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import av
import httpx
import pytest

from tests.conftest import StartServer
from tests.support import MediaServer, ServerProcess, free_port
from troupe import AsyncClient, RetryPolicy, TroupeAPIError
from troupe.client import JobProgress


def recording_client(
    base_url: str, sleeps: list[float], api_key: str = "test-key-alpha"
) -> AsyncClient:
    client = AsyncClient(base_url, api_key=api_key, retry=RetryPolicy(base_seconds=0.01))
    real_sleep = client.sleep

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        await real_sleep(seconds)

    client.sleep = sleep
    return client


class InFlight:
    """Counts the jobs between their first progress call and their settling."""

    def __init__(self) -> None:
        self.now = 0
        self.most = 0

    def watch(self) -> JobProgress:
        started = False

        def progress(job: dict[str, Any]) -> None:
            nonlocal started
            if not started:
                started = True
                self.now += 1
                self.most = max(self.most, self.now)
            if job["status"] in ("completed", "failed"):
                self.now -= 1

        return progress


def test_characters_from_file_url_and_batches(
    quick_server: ServerProcess, media: MediaServer
) -> None:
    seen: list[tuple[int, int]] = []
    in_flight = InFlight()

    async def scenario() -> tuple[Any, ...]:
        async with AsyncClient(quick_server.base_url, api_key="test-key-alpha") as client:
            from_file, from_url = await asyncio.gather(
                client.create_character(file=media.root / "small.mp4", username="async_filed"),
                client.create_character(url=media.url("small.mp4"), name="Async URL"),
            )
            good = {"url": media.url("small.mp4")}
            batch = await client.create_many(
                [
                    {**good, "progress": in_flight.watch()},
                    {**good, "progress": in_flight.watch()},
                    {"url": media.url("empty.mp4"), "progress": in_flight.watch()},
                    {"url": "ftp://x"},
                ],
                concurrency=2,
                progress=lambda done, total, _: seen.append((done, total)),
            )
            found = await client.character("@async_filed")
            return from_file, from_url, batch, found

    from_file, from_url, batch, found = asyncio.run(scenario())
    assert from_file["username"] == "async_filed" and found["id"] == from_file["id"]
    assert from_url["display_name"] == "Async URL" and from_url["source"]["type"] == "url"
    assert [type(outcome) for outcome in batch] == [dict, dict, TroupeAPIError, TroupeAPIError]
    assert [outcome.code for outcome in batch[2:]] == ["no_subject_found", "url_not_allowed"]
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert in_flight.most == 2 and in_flight.now == 0


def test_video_and_streamed_download(
    quick_server: ServerProcess, media: MediaServer, tmp_path: Path
) -> None:
    seen: list[dict[str, Any]] = []

    async def scenario() -> tuple[dict[str, Any], Path, dict[str, Any]]:
        async with AsyncClient(quick_server.base_url, api_key="test-key-alpha") as client:
            await client.create_character(url=media.url("small.mp4"), username="async_star")
            video = await client.create_video(
                "@async_star jumps in a forest", seconds="4", progress=seen.append
            )
            path = await client.download(video["id"], tmp_path / "forest.mp4")
            return video, path, await client.list_tasks(kind="video", limit=100)

    video, path, tasks = asyncio.run(scenario())
    [listed] = [task for task in tasks["data"] if task["id"] == video["id"]]
    assert listed["status"] == "completed" and listed["result"]["id"] == video["id"]
    assert video["status"] == "completed" and video["characters"][0]["username"] == "async_star"
    assert seen[0]["status"] in ("queued", "in_progress") and seen[-1] == video
    progress = [poll["progress"] for poll in seen]
    assert progress == sorted(progress) and len(seen) >= 2
    assert [p.name for p in tmp_path.iterdir()] == ["forest.mp4"]
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
    assert (stream.width, stream.height, frames) == (720, 1280, 4 * 24)


def test_retries_follow_retry_after(make_server: StartServer) -> None:
    server = make_server({"TROUPE_RATE_LIMIT_PER_MINUTE": "60"})
    sleeps: list[float] = []

    async def scenario() -> list[dict[str, Any]]:
        async with recording_client(server.base_url, sleeps) as client:
            return [await client.list_characters() for _ in range(62)]

    answers = asyncio.run(scenario())
    assert all(answer["object"] == "list" for answer in answers)
    assert sleeps and all(seconds >= 1.0 for seconds in sleeps), sleeps


def test_broken_connections_back_off_then_raise() -> None:
    sleeps: list[float] = []

    async def scenario() -> None:
        async with recording_client(f"http://127.0.0.1:{free_port()}", sleeps) as client:
            await client.list_videos()

    with pytest.raises(httpx.ConnectError):
        asyncio.run(scenario())
    assert sleeps == [0.01, 0.02, 0.04]


def test_error_answers_carry_their_code(quick_server: ServerProcess) -> None:
    sleeps: list[float] = []

    async def outcome(api_key: str, call: str, *args: Any) -> TroupeAPIError:
        async with recording_client(quick_server.base_url, sleeps, api_key) as client:
            with pytest.raises(TroupeAPIError) as raised:
                await getattr(client, call)(*args)
            return raised.value

    async def scenario() -> list[TroupeAPIError]:
        return list(
            await asyncio.gather(
                outcome("wrong", "list_characters"),
                outcome("test-key-alpha", "character", "@async_nobody"),
                outcome("test-key-alpha", "create_video", "@async_nobody dances"),
                outcome("test-key-alpha", "delete_video", "video_missing"),
            )
        )

    errors = asyncio.run(scenario())
    assert [(error.status, error.code) for error in errors] == [
        (401, "invalid_api_key"),
        (404, "character_not_found"),
        (400, "unknown_character"),
        (404, "video_not_found"),
    ]
    assert errors[2].param is not None and "async_nobody" in errors[2].message
    assert sleeps == [], "error answers are not retried"
