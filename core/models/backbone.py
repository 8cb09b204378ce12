"""The shared backbone: transforms, hyperprior, and adaptive quantization (gain units)."""

from __future__ import annotations

import math

import torch
from torch import nn

from .._compat import compressai  # noqa: F401  (CompressAI importable on CPU-only torch)
from compressai.layers import ResidualBlock

from ..nn.gdn import LeanGDN as GDN  # CompressAI's GDN, with a leaner inference path
from ..nn.subpixel import SubpixelConvTranspose2d
from ..nn.weconv import WeConv


def conv(cin, cout, k=5, stride=2):
    return nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2)


def deconv(cin, cout, k=5, stride=2):
    return nn.ConvTranspose2d(cin, cout, k, stride=stride, padding=k // 2, output_padding=stride - 1)


def analysis(N: int, M: int, simple: bool) -> nn.Module:
    """x (3, H, W) -> y (M, H/16, W/16). WeConv only at 1/4 and 1/8: at 1/2 it costs too much."""
    return nn.Sequential(
        conv(3, N), GDN(N),
        conv(N, N), GDN(N), WeConv(N, simple),
        conv(N, N), GDN(N), WeConv(N, simple),
        conv(N, M),
    )


def synthesis(N: int, M: int, simple: bool) -> nn.Module:
    return nn.Sequential(
        deconv(M, N), GDN(N, inverse=True), WeConv(N, simple),
        deconv(N, N), GDN(N, inverse=True), WeConv(N, simple),
        deconv(N, N), GDN(N, inverse=True),
        # Full resolution, 3 channels: at inference a conv + pixel shuffle, far faster on CPU.
        SubpixelConvTranspose2d(N, 3, 5),
    )


def identity_block(N: int) -> nn.Module:
    """CompressAI's residual block with its last convolution zeroed: it starts as the identity, so
    adding it to a trained g_s changes nothing until training uses it."""
    block = ResidualBlock(N, N)
    nn.init.zeros_(block.conv2.weight)
    nn.init.zeros_(block.conv2.bias)
    return block


def hyper_analysis(N: int, M: int) -> nn.Module:
    """y (M, H/16) -> z (N, H/64)."""
    return nn.Sequential(
        conv(M, N, 3, 1), nn.LeakyReLU(inplace=True),
        conv(N, N), nn.LeakyReLU(inplace=True),
        conv(N, N),
    )


def hyper_synthesis(N: int, M: int) -> nn.Module:
    """z_hat (N, H/64) -> per-band features (4M, H/32), at the resolution of the wavelet bands."""
    return nn.Sequential(
        deconv(N, N), nn.LeakyReLU(inplace=True),
        conv(N, 2 * M, 3, 1), nn.LeakyReLU(inplace=True),
        conv(2 * M, 4 * M, 3, 1),
    )


class AdaptiveQuant(nn.Module):
    """Learned quantization steps indexed by lambda (gain units).

    The latent band is multiplied by a gain before rounding and divided after, so a larger gain
    is a finer step and a higher rate. Gains are learned at the training lambdas and
    interpolated geometrically (linear in log lambda) between them, which is what lets one
    checkpoint serve any rate in the range.
    """

    def __init__(self, lambdas, M: int, per_channel: bool):
        super().__init__()
        lam = torch.tensor(lambdas, dtype=torch.float64)
        self.register_buffer("log_lambdas", lam.log().float(), persistent=False)
        shape = (len(lambdas), 4, M) if per_channel else (len(lambdas), 1, 1)
        # Start near the usual rate behaviour: step size shrinks roughly as lambda^-1/2.
        init = 0.5 * (lam / lam[len(lambdas) // 2]).log().float()
        self.log_gain = nn.Parameter(init.view(-1, 1, 1).expand(shape).clone())
        self.M = M

    def check(self, lam: float) -> None:
        lo, hi = math.exp(self.log_lambdas[0].item()), math.exp(self.log_lambdas[-1].item())
        if not (lo * (1 - 1e-6) <= lam <= hi * (1 + 1e-6)):
            raise ValueError(f"lambda {lam:g} is outside the trained range [{lo:g}, {hi:g}]")

    def forward(self, lam: float) -> torch.Tensor:
        """Gains of shape (4, M) for the four bands at this lambda."""
        self.check(lam)
        ll = self.log_lambdas
        x = torch.tensor(math.log(lam), dtype=ll.dtype, device=ll.device).clamp(ll[0], ll[-1])
        i = int(torch.searchsorted(ll, x, right=True).clamp(1, len(ll) - 1)) - 1
        t = ((x - ll[i]) / (ll[i + 1] - ll[i])).clamp(0, 1)
        log_gain = torch.lerp(self.log_gain[i], self.log_gain[i + 1], t)
        return log_gain.exp().expand(4, self.M)
