"""The wan-vace back end: Wan2.1-VACE through diffusers (the optional `wan` extra)."""
