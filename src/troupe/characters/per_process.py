"""One object per process, built on first use, and the onnxruntime CPU session it usually holds:
how each model module keeps its model. A child forked from the sandbox's fork server builds its
own, since onnxruntime's threads do not survive a fork and an inherited session runs on one
thread at about half speed."""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    import onnxruntime

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


def cpu_session(
    model: str | bytes, threads: int, *, optimised: bool = False
) -> onnxruntime.InferenceSession:
    """An onnxruntime session on the CPU for a model file's path or bytes: `threads` for its
    operators (0: one per physical core), one between them, and its warnings left out (unused
    initialisers and the like are noise for the models shipped here). `optimised`: the model
    is `optimised_model`'s, so its graph is not optimised again."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    # Idle operator threads sleep instead of spinning: a worker runs the screening detectors,
    # other jobs and encoders beside the model, and on two cores the spinning took their time.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # A memory pattern is planned over a session's first two runs, and each child forked from
    # the sandbox's fork server builds its sessions anew: the salient-object model's second run
    # in a child took 100 ms with it against 83 without, and later runs took 83 either way.
    options.enable_mem_pattern = False
    if optimised:
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def optimised_model(model: bytes) -> bytes:
    """The model after onnxruntime's graph optimisations, for this machine. A session built
    from it with `optimised` starts several times faster (the salient-object model: 12 against
    36-69 ms), which each child forked from the sandbox's fork server pays for every model it
    runs; the fork server optimises once, and the children inherit the bytes."""
    import onnxruntime as ort

    with tempfile.TemporaryDirectory(prefix="troupe-onnx-") as folder:
        path = Path(folder) / "optimised.onnx"
        options = ort.SessionOptions()
        options.optimized_model_filepath = str(path)
        options.log_severity_level = 3
        ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        return path.read_bytes()
