"""Looking inside a representation: samples, nearest neighbours, grids."""

from tenshot.explore.grid import grid, interleave, nearest_images, save_grid

__all__ = ["grid", "interleave", "nearest_images", "save_grid"]
