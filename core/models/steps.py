"""Timing, trace events and cancellation for one encode or decode call."""

from __future__ import annotations

import time
from collections import defaultdict
from contextlib import contextmanager

import torch

from ..errors import CancelledError
from ..results import TraceStep


class StepRecorder:
    def __init__(self, on_step=None, cancel=None, device: str | torch.device = "cpu"):
        self.on_step = on_step
        self.cancel = cancel
        self.cuda = torch.device(device).type == "cuda"
        self.trace: list[TraceStep] = []
        self.timings: dict[str, float] = defaultdict(float)  # milliseconds

    def sync(self) -> None:
        if self.cuda:  # GPU work is asynchronous: time it only once it has finished
            torch.cuda.synchronize()

    @contextmanager
    def timed(self, key: str):
        self.sync()
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.sync()
            self.timings[key] += (time.perf_counter() - t0) * 1e3

    def check_cancel(self) -> None:
        if self.cancel is not None and self.cancel():
            raise CancelledError("cancelled by the user")

    def step(self, stage, ms, band=None, group=None, row=None, positions=0, nbytes=None, grid=None):
        s = TraceStep(len(self.trace), stage, band, group, row, positions, nbytes, ms, grid)
        self.trace.append(s)
        if self.on_step is not None:
            self.on_step(s)
        self.check_cancel()
