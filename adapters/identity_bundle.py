"""A pre-trained ID-AKT bundle from a wrapped model, and back (Hub format of
:mod:`lokitalk_plugins.idakt.hub`).

Components: ``idakt`` (ID-Encoder, heads, hyper-networks, shared offset field), ``backbone``
(the shared canonical field: every backbone tensor except the per-frame codes and the occupancy
grid, which belong to the pre-training clips) and ``rsdf`` when the wrap has one. Config: the
backbone's registered name, ``idakt`` (IDAKT kwargs) and the rsdf's hyper layers.
"""

from __future__ import annotations

from pathlib import Path

from torch import nn

from lokitalk_plugins.baselines.groups import TORSO_PREFIXES

__all__ = ["IDENTITY_SPECIFIC", "load_identity_bundle", "save_identity_bundle"]

# backbone tensors that belong to the pre-training clips, not to the shared knowledge
IDENTITY_SPECIFIC = ("individual_codes", "density_grid", "density_bitfield", "step_counter",
                     "aabb_train", "aabb_infer", "grid.")  # fmt: skip


def _shared(state: dict) -> dict:
    return {k: v for k, v in state.items() if not k.startswith(IDENTITY_SPECIFIC)}


def save_identity_bundle(
    model, directory: str | Path, card: dict | None = None, overwrite: bool = False
) -> Path:
    """Write a pre-trained wrap (``model.idakt`` an IDAKT with its encoder) as a bundle; a
    folder already holding bundle files (README.md, config.json, model.safetensors) is
    refused unless ``overwrite=True`` (see :func:`~lokitalk_plugins.idakt.hub.save_pretrained`)."""
    from lokitalk_plugins.idakt.hub import save_pretrained

    if model.idakt is None or not hasattr(model.idakt, "encoder"):
        raise ValueError("save_identity_bundle needs a wrap whose idakt is a pre-trained IDAKT")
    components = {"idakt": model.idakt, "backbone": _shared(model.backbone.state_dict())}
    layers = getattr(model.rsdf, "hyper_layers", {}) or {}
    config = {"backbone": model.adapter.name, "idakt": model.idakt.config(),
              "rsdf_hyper_layers": {k: list(v) for k, v in layers.items()}}  # fmt: skip
    if model.rsdf is not None:
        components["rsdf"] = model.rsdf
    card = dict(card or {}, backbone=model.adapter.name)
    return save_pretrained(directory, components, config, card=card, overwrite=overwrite)


def load_identity_bundle(model, name_or_path: str | Path, **hub_kwargs) -> nn.Module:
    """Load a bundle into a wrap for fine-tuning: the shared backbone and rsdf weights, a
    zero FrozenIdentity as ``model.idakt`` with the bundle's shared offset field and F_id input
    columns (a bare backbone's dynamic half), and the IDAKT kept
    aside to initialise it from the first training frame. A backbone built with the 2D torso
    field (``torso=True``) loads a bundle pre-trained without one: that field keeps its initial
    values for the torso stage to train. Returns the IDAKT."""
    from lokitalk_plugins.idakt import IDAKT, FrozenIdentity
    from lokitalk_plugins.idakt.hub import ComponentMismatchError, from_pretrained

    bundle = from_pretrained(str(name_or_path), **hub_kwargs)
    cfg = bundle.config
    if cfg.get("backbone") != model.adapter.name:
        raise ComponentMismatchError(
            f"{name_or_path}: pre-trained on backbone {cfg.get('backbone')!r}, this wrap has "
            f"{model.adapter.name!r}: fine-tune with the {cfg.get('backbone')} backbone config"
        )
    missing, unexpected = model.backbone.load_state_dict(
        bundle.state_dicts["backbone"], strict=False
    )
    # a 2D torso field the bundle lacks (pre-trained with the torso in the 3D field, or none)
    # keeps its initial values: the torso stage trains it with the head frozen
    missing = [k for k in missing if not k.startswith((*IDENTITY_SPECIFIC, *TORSO_PREFIXES))]
    if missing or unexpected:
        raise ComponentMismatchError(
            f"{name_or_path}: the backbone weights do not fit this backbone (missing "
            f"{missing[:5]}, unexpected {unexpected[:5]}): use the backbone options of the "
            "pre-training config"
        )
    if ("rsdf" in bundle.state_dicts) != (model.rsdf is not None):
        has, wrap_has = ("has", "has none") if model.rsdf is None else ("lacks", "has one")
        raise ComponentMismatchError(
            f"{name_or_path}: the bundle {has} RSDF weights, this wrap {wrap_has}: wrap the "
            "backbone with the RSDF setting it was pre-trained with"
        )
    if model.rsdf is not None:
        bundle.load_into("rsdf", model.rsdf)
    settings = cfg.get("idakt")
    try:  # plain keyword arguments from config.json: nothing of the bundle is run
        encoder = IDAKT(**settings)
        layout = {k: v for k, v in settings.items() if k not in ("feature_dim", "encoder")}
        frozen = FrozenIdentity(**layout)
    except (TypeError, ValueError) as err:
        raise ComponentMismatchError(
            f"{name_or_path}: the 'idakt' settings of its config.json ({settings!r:.200}) do "
            f"not build an IDAKT ({err}): re-export the bundle with save_identity_bundle"
        ) from err
    bundle.load_into("idakt", encoder)
    frozen.offset_field.load_state_dict(encoder.offset_field.state_dict())
    frozen.id_inputs.load_state_dict(encoder.id_inputs.state_dict())
    model.attach_identity(frozen)
    model.set_pending_encoder(encoder)
    return encoder
