"""What extraction hands on for a character: its files, and the screening's doubt when it had
one. Plain values, so the review desk and the API read them without loading a model."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from troupe.characters.timestamps import Window


@dataclass(frozen=True)
class Doubt:
    """Why the screening could not tell a stylised character from a real person: a sentence for
    the caller and the operator, and the blob keys of JPEG frames with the doubtful region
    boxed, for an operator's review."""

    reason: str
    evidence: list[str]


@dataclass(frozen=True)
class CharacterFiles:
    """What extraction produced: the window used, the quality report, and blob keys by role."""

    window: Window
    quality: dict[str, Any]
    blobs: dict[str, Any] = field(default_factory=dict)
    # Set when the screening could not decide: the caller's policy (refuse, an operator's
    # review, the key's attestation) decides instead.
    doubt: Doubt | None = None
    # The source's title tag, which may name the character (characters/usernames.py).
    title: str | None = None
    # What identifies the extraction (characters/reuse.py), and the character whose files
    # these are copies of when an earlier one had the same.
    extraction_key: str | None = None
    reused_from: str | None = None
