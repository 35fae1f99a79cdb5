"""`troupe serve --processes N`: several server processes on one port and one data dir."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support import free_port


def test_serve_with_two_processes_shares_the_data_dir(tmp_path: Path) -> None:
    port = free_port()
    data_dir = tmp_path / "data"
    env = {**os.environ, "TROUPE_API_KEYS": "test-key-alpha", "TROUPE_WORKERS": "1"}
    command = [sys.executable, "-m", "troupe", "serve", "--port", str(port)]
    command += ["--data-dir", str(data_dir), "--processes", "2"]
    log = (tmp_path / "server.log").open("wb")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": "Bearer test-key-alpha"}
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, (tmp_path / "server.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the server did not start"
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        # A video queued through one process is read through whichever answers next.
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            queued = client.post("/v1/videos", json={"prompt": "a beach", "seconds": "4"})
            assert queued.status_code == 200, queued.text
            for _ in range(20):  # new connections, spread over both processes
                with httpx.Client(base_url=base, headers=headers, timeout=30) as fresh:
                    polled = fresh.get(f"/v1/videos/{queued.json()['id']}")
                    assert polled.status_code == 200
                    assert polled.json()["id"] == queued.json()["id"]
            assert (data_dir / "troupe.db").exists()
    finally:
        process.terminate()
        process.wait(30)
        log.close()
