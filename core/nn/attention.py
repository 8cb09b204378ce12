"""Attention blocks used by the entropy model."""

from __future__ import annotations

import torch
from torch import nn


class SpatialAttention(nn.Module):
    """CBAM-style spatial attention: a 7x7 conv over channel mean and max gives a [0, 1] map.

    Applied to an already masked input it stays causal: it only sees what was decoded.
    """

    def __init__(self, kernel_size: int = 7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        stats = torch.cat((x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)), dim=1)
        return x * torch.sigmoid(self.conv(stats))


class FrequencyAttentionFusion(nn.Module):
    """Multi-head attention across frequency tokens at each latent position.

    At every position the query is the band's own hyperprior feature; the keys and values are
    that feature and the decoded-LL context feature. The band thus learns, per position and per
    head, how much to trust the hyperprior versus the structure visible in the low band.
    """

    def __init__(self, channels: int, heads: int = 4):
        super().__init__()
        if channels % heads:
            raise ValueError(f"attention heads ({heads}) must divide the channels ({channels})")
        self.heads = heads
        self.q = nn.Conv2d(channels, channels, 1)
        self.kv = nn.Conv2d(channels, 2 * channels, 1)
        self.out = nn.Conv2d(channels, channels, 1)

    def forward(self, hyper: torch.Tensor, *contexts: torch.Tensor) -> torch.Tensor:
        b, c, h, w = hyper.shape
        d = c // self.heads
        tokens = (hyper,) + contexts
        q = self.q(hyper).view(b, self.heads, d, 1, h, w)
        k, v = zip(*(self.kv(t).chunk(2, dim=1) for t in tokens))
        k = torch.stack(k, dim=2).view(b, self.heads, d, len(tokens), h, w)
        v = torch.stack(v, dim=2).view(b, self.heads, d, len(tokens), h, w)
        attn = torch.softmax((q * k).sum(dim=2, keepdim=True) / d**0.5, dim=3)
        fused = (attn * v).sum(dim=3).reshape(b, c, h, w)
        return hyper + self.out(fused)


class ChannelGate(nn.Module):
    """Squeeze-and-excitation gate: global statistics rescale each channel."""

    def __init__(self, channels: int, reduction: int = 4):
        super().__init__()
        hidden = max(channels // reduction, 4)
        self.fc = nn.Sequential(
            nn.Conv2d(channels, hidden, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(self.fc(x.mean(dim=(2, 3), keepdim=True)))
