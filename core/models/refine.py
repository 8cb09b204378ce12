"""Encoder-side latent refinement: spend encode time to save bits, with the decoder unchanged.

The analysis transform g_a is trained to be good on average, not best for each image. Given the
image, the encoder can instead search for the latent that minimises this image's own
rate-distortion loss, rate + lambda * 255^2 * MSE (Campos et al., "Content adaptive optimization
for neural image compression", CVPRW 2019; Yang et al., NeurIPS 2020). The decoder needs nothing
new: it decodes whatever latent was coded, so refined files are ordinary .wcs files.

The loss here is the one the coder really pays, not a training proxy: latents rounded as the coder
rounds them (straight-through gradients), the rate from the same Gaussian and factorized
likelihoods whose tables the rANS coder uses, and the distortion of the clamped picture over the
image's own pixels (not the padding). The search runs Adam in quantization-bin units, one variable
per wavelet band scaled by its gain, so one step size suits every lambda. The best iterate is kept,
and iterate 0 is g_a's own latent: a refined encode is never worse by this loss than a plain one.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable

import torch

from ..errors import WcsError
from ..nn.dwt import haar_dwt, haar_idwt
from .wavelet_codec import ste_round

#: Adam step in quantization bins, decaying to a tenth by the last step (cosine). Tuned on dev crops:
#: 0.01 and above overshoot (the best iterate is then one of the first few).
DEFAULT_LR = 0.003


#: Memory a refinement step holds per megapixel of (padded) image, for its gradients: measured on
#: the shipped phase5 on CPU, 1.66 GB at 1024 x 1024 (0.76 GB of it the plain encoder's).
BYTES_PER_PIXEL = 1700


def available_memory() -> int | None:
    """Bytes of memory free for this process now (Linux), or None where it cannot be read."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def check_memory(height: int, width: int, available: int | None = None) -> None:
    """Refuse, with the figures, a refinement that would not fit in memory (rather than swap or be killed)."""
    need = height * width * BYTES_PER_PIXEL
    free = available_memory() if available is None else available
    if free is not None and need > free:
        raise WcsError(
            f"refining this {height * width / 1e6:.1f}-megapixel image needs about {need / 1e9:.1f} GB of memory "
            f"(its gradients), more than the {free / 1e9:.1f} GB free; encode it without refinement, or crop it")


def rd_terms(model, y: torch.Tensor, x: torch.Tensor, lam: float, height: int, width: int):
    """(bits per pixel, MSE) of coding latent ``y`` for image ``x`` (padded; real size height x width)."""
    eb = model.entropy_bottleneck
    z = model.h_a(y)
    medians = eb._get_medians()
    z_hat = ste_round(z - medians) + medians
    c = z_hat.shape[1]
    z_lik = eb._likelihood(z_hat.permute(1, 0, 2, 3).reshape(c, 1, -1))[0]
    bits = -torch.log2(eb.likelihood_lower_bound(z_lik)).sum()
    gc = model.gaussian_conditional
    bands = model.train_bands(y, model.h_s(z_hat), model.adaptive_quant(lam))
    for _, yhat_b, scale, mean, g in bands:
        # The likelihood of the rounded values themselves (the coder's), so the rate has straight-through
        # gradients too; CompressAI's forward would round again, without them.
        lik = gc._likelihood(yhat_b * g, scale * g, means=mean * g)
        bits = bits - torch.log2(gc.likelihood_lower_bound(lik)).sum()
    x_hat = model.synthesize(haar_idwt(*(yhat_b for _, yhat_b, *_ in bands))).clamp(0, 1)
    mse = (x_hat - x)[..., :height, :width].pow(2).mean()
    return bits / (height * width), mse


def refine_latent(model, x: torch.Tensor, lam: float, steps: int, height: int, width: int,
                  lr: float = DEFAULT_LR, check: Callable[[], None] | None = None,
                  on_iteration: Callable[[int, float], None] | None = None) -> tuple[torch.Tensor, dict]:
    """The latent of lowest rate-distortion loss found in ``steps`` Adam steps from g_a(x).

    Returns (latent, stats); stats has the loss of g_a's latent, the best loss and its step.
    ``check`` is called before every step (it raises to cancel); ``on_iteration(i, loss)`` reports.
    """
    with torch.no_grad():
        y0 = model.analyse_channels_last(x)
        gains = model.adaptive_quant(lam)
    g = [gains[b].view(1, -1, 1, 1) for b in range(4)]
    # One variable per band, in bin units: a step of 1 moves a latent by one quantization bin.
    v = [(yb * gb).detach().requires_grad_(True) for yb, gb in zip(haar_dwt(y0), g)]
    opt = torch.optim.Adam(v, lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(steps, 1), eta_min=lr / 10)
    best_loss, best_y, best_step, first = math.inf, y0, 0, None
    for i in range(steps + 1):
        if check is not None:
            check()
        with torch.enable_grad():
            y = haar_idwt(*(vb / gb for vb, gb in zip(v, g)))
            bpp, mse = rd_terms(model, y, x, lam, height, width)
            loss = bpp + lam * 255**2 * mse
        value = loss.item()
        if i == 0:
            first = value
        if on_iteration is not None:
            on_iteration(i, value)
        if value < best_loss:  # iterate 0 keeps g_a's exact latent (no DWT round-off)
            best_loss, best_y, best_step = value, (y0 if i == 0 else y.detach()), i
        if i == steps:
            break
        grads = torch.autograd.grad(loss, v)  # the model's own weights get no gradients
        for var, grad in zip(v, grads):
            var.grad = grad
        opt.step()
        sched.step()
    return best_y, {"steps": steps, "loss_start": first, "loss_best": best_loss, "best_step": best_step}
