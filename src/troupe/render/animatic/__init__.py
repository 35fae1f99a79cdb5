"""The `animatic` render back end: cut-outs in a procedural scene, on the CPU."""

from troupe.render.animatic.backend import AnimaticBackend

__all__ = ["AnimaticBackend"]
