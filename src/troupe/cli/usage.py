"""`troupe usage` and `troupe task`: the caller's money and one job's state."""

from __future__ import annotations

import click

from troupe.cli.output import connect, emit, remote
from troupe.cli.views import task_lines, usage_lines


@click.command()
@click.option("--limit", type=click.IntRange(1, 100), help="Ledger entries to show.")
@click.option("--before", type=int, help="Entries older than this entry id.")
@remote
def usage(
    limit: int | None, before: int | None, server: str, api_key: str | None, as_json: bool
) -> None:
    """Your balance, what is held for unfinished jobs, and the ledger, newest first."""
    with connect(server, api_key, as_json) as client:
        emit(client.usage(limit=limit, before=before), as_json, usage_lines)


@click.command()
@click.argument("task_id")
@remote
def task(task_id: str, server: str, api_key: str | None, as_json: bool) -> None:
    """Show a task (a character creation or a video job): status, progress, result or error."""
    with connect(server, api_key, as_json) as client:
        emit(client.task(task_id), as_json, task_lines)
