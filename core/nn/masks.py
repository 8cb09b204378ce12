"""Decode-order masks: checkerboard groups (Phase 5) and the raster causal mask (Phase 4)."""

from __future__ import annotations

import numpy as np
import torch


def group_index_map(groups: int, rows: int, cols: int) -> np.ndarray:
    """Each latent position's decode group, 1..groups.

    4 groups: the 2x2 lattice ``1 2 / 3 4`` (1 = even row/even col, 2 = even row/odd col,
    3 = odd row/even col, 4 = odd row/odd col). 2 groups: anchors (row+col even) are 1, the
    rest 2. 1 group: everything at once (no spatial context).
    """
    i = np.arange(rows)[:, None]
    j = np.arange(cols)[None, :]
    if groups == 1:
        return np.ones((rows, cols), dtype=np.int64)
    if groups == 2:
        return np.where((i + j) % 2 == 0, 1, 2).astype(np.int64)
    if groups == 4:
        return (1 + 2 * (i % 2) + (j % 2)).astype(np.int64)
    raise ValueError(f"checkerboard groups must be 1, 2 or 4, got {groups}")


def group_masks(groups: int, rows: int, cols: int, device=None) -> list[torch.Tensor]:
    """Float masks (1, 1, rows, cols), one per group, in decode order."""
    gmap = torch.from_numpy(group_index_map(groups, rows, cols)).to(device)
    return [(gmap == k).float()[None, None] for k in range(1, groups + 1)]


def raster_mask(kernel_size: int) -> torch.Tensor:
    """Causal 'type A' mask: positions strictly before the centre in raster order."""
    mask = torch.zeros(kernel_size, kernel_size)
    c = kernel_size // 2
    mask[:c, :] = 1
    mask[c, :c] = 1
    return mask
