"""A source video whose likeness nobody here can decide: skimage's photograph of a cameraman with
his head painted over in flat grey. The person detector confirms a body; the drawings classifier
calls the doctored picture neither a photograph nor a drawing (about 0.3). A stylised picture of a
real person is what the uncertain band, and an operator's review, is for."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from skimage import data

from troupe.media.encode import VideoSettings, write_mp4

FPS = 24
SECONDS = 3
WIDTH, HEIGHT = 640, 360


def faceless_cameraman() -> np.ndarray:
    """The cameraman (RGB), his head covered by a flat grey ellipse."""
    photo = np.dstack([data.camera()] * 3)
    cv2.ellipse(photo, (212, 135), (75, 80), 0, 0, 360, (200, 200, 200), -1)
    return photo


def write_uncertain_clip(path: Path) -> None:
    """SECONDS of a slow zoom with a sideways drift over the doctored photograph, with a quiet
    tone for sound."""
    photo = faceless_cameraman()
    ph, pw = photo.shape[:2]
    frames = []
    count = FPS * SECONDS
    for index in range(count):
        t = index / (count - 1)
        cw = min(pw, ph * WIDTH / HEIGHT) / (1.0 + 0.15 * t)
        ch = cw * HEIGHT / WIDTH
        cx = np.clip(pw * (0.42 + 0.06 * t), cw / 2, pw - cw / 2)
        cy = np.clip(ph * 0.5, ch / 2, ph - ch / 2)
        x0, y0 = round(cx - cw / 2), round(cy - ch / 2)
        crop = photo[y0 : y0 + round(ch), x0 : x0 + round(cw)]
        frames.append(cv2.resize(crop, (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA))
    t = np.arange(48000 * SECONDS, dtype=np.float32) / 48000
    tone = (0.05 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    write_mp4(path, frames, np.stack([tone, tone]), VideoSettings(WIDTH, HEIGHT, fps=FPS))
