"""`troupe.AsyncClient`: the asyncio twin of `troupe.Client`, on `httpx.AsyncClient`, with the
same verbs as coroutines. Requests are built and answers shaped in `shared`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import ExitStack, asynccontextmanager
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


class AsyncClient:
    """Asynchronous client: `async with AsyncClient(base_url) as client: await client.…`.

    Every method raises `TroupeAPIError` for an error answer, after retrying 408, 429 and 5xx
    answers and broken connections."""

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:8000",
        api_key: str | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        timeout: float = 600.0,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout
        )
        self.retry = retry
        # Every wait of the client (retries and polls) goes through here, so tests can see it.
        self.sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # --- characters ---------------------------------------------------------------------

    async def create_character(
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
        response = await self._send(call)
        answer = shared.body_of(response)
        if not shared.is_task(answer):
            return answer  # the server finished it before answering
        path, delay = shared.task_path(answer), shared.poll_seconds(response)
        return shared.task_result(await self._wait(path, answer, progress, delay))

    async def create_many(
        self,
        requests: Iterable[dict[str, Any]],
        concurrency: int = 4,
        progress: Progress | None = None,
    ) -> list[dict[str, Any] | TroupeAPIError]:
        """Create many characters, `concurrency` at a time; one entry per request, in order,
        holding the character or the error that request ended with."""
        jobs = list(requests)
        done = 0
        slots = asyncio.Semaphore(max(1, concurrency))

        async def one(kwargs: dict[str, Any]) -> dict[str, Any] | TroupeAPIError:
            nonlocal done
            async with slots:
                try:
                    outcome: dict[str, Any] | TroupeAPIError
                    outcome = await self.create_character(**kwargs)
                except TroupeAPIError as error:
                    outcome = error
            done += 1
            if progress is not None:
                progress(done, len(jobs), outcome)
            return outcome

        running = [asyncio.ensure_future(one(kwargs)) for kwargs in jobs]
        try:
            return list(await asyncio.gather(*running))
        except BaseException:
            # Anything but an API error (a bad argument, a dead server) ends the whole batch.
            for future in running:
                future.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            raise

    async def character(self, ref: str) -> dict[str, Any]:
        """One character by id or username (`@username` works too)."""
        return await self._json(shared.character_call(ref))

    async def list_characters(
        self,
        *,
        q: str | None = None,
        limit: int | None = None,
        after: str | None = None,
        order: str | None = None,
    ) -> dict[str, Any]:
        """One list page: `data`, `first_id`, `last_id`, `has_more`; `q` is a name prefix."""
        return await self._json(shared.list_characters_call(q, limit, after, order))

    async def delete_character(self, character_id: str) -> dict[str, Any]:
        return await self._json(shared.delete_character_call(character_id))

    async def set_visibility(self, character_id: str, visibility: str) -> dict[str, Any]:
        """`"public"` or `"private"`; answers the updated character."""
        return await self._json(shared.set_visibility_call(character_id, visibility))

    async def windows(
        self,
        *,
        url: str | None = None,
        file: Path | None = None,
        from_task: str | None = None,
        count: int | None = None,
    ) -> dict[str, Any]:
        """The best 1-3 s windows of a source, best first, to choose `timestamps` from."""
        return await self._json(shared.windows_call(url, file, from_task, count))

    # --- videos -------------------------------------------------------------------------

    async def create_video(
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
        return await self._video_job(shared.create_video_call(prompt, fields), wait, progress)

    async def video(self, video_id: str) -> dict[str, Any]:
        return await self._json(shared.video_call(video_id))

    async def list_videos(
        self, *, limit: int | None = None, after: str | None = None, order: str | None = None
    ) -> dict[str, Any]:
        return await self._json(shared.list_videos_call(limit, after, order))

    async def delete_video(self, video_id: str) -> dict[str, Any]:
        return await self._json(shared.delete_video_call(video_id))

    async def remix_video(
        self,
        video_id: str,
        prompt: str,
        *,
        wait: bool = True,
        progress: JobProgress | None = None,
    ) -> dict[str, Any]:
        """A new video with the source's characters, model and size, and the new prompt."""
        return await self._video_job(shared.remix_video_call(video_id, prompt), wait, progress)

    async def extend_video(
        self,
        video_id: str,
        prompt: str,
        seconds: str | int,
        *,
        wait: bool = True,
        progress: JobProgress | None = None,
    ) -> dict[str, Any]:
        """The source followed by `seconds` more, rendered from `prompt`."""
        call = shared.extend_video_call(video_id, prompt, seconds)
        return await self._video_job(call, wait, progress)

    async def edit_video(
        self,
        video_id: str,
        prompt: str,
        *,
        wait: bool = True,
        progress: JobProgress | None = None,
    ) -> dict[str, Any]:
        return await self._video_job(shared.edit_video_call(video_id, prompt), wait, progress)

    async def download(self, video_id: str, dest: Path, variant: str = "video") -> Path:
        """Stream a video's MP4 (or `thumbnail`, `spritesheet`) to `dest`, which appears whole
        or not at all."""
        partial = shared.partial_path(dest)
        try:
            async with self._open(shared.download_call(video_id, variant)) as response:
                # Plain writes: they land in the page cache, quicker than a thread hop each.
                with partial.open("wb") as out:
                    async for chunk in response.aiter_bytes(shared.DOWNLOAD_CHUNK_BYTES):
                        out.write(chunk)
            partial.replace(dest)
        finally:
            partial.unlink(missing_ok=True)
        return dest

    # --- tasks and usage ----------------------------------------------------------------

    async def task(self, task_id: str) -> dict[str, Any]:
        return await self._json(shared.task_call(task_id))

    async def list_tasks(
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
        return await self._json(shared.list_tasks_call(kind, status, limit, after, order))

    async def usage(self, *, limit: int | None = None, before: int | None = None) -> dict[str, Any]:
        """The caller's balance, held and charged totals, and ledger entries, newest first."""
        return await self._json(shared.usage_call(limit, before))

    # --- plumbing -----------------------------------------------------------------------

    async def wait(
        self,
        path: str,
        current: dict[str, Any],
        timeout: float = 3600.0,
        progress: JobProgress | None = None,
    ) -> dict[str, Any]:
        """Poll `path` (a task or a Video) until the job settles, as often as the server's
        `openai-poll-after-ms` asks; `progress` sees `current` and then every poll's answer."""
        return await self._wait(path, current, progress, DEFAULT_POLL_SECONDS, timeout)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Any route of the API, with the client's key and retries; answers the JSON body."""
        return await self._json(Call(method, path, params=params, json=json))

    async def _video_job(
        self, call: Call, wait: bool, progress: JobProgress | None
    ) -> dict[str, Any]:
        response = await self._send(call)
        video = shared.body_of(response)
        if not wait:
            return video
        path, delay = shared.video_path(video), shared.poll_seconds(response)
        return await self._wait(path, video, progress, delay)

    async def _wait(
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
            await self.sleep(delay)
            response = await self._send(Call("GET", path))
            current = shared.body_of(response)
            delay = shared.poll_seconds(response)
            if progress is not None:
                progress(current)
        return current

    async def _json(self, call: Call) -> dict[str, Any]:
        return shared.body_of(await self._send(call))

    async def _send(self, call: Call) -> httpx.Response:
        """The answer to `call`, its body read."""
        async with self._open(call) as response:
            await response.aread()
            return response

    @asynccontextmanager
    async def _open(self, call: Call) -> AsyncIterator[httpx.Response]:
        """The successful answer to `call`, its body not read yet; retried answers and broken
        connections are tried again after the policy's delay, an error answer raises."""
        for attempt in self.retry.tries():
            with ExitStack() as opened:
                request = self.http.build_request(**call.arguments(opened))
                try:
                    response = await self.http.send(request, stream=True)
                except httpx.TransportError:
                    if self.retry.last(attempt):
                        raise
                    await self.sleep(self.retry.delay(attempt, None))
                    continue
            if self.retry.retried(attempt, response):
                await response.aclose()
                await self.sleep(self.retry.delay(attempt, response))
                continue
            try:
                if response.is_error:
                    await response.aread()
                    raise shared.api_error(response)
                yield response
            finally:
                await response.aclose()
            return
        raise AssertionError("unreachable: the last attempt returns or raises")
