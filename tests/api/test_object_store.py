"""Blobs in an S3-compatible store (a real server over HTTP on 127.0.0.1, moto's): an API-only
server and a worker with separate data dirs, sharing only PostgreSQL and the bucket, make a
character and a video; content is served with Range by a machine that never had the file,
streamed from the store, or redirected to a signed URL that reads it from there."""

from __future__ import annotations

from pathlib import Path

from tests.api.test_roles import API_ONLY
from tests.conftest import S3Server, StartServer
from tests.support import MediaServer, WorkerProcess, wait_for_task, wait_for_workers


def files_under(root: Path) -> set[str]:
    return {
        path.relative_to(root).as_posix()
        for path in root.rglob("*")
        if path.is_file() and ".scratch" not in path.parts
    }


def test_machines_sharing_no_disk_work_through_the_object_store(
    make_server: StartServer,
    media: MediaServer,
    s3_server: S3Server,
    postgres_url: str,
    tmp_path: Path,
    workers: list[WorkerProcess],
) -> None:
    bucket = s3_server.new_bucket("troupe-e2e")
    env = {
        **API_ONLY,
        **s3_server.env,
        "TROUPE_DATABASE_URL": postgres_url,
        "TROUPE_BLOB_URL": f"s3://{bucket}/prod",
        "TROUPE_BLOB_ENDPOINT": s3_server.endpoint,
    }
    api = make_server(env, name="api")
    signing = make_server({**env, "TROUPE_BLOB_PRESIGN_SECONDS": "300"}, name="signing")
    worker_env = {"TROUPE_ALLOWED_HOSTS": "127.0.0.1", **env}
    workers.append(WorkerProcess(tmp_path / "worker", worker_env).start())
    with api.client() as client:
        wait_for_workers(client, 1)
        made = client.post(
            "/v1/characters", json={"url": media.url("small.mp4"), "username": "s3_star"}
        )
        assert made.status_code == 200, made.text
        body = {"prompt": "@s3_star waves on the beach", "seconds": "4", "size": "1280x720"}
        video_id = client.post("/v1/videos", json=body).json()["id"]
        assert wait_for_task(client, video_id)["status"] == "completed"
        content = f"/v1/videos/{video_id}/content"
        whole = client.get(content)
        part = client.get(content, headers={"Range": "bytes=100-199"})
        tail = client.get(content, headers={"Range": "bytes=-50"})
        beyond = client.get(content, headers={"Range": "bytes=999999999-"})
        picture = client.get(f"/v1/characters/{made.json()['id']}/profile.jpg")
    size = len(whole.content)
    assert whole.status_code == 200 and whole.content[4:8] == b"ftyp"
    assert whole.headers["content-length"] == str(size)
    assert (part.status_code, part.content) == (206, whole.content[100:200])
    assert part.headers["content-range"] == f"bytes 100-199/{size}"
    assert (tail.status_code, tail.content) == (206, whole.content[-50:])
    assert beyond.status_code == 416
    assert beyond.json()["error"]["code"] == "range_not_satisfiable"
    assert beyond.headers["content-range"] == f"bytes */{size}"
    assert picture.status_code == 200 and picture.content[:2] == b"\xff\xd8"
    # The worker made every file and keeps a copy; the API server streamed them from the store.
    assert f"videos/{video_id}/video.mp4" in files_under(tmp_path / "worker" / "blobs")
    assert files_under(api.data_dir / "blobs") == set()
    with signing.client(follow_redirects=False) as client:
        moved = client.get(f"/v1/videos/{video_id}/content")
        assert moved.status_code == 307
        signed = moved.headers["location"]
        assert signed.startswith(s3_server.endpoint) and "X-Amz-Signature" in signed
    with signing.client(follow_redirects=True) as client:
        followed = client.get(f"/v1/videos/{video_id}/content", headers={"Range": "bytes=0-99"})
    assert (followed.status_code, followed.content) == (206, whole.content[:100])
    assert not (signing.data_dir / "blobs" / "videos").exists()
    with api.client() as client:
        assert client.delete(f"/v1/videos/{video_id}").status_code == 200
    with signing.client() as client:
        assert client.get(f"/v1/videos/{video_id}/content").status_code == 404
