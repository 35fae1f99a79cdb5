"""A Python client for a troupe server: creates characters and videos, waits for jobs by
following `openai-poll-after-ms`, and retries what the server asks to be retried."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from troupe.errors import ERROR_CODES

RETRIED_STATUSES = (408, 429, 500, 502, 503, 504)
DEFAULT_POLL_SECONDS = 1.0
SETTLED = ("completed", "failed", "expired")
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


class Client:
    """Synchronous client. `base_url` is the server root, e.g. `http://127.0.0.1:8000`."""

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:8000",
        api_key: str | None = None,
        retry: RetryPolicy = RetryPolicy(),
        timeout: float = 600.0,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout)
        self.retry = retry
        self.sleep: Callable[[float], None] = time.sleep

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- characters ---------------------------------------------------------------------

    def create_character(
        self,
        *,
        url: str | None = None,
        file: Path | None = None,
        from_task: str | None = None,
        timestamps: str | None = None,
        name: str | None = None,
        username: str | None = None,
    ) -> dict[str, Any]:
        """Create a character from exactly one source and wait until it exists."""
        if sum(source is not None for source in (url, file, from_task)) != 1:
            raise ValueError("give exactly one of url, file and from_task")
        if file is not None:
            return self._upload_character(file, timestamps, name, username)
        body = {"url": url, "from_task": from_task, "timestamps": timestamps, "name": name}
        body = {key: value for key, value in {**body, "username": username}.items() if value}
        task = self.request("POST", "/v1/videos/generations", json=body)
        settled = self.wait(f"/v1/tasks/{task['id']}", task)
        return self._result(settled)

    def create_many(
        self,
        requests: Iterable[dict[str, Any]],
        concurrency: int = 4,
        progress: Progress | None = None,
    ) -> list[dict[str, Any] | TroupeAPIError]:
        """Create many characters, `concurrency` at a time; one entry per request, in order,
        holding the character or the error that request ended with."""
        jobs = list(requests)
        done = 0

        def one(kwargs: dict[str, Any]) -> dict[str, Any] | TroupeAPIError:
            nonlocal done
            try:
                outcome: dict[str, Any] | TroupeAPIError = self.create_character(**kwargs)
            except TroupeAPIError as error:
                outcome = error
            done += 1
            if progress is not None:
                progress(done, len(jobs), outcome)
            return outcome

        with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
            return list(pool.map(one, jobs))

    def character(self, ref: str) -> dict[str, Any]:
        return self.request("GET", f"/v1/characters/{ref}")

    # --- videos -------------------------------------------------------------------------

    def create_video(self, prompt: str, **fields: Any) -> dict[str, Any]:
        """Render a video (characters by @mention or `characters=[{"id": ...}]`) and wait."""
        video = self.request("POST", "/v1/videos", json={"prompt": prompt, **fields})
        return self.wait(f"/v1/videos/{video['id']}", video)

    def download(self, video_id: str, dest: Path, variant: str = "video") -> Path:
        response = self._send("GET", f"/v1/videos/{video_id}/content", params={"variant": variant})
        dest.write_bytes(response.content)
        return dest

    # --- plumbing -----------------------------------------------------------------------

    def wait(self, path: str, current: dict[str, Any], timeout: float = 3600.0) -> dict[str, Any]:
        """Poll `path` until the job settles, as often as the server's poll header asks."""
        deadline = time.monotonic() + timeout
        delay = DEFAULT_POLL_SECONDS
        while current.get("status") not in SETTLED:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{path} did not settle in {timeout:.0f}s")
            self.sleep(delay)
            response = self._send("GET", path)
            current = response.json()
            delay = _poll_seconds(response)
        return current

    def request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        body: dict[str, Any] = self._send(method, path, **kwargs).json()
        return body

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        for attempt in range(self.retry.attempts):
            try:
                response = self.http.request(method, path, **kwargs)
            except httpx.TransportError:
                if attempt + 1 == self.retry.attempts:
                    raise
                self.sleep(self.retry.delay(attempt, None))
                continue
            if response.status_code not in RETRIED_STATUSES or attempt + 1 == self.retry.attempts:
                break
            self.sleep(self.retry.delay(attempt, response))
        if response.status_code >= 400:
            raise _api_error(response)
        return response

    def _upload_character(
        self, file: Path, timestamps: str | None, name: str | None, username: str | None
    ) -> dict[str, Any]:
        form = {"name": name or file.stem, "timestamps": timestamps, "username": username}
        with file.open("rb") as handle:
            character = self.request(
                "POST",
                "/v1/videos/characters",
                data={key: value for key, value in form.items() if value},
                files={"video": (file.name, handle.read())},
                headers={"Prefer": "respond-async"},
            )
        if character.get("object") == "generation.task":
            return self._result(self.wait(f"/v1/tasks/{character['id']}", character))
        return character

    @staticmethod
    def _result(task: dict[str, Any]) -> dict[str, Any]:
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


def _poll_seconds(response: httpx.Response) -> float:
    header = response.headers.get("openai-poll-after-ms", "")
    return int(header) / 1000 if header.isdigit() else DEFAULT_POLL_SECONDS


def _api_error(response: httpx.Response) -> TroupeAPIError:
    try:
        error = response.json().get("error") or {}
    except ValueError:
        error = {}
    return TroupeAPIError(
        response.status_code,
        error.get("code", "internal_error"),
        error.get("message", response.text[:200]),
        error.get("param"),
    )
