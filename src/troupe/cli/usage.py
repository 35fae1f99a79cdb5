"""`troupe usage` and `troupe task`: the caller's money and jobs."""

from __future__ import annotations

from typing import Any

import click

from troupe.cli.output import connect, emit, page_options, remote
from troupe.cli.views import page_lines, task_lines, task_row, usage_lines


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


@click.group()
def task() -> None:
    """Jobs of both kinds: character creations and videos."""


@task.command("get")
@click.argument("task_id")
@remote
def task_get(task_id: str, server: str, api_key: str | None, as_json: bool) -> None:
    """Show a task: status, progress, result or error."""
    with connect(server, api_key, as_json) as client:
        emit(client.task(task_id), as_json, task_lines)


@task.command("list")
@click.option("--kind", type=click.Choice(["character", "video"]))
@click.option("--status", type=click.Choice(["queued", "in_progress", "completed", "failed"]))
@page_options
@remote
def task_list(
    kind: str | None,
    status: str | None,
    server: str,
    api_key: str | None,
    as_json: bool,
    **paging: Any,
) -> None:
    """Your tasks, newest first."""
    with connect(server, api_key, as_json) as client:
        page = client.list_tasks(kind=kind, status=status, **paging)
    emit(page, as_json, lambda p: page_lines(p, task_row, "no tasks yet"))
