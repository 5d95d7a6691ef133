"""GDRF base models as Hub bundles, in the ID-AKT bundle format
(:mod:`lokitalk_plugins.idakt.hub`: ``model.safetensors`` + ``config.json`` + model card).

The bundle holds one component, ``gdrf``: every weight shared by all identities (feature
encoder, mapping, warping network, aggregation, f_θ, the LSTM and its standardisation); the
references, α and the occupancy grid belong to one identity and are left out. ``config``
holds the model's constructor keywords, so a fine-tune is refused early when they differ.
"""

from __future__ import annotations

from pathlib import Path

import torch

from lokitalk_plugins.idakt.hub import ComponentMismatchError, from_pretrained, save_pretrained

__all__ = [
    "BUNDLE_MODEL",
    "LEGACY_FEATURE_STRIDE",
    "load_gdrf_bundle",
    "read_gdrf_bundle",
    "save_gdrf_bundle",
    "shared_state",
]

BUNDLE_MODEL = "gdrf"
# bundles written before feature_stride existed have H/4 volumes (same weight shapes)
LEGACY_FEATURE_STRIDE = 4


def shared_state(model) -> dict:
    """The identity-independent entries of ``model.state_dict()`` (see the module doc)."""
    return {k: v for k, v in model.state_dict().items() if not model.identity_key(k)}


def save_gdrf_bundle(model, directory, card: dict | None = None, overwrite: bool = False) -> Path:
    """Write a pre-trained GDRF as a bundle folder (refused over an existing bundle unless
    ``overwrite``); returns its path."""
    config = {"model": BUNDLE_MODEL, "gdrf": model.config()}
    card = dict(card or {}, title="GDRF base model (lokitalk-plugins)", backbone=BUNDLE_MODEL)
    return save_pretrained(directory, {"gdrf": shared_state(model)}, config, card=card,
                           overwrite=overwrite)  # fmt: skip


def read_gdrf_bundle(name_or_path, **hub_kwargs):
    """The bundle at ``name_or_path`` (a folder or a Hub repo id), its ``config["gdrf"]``
    completed for bundles older than ``feature_stride``; ComponentMismatchError naming it when
    it is not a GDRF bundle."""
    bundle = from_pretrained(str(name_or_path), **hub_kwargs)
    cfg = bundle.config
    if cfg.get("model") != BUNDLE_MODEL or "gdrf" not in bundle.state_dicts:
        raise ComponentMismatchError(
            f"{name_or_path}: not a GDRF bundle (model {cfg.get('model')!r}); write one with "
            "lokitalk gdrf-pretrain"
        )
    cfg["gdrf"] = {"feature_stride": LEGACY_FEATURE_STRIDE, **cfg.get("gdrf", {})}
    return bundle


def load_gdrf_bundle(model, name_or_path, bundle=None, **hub_kwargs) -> None:
    """Load a bundle's shared weights into ``model`` (a GDRF built with the same keywords);
    ``bundle``: the one :func:`read_gdrf_bundle` already read from ``name_or_path``;
    ComponentMismatchError naming the bundle when it is not a GDRF or its keywords differ."""
    bundle = bundle if bundle is not None else read_gdrf_bundle(name_or_path, **hub_kwargs)
    saved, own = bundle.config["gdrf"], model.config()
    differ = sorted(k for k in own if k in saved and saved[k] != own[k])
    if differ:
        pairs = ", ".join(f"GDRF.{k} = {saved[k]!r} (here {own[k]!r})" for k in differ)
        raise ComponentMismatchError(f"{name_or_path}: pre-trained with {pairs}: bind those")
    # the stride as the config records it (a bundle's weights may predate volume_stride)
    state = dict(bundle.state_dicts["gdrf"], volume_stride=torch.tensor(saved["feature_stride"]))
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not model.identity_key(k)]
    if missing or unexpected:
        raise ComponentMismatchError(
            f"{name_or_path}: weights do not fit this GDRF (missing {missing[:4]}, unexpected "
            f"{unexpected[:4]})"
        )
