"""Wavelet Codec Studio: the Qt desktop application (widgets and worker threads; no codec logic).

Everything the app computes comes from ``core``; heavy ``core`` modules (torch) are imported lazily,
inside worker threads, so the window is up before PyTorch has finished loading.
"""

from pathlib import Path

from core import product

from . import qtfix

qtfix.apply()  # before any widget paints: see qtfix (PySide6 6.12.0 drops references to None)

APP_NAME = product.DISPLAY_NAME  # name, version and icon come from pyproject.toml (core/product.py)
ORG_NAME = "WaveletCodecStudio"
ROOT = Path(__file__).resolve().parent.parent
SAMPLE_IMAGE = ROOT / "resources" / "sample" / "kodim23.png"
ICON = product.ICON


def version() -> str:
    try:
        from core import __version__

        return __version__
    except Exception:  # pragma: no cover - a broken install still starts
        return "0.0.0"
