"""Seeds 001 and 003 (apiyi.com's "Sora 2 Character API" tutorial; 003 is the same article
with its code indented): every request example, as written.

Changed: the host (this server), the key and the source URL. Their `url` examples take the
character from seconds 5-8, so they point at `late.mp4`, an 8 s clip whose mascot enters at
4.5 s. Where an example creates from a task, that task is a video of a character, rendered
first, since a video with nobody in it has no character to take.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.conformance.seeds import assert_character, curl_json, json_headers, poll
from tests.support import MediaServer, ServerProcess


@pytest.fixture(scope="session")
def character_video(server: ServerProcess, media: MediaServer) -> str:
    """The task id of a completed 8 s video with a character in it, long enough for the
    examples' windows; the examples that take characters from a task share it."""
    headers = json_headers(server)
    character = requests.post(
        f"{server.base_url}/v1/characters",
        headers=headers,
        json={"url": media.url("mascot.mp4"), "timestamps": "1,3"},
    ).json()
    video = requests.post(
        f"{server.base_url}/v1/sora/generations",
        headers=headers,
        json={"prompt": f"@{character['id']} strolls along a pier", "duration": 8},
    ).json()
    assert poll(f"{server.base_url}/v1/sora/generations/{video['id']}", headers)["status"] == (
        "completed"
    )
    return str(video["id"])


def test_method_1_extract_from_video_url(server: ServerProcess, media: MediaServer) -> None:
    api_url = f"{server.base_url}/v1/sora/characters"
    headers = json_headers(server)
    payload = {
        "model": "sora-2-character",
        "url": media.url("late.mp4"),
        "timestamps": "5,8",  # Character appears between 5-8 seconds
    }
    response = requests.post(api_url, headers=headers, json=payload)
    response.raise_for_status()
    result = response.json()
    character_id = result.get("character_id")
    assert isinstance(character_id, str) and character_id.startswith("char_")
    assert_character(result)


def test_method_2_reuse_from_task_id(server: ServerProcess, character_video: str) -> None:
    previous_task_id = character_video
    api_url = f"{server.base_url}/v1/sora/characters"
    payload = {"model": "sora-2-character", "from_task": previous_task_id, "timestamps": "5,8"}
    response = requests.post(api_url, headers=json_headers(server), json=payload)
    response.raise_for_status()
    character_id = response.json().get("character_id")
    assert isinstance(character_id, str) and character_id.startswith("char_")


def test_curl_examples(server: ServerProcess, media: MediaServer, character_video: str) -> None:
    status, by_url = curl_json(
        server,
        "/sora/v1/characters",
        f"""{{
    "model": "sora-2-character",
    "url": "{media.url("late.mp4")}",
    "timestamps": "5,8"
  }}""",
    )
    assert status == 200, by_url
    assert_character(by_url)
    task_id = character_video
    status, by_task = curl_json(
        server,
        "/sora/v1/characters",
        f"""{{
    "model": "sora-2-character",
    "from_task": "{task_id}",
    "timestamps": "5,8"
  }}""",
    )
    assert status == 200, by_task
    assert by_task["source"]["task_id"] == task_id


def test_workflow_with_task_polling_and_a_1080p_video(
    server: ServerProcess, media: MediaServer
) -> None:
    """`create_character` reads `task_id`, polls `/characters/{task_id}` for `status` and
    `character_id`; `generate_video_with_character` sends `duration` and `resolution`."""
    API_BASE = f"{server.base_url}/sora/v1"
    headers = json_headers(server)
    response = requests.post(
        f"{API_BASE}/characters",
        headers=headers,
        json={"model": "sora-2-character", "url": media.url("late.mp4"), "timestamps": "5,8"},
    )
    task_id = response.json().get("task_id")
    assert isinstance(task_id, str) and task_id.startswith("task_")
    status_data = poll(f"{API_BASE}/characters/{task_id}", headers)
    assert status_data.get("status") == "completed", status_data
    character_id = status_data.get("character_id")
    assert character_id == response.json()["id"]

    full_prompt = f"@{character_id} walking through a futuristic city at night"
    response = requests.post(
        f"{API_BASE}/videos",
        headers=headers,
        json={"model": "sora-2", "prompt": full_prompt, "duration": 8, "resolution": "1080p"},
    )
    video = response.json()
    assert response.status_code == 200, video
    assert (video["seconds"], video["size"]) == ("8", "1920x1080")
    assert [entry["id"] for entry in video["characters"]] == [character_id]
    # The example ends here; the render it started is not wanted.
    assert requests.delete(f"{server.base_url}/v1/videos/{video['id']}", headers=headers).ok


