"""Reading a JSON or multipart body into one dict, whichever the client sent.

The official SDK sends `POST /v1/videos` as multipart even without a file, flattening nested
values in brackets: `extra_body={"characters": [{"id": "char_1"}]}` arrives as the form field
`characters[][id]=char_1`, and `video={"id": ...}` as `video[id]=...`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import Request
from starlette.datastructures import UploadFile

from troupe.api.text import refuse_lone_surrogates
from troupe.errors import TroupeError

_SEGMENT = re.compile(r"\[([^\[\]]*)\]")
# Parts that carry files; any other part is a text field, even when sent with a filename
# (seed 000 sends every field with `requests.post(files=...)`, which names each part a file).
FILE_FIELDS = ("input_reference", "video")
MAX_TEXT_PART_BYTES = 1024 * 1024
NO_BOUNDARY = (
    "Content-Type multipart/form-data has no boundary, so the parts cannot be found: do not "
    "set this header by hand; your HTTP library adds it, with the boundary, when it sends files"
)
# Deeper bracketed keys than any request here needs.
MAX_DEPTH = 32


async def read_body(request: Request) -> dict[str, Any]:
    """The body as a dict; uploaded files stay `UploadFile` values."""
    content_type = request.headers.get("content-type", "").lower()
    if lacks_boundary(content_type):
        raise TroupeError("invalid_request", NO_BOUNDARY)
    if content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        form = await request.form()
        items = [(key, await _text_part(key, value)) for key, value in form.multi_items()]
        body = unflatten(items)
    else:
        body = await _json_body(request, content_type)
    refuse_lone_surrogates(body)
    return body


def is_json(content_type: str) -> bool:
    """`application/json` or `application/*+json`, with any parameters (a charset, say)."""
    media_type = content_type.partition(";")[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def unsupported_media_type(content_type: str | None, accepted: str) -> TroupeError:
    """415 for a body whose declared type this route does not read."""
    declared = f"Content-Type {content_type!r}" if content_type else "no Content-Type"
    return TroupeError(
        "unsupported_media_type",
        f"the body came with {declared}; this route reads {accepted}",
    )


async def _json_body(request: Request, content_type: str) -> dict[str, Any]:
    raw = await request.body()
    # Were it read whatever its type, a page on another site could post JSON as text/plain,
    # which a browser sends without asking this server first (no CORS preflight). An empty
    # body carries nothing to misread.
    if raw and not is_json(content_type):
        raise unsupported_media_type(content_type, "JSON (application/json) or multipart/form-data")
    try:
        body = json.loads(raw or b"{}")
    except ValueError as error:
        raise TroupeError("invalid_request", f"the body is not valid JSON: {error}") from error
    except RecursionError as error:
        raise TroupeError("invalid_request", "the JSON body nests too deeply to read") from error
    if not isinstance(body, dict):
        raise TroupeError("invalid_request", "the request body must be a JSON object")
    return body


def lacks_boundary(content_type: str) -> bool:
    """Seed 000 sets `Content-Type: multipart/form-data` by hand, which drops the boundary that
    its HTTP library would have written there."""
    lowered = content_type.lower()
    return lowered.startswith("multipart/form-data") and "boundary=" not in lowered


async def _text_part(key: str, value: Any) -> Any:
    """A file part outside FILE_FIELDS read as the UTF-8 text it carries."""
    if not isinstance(value, UploadFile) or _path(key)[0] in FILE_FIELDS:
        return value
    data = await value.read(MAX_TEXT_PART_BYTES + 1)
    if len(data) > MAX_TEXT_PART_BYTES:
        raise TroupeError("invalid_request", f"field {key!r} is over 1 MiB of text", param=key)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise TroupeError(
            "invalid_request", f"field {key!r} must be text, not a binary file", param=key
        ) from error


def unflatten(items: list[tuple[str, Any]]) -> dict[str, Any]:
    """Bracketed form keys to nested values: `a[][id]`, `a[0][id]`, `v[id]`, repeated `a`."""
    root: dict[str, Any] = {}
    for key, value in items:
        _insert(root, _path(key), _decoded(value))
    return _lists_from_indices(root)


def _path(key: str) -> list[str]:
    head, bracket, rest = key.partition("[")
    path = [head, *_SEGMENT.findall(bracket + rest)] if bracket else [head]
    if len(path) > MAX_DEPTH:
        raise TroupeError("invalid_request", f"field {head!r} nests deeper than {MAX_DEPTH} levels")
    return path


def _decoded(value: Any) -> Any:
    """A field holding JSON (`characters='[{"id": ...}]'`, as curl users write) is parsed."""
    if isinstance(value, UploadFile) or not isinstance(value, str):
        return value
    stripped = value.strip()
    if stripped[:1] in ("[", "{"):
        try:
            return json.loads(stripped)
        except ValueError:
            return value
        except RecursionError as error:
            raise TroupeError("invalid_request", "a field's JSON nests too deeply") from error
    return value


def _insert(node: dict[str, Any], path: list[str], value: Any) -> None:
    *parents, leaf = path
    current: Any = node
    for index, segment in enumerate(parents):
        following = path[index + 1]
        current = _child(current, segment, following, is_leaf_next=index + 1 == len(parents))
    if isinstance(current, list):
        current.append(value)
    elif leaf in current:
        existing = current[leaf]
        current[leaf] = [*existing, value] if isinstance(existing, list) else [existing, value]
    else:
        current[leaf] = value


def _child(current: Any, segment: str, following: str, *, is_leaf_next: bool) -> Any:
    empty: Any = [] if following == "" else {}
    if isinstance(current, list):
        # `a[][id]=1&a[][id]=2`: a key the last element already has starts a new element.
        last = current[-1] if current else None
        if not isinstance(last, dict) or (is_leaf_next and following in last):
            current.append(empty)
        return current[-1]
    if not isinstance(current.get(segment), (dict, list)):
        current[segment] = empty
    return current[segment]


def _lists_from_indices(value: Any) -> Any:
    """`{"0": a, "1": b}` (from `x[0]`, `x[1]`) becomes `[a, b]`."""
    if isinstance(value, list):
        return [_lists_from_indices(item) for item in value]
    if not isinstance(value, dict):
        return value
    converted = {key: _lists_from_indices(item) for key, item in value.items()}
    # "²" passes `isdigit` but not `int`: only ASCII digits are indices.
    if converted and all(key.isascii() and key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted
