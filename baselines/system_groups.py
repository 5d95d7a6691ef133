"""Which parameters a stage trains, and their learning-rate groups, for ``TalkingHeadSystem``.

Groups by name (the trainer's ``lr`` mapping overrides each group's default): ``grid`` (hash
and tri-plane tables of the backbone and of RSDF), ``mlp`` (every other network weight),
``audio_att`` (the audio attention over windows), ``id_embeddings`` (a fine-tuned ID-AKT
identity's codes and weights, named by the wrap), ``idakt`` (the rest of ID-AKT: in
pre-training the encoder, heads and hyper-networks; in fine-tuning the shared offset field)
and ``camera`` (the original's ``--train_camera`` offsets ``camera_dR``/``camera_dT``, at a
fixed 1e-5 unless ``lrs`` names it). The ``--emb`` audio ``embedding`` trains at the grid rate.
The torso stage trains only the 2D torso field's parameters; the head and lips stages all
others; a model's ``frozen_prefixes`` never train.
"""

from __future__ import annotations

from torch import nn

__all__ = ["GROUPS", "parameter_groups", "set_trainable"]

GROUPS = ("grid", "mlp", "audio_att", "id_embeddings", "idakt", "camera")
CAMERA_LR = 1e-5  # the originals' fixed rate of the learnt camera offsets
_GRID_PREFIXES = ("encoder", "torso_encoder", "rsdf.")
_TORSO_PREFIXES = ("torso_", "individual_codes_torso", "anchor_points")


def _local_name(name: str) -> str:
    """A parameter's name inside the backbone (a wrapped model holds it as ``backbone``)."""
    return name.removeprefix("backbone.")


def set_trainable(model: nn.Module, stage: str, frozen: tuple[str, ...] = ()) -> None:
    """requires_grad for ``stage``: torso parameters in the torso stage, the others else;
    names starting with a ``frozen`` prefix never."""
    for name, p in model.named_parameters():
        is_torso = _local_name(name).startswith(_TORSO_PREFIXES)
        held = name.startswith(frozen) if frozen else False
        p.requires_grad_(is_torso == (stage == "torso") and not held)


def parameter_groups(model: nn.Module, lrs: dict[str, float]) -> list[dict]:
    """The trainable parameters of ``model`` as named groups with their default ``lrs``
    (a dict over :data:`GROUPS`); empty groups are left out."""
    groups: dict[str, list] = {k: [] for k in GROUPS}
    id_names = set(getattr(model, "id_embedding_names", list)())
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if name in id_names:
            groups["id_embeddings"].append(p)
        elif name.startswith("idakt."):  # pre-training: encoder, heads, shared offset field
            groups["idakt"].append(p)
        elif _local_name(name) in ("camera_dR", "camera_dT"):
            groups["camera"].append(p)
        elif _local_name(name) == "embedding.weight":
            groups["grid"].append(p)
        elif _local_name(name).startswith("audio_att_net"):
            groups["audio_att"].append(p)
        elif _local_name(name).startswith(_GRID_PREFIXES) and name.endswith("embeddings"):
            groups["grid"].append(p)
        else:
            groups["mlp"].append(p)
    lrs = {"camera": CAMERA_LR, **lrs}
    return [{"name": k, "params": v, "lr": lrs[k]} for k, v in groups.items() if v]
