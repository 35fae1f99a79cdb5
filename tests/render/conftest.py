"""Characters drawn for render tests (the consistency test set's), and renders shared by tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from tests.characters.test_consistency import CHARACTERS, cutouts
from troupe.media.synthetic import write_bytes_file
from troupe.render.animatic import AnimaticBackend
from troupe.render.backend import CastMember, RenderRequest

DRAWN = ("bolt", "pip", "zig", "cereal_box")


@dataclass(frozen=True)
class Render:
    """A finished render: its request, the MP4, and every progress report."""

    request: RenderRequest
    path: Path
    progress: list[float]


@pytest.fixture(scope="session")
def drawn_cast(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CastMember]:
    """Cast members made of drawn characters; bolt has a voice (a 1 s 440 Hz tone)."""
    root = tmp_path_factory.mktemp("cast")
    voice = root / "bolt.m4a"
    write_bytes_file(voice, "m4a")
    cast = {}
    for name in DRAWN:
        paths = []
        for i, cut in enumerate(cutouts(CHARACTERS[name])):
            paths.append(root / f"{name}_{i}.png")
            Image.fromarray(cut).save(paths[-1])
        cast[name] = CastMember(
            f"char_{name}", name, name.title(), tuple(paths), voice if name == "bolt" else None
        )
    return cast


def render(request: RenderRequest, dest: Path) -> Render:
    progress: list[float] = []
    AnimaticBackend().render(request, dest, progress.append)
    return Render(request, dest, progress)


@pytest.fixture(scope="session")
def landscape(
    drawn_cast: dict[str, CastMember], tmp_path_factory: pytest.TempPathFactory
) -> Render:
    """Two characters at 1280x720 for 4 s, one speaking, with a pan."""
    request = RenderRequest(
        prompt="@bolt walks along the beach at sunset while @pip jumps; the camera pans left",
        cast=(drawn_cast["bolt"], drawn_cast["pip"]),
        seconds=4,
        width=1280,
        height=720,
        seed=5,
    )
    return render(request, tmp_path_factory.mktemp("landscape") / "video.mp4")
