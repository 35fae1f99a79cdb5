"""A decoder bomb fails its own job with a code, and the server stays up to serve the next."""

from __future__ import annotations

from tests.api.test_errors import assert_error
from tests.conftest import StartServer
from tests.media.hostile import write_size_bomb
from tests.support import MediaServer, wait_for_task


def test_decoder_bomb_fails_its_job_and_the_server_carries_on(
    make_server: StartServer, media: MediaServer
) -> None:
    # The bomb is silent; 2 GiB is ample for a real clip and far short of what the bomb takes.
    server = make_server(
        {"TROUPE_REQUIRE_AUDIO": "false", "TROUPE_DECODE_MEMORY_BYTES": str(2 * 2**30)}
    )
    bomb = media.root / "late-bomb.webm"  # honest headers, huge frames from the second key frame
    write_size_bomb(bomb, server.data_dir.parent, mid_stream=True)
    with server.client() as client:
        task = client.post(
            "/v1/videos/generations", json={"url": media.url(bomb.name), "timestamps": "0,2"}
        ).json()
        failed = wait_for_task(client, task["id"])
        assert failed["status"] == "failed", failed
        assert failed["error"]["code"] == "unsupported_media"
        assert "memory" in failed["error"]["message"]

        with bomb.open("rb") as video:
            scanned = client.post("/v1/characters/windows", files={"video": (bomb.name, video)})
        assert "memory" in assert_error(scanned, 400, "unsupported_media", "video")

        created = client.post(
            "/v1/characters", json={"url": media.url("small.mp4"), "timestamps": "0.5,2.5"}
        )
        assert created.status_code == 200, created.text
    assert server.process is not None and server.process.poll() is None
