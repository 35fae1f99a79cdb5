"""Which back end renders which `model`: built once from settings."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from troupe.render.animatic.backend import AnimaticBackend
from troupe.render.backend import Backend
from troupe.settings import Settings


class BackendConfigError(ValueError):
    """A configured back end cannot run; the message tells the operator what to change."""


def _wan_vace(settings: Settings) -> Backend:
    # Imported here: torch and diffusers come with the optional `wan` extra.
    from troupe.render.wan_vace.backend import WanVaceBackend, WanVaceConfig
    from troupe.render.wan_vace.model import ModelUnavailable, Placement, native_format

    try:
        native = native_format(
            settings.wan_vace_model,
            settings.wan_vace_resolution,
            settings.wan_vace_frames,
            settings.wan_vace_fps,
        )
        return WanVaceBackend(
            WanVaceConfig(
                model_dir=settings.wan_vace_model,
                placement=Placement(
                    settings.wan_vace_device, settings.wan_vace_dtype, settings.wan_vace_offload
                ),
                native=native,
                steps=settings.wan_vace_steps,
                guidance=settings.wan_vace_guidance,
                conditioning_scale=settings.wan_vace_conditioning_scale,
                max_references=settings.max_characters_per_video,
            )
        )
    except (ModelUnavailable, ValueError) as error:
        raise BackendConfigError(f"wan-vace: {error}") from error


FACTORIES: dict[str, Callable[[Settings], Backend]] = {
    "animatic": lambda settings: AnimaticBackend(acting=settings.animatic_acting),
    "wan-vace": _wan_vace,
}


def load_backends(settings: Settings, names: Iterable[str] | None = None) -> dict[str, Backend]:
    """One instance of each back end in `names` (default: every one some model routes to); a
    back end that is unknown or cannot run as configured fails the start with
    BackendConfigError."""
    wanted = set(settings.backend_by_model.values() if names is None else names)
    unknown = sorted(wanted - set(FACTORIES))
    if unknown:
        raise BackendConfigError(
            f"TROUPE_MODEL_BACKENDS names unknown back ends {unknown}; known: {sorted(FACTORIES)}"
        )
    return {name: FACTORIES[name](settings) for name in sorted(wanted)}
