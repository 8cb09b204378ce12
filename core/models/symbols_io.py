"""The two directions of symbol coding behind one interface.

The band loops (Phase 5 groups, Phase 4 raster) are written once and run with an encoder or a
decoder, so both compute the entropy parameters with exactly the same operations: that is
what makes the decoder's reconstruction equal the encoder's bit for bit.
"""

from __future__ import annotations

import torch

from ..errors import TruncatedError
from .coding import LatentCrc, StreamDecoder, StreamEncoder, SymbolTables, decode_symbols, encode_symbols


class SymbolEncoder:
    def __init__(self, tables: SymbolTables):
        self.tables = tables
        self.streams: list[bytes] = []
        self.crc = LatentCrc()
        self._stream = None

    def group(self, u: torch.Tensor, mu: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        """Code every symbol of one checkerboard group in one call; returns the symbols."""
        sym = torch.round(u - mu)
        values = sym.int().reshape(-1).cpu().tolist()
        self.streams.append(encode_symbols(self.tables, values, self.tables.indexes(scale)))
        self.crc.update(values)
        return sym

    def begin_stream(self) -> None:
        self._stream = StreamEncoder(self.tables)

    def position(self, u: torch.Tensor, mu: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        sym = torch.round(u - mu)
        values = sym.int().reshape(-1).cpu().tolist()
        self._stream.add(values, self.tables.indexes(scale))
        self.crc.update(values)
        return sym

    def end_stream(self) -> int | None:
        self.streams.append(self._stream.finish())
        self._stream = None
        return len(self.streams[-1])

    def last_nbytes(self) -> int:
        return len(self.streams[-1])


class SymbolDecoder:
    def __init__(self, tables: SymbolTables, streams: list[bytes]):
        self.tables = tables
        self._streams = list(streams)
        self._next = 0
        self.crc = LatentCrc()
        self._stream = None

    def _take_stream(self) -> bytes:
        if self._next >= len(self._streams):
            raise TruncatedError("the file has fewer streams than its variant needs")
        data = self._streams[self._next]
        self._next += 1
        return data

    def group(self, u, mu: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        values = decode_symbols(self.tables, self._take_stream(), self.tables.indexes(scale))
        self.crc.update(values)
        return torch.tensor(values, dtype=mu.dtype).view(mu.shape).to(mu.device)

    def begin_stream(self) -> None:
        self._stream = StreamDecoder(self.tables, self._take_stream())

    def position(self, u, mu: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        values = self._stream.take(self.tables.indexes(scale))
        self.crc.update(values)
        return torch.tensor(values, dtype=mu.dtype).view(mu.shape).to(mu.device)

    def end_stream(self) -> None:
        self._stream = None

    def last_nbytes(self) -> int:
        return len(self._streams[self._next - 1])
