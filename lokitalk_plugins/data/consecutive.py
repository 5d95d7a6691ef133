"""The same pixels of two consecutive frames, for the velocity loss (DH-NeRF eq. 7).

>>> pair = sample_consecutive_rays(data, index=17, num_rays=1024, generator=g)
>>> pair.prev.rgb, pair.cur.rgb       # [1024, 3] each, at identical pixel indices

Consecutive means adjacent frames of one clip in the split's order: split position j−1 and
j with ``img_id[j] == img_id[j−1] + 1``. A clip starts at the split's first frame and
wherever the image ids jump (a gap left by the val frames, or a second video), so a pair
never straddles two clips. At a clip's first frame there is no j−1: the pair is that frame
and its successor (positions j, j+1), so every frame takes part in some pair. A clip of a
single frame has no pair: asking for one is a ValueError naming the frame.

The rays of the two frames go through the same pixels but each frame's own camera, so a
moving head is seen where each frame saw it, as in the ground-truth images.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from lokitalk_plugins.data.folder import FrameSample
from lokitalk_plugins.data.sampling import RayBatch, rays_at

__all__ = [
    "ConsecutiveRays",
    "clip_starts",
    "consecutive_pair",
    "consecutive_rays_at",
    "sample_consecutive_rays",
]


@dataclass
class ConsecutiveRays:
    """Rays at the same R pixels of frames j−1 (``prev``) and j (``cur``) of one clip.

    prev, cur: RayBatch each (``prev.index`` equals ``cur.index``); prev_index, index: the
    frames' positions in the split (index = prev_index + 1).
    """

    prev: RayBatch
    cur: RayBatch
    prev_index: int
    index: int


def clip_starts(img_ids: Sequence[int]) -> list[bool]:
    """True at each split position that begins a clip: the first one, and every position
    whose image id is not the previous one's plus one. img_ids: [N] ints -> [N] bools."""
    ids = [int(i) for i in img_ids]
    return [k == 0 or ids[k] != ids[k - 1] + 1 for k in range(len(ids))]


def consecutive_pair(img_ids: Sequence[int], index: int) -> tuple[int, int]:
    """Split positions (j−1, j) of the consecutive pair that frame ``index`` belongs to.

    (index−1, index) inside a clip; (index, index+1) at a clip's first frame. Raises
    IndexError outside the split and ValueError for a clip of one frame.
    """
    n = len(img_ids)
    if not 0 <= index < n:
        raise IndexError(f"frame {index} out of range for {n} frames")
    starts = clip_starts(img_ids)
    if not starts[index]:
        return index - 1, index
    if index + 1 < n and not starts[index + 1]:
        return index, index + 1
    raise ValueError(
        f"frame {index} (img_id {int(img_ids[index])}) is a clip of one frame: the velocity "
        "loss needs two consecutive image ids; drop the frame or use the whole clip"
    )


def consecutive_rays_at(
    prev: FrameSample, cur: FrameSample, pixels: torch.Tensor, shape=None
) -> tuple[RayBatch, RayBatch]:
    """Rays of two frames at the same row-major pixel indices ``pixels`` [R] (any layout:
    random rays, patches, a crop; ``shape`` as in ``rays_at``)."""
    if (prev.H, prev.W) != (cur.H, cur.W):
        raise ValueError(
            f"consecutive frames {prev.img_id} and {cur.img_id} differ in size "
            f"({prev.H}x{prev.W} vs {cur.H}x{cur.W}): the velocity loss needs one image size"
        )
    return rays_at(prev, pixels, shape), rays_at(cur, pixels, shape)


def sample_consecutive_rays(
    dataset, index: int, num_rays: int, generator: torch.Generator | None = None
) -> ConsecutiveRays:
    """``num_rays`` distinct random pixels, the same in both frames of frame ``index``'s pair.

    dataset: map-style frames with ``img_ids`` (a ``TalkingHeadFolder``); index: a split
    position (``consecutive_pair`` picks the pair); the pixels are drawn like
    ``sample_random_rays`` (all H*W shuffled when fewer exist).
    """
    img_ids = getattr(dataset, "img_ids", None)
    if img_ids is None:
        raise TypeError(
            f"{type(dataset).__name__} has no img_ids: consecutive frames need a dataset that "
            "lists its image ids in order (TalkingHeadFolder does)"
        )
    j0, j1 = consecutive_pair(img_ids, int(index))
    prev, cur = dataset[j0], dataset[j1]
    n = cur.H * cur.W
    pixels = torch.randperm(n, generator=generator)[: min(int(num_rays), n)]
    a, b = consecutive_rays_at(prev, cur, pixels)
    return ConsecutiveRays(prev=a, cur=b, prev_index=j0, index=j1)
