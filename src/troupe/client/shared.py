"""What the sync and async clients share: the retry policy, the request each verb sends, and
how an answer becomes a value or a `TroupeAPIError`. Nothing here does I/O."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from troupe.errors import ERROR_CODES

RETRIED_STATUSES = (408, 429, 500, 502, 503, 504)
DEFAULT_POLL_SECONDS = 1.0
SETTLED = ("completed", "failed", "expired")
DOWNLOAD_CHUNK_BYTES = 1024 * 1024
# The request field by which a key allowed to attest vouches that a subject is no real person.
ATTEST = "attest_original_character"

# A single job's progress callback: called with the task or Video object once when the job is
# queued and again after every poll, the last time with the settled object.
JobProgress = Callable[[dict[str, Any]], None]
# create_many's progress callback: (finished so far, total, the character or the error).
Progress = Callable[[int, int, "dict[str, Any] | TroupeAPIError"], None]


class TroupeAPIError(Exception):
    """An error answer of the server: its HTTP status and OpenAI-style code."""

    def __init__(self, status: int, code: str, message: str, param: str | None) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.param = param


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    base_seconds: float = 0.5
    max_seconds: float = 30.0

    def delay(self, attempt: int, response: httpx.Response | None) -> float:
        """The server's Retry-After when it gave one, else exponential backoff."""
        if response is not None:
            header = response.headers.get("retry-after", "")
            if header.replace(".", "", 1).isdigit():
                return min(float(header), self.max_seconds)
        return min(self.base_seconds * 2**attempt, self.max_seconds)

    def tries(self) -> range:
        """The attempt numbers, from 0; there is always a first one."""
        return range(max(1, self.attempts))

    def last(self, attempt: int) -> bool:
        return attempt + 1 >= self.attempts

    def retried(self, attempt: int, response: httpx.Response) -> bool:
        """Whether to send the request again for this answer (408, 429, 5xx) and attempt."""
        return response.status_code in RETRIED_STATUSES and not self.last(attempt)


DEFAULT_RETRY = RetryPolicy()


@dataclass(frozen=True)
class Call:
    """One HTTP request of the API, before any file of it is opened."""

    method: str
    path: str
    params: dict[str, Any] | None = None
    json: dict[str, Any] | None = None
    data: dict[str, str] | None = None
    files: dict[str, Path] | None = None  # multipart fields streamed from disk
    headers: dict[str, str] = field(default_factory=dict)
    # One key per call, the same on every retry: a POST that the server ran before the
    # connection broke is answered again from its record, not run a second time.
    idempotency_key: str = field(default_factory=lambda: f"troupe-client-{uuid.uuid4().hex}")

    def arguments(self, opened: ExitStack) -> dict[str, Any]:
        """Keyword arguments of `httpx.Client.build_request`; files open on `opened`."""
        headers = dict(self.headers)
        if self.method == "POST":
            headers.setdefault("Idempotency-Key", self.idempotency_key)
        files = {
            name: (path.name, opened.enter_context(path.open("rb")))
            for name, path in (self.files or {}).items()
        }
        return {
            "method": self.method,
            "url": self.path,
            "params": self.params,
            "json": self.json,
            "data": self.data,
            "files": files or None,
            "headers": headers,
        }


def segment(value: str) -> str:
    """An id or username as one path segment."""
    return quote(value, safe="")


def present(values: Mapping[str, Any]) -> dict[str, Any]:
    """The entries that were given (not None), e.g. the optional query parameters."""
    return {key: value for key, value in values.items() if value is not None}


def form_value(value: Any) -> str:
    """A form field: strings as they are, anything else as JSON, which the server decodes."""
    return value if isinstance(value, str) else json.dumps(value)


# --- the request each verb sends -----------------------------------------------------------


def create_character_call(
    url: str | None,
    file: Path | None,
    from_task: str | None,
    timestamps: str | None,
    name: str | None,
    username: str | None,
    attest: bool = False,
) -> Call:
    """A character from exactly one source; the server answers a task to wait for. `attest`
    vouches that the subject is no real person (keys allowed to attest only)."""
    if sum(source is not None for source in (url, file, from_task)) != 1:
        raise ValueError("give exactly one of url, file and from_task")
    if file is not None:
        form = {"name": name or file.stem, "timestamps": timestamps, "username": username}
        if attest:
            form[ATTEST] = "true"
        return Call(
            "POST",
            "/v1/videos/characters",
            data={key: value for key, value in form.items() if value},
            files={"video": file},
            headers={"Prefer": "respond-async"},
        )
    body: dict[str, Any] = {"url": url, "from_task": from_task, "timestamps": timestamps}
    body |= {"name": name, "username": username, ATTEST: attest}
    return Call("POST", "/v1/videos/generations", json={k: v for k, v in body.items() if v})


def character_call(ref: str) -> Call:
    return Call("GET", f"/v1/characters/{segment(ref.removeprefix('@'))}")


