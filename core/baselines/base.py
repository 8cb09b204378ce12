"""The one interface every classical codec implements, and the colour conversion they share."""

from __future__ import annotations

import numpy as np

from ..errors import WcsError
from ..images import as_rgb8


class CodecUnavailableError(WcsError):
    """The codec's library or command-line tool is not installed here; the message says how to get it."""


class ClassicalCodec:
    """A classical codec behind one interface.

    ``quality`` is an integer on the codec's own scale (``quality_range`` = lo, hi, step).
    ``higher_is_better`` tells the direction: JPEG quality rises with rate, a QP falls.
    ``encode`` returns exactly the bytes a user would store (the real byte count).
    """

    name = ""
    label = ""
    quality_range: tuple[int, int, int] = (0, 100, 1)
    higher_is_better = True
    default_sweep: list[int] = []
    setting_name = "quality"  # what the quality number is called in tables ("quality", "qp", ...)

    def available(self) -> tuple[bool, str]:
        return True, ""

    def check(self) -> None:
        ok, why = self.available()
        if not ok:
            raise CodecUnavailableError(f"{self.label} is unavailable: {why}")

    def check_quality(self, quality) -> int:
        lo, hi, _ = self.quality_range
        q = int(quality)
        if q != quality or not lo <= q <= hi:
            raise WcsError(f"{self.label}: {self.setting_name} must be an integer in [{lo}, {hi}], got {quality}")
        return q

    def encode(self, rgb, quality) -> bytes:
        self.check()
        return self._encode(as_rgb8(rgb), self.check_quality(quality))

    def decode(self, data: bytes) -> np.ndarray:
        self.check()
        try:
            out = self._decode(bytes(data))
        except WcsError:
            raise
        except Exception as exc:  # library errors become one clear line
            raise WcsError(f"{self.label}: cannot decode ({exc})") from None
        return as_rgb8(out)

    def describe(self, quality) -> dict:
        """Settings recorded next to results (so a table says exactly what was run)."""
        return {"codec": self.name, self.setting_name: int(quality)}

    def _encode(self, rgb: np.ndarray, quality: int) -> bytes:  # pragma: no cover - abstract
        raise NotImplementedError

    def _decode(self, data: bytes) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


# Full-range BT.709 YCbCr, as CompressAI's VTM/HM wrappers convert (compressai.transforms.functional).
KR, KB = 0.2126, 0.0722
KG = 1.0 - KR - KB
MATRIX_NAME = "BT.709 full range"


def rgb_to_ycbcr(rgb: np.ndarray, bitdepth: int = 8) -> np.ndarray:
    """uint8 RGB -> integer YCbCr planes (3, H, W) at ``bitdepth`` bits, full range."""
    x = rgb.astype(np.float64) / 255.0
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    y = KR * r + KG * g + KB * b
    cb = (b - y) / (2 * (1 - KB)) + 0.5
    cr = (r - y) / (2 * (1 - KR)) + 0.5
    peak = (1 << bitdepth) - 1
    planes = np.stack([y, cb, cr]) * peak
    dtype = np.uint8 if bitdepth <= 8 else np.uint16
    return np.clip(np.rint(planes), 0, peak).astype(dtype)


def ycbcr_to_rgb(planes: np.ndarray, bitdepth: int = 8) -> np.ndarray:
    """Inverse of rgb_to_ycbcr: (3, H, W) integer planes -> uint8 RGB HxWx3."""
    peak = (1 << bitdepth) - 1
    y, cb, cr = (planes.astype(np.float64) / peak)
    cb, cr = cb - 0.5, cr - 0.5
    r = y + 2 * (1 - KR) * cr
    b = y + 2 * (1 - KB) * cb
    g = (y - KR * r - KB * b) / KG
    rgb = np.stack([r, g, b], axis=-1) * 255.0
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
