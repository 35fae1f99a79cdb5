"""`troupe.Client` against a live server: sources, batches with progress, polling that follows
the server's header, retries that follow Retry-After, every character and video verb, streamed
downloads and usage."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import pytest

from tests.conftest import StartServer
from tests.support import MediaServer, ServerProcess
from troupe import Client, RetryPolicy, TroupeAPIError


def recording_client(base_url: str, sleeps: list[float], api_key: str = "test-key-alpha") -> Client:
    client = Client(base_url, api_key=api_key, retry=RetryPolicy(base_seconds=0.01))
    real_sleep = client.sleep

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        real_sleep(seconds)

    client.sleep = sleep
    return client


def assert_progressed(seen: list[dict[str, Any]]) -> None:
    """A job's progress callback saw it move forward and settle, completed."""
    assert len(seen) >= 2, seen
    assert [job["id"] for job in seen] == [seen[0]["id"]] * len(seen)
    assert seen[0]["status"] in ("queued", "in_progress")
    progress = [job["progress"] for job in seen]
    assert progress == sorted(progress), progress
    assert seen[-1]["status"] == "completed" and seen[-1]["progress"] == 100
    assert all(job["status"] != "completed" for job in seen[:-1])


# Session-scoped: a module fixture made again, when worksteal splits this module on one worker,
# would ask the same server for @sync_star again.
@pytest.fixture(scope="session")
def client(quick_server: ServerProcess) -> Iterator[Client]:
    with Client(quick_server.base_url, api_key="test-key-alpha") as client:
        yield client


@pytest.fixture(scope="session")
def star(client: Client, media: MediaServer) -> dict[str, Any]:
    return client.create_character(url=media.url("small.mp4"), username="sync_star")


