"""What the client commands share: server options, JSON or human output, errors, progress bars."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click

from troupe.client import Client, JobProgress, TroupeAPIError

DEFAULT_SERVER = "http://127.0.0.1:8000"
Command = TypeVar("Command", bound=Callable[..., Any])

json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print the server's JSON answer, for scripts."
)
server_option = click.option(
    "--server",
    default=lambda: os.environ.get("TROUPE_SERVER", DEFAULT_SERVER),
    show_default=DEFAULT_SERVER,
    help="Base URL of the server (TROUPE_SERVER).",
)
api_key_option = click.option(
    "--api-key",
    default=lambda: os.environ.get("TROUPE_API_KEY"),
    help="API key (TROUPE_API_KEY).",
)


def page_options(command: Command) -> Command:
    """--limit, --after and --order of every list command, passed on to the client as such."""
    command = click.option("--order", type=click.Choice(["asc", "desc"]))(command)
    command = click.option("--after", help="The last id of the previous page.")(command)
    return click.option("--limit", type=click.IntRange(1, 100))(command)


def remote(command: Command) -> Command:
    """The options of every command that talks to a running server."""
    return server_option(api_key_option(json_option(command)))


@contextmanager
def connect(server: str, api_key: str | None, as_json: bool) -> Iterator[Client]:
    """A client for the command; an error answer is printed and exits with status 1."""
    try:
        with Client(server, api_key=api_key) as client:
            yield client
    except TroupeAPIError as error:
        fail(error, as_json)


def fail(error: TroupeAPIError, as_json: bool) -> None:
    body = {
        "error": {
            "message": error.message,
            "type": "invalid_request_error" if error.status < 500 else "server_error",
            "param": error.param,
            "code": error.code,
        }
    }
    if as_json:
        click.echo(json.dumps(body, indent=2))
    else:
        click.echo(f"error: {error.code}: {error.message}", err=True)
    sys.exit(1)


def emit(data: Any, as_json: bool, describe: Callable[[Any], list[str]]) -> None:
    """JSON for scripts, or the lines `describe` makes of it for people."""
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    for line in describe(data):
        click.echo(line)


@contextmanager
def job_bar(label: str) -> Iterator[JobProgress]:
    """A 0–100 progress bar on stderr, fed by a task's or a video's `progress`."""
    with click.progressbar(
        length=100, label=label, file=sys.stderr, show_eta=False, width=30
    ) as bar:
        said: set[str] = set()

        def advance(job: dict[str, Any]) -> None:
            done = 100 if job.get("status") == "completed" else int(job.get("progress") or 0)
            if done > bar.pos:
                bar.update(done - bar.pos)
            # A job parked for an operator's review may wait hours: say why the bar stands still.
            waiting = job.get("waiting_for")
            if waiting and waiting not in said:
                said.add(waiting)
                click.echo(f"\nwaiting for {waiting}", err=True)

        yield advance
