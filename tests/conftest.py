"""Shared fixtures: generated source clips, a CDN-like file server, and a live troupe server."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from filelock import FileLock

from tests.postgres import PostgresCluster, remove_cluster, start_cluster
from tests.support import (
    MediaServer,
    ServerProcess,
    WorkerProcess,
    computed_each,
    run_dir,
    start_media_server,
)
from troupe.media.synthetic import ClipSpec, make_mascot_clip, write_bytes_file
from troupe.store.db import Database, upgrade_database

# name -> how to make it; every test that needs a source video takes it from here.
CLIPS: dict[str, ClipSpec] = {
    "mascot.mp4": ClipSpec(seconds=4, width=1280, height=720),
    "small.mp4": ClipSpec(seconds=3, width=640, height=360),
    "silent.mp4": ClipSpec(seconds=3, width=640, height=360, audio=False),
    "long.mp4": ClipSpec(seconds=20, width=320, height=240, fps=12),
    "mascot.mov": ClipSpec(seconds=3, width=640, height=360, container="mov"),
    "mascot.mkv": ClipSpec(seconds=3, width=640, height=360, container="mkv"),
    "mascot.webm": ClipSpec(seconds=3, width=640, height=360, container="webm"),
    "mascot.avi": ClipSpec(seconds=3, width=640, height=360, container="avi"),
    "grass.mp4": ClipSpec(seconds=3, width=640, height=360, background="texture"),
    "empty.mp4": ClipSpec(seconds=3, width=640, height=360, sprite=False, background="texture"),
    "late.mp4": ClipSpec(seconds=8, width=640, height=360, background="texture", sprite_from=4.5),
    "dark.mp4": ClipSpec(seconds=3, width=640, height=360, brightness=0.03),
}
NOT_VIDEOS = {
    "random.mp4": "random",
    "notes.txt": "text",
    "picture.png": "png",
    "playlist.m3u8": "hls_playlist",
    "playlist.mp4": "hls_playlist",
    "concat.mp4": "concat_playlist",
    "song.mp3": "mp3",
}


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Each test worker's own folder of sources (tests add files to it), whose clips are made
    once for the run and linked in: about 5 s of encoding a worker otherwise repeated."""
    root = tmp_path_factory.mktemp("media")
    shared = run_dir(tmp_path_factory) / "clips"
    shared.mkdir(exist_ok=True)

    def make(name: str) -> str:
        make_mascot_clip(shared / name, CLIPS[name])
        return name

    for name in computed_each(tmp_path_factory, "clips_made", list(CLIPS), make):
        os.link(shared / name, root / name)
    for name, kind in NOT_VIDEOS.items():
        write_bytes_file(root / name, kind, target=root / "mascot.mp4")
    return root


@pytest.fixture(scope="session")
def media(media_dir: Path) -> Iterator[MediaServer]:
    server = start_media_server(media_dir)
    yield server
    server.server.shutdown()


@pytest.fixture(scope="session")
def tiny_wan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random-weight Wan VACE model, written by `troupe backend make-tiny` as a user
    would; it renders noise in a second or two on the CPU. Tests that change it change a copy."""
    pytest.importorskip("diffusers", reason="the wan extra (scripts/setup wan) is not installed")
    dest = run_dir(tmp_path_factory) / "tiny-wan"  # one for every test worker: tests copy it
    with FileLock(f"{dest}.lock"):
        if not dest.is_dir():
            partial = dest.with_name("tiny-wan.partial")  # a failed make leaves no model behind
            command = [sys.executable, "-m", "troupe", "backend", "make-tiny", "wan-vace"]
            subprocess.run([*command, str(partial)], check=True, capture_output=True)
            partial.rename(dest)
    return dest


@pytest.fixture
def workers() -> Iterator[list[WorkerProcess]]:
    """`troupe worker` processes a test starts; each is stopped (SIGTERM) after it."""
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        worker.stop()


@dataclass(frozen=True)
class S3Server:
    """An S3-compatible server on 127.0.0.1 (moto's), with credentials that it accepts."""

    endpoint: str
    env: dict[str, str]

    def new_bucket(self, name: str) -> str:
        import boto3

        client = boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1")
        client.create_bucket(Bucket=name)
        return name


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    from moto.server import ThreadedMotoServer

    env = {
        "AWS_ACCESS_KEY_ID": "troupe-test",
        "AWS_SECRET_ACCESS_KEY": "troupe-test-secret",
        "AWS_REGION": "us-east-1",
    }
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)  # for the clients in this process; servers get `env` explicitly
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    yield S3Server(endpoint=f"http://{host}:{port}", env=env)
    moto.stop()
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = ServerProcess(data_dir=tmp_path_factory.mktemp("server") / "data").start()
    yield process
    process.stop()


@pytest.fixture(scope="session")
def quick_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server for the client tests: it asks for polls every 50 ms and limits no rate."""
    env = {"TROUPE_POLL_AFTER_MS": "50", "TROUPE_RATE_LIMIT_PER_MINUTE": "0"}
    data_dir = tmp_path_factory.mktemp("quick-server") / "data"
    process = ServerProcess(data_dir=data_dir, env=env).start()
    yield process
    process.stop()


StartServer = Callable[..., ServerProcess]


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[StartServer]:
    """Start extra servers with their own settings; all are stopped after the test."""
    started: list[ServerProcess] = []

    def start(env: dict[str, str] | None = None, name: str = "data") -> ServerProcess:
        process = ServerProcess(data_dir=tmp_path / name, env=env or {})
        started.append(process)
        return process.start()

    yield start
    for process in started:
        process.stop()


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A throwaway PostgreSQL server; skipped (or failed, when required) where none can run."""
    cluster = start_cluster()
    yield cluster
    remove_cluster(cluster)


@pytest.fixture
def postgres_url(postgres_cluster: PostgresCluster) -> str:
    """A new, empty database for this test alone."""
    return postgres_cluster.create_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty database: once an SQLite file, once a PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'troupe.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    upgrade_database(url)
    database = Database(url)
    yield database
    database.dispose()
