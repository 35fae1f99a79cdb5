"""`troupe demo`: the whole path in one command, from a source clip to two rendered videos."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from troupe.cli.output import api_key_option, connect, job_bar
from troupe.cli.server import settings_with_data_dir
from troupe.cli.videos import SIZES
from troupe.cli.views import character_lines, percent
from troupe.client import Client

# (file name, prompt): two different places, so the consistency scores mean something. Both
# are lit by day: the animatic tints its cast at night, which the score counts against it.
SCENES = (
    ("city", "@{username} skateboarding down a city street at noon, the camera pans left"),
    ("beach", "@{username} dancing on a sunny beach, waves behind, the camera zooms in"),
)
PROBE_PIXELS = 3840 * 2160


@contextmanager
def step(label: str) -> Iterator[None]:
    """A one-step bar for the steps that report no progress of their own."""
    with click.progressbar(length=1, label=label, file=sys.stderr, width=30) as bar:
        yield
        bar.update(1)


@contextmanager
def reach_server(server: str | None, port: int, data_dir: Path | None, stay: bool) -> Iterator[str]:
    """The base URL of a running troupe: the one asked for, one already on `port`, or one
    started here on embedded defaults (kept running afterwards with `stay`)."""
    from troupe.cli.local_server import LocalServer, answers_as_troupe

    if server is not None:
        if not answers_as_troupe(server):
            raise click.ClickException(f"no troupe server answers at {server}")
        yield server.rstrip("/")
        return
    existing = f"http://127.0.0.1:{port}"
    if port and answers_as_troupe(existing):
        click.echo(f"using the troupe server already running at {existing}", err=True)
        yield existing
        return
    settings = settings_with_data_dir(data_dir)
    with step(f"starting troupe (data in {settings.data_dir})"):
        local = LocalServer(settings, port=port).start()
    try:
        yield local.base_url
        if stay:
            click.echo(f"\ntroupe keeps serving {local.base_url}/ — Ctrl-C stops it.", err=True)
            local.serve_until_interrupted()
    finally:
        local.stop()


def source_clip(file_: Path | None, url: str | None, out: Path) -> dict[str, Any]:
    """The creation request's source: the given file or URL, or a clip made here."""
    if url is not None:
        return {"url": url}
    if file_ is not None:
        return {"file": file_}
    from troupe.media.synthetic import ClipSpec, make_mascot_clip

    clip = out / "source.mp4"
    with step("making a 4 s source clip"):
        make_mascot_clip(clip, ClipSpec(seconds=4, width=1280, height=720))
    return {"file": clip}


def render_scenes(
    client: Client, username: str, seconds: str, size: str, out: Path
) -> list[dict[str, Any]]:
    """Queue both scenes at once, then follow each to the end and save its files."""
    queued = [
        (
            name,
            client.create_video(
                prompt.format(username=username), wait=False, seconds=seconds, size=size
            ),
        )
        for name, prompt in SCENES
    ]
    shown = []
    for number, (name, video) in enumerate(queued, 1):
        with job_bar(f"rendering video {number} ({name})") as bar:
            done = client.wait(f"/v1/videos/{video['id']}", video, progress=bar)
        shown.append(save_video(client, done, out / name))
    return shown


def save_video(client: Client, video: dict[str, Any], stem: Path) -> dict[str, Any]:
    from troupe.media.probe import probe

    if video["status"] != "completed":
        error = video.get("error") or {}
        raise click.ClickException(
            f"video {video['id']} {video['status']}: {error.get('code')}: {error.get('message')}"
        )
    path = client.download(video["id"], stem.with_suffix(".mp4"))
    thumbnail = client.download(video["id"], stem.with_suffix(".webp"), variant="thumbnail")
    info = probe(path, PROBE_PIXELS)
    return {
        **video,
        "file": str(path),
        "thumbnail_file": str(thumbnail),
        "content_url": f"{client.http.base_url}/v1/videos/{video['id']}/content",
        "measured": {"width": info.width, "height": info.height, "duration": info.duration},
    }


def summary_lines(result: dict[str, Any]) -> list[str]:
    lines = ["", "Character", *character_lines(result["character"])]
    for number, video in enumerate(result["videos"], 1):
        measured = video["measured"]
        lines += [
            "",
            f"Video {number}: {video['prompt']}",
            *(
                f"  consistency @{member['username']} {percent(member['consistency'])}"
                for member in video["characters"]
            ),
            f"  file       {video['file']} ({measured['width']}x{measured['height']},"
            f" {measured['duration']:.2f} s)",
            f"  thumbnail  {video['thumbnail_file']}",
            f"  url        {video['content_url']}",
        ]
    lines += ["", f"Open {result['page']} to watch them and make your own."]
    return lines


@click.command()
@click.option(
    "--file",
    "file_",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A source clip of your own (instead of making one).",
)
@click.option("--url", help="A public URL of the source clip (instead of making one).")
@click.option("--server", help="Use this running server instead of finding or starting one.")
@click.option("--port", default=8000, show_default=True, help="Where to find or start one.")
@click.option("--data-dir", type=click.Path(path_type=Path), help="For a server started here.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("troupe-demo"),
    show_default=True,
    help="Where the source clip and the videos are saved.",
)
@click.option("--seconds", default="4", show_default=True, type=click.Choice(["4", "8", "12"]))
@click.option("--size", default="1280x720", show_default=True, type=click.Choice(SIZES))
@click.option("--stay", is_flag=True, help="Keep serving the page after the demo.")
@api_key_option
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def demo(
    file_: Path | None,
    url: str | None,
    server: str | None,
    port: int,
    data_dir: Path | None,
    out: Path,
    seconds: str,
    size: str,
    stay: bool,
    api_key: str | None,
    as_json: bool,
) -> None:
    """Make a character from a short clip and render it in two scenes, with progress bars.

    Prints the character, each video's consistency score, and where its files are; the same
    as JSON goes to OUT/demo.json.
    """
    if file_ is not None and url is not None:
        raise click.UsageError("give at most one of --file and --url")
    out.mkdir(parents=True, exist_ok=True)
    source = source_clip(file_, url, out)
    with (
        reach_server(server, port, data_dir, stay) as base_url,
        connect(base_url, api_key, as_json) as client,
    ):
        with job_bar("creating the character") as bar:
            character = client.create_character(name="Demo Mascot", progress=bar, **source)
        videos = render_scenes(client, character["username"], seconds, size, out)
        result = {"page": f"{base_url}/", "character": character, "videos": videos}
        (out / "demo.json").write_text(json.dumps(result, indent=2))
        if as_json:
            click.echo(json.dumps(result, indent=2))
        else:
            click.echo("\n".join(summary_lines(result)))
