"""Spatial context networks.

Phase 5 networks take the band decoded so far (zeros where not yet decoded) plus the mask as
an extra channel, so they are causal by construction: nothing they compute can depend on a
position that is not yet decoded. Phase 4 uses a raster-masked convolution instead.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .attention import SpatialAttention
from .masks import raster_mask


def _act():
    return nn.LeakyReLU(0.1, inplace=True)


class CheckerboardContext(nn.Module):
    """The He et al. (2021) checkerboard context: one 5x5 convolution over the masked band."""

    def __init__(self, channels: int, out_channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels + 1, out_channels, 5, padding=2)

    def forward(self, masked: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.conv(torch.cat((masked, mask.expand(masked.shape[0], -1, -1, -1)), dim=1))


class EnhancedContextNetwork(nn.Module):
    """Spatial attention -> 5-layer CNN -> residual -> output features (standard), or a
    2-conv network without attention (``lightweight=True``)."""

    def __init__(self, channels: int, out_channels: int, hidden: int, lightweight: bool = False):
        super().__init__()
        self.lightweight = lightweight
        cin = channels + 1
        if lightweight:
            self.attention = None
            self.head = nn.Sequential(nn.Conv2d(cin, hidden, 5, padding=2), _act())
            self.body = nn.Sequential(nn.Conv2d(hidden, hidden, 3, padding=1), _act())
        else:
            self.attention = SpatialAttention()
            self.head = nn.Sequential(nn.Conv2d(cin, hidden, 5, padding=2), _act())
            layers = []
            for _ in range(4):
                layers += [nn.Conv2d(hidden, hidden, 3, padding=1), _act()]
            self.body = nn.Sequential(*layers)
        self.tail = nn.Conv2d(hidden, out_channels, 1)

    def forward(self, masked: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = torch.cat((masked, mask.expand(masked.shape[0], -1, -1, -1)), dim=1)
        if self.attention is not None:
            x = self.attention(x)
        h = self.head(x)
        return self.tail(h + self.body(h))


class MultiResolutionContextBuilder(nn.Module):
    """Decoded-so-far band and mask at 1x, 2x and 4x down, a small CNN at each, upsampled, fused.

    Average pooling of a masked band mixes decoded values with zeros, and the mask channel tells
    the network how many of each window were decoded; both depend on decoded positions only.
    """

    def __init__(self, channels: int, out_channels: int, hidden: int, scales=(1, 2, 4)):
        super().__init__()
        self.scales = tuple(scales)
        self.branches = nn.ModuleList(
            nn.Sequential(nn.Conv2d(channels + 1, hidden, 3, padding=1), _act(), nn.Conv2d(hidden, hidden, 3, padding=1))
            for _ in self.scales
        )
        self.fuse = nn.Sequential(_act(), nn.Conv2d(hidden * len(self.scales), out_channels, 1))

    def forward(self, masked: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = torch.cat((masked, mask.expand(masked.shape[0], -1, -1, -1)), dim=1)
        size = x.shape[-2:]
        outs = []
        for s, branch in zip(self.scales, self.branches):
            xs = x if s == 1 else F.avg_pool2d(x, s, ceil_mode=True)
            y = branch(xs)
            outs.append(y if s == 1 else F.interpolate(y, size=size, mode="nearest"))
        return self.fuse(torch.cat(outs, dim=1))


class RasterMaskedConv2d(nn.Conv2d):
    """Phase 4's causal convolution: sees only positions before the centre in raster order."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 5):
        super().__init__(in_channels, out_channels, kernel_size, padding=kernel_size // 2)
        self.register_buffer("mask", raster_mask(kernel_size)[None, None], persistent=False)

    def masked_weight(self) -> torch.Tensor:
        return self.weight * self.mask

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.masked_weight(), self.bias, padding=self.padding)

    def at(self, padded: torch.Tensor, i: int, j: int) -> torch.Tensor:
        """Output at one position from the zero-padded input (what a serial decoder needs)."""
        k = self.kernel_size[0]
        patch = padded[:, :, i : i + k, j : j + k]
        return F.conv2d(patch, self.masked_weight(), self.bias)
