"""A remix, edit or extension is a new render: a character its owner deleted or made private
since the source video was made is in none of them, refused at submission or, when it goes
while the job waits, failing the job."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.test_roles import API_ONLY, start_worker
from tests.conftest import StartServer
from tests.support import MediaServer, WorkerProcess, wait_for_task


def derive(client: httpx.Client, video_id: str) -> dict[str, httpx.Response]:
    """A remix, an edit and an extension of the video, as the official SDK asks for them."""
    source = {"video": {"id": video_id}}
    return {
        "remix": client.post(f"/v1/videos/{video_id}/remix", json={"prompt": "at night"}),
        "edit": client.post("/v1/videos/edits", json={**source, "prompt": "in the snow"}),
        "extension": client.post(
            "/v1/videos/extensions", json={**source, "prompt": "then it jumps", "seconds": "4"}
        ),
    }


def assert_refused(answers: dict[str, httpx.Response]) -> None:
    for origin, answer in answers.items():
        assert answer.status_code == 400, (origin, answer.text)
        error: dict[str, Any] = answer.json()["error"]
        assert (error["code"], error["param"]) == ("unknown_character", "video"), origin


def test_a_character_deleted_or_made_private_is_in_no_new_render(
    make_server: StartServer, media: MediaServer, workers: list[WorkerProcess]
) -> None:
    server = make_server(API_ONLY)
    worker = start_worker(workers, server)
    with server.client() as alpha, server.client("test-key-beta") as beta:
        made = alpha.post(
            "/v1/characters", json={"url": media.url("small.mp4"), "username": "lent_star"}
        )
        assert made.status_code == 200, made.text
        star = made.json()["id"]
        assert alpha.patch(f"/v1/characters/{star}", json={"visibility": "public"}).is_success
        video = beta.post("/v1/videos", json={"prompt": "@lent_star waves", "seconds": "4"})
        assert wait_for_task(beta, video.json()["id"])["status"] == "completed"

        assert alpha.patch(f"/v1/characters/{star}", json={"visibility": "private"}).is_success
        assert_refused(derive(beta, video.json()["id"]))

        # Shared again, a remix is queued; the character is deleted before a worker takes it.
        assert alpha.patch(f"/v1/characters/{star}", json={"visibility": "public"}).is_success
        worker.stop()
        waiting = beta.post(f"/v1/videos/{video.json()['id']}/remix", json={"prompt": "at dawn"})
        assert waiting.status_code == 200, waiting.text
        assert alpha.delete(f"/v1/characters/{star}").status_code == 200
        assert_refused(derive(beta, video.json()["id"]))
        start_worker(workers, server)
        failed = wait_for_task(beta, waiting.json()["id"])
    assert failed["status"] == "failed", failed
    assert failed["error"]["code"] == "unknown_character"
