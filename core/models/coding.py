"""Symbol coding with CompressAI's rANS coder and Gaussian CDF tables.

CompressAI's own ``GaussianConditional.compress`` converts the whole CDF table to Python lists
on every call; a serial decoder calls it once per position, so we convert once and pass only
the rows a call uses (the coder sees the same CDFs, just fewer of them).
"""

from __future__ import annotations

import zlib

import numpy as np
import torch

from .._compat import compressai  # noqa: F401
from compressai.ans import BufferedRansEncoder, RansDecoder, RansEncoder

#: Zero bytes appended before decoding, so a decoder fed mismatched CDFs reads padding, not
#: memory past the stream, before the latent check reports the mismatch.
_DECODE_PAD = b"\x00" * 64


class SymbolTables:
    def __init__(self, gaussian_conditional):
        gc = gaussian_conditional
        if gc._quantized_cdf.numel() == 0:
            raise RuntimeError("entropy model tables are not built; call model.update() first")
        self.gc = gc
        self.cdf = gc._quantized_cdf.tolist()
        self.lengths = gc._cdf_length.reshape(-1).int().tolist()
        self.offsets = gc._offset.reshape(-1).int().tolist()

    def indexes(self, scales: torch.Tensor) -> list[int]:
        return self.gc.build_indexes(scales).reshape(-1).cpu().tolist()

    def subset(self, indexes: list[int]):
        rows = sorted(set(indexes))
        where = {r: n for n, r in enumerate(rows)}
        return (
            [where[i] for i in indexes],
            [self.cdf[r] for r in rows],
            [self.lengths[r] for r in rows],
            [self.offsets[r] for r in rows],
        )


class LatentCrc:
    """CRC32 of every coded symbol, in coding order: the decoder's check that it decoded what
    the encoder coded (it catches a model or device mismatch that the stream CRC cannot)."""

    def __init__(self):
        self.value = 0

    def update(self, symbols) -> None:
        arr = np.asarray(symbols, dtype="<i4")
        self.value = zlib.crc32(arr.tobytes(), self.value)


def encode_symbols(tables: SymbolTables, symbols: list[int], indexes: list[int]) -> bytes:
    idx, cdf, lengths, offsets = tables.subset(indexes)
    return RansEncoder().encode_with_indexes(symbols, idx, cdf, lengths, offsets)


def decode_symbols(tables: SymbolTables, data: bytes, indexes: list[int]) -> list[int]:
    idx, cdf, lengths, offsets = tables.subset(indexes)
    return RansDecoder().decode_with_indexes(data + _DECODE_PAD, idx, cdf, lengths, offsets)


class StreamEncoder:
    """One rANS stream filled a few symbols at a time (Phase 4: one position per call)."""

    def __init__(self, tables: SymbolTables):
        self.tables = tables
        self.enc = BufferedRansEncoder()

    def add(self, symbols: list[int], indexes: list[int]) -> None:
        idx, cdf, lengths, offsets = self.tables.subset(indexes)
        self.enc.encode_with_indexes(symbols, idx, cdf, lengths, offsets)

    def finish(self) -> bytes:
        return self.enc.flush()


class StreamDecoder:
    def __init__(self, tables: SymbolTables, data: bytes):
        self.tables = tables
        self.dec = RansDecoder()
        self.dec.set_stream(data + _DECODE_PAD)

    def take(self, indexes: list[int]) -> list[int]:
        idx, cdf, lengths, offsets = self.tables.subset(indexes)
        return self.dec.decode_stream(idx, cdf, lengths, offsets)
