"""`troupe backend`: tools for the render back ends."""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
def backend() -> None:
    """Render back ends: build a tiny model to try one without real weights."""


@backend.command("make-tiny")
@click.argument("name", type=click.Choice(["wan-vace"]))
@click.argument("dest", type=click.Path(path_type=Path, file_okay=False))
@click.option("--seed", default=0, show_default=True, type=int)
def make_tiny(name: str, dest: Path, seed: int) -> None:
    """Write a tiny random-weight model for back end NAME to DEST, in the real layout.

    It renders noise, fast, even on a CPU: Wan's clips (81 frames at 16 fps) at the small size
    it declares (80x48), scaled to the request. For tests and smoke checks of a server's set-up
    (TROUPE_WAN_VACE_MODEL=DEST and nothing else), not for pictures."""
    from troupe.render.wan_vace.model import ModelUnavailable, check_libraries

    try:
        check_libraries()
    except ModelUnavailable as error:
        raise click.ClickException(str(error)) from error
    from troupe.render.wan_vace.tiny import NATIVE_RESOLUTION
    from troupe.render.wan_vace.tiny import make_tiny as write_tiny

    write_tiny(dest, seed)
    click.echo(
        f"troupe: a tiny {name} model is in {dest.resolve()}; it makes clips at "
        f"{NATIVE_RESOLUTION}, scaled to each request (TROUPE_WAN_VACE_MODEL={dest.resolve()})"
    )
