"""Fuzzing the HTTP API: schemathesis sends requests generated from `/openapi.json` to a live
server and checks every answer against what that document declares.

The server first gets a real character, its task and a rendered video (one server with workers),
then is restarted on the same data dir with no worker threads, so that fuzzed creations queue
and never render; generated path ids are the seeded ones half of the time, so reads, updates,
downloads and remixes are checked on real objects as well as on unknown ids.

Checks on:
- `not_a_server_error`: no 5xx, whatever the input;
- `status_code_conformance`, `content_type_conformance`, `response_headers_conformance`,
  `response_schema_conformance`: every answer is one the document declares, in its shape;
- `missing_required_header`, `unsupported_method`, `allow_header_conformance`: a method a path
  does not serve is a 405 naming the methods it does;
- `use_after_free`, `ensure_resource_availability`: in the stateful phase, what a POST made can
  be read and what a DELETE removed cannot.
Checks off:
- `positive_data_acceptance`: the document cannot state cross-field rules (`url` xor
  `from_task`, an `@mention` must name a character), so schema-valid bodies are often 400s;
- `negative_data_rejection`: troupe is lenient on purpose where SDKs and resellers differ
  (multipart sends every field as a string, `seconds` may be a number, extra fields are ignored);
- `max_response_time` (off unless given a limit): tests never judge wall-clock time.
Rate and concurrency limits are off on the fuzzed server, or most answers would be 429s.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import StartServer
from tests.support import ServerProcess, wait_for_task
from troupe.media.synthetic import ClipSpec, make_mascot_clip

# Examples per operation and phase: the fuzzing itself takes about 10 s on 2 cores.
MAX_EXAMPLES = 25
SEED = 20240601
FUZZ_SETTINGS = {
    "TROUPE_WORKERS": "0",
    # A synchronous creation answers its 202 task at once instead of waiting for no worker.
    "TROUPE_SYNC_WAIT_SECONDS": "0.05",
    # Generated URLs must not reach anything: no host is allow-listed, fetches give up fast.
    "TROUPE_ALLOWED_HOSTS": "",
    "TROUPE_FETCH_TIMEOUT_SECONDS": "2",
    "TROUPE_RATE_LIMIT_PER_MINUTE": "0",
    "TROUPE_MAX_CONCURRENT_JOBS": "0",
}
CHECKS_OFF = ("positive_data_acceptance", "negative_data_rejection")


def seed_objects(server: ServerProcess, clip: Path) -> dict[str, str]:
    """A character (made from an upload), its task, and a rendered video that casts it."""
    with server.client() as client:
        with clip.open("rb") as video:
            created = client.post(
                "/v1/videos/characters",
                files={"video": ("seed.mp4", video, "video/mp4")},
                data={"name": "Fuzz Seed", "timestamps": "0,2", "username": "fuzz_seed"},
                headers={"Prefer": "respond-async"},
            )
        assert created.status_code == 202, created.text
        task = wait_for_task(client, created.json()["id"])
        assert task["status"] == "completed", task
        ordered = client.post(
            "/v1/videos",
            json={"prompt": "@fuzz_seed waves on a beach", "seconds": "4", "size": "720x1280"},
        )
        assert ordered.status_code == 200, ordered.text
        video = wait_for_task(client, ordered.json()["id"])
        assert video["status"] == "completed", video
    return {"task": task["id"], "character": task["result"]["id"], "video": video["id"]}


def schemathesis_config(seeded: dict[str, str], api_key: str) -> str:
    """The run's settings as `schemathesis.toml` (TOML accepts JSON-style strings and lists)."""

    def values(*items: str) -> str:
        return f"values = {json.dumps(list(items))}"

    def bind(name: str) -> str:
        return f'{{ dictionary = "{name}", probability = 0.5 }}'

    lines = [
        f"seed = {SEED}",
        "workers = 1",  # Hypothesis' caches are not thread-safe: with 2, generation crashed
        "request-timeout = 30",
        f'headers = {{ Authorization = "Bearer {api_key}" }}',
        "[generation]",
        f"max-examples = {MAX_EXAMPLES}",
        'database = "none"',
        "[checks]",
        *(f"{check}.enabled = false" for check in CHECKS_OFF),
        "[dictionaries.characters]",
        values(seeded["character"], "@fuzz_seed", "fuzz_seed"),
        "[dictionaries.videos]",
        values(seeded["video"]),
        "[dictionaries.tasks]",
        values(seeded["task"], seeded["video"]),
        "[parameters]",
        f'"path.character_ref" = {bind("characters")}',
        f'"path.character_id" = {bind("characters")}',
        f'"path.video_id" = {bind("videos")}',
        f'"path.task_id" = {bind("tasks")}',
        f'"body.from_task" = {bind("videos")}',
        f'"body.character_from_task" = {bind("videos")}',
        f'"body.video.id" = {bind("videos")}',
    ]
    return "\n".join(lines) + "\n"


