"""WeConv (WeConvene, ECCV 2024): convolutions in the wavelet domain of a feature map."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .dwt import haar_dwt, haar_idwt
from .inference import derived, inference_only

#: HAAR[k, s]: band k (LL, LH, HL, HH) of a 2x2 block from its sample s (row-major), as in haar_dwt.
#: Symmetric and its own inverse, so it also gives sample s from the bands.
HAAR = torch.tensor([[1, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]], dtype=torch.float64) / 2


class WeConv(nn.Module):
    """Haar DWT of the features, convolutions across the four sub-bands, inverse DWT, residual.

    The standard block mixes the bands with a 1x1 convolution and filters each band with a
    grouped 3x3; the simple block (``simple=True``) keeps only a depthwise 3x3 and a 1x1, for
    speed. Working at half resolution on 4C channels gives a 2x larger receptive field per conv.
    """

    def __init__(self, channels: int, simple: bool = False):
        super().__init__()
        c4 = 4 * channels
        if simple:
            self.body = nn.Sequential(
                nn.Conv2d(c4, c4, 3, padding=1, groups=c4),
                nn.GELU(),
                nn.Conv2d(c4, c4, 1),
            )
        else:
            self.body = nn.Sequential(
                nn.Conv2d(c4, c4, 1),
                nn.GELU(),
                nn.Conv2d(c4, c4, 3, padding=1, groups=4),
                nn.GELU(),
                nn.Conv2d(c4, c4, 1),
            )
        self._cache: tuple | None = None  # the folded weights (inference), with the key they were made for

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if inference_only(self, x):
            return self._folded_forward(x)
        bands = torch.cat(haar_dwt(x), dim=1)
        out = self.body(bands)
        return x + haar_idwt(*out.chunk(4, dim=1))

    def _folded_forward(self, x: torch.Tensor) -> torch.Tensor:
        """The same function with the DWT folded into the first convolution and the inverse DWT into
        the last, on ``pixel_unshuffle``'d features: no band tensors to slice, concatenate and
        interleave, which took much of the block's time (the folded block takes 35-65 % of it on CPU, less
        with one thread than with two: ``benchmarks/bench_synthesis.py``)."""
        first, middle, last = derived(self, x, lambda: self._fold(x.dtype))
        out = F.conv2d(F.pixel_unshuffle(x, 2), *first)
        for layer in middle:
            out = layer(out)
        return x + F.pixel_shuffle(F.conv2d(out, *last), 2)

    def _fold(self, dtype: torch.dtype):
        """Weights on pixel_unshuffle's channel order (channel c's sample s at 4c+s) instead of the
        bands' (band k of channel c at kC+c)."""
        body = list(self.body)
        first, middle, last = body[0], body[1:-1], body[-1]
        c = first.in_channels // 4
        h = HAAR.to(first.weight.dtype)
        kk = first.weight.shape[-2:]
        if first.groups == first.in_channels:  # depthwise: per channel, 4 samples -> 4 bands
            w = torch.einsum("kcij,ks->cksij", first.weight.reshape(4, c, *kk), h)
            w1, b1, groups = w.reshape(4 * c, 4, *kk), first.bias.reshape(4, c).t().reshape(-1), c
            order = torch.arange(4 * c).reshape(4, c).t().reshape(-1)  # its outputs: band k of c at 4c+k
        else:  # dense: mixes every band of every channel
            w = torch.einsum("okcij,ks->ocsij", first.weight.reshape(first.out_channels, 4, c, *kk), h)
            w1, b1, groups, order = w.reshape(first.out_channels, 4 * c, *kk), first.bias, first.groups, None
            if groups != 1:
                raise ValueError("WeConv's first convolution must be dense or depthwise")
        w_last = last.weight[:, :, 0, 0]
        if order is not None:  # the depthwise outputs arrive in the new order (the middle is elementwise)
            if any(isinstance(m, nn.Conv2d) for m in middle):
                raise ValueError("a depthwise first convolution must be followed by elementwise layers only")
            w_last = w_last[:, order]
        w3 = torch.einsum("kco,ks->cso", w_last.reshape(4, c, -1), h).reshape(4 * c, -1, 1, 1)
        b3 = torch.einsum("kc,ks->cs", last.bias.reshape(4, c), h).reshape(-1)
        first_args = (w1.to(dtype), b1.to(dtype), 1, first.padding, 1, groups)
        return first_args, middle, (w3.to(dtype), b3.to(dtype))
