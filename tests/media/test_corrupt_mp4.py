"""Corrupt but parseable MP4s over real HTTP: a good H.264 + AAC file whose sample tables
(`stsz`, `stco`, `stts`) and decoder set-ups (`avcC`, `esds`) had sizes, counts and offsets
changed, sent to every route that reads a video. Each answers 4xx, or queues a job that
completes or fails with a media code; none answers 5xx or fails `internal_error`."""

from __future__ import annotations

import random
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.test_roles import start_worker
from tests.conftest import StartServer
from tests.support import WorkerProcess, start_media_server, wait_for_task
from troupe.media.synthetic import ClipSpec, make_mascot_clip

SEED = 21
MUTANTS_PER_BOX = 4
MUTATED = (b"stsz", b"stco", b"stts", b"avcC", b"esds")
# What a job may fail with when its source is at fault (SPEC §4).
MEDIA_CODES = {
    "unsupported_media",
    "video_too_long",
    "no_audio_track",
    "invalid_timestamps",
    "no_subject_found",
    "low_quality_segment",
    "human_likeness_detected",
}

CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf"}
# Bytes of fixed fields before a sample entry's child boxes (ISO 14496-12 §12.1.3, §12.2.3).
SAMPLE_ENTRY_FIELDS = {b"avc1": 78, b"mp4a": 28}


@dataclass(frozen=True)
class Box:
    kind: bytes
    start: int  # of the payload, after the size and type
    end: int


def walk(data: bytes, start: int = 0, end: int | None = None) -> Iterator[Box]:
    """Every box in data[start:end], depth first, into the containers that lead to the
    sample tables and the sample entries' decoder set-ups."""
    end = len(data) if end is None else end
    while start + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, start)
        header = 8
        if size == 1:
            (size,) = struct.unpack_from(">Q", data, start + 8)
            header = 16
        elif size == 0:
            size = end - start
        if size < header or start + size > end:
            return
        box = Box(kind, start + header, start + size)
        yield box
        if kind in CONTAINERS:
            yield from walk(data, box.start, box.end)
        elif kind == b"stsd":  # version, flags and entry count come first
            yield from walk(data, box.start + 8, box.end)
        elif kind in SAMPLE_ENTRY_FIELDS:
            yield from walk(data, box.start + SAMPLE_ENTRY_FIELDS[kind], box.end)
        start += size


def fields(data: bytes, box: Box) -> list[tuple[int, int]]:
    """(offset, width) of the box's sizes, counts and offsets, the fields worth lying in."""
    at = box.start
    if box.kind == b"stsz":  # version+flags, sample size, count, then a size per sample
        count = struct.unpack_from(">I", data, at + 8)[0]
        return [(at + 4, 4), (at + 8, 4), *((at + 12 + 4 * i, 4) for i in range(min(count, 16)))]
    if box.kind == b"stco":  # version+flags, count, then a chunk offset each
        count = struct.unpack_from(">I", data, at + 4)[0]
        return [(at + 4, 4), *((at + 8 + 4 * i, 4) for i in range(min(count, 16)))]
    if box.kind == b"stts":  # version+flags, count, then (sample count, delta) pairs
        count = struct.unpack_from(">I", data, at + 4)[0]
        pairs = ((at + 8 + 8 * i + half, 4) for i in range(count) for half in (0, 4))
        return [(at + 4, 4), *pairs]
    if box.kind == b"avcC":  # NAL length size, SPS count and length, SPS bytes, PPS count/length
        sps = struct.unpack_from(">H", data, at + 6)[0]
        return [(at + 4, 1), (at + 5, 1), (at + 6, 2), *((at + 8 + i, 1) for i in range(4)),
                (at + 8 + sps, 1), (at + 9 + sps, 2)]  # fmt: skip
    # esds: after version+flags, nested descriptors of tag, length and fields: every byte
    return [(offset, 1) for offset in range(at + 4, box.end)]


def lie(rng: random.Random, value: int, width: int) -> int:
    top = (1 << (8 * width)) - 1
    choices = [0, 1, top, top >> 1, value + 1, value - 1, value * 2, value + rng.randint(2, 999)]
    if width == 4:
        choices.append(100_000)
    return min(max(rng.choice(choices), 0), top)


