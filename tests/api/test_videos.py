"""The `/v1/videos` family over real HTTP: rendering with characters, content, derived videos,
retention, and character creation from a rendered video."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import pytest
from PIL import Image

from tests.conftest import StartServer
from tests.footage import build_footage
from tests.support import MediaServer, ServerProcess, assert_range_refused
from troupe.characters.consistency import score_video
from troupe.characters.fingerprint import Fingerprint, load_fingerprint

VIDEO_FIELDS = {
    "id",
    "object",
    "created_at",
    "completed_at",
    "expires_at",
    "status",
    "progress",
    "model",
    "backend",
    "prompt",
    "seconds",
    "size",
    "remixed_from_video_id",
    "error",
    "characters",
}


def wait_for_video(client: httpx.Client, video_id: str, timeout: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body: dict[str, Any] = client.get(f"/v1/videos/{video_id}").json()
        if body["status"] in ("completed", "failed", "expired"):
            return body
        time.sleep(0.2)
    raise AssertionError(f"video {video_id} did not settle in {timeout}s")


def render(client: httpx.Client, **body: Any) -> dict[str, Any]:
    response = client.post("/v1/videos", json=body)
    assert response.status_code == 200, response.text
    assert response.headers["openai-poll-after-ms"].isdigit()
    queued = response.json()
    assert queued["status"] in ("queued", "in_progress")
    video = wait_for_video(client, queued["id"])
    assert video["status"] == "completed", video
    return video


def decoded(data: bytes) -> tuple[int, int, float, str, str]:
    """Width, height, duration in seconds, video codec and audio codec of an MP4."""
    with av.open(io.BytesIO(data)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        frames = sum(1 for _ in container.decode(video))
        seconds = frames / float(video.average_rate or 24)
        return video.width, video.height, seconds, video.codec_context.name, audio.codec.name


def create_character(client: httpx.Client, url: str, username: str) -> dict[str, Any]:
    response = client.post("/v1/characters", json={"url": url, "username": username})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


# Session-scoped, not module-scoped: worksteal may run this module's tests in two stretches on
# one worker, and a module fixture made again would ask the same server for @vid_mascot again.
@pytest.fixture(scope="session")
def client(server: ServerProcess) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


@pytest.fixture(scope="session")
def mascot(client: httpx.Client, media: MediaServer) -> dict[str, Any]:
    return create_character(client, media.url("mascot.mp4"), "vid_mascot")


@pytest.fixture(scope="session")
def beach_video(client: httpx.Client, mascot: dict[str, Any]) -> dict[str, Any]:
    return render(client, prompt="@vid_mascot walks along a beach at sunset", seconds="4")


def test_video_with_a_mention_renders_and_is_scored(
    client: httpx.Client, mascot: dict[str, Any], beach_video: dict[str, Any]
) -> None:
    video = beach_video
    assert set(video) >= VIDEO_FIELDS
    assert video["object"] == "video" and video["id"].startswith("video_")
    assert (video["model"], video["backend"], video["seconds"], video["size"]) == (
        "sora-2",
        "animatic",
        "4",
        "720x1280",
    )
    assert video["progress"] == 100 and video["error"] is None
    assert video["expires_at"] > video["completed_at"] >= video["created_at"]
    [cast] = video["characters"]
    assert (cast["id"], cast["username"]) == (mascot["id"], "vid_mascot")
    assert cast["consistency"] > 0.5, cast

    content = client.get(f"/v1/videos/{video['id']}/content")
    assert content.status_code == 200 and content.headers["content-type"] == "video/mp4"
    width, height, seconds, vcodec, acodec = decoded(content.content)
    assert (width, height, vcodec, acodec) == (720, 1280, "h264", "aac")
    assert abs(seconds - 4) <= 1 / 24 + 1e-6


def test_content_variants_and_ranges(client: httpx.Client, beach_video: dict[str, Any]) -> None:
    base = f"/v1/videos/{beach_video['id']}/content"
    thumbnail = client.get(base, params={"variant": "thumbnail"})
    assert thumbnail.headers["content-type"] == "image/webp"
    assert Image.open(io.BytesIO(thumbnail.content)).format == "WEBP"
    sheet = client.get(base, params={"variant": "spritesheet"})
    assert sheet.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(sheet.content)).format == "JPEG"

    whole = client.get(base).content
    part = client.get(base, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-199/{len(whole)}"
    assert part.content == whole[100:200]
    assert client.get(base, params={"variant": "poster"}).status_code == 400


def test_an_unservable_range_is_a_416(client: httpx.Client, beach_video: dict[str, Any]) -> None:
    base = f"/v1/videos/{beach_video['id']}/content"
    size = len(client.get(base).content)
    assert_range_refused(client.get(base, headers={"Range": "bytes=5-1"}), size)
    assert_range_refused(client.get(base, headers={"Range": f"bytes={size}-"}), size)


def test_task_route_shows_a_video_job(client: httpx.Client, beach_video: dict[str, Any]) -> None:
    task = client.get(f"/v1/tasks/{beach_video['id']}").json()
    assert task["object"] == "generation.task" and task["status"] == "completed"
    assert task["result"]["id"] == beach_video["id"]


def test_list_pages_newest_first(client: httpx.Client, beach_video: dict[str, Any]) -> None:
    page = client.get("/v1/videos", params={"limit": 1}).json()
    assert page["object"] == "list" and len(page["data"]) == 1
    everything = client.get("/v1/videos", params={"order": "asc", "limit": 100}).json()
    assert beach_video["id"] in [video["id"] for video in everything["data"]]
    if page["has_more"]:
        following = client.get("/v1/videos", params={"limit": 1, "after": page["last_id"]}).json()
        assert following["data"][0]["id"] != page["data"][0]["id"]


def test_unknown_mention_suggests_near_usernames(
    client: httpx.Client, mascot: dict[str, Any]
) -> None:
    response = client.post("/v1/videos", json={"prompt": "@vid_mascto dances"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["param"]) == ("unknown_character", "prompt")
    assert "@vid_mascot" in error["message"]
    listed = client.post("/v1/videos", json={"prompt": "x", "characters": [{"id": "char_nope"}]})
    assert listed.json()["error"]["param"] == "characters"


def test_a_non_ascii_mention_is_an_unknown_character(client: httpx.Client) -> None:
    response = client.post("/v1/videos", json={"prompt": "@ünïcödé dances on a beach"})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["code"], error["param"]) == ("unknown_character", "prompt")
    assert "@ünïcödé" in error["message"]


def test_emails_are_not_mentions(client: httpx.Client) -> None:
    video = render(client, prompt="a rainy city street; mail team@vid_mascot.com", seconds="4")
    assert video["characters"] == []


def test_four_characters_in_one_video(client: httpx.Client, media: MediaServer) -> None:
    cast = [create_character(client, media.url("small.mp4"), f"quartet_{n}") for n in range(4)]
    video = render(
        client,
        prompt="@quartet_0 and @quartet_1 dance in a forest",
        characters=[{"id": cast[2]["id"]}],
        character_ids=[cast[3]["id"]],
        size="1280x720",
    )
    assert [entry["id"] for entry in video["characters"]] == [
        cast[2]["id"],
        cast[3]["id"],
        cast[0]["id"],
        cast[1]["id"],
    ]
    assert all(entry["consistency"] is not None for entry in video["characters"])


def test_derived_videos(client: httpx.Client, beach_video: dict[str, Any]) -> None:
    source = beach_video["id"]
    remix = client.post(f"/v1/videos/{source}/remix", json={"prompt": "now in the snow"}).json()
    edit = client.post("/v1/videos/edits", json={"video": {"id": source}, "prompt": "at night"})
    extension = client.post(
        "/v1/videos/extensions",
        json={"video": {"id": source}, "prompt": "then it jumps", "seconds": "4"},
    )
    assert remix["remixed_from_video_id"] == source
    assert edit.status_code == 200 and extension.status_code == 200, extension.text
    assert extension.json()["seconds"] == "8"
    for video in (remix, edit.json(), extension.json()):
        done = wait_for_video(client, video["id"])
        assert done["status"] == "completed", done
        assert [entry["id"] for entry in done["characters"]] == [
            entry["id"] for entry in beach_video["characters"]
        ]
    stitched = client.get(f"/v1/videos/{extension.json()['id']}/content").content
    assert abs(decoded(stitched)[2] - 8) <= 1 / 24 + 1e-6


def test_derived_videos_need_a_finished_source(client: httpx.Client) -> None:
    missing = client.post("/v1/videos/video_missing/remix", json={"prompt": "x"})
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "video_not_found")
    upload = client.post("/v1/videos/edits", json={"video": "bytes", "prompt": "x"})
    assert upload.json()["error"]["param"] == "video"


def test_upload_as_input_reference_and_bad_uploads(client: httpx.Client) -> None:
    image = io.BytesIO()
    Image.new("RGB", (320, 180), (20, 200, 40)).save(image, format="PNG")
    response = client.post(
        "/v1/videos",
        data={"prompt": "a quiet meadow", "seconds": "4", "size": "1280x720"},
        files={"input_reference": ("meadow.png", image.getvalue(), "image/png")},
    )
    assert response.status_code == 200, response.text
    done = wait_for_video(client, response.json()["id"])
    assert done["status"] == "completed"
    frame = _first_frame(client.get(f"/v1/videos/{done['id']}/content").content)
    corner = frame[:40, :40].reshape(-1, 3).mean(axis=0)
    assert corner[1] > 120 and corner[0] < 90, corner  # the reference's green, not a drawn sky

    bad = client.post(
        "/v1/videos",
        data={"prompt": "x"},
        files={"input_reference": ("notes.png", b"not an image", "image/png")},
    )
    assert (bad.status_code, bad.json()["error"]["param"]) == (400, "input_reference")
    huge = io.BytesIO()
    Image.new("1", (5000, 2000)).save(huge, format="PNG")  # 10 Mpx over the 8.3 Mpx limit
    bomb = client.post(
        "/v1/videos",
        data={"prompt": "x"},
        files={"input_reference": ("huge.png", huge.getvalue(), "image/png")},
    )
    assert "pixels" in bomb.json()["error"]["message"]


def _first_frame(data: bytes) -> np.ndarray:
    with av.open(io.BytesIO(data)) as container:
        frame = next(container.decode(video=0))
        return frame.to_ndarray(format="rgb24")


def test_content_of_an_unfinished_video_is_a_409(client: httpx.Client, media: MediaServer) -> None:
    # The inline character's source is held back a few seconds by /slow/.
    response = client.post(
        "/v1/videos",
        json={
            "prompt": "a park at noon",
            "character_url": f"{media.base_url}/slow/small.mp4",
            "character_username": "slowpoke",
        },
    )
    assert response.status_code == 200, response.text
    video_id = response.json()["id"]
    early = client.get(f"/v1/videos/{video_id}/content")
    assert (early.status_code, early.json()["error"]["code"]) == (409, "task_not_completed")
    done = wait_for_video(client, video_id)
    assert done["status"] == "completed", done
    [inline] = done["characters"]
    assert inline["username"] == "slowpoke"
    assert client.get("/v1/characters/@slowpoke").json()["id"] == inline["id"]


def test_inline_character_from_a_rendered_video(
    client: httpx.Client, beach_video: dict[str, Any]
) -> None:
    video = render(
        client,
        prompt="@encore jumps on a stage",
        character_from_task=beach_video["id"],
        character_timestamps="1,3",
        character_username="encore",
        size="1280x720",
    )
    [inline] = video["characters"]
    # A cut-out of a cut-out, enlarged twice, keeps few features: 0.15-0.39 over runs here, so
    # only that it was scored is checked; the round trip below measures recognition.
    assert inline["username"] == "encore" and 0.0 <= inline["consistency"] <= 1.0, inline
    created = client.get("/v1/characters/@encore").json()
    assert created["source"] == {
        "type": "task",
        "url": None,
        "task_id": beach_video["id"],
        "timestamps": "1,3",
    }
    missing = client.post("/v1/videos", json={"prompt": "x", "character_from_task": "video_no"})
    assert (missing.status_code, missing.json()["error"]["param"]) == (404, "character_from_task")


def test_failed_inline_character_fails_the_video(client: httpx.Client, media: MediaServer) -> None:
    response = client.post(
        "/v1/videos", json={"prompt": "x", "character_url": media.url("empty.mp4")}
    )
    done = wait_for_video(client, response.json()["id"])
    assert done["status"] == "failed"
    assert done["error"]["code"] == "no_subject_found"


def test_delete_removes_the_video(client: httpx.Client, mascot: dict[str, Any]) -> None:
    video = render(client, prompt="@vid_mascot waves", seconds="4")
    assert client.get(f"/v1/tasks/{video['id']}").json()["status"] == "completed"
    deleted = client.delete(f"/v1/videos/{video['id']}")
    assert deleted.json() == {"id": video["id"], "object": "video.deleted", "deleted": True}
    assert client.get(f"/v1/videos/{video['id']}").status_code == 404
    task = client.get(f"/v1/tasks/{video['id']}")  # a video's task is gone with it
    assert (task.status_code, task.json()["error"]["code"]) == (404, "task_not_found")
    gone = client.get(f"/v1/videos/{video['id']}/content")
    assert gone.json()["error"]["code"] == "video_not_found"


def test_other_owners_see_nothing(server: ServerProcess, beach_video: dict[str, Any]) -> None:
    with server.client("test-key-beta") as other:
        assert other.get(f"/v1/videos/{beach_video['id']}").status_code == 404
        assert beach_video["id"] not in [v["id"] for v in other.get("/v1/videos").json()["data"]]
        mention = other.post("/v1/videos", json={"prompt": "@vid_mascot runs"})
        assert mention.json()["error"]["code"] == "unknown_character"


def test_character_from_a_rendered_video_is_the_same_character(
    server: ServerProcess,
    client: httpx.Client,
    media: MediaServer,
    beach_video: dict[str, Any],
    tmp_path: Path,
) -> None:
    response = client.post(
        "/v1/characters", json={"from_task": beach_video["id"], "username": "vid_mascot_again"}
    )
    assert response.status_code == 200, response.text
    again = response.json()
    assert again["source"]["type"] == "task" and again["source"]["task_id"] == beach_video["id"]

    elsewhere = render(client, prompt="@vid_mascot walks through a snowy park", size="1280x720")
    content = client.get(f"/v1/videos/{elsewhere['id']}/content").content
    (tmp_path / "elsewhere.mp4").write_bytes(content)

    new_print = _fingerprint(server, again["id"])
    same = score_video(new_print, tmp_path / "elsewhere.mp4")
    # A mascot of the same shape in blue, and a cat.
    others = [
        score_video(new_print, clip.path)
        for clip in build_footage(tmp_path, ["mascot_grass_still", "cat_brick_walk"])
    ]
    # Over 32 renders here `same` ranged 0.19-0.86 (3 below 0.3: a second-generation cut-out is
    # soft) and `others` was always 0.
    assert same > 0.1 and max(others) < 0.05, (same, others)


def _fingerprint(server: ServerProcess, character_id: str) -> Fingerprint:
    path = server.data_dir / "blobs" / "characters" / character_id / "fingerprint.npz"
    return load_fingerprint(path.read_bytes())


def test_videos_expire_after_retention(make_server: StartServer, media: MediaServer) -> None:
    server = make_server({"TROUPE_VIDEO_RETENTION_SECONDS": "1"})
    with server.client() as client:
        # With one second of retention the video may already have expired by the first poll
        # that sees it finished, so this waits for either and checks it did complete.
        queued = client.post("/v1/videos", json={"prompt": "fog over a quiet lake", "seconds": "4"})
        video = wait_for_video(client, queued.json()["id"])
        assert video["status"] in ("completed", "expired"), video
        assert video["completed_at"] is not None
        deadline = time.monotonic() + 30
        while client.get(f"/v1/videos/{video['id']}").json()["status"] != "expired":
            assert time.monotonic() < deadline, "the video never expired"
            time.sleep(0.2)
        gone = client.get(f"/v1/videos/{video['id']}/content")
        assert (gone.status_code, gone.json()["error"]["code"]) == (404, "video_not_found")
        reuse = client.post("/v1/characters", json={"from_task": video["id"]})
        assert reuse.json()["error"]["code"] == "video_not_found"
    video_dir = server.data_dir / "blobs" / "videos" / video["id"]
    assert not video_dir.exists() or not any(video_dir.iterdir())


def test_a_burst_of_submissions_answers_each_video_as_it_reads_back(
    make_server: StartServer,
) -> None:
    """Sixteen clients at once, on a server that runs no job: every one is admitted (this
    process's writers queue for SQLite's one write lock), and each answer is the video as
    written, what reading it back gives (where a poll also says what the job waits for)."""
    server = make_server(
        {
            "TROUPE_WORKERS": "0",
            "TROUPE_RATE_LIMIT_PER_MINUTE": "0",
            "TROUPE_MAX_CONCURRENT_JOBS": "0",
        }
    )

    def submit(index: int) -> httpx.Response:
        with server.client() as client:
            return client.post("/v1/videos", json={"prompt": f"a lighthouse, take {index}"})

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(submit, range(32)))
    assert [answer.status_code for answer in answers] == [200] * 32
    with server.client() as client:
        for answer in answers:
            video = answer.json()
            assert video["status"] == "queued"
            polled = client.get(f"/v1/videos/{video['id']}").json()
            assert polled.pop("waiting_for").startswith("a worker for video jobs")
            assert video.pop("waiting_for") is None
            assert polled == video