@pytest.fixture(scope="session")
def beach(client: Client, star: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A rendered video, and what its progress callback saw."""
    seen: list[dict[str, Any]] = []
    video = client.create_video("@sync_star waves on a beach", seconds="4", progress=seen.append)
    return video, seen


def test_characters_from_every_source_and_in_batches(
    quick_server: ServerProcess, media: MediaServer
) -> None:
    sleeps: list[float] = []
    seen: list[tuple[int, int]] = []
    tasks: list[dict[str, Any]] = []
    with recording_client(quick_server.base_url, sleeps) as client:
        from_url = client.create_character(
            url=media.url("small.mp4"), name="From URL", progress=tasks.append
        )
        from_file = client.create_character(file=media.root / "small.mp4", username="filed")
        batch = client.create_many(
            [{"url": media.url("small.mp4")}, {"url": media.url("empty.mp4")}, {"url": "ftp://x"}],
            concurrency=2,
            progress=lambda done, total, _: seen.append((done, total)),
        )
        assert client.character("@filed")["id"] == from_file["id"]
        assert client.character("filed")["id"] == from_file["id"]
        task = client.task(tasks[0]["id"])
        characters = client.list_tasks(kind="character", limit=100)["data"]
        failures = client.list_tasks(kind="character", status="failed", limit=100)["data"]
    assert tasks[0]["id"] in [listed["id"] for listed in characters]
    assert {listed["kind"] for listed in characters} == {"character"}
    assert {listed["error"]["code"] for listed in failures} >= {"no_subject_found"}
    assert {listed["status"] for listed in failures} == {"failed"}
    assert from_url["display_name"] == "From URL" and from_file["username"] == "filed"
    assert isinstance(batch[0], dict) and batch[0]["object"] == "character"
    assert isinstance(batch[1], TroupeAPIError) and batch[1].code == "no_subject_found"
    assert isinstance(batch[2], TroupeAPIError) and batch[2].code == "url_not_allowed"
    assert sorted(seen) == [(1, 3), (2, 3), (3, 3)]
    assert 0.05 in sleeps, "polling follows openai-poll-after-ms"
    assert_progressed(tasks)
    assert tasks[-1]["result"]["id"] == from_url["id"]
    assert task["object"] == "generation.task" and task["result"]["id"] == from_url["id"]


def test_character_verbs(client: Client, star: dict[str, Any], media: MediaServer) -> None:
    page = client.list_characters(q="sync_", limit=1, order="asc")
    assert page["object"] == "list" and [c["id"] for c in page["data"]] == [star["id"]]
    assert client.set_visibility(star["id"], "public")["visibility"] == "public"
    assert client.character(star["id"])["visibility"] == "public"
    assert client.set_visibility(star["id"], "private")["visibility"] == "private"

    by_url = client.windows(url=media.url("late.mp4"), count=2)
    by_file = client.windows(file=media.root / "small.mp4", count=1)
    assert by_url["object"] == "list" and 1 <= len(by_url["data"]) <= 2
    assert float(by_url["data"][0]["timestamps"].split(",")[0]) >= 4.0, by_url
    assert len(by_file["data"]) == 1 and by_file["duration"] == pytest.approx(3, abs=0.1)

    doomed = client.create_character(url=media.url("small.mp4"), username="sync_doomed")
    deleted = client.delete_character(doomed["id"])
    assert deleted == {"id": doomed["id"], "object": "character.deleted", "deleted": True}
    with pytest.raises(TroupeAPIError) as gone:
        client.character("@sync_doomed")
    assert (gone.value.status, gone.value.code) == (404, "character_not_found")


def test_videos_render_download_and_list(
    client: Client, beach: tuple[dict[str, Any], list[dict[str, Any]]], tmp_path: Path
) -> None:
    video, seen = beach
    assert video["status"] == "completed" and video["characters"][0]["username"] == "sync_star"
    assert_progressed(seen)
    path = client.download(video["id"], tmp_path / "out.mp4")
    thumbnail = client.download(video["id"], tmp_path / "thumb.webp", variant="thumbnail")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4", "thumb.webp"]
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
    assert stream.width == 720 and frames == 4 * 24
    assert thumbnail.read_bytes()[8:12] == b"WEBP"
    listed = client.list_videos(limit=100)
    assert listed["object"] == "list" and video["id"] in [v["id"] for v in listed["data"]]
    assert client.video(video["id"]) == video

    with pytest.raises(TroupeAPIError) as missing:
        client.download("video_missing", tmp_path / "missing.mp4")
    assert missing.value.code == "video_not_found"
    assert not (tmp_path / "missing.mp4").exists() and not (tmp_path / "missing.mp4.part").exists()


def test_derived_videos(client: Client, beach: tuple[dict[str, Any], list[dict[str, Any]]]) -> None:
    source = beach[0]
    remix = client.remix_video(source["id"], "now in the snow", wait=False)
    edit = client.edit_video(source["id"], "at night", wait=False)
    assert remix["status"] in ("queued", "in_progress")
    seen: list[dict[str, Any]] = []
    extension = client.extend_video(source["id"], "then it jumps", "4", progress=seen.append)
    remix = client.wait(f"/v1/videos/{remix['id']}", remix)
    edit = client.wait(f"/v1/videos/{edit['id']}", edit)
    assert_progressed(seen)
    assert extension["seconds"] == "8" and remix["remixed_from_video_id"] == source["id"]
    for video in (remix, edit, extension):
        assert video["status"] == "completed", video
        assert [c["id"] for c in video["characters"]] == [c["id"] for c in source["characters"]]

    deleted = client.delete_video(remix["id"])
    assert deleted == {"id": remix["id"], "object": "video.deleted", "deleted": True}
    with pytest.raises(TroupeAPIError) as gone:
        client.video(remix["id"])
    assert gone.value.code == "video_not_found"


def test_usage(client: Client, beach: tuple[dict[str, Any], list[dict[str, Any]]]) -> None:
    usage = client.usage(limit=2)
    assert usage["charged"] > 0 and len(usage["data"]) == 2 and usage["has_more"]
    older = client.usage(limit=1, before=usage["data"][0]["id"])
    assert older["data"][0]["id"] < usage["data"][0]["id"]


def test_retries_follow_retry_after(make_server: StartServer) -> None:
    server = make_server({"TROUPE_RATE_LIMIT_PER_MINUTE": "60"})
    sleeps: list[float] = []
    with recording_client(server.base_url, sleeps) as client:
        answers: list[Any] = [client.list_characters() for _ in range(62)]
    assert all(answer["object"] == "list" for answer in answers)
    assert sleeps and all(seconds >= 1.0 for seconds in sleeps), sleeps


def test_errors_are_not_retried(quick_server: ServerProcess) -> None:
    sleeps: list[float] = []
    wrong_key = recording_client(quick_server.base_url, sleeps, api_key="wrong")
    with wrong_key, pytest.raises(TroupeAPIError) as refused:
        wrong_key.list_characters()
    assert (refused.value.status, refused.value.code) == (401, "invalid_api_key")
    client = recording_client(quick_server.base_url, sleeps)
    with client, pytest.raises(TroupeAPIError) as unknown:
        client.create_video("@sync_nobody dances", seconds="4")
    assert (unknown.value.status, unknown.value.code) == (400, "unknown_character")
    assert sleeps == []
