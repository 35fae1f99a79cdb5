"""The `troupe` command: run the server and its demo, manage keys, and use a running server."""

from __future__ import annotations

import click

# Every `troupe` command imports this package, and so does each child process that uvicorn's
# `--processes` and the sandbox start (multiprocessing re-runs the main script), before it can
# answer: commands import the server, media and models inside themselves, when they run.
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
