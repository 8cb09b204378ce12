"""Building blocks of the codec: wavelets, WeConv, attention, context networks, masks."""

from .dwt import haar_dwt, haar_idwt
from .masks import group_index_map, group_masks, raster_mask
from .weconv import WeConv

__all__ = ["haar_dwt", "haar_idwt", "group_index_map", "group_masks", "raster_mask", "WeConv"]
