"""The `troupe` command: run the server, manage keys, and create characters on a running server."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click
import httpx

from troupe.settings import Settings

DEFAULT_SERVER = "http://127.0.0.1:8000"


@click.group()
@click.version_option(package_name="troupe")
def main() -> None:
    """troupe: reusable characters from short videos, over the Sora 2 Character API."""


def settings_with_data_dir(data_dir: Path | None) -> Settings:
    return Settings(data_dir=data_dir) if data_dir else Settings()


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--data-dir", type=click.Path(path_type=Path), help="Overrides TROUPE_DATA_DIR.")
def serve(host: str, port: int, data_dir: Path | None) -> None:
    """Start the API server with its worker; the database is upgraded first."""
    import uvicorn

    from troupe.api.app import create_app

    settings = settings_with_data_dir(data_dir)
    click.echo(f"troupe: data in {settings.data_dir.resolve()}, listening on http://{host}:{port}")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


# --- keys ---------------------------------------------------------------------------------


@main.group()
def keys() -> None:
    """API keys stored (hashed) in the server's database."""


def open_database(data_dir: Path | None) -> Any:
    from troupe.store.db import Database, upgrade_database

    settings = settings_with_data_dir(data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade_database(settings.resolved_database_url)
    return Database(settings.resolved_database_url)


@keys.command("create")
@click.option("--owner", default=None, help="Owner the key acts for (default: a new owner).")
@click.option(
    "--credit",
    type=float,
    default=None,
    help="Add this many US dollars to the owner's balance; a funded owner's jobs need it.",
)
@click.option("--data-dir", type=click.Path(path_type=Path))
def keys_create(owner: str | None, credit: float | None, data_dir: Path | None) -> None:
    """Make a key and print it once; only its hash is kept."""
    from troupe.billing.ledger import add_credit, to_dollars
    from troupe.ids import new_id
    from troupe.store import repo

    with open_database(data_dir).transaction() as session:
        row, plain = repo.create_api_key(session, owner or new_id("owner"))
        shown: dict[str, Any] = {"id": row.id, "owner": row.owner, "key": plain}
        if credit is not None:
            shown["balance"] = to_dollars(add_credit(session, row.owner, credit).balance_micros)
        click.echo(json.dumps(shown))


@keys.command("credit")
@click.argument("owner")
@click.argument("dollars", type=float)
@click.option("--data-dir", type=click.Path(path_type=Path))
def keys_credit(owner: str, dollars: float, data_dir: Path | None) -> None:
    """Add DOLLARS to OWNER's balance (negative to take some back)."""
    from troupe.billing.ledger import add_credit, to_dollars

    with open_database(data_dir).transaction() as session:
        account = add_credit(session, owner, dollars)
        click.echo(json.dumps({"owner": owner, "balance": to_dollars(account.balance_micros)}))


@keys.command("list")
@click.option("--data-dir", type=click.Path(path_type=Path))
def keys_list(data_dir: Path | None) -> None:
    from troupe.store import repo

    with open_database(data_dir).transaction() as session:
        for row in repo.list_api_keys(session):
            state = "revoked" if row.revoked_at else "active"
            click.echo(f"{row.id}\t{row.owner}\t{row.prefix}…\t{state}")


@keys.command("revoke")
@click.argument("key_id")
@click.option("--data-dir", type=click.Path(path_type=Path))
def keys_revoke(key_id: str, data_dir: Path | None) -> None:
    from troupe.store import repo

    with open_database(data_dir).transaction() as session:
        if not repo.revoke_api_key(session, key_id):
            raise click.ClickException(f"no active key {key_id}")
    click.echo(f"revoked {key_id}")


# --- characters (a client of a running server) ---------------------------------------------


@main.group()
def character() -> None:
    """Characters on a running troupe server."""


def client(server: str, api_key: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    return httpx.Client(base_url=server.rstrip("/"), headers=headers, timeout=600)


def print_or_fail(response: httpx.Response) -> None:
    try:
        body = response.json()
    except ValueError:
        body = {"error": {"message": response.text, "code": "internal_error"}}
    click.echo(json.dumps(body, indent=2))
    if response.status_code >= 400:
        sys.exit(1)


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


@character.command("create")
@click.option("--url", help="Public URL of the source video.")
@click.option("--file", "file_", type=click.Path(exists=True, path_type=Path))
@click.option("--from-task", help="A completed video job to take the character from.")
@click.option("--timestamps", help='"start,end" in seconds; omitted: the best window.')
@click.option("--name", help="Display name.")
@click.option("--username", help="Wanted @username.")
@server_option
@api_key_option
def character_create(
    url: str | None,
    file_: Path | None,
    from_task: str | None,
    timestamps: str | None,
    name: str | None,
    username: str | None,
    server: str,
    api_key: str | None,
) -> None:
    """Create a character and print it as JSON."""
    if sum(bool(source) for source in (url, file_, from_task)) != 1:
        raise click.UsageError("give exactly one of --url, --file, --from-task")
    with client(server, api_key) as http:
        if file_ is not None:
            form = {"name": name or file_.stem, "timestamps": timestamps, "username": username}
            fields = {key: value for key, value in form.items() if value}
            with file_.open("rb") as video:
                response = http.post(
                    "/v1/videos/characters", data=fields, files={"video": (file_.name, video)}
                )
        else:
            body = {
                "url": url,
                "from_task": from_task,
                "timestamps": timestamps,
                "name": name,
                "username": username,
            }
            response = http.post(
                "/v1/characters", json={key: value for key, value in body.items() if value}
            )
    print_or_fail(response)


@character.command("get")
@click.argument("ref")
@server_option
@api_key_option
def character_get(ref: str, server: str, api_key: str | None) -> None:
    """Show a character by id or @username."""
    with client(server, api_key) as http:
        print_or_fail(http.get(f"/v1/characters/{ref.removeprefix('@')}"))
