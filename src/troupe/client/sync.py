"""`troupe.Client`: the synchronous client, on `httpx.Client`. Each verb builds its request in
`shared`, sends it here (retrying as the policy says) and shapes the answer."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx

from troupe.client import shared
from troupe.client.shared import (
    DEFAULT_POLL_SECONDS,
    DEFAULT_RETRY,
    Call,
    JobProgress,
    Progress,
    RetryPolicy,
    TroupeAPIError,
)


class Client:
    """Synchronous client. `base_url` is the server root, e.g. `http://127.0.0.1:8000`.

    Safe to share between threads (`create_many` does). Every method raises `TroupeAPIError`
    for an error answer, after retrying 408, 429 and 5xx answers and broken connections."""

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:8000",
        api_key: str | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        timeout: float = 600.0,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout)
        self.retry = retry
        # Every wait of the client (retries and polls) goes through here, so tests can see it.
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
        attest_original_character: bool = False,
        progress: JobProgress | None = None,
    ) -> dict[str, Any]:
        """Create a character from exactly one source and wait until it exists; a failed
        creation raises its error. `progress` sees the task after every poll, a task waiting
        for an operator's review included. `attest_original_character` vouches that the
        subject is no real person, which only keys allowed to attest may do."""
        call = shared.create_character_call(
            url, file, from_task, timestamps, name, username, attest_original_character
        )
        response = self._send(call)
        answer = shared.body_of(response)
        if not shared.is_task(answer):
            return answer  # the server finished it before answering
        task = self._wait(shared.task_path(answer), answer, progress, shared.poll_seconds(response))
        return shared.task_result(task)

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
        lock = threading.Lock()

        def one(kwargs: dict[str, Any]) -> dict[str, Any] | TroupeAPIError:
            nonlocal done
            try:
                outcome: dict[str, Any] | TroupeAPIError = self.create_character(**kwargs)
            except TroupeAPIError as error:
                outcome = error
            with lock:
                done += 1
                if progress is not None:
                    progress(done, len(jobs), outcome)
            return outcome

        with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
            return list(pool.map(one, jobs))

    def character(self, ref: str) -> dict[str, Any]:
        """One character by id or username (`@username` works too)."""
        return self._json(shared.character_call(ref))

    def list_characters(
        self,
        *,
        q: str | None = None,
        limit: int | None = None,
        after: str | None = None,
        order: str | None = None,
    ) -> dict[str, Any]:
        """One list page: `data`, `first_id`, `last_id`, `has_more`; `q` is a name prefix."""
        return self._json(shared.list_characters_call(q, limit, after, order))

    def delete_character(self, character_id: str) -> dict[str, Any]:
        return self._json(shared.delete_character_call(character_id))

    def set_visibility(self, character_id: str, visibility: str) -> dict[str, Any]:
        """`"public"` or `"private"`; answers the updated character."""
        return self._json(shared.set_visibility_call(character_id, visibility))

    def windows(
        self,
        *,
        url: str | None = None,
        file: Path | None = None,
        from_task: str | None = None,
        count: int | None = None,
    ) -> dict[str, Any]:
        """The best 1-3 s windows of a source, best first, to choose `timestamps` from."""
        return self._json(shared.windows_call(url, file, from_task, count))

    # --- videos -------------------------------------------------------------------------

    def create_video(
        self,
        prompt: str,
        *,
        wait: bool = True,
        progress: JobProgress | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """Render a video (characters by @mention, `characters=[{"id": ...}]`, `character_ids`)
        and wait for it. `fields` are the route's own (`seconds`, `size`, `model`, …); a `Path`
        value (`input_reference`) is uploaded. Answers the settled Video, which may be
        `failed`: look at `status` and `error`, nothing is raised for a failed render.
        `wait=False` answers the queued Video at once."""
        return self._video_job(shared.create_video_call(prompt, fields), wait, progress)

    def video(self, video_id: str) -> dict[str, Any]:
        return self._json(shared.video_call(video_id))

    def list_videos(
        self, *, limit: int | None = None, after: str | None = None, order: str | None = None
    ) -> dict[str, Any]:
        return self._json(shared.list_videos_call(limit, after, order))

    def delete_video(self, video_id: str) -> dict[str, Any]:
        return self._json(shared.delete_video_call(video_id))

    def remix_video(
        self,
        video_id: str,
        prompt: str,
        *,
        wait: bool = True,
        progress: JobProgress | None = None,
    ) -> dict[str, Any]:
        """A new video with the source's characters, model and size, and the new prompt."""
        return self._video_job(shared.remix_video_call(video_id, prompt), wait, progress)

    def extend_video(
        self,
        video_id: str,
        prompt: str,
        seconds: str | int,
        *,
        wait: bool = True,
        progress: JobProgress | None = None,
    ) -> dict[str, Any]:
        """The source followed by `seconds` more, rendered from `prompt`."""
        return self._video_job(shared.extend_video_call(video_id, prompt, seconds), wait, progress)

    def edit_video(
        self,
        video_id: str,
        prompt: str,
        *,
        wait: bool = True,
        progress: JobProgress | None = None,
    ) -> dict[str, Any]:
        return self._video_job(shared.edit_video_call(video_id, prompt), wait, progress)

    def download(self, video_id: str, dest: Path, variant: str = "video") -> Path:
        """Stream a video's MP4 (or `thumbnail`, `spritesheet`) to `dest`, which appears whole
        or not at all."""
        partial = shared.partial_path(dest)
        try:
            call = shared.download_call(video_id, variant)
            with self._open(call) as response, partial.open("wb") as out:
                for chunk in response.iter_bytes(shared.DOWNLOAD_CHUNK_BYTES):
                    out.write(chunk)
            partial.replace(dest)
        finally:
            partial.unlink(missing_ok=True)
        return dest

    # --- tasks and usage ----------------------------------------------------------------

    def task(self, task_id: str) -> dict[str, Any]:
        return self._json(shared.task_call(task_id))

    def list_tasks(
        self,
        *,
        kind: str | None = None,
        status: str | None = None,
        limit: int | None = None,
        after: str | None = None,
        order: str | None = None,
    ) -> dict[str, Any]:
        """One page of the caller's tasks, both kinds, newest first; `kind` is `character` or
        `video`, `status` one of the task statuses."""
        return self._json(shared.list_tasks_call(kind, status, limit, after, order))

    def usage(self, *, limit: int | None = None, before: int | None = None) -> dict[str, Any]:
        """The caller's balance, held and charged totals, and ledger entries, newest first."""
        return self._json(shared.usage_call(limit, before))

    # --- plumbing -----------------------------------------------------------------------

    def wait(
        self,
        path: str,
        current: dict[str, Any],
        timeout: float = 3600.0,
        progress: JobProgress | None = None,
    ) -> dict[str, Any]:
        """Poll `path` (a task or a Video) until the job settles, as often as the server's
        `openai-poll-after-ms` asks; `progress` sees `current` and then every poll's answer."""
        return self._wait(path, current, progress, DEFAULT_POLL_SECONDS, timeout)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Any route of the API, with the client's key and retries; answers the JSON body."""
        return self._json(Call(method, path, params=params, json=json))

    def _video_job(self, call: Call, wait: bool, progress: JobProgress | None) -> dict[str, Any]:
        response = self._send(call)
        video = shared.body_of(response)
        if not wait:
            return video
        return self._wait(shared.video_path(video), video, progress, shared.poll_seconds(response))

    def _wait(
        self,
        path: str,
        current: dict[str, Any],
        progress: JobProgress | None,
        delay: float,
        timeout: float = 3600.0,
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        if progress is not None:
            progress(current)
        while not shared.settled(current):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{path} did not settle in {timeout:.0f}s")
            self.sleep(delay)
            response = self._send(Call("GET", path))
            current = shared.body_of(response)
            delay = shared.poll_seconds(response)
            if progress is not None:
                progress(current)
        return current

    def _json(self, call: Call) -> dict[str, Any]:
        return shared.body_of(self._send(call))

    def _send(self, call: Call) -> httpx.Response:
        """The answer to `call`, its body read."""
        with self._open(call) as response:
            response.read()
            return response

    @contextmanager
    def _open(self, call: Call) -> Iterator[httpx.Response]:
        """The successful answer to `call`, its body not read yet; retried answers and broken
        connections are tried again after the policy's delay, an error answer raises."""
        for attempt in self.retry.tries():
            with ExitStack() as opened:
                request = self.http.build_request(**call.arguments(opened))
                try:
                    response = self.http.send(request, stream=True)
                except httpx.TransportError:
                    if self.retry.last(attempt):
                        raise
                    self.sleep(self.retry.delay(attempt, None))
                    continue
            if self.retry.retried(attempt, response):
                response.close()
                self.sleep(self.retry.delay(attempt, response))
                continue
            try:
                if response.is_error:
                    response.read()
                    raise shared.api_error(response)
                yield response
            finally:
                response.close()
            return
        raise AssertionError("unreachable: the last attempt returns or raises")
