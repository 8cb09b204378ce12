import numpy as np
import pytest
import torch

from core.nn import group_index_map, haar_dwt, haar_idwt, raster_mask
from core.nn.context import EnhancedContextNetwork, MultiResolutionContextBuilder, CheckerboardContext
from core.nn.masks import group_masks
from core.nn.weconv import WeConv


def test_haar_is_orthonormal_with_exact_inverse():
    torch.manual_seed(0)
    x = torch.randn(2, 5, 16, 12, dtype=torch.float64)
    bands = haar_dwt(x)
    assert all(b.shape == (2, 5, 8, 6) for b in bands)
    # Orthonormal: energy is preserved exactly (up to float64 rounding).
    energy = sum((b**2).sum() for b in bands)
    assert torch.allclose(energy, (x**2).sum(), rtol=1e-12)
    assert torch.allclose(haar_idwt(*bands), x, atol=1e-12)


def test_haar_bands_mean_what_they_say():
    x = torch.tensor([[1.0, 3.0], [5.0, 7.0]]).view(1, 1, 2, 2)
    ll, lh, hl, hh = (b.item() for b in haar_dwt(x))
    assert ll == pytest.approx(8.0)  # (1+3+5+7)/2
    assert lh == pytest.approx(-2.0)  # differences along rows
    assert hl == pytest.approx(-4.0)  # differences along columns
    assert hh == pytest.approx(0.0)


def test_haar_rejects_odd_sizes():
    with pytest.raises(ValueError, match="even"):
        haar_dwt(torch.zeros(1, 1, 3, 4))


def test_group_maps_follow_the_lattice():
    g4 = group_index_map(4, 4, 4)
    assert g4[:2, :2].tolist() == [[1, 2], [3, 4]]
    assert g4[2:, 2:].tolist() == [[1, 2], [3, 4]]
    g2 = group_index_map(2, 3, 3)
    assert g2.tolist() == [[1, 2, 1], [2, 1, 2], [1, 2, 1]]
    assert (group_index_map(1, 2, 5) == 1).all()
    masks = group_masks(4, 5, 7)
    assert torch.equal(sum(masks), torch.ones(1, 1, 5, 7))  # a partition of the grid
    with pytest.raises(ValueError):
        group_index_map(3, 2, 2)


def test_raster_mask_is_strictly_causal():
    m = raster_mask(5)
    assert m[2, 2] == 0 and m[2, :2].tolist() == [1, 1] and m[2, 3:].sum() == 0
    assert m[:2].sum() == 10 and m[3:].sum() == 0


@pytest.mark.parametrize("simple", [False, True])
def test_weconv_keeps_shape_and_is_residual(simple):
    torch.manual_seed(0)
    block = WeConv(8, simple=simple)
    for p in block.body.parameters():
        torch.nn.init.zeros_(p)
    x = torch.randn(1, 8, 10, 6)
    assert torch.allclose(block(x), x)  # zero body -> identity, through DWT/IDWT
    for p in block.body.parameters():
        torch.nn.init.normal_(p, std=0.1)
    assert not torch.allclose(block(x), x)


@pytest.mark.parametrize(
    "net",
    [
        lambda: EnhancedContextNetwork(6, 6, 8),
        lambda: EnhancedContextNetwork(6, 6, 8, lightweight=True),
        lambda: MultiResolutionContextBuilder(6, 6, 8),
        lambda: CheckerboardContext(6, 6),
    ],
)
def test_context_networks_only_see_decoded_positions(net):
    """Changing a not-yet-decoded position changes nothing the decoded positions' parameters
    depend on: the networks read the band through the decode mask."""
    torch.manual_seed(0)
    net = net().eval()
    band = torch.randn(1, 6, 9, 11)
    gmap = torch.from_numpy(group_index_map(4, 9, 11))
    for k in range(1, 5):
        done = (gmap < k).float()[None, None]
        changed = band.clone()
        changed[..., gmap >= k] += 5.0  # every position not yet decoded
        a = net(band * done, done)
        b = net(changed * done, done)
        assert torch.equal(a, b)
        if k > 1:  # not vacuous: a decoded position does change the output
            changed2 = band.clone()
            changed2[..., gmap == k - 1] += 5.0
            assert not torch.allclose(net(changed2 * done, done), a)
