"""Every character error code of SPEC section 4, as OpenAI-style JSON over real HTTP."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import StartServer
from tests.footage import build_footage
from tests.support import MediaServer, ServerProcess, free_port, wait_for_task


def assert_error(response: httpx.Response, status: int, code: str, param: Any = ...) -> str:
    assert response.status_code == status, response.text[:2000]
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == code
    assert error["message"] and "Traceback" not in error["message"]
    if param is not ...:
        assert error["param"] == param
    return str(error["message"])


def create(server: ServerProcess, body: dict[str, Any], **kwargs: Any) -> httpx.Response:
    with server.client() as client:
        return client.post("/v1/characters", json=body, **kwargs)


@pytest.mark.parametrize(
    ("body", "param", "fragment"),
    [
        ({"timestamps": "1,3"}, "url", "exactly one"),
        (
            {"url": "http://127.0.0.1/a.mp4", "from_task": "task_x", "timestamps": "1,3"},
            "url",
            "not both",
        ),
        ({"url": 42, "timestamps": "1,3"}, "url", ""),
        ({"url": "http://127.0.0.1/a.mp4", "model": "dall-e-3"}, "model", "dall-e-3"),
        ({"url": "http://127.0.0.1/a.mp4", "name": "x" * 81}, "name", "80"),
        ({"url": "http://127.0.0.1/a.mp4", "username": "No Spaces!"}, "username", "a-z"),
        ({"url": "http://127.0.0.1/a.mp4", "username": "char_abc"}, "username", "char_"),
    ],
)
def test_invalid_request(server: ServerProcess, body: dict, param: str, fragment: str) -> None:
    message = assert_error(create(server, body), 400, "invalid_request", param)
    assert fragment in message


def test_malformed_json_and_non_object(server: ServerProcess) -> None:
    with server.client() as client:
        broken = client.post(
            "/v1/characters", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert "JSON" in assert_error(broken, 400, "invalid_request")
        assert_error(client.post("/v1/characters", json=[1, 2]), 400, "invalid_request")


@pytest.mark.parametrize(
    ("timestamps", "fragment"),
    [
        ("abc", "numbers"),
        ("1", "two numbers"),
        ("1,2,3", "two numbers"),
        ("-1,1", "negative"),
        ("3,1", "after start"),
        ("1,1.5", "at least 1s"),
        ("1,5", "at most 3s"),
        ("1;3", "two numbers"),
        ("", "two numbers"),
        (13, "string"),
        ("nan,inf", "numbers"),
        ("١,٣", "numbers"),  # Arabic-Indic digits: float() reads them, troupe does not
    ],
)
def test_invalid_timestamps(
    server: ServerProcess, media: MediaServer, timestamps: Any, fragment: str
) -> None:
    response = create(server, {"url": media.url("mascot.mp4"), "timestamps": timestamps})
    assert fragment in assert_error(response, 400, "invalid_timestamps", "timestamps")


def test_timestamps_past_the_end(server: ServerProcess, media: MediaServer) -> None:
    response = create(server, {"url": media.url("mascot.mp4"), "timestamps": "3,5.5"})
    message = assert_error(response, 400, "invalid_timestamps", "timestamps")
    assert "duration" in message and "4.00" in message


def test_video_too_long(server: ServerProcess, media: MediaServer) -> None:
    response = create(server, {"url": media.url("long.mp4"), "timestamps": "1,3"})
    assert "20.0s" in assert_error(response, 400, "video_too_long")


@pytest.mark.parametrize(
    "name",
    [
        "random.mp4",
        "notes.txt",
        "picture.png",
        "playlist.m3u8",
        "playlist.mp4",
        "concat.mp4",
        "song.mp3",
    ],
)
def test_unsupported_media(server: ServerProcess, media: MediaServer, name: str) -> None:
    response = create(server, {"url": media.url(name), "timestamps": "0,1"})
    assert_error(response, 400, "unsupported_media")


def test_no_audio_track(server: ServerProcess, media: MediaServer) -> None:
    response = create(server, {"url": media.url("silent.mp4"), "timestamps": "0,2"})
    assert "audio" in assert_error(response, 400, "no_audio_track")


def test_silent_sources_when_audio_is_optional(
    make_server: StartServer, media: MediaServer
) -> None:
    relaxed = make_server({"TROUPE_REQUIRE_AUDIO": "false"})
    response = create(relaxed, {"url": media.url("silent.mp4"), "timestamps": "0,2"})
    assert response.status_code == 200, response.text
    assert response.json()["voice_url"] is None


def test_file_too_large(make_server: StartServer, media: MediaServer) -> None:
    tight = make_server({"TROUPE_MAX_UPLOAD_BYTES": "50000", "TROUPE_MAX_DOWNLOAD_BYTES": "50000"})
    download = create(tight, {"url": media.url("mascot.mp4"), "timestamps": "1,3"})
    assert_error(download, 413, "file_too_large")
    with tight.client() as client, (media.root / "mascot.mp4").open("rb") as video:
        upload = client.post(
            "/v1/videos/characters", data={"name": "big"}, files={"video": ("m.mp4", video)}
        )
    assert_error(upload, 413, "file_too_large")


def resident_bytes(server: ServerProcess) -> int:
    assert server.process is not None
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) * 1024  # type: ignore[union-attr]


def streamed(head: bytes, megabytes: int, tail: bytes = b"") -> Iterator[bytes]:
    """A body without a declared length: httpx sends a generator chunked."""
    yield head
    for _ in range(megabytes):
        yield b"x" * (1024 * 1024)
    yield tail


def test_a_chunked_body_over_the_limit_is_cut_off_as_it_streams(make_server: StartServer) -> None:
    tight = make_server({"TROUPE_MAX_UPLOAD_BYTES": "50000"})
    before = resident_bytes(tight)
    boundary = "troupe-test-boundary"
    form_head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\nbig\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="video"; filename="big.mp4"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()
    with tight.client() as client:
        as_json = client.post(
            "/v1/characters",
            content=streamed(b'{"url": "', 256),
            headers={"Content-Type": "application/json"},
        )
        as_upload = client.post(
            "/v1/videos/characters",
            content=streamed(form_head, 256, f"\r\n--{boundary}--\r\n".encode()),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
    assert_error(as_json, 413, "file_too_large")
    assert_error(as_upload, 413, "file_too_large")
    # The server stopped reading at the limit: 512 MiB went out, its memory stayed flat.
    assert resident_bytes(tight) - before < 64 * 1024 * 1024
    uploads = tight.data_dir / "blobs" / "uploads"
    assert not uploads.exists() or list(uploads.iterdir()) == [], "nothing is left behind"


@pytest.mark.parametrize(
    "url",
    [
        "ftp://127.0.0.1/mascot.mp4",
        "file:///etc/passwd",
        "http://localhost:{port}/mascot.mp4",
        "http://2130706433:{port}/mascot.mp4",
        "http://0x7f000001:{port}/mascot.mp4",
        "http://127.1:{port}/mascot.mp4",
        "http://[::1]:{port}/mascot.mp4",
        "http://[::ffff:127.0.0.1]:{port}/mascot.mp4",
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.1/mascot.mp4",
    ],
)
def test_url_not_allowed(server: ServerProcess, media: MediaServer, url: str) -> None:
    """Tests allow the literal host `127.0.0.1` only; every other loopback spelling fails."""
    port = media.server.server_address[1]
    response = create(server, {"url": url.format(port=port), "timestamps": "0,1"})
    assert_error(response, 400, "url_not_allowed", "url")


def test_redirect_to_a_private_address_is_refused(
    server: ServerProcess, media: MediaServer
) -> None:
    port = media.server.server_address[1]
    hop = f"{media.base_url}/redirect?to=http://localhost:{port}/mascot.mp4"
    response = create(server, {"url": hop, "timestamps": "0,1"})
    message = assert_error(response, 400, "url_not_allowed", "url")
    assert "localhost" in message
    assert "TROUPE_ALLOWED_HOSTS" in message, "the refusal names the setting that allows a host"


def test_no_subject_found(server: ServerProcess, media: MediaServer) -> None:
    """The empty lawn fails; the same lawn with the mascot on it (grass.mp4) succeeds."""
    response = create(server, {"url": media.url("empty.mp4"), "timestamps": "0,2"})
    assert_error(response, 422, "no_subject_found", "timestamps")
    assert create(server, {"url": media.url("grass.mp4"), "timestamps": "0,2"}).status_code == 200


def test_low_quality_segment(server: ServerProcess, media: MediaServer) -> None:
    response = create(server, {"url": media.url("dark.mp4"), "timestamps": "0,2"})
    assert "dark" in assert_error(response, 422, "low_quality_segment", "timestamps")


def test_human_likeness_detected(make_server: StartServer, media: MediaServer) -> None:
    """A photographed person walking over a brick wall is refused, naming when they were seen."""
    [clip] = build_footage(media.root / "footage", ["astronaut_brick_walk"])
    relaxed = make_server({"TROUPE_REQUIRE_AUDIO": "false"})  # footage clips are silent
    url = media.url(f"footage/{clip.path.name}")
    response = create(relaxed, {"url": url, "timestamps": "0,2"})
    message = assert_error(response, 422, "human_likeness_detected", "timestamps")
    assert "real human" in message and re.search(r"at \d+\.\d+s", message)


def test_failure_suggests_a_better_window(server: ServerProcess, media: MediaServer) -> None:
    """The mascot walks in at 4.5 s: asking for 0-2 s fails and names windows past 4.5 s, each of
    which creation accepts."""
    response = create(server, {"url": media.url("late.mp4"), "timestamps": "0,2"})
    message = assert_error(response, 422, "no_subject_found", "timestamps")
    named = re.search(r"; try timestamps (.+)$", message)
    assert named, message
    windows = [pair.split(",") for pair in named[1].split(" or ")]
    assert windows and all(float(a) >= 4.0 and float(b) <= 8.0 for a, b in windows), message
    for a, b in windows:
        assert create(server, {"url": media.url("late.mp4"), "timestamps": f"{a},{b}"}).is_success


def test_download_failed(server: ServerProcess, media: MediaServer) -> None:
    missing = create(server, {"url": media.url("missing.mp4"), "timestamps": "0,1"})
    assert "404" in assert_error(missing, 502, "download_failed")
    closed = create(server, {"url": f"http://127.0.0.1:{free_port()}/x.mp4", "timestamps": "0,1"})
    assert_error(closed, 502, "download_failed")


def test_username_taken(server: ServerProcess, media: MediaServer) -> None:
    body = {"url": media.url("small.mp4"), "timestamps": "0,1", "username": "only_one"}
    assert create(server, body).status_code == 200
    assert_error(create(server, body), 409, "username_taken", "username")
    uploads = server.data_dir / "blobs" / "uploads"
    before = set(uploads.iterdir()) if uploads.exists() else set()
    with server.client() as client, (media.root / "small.mp4").open("rb") as video:
        upload = client.post(
            "/v1/videos/characters",
            data={"name": "again", "username": "only_one"},
            files={"video": ("s.mp4", video)},
        )
    assert_error(upload, 409, "username_taken", "username")
    after = set(uploads.iterdir()) if uploads.exists() else set()
    # Earlier jobs' uploads may go meanwhile (once settled); none may come.
    assert after <= before, "a refused upload leaves no file behind"


def test_from_task(server: ServerProcess, media: MediaServer) -> None:
    unknown = create(server, {"from_task": "video_123", "timestamps": "0,1"})
    assert_error(unknown, 404, "task_not_found", "from_task")
    with server.client() as client:
        task = client.post(
            "/v1/videos/generations", json={"url": media.url("small.mp4"), "timestamps": "0,1"}
        ).json()
        wait_for_task(client, task["id"])
    not_a_video = create(server, {"from_task": task["id"], "timestamps": "0,1"})
    assert "video job" in assert_error(not_a_video, 400, "invalid_request", "from_task")


def test_not_found_codes(server: ServerProcess) -> None:
    with server.client() as client:
        assert_error(client.get("/v1/tasks/task_nope"), 404, "task_not_found")
        assert_error(client.get("/v1/characters/char_nope"), 404, "character_not_found")
        assert_error(client.get("/v1/videos/characters/char_nope"), 404, "character_not_found")
        assert_error(client.delete("/v1/characters/char_nope"), 404, "character_not_found")
        assert_error(client.get("/v1/videos/video_nope"), 404, "video_not_found")
        assert_error(client.delete("/v1/videos/video_nope"), 404, "video_not_found")
        assert_error(client.get("/v1/no/such/route"), 404, "invalid_request")


def test_invalid_api_key(server: ServerProcess) -> None:
    with server.client(api_key="") as anonymous:
        message = assert_error(anonymous.get("/v1/characters"), 401, "invalid_api_key")
        assert "Authorization" in message
    with server.client(api_key="wrong") as wrong:
        assert_error(wrong.get("/v1/characters"), 401, "invalid_api_key")
        assert_error(wrong.post("/v1/characters", json={}), 401, "invalid_api_key")


def test_generations_needs_a_source(server: ServerProcess) -> None:
    with server.client() as client:
        response = client.post("/v1/videos/generations", json={"model": "sora-2", "prompt": "hi"})
    assert "/v1/videos" in assert_error(response, 400, "invalid_request", "url")


def test_upload_requires_a_file(server: ServerProcess, media: MediaServer) -> None:
    """A name may be left out (tests/api/test_character_names.py); a blank one may not."""
    with server.client() as client:
        no_file = client.post("/v1/videos/characters", data={"name": "x"})
        assert_error(no_file, 400, "invalid_request", "video")
        with (media.root / "small.mp4").open("rb") as video:
            blank_name = client.post(
                "/v1/videos/characters", data={"name": "  "}, files={"video": ("s.mp4", video)}
            )
        assert_error(blank_name, 400, "invalid_request", "name")


def test_failed_async_task_carries_the_error(server: ServerProcess, media: MediaServer) -> None:
    with server.client() as client:
        task = client.post(
            "/v1/videos/generations", json={"url": media.url("silent.mp4"), "timestamps": "0,1"}
        ).json()
        done = wait_for_task(client, task["id"])
    assert done["status"] == "failed"
    assert done["result"] is None
    assert done["error"]["code"] == "no_audio_track"
    assert done["error"]["message"]
