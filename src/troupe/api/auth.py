"""Bearer API keys: each key belongs to one owner; every row a request touches is the owner's.

The one exception is `public_character`: what anyone may read without a key. A stored key may
also carry rights (`Rights`): to decide reviews (`--operator`) and to attest (`--may-attest`).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException

from troupe.api.services import Services
from troupe.errors import TroupeError
from troupe.store import repo
from troupe.store.tables import Character

# With no key configured anywhere the server is a single-user local install.
OPEN_MODE_OWNER = "local"
# Owns nothing: no key, env or stored, ever maps to an empty owner.
NO_OWNER = ""


# How long a stored key's verdict is reused: a key revoked (or the first key created, ending
# open mode) takes effect within this long, and a client polling in a loop costs no query.
KEY_CACHE_SECONDS = 1.0
# Unknown tokens are remembered too (a client retrying a wrong key); past this many entries the
# cache starts over rather than grow without bound.
KEY_CACHE_MAX_ENTRIES = 10_000


class KeyCache:
    """What the database said about a key's digest (its owner, or None) and whether any stored
    key exists, each for `ttl` seconds. One per app; keys are held only as SHA-256 digests."""

    def __init__(self, ttl: float = KEY_CACHE_SECONDS, clock: Callable[[], float] = time.monotonic):
        self.ttl = ttl
        self.clock = clock
        self._owners: dict[str, tuple[float, str | None]] = {}
        self._keys_exist: tuple[float, bool] | None = None
        self._lock = threading.Lock()

    def owner(self, digest: str) -> tuple[bool, str | None]:
        """(known, owner): known is False when the database must be asked."""
        entry = self._owners.get(digest)
        if entry is None or self.clock() - entry[0] > self.ttl:
            return False, None
        return True, entry[1]

    def keys_exist(self) -> bool | None:
        entry = self._keys_exist
        if entry is None or self.clock() - entry[0] > self.ttl:
            return None
        return entry[1]

    def remember(self, digest: str | None, owner: str | None, keys_exist: bool | None) -> None:
        now = self.clock()
        with self._lock:
            if digest is not None:
                if len(self._owners) >= KEY_CACHE_MAX_ENTRIES:
                    self._owners.clear()
                self._owners[digest] = (now, owner)
            if keys_exist is not None:
                self._keys_exist = (now, keys_exist)


def key_cache_of(request: Request) -> KeyCache:
    cache = getattr(request.app.state, "key_cache", None)
    if cache is None:
        cache = request.app.state.key_cache = KeyCache()
    return cache  # type: ignore[no-any-return]


def env_key_owner(key: str) -> str:
    return "env_" + hashlib.sha256(key.encode()).hexdigest()[:16]


def bearer_token(request: Request) -> str | None:
    return bearer_token_of(request.headers.get("authorization", ""))


def bearer_token_of(header: str) -> str | None:
    """The token of an `Authorization: Bearer …` header value."""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def authenticate(request: Request) -> str:
    """The owner behind the request's key; raises `invalid_api_key` when there is none."""
    owner = owner_without_database(request)
    return owner if owner is not None else _authenticate_from_database(request)


async def authenticated_owner(request: Request) -> str:
    """`authenticate` as an async dependency: answered on the event loop when the key is an
    environment key or its verdict is cached, and in a thread only when the database is asked."""
    owner = owner_without_database(request)
    if owner is not None:
        return owner
    return await run_in_threadpool(_authenticate_from_database, request)


def owner_without_database(request: Request) -> str | None:
    """The owner when no query is needed (raises when the cache says the key is refused);
    None when the database must be asked."""
    services: Services = request.app.state.services
    token = bearer_token(request)
    if token is not None and token in services.settings.api_keys:
        return env_key_owner(token)
    cache = key_cache_of(request)
    if token is not None:
        known, owner = cache.owner(repo.hash_key(token))
        if not known:
            return None
        if owner is not None:
            return owner
    keys_exist = cache.keys_exist()
    if keys_exist is None:
        return None
    return _owner_or_refusal(token, bool(services.settings.api_keys) or keys_exist)


def _authenticate_from_database(request: Request) -> str:
    services: Services = request.app.state.services
    token = bearer_token(request)
    digest = repo.hash_key(token) if token is not None else None
    owner = None
    with services.db.transaction() as session:
        if token is not None:
            owner = repo.owner_of_key(session, token)
        stored_keys = None if owner else repo.any_api_keys(session)
    key_cache_of(request).remember(digest, owner, stored_keys)
    if owner:
        return owner
    return _owner_or_refusal(token, bool(services.settings.api_keys) or bool(stored_keys))


def _owner_or_refusal(token: str | None, keys_exist: bool) -> str:
    if not keys_exist:
        return OPEN_MODE_OWNER
    if token is None:
        raise TroupeError(
            "invalid_api_key", "missing API key: send the header 'Authorization: Bearer KEY'"
        )
    raise TroupeError("invalid_api_key", "incorrect API key provided")


def public_character(session: Session, ref: str) -> Character | None:
    """A live character its owner made public, by id or username: readable without any key.

    Private, deleted and unknown characters are all None alike, so a keyless caller cannot
    tell a private username from a free one.
    """
    row = repo.get_usable_character(session, NO_OWNER, ref)
    return row if row is not None and row.visibility == "public" else None


@dataclass(frozen=True)
class Rights:
    """What the key behind a request may do besides using its owner's things."""

    owner: str
    operator: bool  # list, look at and decide reviews of every owner's doubtful characters
    may_attest: bool  # vouch that an uncertain subject is an original character
    name: str  # who, as a decision records it


def rights_of(request: Request) -> Rights:
    """The rights of the request's key, read from the database (operators' calls and
    attestations are rare, so they are never cached: a revoked right ends at once).

    Keys of `TROUPE_API_KEYS` carry none. On a server without any key the local user is the
    operator and may attest: there is nobody else.
    """
    services: Services = request.app.state.services
    token = bearer_token(request)
    if token is not None and token in services.settings.api_keys:
        return Rights(env_key_owner(token), False, False, env_key_owner(token))
    with services.db.transaction() as session:
        row = repo.api_key_of(session, token) if token is not None else None
        keys_exist = row is not None or repo.any_api_keys(session)
    if row is not None:
        return Rights(row.owner, row.operator, row.may_attest, f"{row.owner} ({row.id})")
    owner = _owner_or_refusal(token, bool(services.settings.api_keys) or keys_exist)
    return Rights(owner, True, True, owner)


async def operator_name(request: Request) -> str:
    """Who the operator behind the request is. Anyone else is answered exactly as a route that
    does not exist is (404), so the operator API tells nothing of itself or of any owner."""
    await authenticated_owner(request)  # a missing or wrong key is 401, as everywhere
    rights = await run_in_threadpool(rights_of, request)
    if not rights.operator:
        raise HTTPException(404, "Not Found")
    return rights.name
