"""A job survives its server: SIGKILL mid-job, restart on the same data dir, the task completes."""

from __future__ import annotations

from tests.conftest import StartServer
from tests.support import MediaServer, start_slow_task, wait_for_task


def test_task_completes_after_sigkill_mid_job(make_server: StartServer, media: MediaServer) -> None:
    first = make_server()
    with first.client() as client:
        task_id = start_slow_task(client, media)  # surely running when killed
    first.kill()

    second = make_server()  # same data dir, new process
    assert second.data_dir == first.data_dir
    with second.client() as client:
        done = wait_for_task(client, task_id)
        assert done["status"] == "completed", done
        character = done["result"]
        assert client.get(f"/v1/characters/{character['id']}").status_code == 200
