"""numpy RGB <-> Qt images, and the heat-map colour scale (display helpers only)."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage, QPixmap

# A perceptually ordered dark-to-bright scale (black, purple, red, orange, pale yellow):
# small errors stay dark so the eye goes to where the codec lost detail.
_STOPS = [(0.0, (0, 0, 4)), (0.25, (87, 16, 110)), (0.5, (188, 55, 84)), (0.75, (249, 142, 9)), (1.0, (252, 255, 164))]


def _lut() -> np.ndarray:
    x = np.linspace(0, 1, 256)
    pos = [s[0] for s in _STOPS]
    return np.stack([np.interp(x, pos, [s[1][c] for s in _STOPS]) for c in range(3)], axis=1).astype(np.uint8)


HEAT_LUT = _lut()


def to_qimage(rgb: np.ndarray) -> QImage:
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w = rgb.shape[:2]
    if rgb.ndim == 2:
        rgb = np.ascontiguousarray(np.repeat(rgb[:, :, None], 3, axis=2))
    return QImage(rgb.data, w, h, 3 * w, QImage.Format_RGB888).copy()  # copy: own the pixels


def to_pixmap(rgb: np.ndarray) -> QPixmap:
    return QPixmap.fromImage(to_qimage(rgb))


def from_qimage(img: QImage) -> np.ndarray:
    img = img.convertToFormat(QImage.Format_RGB888)
    w, h, bpl = img.width(), img.height(), img.bytesPerLine()
    arr = np.frombuffer(img.constBits(), dtype=np.uint8, count=bpl * h).reshape(h, bpl)
    # Always copy: the converted QImage dies on return, and when a row has no padding
    # (3 * w == bpl) ascontiguousarray would hand back a view of its freed pixels.
    return arr[:, : 3 * w].reshape(h, w, 3).copy()


def heat_rgb(err: np.ndarray, full_scale: float = 32.0) -> np.ndarray:
    """Error map (HxW, levels) to colours: 0 is black, ``full_scale`` and above the brightest."""
    idx = np.clip(err * (255.0 / max(full_scale, 1e-6)), 0, 255).astype(np.uint8)
    return HEAT_LUT[idx]
