"""One level of the orthonormal 2-D Haar wavelet transform.

The 2x2 analysis matrix is a Hadamard matrix scaled by 1/2, which is orthogonal, so the
inverse is its transpose: exact up to float rounding, and energy is preserved.
"""

from __future__ import annotations

import torch


def haar_dwt(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(B, C, H, W) with even H, W -> (LL, LH, HL, HH), each (B, C, H/2, W/2)."""
    if x.shape[-1] % 2 or x.shape[-2] % 2:
        raise ValueError(f"Haar DWT needs even height and width, got {tuple(x.shape[-2:])}")
    a = x[..., 0::2, 0::2]
    b = x[..., 0::2, 1::2]
    c = x[..., 1::2, 0::2]
    d = x[..., 1::2, 1::2]
    ll = (a + b + c + d) * 0.5
    lh = (a - b + c - d) * 0.5  # horizontal detail (differences along a row)
    hl = (a + b - c - d) * 0.5  # vertical detail
    hh = (a - b - c + d) * 0.5
    return ll, lh, hl, hh


def haar_idwt(ll: torch.Tensor, lh: torch.Tensor, hl: torch.Tensor, hh: torch.Tensor) -> torch.Tensor:
    """Exact inverse of :func:`haar_dwt`."""
    a = (ll + lh + hl + hh) * 0.5
    b = (ll - lh + hl - hh) * 0.5
    c = (ll + lh - hl - hh) * 0.5
    d = (ll - lh - hl + hh) * 0.5
    top = torch.stack((a, b), dim=-1).flatten(-2)  # interleave columns
    bottom = torch.stack((c, d), dim=-1).flatten(-2)
    return torch.stack((top, bottom), dim=-2).flatten(-3, -2)  # interleave rows
