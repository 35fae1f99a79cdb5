"""The `troupe` command: run the server and its demo, manage keys, and use a running server."""

from __future__ import annotations

import click

from troupe.cli import backends, characters, demo, reviews, server, usage, videos, worker


@click.group()
@click.version_option(package_name="troupe")
def main() -> None:
    """troupe: reusable characters from short videos, over the Sora 2 Character API."""


for command in (
    server.serve,
    worker.worker,
    server.keys,
    reviews.review,
    demo.demo,
    characters.character,
    videos.video,
    usage.usage,
    usage.task,
    backends.backend,
):
    main.add_command(command)
