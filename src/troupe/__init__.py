"""troupe: a self-hosted server for character-consistent video."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from troupe.client import AsyncClient, Client, RetryPolicy, TroupeAPIError

__version__ = "0.1.0"
__all__ = ["AsyncClient", "Client", "RetryPolicy", "TroupeAPIError", "__version__"]
_CLIENT = {"AsyncClient", "Client", "RetryPolicy", "TroupeAPIError"}


def __getattr__(name: str) -> Any:
    # The client (and httpx) loads on first use: every server process imports this package,
    # and answers requests without either.
    if name in _CLIENT:
        from troupe import client

        return getattr(client, name)
    raise AttributeError(f"module 'troupe' has no attribute {name!r}")
