"""Which back end renders which `model`: built once from settings."""

from __future__ import annotations

from collections.abc import Callable

from troupe.render.animatic.backend import AnimaticBackend
from troupe.render.backend import Backend

FACTORIES: dict[str, Callable[[], Backend]] = {"animatic": AnimaticBackend}


def load_backends(backend_by_model: dict[str, str]) -> dict[str, Backend]:
    """One instance of every back end some model routes to; unknown names fail at start-up."""
    unknown = sorted(set(backend_by_model.values()) - set(FACTORIES))
    if unknown:
        raise ValueError(
            f"TROUPE_MODEL_BACKENDS names unknown back ends {unknown}; known: {sorted(FACTORIES)}"
        )
    return {name: FACTORIES[name]() for name in sorted(set(backend_by_model.values()))}
