"""Wavelet Codec Studio core: the learned codec and everything headless (never imports Qt)."""

from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("wavelet-codec-studio")
except _metadata.PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+src"
