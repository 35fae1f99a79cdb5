"""Bearer API keys: each key belongs to one owner; every row a request touches is the owner's.

The one exception is `public_character`: what anyone may read without a key.
"""

from __future__ import annotations

import hashlib

from fastapi import Request
from sqlalchemy.orm import Session

from troupe.api.services import Services
from troupe.errors import TroupeError
from troupe.store import repo
from troupe.store.tables import Character

# With no key configured anywhere the server is a single-user local install.
OPEN_MODE_OWNER = "local"
# Owns nothing: no key, env or stored, ever maps to an empty owner.
NO_OWNER = ""


def env_key_owner(key: str) -> str:
    return "env_" + hashlib.sha256(key.encode()).hexdigest()[:16]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def authenticate(request: Request) -> str:
    """The owner behind the request's key; raises `invalid_api_key` when there is none."""
    services: Services = request.app.state.services
    token = bearer_token(request)
    if token is not None and token in services.settings.api_keys:
        return env_key_owner(token)
    with services.db.transaction() as session:
        if token is not None and (owner := repo.owner_of_key(session, token)):
            return owner
        keys_exist = bool(services.settings.api_keys) or repo.any_api_keys(session)
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
