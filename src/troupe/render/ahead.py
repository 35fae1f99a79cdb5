"""Work done ahead of its consumer, in a thread of its own: a render's frames are drawn while the
encoder works on the ones before them."""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterable
from typing import TypeVar

T = TypeVar("T")

_DONE = object()
# How often a producer blocked on a full queue looks whether its consumer has gone.
_STOP_CHECK_SECONDS = 0.1


class _Failed:
    def __init__(self, error: Exception) -> None:
        self.error = error


def ahead(items: Iterable[T], depth: int, name: str = "troupe-ahead") -> Generator[T, None, None]:
    """`items`, in order, made in a thread that runs up to `depth` items ahead of the caller.

    An error the thread meets is raised here, at the item where it happened. When the caller
    stops early (an error of its own, or it closes this generator), the thread stops before its
    next item and is joined before this returns: nothing keeps working for a consumer gone."""
    slots: queue.Queue[object] = queue.Queue(depth)
    stop = threading.Event()

    def hand_over(item: object) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=_STOP_CHECK_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not hand_over(item):
                    return
        except Exception as error:  # handed to the consumer, which raises it
            hand_over(_Failed(error))
            return
        hand_over(_DONE)

    thread = threading.Thread(target=produce, name=name, daemon=True)
    thread.start()
    try:
        while (item := slots.get()) is not _DONE:
            if isinstance(item, _Failed):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        thread.join()