def test_complete_workflow_and_its_manager_class(
    server: ServerProcess, character_video: str
) -> None:
    """Step 1-3 and `SoraCharacterManager`: the model alias, `duration`, polling
    `/v1/sora/generations/{id}`, and a 4 s window ("2,6"), which is over the 3 s limit."""
    base_url = f"{server.base_url}/v1/sora"
    headers = json_headers(server)
    payload: dict[str, Any] = {
        "model": "sora-2.0-turbo",
        "prompt": "A young woman with curly brown hair and glasses, wearing a blue sweater, "
        "walking through a sunny park",
        "size": "1280x720",
        "duration": 10,
    }
    response = requests.post(f"{base_url}/generations", headers=headers, json=payload)
    response.raise_for_status()
    task_id = response.json().get("id")
    result = poll(f"{base_url}/generations/{task_id}", headers)
    assert result.get("status") == "completed", result
    assert (result["seconds"], result["size"], result["model"]) == ("10", "1280x720", "sora-2")

    response = requests.post(
        f"{base_url}/characters",
        headers=headers,
        json={"model": "sora-2-character", "from_task": task_id, "timestamps": "2,6"},
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["param"]) == ("invalid_timestamps", "timestamps")
    assert "3" in error["message"]

    # Step 3 with a character that exists: `generate_with_character`.
    character_task = character_video
    response = requests.post(
        f"{base_url}/characters",
        headers=headers,
        json={"model": "sora-2-character", "from_task": character_task, "timestamps": "2,5"},
    )
    response.raise_for_status()
    character_id = response.json().get("character_id")
    for scenario in ("sitting in a cozy coffee shop, reading a book", "walking on a beach"):
        payload["prompt"] = f"@{character_id} {scenario}"
        started = requests.post(f"{base_url}/generations", headers=headers, json=payload).json()
        assert started["status"] in ("queued", "in_progress"), started
        assert [entry["id"] for entry in started["characters"]] == [character_id]
        done = poll(f"{base_url}/generations/{started['id']}", headers)
        assert done["status"] == "completed", done


def test_cost_optimisation_showcase(server: ServerProcess) -> None:
    """ "Generate a character showcase video", 15 s, then take three characters from it. A
    prompt alone brings no character into an animatic, so each window answers why none was
    taken, as a 422 the example's `raise_for_status` raises: never a piece of the painted
    city (the render seed comes from the video's random id, so each run paints another)."""
    base_url = f"{server.base_url}/v1/sora"
    headers = json_headers(server)
    payload = {
        "model": "sora-2.0-turbo",
        "prompt": "Three distinct characters walking through a city: a young woman with curly "
        "hair, an elderly man with a cane, a teenage boy with a skateboard",
        "size": "1280x720",
        "duration": 15,
    }
    showcase_task = requests.post(f"{base_url}/generations", headers=headers, json=payload).json()
    done = poll(f"{base_url}/generations/{showcase_task['id']}", headers)
    assert (done["status"], done["seconds"]) == ("completed", "15"), done
    for timestamps in ("2,5", "6,9", "10,13"):
        response = requests.post(
            f"{base_url}/characters",
            headers=headers,
            json={
                "model": "sora-2-character",
                "from_task": showcase_task["id"],
                "timestamps": timestamps,
            },
        )
        assert response.status_code == 422, (timestamps, response.text)
        error = response.json()["error"]
        assert error["code"] in ("no_subject_found", "low_quality_segment"), error
