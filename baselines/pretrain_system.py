"""Moved to :mod:`lokitalk_plugins.pipeline.multi`; this path stays as an alias."""

from lokitalk_plugins.pipeline.multi import MultiIdentitySystem

__all__ = ["MultiIdentitySystem"]
