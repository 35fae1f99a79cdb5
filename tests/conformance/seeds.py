"""What every conformance test shares: the seeds' examples change only their host, key and
source URL, so each test swaps those three and keeps the rest of the example as written."""

from __future__ import annotations

import subprocess
import time
from typing import Any

import requests

from tests.support import ServerProcess


def api_key(server: ServerProcess) -> str:
    assert server.api_key is not None
    return server.api_key


def json_headers(server: ServerProcess) -> dict[str, str]:
    """The headers every seed example sends with a JSON body."""
    return {"Authorization": f"Bearer {api_key(server)}", "Content-Type": "application/json"}


def curl_json(server: ServerProcess, path: str, body: str) -> tuple[int, Any]:
    """Run a seed's curl example: `curl URL -H ... -d '{...}'`, with the real curl."""
    completed = subprocess.run(
        [
            "curl",
            "-sS",
            "-w",
            "\n%{http_code}",
            f"{server.base_url}{path}",
            "-H",
            "Content-Type: application/json",
            "-H",
            f"Authorization: Bearer {api_key(server)}",
            "-d",
            body,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    text, _, status = completed.stdout.rpartition("\n")
    return int(status), requests.models.complexjson.loads(text)


def poll(url: str, headers: dict[str, str], timeout: float = 180) -> dict[str, Any]:
    """The seeds' polling loop: GET until `status` is completed or failed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result: dict[str, Any] = requests.get(url, headers=headers, timeout=30).json()
        if result.get("status") in ("completed", "failed"):
            return result
        time.sleep(0.2)  # the seeds sleep 5 s; the answer is the same
    raise AssertionError(f"{url} did not settle in {timeout}s")


CHARACTER_FIELDS = ("id", "username", "display_name", "permalink", "profile_picture_url")


def assert_character(body: dict[str, Any]) -> None:
    """The fields seed 000 prints and seed 002 lists, with usable values."""
    for field in CHARACTER_FIELDS:
        assert isinstance(body.get(field), str) and body[field], (field, body)
    assert body["character_id"] == body["id"]
    assert body["permalink"].endswith(f"/characters/{body['username']}")
