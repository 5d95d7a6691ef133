"""Moved to :mod:`lokitalk_plugins.losses.lokitalk` (the plug-in's terms belong to the core);
this path stays as an alias."""

from lokitalk_plugins.losses.lokitalk import ATT_TERM, DELTA_TERM, lokitalk_regularisers

__all__ = ["DELTA_TERM", "ATT_TERM", "lokitalk_regularisers"]
