"""`troupe review`: the operator's desk on the server's own data (its data dir, or the database
and blob store its settings name), as `troupe keys` is: list the character tasks the human
screening was uncertain about, look at the frames that raised the doubt, approve or reject."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from troupe.cli.output import emit, json_option
from troupe.cli.server import data_dir_option, open_database, settings_with_data_dir

STATUSES = ("waiting", "approved", "rejected", "expired", "all")
why_option = click.option("--why", help="Why; stored with the decision and shown to the owner.")
by_option = click.option(
    "--by",
    default=lambda: getpass.getuser(),
    show_default="your login name",
    help="Who decides, as the decision records it.",
)


@click.group()
def review() -> None:
    """Characters waiting for an operator (TROUPE_LIKENESS_REVIEW=operator)."""


@contextmanager
def desk(data_dir: Path | None) -> Iterator[Any]:
    """The review desk on this server's data: its database, blobs and webhook outbox."""
    from troupe.characters.review import ReviewDesk
    from troupe.runtime import open_blobs

    settings = settings_with_data_dir(data_dir)
    db = open_database(data_dir)
    try:
        yield ReviewDesk(db, open_blobs(settings), webhook_events=bool(settings.webhook_url))
    finally:
        db.dispose()


def shown(desk: Any, task_id: str) -> dict[str, Any]:
    """A review as the API shows it, plus the paths of its frames on this machine."""
    from troupe.api.schemas import review_object
    from troupe.store import repo, reviews

    with desk.db.transaction() as session:
        row = reviews.get_review(session, task_id)
        task = repo.get_task_by_id(session, task_id)
        if row is None or task is None:
            raise click.ClickException(f"no review of task {task_id}")
        data: dict[str, Any] = review_object(row, task, "").model_dump(mode="json")
        keys = list(row.evidence)
    data["evidence_files"] = [_local(desk, key) for key in keys]
    return data


def _local(desk: Any, key: str) -> str:
    try:
        return str(desk.blobs.local(key))
    except FileNotFoundError:
        return f"(missing: {key})"


def review_lines(data: dict[str, Any]) -> list[str]:
    asked = " ".join(
        part
        for part in (
            f"@{data['username']}" if data["username"] else "",
            f"name {data['name']!r}" if data["name"] else "",
        )
        if part
    )
    source = data["source"]
    where = source.get("url") or source.get("filename") or source.get("task_id") or ""
    lines = [
        f"{data['id']}  {data['status']}  (task {data['task_status']})",
        f"owner     {data['owner']}",
        f"asked     {asked or '(derived from the source)'}",
        f"source    {source['type']} {where}  window {data['timestamps']} s",
        f"doubt     {data['reason']}",
        f"expires   {_time(data['expires_at'])}",
    ]
    if data["decided_at"]:
        lines.append(
            f"decided   {data['status']} by {data['decided_by']} at {_time(data['decided_at'])}"
        )
        if data["why"]:
            lines.append(f"why       {data['why']}")
    lines += [f"frame     {path}" for path in data.get("evidence_files", [])]
    return lines


def _time(seconds: int | None) -> str:
    import time

    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds)) if seconds else ""


@review.command("list")
@click.option("--status", type=click.Choice(STATUSES), default="waiting", show_default=True)
@click.option("--limit", type=click.IntRange(1, 100), default=100, show_default=True)
@data_dir_option
@json_option
def review_list(status: str, limit: int, data_dir: Path | None, as_json: bool) -> None:
    """Reviews, oldest first: by default those waiting for a decision."""
    from troupe.store import reviews

    wanted = None if status == "all" else status
    with desk(data_dir) as opened:
        with opened.db.transaction() as session:
            rows = reviews.list_reviews(
                session, status=wanted, after=None, limit=limit, order="asc"
            ).rows
            task_ids = [row.task_id for row in rows]
        page = {"object": "list", "data": [shown(opened, task_id) for task_id in task_ids]}
    emit(page, as_json, lambda listed: list_lines(listed, status))


def list_lines(listed: dict[str, Any], status: str) -> list[str]:
    return [
        "\t".join(
            (item["id"], item["status"], item["owner"], f"expires {_time(item['expires_at'])}")
        )
        + f"\t{item['reason']}"
        for item in listed["data"]
    ] or [f"no reviews ({status})"]


@review.command("show")
@click.argument("task_id")
@data_dir_option
@json_option
def review_show(task_id: str, data_dir: Path | None, as_json: bool) -> None:
    """One review: what was asked, what raised the doubt, and the paths of its boxed frames."""
    with desk(data_dir) as opened:
        emit(shown(opened, task_id), as_json, review_lines)


def decide(task_id: str, approve: bool, why: str | None, by: str, data_dir: Path | None) -> Any:
    from troupe.errors import TroupeError

    with desk(data_dir) as opened:
        decision = opened.approve if approve else opened.reject
        try:
            decision(task_id, f"{by} (troupe review)", why)
        except TroupeError as error:
            raise click.ClickException(f"{error.code}: {error.message}") from error
        return shown(opened, task_id)


@review.command("approve")
@click.argument("task_id")
@why_option
@by_option
@data_dir_option
@json_option
def review_approve(
    task_id: str, why: str | None, by: str, data_dir: Path | None, as_json: bool
) -> None:
    """Let the character through: its task completes as if the screening had been sure."""
    emit(decide(task_id, True, why, by, data_dir), as_json, review_lines)


@review.command("reject")
@click.argument("task_id")
@why_option
@by_option
@data_dir_option
@json_option
def review_reject(
    task_id: str, why: str | None, by: str, data_dir: Path | None, as_json: bool
) -> None:
    """Refuse it as a real person: its task fails (human_likeness_detected) and is refunded."""
    emit(decide(task_id, False, why, by, data_dir), as_json, review_lines)
