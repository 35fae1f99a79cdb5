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
