"""The decoder's inference paths (sub-pixel transposed convolution, lean GDN) against PyTorch's and
CompressAI's layers: the same numbers, the same state dict, and training left on the original path."""

import pytest
import torch
from torch import nn

from core._compat import compressai  # noqa: F401
from compressai.layers import GDN
from core.models.backbone import synthesis
from core.nn.gdn import LeanGDN
from core.nn.inference import original_paths
from core.nn.subpixel import SubpixelConvTranspose2d
from core.nn.weconv import WeConv


def _pair(cin, cout, k, seed=0):
    torch.manual_seed(seed)
    fast = SubpixelConvTranspose2d(cin, cout, k)
    ref = nn.ConvTranspose2d(cin, cout, k, stride=2, padding=k // 2, output_padding=1)
    ref.load_state_dict(fast.state_dict())  # the same names and shapes: trained weights load as they were
    return fast.eval(), ref.eval()


@pytest.mark.parametrize("k", [5, 9])
@pytest.mark.parametrize("cin,cout", [(8, 3), (5, 7)])
@pytest.mark.parametrize("hw", [(1, 1), (3, 5), (16, 9)])
@pytest.mark.parametrize("channels_last", [False, True])
def test_subpixel_equals_transposed_convolution(k, cin, cout, hw, channels_last):
    fast, ref = _pair(cin, cout, k)
    x = torch.randn(2, cin, *hw)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        want, got = ref(x), fast(x)
    assert got.shape == want.shape == (2, cout, 2 * hw[0], 2 * hw[1])
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_subpixel_follows_new_weights():
    fast, ref = _pair(6, 3, 5)
    x = torch.randn(1, 6, 7, 7)
    with torch.no_grad():
        fast(x)  # derives and caches the sub-pixel weights
        new = {k: torch.randn_like(v) for k, v in ref.state_dict().items()}
        fast.load_state_dict(new)  # in place: the cache must notice
        ref.load_state_dict(new)
        torch.testing.assert_close(fast(x), ref(x), rtol=1e-5, atol=1e-5)


def test_subpixel_trains_and_refines_through_pytorchs_layer(monkeypatch):
    fast, ref = _pair(4, 3, 5)
    used = []
    monkeypatch.setattr(torch.nn.functional, "pixel_shuffle",
                        lambda *a, **k: used.append(1) or torch.pixel_shuffle(*a, **k))
    x = torch.randn(1, 4, 5, 5, requires_grad=True)
    fast(x).sum().backward()  # eval mode, but a gradient is wanted (the encoder's refinement)
    fast.train()
    fast(x.detach()).sum().backward()
    assert not used
    assert fast.weight.grad is not None and fast.weight.grad.abs().sum() > 0
    fast.eval()
    with torch.no_grad():
        fast(x)
    assert used  # and inference takes the fast path


def test_subpixel_refuses_kernels_it_cannot_centre():
    with pytest.raises(ValueError, match="4r\\+1"):
        SubpixelConvTranspose2d(4, 3, 3)


@pytest.mark.parametrize("inverse", [False, True])
@pytest.mark.parametrize("channels_last", [False, True])
def test_lean_gdn_equals_compressai(inverse, channels_last):
    torch.manual_seed(1)
    lean, ref = LeanGDN(6, inverse=inverse), GDN(6, inverse=inverse)
    with torch.no_grad():
        lean.gamma.add_(torch.rand_like(lean.gamma))
        lean.beta.add_(torch.rand_like(lean.beta))
    ref.load_state_dict(lean.state_dict())
    lean.eval(), ref.eval()
    x = torch.randn(2, 6, 5, 7)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    x0 = x.clone()
    with torch.no_grad():
        got, want = lean(x), ref(x)
    assert torch.equal(x, x0)  # the in-place work is on its own buffers, never the input
    assert got.shape == want.shape
    assert got.is_contiguous(memory_format=torch.channels_last) == channels_last
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)


def test_lean_gdn_keeps_gradients_when_wanted():
    lean = LeanGDN(4, inverse=True).eval()
    x = torch.randn(1, 4, 3, 3, requires_grad=True)
    lean(x).sum().backward()  # CompressAI's path: the in-place one would break autograd
    assert x.grad is not None and lean.gamma.grad is not None


@pytest.mark.parametrize("simple", [True, False])
@pytest.mark.parametrize("channels_last", [False, True])
def test_folded_weconv_equals_the_band_path(simple, channels_last):
    torch.manual_seed(2)
    m = WeConv(6, simple)
    x = torch.randn(2, 6, 10, 8)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    m.train()
    with torch.no_grad():
        want = m(x)  # training mode: the DWT, the body on the bands, the inverse DWT
    m.eval()
    with torch.no_grad():
        got = m(x)
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
        for p in m.parameters():  # in place, as load_state_dict does: the folded weights follow
            p.mul_(1.5)
        m.train()
        want = m(x)
        m.eval()
        torch.testing.assert_close(m(x), want, rtol=1e-5, atol=1e-5)


def test_folded_weconv_is_inference_only():
    m = WeConv(4, simple=True).eval()
    x = torch.randn(1, 4, 6, 6, requires_grad=True)
    m(x).sum().backward()  # a gradient is wanted: the band path, whose weights get theirs
    assert m._cache is None and m.body[0].weight.grad is not None
    with torch.no_grad():
        m(x)
    assert m._cache is not None


def test_original_paths_turns_the_fast_paths_off():
    m = WeConv(4, simple=True).eval()
    x = torch.randn(1, 4, 6, 6)
    with torch.no_grad(), original_paths():
        want = m(x)
    assert m._cache is None  # the band path ran
    with torch.no_grad():
        torch.testing.assert_close(m(x), want, rtol=1e-5, atol=1e-5)
    assert m._cache is not None


def test_synthesis_state_dict_is_unchanged():
    """Trained weights (saved with PyTorch's and CompressAI's layers) load into the synthesis as before."""
    s = synthesis(8, 16, simple=True)
    assert isinstance(s[-1], SubpixelConvTranspose2d) and isinstance(s[1], LeanGDN)
    old = nn.Sequential(*[nn.ConvTranspose2d(8, 3, 5, 2, 2, 1) if i == len(s) - 1 else
                          (GDN(8, inverse=True) if isinstance(m, LeanGDN) else m) for i, m in enumerate(s)])
    assert {k: v.shape for k, v in old.state_dict().items()} == {k: v.shape for k, v in s.state_dict().items()}
