"""Metrics: PSNR, SSIM/MS-SSIM (with the small-image fallback), error maps, Bjontegaard deltas."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pytorch_msssim import ms_ssim as lib_ms_ssim

from core import metrics
from core.errors import WcsError
from core.metrics import (CurvesDontOverlapError, bd_psnr, bd_rate, error_map, ms_ssim, ms_ssim_scales, psnr,
                          psnr_y, ssim)
from tests.helpers import sample_crop


def _img(h=48, w=64, seed=0):
    return sample_crop(h, w, top=100 + seed)


def _noisy(img, sigma, seed=1):
    rng = np.random.default_rng(seed)
    return np.clip(img + rng.normal(0, sigma, img.shape), 0, 255).astype(np.uint8)


def test_psnr_known_values():
    a = np.full((8, 8, 3), 100, np.uint8)
    assert psnr(a, a) == math.inf
    assert psnr(a, a + 1) == pytest.approx(10 * math.log10(255**2), abs=1e-9)  # MSE 1 -> 48.13 dB
    b = a.copy()
    b[..., 0] += 3  # only red differs by 3: RGB MSE 3, luma MSE (0.2126*3)^2
    assert psnr(a, b) == pytest.approx(10 * math.log10(255**2 / 3))
    assert psnr_y(a, b) == pytest.approx(10 * math.log10(255**2 / (0.2126 * 3) ** 2))
    with pytest.raises(WcsError):
        psnr(a, a[:4])


def test_ssim_and_ms_ssim_order_and_identity():
    img = _img()
    assert ssim(img, img) == pytest.approx(1.0, abs=1e-6)
    assert ms_ssim(img, img) == pytest.approx(1.0, abs=1e-6)
    light, heavy = _noisy(img, 4), _noisy(img, 20)
    assert 1 > ms_ssim(img, light) > ms_ssim(img, heavy) > 0
    assert 1 > ssim(img, light) > ssim(img, heavy)


def test_ms_ssim_scales_follow_size():
    assert ms_ssim_scales(161, 500) == 5
    assert ms_ssim_scales(160, 500) == 4
    assert ms_ssim_scales(48, 64) == 3
    assert ms_ssim_scales(12, 64) == 1


def test_ms_ssim_fallback_loop_matches_library_at_five_scales():
    """The fewer-scales loop is pytorch-msssim's own; at 5 scales it must equal the library."""
    a = np.ascontiguousarray(_img(176, 176))
    b = _noisy(a, 10)
    X, Y = metrics._t(a), metrics._t(b)
    ours = metrics._ms_ssim_scales(X, Y, 5)
    assert ours == pytest.approx(float(lib_ms_ssim(X, Y, data_range=255.0)), abs=1e-6)
    assert ms_ssim(a, b) == pytest.approx(ours, abs=1e-6)


def test_small_image_ms_ssim_uses_three_scales():
    a = _img()
    b = _noisy(a, 10)
    three = metrics._ms_ssim_scales(metrics._t(a), metrics._t(b), 3)
    assert ms_ssim(a, b) == pytest.approx(three)
    assert ms_ssim(a, b) != pytest.approx(ssim(a, b), abs=1e-4)


def test_error_maps():
    a = _img()
    b = a.copy()
    b[10:20, 30:40] = np.clip(b[10:20, 30:40].astype(int) + 40, 0, 255).astype(np.uint8)
    m = error_map(a, b, "abs")
    assert m.shape == a.shape[:2] and m.dtype == np.float32
    np.testing.assert_allclose(m, np.abs(a.astype(np.float32) - b).mean(2))
    s = error_map(a, _noisy(a, 15), "ssim")
    assert s.shape == a.shape[:2] and s.dtype == np.float32
    assert np.abs(error_map(a, a, "ssim")).max() < 1e-4
    local = error_map(a, np.where(np.arange(64)[None, :, None] < 32, a, _noisy(a, 30)), "ssim")
    assert local[:, 40:].mean() > 5 * local[:, :20].mean()  # the noisy half lights up
    with pytest.raises(WcsError):
        error_map(a, b, "nope")


# ---- Bjontegaard ----------------------------------------------------------------------------

R = [0.1, 0.25, 0.5, 1.0, 2.0]
D = [27.0, 29.5, 32.0, 35.0, 38.5]


def test_bd_rate_of_curve_against_itself_is_zero():
    assert bd_rate(R, D, R, D) == pytest.approx(0.0, abs=1e-9)
    assert bd_psnr(R, D, R, D) == pytest.approx(0.0, abs=1e-9)


def test_bd_rate_ten_percent_fewer_bits():
    assert bd_rate(R, D, [0.9 * r for r in R], D) == pytest.approx(-10.0, abs=1e-6)
    assert bd_rate(R, D, [1.25 * r for r in R], D) == pytest.approx(25.0, abs=1e-6)
    assert bd_psnr(R, D, R, [d + 0.5 for d in D]) == pytest.approx(0.5, abs=1e-9)
    # order of the points does not matter
    assert bd_rate(R[::-1], D[::-1], [0.9 * r for r in R], D) == pytest.approx(-10.0, abs=1e-6)


@pytest.mark.parametrize("anchor,test,rate,psnr_", [
    # FAU-LMS "bjontegaard" package examples (libx265 presets); reference values from that package's
    # PCHIP method, which its authors verified against JVET's CTC Excel sheet to 10 decimals.
    (([9487.76, 4593.60, 2486.44, 1358.24], [40.037, 38.615, 36.845, 34.851]),
     ([9787.80, 4469.00, 2451.52, 1356.24], [40.121, 38.651, 36.970, 34.987]), -4.417485350589045, 0.11969278542479489),
    (([82472.76, 26875.24, 9487.76, 4593.6], [43.825, 41.404, 40.037, 38.615]),
     ([99896.96, 33952.04, 9787.8, 4469.0], [44.731, 41.875, 40.121, 38.651]), -4.47218200276197, 0.08887484704747745),
    # The classic VCEG-M33 worked example (its cubic-fit BD-rate is 31.397 %; PCHIP gives 31.380 %).
    (([686.76, 309.58, 157.11, 85.95], [40.28, 37.18, 34.24, 31.42]),
     ([893.34, 407.8, 204.93, 112.75], [40.39, 37.21, 34.17, 31.24]), 31.379878202397627, -1.183472404622454),
])
def test_bd_matches_published_worked_examples(anchor, test, rate, psnr_):
    assert bd_rate(*anchor, *test) == pytest.approx(rate, abs=1e-8)
    assert bd_psnr(*anchor, *test) == pytest.approx(psnr_, abs=1e-8)


def test_bd_errors_are_clear():
    with pytest.raises(CurvesDontOverlapError, match="do not overlap"):
        bd_rate(R, D, R, [d + 20 for d in D])
    with pytest.raises(CurvesDontOverlapError):
        bd_psnr(R, D, [r * 100 for r in R], D)
    with pytest.raises(WcsError, match="at least 2"):
        bd_rate([1.0], [30.0], R, D)
    with pytest.raises(WcsError, match="rise strictly"):
        bd_rate(R, [27, 29, 28, 35, 38], R, D)
    with pytest.raises(WcsError, match="positive"):
        bd_rate([0.0, 1.0], [30, 31], R, D)


def test_core_modules_never_import_qt():
    import subprocess
    import sys

    code = ("import sys, core.metrics, core.baselines, core.bench; "
            "sys.exit(any(m.split('.')[0] in ('PySide6', 'PyQt5', 'PyQt6', 'pyqtgraph') for m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
