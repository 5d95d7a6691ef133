"""The Disentangling Head NeRF (§3.2-3.3): per-frame disentangled codes, their extractor
pre-trained on exact studio pairs, and the field D_θ(x, v, P_cam, C, F_lip) = (σ, M)."""

from .extractor import (
    CodeExtractor,
    centre_codes,
    pair_alignment,
    pair_info_nce,
    pair_masks,
    pretrain_extractor,
)
from .field import join_code
from .network import CodeSizeError, DHNeRF
from .pretrain import studio_code_extractor

__all__ = [
    "CodeExtractor",
    "CodeSizeError",
    "DHNeRF",
    "centre_codes",
    "join_code",
    "pair_alignment",
    "pair_info_nce",
    "pair_masks",
    "pretrain_extractor",
    "studio_code_extractor",
]