def run_schemathesis(server: ServerProcess, config: Path, workdir: Path) -> tuple[int, str]:
    command = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(config)]
    command += ["--no-color", "run", f"{server.base_url}/openapi.json"]
    # Run in a scratch folder: schemathesis keeps caches and reports in the working directory.
    done = subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=600)
    return done.returncode, done.stdout + done.stderr


def test_openapi_fuzz_finds_no_server_errors_or_schema_violations(
    make_server: StartServer, tmp_path: Path
) -> None:
    clip = tmp_path / "seed.mp4"
    make_mascot_clip(clip, ClipSpec(seconds=3, width=640, height=360))
    seeder = make_server(name="data")
    seeded = seed_objects(seeder, clip)
    seeder.stop()
    server = make_server(env=FUZZ_SETTINGS, name="data")
    config = tmp_path / "schemathesis.toml"
    config.write_text(schemathesis_config(seeded, server.api_key or ""))
    code, output = run_schemathesis(server, config, tmp_path)
    assert code == 0, output[-20000:]
    # A 5xx that schemathesis saw is a failure above; this catches one it could not pin down.
    assert "unhandled error" not in server.log_path.read_text()


# What fuzzing found once, kept as plain requests: each was a 500 before its fix.
FOUND_BY_FUZZING = [
    (
        "POST",
        "/v1/characters",
        {"url": "http://[::1/a.mp4", "timestamps": "0,2"},
        "url_not_allowed",
    ),
    (
        "POST",
        "/v1/videos",
        {"prompt": "x", "input_reference": {"image_url": "http://[/"}},
        "url_not_allowed",
    ),
    ("GET", "/v1/usage?before=360898370537275432894464", None, "invalid_request"),
    # PostgreSQL stores no NUL in text; SQLite does, so these were 500s there alone.
    ("POST", "/v1/videos", {"prompt": "a\u0000b"}, "invalid_request"),
    (
        "POST",
        "/v1/characters",
        {"url": "http://a.example/c.mp4", "name": "a\u0000b"},
        "invalid_request",
    ),
]


@pytest.mark.parametrize(("method", "path", "body", "code"), FOUND_BY_FUZZING)
def test_inputs_found_by_fuzzing_are_client_errors(
    server: ServerProcess, method: str, path: str, body: dict[str, Any] | None, code: str
) -> None:
    with server.client() as client:
        response = client.request(method, path, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == code


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/v1/characters", "POST, GET"),
        ("PUT", "/v1/characters/char_1", "GET, PATCH, DELETE"),
        # A literal path is its own resource, though `/v1/videos/{video_id}` matches it too.
        ("PUT", "/v1/videos/edits", "POST"),
    ],
)
def test_405_names_every_method_of_the_path(
    server: ServerProcess, method: str, path: str, allowed: str
) -> None:
    with server.client() as client:
        response = client.request(method, path)
    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) == set(allowed.split(", "))
