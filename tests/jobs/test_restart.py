"""A job survives its server: SIGKILL mid-job, restart on the same data dir, the task completes."""

from __future__ import annotations

import time

from tests.conftest import StartServer
from tests.support import MediaServer, wait_for_task


def test_task_completes_after_sigkill_mid_job(make_server: StartServer, media: MediaServer) -> None:
    first = make_server()
    with first.client() as client:
        # /slow/ holds the download for a few seconds, so the job is surely running when killed.
        task = client.post(
            "/v1/videos/generations",
            json={"url": f"{media.base_url}/slow/small.mp4", "timestamps": "0,2"},
        ).json()
        deadline = time.monotonic() + 10
        while client.get(f"/v1/tasks/{task['id']}").json()["status"] != "in_progress":
            assert time.monotonic() < deadline, "the job was never claimed"
            time.sleep(0.05)
    first.kill()

    second = make_server()  # same data dir, new process
    assert second.data_dir == first.data_dir
    with second.client() as client:
        done = wait_for_task(client, task["id"])
        assert done["status"] == "completed", done
        character = done["result"]
        assert client.get(f"/v1/characters/{character['id']}").status_code == 200
