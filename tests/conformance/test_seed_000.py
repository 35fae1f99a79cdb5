"""Seed 000 (apiyi.com docs, "Sora 2 Character API"): every request example, as written.

Changed: the host (this server), the key, the source video URL, and the username, which the
seed uses as a placeholder (`my_character_2024`); usernames are unique per server.
"""

from __future__ import annotations

import requests

from tests.conformance.seeds import assert_character, curl_json, json_headers, poll
from tests.support import MediaServer, ServerProcess


def test_curl_creates_a_character(server: ServerProcess, media: MediaServer) -> None:
    status, result = curl_json(
        server,
        "/sora/v1/characters",
        f"""{{
    "model": "sora-character",
    "url": "{media.url("mascot.mp4")}",
    "timestamps": "1,3"
  }}""",
    )
    assert status == 200, result
    assert_character(result)


def test_python_example_prints_the_documented_fields(
    server: ServerProcess, media: MediaServer
) -> None:
    API_URL = f"{server.base_url}/sora/v1/characters"
    payload = {"model": "sora-character", "url": media.url("mascot.mp4"), "timestamps": "1,3"}
    headers = json_headers(server)
    response = requests.post(API_URL, headers=headers, json=payload)
    result = response.json()
    # The seed prints these five and nothing else.
    assert_character(result)
    assert result["profile_picture_url"].endswith("/profile.jpg")
    assert requests.get(result["profile_picture_url"], headers=headers).status_code == 200


def test_the_announced_video_id_form(server: ServerProcess, media: MediaServer) -> None:
    """ "Expected parameter format" of a future version: `video_id` of a finished video."""
    headers = json_headers(server)
    character = requests.post(
        f"{server.base_url}/sora/v1/characters",
        headers=headers,
        json={"model": "sora-character", "url": media.url("mascot.mp4"), "timestamps": "1,3"},
    ).json()
    video = requests.post(
        f"{server.base_url}/v1/videos",
        headers=headers,
        json={"prompt": f"@{character['username']} waves in a meadow", "seconds": "4"},
    ).json()
    done = poll(f"{server.base_url}/v1/videos/{video['id']}", headers)
    assert done["status"] == "completed", done
    payload = {"model": "sora-character", "video_id": video["id"], "timestamps": "1,3"}
    result = requests.post(f"{server.base_url}/sora/v1/characters", headers=headers, json=payload)
    assert result.status_code == 200, result.text
    assert_character(result.json())
    assert result.json()["source"] == {
        "type": "task",
        "url": None,
        "task_id": video["id"],
        "timestamps": "1,3",
    }


def _character_named(server: ServerProcess, media: MediaServer, username: str) -> None:
    response = requests.post(
        f"{server.base_url}/sora/v1/characters",
        headers=json_headers(server),
        json={"url": media.url("mascot.mp4"), "timestamps": "1,3", "username": username},
    )
    assert response.status_code == 200, response.text


def test_video_example_with_its_hand_set_content_type(
    server: ServerProcess, media: MediaServer
) -> None:
    """The seed sets `Content-Type: multipart/form-data` by hand, so requests sends no boundary:
    the answer says to drop the header."""
    _character_named(server, media, "my_character_2024")
    SORA_API_URL = f"{server.base_url}/v1/videos"
    payload = {
        "model": "sora-2",
        "prompt": "@my_character_2024 skateboarding on city streets, bustling commercial "
        "district background, sunny day",
        "size": "1280x720",
        "seconds": "10",
    }
    headers = {
        "Content-Type": "multipart/form-data",
        "Authorization": f"Bearer {server.api_key}",
    }
    response = requests.post(SORA_API_URL, headers=headers, files=payload)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert "Content-Type" in error["message"] and "boundary" in error["message"]

    # Without that header, requests writes it with the boundary, and every field arrives as a
    # file part named after its key; they are read as the text they carry.
    del headers["Content-Type"]
    response = requests.post(SORA_API_URL, headers=headers, files=payload)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["id"].startswith("video_")
    assert (result["seconds"], result["size"], result["model"]) == ("10", "1280x720", "sora-2")
    assert [entry["username"] for entry in result["characters"]] == ["my_character_2024"]
    done = poll(f"{SORA_API_URL}/{result['id']}", headers)
    assert done["status"] == "completed", done
