"""Moved to :mod:`lokitalk_plugins.pipeline.objective`; this path stays as an alias."""

from lokitalk_plugins.pipeline.objective import LazyLPIPS, colour_loss, late_lpips_weight

__all__ = ["LazyLPIPS", "colour_loss", "late_lpips_weight"]
