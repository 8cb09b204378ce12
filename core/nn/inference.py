"""What the layers with a faster inference path (sub-pixel, lean GDN, folded WeConv) share: when
they may take it, and when weights derived from their parameters must be derived again."""

from __future__ import annotations

from contextlib import contextmanager

import torch
from torch import nn

_fast = True


@contextmanager
def original_paths():
    """Within it, the layers run their original forward at inference too (benchmarks compare)."""
    global _fast
    before, _fast = _fast, False
    try:
        yield
    finally:
        _fast = before


def inference_only(module: nn.Module, x: torch.Tensor) -> bool:
    """True in eval mode when no gradient is wanted: training and the encoder's refinement (which
    backpropagates to the latent) keep the layers' original, autograd-friendly forward."""
    if not _fast or module.training or x.dim() != 4:
        return False
    return not (torch.is_grad_enabled() and (x.requires_grad or any(p.requires_grad for p in module.parameters())))


def derived(module: nn.Module, like: torch.Tensor, make):
    """``make()``'s result (weights derived from the module's parameters for inputs like ``like``),
    made again only when :func:`weights_key` changes; kept in ``module._cache`` as (key, result)."""
    key = weights_key(module, like)
    if module._cache is None or module._cache[0] != key:
        with torch.no_grad():
            module._cache = (key, make())
    return module._cache[1]


def weights_key(module: nn.Module, like: torch.Tensor) -> tuple:
    """Changes whenever a parameter is replaced or written in place (``load_state_dict``, ``.to``), or
    the input's device, dtype or layout changes: a cache of derived weights keyed on it stays true."""
    params = tuple((p.data_ptr(), p._version) for p in module.parameters())
    return params + (like.device, like.dtype, like.is_contiguous(memory_format=torch.channels_last))
