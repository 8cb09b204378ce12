"""The weights we ship: every variant is listed, verified, documented, and round-trips bit for bit."""

import json

import numpy as np
import pytest

from core.codec import decode, load_codec
from core.models import LAMBDAS, VARIANTS
from core.weights import file_sha256
from tests.helpers import ROOT, sample_crop

WEIGHTS = ROOT / "weights"


def manifest() -> dict:
    return json.loads((WEIGHTS / "manifest.json").read_text())


def test_every_variant_is_shipped_with_its_story():
    models = manifest()["models"]
    assert set(models) == set(VARIANTS)
    total = 0
    for variant, entry in models.items():
        path = WEIGHTS / entry["file"]
        assert file_sha256(path) == entry["sha256"], variant
        total += path.stat().st_size
        assert sorted(entry["lambdas"]) == sorted(LAMBDAS)
        training = entry["training"]
        assert training["iterations"] > 0 and training["patch_size"] and training["device"]
        kodak = entry["kodak"]  # real-bitstream figures, written by `core eval --record`
        assert kodak["images"] == 24 and len(kodak["bpp"]) == len(kodak["lambda"]) == 6
        assert all(b > 0 for b in kodak["bpp"]) and kodak["bpp"] == sorted(kodak["bpp"])
        if variant != "phase5":  # fine-tuned on phase5's frozen backbone: stored against it, once
            assert entry["base"] == "phase5" and entry["base_sha256"] == models["phase5"]["sha256"], variant
            assert entry["training"]["backbone"]["from"] == models["phase5"]["model_id"], variant
    # Lives in git: the aim is under 60 MB.
    assert total < 60e6


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_shipped_round_trip_is_exact(variant):
    img = sample_crop(40, 72)
    codec = load_codec(variant)
    enc = codec.encode(img, lam=0.0067)
    assert enc.nbytes == len(enc.data)
    dec = decode(enc.data)  # finds the weights from the file's model id and hash
    assert np.array_equal(dec.image, enc.recon)
    assert dec.image.shape == img.shape


def test_trained_default_beats_untrained_quality():
    """A trained model reconstructs the sample far better than noise would (guards a broken export)."""
    from core.metrics import psnr

    img = sample_crop(128, 128)
    enc = load_codec("phase5").encode(img, lam=0.05)
    assert psnr(img, enc.recon) > 25.0
