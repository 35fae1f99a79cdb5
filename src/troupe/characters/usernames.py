"""Usernames: the `@handle` of a character. Checking a given one, deriving one from a name, and
a name from the source's file name when the request gave none."""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

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
    while slug.startswith(_RESERVED_PREFIXES):  # "char_char_x" must not become "char_x"
        slug = slug.removeprefix("char_").lstrip("_")
    return slug[: MAX_LENGTH - 5].strip("_")


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


# As long as a display name may be (characters/intake.py's MAX_NAME_LENGTH).
MAX_NAME_LENGTH = 80
# File names that name no one: what browsers, cameras' apps and download links call any video.
_GENERIC_STEMS = frozenset(
    {"blob", "clip", "download", "file", "index", "media", "movie", "output", "upload", "video"}
)
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,5}$")


def name_from_filename(filename: str) -> str | None:
    """`"acme-mascot_v2.mp4"` -> `"acme mascot v2"`: the last part of a path, without its
    extension, separators read as spaces. None when that names nothing: no letter in it, or a
    word any file could have (`video`, `blob`, `download`)."""
    base = re.split(r"[\\/]", filename.strip().rstrip("/\\"))[-1]
    stem = _EXTENSION.sub("", base)
    return name_from_title(re.sub(r"[_\-.+~]+", " ", stem))


def name_from_title(title: str | None) -> str | None:
    """A source's title tag as a display name (`"Big Buck Bunny"`), its spaces tidied; None
    when it names nothing: no letter in it, or a word any video could be called."""
    printable = "".join(char if char.isprintable() else " " for char in title or "")
    words = " ".join(printable.split())
    if not any(char.isalpha() for char in words) or words.lower() in _GENERIC_STEMS:
        return None
    return words[:MAX_NAME_LENGTH].strip()


def name_from_source(source: Mapping[str, Any]) -> str | None:
    """A display name for a character whose request named none: an upload's file name, or the
    last segment of the source URL's path; None for any other source, or one that names
    nothing (then the username is `character…`, as it always was)."""
    if source.get("type") == "upload":
        return name_from_filename(source.get("filename") or "")
    if source.get("type") == "url":
        try:
            path = urlsplit(str(source.get("url") or "")).path
        except ValueError:
            return None
        return name_from_filename(unquote(path))
    return None
