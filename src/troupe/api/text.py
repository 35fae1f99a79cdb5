"""Request text that troupe can store: JSON's `\\ud800` escape (and a multipart charset such as
`unicode_escape`) can carry a lone UTF-16 surrogate, which no UTF-8 text holds, so the database
and every file written from it would fail on it later."""

from __future__ import annotations

import re

from troupe.errors import TroupeError

# JSON decodes an escaped surrogate pair to the one character it stands for, so any surrogate
# left in a decoded string stands alone.
_SURROGATE = re.compile("[\ud800-\udfff]")


def lone_surrogate_path(value: object) -> str | None:
    """The dotted path (`video.id`, `characters.0.id`) of a string or key in `value` that holds
    a lone surrogate, `""` for `value` itself, or None when none does."""
    pending: list[tuple[str, object]] = [("", value)]
    # A loop, not recursion: the body may nest as deeply as the JSON parser allowed.
    while pending:
        path, item = pending.pop()
        if isinstance(item, str) and _SURROGATE.search(item):
            return path
        if isinstance(item, dict):
            children: list[tuple[object, object]] = list(item.items())
        elif isinstance(item, list):
            children = list(enumerate(item))
        else:
            continue
        for key, child in reversed(children):  # popped in the body's order
            child_path = f"{path}.{_printable(key)}" if path else _printable(key)
            if isinstance(key, str) and _SURROGATE.search(key):
                return child_path
            pending.append((child_path, child))
    return None


def refuse_lone_surrogates(value: object) -> None:
    """Raise `invalid_request`, naming the field, when `value` holds a lone surrogate."""
    path = lone_surrogate_path(value)
    if path is not None:
        raise TroupeError(
            "invalid_request",
            f"{path or 'the body'} holds a lone UTF-16 surrogate (such as \\ud800), which is "
            "not text: send characters outside the BMP as a surrogate pair, or as UTF-8",
            param=path or None,
        )


def _printable(key: object) -> str:
    # The path goes back in the error, which is UTF-8 JSON: the surrogate itself cannot.
    return str(key).encode("utf-8", "backslashreplace").decode("utf-8")
