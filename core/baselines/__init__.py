"""Classical codecs behind one interface (see base.ClassicalCodec), and a registry by name."""

from __future__ import annotations

from ..errors import WcsError
from .base import ClassicalCodec, CodecUnavailableError
from .hevc import Hevc
from .pillow_codecs import Avif, Heic, Jpeg, Jpeg444, Jpeg2000, JpegXL, WebP
from .targeting import match_bpp
from .vvc import Vvc, configure

__all__ = ["ClassicalCodec", "CodecUnavailableError", "all_codecs", "get_codec", "match_bpp", "configure",
           "available_codecs"]

_CLASSES = (Jpeg, Jpeg444, WebP, Avif, Heic, JpegXL, Hevc, Vvc, Jpeg2000)
NAMES = tuple(c.name for c in _CLASSES)


def all_codecs() -> list[ClassicalCodec]:
    """Every classical codec we know, available here or not (ask each with .available())."""
    return [c() for c in _CLASSES]


def available_codecs() -> list[ClassicalCodec]:
    return [c for c in all_codecs() if c.available()[0]]


def get_codec(name: str) -> ClassicalCodec:
    for c in _CLASSES:
        if c.name == name:
            return c()
    raise WcsError(f"unknown codec {name!r}; choose one of {', '.join(NAMES)}")
