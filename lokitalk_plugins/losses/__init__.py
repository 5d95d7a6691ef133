"""Pure loss functions, each with its paper equation and shapes in the docstring."""

from .audio2exp import (
    LAMBDA_EXP_SMOOTH,
    LAMBDA_POSE,
    LAMBDA_POSE_SMOOTH,
    audio2exp_loss,
)
from .basic import alpha_entropy, masked_mean, ray_mse
from .disentangle import CODE_NAMES, LAMBDA_DIS, LAMBDA_REC, disentangle_loss
from .lokitalk import (
    LAMBDA_ALPHA,
    LAMBDA_ATT,
    LAMBDA_DELTA,
    LAMBDA_LPIPS,
    LPIPS_START_FRACTION,
    lokitalk_regularisers,
    lpips_weight,
)
from .region import (
    ATTENTION_REGIONS,
    REGION_WEIGHTS,
    attention_masks,
    attention_regularization,
    region_regularization,
    region_weight_map,
    weighted_color_loss,
)
from .velocity import LAMBDA_V, velocity_loss

__all__ = [
    "ATTENTION_REGIONS",
    "CODE_NAMES",
    "LAMBDA_ALPHA",
    "LAMBDA_ATT",
    "LAMBDA_DELTA",
    "LAMBDA_DIS",
    "LAMBDA_EXP_SMOOTH",
    "LAMBDA_LPIPS",
    "LAMBDA_POSE",
    "LAMBDA_POSE_SMOOTH",
    "LAMBDA_REC",
    "LAMBDA_V",
    "LPIPS_START_FRACTION",
    "REGION_WEIGHTS",
    "alpha_entropy",
    "audio2exp_loss",
    "disentangle_loss",
    "attention_masks",
    "attention_regularization",
    "lokitalk_regularisers",
    "lpips_weight",
    "masked_mean",
    "ray_mse",
    "region_regularization",
    "region_weight_map",
    "velocity_loss",
    "weighted_color_loss",
]
