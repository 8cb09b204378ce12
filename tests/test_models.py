import math

import pytest
import torch

from core.models import LAMBDAS, VARIANTS, WaveletCodecModel, variant_config, variant_for
from core.models import phase4, phase5
from core.nn import group_index_map


def tiny(variant, **kw):
    torch.manual_seed(0)
    return WaveletCodecModel(variant_config(variant, N=16, M=16, **kw)).eval()


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_training_forward_gives_reconstruction_and_likelihoods(variant):
    model = tiny(variant).train()
    x = torch.rand(2, 3, 64, 128)
    out = model(x, 0.013)
    assert out["x_hat"].shape == x.shape
    y_lik, z_lik = out["likelihoods"]["y"], out["likelihoods"]["z"]
    assert y_lik.shape == (2, 16 * 4 * 2 * 4) and ((y_lik > 0) & (y_lik <= 1)).all()
    assert z_lik.shape == (2, 16, 1, 2)
    bpp = sum(-l.log2().sum() for l in (y_lik, z_lik)) / (2 * 64 * 128)
    loss = bpp + 0.013 * 255**2 * torch.mean((out["x_hat"] - x) ** 2)
    loss.backward()
    assert model.g_a[0].weight.grad.abs().sum() > 0
    assert model.adaptive_quant.log_gain.grad.abs().sum() > 0


@pytest.mark.parametrize("groups", [1, 2, 4])
def test_phase5_group_parameters_depend_only_on_earlier_groups(groups):
    model = tiny("phase5", groups=groups)
    torch.manual_seed(1)
    feats = torch.randn(1, 16, 6, 8)
    yb = torch.randn(1, 16, 6, 8)
    g = torch.ones(1, 16, 1, 1)
    gmap = torch.from_numpy(group_index_map(groups, 6, 8))
    _, scale, mean = phase5.train_band(model, 0, feats, yb, g)
    for k in range(1, groups + 1):
        changed = yb.clone()
        changed[..., gmap == k] += 3.0
        _, s2, m2 = phase5.train_band(model, 0, feats, changed, g)
        upto = gmap <= k  # groups up to k (k's own params must not see its own values)
        assert torch.equal(s2[..., upto], scale[..., upto]) and torch.equal(m2[..., upto], mean[..., upto])
        if k < groups:  # later groups do see it
            assert not torch.allclose(m2[..., gmap > k], mean[..., gmap > k])


def test_phase4_parameters_depend_only_on_earlier_raster_positions():
    model = tiny("phase4")
    torch.manual_seed(2)
    feats = torch.randn(1, 16, 5, 6)
    yb = torch.randn(1, 16, 5, 6)
    g = torch.ones(1, 16, 1, 1)
    _, scale, mean = phase4.train_band(model, 0, feats, yb, g)
    i, j = 2, 3
    changed = yb.clone()
    changed[..., i, j] += 4.0
    _, s2, m2 = phase4.train_band(model, 0, feats, changed, g)
    order = torch.arange(30).view(5, 6)
    before = order <= i * 6 + j
    assert torch.equal(m2[..., before], mean[..., before]) and torch.equal(s2[..., before], scale[..., before])
    assert not torch.allclose(m2[..., i, j + 1], mean[..., i, j + 1])


def test_adaptive_quant_interpolates_between_trained_lambdas():
    model = tiny("phase5")
    aq = model.adaptive_quant
    with torch.no_grad():
        aq.log_gain.copy_(torch.arange(6, dtype=torch.float32).view(6, 1, 1).expand_as(aq.log_gain))
    for i, lam in enumerate(LAMBDAS):
        assert torch.allclose(aq(lam), torch.full((4, 16), math.exp(i)))
    mid = math.sqrt(LAMBDAS[2] * LAMBDAS[3])  # geometric midpoint -> halfway in log gain
    assert torch.allclose(aq(mid), torch.full((4, 16), math.exp(2.5)), rtol=1e-5)
    with pytest.raises(ValueError, match="outside"):
        aq(0.1)


def test_variant_lookup():
    assert variant_for(4, "standard") == "phase5"
    assert variant_for(4, "light") == "phase5-light"
    assert variant_for(2, "standard") == "phase5-2g"
    assert variant_for(4, "off") == "phase5-cb"
    assert variant_for(1, "off", phase4=True) == "phase4"
    with pytest.raises(ValueError, match="no named variant"):
        variant_for(1, "light")
    cfg = variant_config("phase5")
    assert (cfg.groups, cfg.context, cfg.multi_res) == (4, "standard", True)
    with pytest.raises(ValueError, match="unknown variant"):
        variant_config("phase6")


def test_synthesis_blocks_start_as_identities_so_a_trained_decoder_grows_unchanged():
    base = tiny("phase5")
    grown = tiny("phase5", synthesis_blocks=2)
    result = grown.load_state_dict(base.state_dict(), strict=False)
    # g_s keeps its tensor names: only the new blocks are missing, nothing is left over.
    assert {k.split(".")[0] for k in result.missing_keys} == {"g_s_blocks"} and not result.unexpected_keys
    assert len(grown.g_s_blocks) == 2
    x = torch.rand(1, 3, 64, 128)
    with torch.no_grad():
        assert torch.equal(base(x, 0.013)["x_hat"], grown(x, 0.013)["x_hat"])
    # ... and they are trainable capacity, not a constant: a step moves their output.
    grown.train()
    loss = (grown(x, 0.013)["x_hat"] - x).pow(2).mean()
    loss.backward()
    assert grown.g_s_blocks[0].conv2.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="synthesis blocks"):
        variant_config("phase5", synthesis_blocks=-1)
    cfg = variant_config("phase5", synthesis_blocks=2)
    assert type(cfg).from_dict(cfg.to_dict()) == cfg


def test_analysis_blocks_start_as_identities_and_train_the_encoder_side_only():
    base = tiny("phase5")
    grown = tiny("phase5", analysis_blocks=2)
    result = grown.load_state_dict(base.state_dict(), strict=False)
    assert {k.split(".")[0] for k in result.missing_keys} == {"g_a_blocks"} and not result.unexpected_keys
    x = torch.rand(1, 3, 64, 128)
    with torch.no_grad():
        assert torch.equal(base.analyze(x), grown.analyze(x))
        assert torch.equal(base.analyse_channels_last(x), grown.analyse_channels_last(x))
        assert torch.equal(base(x, 0.013)["x_hat"], grown(x, 0.013)["x_hat"])
    grown.train()
    out = grown(x, 0.013)
    (out["x_hat"] - x).pow(2).mean().backward()
    assert grown.g_a_blocks[1].conv2.weight.grad.abs().sum() > 0
    # The blocks are the encoder's: the decoder's modules have the same shapes with or without them.
    decoder = ("g_s", "h_s", "entropy_bottleneck", "enhanced_context", "param_net")
    shapes = lambda m: {k: v.shape for k, v in m.state_dict().items() if k.split(".")[0] in decoder}  # noqa: E731
    assert shapes(base) == shapes(grown)
    with pytest.raises(ValueError, match="analysis blocks"):
        variant_config("phase5", analysis_blocks=9)
    cfg = variant_config("phase5", analysis_blocks=3)
    assert type(cfg).from_dict(cfg.to_dict()) == cfg
