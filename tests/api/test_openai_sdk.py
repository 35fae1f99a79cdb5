"""The official `openai` SDK, unchanged, against the live server."""

from __future__ import annotations

import warnings

import openai
import pytest

from tests.support import MediaServer, ServerProcess


@pytest.fixture
def sdk(server: ServerProcess) -> openai.OpenAI:
    return openai.OpenAI(api_key="test-key-alpha", base_url=f"{server.base_url}/v1", max_retries=0)


def test_sdk_creates_and_reads_a_character(sdk: openai.OpenAI, media: MediaServer) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the SDK marks Sora as shut down
        with (media.root / "mascot.mp4").open("rb") as video:
            created = sdk.videos.create_character(name="SDK Mascot", video=video)
        fetched = sdk.videos.get_character(created.id)
    assert created.id is not None and created.id.startswith("char_")
    assert created.name == "SDK Mascot"
    assert created.created_at > 0
    assert fetched.id == created.id and fetched.name == "SDK Mascot"
    extra = fetched.model_extra or {}
    assert extra["username"].startswith("sdk_mascot")
    assert extra["profile_picture_url"].endswith("/profile.jpg")


def test_sdk_sees_errors_as_api_errors(sdk: openai.OpenAI) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(openai.NotFoundError) as caught:
            sdk.videos.get_character("char_missing")
    assert caught.value.code == "character_not_found"


def test_sdk_with_a_wrong_key(server: ServerProcess) -> None:
    client = openai.OpenAI(api_key="nope", base_url=f"{server.base_url}/v1", max_retries=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(openai.AuthenticationError) as caught:
            client.videos.get_character("char_x")
    assert caught.value.code == "invalid_api_key"


def test_sdk_renders_remixes_and_deletes_videos(
    sdk: openai.OpenAI, server: ServerProcess, media: MediaServer
) -> None:
    with server.client() as client:
        star = client.post("/v1/characters", json={"url": media.url("small.mp4"), "name": "Star"})
    star_id = star.json()["id"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        queued = sdk.videos.create(
            prompt="Star jumps in a night market",
            seconds="4",
            size="1280x720",
            extra_body={"characters": [{"id": star_id}]},
        )
        video = sdk.videos.create_and_poll(
            prompt="Star spins in the desert", extra_body={"characters": [{"id": star_id}]}
        )
        fetched = sdk.videos.retrieve(queued.id)
        listed = [item.id for item in sdk.videos.list(limit=100)]
        contents = {
            variant: sdk.videos.download_content(video.id, variant=variant).read()
            for variant in ("video", "thumbnail", "spritesheet")
        }
        remix = sdk.videos.remix(video.id, prompt="Star spins in the snow")
        deleted = sdk.videos.delete(video.id)
        remix_deleted = sdk.videos.delete(remix.id)  # mid-render: not wanted further
    assert queued.status in ("queued", "in_progress") and fetched.id == queued.id
    assert video.status == "completed" and video.size == "720x1280" and video.seconds == "4"
    characters = (video.model_extra or {})["characters"]
    assert characters[0]["id"] == star_id and characters[0]["consistency"] > 0.5
    assert {queued.id, video.id} <= set(listed)
    assert contents["video"][4:8] == b"ftyp"
    assert contents["thumbnail"][:4] == b"RIFF" and contents["spritesheet"][:2] == b"\xff\xd8"
    assert remix.remixed_from_video_id == video.id
    assert deleted.deleted and deleted.id == video.id
    assert remix_deleted.deleted
