"""Run work on untrusted media in a child process under memory, CPU and wall-clock limits.

A decoder that crashes or refuses its input, a decompression bomb or a decode that never ends
then fails that one call with `unsupported_media`, and the server, its other jobs and its
threads carry on.
"""

from __future__ import annotations

import multiprocessing
import resource
import signal
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing import forkserver
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any, TypeVar

from troupe.errors import TroupeError
from troupe.settings import Settings

T = TypeVar("T")
ProgressFn = Callable[[int], None]

# Children are forked from a fork server: a process started once that has already imported
# these modules and loaded extraction's models, so a child costs a fork rather than a second
# of imports. Forking the server itself would be unsafe (it runs threads, whose locks a child
# inherits in whatever state they were), and spawning afresh would pay the imports every time.
# multiprocessing also re-runs the parent's main script in every child, so what that script
# imports is loaded here too: troupe.cli for the `troupe` command. A script that imports more
# (a bench serving troupe itself) names it with `preload_also`.
PRELOAD = [
    "troupe.media.sandbox",
    "troupe.characters.create",
    "troupe.characters.warm",
    "troupe.cli",
]
_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(PRELOAD)

# What a child sends back through its pipe: progress reports, then one outcome.
_PROGRESS, _RESULT, _TROUPE_ERROR, _OUT_OF_MEMORY, _FAILED = range(5)


@dataclass(frozen=True)
class DecodeLimits:
    """What one child may use: address space, CPU time (all threads), and time on the clock."""

    memory_bytes: int
    cpu_seconds: int
    wall_seconds: float

    @classmethod
    def from_settings(cls, settings: Settings) -> DecodeLimits:
        return cls(
            memory_bytes=settings.decode_memory_bytes,
            cpu_seconds=settings.decode_cpu_seconds,
            wall_seconds=settings.decode_wall_seconds,
        )


class ChildError(RuntimeError):
    """An unexpected exception in the child: a bug rather than hostile media, so it stays one
    (jobs report `internal_error`); the message carries the child's traceback."""


def preload_also(*modules: str) -> None:
    """Have the fork server import these too (before it starts): what the main script imports
    beyond the `troupe` command, which every child would otherwise import again."""
    _CONTEXT.set_forkserver_preload([*PRELOAD, *modules])


def start_sandbox() -> None:
    """Start the fork server if it is not running, without waiting for its imports and models,
    for a call that will need it soon. It is not started with the server: one that never runs a
    sandboxed call (an API process beside workers, a short-lived one) then spends nothing on it,
    about 0.8 s of CPU, and the first call waits for it instead."""
    forkserver.ensure_running()


def run_sandboxed(
    limits: DecodeLimits,
    function: Callable[..., T],
    *args: Any,
    progress: ProgressFn | None = None,
) -> T:
    """`function(*args)`, run in a fresh child process under `limits`.

    `function` and its arguments and result must pickle. With `progress`, the function is also
    given `progress=`, whose reports reach `progress` here while the child works. A
    `TroupeError` raised in the child is raised here unchanged; a crash, or running out of
    memory, CPU or wall-clock time, raises `unsupported_media`.
    """
    receiver, sender = _CONTEXT.Pipe(duplex=False)
    child = _CONTEXT.Process(
        target=_child_main,
        args=(sender, limits, function, args, progress is not None),
        name="troupe-sandbox",
        daemon=True,  # ended with the server
    )
    child.start()
    sender.close()  # the child's exit then ends the pipe here
    try:
        for kind, payload in _messages(receiver, child, limits.wall_seconds):
            if kind != _PROGRESS:
                return _outcome(kind, payload, limits)
            if progress is not None:
                progress(payload)
        child.join()
        raise _crash_error(child.exitcode, limits)
    finally:
        receiver.close()
        if child.is_alive():
            child.kill()
        # Not child.close(): a Process.start in another thread may be polling this child, and
        # close() would pull its handle away.
        child.join()


def _messages(
    receiver: Connection, child: BaseProcess, wall_seconds: float
) -> Iterator[tuple[int, Any]]:
    """What the child sends until its pipe ends; out of time, it is killed and refused."""
    deadline = time.monotonic() + wall_seconds
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not wait([receiver, child.sentinel], remaining):
            child.kill()
            raise _refusal(f"decoding took longer than {wall_seconds:g} s")
        if not receiver.poll():
            return  # only the sentinel: the child is gone and left nothing to read
        try:
            yield receiver.recv()
        except EOFError:
            return


def _outcome(kind: int, payload: Any, limits: DecodeLimits) -> Any:
    if kind == _RESULT:
        return payload
    if kind == _TROUPE_ERROR:
        code, message, param, headers = payload
        raise TroupeError(code, message, param, headers)
    if kind == _OUT_OF_MEMORY:
        raise _refusal(f"decoding needed more than {limits.memory_bytes // 2**20} MiB of memory")
    raise ChildError(payload)


def _crash_error(exitcode: int | None, limits: DecodeLimits) -> TroupeError:
    if exitcode == -signal.SIGXCPU:
        return _refusal(f"decoding used more than {limits.cpu_seconds} s of CPU time")
    if exitcode is not None and exitcode < 0:
        return _refusal(f"the decoder crashed ({signal.Signals(-exitcode).name})")
    return _refusal(f"the decoder stopped without an answer (exit status {exitcode})")


def _refusal(message: str) -> TroupeError:
    return TroupeError("unsupported_media", f"the video could not be read: {message}", "video")


def _child_main(
    sender: Connection,
    limits: DecodeLimits,
    function: Callable[..., Any],
    args: tuple[Any, ...],
    wants_progress: bool,
) -> None:
    # Imported here: the process handing work to the sandbox never decodes (the fork server
    # has it loaded, so this costs the child nothing).
    import av

    _apply_limits(limits)
    keywords = {"progress": lambda percent: sender.send((_PROGRESS, percent))}
    try:
        result = function(*args, **(keywords if wants_progress else {}))
    except TroupeError as error:
        _send_error(sender, error)
    except MemoryError:
        sender.send((_OUT_OF_MEMORY, None))
    except av.FFmpegError as error:
        # FFmpeg refusing what it demuxes or decodes is the file's fault, not a bug: a
        # container that parses can still lie in its sample tables or decoder set-up.
        _send_error(sender, _refusal(error.strerror or "FFmpeg could not decode it"))
    except Exception as error:
        sender.send((_FAILED, f"{type(error).__name__}: {error}\n{traceback.format_exc()}"))
    else:
        sender.send((_RESULT, result))


def _send_error(sender: Connection, error: TroupeError) -> None:
    # Sent as fields: pickle would rebuild the error from its message alone.
    sender.send((_TROUPE_ERROR, (error.code, error.message, error.param, error.headers)))


def _apply_limits(limits: DecodeLimits) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    # The soft limit sends SIGXCPU, which ends the child; the hard one follows with SIGKILL
    # should anything catch that.
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
    # A crash under gigabytes of address space would otherwise write a core file that size.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
