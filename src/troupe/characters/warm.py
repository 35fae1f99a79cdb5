"""Imported by the media sandbox's fork server, and only there: loads extraction's detectors
and OpenCV's colour tables once, so that every child forked per job starts with them.

Each child would otherwise spend about 0.3 s on them, close to a whole extraction's time.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

# The model modules import onnxruntime only to build a session, which each child does for
# itself: imported here, every child starts with it.
import onnxruntime  # noqa: F401

from troupe.characters import humans, imagenet, rendered, saliency

log = logging.getLogger(__name__)


def warm_up() -> None:
    """Read and optimise the salient-object model, build the ImageNet classifier's and read
    the CLIP encoder (each child builds its own sessions from them: see
    saliency.saliency_model and rendered.exact_on_every_cpu), run each detector
    once on a blank frame, which loads it, and build the Lab tables."""
    blank = np.zeros((64, 64, 3), np.uint8)
    saliency.read_model()
    imagenet.mobilenet_onnx()
    humans.face_scores(blank)
    humans.face_presence(blank, (0, 0, 32, 32))
    humans.body_scores(blank)
    cv2.cvtColor(blank, cv2.COLOR_RGB2Lab)
    rendered.read_encoder()  # last: an install without it still warms the rest


try:
    warm_up()
except Exception:
    # A fork server that fails to start fails every sandboxed call, while a child missing a
    # model reports that properly, job by job.
    log.exception("warming up failed; sandboxed children will load the models themselves")
