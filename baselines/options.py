"""Which of the originals' command-line options a checkpoint was trained with, read from the
difference between its state_dict and a model's: the hint a refused ``ngp.pth`` comes with.

Each option leaves a trace in the weights: ``--emb`` an ``embedding.weight`` [K, K];
``--train_camera`` ``camera_dR`` / ``camera_dT`` [ind_num, 3]; ``--ind_dim 0`` no
``individual_codes`` (another value: its width); ``-O`` (``--exp_eye``) one more input of the
first density layer (the eye value); ``--torso`` the ``torso_*`` submodules; the audio
features the width of the first audio conv; ``--bound`` the size of the point grids.
"""

from __future__ import annotations

__all__ = ["checkpoint_option_hint"]


def _find(state: dict, name: str):
    """The entry whose key is ``name`` or ends with ``.name`` (prefix-agnostic), else None."""
    for key, value in state.items():
        if key == name or key.endswith("." + name):
            return value
    return None


def _shape(state: dict, name: str):
    value = _find(state, name)
    return None if value is None else tuple(value.shape)


def _presence(own: dict, saved: dict, name: str, option: str, on: str, off: str) -> list[str]:
    """A hint when only one side has ``name``: the file was trained with(out) ``option``."""
    have, file = _find(own, name) is not None, _find(saved, name) is not None
    if file and not have:
        return [f"the file was trained with {option}: build the model with {on}"]
    if have and not file:
        return [f"the file was trained without {option}: build the model with {off}"]
    return []


def _codes(own: dict, saved: dict, name: str, option: str) -> list[str]:
    """Hints for a table of per-frame codes [ind_num, dim] (``--ind_dim`` / ``--ind_num``)."""
    mine, theirs = _shape(own, name), _shape(saved, name)
    if theirs is None:
        torso_file = _find(saved, "torso_net.net.0.weight") is not None
        off = mine is not None and (option == "ind_dim" or torso_file)
        return [f"the file was trained with --{option} 0: build the model with {option}=0"] * off
    hints = []
    if mine is None or mine[1] != theirs[1]:
        hints.append(
            f"the file was trained with --{option} {theirs[1]}: build the model with "
            f"{option}={theirs[1]}"
        )
    if mine is not None and mine[0] != theirs[0]:
        hints.append(
            f"the file has {theirs[0]} codes (--ind_num {theirs[0]}): build the model with "
            f"ind_num={theirs[0]}"
        )
    return hints


def _widths(own: dict, saved: dict) -> list[str]:
    """Hints from the input widths of the first density layer (-O) and audio conv (K)."""
    hints = []
    mine, theirs = _shape(own, "sigma_net.net.0.weight"), _shape(saved, "sigma_net.net.0.weight")
    if mine and theirs and theirs[1] == mine[1] - 1:
        hints.append(
            "the file was trained without -O (no eye input, --exp_eye off): build the model "
            "with exp_eye=False"
        )
    elif mine and theirs and theirs[1] == mine[1] + 1:
        hints.append("the file was trained with -O (--exp_eye): build the model with exp_eye=True")
    conv = "audio_net.encoder_conv.0.weight"
    mine, theirs = _shape(own, conv), _shape(saved, conv)
    if mine and theirs and mine[1] != theirs[1]:
        hints.append(
            f"the file's audio features have K={theirs[1]} channels: build the model with "
            f"audio_in_dim={theirs[1]}"
        )
    return hints


def checkpoint_option_hint(own: dict, saved: dict) -> str:
    """own: the model's state_dict; saved: the file's (same key prefix or none) -> one line
    naming every original option the difference points to, '' when none does."""
    hints = _presence(own, saved, "embedding.weight", "--emb", "emb=True", "emb=False")
    hints += _presence(
        own, saved, "camera_dR", "--train_camera", "train_camera=True", "train_camera=False"
    )
    hints += _codes(own, saved, "individual_codes", "ind_dim")
    hints += _codes(own, saved, "individual_codes_torso", "ind_dim_torso")
    hints += _widths(own, saved)
    hints += _presence(own, saved, "torso_net.net.0.weight", "--torso", "torso=True", "torso=False")
    for grid in ("encoder.embeddings", "encoder_xy.embeddings"):
        mine, theirs = _shape(own, grid), _shape(saved, grid)
        if mine and theirs and mine != theirs:
            hints.append(
                f"{grid} has {theirs[0]} entries, the model {mine[0]}: the file was trained "
                "with another --bound; build the model with the same bound"
            )
    return "; ".join(hints)
