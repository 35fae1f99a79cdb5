"""Hostile media: playlists that would make FFmpeg read other files or the network, and
headers that declare decoder bombs, are refused before anything is decoded."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import av
import pytest

from tests.media.hostile import (
    BOMB_FRAME_BYTES,
    BOMB_SIZE,
    decode_first_frame,
    write_flat_h264,
    write_frame_count_bomb,
    write_size_bomb,
)
from troupe.characters.create import check_source
from troupe.characters.sources import SourceRules
from troupe.errors import TroupeError
from troupe.media import probe as probe_module
from troupe.media.probe import ALLOWED_FORMATS, MAX_FRAME_RATE, open_media, probe
from troupe.media.sandbox import DecodeLimits, run_sandboxed
from troupe.media.synthetic import ClipSpec, make_mascot_clip, write_bytes_file

PIXELS = 3840 * 2160
GENEROUS = DecodeLimits(memory_bytes=2**40, cpu_seconds=60, wall_seconds=120.0)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hostile") / "segment.mp4"
    make_mascot_clip(path, ClipSpec(seconds=2.0, width=320, height=240, fps=12))
    return path


def _refusal(path: Path) -> TroupeError:
    with pytest.raises(TroupeError) as caught:
        probe(path, PIXELS)
    assert caught.value.code == "unsupported_media"
    return caught.value


# --- playlists ---------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["relative", "absolute", "file_url"])
def test_hls_playlist_naming_a_local_file_is_refused(
    clip: Path, tmp_path: Path, spelling: str
) -> None:
    target = {"relative": "segment.mp4", "absolute": str(clip), "file_url": f"file:{clip}"}
    shutil.copy(clip, tmp_path / "segment.mp4")
    playlist = tmp_path / "upload.m3u8"
    write_bytes_file(playlist, "hls_playlist", target=Path(target[spelling]))
    # The bait is real: FFmpeg left to itself reads the file the playlist names.
    with av.open(str(playlist)) as unguarded:
        assert unguarded.format.name == "hls"
        assert unguarded.streams.video[0].codec_context.width == 320
    assert "not a recognised video container" in _refusal(playlist).message


@pytest.mark.parametrize("name", ["upload.mp4", "upload"])
def test_disguised_playlists_are_refused(clip: Path, tmp_path: Path, name: str) -> None:
    # uploads are stored without their names; the content alone must decide
    for kind, target in (("hls_playlist", clip), ("concat_playlist", Path("/etc/passwd"))):
        path = tmp_path / name
        write_bytes_file(path, kind, target=target)
        _refusal(path)


@pytest.fixture
def recording_server() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server on 127.0.0.1 that notes every path asked of it."""
    asked: list[str] = []

    class Recorder(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", asked
    server.shutdown()


def test_playlist_never_reaches_the_network(
    tmp_path: Path, recording_server: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    base_url, asked = recording_server
    playlist = tmp_path / "upload.m3u8"
    write_bytes_file(playlist, "hls_playlist", target=Path(f"{base_url}/internal/segment.mp4"))
    _refusal(playlist)
    # Even with HLS let through the allow-list, nested opens may use plain files only (FFmpeg
    # 8.1 itself also keeps a local playlist off http, so this guards against its changes).
    monkeypatch.setitem(probe_module._SAFE_OPTIONS, "format_whitelist", f"hls,{ALLOWED_FORMATS}")
    with pytest.raises(TroupeError), open_media(playlist):
        pass
    assert asked == []


# --- decoder-bomb headers ----------------------------------------------------------------


def _memory(field: str = "VmSize") -> int:
    """A figure of this process's virtual memory, the quantity RLIMIT_AS caps, in bytes."""
    status = Path(f"/proc/{os.getpid()}/status").read_text()
    return int(status.split(f"{field}:")[1].split()[0]) * 1024


def _probe_watching_memory(path: Path) -> tuple[str, int]:
    """probe()'s verdict, and how far it raised the peak of address space in use."""
    before = _memory("VmPeak")
    try:
        verdict = repr(probe(path, PIXELS))
    except TroupeError as error:
        verdict = f"{error.code}: {error.message}"
    return verdict, _memory("VmPeak") - before


@pytest.fixture(scope="module")
def baseline() -> int:
    return run_sandboxed(GENEROUS, _memory)


def _pixel_bomb(kind: str, folder: Path) -> tuple[Path, tuple[int, int]]:
    if kind == "h264":  # 4096x4096: twice the default cap, a 25 MB frame from 50 kB
        path = folder / "huge.mp4"
        write_flat_h264(path, 4096)
        return path, (4096, 4096)
    path = folder / "bomb.webm"
    write_size_bomb(path, folder, mid_stream=False)
    return path, BOMB_SIZE


@pytest.mark.parametrize("kind", ["h264", "vp8_header"])
def test_frame_size_bomb_is_refused_from_its_header(
    tmp_path: Path, baseline: int, kind: str
) -> None:
    bomb, (width, height) = _pixel_bomb(kind, tmp_path)
    frame_bytes = width * height * 3 // 2
    roomy = DecodeLimits(baseline + 4 * frame_bytes, cpu_seconds=20, wall_seconds=60.0)
    verdict, growth = run_sandboxed(roomy, _probe_watching_memory, bomb)
    assert verdict.startswith("unsupported_media")
    assert f"{width}x{height}" in verdict
    # FFmpeg's stream analysis decodes a first frame unless max_pixels stops the decoder
    assert growth < frame_bytes // 2


def test_vp8_size_bomb_is_real(tmp_path: Path, baseline: int) -> None:
    bomb, _ = _pixel_bomb("vp8_header", tmp_path)
    tight = replace(GENEROUS, memory_bytes=baseline + BOMB_FRAME_BYTES // 2)
    with pytest.raises(TroupeError, match="memory"):
        run_sandboxed(tight, decode_first_frame, bomb)


def test_mid_stream_bomb_passes_the_header_but_not_the_sandbox(
    tmp_path: Path, baseline: int
) -> None:
    bomb = tmp_path / "late-bomb.webm"
    write_size_bomb(bomb, tmp_path, mid_stream=True)
    tight = replace(GENEROUS, memory_bytes=baseline + BOMB_FRAME_BYTES // 2)
    assert run_sandboxed(tight, probe, bomb, PIXELS).width == 320
    with pytest.raises(TroupeError) as caught:
        run_sandboxed(tight, _decode_every_frame, bomb)
    assert caught.value.code == "unsupported_media"
    assert "memory" in caught.value.message


def _decode_every_frame(path: Path) -> int:
    with open_media(path) as container:
        return sum(1 for _ in container.decode(video=0))


def test_header_declaring_absurd_frame_counts_is_refused(tmp_path: Path) -> None:
    bomb = tmp_path / "frames.avi"
    write_frame_count_bomb(bomb, frames=1_000_000, seconds=10.0)
    with av.open(str(bomb)) as unguarded:
        assert unguarded.streams.video[0].frames == 1_000_000
    assert "declares 1000000 frames" in _refusal(bomb).message


def test_header_declaring_a_long_duration_is_refused(tmp_path: Path) -> None:
    bomb = tmp_path / "hours.avi"
    write_frame_count_bomb(bomb, frames=1_000_000, seconds=1_000_000 / 12)
    rules = SourceRules(max_seconds=15.0, require_audio=False, max_frame_pixels=PIXELS)
    with pytest.raises(TroupeError) as caught:
        check_source(bomb, rules)
    assert caught.value.code == "video_too_long"


def test_frame_rate_above_the_cap_is_refused(tmp_path: Path) -> None:
    fast = tmp_path / "fast.mkv"
    make_mascot_clip(fast, ClipSpec(seconds=0.1, width=64, height=64, fps=1000, container="mkv"))
    assert f"more than {MAX_FRAME_RATE:g}" in _refusal(fast).message
