"""The official SDK's `videos.edit` and `videos.extend`, which upload the source video as a
file: an edit draws the prompt over the clip, an extension continues it."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import av
import numpy as np
import openai
import pytest

from tests.support import MediaServer, ServerProcess
from troupe.media.window import decode_window


@pytest.fixture(scope="module")
def edit_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {"TROUPE_POLL_AFTER_MS": "100", "TROUPE_RATE_LIMIT_PER_MINUTE": "0"}
    data_dir = tmp_path_factory.mktemp("edit-server") / "data"
    process = ServerProcess(data_dir=data_dir, env=env).start()
    yield process
    process.stop()


@pytest.fixture
def sdk(edit_server: ServerProcess) -> Iterator[openai.OpenAI]:
    client = openai.OpenAI(
        api_key="test-key-alpha", base_url=f"{edit_server.base_url}/v1", max_retries=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the SDK marks Sora as shut down
        yield client


@pytest.fixture(scope="module")
def star(edit_server: ServerProcess, media: MediaServer) -> dict[str, Any]:
    with edit_server.client() as client:
        created = client.post(
            "/v1/characters", json={"url": media.url("small.mp4"), "username": "upload_star"}
        )
    assert created.status_code == 200, created.text
    return dict(created.json())


def _uploads(server: ServerProcess) -> set[str]:
    folder = server.data_dir / "blobs" / "uploads"
    return {path.name for path in folder.iterdir()} if folder.is_dir() else set()


def _shape(path: Path) -> tuple[int, int, float, bool]:
    """Width, height, length in seconds and whether it has sound."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        assert container.duration is not None
        return (
            video.width,
            video.height,
            container.duration / av.time_base,
            bool(container.streams.audio),
        )


def _frame(path: Path, t: float) -> np.ndarray:
    return decode_window(path, t, t + 0.05)[0].image.astype(np.float32)


def _download(sdk: openai.OpenAI, video_id: str, dest: Path) -> Path:
    dest.write_bytes(sdk.videos.download_content(video_id).read())
    return dest


def test_sdk_edits_an_uploaded_clip(
    sdk: openai.OpenAI,
    edit_server: ServerProcess,
    media: MediaServer,
    star: dict[str, Any],
    tmp_path: Path,
) -> None:
    with (media.root / "mascot.mp4").open("rb") as clip:
        queued = sdk.videos.edit(video=clip, prompt="@upload_star jumps")
    assert queued.status in ("queued", "in_progress")
    assert f"{queued.id}-video" in _uploads(edit_server)
    video = sdk.videos.poll(queued.id)
    assert video.status == "completed", video.error
    assert (video.size, video.seconds) == ("1280x720", "4")
    characters = (video.model_extra or {})["characters"]
    assert [entry["id"] for entry in characters] == [star["id"]]
    edit = _download(sdk, video.id, tmp_path / "edit.mp4")
    width, height, seconds, sound = _shape(edit)
    assert (width, height, sound) == (1280, 720, True)
    assert seconds == pytest.approx(4, abs=0.1)
    for t in (0.5, 2.0, 3.5):
        difference = np.abs(_frame(edit, t) - _frame(media.root / "mascot.mp4", t)).max(axis=2)
        assert np.median(difference) < 8  # the clip, moving, is the background
        assert (difference > 60).mean() > 0.005  # and the character is drawn over it
    # The clip belongs to the video: deleting the video removes it.
    sdk.videos.delete(video.id)
    assert f"{video.id}-video" not in _uploads(edit_server)


def test_sdk_extends_an_uploaded_clip(
    sdk: openai.OpenAI, media: MediaServer, star: dict[str, Any], tmp_path: Path
) -> None:
    with (media.root / "mascot.mp4").open("rb") as clip:
        queued = sdk.videos.extend(
            video=clip, prompt="@upload_star walks along the beach", seconds="4"
        )
    video = sdk.videos.poll(queued.id)
    assert video.status == "completed", video.error
    assert (video.size, video.seconds) == ("1280x720", "8")
    extended = _download(sdk, video.id, tmp_path / "extended.mp4")
    width, height, seconds, sound = _shape(extended)
    assert (width, height, sound) == (1280, 720, True)
    assert seconds == pytest.approx(8, abs=0.1)
    clip_frame = _frame(media.root / "mascot.mp4", 1.0)
    assert np.abs(_frame(extended, 1.0) - clip_frame).mean() < 6  # the clip first
    assert np.abs(_frame(extended, 6.0) - clip_frame).mean() > 20  # then the new seconds


def _refused(send: Callable[[BinaryIO], object], path: Path) -> openai.APIStatusError:
    with path.open("rb") as upload, pytest.raises(openai.APIStatusError) as caught:
        send(upload)
    return caught.value


def test_refused_uploads_leave_nothing_behind(
    sdk: openai.OpenAI, edit_server: ServerProcess, media: MediaServer, star: dict[str, Any]
) -> None:
    before = _uploads(edit_server)
    not_video = _refused(
        lambda file: sdk.videos.edit(video=file, prompt="@upload_star jumps"),
        media.root / "notes.txt",
    )
    too_long = _refused(
        lambda file: sdk.videos.extend(video=file, prompt="@upload_star jumps", seconds="4"),
        media.root / "long.mp4",
    )
    unknown = _refused(
        lambda file: sdk.videos.edit(video=file, prompt="@nobody_at_all jumps"),
        media.root / "small.mp4",
    )
    bad_seconds = _refused(
        lambda file: sdk.videos.extend(
            video=file,
            prompt="@upload_star jumps",
            seconds="5",  # type: ignore[arg-type]
        ),
        media.root / "small.mp4",
    )
    for error in (not_video, too_long, unknown, bad_seconds):
        assert isinstance(error, openai.BadRequestError)
    assert (not_video.code, not_video.param) == ("unsupported_media", "video")
    assert (too_long.code, too_long.param) == ("video_too_long", "video")
    assert "20.0s" in too_long.message
    assert (unknown.code, unknown.param) == ("unknown_character", "prompt")
    assert (bad_seconds.code, bad_seconds.param) == ("invalid_request", "seconds")
    assert _uploads(edit_server) == before


def test_an_upload_over_the_byte_limit_is_refused(make_server: Any, media: MediaServer) -> None:
    server = make_server({"TROUPE_MAX_UPLOAD_BYTES": "20000"})
    client = openai.OpenAI(
        api_key="test-key-alpha", base_url=f"{server.base_url}/v1", max_retries=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        error = _refused(
            lambda file: client.videos.edit(video=file, prompt="a clip"),
            media.root / "mascot.mp4",
        )
    assert (error.status_code, error.code) == (413, "file_too_large")
    assert _uploads(server) == set()
