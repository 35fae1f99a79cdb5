"""The size and length of a video made from an uploaded clip."""

from __future__ import annotations

import pytest

from troupe.render.clip import ClipInfo
from troupe.videos.clips import render_size, whole_seconds


@pytest.mark.parametrize(
    ("width", "height", "size"),
    [
        (1280, 720, "1280x720"),
        (640, 360, "1280x720"),  # the same shape: the smaller of the two 16:9 sizes
        (1920, 1080, "1920x1080"),
        (3840, 2160, "1920x1080"),
        (720, 1280, "720x1280"),
        (1080, 1920, "1080x1920"),
        (640, 480, "1792x1024"),  # 4:3 is nearest 7:4
        (1000, 1700, "1024x1792"),
        (321, 181, "1280x720"),  # odd sizes come out even
    ],
)
def test_render_size_is_the_nearest_api_size(width: int, height: int, size: str) -> None:
    assert render_size(ClipInfo(duration=4.0, width=width, height=height)) == size


def test_whole_seconds_rounds_to_the_nearest_and_is_at_least_one() -> None:
    assert [whole_seconds(s) for s in (0.04, 1.49, 1.5, 2.5, 4.0, 14.97)] == [1, 1, 2, 3, 4, 15]
