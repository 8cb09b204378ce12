"""CompressAI's GDN with a leaner inference path.

GDN is y = x * sqrt(beta + gamma @ x^2) (inverse) or x / sqrt(...) per pixel. CompressAI computes it
with four full-size temporaries; at g_s's half resolution (64 channels, a quarter of the picture's
pixels) allocating them can cost as much as the arithmetic. For channels-last input (the codec's layout)
the 1x1 convolution is one matrix product over the pixels, and the square root and the product are done
in place: the same numbers with two temporaries fewer. What that saves varies with the machine and the
thread count (``benchmarks/bench_synthesis.py`` prints it per layer): from nothing to a quarter of the
layer's time with two threads here, and g_s's speed-up fell from about 1.25x to 1.11x without it.
Training keeps CompressAI's forward; the parameters and state dict are CompressAI's.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .._compat import compressai  # noqa: F401  (CompressAI importable on CPU-only torch)
from compressai.layers import GDN

from .inference import inference_only


class LeanGDN(GDN):
    """``compressai.layers.GDN`` whose inference (no gradient needed) avoids the temporaries."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not inference_only(self, x):
            return super().forward(x)
        n, c, h, w = x.shape
        beta = self.beta_reparam(self.beta)
        gamma = self.gamma_reparam(self.gamma)
        if x.is_contiguous(memory_format=torch.channels_last):
            pixels = x.permute(0, 2, 3, 1).reshape(-1, c)  # a view: rows are pixels
            norm = torch.addmm(beta, pixels * pixels, gamma.t())
            out = norm.sqrt_() if self.inverse else norm.rsqrt_()
            out.mul_(pixels)
            return out.reshape(n, h, w, c).permute(0, 3, 1, 2)  # channels-last again
        norm = F.conv2d(x * x, gamma.reshape(c, c, 1, 1), beta)
        out = norm.sqrt_() if self.inverse else norm.rsqrt_()
        return out.mul_(x)