def mutants(good: bytes) -> list[tuple[str, bytes]]:
    """The issue's file (the first video sample sizes claim 100000 bytes), then seeded lies in
    one field of a box of each mutated kind."""
    rng = random.Random(SEED)
    boxes = list(walk(good))
    stsz = next(box for box in boxes if box.kind == b"stsz")
    first = bytearray(good)
    for i in range(4):
        struct.pack_into(">I", first, stsz.start + 12 + 4 * i, 100_000)
    made = [("video stsz entries 0-3 = 100000", bytes(first))]
    for kind in MUTATED:
        for _ in range(MUTANTS_PER_BOX):
            box = rng.choice([box for box in boxes if box.kind == kind])
            offset, width = rng.choice(fields(good, box))
            value = int.from_bytes(good[offset : offset + width], "big")
            new = lie(rng, value, width)
            data = bytearray(good)
            data[offset : offset + width] = new.to_bytes(width, "big")
            made.append((f"{kind.decode()}@{offset} {value} -> {new}", bytes(data)))
    return made


@pytest.fixture(scope="module")
def good_mp4(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("corrupt") / "good.mp4"
    make_mascot_clip(path, ClipSpec(seconds=2, width=320, height=180, fps=12))
    return path.read_bytes()


def test_the_walker_finds_every_mutated_box(good_mp4: bytes) -> None:
    kinds = [box.kind for box in walk(good_mp4)]
    for kind in (b"stsz", b"stco", b"stts"):
        assert kinds.count(kind) == 2, kind  # one table each for video and sound
    assert kinds.count(b"avcC") == kinds.count(b"esds") == 1


def submissions(
    client: httpx.Client, index: int, data: bytes, url: str
) -> Iterator[tuple[str, httpx.Response]]:
    """Every route that reads a video, given this one; the windows scan alternates between an
    upload and a URL, since both run the same decode. The character names its window, as the
    seeds do: the windows route already decodes as a creation without one does (a scan)."""
    upload = {"video": ("clip.mp4", data, "video/mp4")}
    if index % 2:
        yield "windows (url)", client.post("/v1/characters/windows", json={"url": url})
    else:
        yield "windows (upload)", client.post("/v1/characters/windows", files=upload)
    yield "edit", client.post("/v1/videos/edits", files=upload, data={"prompt": "at night"})
    extend = {"prompt": "then it jumps", "seconds": "4"}
    yield "extension", client.post("/v1/videos/extensions", files=upload, data=extend)
    yield (
        "character",
        client.post(
            "/v1/videos/characters",
            files=upload,
            data={"name": "Fuzzed", "timestamps": "0,2"},
            headers={"Prefer": "respond-async"},
        ),
    )


# The mutants are sent in this many groups, each to its own server, so that the suite's
# processes share them: as one test it took 98 s, the longest in the suite.
GROUPS = 3


@pytest.mark.parametrize("group", range(GROUPS))
def test_corrupt_mp4s_are_refused_as_media(
    make_server: StartServer,
    workers: list[WorkerProcess],
    good_mp4: bytes,
    tmp_path: Path,
    group: int,
) -> None:
    # Video jobs wait for a worker started once all are in, so that those the test does not
    # run can be deleted before any starts.
    env = {
        "TROUPE_WORKER_KINDS": "character",
        "TROUPE_RATE_LIMIT_PER_MINUTE": "0",
        "TROUPE_MAX_CONCURRENT_JOBS": "0",
        "TROUPE_POLL_AFTER_MS": "100",
    }
    server = make_server(env)
    files = tmp_path / "served"
    files.mkdir()
    media = start_media_server(files)
    wrong: list[tuple[str, str, Any]] = []
    jobs: list[tuple[str, str, str]] = []
    try:
        with server.client() as client:
            for index, (name, data) in enumerate(mutants(good_mp4)):
                if index % GROUPS != group:
                    continue
                (files / f"{index}.mp4").write_bytes(data)
                # Both read the clip alike (`videos.pipeline._prepare`) before rendering: each
                # file renders once, mostly as an edit, whose render is the clip's own 2 s
                # against an extension's 6 s, and the other video is deleted unread.
                rendered = "extension" if index % 4 == 1 else "edit"
                for route, answer in submissions(client, index, data, media.url(f"{index}.mp4")):
                    if answer.status_code >= 500:
                        wrong.append((name, route, answer.text))
                    elif answer.is_success and route in ("character", rendered):
                        jobs.append((name, route, answer.json()["id"]))
                    elif answer.is_success and route in ("edit", "extension"):
                        assert client.delete(f"/v1/videos/{answer.json()['id']}").is_success
            start_worker(workers, server, "--kinds", "video")
            for name, route, job_id in jobs:
                settled = wait_for_task(client, job_id, timeout=300)
                error = settled["error"] or {}
                if settled["status"] == "failed" and error.get("code") not in MEDIA_CODES:
                    wrong.append((name, f"{route} job", error))
    finally:
        media.server.shutdown()
    assert wrong == [], "\n".join(map(str, wrong))
