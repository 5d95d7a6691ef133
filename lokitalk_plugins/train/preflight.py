"""Checks run before the first step, so bad input fails at once with a clear message.

- the system implements ``TrainableSystem`` and is an ``nn.Module``; the dataset is not empty;
- the audio features match the model: every submodule of the system that declares an
  ``audio_in_dim`` (the backbones' audio networks do) must equal the K of the dataset's
  feature file (``dataset.audio_features`` [N, K, T]);
- the audio windows match the model: a submodule with ``att`` 1 (the originals' ``--att 1``,
  attention over the 8 windows before each frame) needs ``dataset.audio_att`` 1, and a model
  with att 0 or 2 a dataset whose windows are centred on the frame;
- a system may add its own checks with an optional ``check_dataset(dataset)`` method that
  raises a ``DataMismatchError`` (or ``ValueError``) on a mismatch.

Folder validation itself happens when the dataset is built (``TalkingHeadFolder`` lists every
problem of the folder in one ``FolderValidationError``).
"""

from __future__ import annotations

from typing import Any

from torch import nn

from lokitalk_plugins.errors import UserError
from lokitalk_plugins.train.system import TrainableSystem

__all__ = ["DataMismatchError", "check_system", "check_data"]


class DataMismatchError(UserError, ValueError):
    """The data does not fit the model (e.g. audio feature dim); names file, found, expected."""


def check_system(system: Any) -> None:
    """Raise TypeError unless ``system`` is an nn.Module implementing TrainableSystem."""
    if not isinstance(system, nn.Module):
        raise TypeError(f"the system must be a torch.nn.Module, got {type(system).__name__}")
    if not isinstance(system, TrainableSystem):
        needed = ("set_stage", "parameter_groups", "training_step", "after_step", "render_frame")
        lacking = [m for m in needed if not callable(getattr(system, m, None))]
        raise TypeError(
            f"{type(system).__name__} does not implement TrainableSystem: lacks {lacking}"
        )


def _audio_dims(system: nn.Module) -> dict[str, int]:
    """{submodule name: audio_in_dim} for every submodule declaring one."""
    return {
        name or type(system).__name__: int(m.audio_in_dim)
        for name, m in system.named_modules()
        if isinstance(getattr(m, "audio_in_dim", None), int)
    }


def check_data(system: nn.Module, dataset: Any, name: str = "dataset") -> None:
    """Raise ValueError / DataMismatchError if ``dataset`` cannot train ``system``."""
    try:
        n = len(dataset)
    except TypeError:
        raise TypeError(f"the {name} must have a length (a map-style dataset)") from None
    if n == 0:
        raise ValueError(f"the {name} holds no frame")
    features = getattr(dataset, "audio_features", None)
    if features is not None and getattr(features, "ndim", 0) == 3:
        k = int(features.shape[1])
        source = getattr(dataset, "root", None)
        audio_file = getattr(dataset, "audio_file", None)
        where = (
            f"{source}/{audio_file}"
            if source and audio_file
            else (f"audio features of {source}" if source else f"the {name}'s audio features")
        )
        for module, expected in _audio_dims(system).items():
            if expected != k:
                raise DataMismatchError(
                    f"{where}: audio features have K={k} (windows [{k}, "
                    f"{int(features.shape[2])}]) but the model's {module} expects "
                    f"audio_in_dim={expected}; set the model's audio_in_dim to {k} (e.g. "
                    f"RADNeRF.audio_in_dim = {k}) or choose the matching feature file "
                    "(29 DeepSpeech, 44 wav2vec, 1024 HuBERT)"
                )
    _check_audio_att(system, dataset, name)
    check = getattr(system, "check_dataset", None)
    if callable(check):
        check(dataset)


def _check_audio_att(system: nn.Module, dataset: Any, name: str) -> None:
    """The windows the dataset stacks must be the ones the model's attention expects."""
    have = int(getattr(dataset, "audio_att", 2))
    for module_name, m in system.named_modules():
        att = getattr(m, "att", None)
        if not isinstance(att, int) or not isinstance(getattr(m, "audio_in_dim", None), int):
            continue
        if (att == 1) != (have == 1):
            where = module_name or type(system).__name__
            raise DataMismatchError(
                f"the model's {where} has att={att} but the {name} stacks audio windows for "
                f"audio_att={have}; bind TalkingHeadFolder.audio_att = {att} (or the model's att "
                f"to {have})"
            )
