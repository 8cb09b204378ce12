"""benchmarks/cross_device.py: the report that the GPU checks rely on (run here on the CPU only)."""

import importlib.util

import numpy as np
from PIL import Image

from tests.helpers import ROOT, sample_crop


def _script():
    spec = importlib.util.spec_from_file_location("cross_device", ROOT / "benchmarks" / "cross_device.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_compare_says_exact_or_how_far_off():
    cd = _script()
    a = np.zeros((4, 5, 3), np.uint8)
    assert cd._compare(a, a.copy()) == "exact"
    b = a.copy()
    b[0, 0, 0] = 255  # uint8 arithmetic would wrap; the report must not
    b[1, 1, 1] = 1
    assert cd._compare(a, b) == "latent exact, picture differs by at most 255 in 3.333 % of samples"


def test_same_device_round_trip_is_exact(tmp_path, capsys):
    img = tmp_path / "crop.png"
    Image.fromarray(sample_crop(64, 64)).save(img)
    assert _script().main(["--image", str(img), "--lambdas", "0.013", "--variants", "phase5", "--devices", "cpu"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("phase5 λ0.013 cpu->cpu: exact (")
