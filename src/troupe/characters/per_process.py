"""One object per process, built on first use: how each model module keeps its onnxruntime
session. A child forked from the sandbox's fork server builds its own, since onnxruntime's
threads do not survive a fork and an inherited session runs on one thread at about half speed."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class PerProcess(Generic[T]):
    """`get` returns this process's object, building it with `build` the first time."""

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._held: tuple[int, T] | None = None

    def get(self) -> T:
        with self._lock:
            if self._held is None or self._held[0] != os.getpid():
                self._held = (os.getpid(), self._build())
            return self._held[1]

    def forget(self) -> None:
        """Build anew on the next `get` (tests that change what the build finds)."""
        with self._lock:
            self._held = None
