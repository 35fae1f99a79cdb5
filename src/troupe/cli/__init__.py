"""The `troupe` command: run the server and its demo, manage keys, and use a running server."""

from __future__ import annotations

import os

import click

# Every `troupe` command imports this package, and so does each child process that uvicorn's
# `--processes` and the sandbox start (multiprocessing re-runs the main script), before it can
# answer: commands import the server, media and models inside themselves, when they run.
from troupe.cli import backends, characters, demo, reviews, server, usage, videos, worker

# OpenCV's pool threads spin after each parallel loop, waiting for the next one. Beside decoders,
# models and encoders on a few cores that spinning took their time: 5 % of a render's CPU and 3 %
# of an extraction's, at the same speed without it. OpenCV reads these once, as it loads (later,
# in the commands that need it), and the processes a command starts inherit them.
OPENCV_ACTIVE_WAITS = (
    "OPENCV_THREAD_POOL_ACTIVE_WAIT_PAUSE_LIMIT",
    "OPENCV_THREAD_POOL_ACTIVE_WAIT_WORKER",
    "OPENCV_THREAD_POOL_ACTIVE_WAIT_MAIN",
)
for _variable in OPENCV_ACTIVE_WAITS:
    os.environ.setdefault(_variable, "0")


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
