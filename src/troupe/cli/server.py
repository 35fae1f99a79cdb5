"""`troupe serve` and `troupe keys`: the server itself, and the keys kept in its database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from troupe.cli.output import emit, json_option
from troupe.settings import Settings

data_dir_option = click.option(
    "--data-dir", type=click.Path(path_type=Path), help="Overrides TROUPE_DATA_DIR."
)


def settings_with_data_dir(data_dir: Path | None) -> Settings:
    return Settings(data_dir=data_dir) if data_dir else Settings()


def check_role(settings: Settings) -> None:
    """Refuse to start, saying why, when the worker's role or a back end it needs cannot work.
    Cheap: back ends check their set-up when built and load models on first use."""
    from troupe.render.registry import load_backends
    from troupe.runtime import plan_role

    try:
        load_backends(settings, plan_role(settings).backends)
    except ValueError as error:
        raise click.ClickException(str(error)) from error


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--processes",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Server processes sharing the port and the data dir (each with its own worker threads; "
    "rate limits and request metrics are counted per process).",
)
@data_dir_option
def serve(host: str, port: int, processes: int, data_dir: Path | None) -> None:
    """Start the API server and its page with the worker; the database is upgraded first."""
    import os

    from troupe.cli.supervisor import serve_processes
    from troupe.store.db import upgrade_database

    settings = settings_with_data_dir(data_dir)
    check_role(settings)
    click.echo(f"troupe: data in {settings.data_dir.resolve()}, page at http://{host}:{port}/")
    if processes == 1:
        import uvicorn

        # Only here: with several processes, the app is each child's, not this supervisor's.
        from troupe.api.app import create_app

        uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
        return
    # The children build their settings from the environment; upgrading here first keeps them
    # from racing to create the schema of a new database.
    os.environ["TROUPE_DATA_DIR"] = str(settings.data_dir.resolve())
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade_database(settings.resolved_database_url)
    serve_processes(host, port, processes)


@click.group()
def keys() -> None:
    """API keys stored (hashed) in the server's database."""


def open_database(data_dir: Path | None) -> Any:
    from troupe.store.db import Database, upgrade_database

    settings = settings_with_data_dir(data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade_database(settings.resolved_database_url)
    return Database(settings.resolved_database_url)


def _rights(row: Any) -> list[str]:
    return [
        name for name, held in (("operator", row.operator), ("may-attest", row.may_attest)) if held
    ]


def _balance_line(shown: dict[str, Any]) -> list[str]:
    return [f"balance  ${shown['balance']:.2f}"] if "balance" in shown else []


@keys.command("create")
@click.option(
    "--owner",
    default=None,
    help="Owner the key acts for (default: a new owner). What was made while the server had no "
    "key belongs to the owner `local`: make the first key with `--owner local` to keep it.",
)
@click.option(
    "--credit",
    type=float,
    default=None,
    help="Add this many US dollars to the owner's balance; a funded owner's jobs need it.",
)
@click.option(
    "--operator",
    is_flag=True,
    help="The key may list, look at and decide reviews of every owner's uncertain characters.",
)
@click.option(
    "--may-attest",
    is_flag=True,
    help="Its requests may send attest_original_character: true, which lets a subject the "
    "screening is uncertain about through (never one it sees as a real person).",
)
@data_dir_option
@json_option
def keys_create(
    owner: str | None,
    credit: float | None,
    operator: bool,
    may_attest: bool,
    data_dir: Path | None,
    as_json: bool,
) -> None:
    """Make a key and print it once; only its hash is kept.

    The first key ends open mode, in which any bearer token acts for the owner `local`: a key
    of another owner does not see what was made then, as a notice on stderr says.
    """
    from troupe.billing.ledger import add_credit, to_dollars
    from troupe.ids import new_id
    from troupe.store import repo

    with open_database(data_dir).transaction() as session:
        first = not repo.any_api_keys(session) and not settings_with_data_dir(data_dir).api_keys
        row, plain = repo.create_api_key(
            session, owner or new_id("owner"), operator=operator, may_attest=may_attest
        )
        shown: dict[str, Any] = {
            "id": row.id,
            "owner": row.owner,
            "key": plain,
            "rights": _rights(row),
        }
        if credit is not None:
            shown["balance"] = to_dollars(add_credit(session, row.owner, credit).balance_micros)
        notice = open_mode_notice(session, row.owner)
    emit(
        shown,
        as_json,
        lambda key: [
            f"key      {key['key']}",
            f"id       {key['id']}",
            f"owner    {key['owner']}",
            f"rights   {', '.join(key['rights']) or 'none'}",
            *_balance_line(key),
            "The key is shown only now; troupe keeps its SHA-256.",
            *(["The server's first key: from now on every request needs a key."] if first else []),
        ],
    )
    if notice:
        click.echo(notice, err=True)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def open_mode_notice(session: Any, owner: str) -> str | None:
    """What a new key of `owner` will not see: the characters and videos made in open mode,
    which belong to the owner `local`, while no key of that owner exists to see them."""
    from troupe.api.auth import OPEN_MODE_OWNER
    from troupe.store import repo

    if owner == OPEN_MODE_OWNER or repo.owner_has_live_key(session, OPEN_MODE_OWNER):
        return None
    characters, videos = repo.count_owned(session, OPEN_MODE_OWNER)
    if not characters and not videos:
        return None
    return (
        f"note: {_count(characters, 'character')} and {_count(videos, 'video')} made while the "
        f"server had no key belong to the owner `{OPEN_MODE_OWNER}`, which this key does not "
        f"see; a key made with `troupe keys create --owner {OPEN_MODE_OWNER}` sees them."
    )


@keys.command("credit")
@click.argument("owner")
@click.argument("dollars", type=float)
@data_dir_option
@json_option
def keys_credit(owner: str, dollars: float, data_dir: Path | None, as_json: bool) -> None:
    """Add DOLLARS to OWNER's balance (negative to take some back)."""
    from troupe.billing.ledger import add_credit, to_dollars

    with open_database(data_dir).transaction() as session:
        account = add_credit(session, owner, dollars)
        shown = {"owner": owner, "balance": to_dollars(account.balance_micros)}
    emit(shown, as_json, lambda s: [f"{s['owner']}  balance ${s['balance']:.2f}"])


@keys.command("list")
@data_dir_option
@json_option
def keys_list(data_dir: Path | None, as_json: bool) -> None:
    """Every key: id, owner, the first characters of the key, active or revoked."""
    from troupe.store import repo

    with open_database(data_dir).transaction() as session:
        rows = [
            {
                "id": row.id,
                "owner": row.owner,
                "prefix": row.prefix,
                "state": "revoked" if row.revoked_at else "active",
                "rights": _rights(row),
            }
            for row in repo.list_api_keys(session)
        ]
    emit(
        {"object": "list", "data": rows},
        as_json,
        lambda page: (
            [
                f"{key['id']}\t{key['owner']}\t{key['prefix']}…\t{key['state']}"
                + "".join(f"\t{right}" for right in key["rights"])
                for key in page["data"]
            ]
            or ["no keys: the server accepts any bearer token"]
        ),
    )


@keys.command("revoke")
@click.argument("key_id")
@data_dir_option
@json_option
def keys_revoke(key_id: str, data_dir: Path | None, as_json: bool) -> None:
    """Revoke a key for good."""
    from troupe.store import repo

    with open_database(data_dir).transaction() as session:
        if not repo.revoke_api_key(session, key_id):
            raise click.ClickException(f"no active key {key_id}")
    emit({"id": key_id, "revoked": True}, as_json, lambda _: [f"revoked {key_id}"])
