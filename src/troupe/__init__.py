"""troupe: a self-hosted server for character-consistent video."""

from troupe.client import Client, TroupeAPIError

__version__ = "0.1.0"
__all__ = ["Client", "TroupeAPIError", "__version__"]
