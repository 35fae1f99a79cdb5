"""`troupe character …`: characters on a running server, through `troupe.Client`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from troupe.cli.output import connect, emit, job_bar, page_options, remote
from troupe.cli.views import character_lines, character_row, page_lines, windows_lines
from troupe.client import TroupeAPIError


@click.group()
def character() -> None:
    """Characters on a running troupe server."""


def one_source(url: str | None, file_: Path | None, from_task: str | None) -> None:
    if sum(source is not None for source in (url, file_, from_task)) != 1:
        raise click.UsageError("give exactly one of --url, --file, --from-task")


source_options = [
    click.option("--url", help="Public URL of the source video."),
    click.option("--file", "file_", type=click.Path(exists=True, path_type=Path)),
    click.option("--from-task", help="A completed video (or its task) to take the character from."),
]


def with_source(command: Any) -> Any:
    for option in reversed(source_options):
        command = option(command)
    return command


@character.command("create")
@with_source
@click.option("--timestamps", help='"start,end" in seconds; omitted: the best window.')
@click.option("--name", help="Display name.")
@click.option("--username", help="Wanted @username.")
@click.option(
    "--attest",
    is_flag=True,
    help="Vouch that the subject is an original character, no real person: lets a subject the "
    "screening is uncertain about through (keys allowed to attest only).",
)
@remote
def character_create(
    url: str | None,
    file_: Path | None,
    from_task: str | None,
    timestamps: str | None,
    name: str | None,
    username: str | None,
    attest: bool,
    server: str,
    api_key: str | None,
    as_json: bool,
) -> None:
    """Create a character and wait for it, with a progress bar."""
    one_source(url, file_, from_task)
    with connect(server, api_key, as_json) as client, job_bar("creating character") as bar:
        made = client.create_character(
            url=url,
            file=file_,
            from_task=from_task,
            timestamps=timestamps,
            name=name,
            username=username,
            attest_original_character=attest,
            progress=bar,
        )
    emit(made, as_json, character_lines)


def request_for(source: str) -> dict[str, Any]:
    if source.startswith(("http://", "https://")):
        return {"url": source}
    if source.startswith(("video_", "task_")):
        return {"from_task": source}
    path = Path(source)
    if not path.is_file():
        raise click.BadParameter(f"{source} is neither a URL, a video id nor a file")
    return {"file": path}


@character.command("create-many")
@click.argument("sources", nargs=-1, required=True)
@click.option("--concurrency", default=4, show_default=True, type=click.IntRange(1, 32))
@remote
def character_create_many(
    sources: tuple[str, ...], concurrency: int, server: str, api_key: str | None, as_json: bool
) -> None:
    """Create one character from each SOURCE (a file, a URL or a video id), a few at a time.

    Exits with status 1 when any of them failed; the others are made all the same.
    """
    requests = [request_for(source) for source in sources]
    with (
        connect(server, api_key, as_json) as client,
        click.progressbar(length=len(requests), label="creating", file=sys.stderr) as bar,
    ):
        outcomes = client.create_many(
            requests, concurrency=concurrency, progress=lambda *_: bar.update(1)
        )
    shown = [
        {"source": source, **outcome_of(outcome)}
        for source, outcome in zip(sources, outcomes, strict=True)
    ]
    emit(shown, as_json, lambda rows: [outcome_line(row) for row in rows])
    if any("error" in row for row in shown):
        sys.exit(1)


def outcome_of(outcome: dict[str, Any] | TroupeAPIError) -> dict[str, Any]:
    if isinstance(outcome, TroupeAPIError):
        return {"error": {"code": outcome.code, "message": outcome.message}}
    return {"character": outcome}


def outcome_line(row: dict[str, Any]) -> str:
    if "error" in row:
        return f"{row['source']}\tfailed\t{row['error']['code']}: {row['error']['message']}"
    return f"{row['source']}\t{character_row(row['character'])}"


@character.command("get")
@click.argument("ref")
@remote
def character_get(ref: str, server: str, api_key: str | None, as_json: bool) -> None:
    """Show a character by id or @username."""
    with connect(server, api_key, as_json) as client:
        emit(client.character(ref), as_json, character_lines)


@character.command("list")
@click.option("--q", help="Username or name prefix.")
@page_options
@remote
def character_list(
    q: str | None,
    server: str,
    api_key: str | None,
    as_json: bool,
    **paging: Any,
) -> None:
    """List your characters, newest first."""
    with connect(server, api_key, as_json) as client:
        page = client.list_characters(q=q, **paging)
    emit(page, as_json, lambda p: page_lines(p, character_row, "no characters yet"))


@character.command("delete")
@click.argument("character_id")
@remote
def character_delete(character_id: str, server: str, api_key: str | None, as_json: bool) -> None:
    """Delete a character; videos already rendered with it keep working."""
    with connect(server, api_key, as_json) as client:
        gone = client.delete_character(character_id)
    emit(gone, as_json, lambda g: [f"deleted {g['id']}"])


@character.command("visibility")
@click.argument("character_id")
@click.argument("visibility", type=click.Choice(["public", "private"]))
@remote
def character_visibility(
    character_id: str, visibility: str, server: str, api_key: str | None, as_json: bool
) -> None:
    """Let other owners mention a character (public), or take that back (private)."""
    with connect(server, api_key, as_json) as client:
        changed = client.set_visibility(character_id, visibility)
    emit(changed, as_json, lambda c: [f"@{c['username']} is now {visibility}"])


@character.command("windows")
@with_source
@click.option("--count", type=click.IntRange(1, 10), help="How many windows (default 3).")
@remote
def character_windows(
    url: str | None,
    file_: Path | None,
    from_task: str | None,
    count: int | None,
    server: str,
    api_key: str | None,
    as_json: bool,
) -> None:
    """The best 1–3 s windows of a source, to pass as --timestamps."""
    one_source(url, file_, from_task)
    with connect(server, api_key, as_json) as client:
        found = client.windows(url=url, file=file_, from_task=from_task, count=count)
    emit(found, as_json, windows_lines)
