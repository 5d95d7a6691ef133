"""Pure loss functions, each with its paper equation and shapes in the docstring."""

from .basic import alpha_entropy, masked_mean, ray_mse

__all__ = ["alpha_entropy", "masked_mean", "ray_mse"]
