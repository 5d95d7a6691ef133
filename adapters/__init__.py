"""Backbone contract, registry and wrap(); one adapter per backbone.

- :class:`Backbone`: the contract (canonical field + per-frame conditioning) as a Protocol;
  :class:`BackboneAdapter`: the contract on a backbone's original submodule names.
- :class:`RADNeRFAdapter`, :class:`ERNeRFAdapter`, :class:`DHNeRFAdapter`: the built-in
  adapters (the last: the Disentangling Head NeRF, whose density reads the frame's code).
- :func:`register_backbone`, :func:`get_adapter`, :func:`adapt`, :func:`available_backbones`:
  the registry (entry-point group ``lokitalk_plugins.backbones`` for third parties).
- :func:`wrap` -> :class:`WrappedModel`: a backbone with RSDF in front of it, a drop-in for
  ``TalkingHeadSystem``, with ID-AKT too (``idakt=`` to pre-train, ``pretrained=`` to
  fine-tune from a bundle); :func:`lokitalk_regularisers`: its L_Δ and L_att terms;
  :func:`save_identity_bundle` / :func:`load_identity_bundle`: the pre-trained ID-AKT bundle.
"""

from .contract import Backbone, BackboneAdapter
from .dhnerf import DHNeRFAdapter
from .er_nerf import ERNeRFAdapter
from .identity_bundle import load_identity_bundle, save_identity_bundle
from .rad_nerf import RADNeRFAdapter
from .registry import (
    ENTRY_POINT_GROUP,
    adapt,
    available_backbones,
    get_adapter,
    register_backbone,
)
from .regularisers import lokitalk_regularisers
from .wrap import WrappedModel
from .wrap_factory import wrap

__all__ = [
    "ENTRY_POINT_GROUP",
    "Backbone",
    "BackboneAdapter",
    "DHNeRFAdapter",
    "ERNeRFAdapter",
    "RADNeRFAdapter",
    "WrappedModel",
    "adapt",
    "available_backbones",
    "get_adapter",
    "load_identity_bundle",
    "lokitalk_regularisers",
    "register_backbone",
    "save_identity_bundle",
    "wrap",
]
