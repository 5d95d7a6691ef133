"""The one-file, weights-only checkpoints of the signal plug-ins (Audio2Motion, Audio2Exp, the
lip-sync module): {"kind", "config" (constructor keywords), "state_dict", ..., "summary"};
loading checks the kind, the config, the audio features' K, then the weights."""

from __future__ import annotations

from pathlib import Path

from torch import nn

from lokitalk_plugins.train.checkpoint import CheckpointError, atomic_save, load_checkpoint

__all__ = ["load_signal_model", "load_signal_checkpoint", "save_signal_checkpoint"]


def save_signal_checkpoint(out, kind: str, model: nn.Module, summary: dict, **extra) -> None:
    """Write {"kind", "config": model.config(), "state_dict", **extra, "summary" (without its
    "out")} to ``out`` atomically; tensors and plain containers only (weights-only loadable)."""
    ckpt = {"kind": kind, "config": model.config(), "state_dict": model.state_dict(), **extra}
    ckpt["summary"] = {k: v for k, v in summary.items() if k != "out"}
    atomic_save(ckpt, out)


def load_signal_model(
    path: str | Path,
    kind: str,
    cls: type[nn.Module],
    label: str,
    command: str,
    audio_in_dim: int | None = None,
    map_location="cpu",
) -> nn.Module:
    """``cls(**config)`` with the checkpoint's weights, in eval mode (see
    :func:`load_signal_checkpoint`)."""
    return load_signal_checkpoint(path, kind, cls, label, command, audio_in_dim, map_location)[0]


def load_signal_checkpoint(
    path: str | Path,
    kind: str,
    cls: type[nn.Module],
    label: str,
    command: str,
    audio_in_dim: int | None = None,
    map_location="cpu",
) -> tuple[nn.Module, dict]:
    """(``cls(**config)`` with the checkpoint's weights in eval mode, the checkpoint dict).

    kind: the checkpoint's "kind"; label: the model's name in messages ("an Audio2Motion");
    command: the command that trains one (named in the K mismatch message); audio_in_dim:
    the K of the features the caller will feed (None: not checked). Raises CheckpointError
    naming the file when the kind differs, the config or the weights do not fit, or K differs.
    """
    ckpt = load_checkpoint(path, map_location=map_location)
    if ckpt.get("kind") != kind or not isinstance(ckpt.get("config"), dict):
        raise CheckpointError(f"{path}: not {label} checkpoint (kind {ckpt.get('kind')!r})")
    config = ckpt["config"]
    try:
        model = cls(**config)
    except (TypeError, ValueError) as err:
        msg = f"{path}: {cls.__name__} config {config} does not fit: {err}"
        raise CheckpointError(msg) from None
    if audio_in_dim is not None and int(audio_in_dim) != model.audio_in_dim:
        raise CheckpointError(
            f"{path}: this {cls.__name__} was trained on audio features with "
            f"K={model.audio_in_dim} channels, but K={audio_in_dim} was asked for; "
            f"train one on these features ({command} --audio-file ...)"
        )
    try:
        model.load_state_dict(ckpt["state_dict"])
    except (RuntimeError, KeyError) as err:
        msg = f"{path}: weights do not fit the saved config {config}: {err}"
        raise CheckpointError(msg) from None
    return model.eval(), ckpt
