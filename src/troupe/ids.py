"""Identifiers and clock readings shared by every layer."""

from __future__ import annotations

import secrets
import time


def new_id(prefix: str) -> str:
    """An unguessable id such as `char_4f0c…`: ids double as capabilities for file URLs."""
    return f"{prefix}_{secrets.token_hex(12)}"


def now_seconds() -> int:
    return int(time.time())
