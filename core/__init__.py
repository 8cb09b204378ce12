"""Wavelet Codec Studio core: the learned codec and everything headless (never imports Qt)."""

from .product import VERSION as __version__  # from pyproject.toml (see product.py)
