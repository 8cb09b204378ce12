"""Import CompressAI on a CPU-only PyTorch.

CompressAI imports torchvision at package import time. The only torchvision wheel on PyPI
that matches torch 2.13 is built against CUDA torch, so its compiled ops fail to load on
the CPU build, and torchvision then dies on two unguarded ``register_fake`` calls for ops
that were never defined. We define just those two schemas (no kernels: we never call them)
so the import succeeds; everything CompressAI needs from torchvision is pure Python.
"""

from __future__ import annotations

import sys

import torch

_FALLBACK_LIB = None


def _define_missing_torchvision_ops() -> None:
    global _FALLBACK_LIB
    if _FALLBACK_LIB is not None:
        return
    lib = torch.library.Library("torchvision", "DEF")
    for name in ("nms", "qnms"):
        lib.define(f"{name}(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    _FALLBACK_LIB = lib  # must stay alive, or the definitions are dropped


def import_compressai():
    """Return the ``compressai`` module, importable on CPU-only torch."""
    try:
        import compressai
    except RuntimeError as exc:
        if "torchvision::" not in str(exc):
            raise
        for name in [m for m in sys.modules if m.startswith(("torchvision", "compressai"))]:
            del sys.modules[name]
        _define_missing_torchvision_ops()
        import compressai
    return compressai


compressai = import_compressai()
