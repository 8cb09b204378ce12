"""Image quality (PSNR, SSIM, MS-SSIM, error maps) and Bjontegaard deltas between RD curves.

All image functions take RGB uint8 HxWx3 arrays (8-bit peak 255).

MS-SSIM uses pytorch-msssim with its defaults (11-tap Gaussian, sigma 1.5, five scales with the
Wang et al. weights). Five scales need a short side of at least 161 px; for smaller images we use
as many scales as fit (the first weights, renormalised to sum to 1) and, below 2 scales, plain SSIM.
``ms_ssim_scales(h, w)`` says how many scales a size gets, so callers can flag such values.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from pytorch_msssim import ms_ssim as _ms_ssim_lib
from pytorch_msssim import ssim as _ssim_lib
from pytorch_msssim.ssim import _fspecial_gauss_1d, _ssim

from .errors import WcsError

WIN, SIGMA = 11, 1.5
MS_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
LUMA = (0.2126, 0.7152, 0.0722)  # BT.709, the matrix our HEVC/VVC adapters use


class CurvesDontOverlapError(WcsError):
    """Two RD curves share no quality (or rate) interval, so a Bjontegaard delta is undefined."""


def _pair(a, b) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.ndim != 3 or a.shape[2] != 3:
        raise WcsError(f"images must be the same HxWx3 size, got {a.shape} and {b.shape}")
    return a, b


def _psnr_from_mse(mse: float) -> float:
    return math.inf if mse == 0 else 10.0 * math.log10(255.0**2 / mse)


def psnr(a, b) -> float:
    """PSNR over all RGB samples, 8-bit peak; inf when identical."""
    a, b = _pair(a, b)
    return _psnr_from_mse(float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)))


def luma(rgb) -> np.ndarray:
    return np.asarray(rgb, dtype=np.float64) @ np.array(LUMA)


def psnr_y(a, b) -> float:
    """PSNR of BT.709 luma (full range, unrounded), 8-bit peak."""
    a, b = _pair(a, b)
    return _psnr_from_mse(float(np.mean((luma(a) - luma(b)) ** 2)))


def _t(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(x, dtype=np.float32)).permute(2, 0, 1)[None]


def ssim(a, b) -> float:
    a, b = _pair(a, b)
    return float(_ssim_lib(_t(a), _t(b), data_range=255.0, size_average=True))


def ms_ssim_scales(h: int, w: int) -> int:
    """Scales MS-SSIM uses for an image of this size (5 when the short side is >= 161 px)."""
    side, n = min(h, w), 5
    while n > 1 and side <= (WIN - 1) * 2 ** (n - 1):
        n -= 1
    return n


def ms_ssim(a, b) -> float:
    a, b = _pair(a, b)
    n = ms_ssim_scales(*a.shape[:2])
    if n == 5:
        return float(_ms_ssim_lib(_t(a), _t(b), data_range=255.0, size_average=True))
    if n == 1:
        return ssim(a, b)
    return _ms_ssim_scales(_t(a), _t(b), n)


def _ms_ssim_scales(X: torch.Tensor, Y: torch.Tensor, n: int) -> float:
    """pytorch-msssim's own loop with ``n`` scales (it asserts five scales' worth of image size)."""
    weights = torch.tensor(MS_WEIGHTS[:n], dtype=X.dtype)
    if n < 5:  # the five published weights are used as they are (they sum to 1.0001)
        weights = weights / weights.sum()
    win = _fspecial_gauss_1d(WIN, SIGMA).repeat([X.shape[1], 1, 1, 1])
    mcs = []
    for i in range(n):
        s, cs = _ssim(X, Y, win=win, data_range=255.0, size_average=False)
        if i < n - 1:
            mcs.append(torch.relu(cs))
            pad = [d % 2 for d in X.shape[2:]]
            X, Y = F.avg_pool2d(X, 2, padding=pad), F.avg_pool2d(Y, 2, padding=pad)
    stack = torch.stack(mcs + [torch.relu(s)], dim=0)
    return float(torch.prod(stack ** weights.view(-1, 1, 1), dim=0).mean())


def error_map(a, b, kind: str = "abs") -> np.ndarray:
    """Per-pixel error, float32 HxW, for a heat map.

    ``abs``: mean absolute difference over R, G, B (0..255). ``ssim``: 1 - local SSIM (0 = identical),
    averaged over channels, with the same 11-tap Gaussian window, reflect-padded to keep HxW.
    """
    a, b = _pair(a, b)
    if kind == "abs":
        return np.abs(a.astype(np.float32) - b.astype(np.float32)).mean(axis=2)
    if kind != "ssim":
        raise WcsError(f"error map kind must be 'abs' or 'ssim', not {kind!r}")
    X, Y = _t(a), _t(b)
    g = _fspecial_gauss_1d(WIN, SIGMA).flatten()
    r = WIN // 2

    def blur(z):
        mode = "reflect" if min(z.shape[2:]) > r else "replicate"
        z = F.pad(z, (r, r, r, r), mode=mode)
        z = F.conv2d(z, g.view(1, 1, 1, -1).repeat(3, 1, 1, 1), groups=3)
        return F.conv2d(z, g.view(1, 1, -1, 1).repeat(3, 1, 1, 1), groups=3)

    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mx, my = blur(X), blur(Y)
    sxx, syy, sxy = blur(X * X) - mx**2, blur(Y * Y) - my**2, blur(X * Y) - mx * my
    s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx**2 + my**2 + c1) * (sxx + syy + c2))
    return (1.0 - s[0].mean(0)).clamp(min=0).numpy().astype(np.float32)


# ---- Bjontegaard deltas ---------------------------------------------------------------------

def _curve(rate, dist, what: str) -> tuple[np.ndarray, np.ndarray]:
    r, d = np.asarray(rate, dtype=np.float64).ravel(), np.asarray(dist, dtype=np.float64).ravel()
    if r.size != d.size:
        raise WcsError(f"{what} curve: {r.size} rates but {d.size} quality values")
    if r.size < 2:
        raise WcsError(f"{what} curve: need at least 2 points, got {r.size}")
    if not (np.all(np.isfinite(r)) and np.all(np.isfinite(d)) and np.all(r > 0)):
        raise WcsError(f"{what} curve: rates must be positive and all values finite")
    order = np.argsort(r)
    r, d = r[order], d[order]
    if np.any(np.diff(r) <= 0) or np.any(np.diff(d) <= 0):
        raise WcsError(f"{what} curve: quality must rise strictly with rate (got rates {r.tolist()}, "
                       f"quality {d.tolist()})")
    return np.log10(r), d


def _bd(x_a, y_a, x_b, y_b, axis: str) -> float:
    from scipy.interpolate import PchipInterpolator

    lo, hi = max(x_a.min(), x_b.min()), min(x_a.max(), x_b.max())
    if not hi > lo:
        raise CurvesDontOverlapError(
            f"the curves do not overlap in {axis}: anchor spans {x_a.min():.4g}..{x_a.max():.4g}, "
            f"test spans {x_b.min():.4g}..{x_b.max():.4g}; add settings so their ranges meet")
    ia = PchipInterpolator(x_a, y_a).integrate(lo, hi)
    ib = PchipInterpolator(x_b, y_b).integrate(lo, hi)
    return float((ib - ia) / (hi - lo))


def bd_rate(rate_anchor, dist_anchor, rate_test, dist_test) -> float:
    """Bjontegaard delta rate in percent (negative = the test codec needs fewer bits).

    Piecewise cubic Hermite (PCHIP) interpolation of log10(rate) over quality, integrated over the
    overlapping quality interval: the method of the JCT-VC/JVET common-test-conditions sheets.
    """
    la, da = _curve(rate_anchor, dist_anchor, "anchor")
    lt, dt = _curve(rate_test, dist_test, "test")
    avg = _bd(da, la, dt, lt, "quality")
    return float((10.0**avg - 1.0) * 100.0)


def bd_psnr(rate_anchor, dist_anchor, rate_test, dist_test) -> float:
    """Bjontegaard delta quality (dB for PSNR; positive = the test codec is better), PCHIP."""
    la, da = _curve(rate_anchor, dist_anchor, "anchor")
    lt, dt = _curve(rate_test, dist_test, "test")
    return _bd(la, da, lt, dt, "log rate")


def ms_ssim_db(value: float) -> float:
    """MS-SSIM on the dB scale papers plot and BD-rate over: -10 log10(1 - MS-SSIM)."""
    return math.inf if value >= 1 else -10.0 * math.log10(1.0 - value)