def list_characters_call(
    q: str | None, limit: int | None, after: str | None, order: str | None
) -> Call:
    params = present({"q": q, "limit": limit, "after": after, "order": order})
    return Call("GET", "/v1/characters", params=params)


def delete_character_call(character_id: str) -> Call:
    return Call("DELETE", f"/v1/characters/{segment(character_id)}")


def set_visibility_call(character_id: str, visibility: str) -> Call:
    return Call("PATCH", f"/v1/characters/{segment(character_id)}", json={"visibility": visibility})


def windows_call(
    url: str | None, file: Path | None, from_task: str | None, count: int | None
) -> Call:
    if sum(source is not None for source in (url, file, from_task)) != 1:
        raise ValueError("give exactly one of url, file and from_task")
    if file is not None:
        data = present({"count": None if count is None else str(count)})
        return Call("POST", "/v1/characters/windows", data=data, files={"video": file})
    body = present({"url": url, "from_task": from_task, "count": count})
    return Call("POST", "/v1/characters/windows", json=body)


def create_video_call(prompt: str, fields: Mapping[str, Any]) -> Call:
    """JSON, or multipart when a field is a file on disk (an `input_reference` image)."""
    body = {"prompt": prompt, **present(fields)}
    files = {key: value for key, value in body.items() if isinstance(value, Path)}
    if not files:
        return Call("POST", "/v1/videos", json=body)
    data = {key: form_value(value) for key, value in body.items() if key not in files}
    return Call("POST", "/v1/videos", data=data, files=files)


def video_call(video_id: str) -> Call:
    return Call("GET", f"/v1/videos/{segment(video_id)}")


def list_videos_call(limit: int | None, after: str | None, order: str | None) -> Call:
    params = present({"limit": limit, "after": after, "order": order})
    return Call("GET", "/v1/videos", params=params)


def delete_video_call(video_id: str) -> Call:
    return Call("DELETE", f"/v1/videos/{segment(video_id)}")


def remix_video_call(video_id: str, prompt: str) -> Call:
    return Call("POST", f"/v1/videos/{segment(video_id)}/remix", json={"prompt": prompt})


def extend_video_call(video_id: str, prompt: str, seconds: str | int) -> Call:
    body = {"video": {"id": video_id}, "prompt": prompt, "seconds": str(seconds)}
    return Call("POST", "/v1/videos/extensions", json=body)


def edit_video_call(video_id: str, prompt: str) -> Call:
    return Call("POST", "/v1/videos/edits", json={"video": {"id": video_id}, "prompt": prompt})


def download_call(video_id: str, variant: str) -> Call:
    return Call("GET", f"/v1/videos/{segment(video_id)}/content", params={"variant": variant})


def task_call(task_id: str) -> Call:
    return Call("GET", f"/v1/tasks/{segment(task_id)}")


def list_tasks_call(
    kind: str | None, status: str | None, limit: int | None, after: str | None, order: str | None
) -> Call:
    params = present(
        {"kind": kind, "status": status, "limit": limit, "after": after, "order": order}
    )
    return Call("GET", "/v1/tasks", params=params)


def usage_call(limit: int | None, before: int | None) -> Call:
    return Call("GET", "/v1/usage", params=present({"limit": limit, "before": before}))


# --- answers -------------------------------------------------------------------------------


def body_of(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    return body


def is_task(answer: dict[str, Any]) -> bool:
    return answer.get("object") == "generation.task"


def task_path(task: dict[str, Any]) -> str:
    return f"/v1/tasks/{segment(task['id'])}"


def video_path(video: dict[str, Any]) -> str:
    return f"/v1/videos/{segment(video['id'])}"


def settled(current: dict[str, Any]) -> bool:
    return current.get("status") in SETTLED


def poll_seconds(response: httpx.Response) -> float:
    header = response.headers.get("openai-poll-after-ms", "")
    return int(header) / 1000 if header.isdigit() else DEFAULT_POLL_SECONDS


def task_result(task: dict[str, Any]) -> dict[str, Any]:
    """The Character of a completed task; a failed one raises its error."""
    if task["status"] != "completed":
        error = task.get("error") or {}
        code = error.get("code", "internal_error")
        raise TroupeAPIError(
            ERROR_CODES.get(code, (500, ""))[0],
            code,
            error.get("message", ""),
            error.get("param"),
        )
    result: dict[str, Any] = task["result"]
    return result


def api_error(response: httpx.Response) -> TroupeAPIError:
    """The error of an answer whose body has been read."""
    try:
        body = response.json()
    except ValueError:
        body = None
    error = (body.get("error") if isinstance(body, dict) else None) or {}
    return TroupeAPIError(
        response.status_code,
        error.get("code", "internal_error"),
        error.get("message", response.text[:200]),
        error.get("param"),
    )


def partial_path(dest: Path) -> Path:
    """Where a download is written until it is whole, so `dest` never holds half a file."""
    return dest.with_name(f"{dest.name}.part")
