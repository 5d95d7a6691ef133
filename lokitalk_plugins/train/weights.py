"""Model weights out of a checkpoint: ours, an original RAD-NeRF / ER-NeRF ``ngp.pth``, or a
bare state_dict, always read with ``weights_only=True``.

- ours: {"model": system.state_dict(), "ema": {"shadow": {name: tensor}}, ...}; the model's
  keys sit under the system's attribute prefix (e.g. "model."), found automatically;
- an original ``ngp.pth``: {"model": state_dict, "optimizer": ..., "stats": ..., ...};
- a bare state_dict: {name: tensor}.

The occupancy-grid buffers (``OCCUPANCY_BUFFERS``) are rebuilt by the renderer from the
density field, so a file without them still loads with ``strict=True``, and one whose grid
has another shape (an original trained with ``--bound`` 2 keeps 2 cascades, ``density_grid``
[2, 128^3]) loads without them. A refused file's message ends with the original option the
difference points to when the model (or one of its submodules) answers ``checkpoint_hint``.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from lokitalk_plugins.train.checkpoint import CheckpointError, load_checkpoint

__all__ = ["OCCUPANCY_BUFFERS", "extract_state_dict", "legacy_entries", "load_model_weights"]

OCCUPANCY_BUFFERS = (
    "aabb_train",
    "aabb_infer",
    "density_grid",
    "density_bitfield",
    "step_counter",
    "density_grid_torso",
)


def _is_state_dict(obj) -> bool:
    return (
        isinstance(obj, dict)
        and bool(obj)
        and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items())
    )


def extract_state_dict(checkpoint: dict, use_ema: bool = True) -> dict[str, torch.Tensor]:
    """The weights a checkpoint holds; with ``use_ema`` our EMA shadow replaces the raw
    values of the parameters it tracks."""
    if isinstance(checkpoint.get("model"), dict):
        state = dict(checkpoint["model"])
    elif _is_state_dict(checkpoint):
        state = dict(checkpoint)
    else:
        raise CheckpointError(
            f"no model weights found: expected a 'model' entry or a state_dict, got keys "
            f"{sorted(map(str, checkpoint))[:10]}"
        )
    ema = checkpoint.get("ema")
    if use_ema and isinstance(ema, dict) and isinstance(ema.get("shadow"), dict):
        for name, value in ema["shadow"].items():
            if name in state:
                state[name] = value
    return state


def legacy_entries(model: nn.Module) -> dict[str, torch.Tensor]:
    """What a file written before some of the model's entries existed holds in their place:
    {key in model.state_dict(): value} from every submodule answering ``legacy_state()``
    (its own keys -> values)."""
    entries = {}
    for name, module in model.named_modules():
        legacy = getattr(module, "legacy_state", None)
        for key, value in (legacy() if callable(legacy) else {}).items():
            entries[f"{name}.{key}" if name else key] = value
    return entries


def _resolve_prefix(model_keys: list[str], saved: dict[str, torch.Tensor], optional=()) -> str:
    """'' if the saved keys are the model's own, else the prefix under which they all sit
    (keys in ``optional``, which a file may lack, do not count)."""
    needed = [
        k for k in model_keys if k.split(".")[-1] not in OCCUPANCY_BUFFERS and k not in optional
    ]
    if not needed or all(k in saved for k in needed):
        return ""
    k0 = needed[0]
    candidates = {s[: -len(k0)] for s in saved if s.endswith("." + k0)}
    best = max(candidates, key=lambda p: sum(p + k in saved for k in needed), default="")
    return best


def load_model_weights(
    model: nn.Module,
    path_or_checkpoint: str | Path | dict,
    strict: bool = True,
    use_ema: bool = True,
    prefix: str | None = None,
) -> dict[str, list[str] | str]:
    """Load weights into ``model`` (a backbone or a whole system).

    strict: every parameter and buffer of the model must be in the file (occupancy buffers
    excepted) and nothing else under the prefix; prefix: the key prefix of the model's
    weights in the file (None: detect). Returns {"prefix", "missing", "unexpected",
    "skipped"} (skipped: occupancy buffers of another shape, left to be recomputed).
    Raises CheckpointError naming the file for refused, unreadable or mismatching files.
    """
    where = "checkpoint" if isinstance(path_or_checkpoint, dict) else str(path_or_checkpoint)
    ckpt = (
        path_or_checkpoint
        if isinstance(path_or_checkpoint, dict)
        else load_checkpoint(path_or_checkpoint)
    )
    saved = extract_state_dict(ckpt, use_ema=use_ema)
    own = model.state_dict()
    legacy = legacy_entries(model)
    if prefix is None:
        prefix = _resolve_prefix(list(own), saved, legacy)
    state = {k[len(prefix) :]: v for k, v in saved.items() if k.startswith(prefix)}
    # what a module says a file written before one of its entries existed holds in its place
    for key, value in legacy.items():
        state.setdefault(key, value)
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    hard_missing = [k for k in missing if not _is_occupancy(k)]
    # an empty buffer of the model is sized by the file (e.g. GDRF's reference frames, whose
    # number and size come from the training folder); the model's own loader resizes it
    differ = [k for k in own if k in state and state[k].shape != own[k].shape and own[k].numel()]
    skipped = [k for k in differ if _is_occupancy(k)]
    shapes = [
        f"{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
        for k in differ
        if k not in skipped
    ]
    if shapes:
        raise CheckpointError(
            f"{where}: shapes differ from the model: "
            + "; ".join(shapes[:8])
            + _hint(model, own, state)
        )
    if strict and (hard_missing or unexpected):
        raise CheckpointError(
            f"{where}: weights do not match the model (prefix {prefix!r}): missing "
            f"{hard_missing[:8]}{' ...' if len(hard_missing) > 8 else ''}, unexpected "
            f"{unexpected[:8]}{' ...' if len(unexpected) > 8 else ''}" + _hint(model, own, state)
        )
    model.load_state_dict(
        {k: v for k, v in state.items() if k in own and k not in skipped}, strict=False
    )
    return {"prefix": prefix, "missing": missing, "unexpected": unexpected, "skipped": skipped}


def _is_occupancy(key: str) -> bool:
    return key.split(".")[-1] in OCCUPANCY_BUFFERS


def _hint(model: nn.Module, own: dict, state: dict) -> str:
    """'. Hint: ...' from the first module answering ``checkpoint_hint``, or ''."""
    for module in model.modules():
        answer = getattr(module, "checkpoint_hint", None)
        if callable(answer):
            text = answer(own, state)
            return f". Hint: {text}" if text else ""
    return ""
