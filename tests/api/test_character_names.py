"""A character made without a name is called after its source, over real HTTP: its title tag
where it has one, else its file."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import av

from tests.support import MediaServer, ServerProcess
from troupe.media.probe import probe


def served_as(media: MediaServer, name: str) -> str:
    """A copy of a generated clip under the file name `name`, on the media server."""
    shutil.copyfile(media.root / "small.mp4", media.root / name)
    return name


def assert_named(character: dict, display_name: str, username: str) -> None:
    assert character["display_name"] == character["name"] == display_name, character
    # The plain username, or it with a short suffix should another character hold it.
    assert re.fullmatch(rf"{username}(_[0-9a-f]{{4}})?", character["username"]), character


def test_a_url_sources_file_name_names_the_character(
    server: ServerProcess, media: MediaServer
) -> None:
    served_as(media, "Blue Fox-v2.mp4")
    with server.client() as client:
        made = client.post(
            "/v1/characters", json={"url": media.url("Blue%20Fox-v2.mp4"), "timestamps": "0,2"}
        )
    assert made.status_code == 200, made.text
    assert_named(made.json(), "Blue Fox v2", "blue_fox_v2")


def test_an_uploads_file_name_names_the_character(
    server: ServerProcess, media: MediaServer
) -> None:
    with server.client() as client, (media.root / "small.mp4").open("rb") as video:
        made = client.post(
            "/v1/videos/characters",
            data={"timestamps": "0,2"},
            files={"video": ("red_panda.mp4", video)},
        )
    assert made.status_code == 200, made.text
    assert_named(made.json(), "red panda", "red_panda")


def test_a_file_name_that_names_nothing_leaves_the_old_form(
    server: ServerProcess, media: MediaServer
) -> None:
    served_as(media, "video.mp4")
    with server.client() as client:
        made = client.post(
            "/v1/characters", json={"url": media.url("video.mp4"), "timestamps": "0,2"}
        )
    assert made.status_code == 200, made.text
    character = made.json()
    assert re.fullmatch(r"character(_[0-9a-f]{4})?", character["username"]), character
    assert character["display_name"] == character["username"]


def titled_copy(source: Path, dest: Path, title: str) -> None:
    """The clip remuxed unchanged but for the container's title tag."""
    with av.open(str(source)) as clip, av.open(str(dest), "w", format="mp4") as out:
        out.metadata["title"] = title
        streams = {s.index: out.add_stream_from_template(s) for s in clip.streams}
        for packet in clip.demux():
            if packet.dts is not None:
                packet.stream = streams[packet.stream.index]
                out.mux(packet)


def test_a_sources_title_tag_names_the_character(
    server: ServerProcess, media: MediaServer, tmp_path: Path
) -> None:
    titled = tmp_path / "titled.mp4"
    titled_copy(media.root / "small.mp4", titled, "  Acme  Mascot ")
    assert probe(titled, 3840 * 2160).title == "Acme  Mascot"
    shutil.copyfile(titled, media.root / "otter.mp4")
    with server.client() as client:
        # A generic file name: the title alone names it.
        with titled.open("rb") as video:
            uploaded = client.post(
                "/v1/videos/characters",
                data={"timestamps": "0,2"},
                files={"video": ("clip.mp4", video)},
            )
        # The title, which the video's maker wrote, before the file's name.
        fetched = client.post(
            "/v1/characters", json={"url": media.url("otter.mp4"), "timestamps": "0,2"}
        )
    assert uploaded.status_code == 200, uploaded.text
    assert_named(uploaded.json(), "Acme Mascot", "acme_mascot")
    assert fetched.status_code == 200, fetched.text
    assert_named(fetched.json(), "Acme Mascot", "acme_mascot")
