"""The blob store, as a local folder and over a real S3-compatible server on 127.0.0.1 (moto's
server: MinIO and Ceph's gateway are not to be had from the registries here): the same
behaviour from both, and with the object store, machines that share no disk see each other's
blobs."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.conftest import S3Server
from troupe.store.blobs import BlobStore
from troupe.store.objects import ObjectStore

_buckets = itertools.count()
Machine = Callable[[str], BlobStore]


@pytest.fixture(params=["folder", "s3"])
def machine(request: pytest.FixtureRequest, tmp_path: Path) -> Machine:
    """Makes the blob store of a machine (its own folder); with "s3" all share one bucket."""
    remote = None
    if request.param == "s3":
        s3: S3Server = request.getfixturevalue("s3_server")
        bucket = s3.new_bucket(f"blobs-{next(_buckets)}")
        remote = ObjectStore(f"s3://{bucket}/troupe", endpoint=s3.endpoint)
    return lambda name: BlobStore(tmp_path / name, remote)


def test_writes_read_back_whole_and_deletes_leave_nothing(machine: Machine) -> None:
    blobs = machine("a")
    blobs.put_bytes("characters/c1/fingerprint.npz", b"fingerprint")
    source = blobs.root.parent / "clip.bin"
    source.write_bytes(os.urandom(3_000_000))
    blobs.put_file("videos/v1/video.mp4", source)
    assert blobs.exists("characters/c1/fingerprint.npz")
    assert blobs.local("videos/v1/video.mp4").read_bytes() == source.read_bytes()
    blobs.delete("videos/v1/video.mp4")
    blobs.delete("videos/v1/video.mp4")  # twice is fine
    assert not blobs.exists("videos/v1/video.mp4")
    with pytest.raises(FileNotFoundError):
        blobs.local("videos/v1/video.mp4")


@pytest.mark.parametrize("key", ["", "../x", "a/../../x", "/etc/passwd", ".scratch/x"])
def test_keys_stay_inside_the_store(machine: Machine, key: str) -> None:
    with pytest.raises(ValueError, match="bad blob key"):
        machine("a").path(key)


def test_listing_names_every_file_under_a_folder_with_its_age(machine: Machine) -> None:
    blobs = machine("a")
    began = time.time() - 5
    blobs.put_bytes("uploads/u1.mp4", b"one")
    blobs.put_bytes("uploads/u2.mp4", b"two!")
    blobs.put_bytes("videos/v1/video.mp4", b"elsewhere")
    listed = blobs.listing("uploads")
    assert [(info.key, info.size) for info in listed] == [
        ("uploads/u1.mp4", 3),
        ("uploads/u2.mp4", 4),
    ]
    assert all(info.modified >= began for info in listed)


def test_machines_without_a_shared_disk_share_blobs_through_the_store(
    s3_server: S3Server, tmp_path: Path
) -> None:
    bucket = s3_server.new_bucket(f"shared-{next(_buckets)}")
    remote = ObjectStore(f"s3://{bucket}/p", endpoint=s3_server.endpoint)
    api, worker = BlobStore(tmp_path / "api", remote), BlobStore(tmp_path / "worker", remote)
    assert api.is_shared
    worker.put_bytes("videos/v1/video.mp4", b"rendered on the worker")
    assert not api.path("videos/v1/video.mp4").exists()
    assert api.exists("videos/v1/video.mp4")
    assert api.local("videos/v1/video.mp4").read_bytes() == b"rendered on the worker"
    # A copy unused for long is dropped here, and fetched again when wanted.
    old = time.time() - 3600
    os.utime(api.path("videos/v1/video.mp4"), (old, old))
    assert api.forget_copies(older_than_seconds=60) == 1
    assert not api.path("videos/v1/video.mp4").exists()
    assert api.local("videos/v1/video.mp4").read_bytes() == b"rendered on the worker"
    assert api.forget_copies(older_than_seconds=60) == 0  # fetched just now
    worker.delete("videos/v1/video.mp4")
    api.path("videos/v1/video.mp4").unlink()
    assert not api.exists("videos/v1/video.mp4")


def test_a_signed_url_reads_the_object_and_its_ranges_without_credentials(
    machine: Machine,
) -> None:
    blobs = machine("a")
    blobs.put_bytes("videos/v1/video.mp4", b"0123456789")
    url = blobs.signed_url("videos/v1/video.mp4", 60)
    if blobs.remote is None:
        assert url is None
        return
    assert url is not None
    with httpx.Client() as client:
        assert client.get(url).content == b"0123456789"
        part = client.get(url, headers={"Range": "bytes=2-5"})
    assert (part.status_code, part.content) == (206, b"2345")


# A process that works in a scratch folder: it says which, then waits to be killed.
SCRATCH_WORKER = """
import sys, time
from pathlib import Path
from troupe.store.blobs import BlobStore
with BlobStore(Path(sys.argv[1])).scratch_dir() as folder:
    (Path(folder) / "partial.mp4").write_bytes(b"half a render")
    print(folder, flush=True)
    time.sleep(600)
"""


def scratch_worker(root: Path) -> tuple[subprocess.Popen[str], Path]:
    command = [sys.executable, "-c", SCRATCH_WORKER, str(root)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    return process, Path(process.stdout.readline().strip())


def test_a_sweep_removes_the_scratch_of_gone_processes_only(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    killed, left = scratch_worker(blobs.root)
    killed.send_signal(signal.SIGKILL)
    killed.wait(10)
    live, held = scratch_worker(blobs.root)
    try:
        with blobs.scratch_dir() as own:
            assert left.exists(), "SIGKILL skipped the clean-up"
            assert blobs.sweep_scratch(min_age_seconds=60) == 0, "too young to be sure"
            assert blobs.sweep_scratch(min_age_seconds=0) == 1
            assert not left.exists()
            assert (held / "partial.mp4").exists() and Path(own).is_dir()
        assert not Path(own).exists()
    finally:
        live.kill()
        live.wait(10)
    assert blobs.sweep_scratch(min_age_seconds=0) == 1
    assert list((blobs.root / ".scratch").iterdir()) == []
