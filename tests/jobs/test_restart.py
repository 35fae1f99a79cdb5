"""A job survives its server: SIGKILL mid-job, restart on the same data dir, the task completes
and the killed process's scratch files are gone."""

from __future__ import annotations

import time
from pathlib import Path

from tests.conftest import StartServer
from tests.support import MediaServer, ServerProcess, start_slow_task, wait_for_task


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


def scratch_folders(server: ServerProcess) -> list[Path]:
    folder = server.data_dir / "blobs" / ".scratch"
    return sorted(folder.iterdir()) if folder.exists() else []


def test_scratch_left_by_a_sigkill_is_swept_at_start(
    make_server: StartServer, media: MediaServer
) -> None:
    first = make_server()
    with first.client() as client:
        start_slow_task(client, media)  # its download lands in a scratch folder
    deadline = time.monotonic() + 10
    while not scratch_folders(first):
        assert time.monotonic() < deadline, "the job made no scratch folder"
        time.sleep(0.05)
    first.kill()
    assert scratch_folders(first), "SIGKILL skipped the clean-up"

    second = make_server({"TROUPE_WORKERS": "0"})  # same data dir; it runs nothing itself
    assert scratch_folders(second) == []
