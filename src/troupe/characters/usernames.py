"""Usernames: the `@handle` of a character. Checking a given one, deriving one from a name."""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Callable

from troupe.errors import TroupeError

MIN_LENGTH = 3
MAX_LENGTH = 30
_VALID = re.compile(r"^[a-z0-9_.]{3,30}$")
# Mentions are `@username` or `@char_…`, so a username must not look like a character id.
_RESERVED_PREFIXES = ("char_",)


def check_username(username: object) -> str:
    if not isinstance(username, str):
        raise TroupeError("invalid_request", "username must be a string", param="username")
    normalised = username.removeprefix("@").lower()
    if not _VALID.match(normalised):
        raise TroupeError(
            "invalid_request",
            f"username {username!r} must be 3-30 characters of a-z, 0-9, '_' and '.'",
            param="username",
        )
    if normalised.startswith((*_RESERVED_PREFIXES, ".")) or normalised.endswith("."):
        raise TroupeError(
            "invalid_request",
            f"username {username!r} may not start with 'char_' or start or end with '.'",
            param="username",
        )
    return normalised


def slugify(name: str) -> str:
    """`"Acme Mascot!"` -> `"acme_mascot"`: ASCII letters and digits joined by underscores."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_")
    return slug.removeprefix("char_")[: MAX_LENGTH - 5].strip("_")


def derive_username(name: str | None, is_taken: Callable[[str], bool]) -> str:
    """A free username from the display name, adding a short suffix when the plain one is taken."""
    base = slugify(name or "") or "character"
    if len(base) < MIN_LENGTH:
        base = f"{base}_char"
    if not is_taken(base):
        return base
    for _ in range(20):
        candidate = f"{base}_{secrets.token_hex(2)}"
        if not is_taken(candidate):
            return candidate
    return f"{base[:17]}_{secrets.token_hex(6)}"
