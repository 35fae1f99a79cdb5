"""troupe: a self-hosted server for character-consistent video."""

from troupe.client import AsyncClient, Client, RetryPolicy, TroupeAPIError

__version__ = "0.1.0"
__all__ = ["AsyncClient", "Client", "RetryPolicy", "TroupeAPIError", "__version__"]
