"""Seeds 002 (laozhang.ai / yelinai.com) and 004 (docs.toapis.com): they give parameter tables
rather than runnable code, so each documented rule is a request here.

Seed 002: `model` "sora-2-character", exactly one of `url` / `from_task`, `timestamps` 1-3 s,
answer fields `id`, `username`, `display_name`, `permalink`, `profile_picture_url`.
Seed 004: the task form (`generation.task` with `id`, `status`, `progress`, `created_at`,
`completed_at`, `result`), models `sora-2`, `sora-2-pro`, `sora-2-vip`, the source must carry
audio, and the finished task's id can be given to a video as `character_url`.
"""

from __future__ import annotations

import pytest
import requests

from tests.conformance.seeds import assert_character, json_headers, poll
from tests.support import MediaServer, ServerProcess


def test_seed_002_creates_from_url(server: ServerProcess, media: MediaServer) -> None:
    response = requests.post(
        f"{server.base_url}/sora/v1/characters",
        headers=json_headers(server),
        json={"model": "sora-2-character", "url": media.url("mascot.mp4"), "timestamps": "1,3"},
    )
    assert response.status_code == 200, response.text
    assert_character(response.json())


@pytest.mark.parametrize(
    ("body", "code", "param"),
    [
        ({"url": "URL", "from_task": "video_1", "timestamps": "1,3"}, "invalid_request", "url"),
        ({"timestamps": "1,3"}, "invalid_request", "url"),
        ({"url": "URL", "timestamps": "1,1.5"}, "invalid_timestamps", "timestamps"),
        ({"url": "URL", "timestamps": "1,4.5"}, "invalid_timestamps", "timestamps"),
    ],
)
def test_seed_002_rules(
    server: ServerProcess, media: MediaServer, body: dict[str, str], code: str, param: str
) -> None:
    """ "url or from_task must be provided, but not both"; the range is 1 to 3 seconds."""
    if body.get("url") == "URL":
        body = {**body, "url": media.url("mascot.mp4")}
    response = requests.post(
        f"{server.base_url}/sora/v1/characters",
        headers=json_headers(server),
        json={"model": "sora-2-character", **body},
    )
    error = response.json()["error"]
    assert (response.status_code, error["code"], error["param"]) == (400, code, param)


@pytest.mark.parametrize("model", ["sora-2", "sora-2-pro", "sora-2-vip"])
def test_seed_004_task_form_and_query(
    server: ServerProcess, media: MediaServer, model: str
) -> None:
    headers = json_headers(server)
    response = requests.post(
        f"{server.base_url}/v1/videos/generations",
        headers=headers,
        json={"model": model, "timestamps": "1,3", "url": media.url("mascot.mp4")},
    )
    assert response.status_code == 200, response.text
    task = response.json()
    assert task["object"] == "generation.task"
    assert task["status"] in ("queued", "in_progress", "completed")
    assert 0 <= task["progress"] <= 100 and isinstance(task["created_at"], int)
    done = poll(f"{server.base_url}/v1/tasks/{task['id']}", headers)
    assert done["status"] == "completed", done
    assert done["completed_at"] >= done["created_at"]
    assert_character(done["result"])
    assert done["character_id"] == done["result"]["id"]


def test_seed_004_source_without_audio_is_refused(
    server: ServerProcess, media: MediaServer
) -> None:
    headers = json_headers(server)
    task = requests.post(
        f"{server.base_url}/v1/videos/generations",
        headers=headers,
        json={"model": "sora-2", "timestamps": "1,3", "url": media.url("silent.mp4")},
    ).json()
    done = poll(f"{server.base_url}/v1/tasks/{task['id']}", headers)
    assert done["status"] == "failed"
    assert done["error"]["code"] == "no_audio_track"


def test_seed_004_character_task_id_as_character_url(
    server: ServerProcess, media: MediaServer
) -> None:
    """ "After completion, this character task ID can be used in video generation via the
    character_url parameter": the task's character joins the video."""
    headers = json_headers(server)
    task = requests.post(
        f"{server.base_url}/v1/videos/generations",
        headers=headers,
        json={"model": "sora-2", "timestamps": "1,3", "url": media.url("mascot.mp4")},
    ).json()
    done = poll(f"{server.base_url}/v1/tasks/{task['id']}", headers)
    response = requests.post(
        f"{server.base_url}/v1/videos",
        headers=headers,
        json={"prompt": "dancing in the rain", "character_url": task["id"]},
    )
    assert response.status_code == 200, response.text
    assert [entry["id"] for entry in response.json()["characters"]] == [done["character_id"]]
    video = poll(f"{server.base_url}/v1/videos/{response.json()['id']}", headers)
    assert video["status"] == "completed", video

    # A finished video's id there is a source to take a new character from, as
    # `character_from_task` is.
    again = requests.post(
        f"{server.base_url}/v1/videos",
        headers=headers,
        json={
            "prompt": "juggling oranges",
            "character_url": video["id"],
            "character_timestamps": "1,3",
        },
    )
    assert again.status_code == 200, again.text
    finished = poll(f"{server.base_url}/v1/videos/{again.json()['id']}", headers)
    assert finished["status"] == "completed", finished
    assert len(finished["characters"]) == 1
    assert finished["characters"][0]["id"] != done["character_id"]
