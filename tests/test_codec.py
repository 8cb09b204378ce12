"""Round trips through real bitstreams, with tiny randomly initialised models."""

import numpy as np
import pytest

from core.codec import make_test_codec, read_info
from core.errors import CancelledError, WcsError
from core.models import VARIANTS

from .helpers import sample_crop

SIZES = [(1, 1), (37, 53), (64, 64), (70, 131)]


@pytest.fixture(scope="module")
def codecs():
    return {v: make_test_codec(v) for v in VARIANTS}


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_decode_reproduces_encoder_reconstruction_bit_for_bit(codecs, variant, size, tmp_path):
    codec = codecs[variant]
    img = sample_crop(*size)
    res = codec.encode(img, lam=0.013)
    path = tmp_path / "x.wcs"
    path.write_bytes(res.data)
    assert path.stat().st_size == res.nbytes == len(res.data)
    assert res.bpp == pytest.approx(8 * path.stat().st_size / (size[0] * size[1]))
    assert res.recon.shape == (size[0], size[1], 3) and res.recon.dtype == np.uint8
    dec = codec.decode(path.read_bytes())
    assert np.array_equal(dec.image, res.recon)
    assert (dec.width, dec.height, dec.variant) == (size[1], size[0], variant)
    # The streams the header lists add up to the file (plus the container's own bytes).
    info = read_info(res.data)
    assert [n for n, _ in info["streams"]] == [n for n, _ in res.streams]
    assert sum(n for _, n in res.streams) < res.nbytes


@pytest.mark.parametrize("variant", ["phase5", "phase4"])
def test_encoding_is_deterministic(variant):
    img = sample_crop(48, 80)
    a = make_test_codec(variant).encode(img, 0.0067)
    b = make_test_codec(variant).encode(img, 0.0067)  # a separately built, identical model
    assert a.data == b.data


def test_trace_reports_every_band_and_group_in_decode_order(codecs):
    codec = codecs["phase5"]
    steps = []
    res = codec.encode(sample_crop(64, 128), 0.013)
    dec = codec.decode(res.data, on_step=steps.append)
    assert steps == dec.trace
    latent = [s for s in steps if s.stage == "latent"]
    assert [(s.band, s.group) for s in latent] == [(b, k) for b in ("LL", "LH", "HL", "HH") for k in (1, 2, 3, 4)]
    assert steps[0].stage == "hyper" and steps[-1].stage == "synthesis"
    rows, cols = codec.band_grid(64, 128)
    assert all(s.grid == (rows, cols) for s in latent)
    assert sum(s.positions for s in latent) == 4 * rows * cols
    # Each Phase 5 step reads exactly one stream: its size is reported.
    stream_sizes = dict(res.streams)
    assert [s.nbytes for s in latent] == [stream_sizes[f"{s.band}/g{s.group}"] for s in latent]
    assert all(s.ms >= 0 for s in steps)


def test_phase4_trace_goes_row_by_row(codecs):
    codec = codecs["phase4"]
    res = codec.encode(sample_crop(64, 128), 0.013)
    latent = [s for s in codec.decode(res.data).trace if s.stage == "latent"]
    rows, cols = codec.band_grid(64, 128)
    assert [(s.band, s.row) for s in latent] == [(b, r) for b in ("LL", "LH", "HL", "HH") for r in range(rows)]
    assert all(s.positions == cols and s.group is None for s in latent)


def test_lambda_controls_rate_and_is_checked(codecs):
    codec = codecs["phase5"]
    img = sample_crop(64, 64)
    assert codec.encode(img, 0.05).nbytes >= codec.encode(img, 0.0025).nbytes
    with pytest.raises(WcsError, match="outside"):
        codec.encode(img, 0.2)


def test_cancel_stops_between_steps(codecs):
    codec = codecs["phase5"]
    seen = []
    with pytest.raises(CancelledError):
        codec.encode(sample_crop(64, 64), 0.013, on_step=seen.append, cancel=lambda: len(seen) >= 3)
    assert len(seen) == 3


def test_accepts_paths_gray_and_alpha_arrays(codecs, tmp_path):
    codec = codecs["phase5-cb"]
    gray = sample_crop(20, 30)[:, :, 0]
    assert codec.encode(gray, 0.013).recon.shape == (20, 30, 3)
    rgba = np.dstack([sample_crop(20, 30), np.full((20, 30), 128, np.uint8)])
    assert codec.encode(rgba, 0.013).recon.shape == (20, 30, 3)
    with pytest.raises(WcsError, match="uint8"):
        codec.encode(np.zeros((4, 4, 3), np.float32), 0.013)


def test_cuda_codecs_ask_cudnn_for_deterministic_fp32_kernels():
    import torch

    from core.codec import use_deterministic_cuda

    keep = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark,
            torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
    try:
        torch.backends.cudnn.benchmark = True
        torch.backends.cudnn.allow_tf32 = True
        use_deterministic_cuda()
        assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
        assert not torch.backends.cudnn.allow_tf32 and not torch.backends.cuda.matmul.allow_tf32
    finally:
        (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark,
         torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32) = keep
