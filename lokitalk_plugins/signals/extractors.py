"""Audio feature extractors of the originals, by name: a WAV -> the ``aud*.npy`` they write.

``lokitalk_plugins.signals.extract.extract_features`` runs one on a WAV. An extractor is
named by a spec: ``"hubert"``, ``"wav2vec"``, ``"studio"`` or ``"deepspeech"``, or
``"hubert@MODEL"`` / ``"wav2vec@MODEL"`` for other weights (a Hugging Face name or a local
folder). The spec is what a workspace's ``run.json`` records as its ``featurizer``. HuBERT
and wav2vec run through ``transformers`` (the ``[extractors]`` extra) with weights from a
local folder or the Hugging Face cache, never downloaded here.
DeepSpeech needs TensorFlow 1.x and is refused with the command to run instead.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lokitalk_plugins.errors import UserError

__all__ = [
    "EXTRACTORS",
    "DEFAULT_MODELS",
    "FEATURE_FILES",
    "SAMPLE_RATE",
    "ExtractorError",
    "parse_spec",
    "format_spec",
    "resolve_spec",
    "spec_from_file",
    "check_spec_fits",
    "deepspeech_message",
    "weights_location",
    "load_extractor",
]

EXTRACTORS = ("studio", "hubert", "wav2vec", "deepspeech")
# the models the originals load (ER-NeRF data_utils/hubert.py; RAD-NeRF main.py --asr_model)
DEFAULT_MODELS = {
    "hubert": "facebook/hubert-large-ls960-ft",
    "wav2vec": "cpierse/wav2vec2-large-xlsr-53-esperanto",
}
# the file names the originals' preprocessing writes in a data folder
FEATURE_FILES = {"aud_hu.npy": "hubert", "aud_eo.npy": "wav2vec", "aud_ds.npy": "deepspeech"}
SAMPLE_RATE = 16000  # every extractor's input rate


class ExtractorError(UserError, ValueError):
    """An extractor that cannot run here (unknown, weights missing, DeepSpeech)."""


def parse_spec(spec: str) -> tuple[str, str | None]:
    """``"hubert@MODEL"`` -> ("hubert", "MODEL"); ``"hubert"`` -> ("hubert", default model)."""
    name, _, model = str(spec).partition("@")
    if name not in EXTRACTORS:
        raise ExtractorError(
            f"unknown audio extractor {spec!r}: use one of {', '.join(EXTRACTORS)} "
            "(hubert and wav2vec also as NAME@MODEL)"
        )
    if model and name not in DEFAULT_MODELS:
        raise ExtractorError(f"the {name} extractor takes no model, got {spec!r}")
    return name, (model or DEFAULT_MODELS.get(name))


def format_spec(name: str, model: str | None = None) -> str:
    """The spec of an extractor and model: the bare name for the default model."""
    name, default = parse_spec(name)
    return name if model in (None, default) else f"{name}@{model}"


def resolve_spec(spec: str) -> str:
    """The spec with a local model folder made absolute (so a workspace's record holds from
    any working directory); names and the default model are kept as they are."""
    name, model = parse_spec(spec)
    if model is not None and Path(model).expanduser().is_dir():
        model = str(Path(model).expanduser().resolve())
    return format_spec(name, model)


def spec_from_file(path) -> str | None:
    """The extractor the originals' file name says made a feature file, when its shape
    agrees (aud_hu.npy [N, 2, 1024], aud_eo.npy [N, 16, 44], aud_ds.npy [N, 16, 29])."""
    path = Path(path)
    name = FEATURE_FILES.get(path.name)
    if name is None or not path.is_file():
        return None
    shape = np.load(path, mmap_mode="r").shape
    want = {"hubert": (2, 1024), "wav2vec": (16, 44), "deepspeech": (16, 29)}[name]
    return name if len(shape) == 3 and tuple(shape[1:]) == want else None


def check_spec_fits(spec: str, path) -> None:
    """Raise ExtractorError when a feature file's shape cannot come from extractor ``spec``
    (hubert: [N, 2, D]; the others [N, 16, K]; K = 29 DeepSpeech, 44 the default wav2vec)."""
    name, model = parse_spec(spec)
    path = Path(path)
    if not path.is_file():
        return
    shape = tuple(np.load(path, mmap_mode="r").shape)
    want = {"deepspeech": 29, "wav2vec": 44 if model == DEFAULT_MODELS["wav2vec"] else None}
    t = 2 if name == "hubert" else 16
    k = want.get(name)
    if len(shape) != 3 or shape[1] != t or (k is not None and shape[2] != k):
        layout = f"[N, {t}, {k if k is not None else 'K'}]"
        raise ExtractorError(
            f"{path}: features of shape {list(shape)} cannot come from the {spec} extractor, "
            f"which writes {layout}: name the extractor that made them"
        )


def deepspeech_message(wav="speech.wav") -> str:
    stem = Path(str(wav)).with_suffix("")
    return (
        "DeepSpeech features need TensorFlow 1.x, which does not install with this Python and "
        "PyTorch: in the original RAD-NeRF/ER-NeRF environment run `python data_utils/"
        f"deepspeech_features/extract_ds_features.py --input {wav}` (writes {stem}.npy), then "
        f"pass --audio-features {stem}.npy"
    )


def _missing_weights(name: str, model: str) -> ExtractorError:
    from huggingface_hub.constants import HF_HUB_CACHE

    return ExtractorError(
        f"{name} weights {model!r} are neither a local folder nor in the Hugging Face cache "
        f"({HF_HUB_CACHE}); nothing is downloaded at run time: fetch them once with "
        f"`hf download {model}`, or pass --model FOLDER (a folder with config.json, "
        "preprocessor_config.json and the weights)"
    )


def weights_location(name: str, model: str) -> str:
    """Where ``from_pretrained`` finds the weights: the local folder ``model``, or the Hugging
    Face name when the local cache holds it. Raises ExtractorError (what to put where)."""
    if name not in DEFAULT_MODELS:
        raise ExtractorError(f"{name} is not a transformers extractor")
    local = Path(model).expanduser()
    if local.is_dir():
        return str(local)
    from huggingface_hub import try_to_load_from_cache

    if not isinstance(try_to_load_from_cache(model, "config.json"), str):
        raise _missing_weights(name, model)
    return model


def load_extractor(name: str, model: str | None = None, device=None):
    """(feature_extractor, model) of ``transformers`` for "hubert" (HubertModel) or
    "wav2vec" (AutoModelForCTC), in eval mode on ``device`` (default: CUDA when present).

    model: a local folder, or a Hugging Face name looked up in the local cache only.
    Raises ExtractorError naming the model and where to put it when the weights are absent.
    """
    name, model = parse_spec(format_spec(name, model))
    where = weights_location(name, model)
    try:
        import torch
        from transformers import AutoFeatureExtractor, AutoModelForCTC, HubertModel
        from transformers.utils import logging as hf_logging
    except ImportError:
        raise ExtractorError(
            f"the {name} extractor needs transformers: pip install 'lokitalk-plugins[extractors]'"
        ) from None
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        fe = AutoFeatureExtractor.from_pretrained(where, local_files_only=True)
        cls = HubertModel if name == "hubert" else AutoModelForCTC
        net = cls.from_pretrained(where, local_files_only=True)
    except OSError as err:
        raise ExtractorError(f"{name} weights {model!r} could not be loaded: {err}") from None
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    return fe, net.to(device=device, dtype=torch.float32).eval()
