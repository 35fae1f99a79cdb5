"""troupe: a self-hosted server for character-consistent video."""

__version__ = "0.1.0"
