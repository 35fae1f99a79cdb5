"""`troupe worker`: a process that runs jobs and answers no HTTP, for machines that only extract
characters or only render (a GPU pool), beside API servers on the same database and blobs."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from types import FrameType

import click

from troupe.cli.server import check_role, data_dir_option, settings_with_data_dir
from troupe.settings import Settings

log = logging.getLogger(__name__)


def worker_settings(
    kinds: str | None, backends: str | None, threads: int | None, data_dir: Path | None
) -> Settings:
    """The environment's settings with the command line's choices over them."""
    base = settings_with_data_dir(data_dir)
    overrides: dict[str, object] = {}
    if kinds is not None:
        overrides["worker_kinds"] = kinds
    if backends is not None:
        overrides["worker_backends"] = backends
    if threads is not None:
        overrides["workers"] = threads
    elif base.workers <= 0:
        # An environment shared with API-only servers says 0 for them, not for a worker.
        overrides["workers"] = Settings.model_fields["workers"].default
    return Settings.model_validate({**base.model_dump(), **overrides})


@click.command()
@click.option(
    "--kinds",
    help="Job kinds to run, comma-separated: character, video (default: TROUPE_WORKER_KINDS, "
    "else both).",
)
@click.option(
    "--backends",
    help="Back ends to load and render with, comma-separated, e.g. wan-vace (default: "
    "TROUPE_WORKER_BACKENDS, else every one some model routes to).",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    help="Jobs run at once (default: TROUPE_WORKERS, or 2 where that is 0 for API servers).",
)
@data_dir_option
def worker(
    kinds: str | None, backends: str | None, threads: int | None, data_dir: Path | None
) -> None:
    """Run jobs from the database until SIGTERM or Ctrl-C, then hand unfinished ones back."""
    from troupe.runtime import build_services, start_process
    from troupe.videos.retention import FORGET_EVERY_SECONDS, forget_copies

    settings = worker_settings(kinds, backends, threads, data_dir)
    check_role(settings)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    services = build_services(settings)
    lock = start_process(services)
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    identity = services.worker.identity
    services.worker.start()
    lanes = "".join(
        f" and {threads} for {', '.join(serves.kinds)} jobs alone"
        for serves, threads in services.worker.lanes
    )
    click.echo(
        f"troupe worker {identity.worker_id}: kinds {', '.join(identity.serves.kinds)}; "
        f"back ends {', '.join(identity.serves.backends) or 'none'}; "
        f"{settings.workers} threads{lanes}"
    )
    while not stopping.wait(FORGET_EVERY_SECONDS):
        forget_copies(services.blobs)
    log.info("stopping: running jobs get %.0f s to finish", settings.job_shutdown_grace_seconds)
    services.worker.stop(settings.job_shutdown_grace_seconds)
    services.db.dispose()
    lock.close()
