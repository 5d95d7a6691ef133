"""Rays, occupancy grid, sampling and compositing.

Typical use (a field binds its own per-frame conditioning)::

    grid = OccupancyGrid(resolution=128)            # buffers named as in the originals
    renderer = VolumeRenderer(grid, max_samples=16)
    grid.mark_unseen(train_c2w, (fx, fy, cx, cy), H, W)  # once, before training
    grid.update(lambda x: field_density(x), step)          # runs every 16 steps
    out = renderer.render_rays(rays_o, rays_d, bg, field=field, extras=("ambient",))
    out.rgb, out.depth, out.weights_sum, out.extras["ambient"]   # [R, 3], [R], [R], [R]
    image = renderer.render_image(field, c2w, (fx, fy, cx, cy), H, W, bg)  # no gradient

Pure PyTorch; per-ray sums use torch_scatter when it imports (optional extra), else
``Tensor.index_add`` (or ``torch.segment_reduce`` on request).
"""

from .composite import Composite, composite, composite_background
from .grid import HEAD_AABB, OccupancyGrid
from .grid_state import GRID_BUFFERS, expose_grid_buffers
from .morton import dense_to_morton, morton3d, morton_order, morton_to_dense, pack_bits, unpack_bits
from .neural import (
    NeuralRenderer,
    averaged_background,
    block_centres,
    block_mean,
    lifted_field,
    low_res_background,
    low_res_camera,
    low_res_rays,
    neural_extra,
    neural_rgb,
    render_neural,
)
from .rays import exact_geometry, get_rays, near_far_from_aabb, pixel_grid, torso_pixel_coords
from .renderer import CUT_SHORT_ALPHA, Field, RenderResult, VolumeRenderer
from .sampling import DEFAULT_STEP, PackedSamples, march_rays
from .segments import (
    BACKENDS,
    has_torch_scatter,
    resolve_backend,
    segment_exclusive_cumsum,
    segment_sum,
)
from .visibility import visible_mask

__all__ = [
    "BACKENDS",
    "Composite",
    "DEFAULT_STEP",
    "Field",
    "GRID_BUFFERS",
    "HEAD_AABB",
    "NeuralRenderer",
    "averaged_background",
    "OccupancyGrid",
    "PackedSamples",
    "RenderResult",
    "CUT_SHORT_ALPHA",
    "VolumeRenderer",
    "block_centres",
    "block_mean",
    "low_res_background",
    "lifted_field",
    "neural_extra",
    "composite",
    "composite_background",
    "dense_to_morton",
    "expose_grid_buffers",
    "exact_geometry",
    "get_rays",
    "has_torch_scatter",
    "low_res_camera",
    "low_res_rays",
    "march_rays",
    "morton3d",
    "morton_order",
    "morton_to_dense",
    "near_far_from_aabb",
    "neural_rgb",
    "pack_bits",
    "pixel_grid",
    "render_neural",
    "torso_pixel_coords",
    "resolve_backend",
    "segment_exclusive_cumsum",
    "segment_sum",
    "unpack_bits",
    "visible_mask",
]
