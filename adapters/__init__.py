"""Backbone contract, registry and wrap(); one adapter per backbone.

- :class:`Backbone`: the contract (canonical field + per-frame conditioning) as a Protocol;
  :class:`BackboneAdapter`: the contract on a backbone's original submodule names.
- :class:`RADNeRFAdapter`, :class:`ERNeRFAdapter`: the two built-in adapters.
- :func:`register_backbone`, :func:`get_adapter`, :func:`adapt`, :func:`available_backbones`:
  the registry (entry-point group ``lokitalk_plugins.backbones`` for third parties).
- :func:`wrap` -> :class:`WrappedModel`: a backbone with RSDF in front of it, a drop-in for
  ``TalkingHeadSystem``; :func:`lokitalk_regularisers`: its L_Δ and L_att terms.
"""

from .contract import Backbone, BackboneAdapter
from .er_nerf import ERNeRFAdapter
from .rad_nerf import RADNeRFAdapter
from .registry import (
    ENTRY_POINT_GROUP,
    adapt,
    available_backbones,
    get_adapter,
    register_backbone,
)
from .regularisers import lokitalk_regularisers
from .wrap import WrappedModel, wrap

__all__ = [
    "ENTRY_POINT_GROUP",
    "Backbone",
    "BackboneAdapter",
    "ERNeRFAdapter",
    "RADNeRFAdapter",
    "WrappedModel",
    "adapt",
    "available_backbones",
    "get_adapter",
    "lokitalk_regularisers",
    "register_backbone",
    "wrap",
]
