"""Times in answers are seconds to the millisecond, not a float's every digit, over real HTTP."""

from __future__ import annotations

from pathlib import Path

from tests.support import MediaServer, ServerProcess
from troupe.media.synthetic import ClipSpec, make_mascot_clip


def to_the_millisecond(seconds: float) -> bool:
    return len(repr(float(seconds)).partition(".")[2]) <= 3


def test_times_are_given_to_the_millisecond(
    server: ServerProcess, media: MediaServer, tmp_path: Path
) -> None:
    # 30 frames a second: two frames in three fall at times like 1.0333333333333334.
    clip = tmp_path / "thirty.mp4"
    make_mascot_clip(clip, ClipSpec(seconds=3.5, width=640, height=360, fps=30))
    with server.client() as client:
        with clip.open("rb") as video:
            windows = client.post("/v1/characters/windows", files={"video": ("thirty.mp4", video)})
        assert windows.status_code == 200, windows.text
        with clip.open("rb") as video:
            made = client.post(
                "/v1/videos/characters",
                data={"name": "Thirty", "timestamps": "0.1,2.1"},
                files={"video": ("thirty.mp4", video)},
            )
        assert made.status_code == 200, made.text
        fetched = client.get(f"/v1/characters/{made.json()['id']}").json()
    times = [windows.json()["duration"]]
    times += [window[end] for window in windows.json()["data"] for end in ("start", "end")]
    times += [made.json()["quality"]["best_frame_time"], fetched["quality"]["best_frame_time"]]
    assert all(to_the_millisecond(time) for time in times), times
