"""A character made again from the same bytes and window as a live one of its owner's copies
that one's files instead of extracting anew: over real HTTP, on a server of its own."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import StartServer
from tests.support import MediaServer, ServerProcess, wait_for_task
from troupe.characters import humans, imagenet, rendered, saliency
from troupe.characters.files import CharacterFiles
from troupe.characters.reuse import WEIGHTS, Earlier, copy_files, extraction_key, find_earlier
from troupe.characters.timestamps import Window
from troupe.store import repo
from troupe.store.blobs import BlobStore
from troupe.store.db import Database
from troupe.store.tables import Character


def test_the_key_names_the_bytes_and_the_window(tmp_path: Path, media_dir: Path) -> None:
    copy = tmp_path / "copy.mp4"
    copy.write_bytes((media_dir / "small.mp4").read_bytes())
    key = extraction_key(media_dir / "small.mp4", Window(0, 2))
    assert extraction_key(copy, Window(0.0, 2.0)) == key
    assert extraction_key(copy, Window(0, 1)) != key
    assert extraction_key(copy, None) != key
    assert extraction_key(media_dir / "silent.mp4", Window(0, 2)) != key


def test_every_weight_package_that_extraction_loads_is_in_the_key() -> None:
    loaded = {
        saliency.MODEL_PACKAGE,
        humans._FACE_PACKAGE,
        humans._BODY_PACKAGE,
        imagenet.MODEL_PACKAGE,
        rendered.ENCODER_PACKAGE,
    }
    assert loaded <= set(WEIGHTS)


def stored(character_id: str, owner: str, key: str | None, **fields: Any) -> Character:
    return Character(
        id=character_id,
        owner=owner,
        username=character_id,
        display_name=character_id,
        created_at=1,
        created_ns=int(character_id[-1]),
        source={"type": "url", "timestamps": "0,2", "extraction_key": key, "title": "Fox"},
        quality={"sharpness": 0.5},
        blobs={"profile": f"characters/{character_id}/profile.jpg"},
        **fields,
    )


def test_only_the_owners_live_characters_made_without_a_doubt_are_found(db: Database) -> None:
    with db.transaction() as session:
        for row in (
            stored("char_1", "other", "k"),
            stored("char_2", "me", "k", deleted_at=5),
            stored("char_3", "me", "k", likeness={"screening": "uncertain"}),
            stored("char_4", "me", "another"),
            stored("char_5", "me", None),
            stored("char_6", "me", "k"),
            stored("char_7", "me", "k"),
        ):
            repo.insert_character(session, row)
    with db.transaction() as session:
        earlier = find_earlier(session, "me", "k")
        assert find_earlier(session, "nobody", "k") is None
    assert earlier is not None and earlier.character_id == "char_6"  # the first made
    assert earlier.files.window == Window(0, 2)
    assert earlier.files.title == "Fox"
    assert earlier.files.blobs == {"profile": "characters/char_6/profile.jpg"}


def test_a_copy_cut_short_by_a_deletion_leaves_nothing(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    kept = blobs.put_bytes("characters/char_1/profile.jpg", b"jpeg")
    files = CharacterFiles(Window(0, 2), {}, {"profile": kept, "voice": "characters/char_1/v.m4a"})
    with pytest.raises(FileNotFoundError):
        copy_files(blobs, Earlier("char_1", files), "characters/char_2")
    assert blobs.listing("characters/char_2") == []
    copied = copy_files(blobs, Earlier("char_1", replace(files, blobs={"profile": kept})), "c/2")
    assert copied.blobs == {"profile": "c/2/profile.jpg"} and copied.reused_from == "char_1"


def create(client: httpx.Client, **body: Any) -> dict[str, Any]:
    response = client.post("/v1/characters", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


def reused_from(server: ServerProcess, character_id: str) -> str | None:
    db = Database(f"sqlite:///{server.data_dir / 'troupe.db'}")
    try:
        with db.transaction() as session:
            row = session.scalars(select(Character).where(Character.id == character_id)).one()
            return row.source["reused_from"]
    finally:
        db.dispose()


def picture(client: httpx.Client, character: dict[str, Any]) -> bytes:
    response = client.get(character["profile_picture_url"])
    assert response.status_code == 200, response.text
    return response.content


def test_the_same_bytes_and_window_again_copy_the_live_characters_files(
    make_server: StartServer, media: MediaServer, media_dir: Path
) -> None:
    server = make_server()
    url = media.url("small.mp4")
    with server.client() as client, server.client("test-key-beta") as other:
        first = create(client, url=url, timestamps="0,2")
        again = create(client, url=url, timestamps="0,2")
        video = (media_dir / "small.mp4").read_bytes()
        uploaded = client.post(
            "/v1/videos/characters",
            files={"video": ("small.mp4", video, "video/mp4")},
            data={"timestamps": "0.0,2.0"},
        )
        assert uploaded.status_code == 200, uploaded.text
        not_theirs = create(other, url=url, timestamps="0,2")

        assert reused_from(server, first["id"]) is None
        assert reused_from(server, again["id"]) == first["id"]
        assert reused_from(server, uploaded.json()["id"]) == first["id"]
        assert reused_from(server, not_theirs["id"]) is None  # another owner's work is its own
        # A video's own character, named inline, is made the same way.
        video = client.post(
            "/v1/videos",
            json={
                "prompt": "@inline waves",
                "character_url": url,
                "character_timestamps": "0,2",
                "character_username": "inline",
            },
        )
        assert video.status_code == 200, video.text
        assert wait_for_task(client, video.json()["id"])["status"] == "completed"
        inline = client.get("/v1/characters/@inline").json()
        assert reused_from(server, inline["id"]) == first["id"]
        assert again["quality"] == first["quality"]
        assert again["profile_picture_url"] != first["profile_picture_url"]
        assert picture(client, again) == picture(client, first)

        # Each owns its files: the copy outlives the character it was copied from.
        assert client.delete(f"/v1/characters/{first['id']}").is_success
        assert picture(client, again) == picture(other, not_theirs)
        for made in (again, uploaded.json(), inline):
            assert client.delete(f"/v1/characters/{made['id']}").is_success
        # With none of them left, the extraction runs again.
        fresh = create(client, url=url, timestamps="0,2")
        assert reused_from(server, fresh["id"]) is None
        assert fresh["quality"] == again["quality"]
