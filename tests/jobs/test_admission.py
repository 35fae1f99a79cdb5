"""The per-owner concurrent-job limit holds against racing submissions, over real HTTP, on SQLite
and on PostgreSQL: requests that arrive together are admitted one at a time."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.conftest import StartServer
from tests.support import ServerProcess

LIMIT = 3
RACERS = 20
# No worker: admitted jobs stay queued, so each one counts against the limit to the end.
QUEUE_ONLY = {
    "TROUPE_WORKERS": "0",
    "TROUPE_RATE_LIMIT_PER_MINUTE": "0",
    "TROUPE_MAX_CONCURRENT_JOBS": str(LIMIT),
}


def race(servers: list[ServerProcess]) -> list[httpx.Response]:
    """RACERS submissions of one owner, released together, spread over `servers`."""
    start = threading.Barrier(RACERS)

    def submit(index: int) -> httpx.Response:
        with servers[index % len(servers)].client() as client:
            start.wait()
            return client.post("/v1/videos", json={"prompt": f"a beach, take {index}"})

    with ThreadPoolExecutor(RACERS) as pool:
        return list(pool.map(submit, range(RACERS)))


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_racing_submissions_admit_no_more_than_the_limit(
    make_server: StartServer, request: pytest.FixtureRequest, database: str
) -> None:
    env = dict(QUEUE_ONLY)
    if database == "postgresql":
        env["TROUPE_DATABASE_URL"] = request.getfixturevalue("postgres_url")
    # Two servers on one database, as `--processes 2` or two machines would share it.
    servers = [make_server(env), make_server(env)]
    answers = race(servers)

    admitted = [answer for answer in answers if answer.status_code == 200]
    refused = [answer for answer in answers if answer.status_code != 200]
    assert len(admitted) == LIMIT, [answer.text for answer in admitted]
    for answer in refused:
        assert answer.status_code == 429, answer.text
        assert answer.json()["error"]["code"] == "rate_limit_exceeded"
        assert int(answer.headers["retry-after"]) >= 1
    with servers[0].client() as client:
        listed = client.get("/v1/videos", params={"limit": 100}).json()["data"]
    assert sorted(video["id"] for video in listed) == sorted(a.json()["id"] for a in admitted)
