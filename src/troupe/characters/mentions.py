"""Finding `@username` and `@char_id` mentions in a prompt, and suggesting near matches."""

from __future__ import annotations

import difflib
import re

# A mention starts at `@` that follows no word character, dot or `@` (so `team@acme.com` and
# `foo@bar` are not mentions), takes word characters and dots, and drops a sentence's final dot.
# Usernames are ASCII, yet any letter is taken: `@ünïcödé` (or the `é` of `@acmé`) must reach
# the lookup and fail there as an unknown character, not vanish or shorten to `@acm`.
_MENTION = re.compile(r"(?<![\w.@])@(\w[\w.]*)")
MAX_SUGGESTIONS = 3


def find_mentions(prompt: str) -> list[str]:
    """The mentioned handles in order of first appearance, lower-cased, without repeats."""
    found: list[str] = []
    for match in _MENTION.finditer(prompt):
        handle = match.group(1).rstrip(".").lower()
        if _followed_by_at(prompt, match.end()) or not handle:
            continue
        if handle not in found:
            found.append(handle)
    return found


def _followed_by_at(prompt: str, end: int) -> bool:
    """`@a@b` is text, not two mentions."""
    return end < len(prompt) and prompt[end] == "@"


def suggest(handle: str, known: list[str]) -> list[str]:
    """Known usernames close to `handle`, best first."""
    return difflib.get_close_matches(handle.lower(), known, n=MAX_SUGGESTIONS, cutoff=0.6)
