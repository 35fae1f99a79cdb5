"""The decoded-frame value passed from media decoding to the vision code."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Frame:
    """One decoded picture: `time` in seconds into the source, `image` RGB uint8 HxWx3."""

    time: float
    image: np.ndarray

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])


def evenly_spaced(frames: list[Frame], count: int) -> list[Frame]:
    """At most `count` of the frames, spread evenly from the first to the last."""
    if len(frames) <= count:
        return frames
    picks = np.linspace(0, len(frames) - 1, count).round().astype(int)
    return [frames[i] for i in picks]


def check_rgb_image(image: np.ndarray) -> tuple[int, int]:
    """The height and width of a non-empty RGB uint8 picture, or a ValueError saying what it is
    instead."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an RGB uint8 image (H×W×3), got {image.dtype} {image.shape}")
    height, width = image.shape[:2]
    if height < 1 or width < 1:
        raise ValueError(f"expected a non-empty image, got {image.shape}")
    return height, width
