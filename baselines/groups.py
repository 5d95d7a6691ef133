"""Which parameters of a RAD-NeRF / ER-NeRF model (rebuilt or original: the names are the
originals') train in a stage, by learning-rate group.

The torso stage trains the 2D torso field (``torso_*``, ``individual_codes_torso``,
``anchor_points``); the head and lips stages everything else. Groups: ``grid`` (the hash and
tri-plane tables, ``encoder*`` / ``torso_encoder`` embeddings, and the ``--emb`` audio
``embedding``), ``audio_att`` (the attention over audio windows), ``camera`` (the
``--train_camera`` offsets ``camera_dR`` / ``camera_dT``), ``mlp`` (every other weight).
The backbone declares this itself (its ``param_groups``); adapters call it for an original
model that lacks the method.
"""

from __future__ import annotations

from torch import nn

__all__ = ["TORSO_PREFIXES", "original_param_groups"]

TORSO_PREFIXES = ("torso_", "individual_codes_torso", "anchor_points")
_GRID_PREFIXES = ("encoder", "torso_encoder")


def original_param_groups(model: nn.Module, stage: str) -> dict[str, list[nn.Parameter]]:
    """{"grid", "mlp", "audio_att", "camera": [parameters]} of ``model`` trained in
    ``stage``."""
    groups: dict[str, list[nn.Parameter]] = {"grid": [], "mlp": [], "audio_att": [], "camera": []}
    for name, p in model.named_parameters():
        if name.startswith(TORSO_PREFIXES) != (stage == "torso"):
            continue
        if name in ("camera_dR", "camera_dT"):
            groups["camera"].append(p)
        elif name == "embedding.weight":
            groups["grid"].append(p)
        elif name.startswith("audio_att_net"):
            groups["audio_att"].append(p)
        elif name.startswith(_GRID_PREFIXES) and name.endswith("embeddings"):
            groups["grid"].append(p)
        else:
            groups["mlp"].append(p)
    return groups
