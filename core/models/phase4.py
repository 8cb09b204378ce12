"""Phase 4: serial raster-scan context inside each band.

The decoder visits one position at a time (all M channels of it together); each visit runs
the causal masked convolution on the 5x5 neighbourhood and the parameter network on that one
position, then decodes its symbols. This is the baseline Phase 5 is measured against.
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F

from .steps import StepRecorder


def train_band(model, b: int, feats: torch.Tensor, yb: torch.Tensor, g: torch.Tensor):
    from .wavelet_codec import ste_round

    # Context sees the rounded latent (as in CompressAI's autoregressive models); the mean is
    # subtracted only for coding, which the decoder can do because it has the mean by then.
    y_ctx = ste_round(yb * g) / g
    scale, mean = model.params(b, feats, model.enhanced_context[b](y_ctx))
    yhat = (ste_round(yb * g - mean * g) + mean * g) / g
    return yhat, scale, mean


def code_band(model, b: int, name: str, feats, yb, g, io, rec: StepRecorder) -> torch.Tensor:
    _, M, h, w = feats.shape
    conv = model.enhanced_context[b]
    k = conv.kernel_size[0]
    p = k // 2
    weight, bias = conv.masked_weight(), conv.bias
    gain = g.view(M)
    padded = torch.zeros(1, M, h + 2 * p, w + 2 * p, device=feats.device)
    io.begin_stream()
    timings = rec.timings
    for i in range(h):
        t_row = time.perf_counter()
        for j in range(w):
            t0 = time.perf_counter()
            ctx = F.conv2d(padded[:, :, i : i + k, j : j + k], weight, bias)
            scale, mean = model.params(b, feats[:, :, i : i + 1, j : j + 1], ctx)
            mu = mean.view(M) * gain
            sc = scale.view(M) * gain
            u = None if yb is None else yb[0, :, i, j] * gain
            t1 = time.perf_counter()
            sym = io.position(u, mu, sc)
            padded[0, :, i + p, j + p] = (sym + mu) / gain
            t2 = time.perf_counter()
            timings["context_net"] += (t1 - t0) * 1e3
            timings["entropy"] += (t2 - t1) * 1e3
        rec.sync()
        rec.step("latent", (time.perf_counter() - t_row) * 1e3, band=name, row=i, positions=w, grid=(h, w))
    io.end_stream()
    return padded[:, :, p : p + h, p : p + w].contiguous()
