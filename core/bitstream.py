"""The .wcs container.

Layout (big-endian):
    magic          4s   b"WCS\\x89"
    version        u8   FORMAT_VERSION
    model_id       u8 length + UTF-8
    weights_sha    8s   first 8 bytes of the weights' sha256
    variant        u8 length + ASCII (e.g. "phase5")
    groups         u8   checkerboard groups (0 for Phase 4's raster scan)
    context        u8   index into CONTEXT_CODES
    lambda         f64
    width, height  u32, u32   original image size
    pad_w, pad_h   u16, u16   replicate padding added on the right and bottom
    latent_crc     u32  CRC32 of every coded symbol (the decoder's latent check)
    n_streams      u16
    lengths        n_streams x u32
    payloads       the z stream, then one stream per (band, group) (Phase 4: per band)
    crc32          u32  over every byte before it
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

from .errors import BitstreamError, CrcMismatchError, TruncatedError, UnknownVersionError, WrongMagicError

MAGIC = b"WCS\x89"
FORMAT_VERSION = 1
CONTEXT_CODES = ("standard", "light", "off", "raster")
MAX_SIDE = 1 << 20


@dataclass
class Header:
    model_id: str
    weights_sha: bytes
    variant: str
    groups: int
    context: str
    lam: float
    width: int
    height: int
    pad_w: int
    pad_h: int
    latent_crc: int
    streams: list[bytes] = field(default_factory=list)

    @property
    def padded_size(self) -> tuple[int, int]:
        return self.height + self.pad_h, self.width + self.pad_w


def pack(h: Header) -> bytes:
    model_id = h.model_id.encode("utf-8")
    variant = h.variant.encode("ascii")
    if len(model_id) > 255 or len(variant) > 255:
        raise ValueError("model id and variant names must be under 256 bytes")
    if len(h.weights_sha) != 8:
        raise ValueError("weights_sha must be 8 bytes")
    parts = [
        MAGIC,
        struct.pack(">B", FORMAT_VERSION),
        struct.pack(">B", len(model_id)), model_id,
        h.weights_sha,
        struct.pack(">B", len(variant)), variant,
        struct.pack(">BBd", h.groups, CONTEXT_CODES.index(h.context), h.lam),
        struct.pack(">IIHHI", h.width, h.height, h.pad_w, h.pad_h, h.latent_crc),
        struct.pack(">H", len(h.streams)),
        b"".join(struct.pack(">I", len(s)) for s in h.streams),
        *h.streams,
    ]
    body = b"".join(parts)
    return body + struct.pack(">I", zlib.crc32(body))


class _Reader:
    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def take(self, n: int, what: str) -> bytes:
        if self.pos + n > len(self.data):
            raise TruncatedError(f"truncated file: it ends inside the {what} (at byte {len(self.data)})")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str, what: str):
        return struct.unpack(fmt, self.take(struct.calcsize(fmt), what))


def unpack(data: bytes) -> Header:
    """Parse and check a .wcs file; raise a BitstreamError subclass with a one-line reason."""
    data = bytes(data)
    if len(data) == 0:
        raise TruncatedError("the file is empty")
    if data[: len(MAGIC)] != MAGIC[: len(data)]:
        raise WrongMagicError("not a Wavelet Codec Studio (.wcs) file: wrong magic bytes")
    r = _Reader(data)
    r.take(len(MAGIC), "magic")
    (version,) = r.unpack(">B", "format version")
    if version != FORMAT_VERSION:
        raise UnknownVersionError(
            f"unknown .wcs format version {version}; this build reads version {FORMAT_VERSION} (update the app)"
        )
    (n,) = r.unpack(">B", "header")
    model_id = r.take(n, "header").decode("utf-8", errors="replace")
    weights_sha = r.take(8, "header")
    (n,) = r.unpack(">B", "header")
    variant = r.take(n, "header").decode("ascii", errors="replace")
    groups, ctx, lam = r.unpack(">BBd", "header")
    width, height, pad_w, pad_h, latent_crc = r.unpack(">IIHHI", "header")
    (n_streams,) = r.unpack(">H", "stream table")
    lengths = r.unpack(f">{n_streams}I", "stream table")
    need = r.pos + sum(lengths) + 4
    if len(data) < need:
        raise TruncatedError(f"truncated file: {len(data)} bytes, its header promises {need}")
    if len(data) > need:
        raise CrcMismatchError(f"corrupt file: {len(data) - need} unexpected bytes after the last stream")
    (stored,) = struct.unpack(">I", data[-4:])
    if zlib.crc32(data[:-4]) != stored:
        raise CrcMismatchError("corrupt file: CRC mismatch (the bytes changed after encoding)")
    if ctx >= len(CONTEXT_CODES):
        raise BitstreamError(f"corrupt header: unknown context code {ctx}")
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
        raise BitstreamError(f"corrupt header: image size {width}x{height}")
    streams = [r.take(length, "streams") for length in lengths]
    return Header(model_id, weights_sha, variant, groups, CONTEXT_CODES[ctx], lam, width, height,
                  pad_w, pad_h, latent_crc, streams)
