"""A transposed convolution that, at inference, runs as a convolution followed by a pixel shuffle.

A stride-2 transposed convolution is four ordinary convolutions, one per output phase, interleaved.
With few output channels (g_s's last layer: 64 -> 3 at full resolution) oneDNN's transposed kernel is
slow, and the equivalent 3x3 convolution to 4*C_out channels plus ``pixel_shuffle`` takes a third to
a half of its time on CPU (``benchmarks/bench_synthesis.py``). Training keeps PyTorch's own layer; the state dict
(names, shapes) is that of ``nn.ConvTranspose2d``, so trained weights load unchanged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .inference import derived, inference_only


def subpixel_weights(weight: torch.Tensor, bias: torch.Tensor | None, kernel: int, padding: int):
    """The (4*C_out, C_in, k', k') weight and bias of the convolution that, followed by
    ``pixel_shuffle(2)``, equals ConvTranspose2d(stride=2, kernel, padding, output_padding=1).

    Output row 2i+a takes input row i+d through tap t = a + padding - 2d, so each phase uses the taps
    of one parity. With padding k//2 and k = 4r+1 the offsets d that reach a tap are -r..r for both
    phases: a centred (2r+1)-square convolution (3x3 for k=5)."""
    c_in, c_out = weight.shape[:2]
    r = (kernel - 1) // 4
    size = 2 * r + 1
    out = weight.new_zeros(c_out, 2, 2, c_in, size, size)
    for a in range(2):
        for b in range(2):
            for di in range(size):
                ti = a + padding - 2 * (di - r)
                if not 0 <= ti < kernel:
                    continue
                for dj in range(size):
                    tj = b + padding - 2 * (dj - r)
                    if 0 <= tj < kernel:
                        out[:, a, b, :, di, dj] = weight[:, :, ti, tj].t()
    b4 = None if bias is None else bias.repeat_interleave(4)
    return out.reshape(4 * c_out, c_in, size, size), b4


class SubpixelConvTranspose2d(nn.ConvTranspose2d):
    """``nn.ConvTranspose2d(c_in, c_out, k, stride=2, padding=k//2, output_padding=1)`` (k = 5, 9, ...) whose
    inference runs as conv + pixel_shuffle. That path is taken only in eval mode with no gradient to
    compute (training, and the encoder's refinement, run PyTorch's layer as before)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 5):
        if kernel_size % 4 != 1:  # other kernels need an off-centre convolution
            raise ValueError("SubpixelConvTranspose2d needs a kernel of 4r+1 (5, 9, ...)")
        super().__init__(in_channels, out_channels, kernel_size, stride=2, padding=kernel_size // 2,
                         output_padding=1)
        self._cache: tuple | None = None

    def _subpixel(self, like: torch.Tensor):
        b = self.bias
        cw, cb = subpixel_weights(self.weight.to(like.dtype), None if b is None else b.to(like.dtype),
                                  self.kernel_size[0], self.padding[0])
        if like.is_contiguous(memory_format=torch.channels_last):  # oneDNN's faster kernels want both alike
            cw = cw.contiguous(memory_format=torch.channels_last)
        return cw, cb

    def forward(self, x: torch.Tensor, output_size=None) -> torch.Tensor:
        if output_size is not None or not inference_only(self, x):
            return super().forward(x, output_size)
        cw, cb = derived(self, x, lambda: self._subpixel(x))
        return F.pixel_shuffle(F.conv2d(x, cw, cb, padding=(self.kernel_size[0] - 1) // 4), 2)
