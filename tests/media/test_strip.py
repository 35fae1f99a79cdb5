"""Cut-out strips: written and read back as they were, and refused when they are not strips."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from troupe.media.strip import StripFrame, read_strip, strip_bytes


def test_a_strip_reads_back_frame_for_frame_in_time_order(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    frames = [
        StripFrame(time, rng.integers(0, 256, (20 + i, 30, 4), dtype=np.uint8), (15.0, 20.0 + i))
        for i, time in enumerate([1.25, 1.0, 1.5])
    ]
    path = tmp_path / "motion.zip"
    path.write_bytes(strip_bytes(frames))
    back = read_strip(path)
    assert [f.time for f in back] == [1.0, 1.25, 1.5]
    for original in frames:
        (match,) = [f for f in back if f.time == original.time]
        assert np.array_equal(match.rgba, original.rgba)
        assert match.feet == original.feet
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert [entry["file"] for entry in manifest["frames"]] == [
        "frame_000.png",
        "frame_001.png",
        "frame_002.png",
    ]


@pytest.mark.parametrize(
    "content",
    [
        b"not a zip",
        "no manifest",
        "manifest without frames",
    ],
)
def test_anything_else_is_refused_with_a_value_error(tmp_path: Path, content: object) -> None:
    path = tmp_path / "motion.zip"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            if content == "no manifest":
                archive.writestr("frame_000.png", b"")
            else:
                archive.writestr("manifest.json", json.dumps({"pictures": []}))
        path.write_bytes(buffer.getvalue())
    with pytest.raises(ValueError, match="not a cut-out strip"):
        read_strip(path)
