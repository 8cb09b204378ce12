"""benchmarks/kodak_progress.py: what a reship gained, from the manifest, and the transforms' ceiling."""

import importlib.util
import json
import math

import numpy as np
from PIL import Image

from core.codec import load_codec
from core.metrics import psnr
from tests.helpers import ROOT, sample_crop

spec = importlib.util.spec_from_file_location("kodak_progress", ROOT / "benchmarks" / "kodak_progress.py")
progress = importlib.util.module_from_spec(spec)
spec.loader.exec_module(progress)

LAMS = [0.0025, 0.0035, 0.0067, 0.013, 0.025, 0.05]
OLD_BPP = [0.30, 0.35, 0.47, 0.60, 0.75, 0.91]
OLD_PSNR = [28.8, 29.5, 30.7, 31.8, 32.6, 33.2]


def entry(bpp_scale: float, psnr_shift: float = 0.0) -> dict:
    """A manifest entry whose new curve is the old one with fewer bits (scale < 1) or more dB."""
    return {"model_id": "wcs-phase5-test",
            "kodak_previous": {"lambda": LAMS, "bpp": OLD_BPP, "psnr-rgb": OLD_PSNR},
            "kodak": {"lambda": LAMS, "bpp": [b * bpp_scale for b in OLD_BPP],
                      "psnr-rgb": [p + psnr_shift for p in OLD_PSNR]}}


def test_against_previous_measures_the_saving():
    rate, gain = progress.against_previous(entry(0.99))
    assert abs(rate - -1.0) < 0.05  # 1 % fewer bits at every PSNR
    assert gain > 0
    rate, gain = progress.against_previous(entry(1.0, psnr_shift=-0.05))
    assert rate > 0 and abs(gain - -0.05) < 1e-6  # worse weights read as worse


def test_same_rate_gain_per_lambda():
    rows = progress.same_rate(entry(1.0, psnr_shift=0.02))
    assert [r[0] for r in rows] == LAMS
    assert all(abs(r[5] - 0.02) < 1e-9 for r in rows)  # same rates: the gain is the shift
    rows = progress.same_rate(entry(0.98))
    # The lowest new rate is below the old curve's lowest point: no same-rate figure there.
    assert math.isnan(rows[0][5]) and all(r[5] > 0 for r in rows[1:])
    assert rows[0][3] == OLD_BPP[0] and rows[0][4] == OLD_PSNR[0]


def test_report_lists_each_variant_and_marks_missing_figures():
    models = {"phase5": entry(0.98), "phase4": entry(1.01), "phase5-2g": {"model_id": "x"}}
    text = progress.report(models, "phase5", {"shipped: x": 34.1234})
    assert "| phase5 | wcs-phase5-test | -" in text and "| phase4 | wcs-phase5-test | +" in text
    assert "phase5-2g" not in text  # no Kodak figures to compare
    assert "| 0.0025 | 0.2940 / 28.800 dB | 0.3000 / 28.800 dB | – dB |" in text
    assert "34.123 dB" in text


def test_ceiling_is_above_what_the_codec_delivers(tmp_path):
    """No quantization is the transforms' best: above the real bitstream's picture at the highest λ."""
    crops = [sample_crop(48, 80), sample_crop(64, 64, top=300, left=40)]
    paths = []
    for i, crop in enumerate(crops):
        paths.append(tmp_path / f"c{i}.png")
        Image.fromarray(crop).save(paths[-1])
    codec = load_codec("phase5")
    ceiling = progress.transform_ceiling(codec.model, paths)
    coded = np.mean([psnr(c, codec.encode(c, lam=0.05).recon) for c in crops])
    assert coded < ceiling < 60


def test_main_writes_the_report_from_a_weights_folder(tmp_path):
    folder = tmp_path / "weights"
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps({"format": 1, "models": {"phase5": entry(0.99)}}))
    out = tmp_path / "progress.md"
    assert progress.main(["--weights", str(folder), "--out", str(out)]) == 0
    assert "| phase5 | wcs-phase5-test | -1.0" in out.read_text()
