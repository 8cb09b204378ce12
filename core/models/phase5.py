"""Phase 5: checkerboard groups inside each band.

Group k's entropy parameters come from the band with every position of groups < k filled in
and the rest zero (plus the mask), so one network pass per (band, group) serves every
position of the group in every channel.
"""

from __future__ import annotations

import time

import torch

from ..nn.masks import group_masks
from .steps import StepRecorder


def _masks(model, h: int, w: int, device):
    masks = group_masks(model.cfg.groups, h, w, device)
    decoded = [torch.zeros_like(masks[0])]
    for m in masks[:-1]:
        decoded.append(decoded[-1] + m)
    return masks, decoded


def train_band(model, b: int, feats: torch.Tensor, yb: torch.Tensor, g: torch.Tensor):
    """Training pass: the same group recursion as the coder, with straight-through rounding."""
    from .wavelet_codec import ste_round

    masks, decoded = _masks(model, yb.shape[-2], yb.shape[-1], yb.device)
    yhat = torch.zeros_like(yb)
    scale = torch.zeros_like(yb)
    mean = torch.zeros_like(yb)
    for mask, done in zip(masks, decoded):
        s, m = model.params(b, feats, model.context(b, yhat * done, done))
        scale = scale + s * mask
        mean = mean + m * mask
        u_hat = ste_round(yb * g - m * g) + m * g
        yhat = yhat + (u_hat / g) * mask
    return yhat, scale, mean


def _first_group_context(model, b: int, h: int, w: int, done: torch.Tensor) -> torch.Tensor:
    """Group 1 sees an empty band, so its context depends only on the band and the grid size:
    computed once per model and size (the encoder and decoder both take it from here)."""
    key = (b, h, w, str(done.device))
    ctx = model.context_cache.get(key)
    if ctx is None:
        ctx = model.context_cache[key] = model.context(b, torch.zeros(1, model.cfg.M, h, w, device=done.device), done)
    return ctx


def code_band(model, b: int, name: str, feats, yb, g, io, rec: StepRecorder) -> torch.Tensor:
    """Encode (``yb`` given) or decode (``yb`` None) one band, group by group."""
    _, M, h, w = feats.shape
    masks, decoded = _masks(model, h, w, feats.device)
    gain = g.view(M, 1)
    yhat = torch.zeros(1, M, h * w, device=feats.device)
    source = None if yb is None else yb.reshape(M, h * w)
    for k, (mask, done) in enumerate(zip(masks, decoded), start=1):
        t0 = time.perf_counter()
        with rec.timed("context_net"):
            ctx = _first_group_context(model, b, h, w, done) if k == 1 else model.context(b, yhat.view(1, M, h, w), done)
            idx = mask.reshape(-1).nonzero().squeeze(1)
            # The parameter network is pointwise: run it on this group's positions only.
            picked = torch.cat((feats, ctx), dim=1).reshape(1, 2 * M, h * w)[:, :, idx, None]
            scale, mean = model.param_net[b](picked).chunk(2, dim=1)
            mu = mean.reshape(M, -1) * gain
            sc = scale.reshape(M, -1) * gain
        with rec.timed("entropy"):
            u = None if source is None else source[:, idx] * gain
            sym = io.group(u, mu, sc)
        yhat[0, :, idx] = (sym + mu) / gain
        rec.sync()
        rec.step(
            "latent", (time.perf_counter() - t0) * 1e3, band=name, group=k,
            positions=int(idx.numel()), nbytes=io.last_nbytes(), grid=(h, w),
        )
    return yhat.view(1, M, h, w)
