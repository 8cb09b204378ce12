"""Equal-rate comparisons: the quality setting whose bpp lands closest to a target."""

from __future__ import annotations

from ..errors import WcsError
from ..images import as_rgb8


def match_bpp(codec, rgb, target_bpp: float) -> tuple[int, bytes, float]:
    """Bisection on the codec's integer quality scale, then the closest of the bracketing settings.

    Assumes bpp is monotonic in the setting (true for these codecs up to rare one-step wiggles,
    which the final neighbour check absorbs). Returns (quality, encoded bytes, bpp).
    """
    if not target_bpp > 0:
        raise WcsError(f"target bpp must be positive, got {target_bpp}")
    rgb = as_rgb8(rgb)
    pixels = rgb.shape[0] * rgb.shape[1]
    lo, hi, step = codec.quality_range
    grid = list(range(lo, hi + 1, step))
    # order the grid from lowest rate to highest rate
    if not codec.higher_is_better:
        grid.reverse()
    cache: dict[int, bytes] = {}

    def bpp_at(i: int) -> float:
        q = grid[i]
        if q not in cache:
            cache[q] = codec.encode(rgb, q)
        return 8.0 * len(cache[q]) / pixels

    a, b = 0, len(grid) - 1
    if bpp_at(a) >= target_bpp:
        b = a
    elif bpp_at(b) <= target_bpp:
        a = b
    while b - a > 1:  # invariant: bpp(a) < target <= bpp(b)
        m = (a + b) // 2
        if bpp_at(m) < target_bpp:
            a = m
        else:
            b = m
    best = min({a, b}, key=lambda i: (abs(bpp_at(i) - target_bpp), i))
    q = grid[best]
    return q, cache[q], bpp_at(best)
