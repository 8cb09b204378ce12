"""Result objects that flow from core to the app and CLI (plain data, no torch)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

BANDS = ("LL", "LH", "HL", "HH")


@dataclass(frozen=True)
class TraceStep:
    """One step of the decoder (or encoder), reported as it happens.

    stage: "hyper" (z stream + hyper synthesis), "latent" (one band/group or one raster row),
    or "synthesis" (inverse DWT + g_s). For "latent" steps of Phase 5, ``group`` is 1..G and
    the coded positions are those of ``core.nn.masks.group_index_map``; for Phase 4, ``row``
    is the raster row and every position of that row was coded, left to right.
    """

    index: int
    stage: str
    band: str | None
    group: int | None
    row: int | None
    positions: int  # latent positions coded in this step (each carries M channels)
    nbytes: int | None  # bytes of the stream this step consumed, when it is one whole stream
    ms: float
    grid: tuple[int, int] | None = None  # (rows, cols) of the band's latent grid


@dataclass
class EncodeResult:
    data: bytes
    recon: np.ndarray  # HxWx3 uint8, the encoder's own reconstruction (== what decode returns)
    width: int
    height: int
    variant: str
    lam: float
    timings: dict[str, float]  # milliseconds: analysis, hyper, context_net, entropy, synthesis, total (+ refine)
    trace: list[TraceStep] = field(default_factory=list)
    streams: list[tuple[str, int]] = field(default_factory=list)  # (name, bytes) per stream
    # With a refined encode: steps, loss_start (g_a's latent), loss_best and best_step.
    refined: dict | None = None

    @property
    def nbytes(self) -> int:
        return len(self.data)

    @property
    def bpp(self) -> float:
        return 8.0 * len(self.data) / (self.width * self.height)


@dataclass
class DecodeResult:
    image: np.ndarray  # HxWx3 uint8
    width: int
    height: int
    variant: str
    lam: float
    timings: dict[str, float]
    trace: list[TraceStep] = field(default_factory=list)
