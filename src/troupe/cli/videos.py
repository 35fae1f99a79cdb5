"""`troupe video …`: render, list, fetch and derive videos on a running server."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from troupe.cli.output import connect, emit, job_bar, page_options, remote
from troupe.cli.views import page_lines, video_lines, video_row
from troupe.client import Client, JobProgress
from troupe.videos import intake

SECONDS = [str(seconds) for seconds in intake.SECONDS]
SIZES = list(intake.SIZES)
VARIANT_SUFFIX = {"video": ".mp4", "thumbnail": ".webp", "spritesheet": ".jpg"}


@click.group()
def video() -> None:
    """Videos on a running troupe server."""


Start = Callable[[Client, bool, JobProgress | None], dict[str, Any]]


def render_options(command: Any) -> Any:
    """--wait/--no-wait, --download and the server options of every rendering command."""
    command = click.option(
        "--download",
        "download_to",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Save the finished MP4 here.",
    )(command)
    command = click.option(
        "--wait/--no-wait", default=True, show_default=True, help="Wait for the render to finish."
    )(command)
    return remote(command)


def run_job(
    start: Start,
    wait: bool,
    download_to: Path | None,
    server: str,
    api_key: str | None,
    as_json: bool,
) -> None:
    """Start a render, show its progress while waiting, print it, and save it when asked."""
    with connect(server, api_key, as_json) as client:
        if wait:
            with job_bar("rendering") as bar:
                finished = start(client, True, bar)
        else:
            finished = start(client, False, None)
        if download_to is not None and finished["status"] == "completed":
            client.download(finished["id"], download_to)
            click.echo(f"saved {download_to}", err=True)
    emit(finished, as_json, video_lines)
    if finished["status"] == "failed":
        sys.exit(1)


@video.command("create")
@click.argument("prompt")
@click.option("--seconds", type=click.Choice(SECONDS), default="4", show_default=True)
@click.option("--size", type=click.Choice(SIZES), default="1280x720", show_default=True)
@click.option("--model", help="Model (default: the server's, sora-2).")
@click.option(
    "--character", "characters", multiple=True, help="A character id to cast (repeatable)."
)
@click.option("--image-url", help="An image to use as the first frame / background.")
@render_options
def video_create(
    prompt: str,
    seconds: str,
    size: str,
    model: str | None,
    characters: tuple[str, ...],
    image_url: str | None,
    **job: Any,
) -> None:
    """Render PROMPT; characters come from @mentions in it or from --character."""
    fields: dict[str, Any] = {"seconds": seconds, "size": size}
    if model:
        fields["model"] = model
    if characters:
        fields["characters"] = [{"id": character_id} for character_id in characters]
    if image_url:
        fields["input_reference"] = {"image_url": image_url}
    run_job(
        lambda client, waits, bar: client.create_video(prompt, wait=waits, progress=bar, **fields),
        **job,
    )


def derived_command(name: str, verb: str, help_text: str) -> None:
    """`video remix` and `video edit`: a finished video and a new prompt."""

    @video.command(name, help=help_text)
    @click.argument("video_id")
    @click.argument("prompt")
    @render_options
    def command(video_id: str, prompt: str, **job: Any) -> None:
        run_job(
            lambda client, waits, bar: getattr(client, verb)(
                video_id, prompt, wait=waits, progress=bar
            ),
            **job,
        )


derived_command(
    "remix",
    "remix_video",
    "A new video from a finished one: same cast, model and size, a new PROMPT.",
)
derived_command("edit", "edit_video", "Edit a finished video by PROMPT.")


@video.command("extend")
@click.argument("video_id")
@click.argument("prompt")
@click.option("--seconds", type=click.Choice(SECONDS), default="4", show_default=True)
@render_options
def video_extend(video_id: str, prompt: str, seconds: str, **job: Any) -> None:
    """Render SECONDS more of a finished video and stitch them after it."""
    run_job(
        lambda client, waits, bar: client.extend_video(
            video_id, prompt, seconds, wait=waits, progress=bar
        ),
        **job,
    )


@video.command("get")
@click.argument("video_id")
@remote
def video_get(video_id: str, server: str, api_key: str | None, as_json: bool) -> None:
    """Show a video: status, progress, cast with consistency."""
    with connect(server, api_key, as_json) as client:
        emit(client.video(video_id), as_json, video_lines)


@video.command("list")
@page_options
@remote
def video_list(
    server: str,
    api_key: str | None,
    as_json: bool,
    **paging: Any,
) -> None:
    """List your videos, newest first."""
    with connect(server, api_key, as_json) as client:
        page = client.list_videos(**paging)
    emit(page, as_json, lambda p: page_lines(p, video_row, "no videos yet"))


@video.command("delete")
@click.argument("video_id")
@remote
def video_delete(video_id: str, server: str, api_key: str | None, as_json: bool) -> None:
    """Delete a video and its files."""
    with connect(server, api_key, as_json) as client:
        gone = client.delete_video(video_id)
    emit(gone, as_json, lambda g: [f"deleted {g['id']}"])


@video.command("download")
@click.argument("video_id")
@click.option(
    "--variant", type=click.Choice(list(VARIANT_SUFFIX)), default="video", show_default=True
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Default: ID.mp4"
)
@remote
def video_download(
    video_id: str,
    variant: str,
    output: Path | None,
    server: str,
    api_key: str | None,
    as_json: bool,
) -> None:
    """Save a finished video's MP4, thumbnail or spritesheet."""
    dest = output or Path(video_id + VARIANT_SUFFIX[variant])
    with connect(server, api_key, as_json) as client:
        client.download(video_id, dest, variant=variant)
    shown = {"id": video_id, "variant": variant, "path": str(dest), "bytes": dest.stat().st_size}
    emit(shown, as_json, lambda s: [f"saved {s['path']} ({s['bytes']} bytes)"])
