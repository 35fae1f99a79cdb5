"""Mentions in prompts: what counts as `@handle`, and near-match suggestions."""

from __future__ import annotations

import pytest

from troupe.characters.mentions import find_mentions, suggest


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("@acme_mascot skateboarding through a night market", ["acme_mascot"]),
        ("a duel: @Rex vs @char_0123abcd at dawn.", ["rex", "char_0123abcd"]),
        ("@rex and @rex again, then @cat.", ["rex", "cat"]),
        ("(@rex) jumps; @cat's turn", ["rex", "cat"]),
        ("mail team@acme.com about it", []),
        ("foo@bar is not a mention, nor is @@x or a@b@c", []),
        ("@v1.2 goes first", ["v1.2"]),
        ("no mentions here", []),
        # Not a username, yet a mention: it must fail as unknown, not vanish or shorten.
        ("@ünïcödé dances", ["ünïcödé"]),
        ("@acmé waves", ["acmé"]),
    ],
)
def test_find_mentions(prompt: str, expected: list[str]) -> None:
    assert find_mentions(prompt) == expected


def test_suggest_orders_close_usernames_first() -> None:
    known = ["acme_mascot", "acme_mascot2", "tea_tin", "rex"]
    assert suggest("acme_mascto", known)[:2] == ["acme_mascot", "acme_mascot2"]
    assert suggest("zzzzzz", known) == []
