"""Lists of characters from JSON made once per process: byte for byte what the list model
writes, read at one moment, and never stale for the one thing about a character that changes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from troupe.api.character_json import CharacterJson, list_json, listed_page
from troupe.api.schemas import CharacterList, character_object, page_of
from troupe.store import repo
from troupe.store.db import Database
from troupe.store.tables import Character

BASE = "http://127.0.0.1:8000"


def character(number: int, **fields: Any) -> Character:
    values: dict[str, Any] = {
        "owner": "olga",
        "display_name": f"Star {number}",
        "created_at": 1_700_000_000 + number,
        "created_ns": (1_700_000_000 + number) * 10**9,
        "task_id": f"task_{number}",
        "source": {"type": "url", "url": f"https://example.com/{number}.mp4", "timestamps": "1,3"},
        "quality": {"best_frame_time": 1.25, "warnings": []},
        "blobs": {"references": ["a", "b"], "voice": "v"},
        **fields,
    }
    return Character(id=f"char_{number:04d}", username=f"star_{number}", **values)


def read_page(session: Session) -> repo.Page[tuple[str, str]]:
    return repo.list_character_keys(session, "olga", after=None, limit=3, order="desc", query=None)


def listed(db: Database, known: CharacterJson) -> bytes:
    page, items = listed_page(db, known, read_page, BASE)
    return list_json(items, [ident for ident, _ in page.rows], page.has_more)


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    """Every statement the database is sent meanwhile."""
    sent: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement.split()[0].upper())

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        yield sent
    finally:
        event.remove(db.engine, "before_cursor_execute", note)


def test_a_page_is_what_the_list_model_writes_and_follows_visibility(db: Database) -> None:
    with db.transaction() as session:
        session.add_all([character(n) for n in range(5)])
        session.add(character(9, owner="someone else"))
    known = CharacterJson()
    first = listed(db, known)
    with db.transaction() as session:
        newest = [session.get(Character, f"char_{number:04d}") for number in (4, 3, 2)]
        objects = [character_object(row, BASE) for row in newest if row is not None]
    assert first == page_of(CharacterList, objects, True).model_dump_json().encode()
    assert [item["id"] for item in json.loads(first)["data"]] == [
        "char_0004",
        "char_0003",
        "char_0002",
    ]
    with statements(db) as sent:
        assert listed(db, known) == first  # from the JSON at hand
    assert sent == ["SELECT"]  # the page's query alone: no snapshot to begin, no rows to load
    assert listed(db, CharacterJson(max_entries=2)) == first  # one that starts over as it fills

    with db.transaction() as session:
        shared = session.get(Character, "char_0003")
        assert shared is not None
        shared.visibility = "public"
    after_sharing = json.loads(listed(db, known))["data"]
    assert [item["visibility"] for item in after_sharing] == ["private", "public", "private"]


def test_an_empty_page() -> None:
    assert json.loads(list_json([], [], False)) == {
        "object": "list",
        "data": [],
        "first_id": None,
        "last_id": None,
        "has_more": False,
    }
    assert list_json([], [], False) == page_of(CharacterList, [], False).model_dump_json().encode()
