"""Shared helpers for the core tests: small real images and tiny real models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "resources" / "sample" / "kodim23.png"


def sample_crop(h: int, w: int, top: int = 100, left: int = 200) -> np.ndarray:
    img = np.asarray(Image.open(SAMPLE).convert("RGB"))
    return np.ascontiguousarray(img[top : top + h, left : left + w])
