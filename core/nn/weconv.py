"""WeConv (WeConvene, ECCV 2024): convolutions in the wavelet domain of a feature map."""

from __future__ import annotations

import torch
from torch import nn

from .dwt import haar_dwt, haar_idwt


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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bands = torch.cat(haar_dwt(x), dim=1)
        out = self.body(bands)
        return x + haar_idwt(*out.chunk(4, dim=1))
