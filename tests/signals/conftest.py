"""Tiny randomly initialised HuBERT and wav2vec models saved to temporary folders, so the
extractors run their whole path with no downloaded weights (``from_pretrained`` on a local
folder, ``local_files_only``)."""

from __future__ import annotations

import pytest

SMALL = dict(num_hidden_layers=1, num_attention_heads=2, intermediate_size=16,
             conv_dim=(8,) * 7, num_conv_pos_embeddings=4,
             num_conv_pos_embedding_groups=2)  # fmt: skip


def _save(model, folder):
    from transformers import Wav2Vec2FeatureExtractor

    model.eval().save_pretrained(folder)
    fe = Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16000, padding_value=0.0,
                                  do_normalize=True, return_attention_mask=True)  # fmt: skip
    fe.save_pretrained(folder)
    return folder


def _hubert(folder, hidden: int):
    transformers = pytest.importorskip("transformers")
    import torch

    torch.manual_seed(0)
    cfg = transformers.HubertConfig(hidden_size=hidden, **SMALL)
    return _save(transformers.HubertModel(cfg), folder)


@pytest.fixture(scope="session")
def tiny_hubert(tmp_path_factory):
    """HuBERT with 32-d hidden states (the [N, 2, 32] layout)."""
    return _hubert(tmp_path_factory.mktemp("models") / "tiny-hubert", 32)


@pytest.fixture(scope="session")
def tiny_hubert_1024(tmp_path_factory):
    """HuBERT with hubert-large's 1024-d hidden states (one layer): the aud_hu.npy layout."""
    return _hubert(tmp_path_factory.mktemp("models") / "tiny-hubert-1024", 1024)


@pytest.fixture(scope="session")
def tiny_wav2vec(tmp_path_factory):
    """A wav2vec 2.0 CTC model with the Esperanto model's 44 logits."""
    transformers = pytest.importorskip("transformers")
    import torch

    torch.manual_seed(1)
    cfg = transformers.Wav2Vec2Config(vocab_size=44, hidden_size=32, **SMALL)
    folder = tmp_path_factory.mktemp("models") / "tiny-wav2vec2-esperanto"
    return _save(transformers.Wav2Vec2ForCTC(cfg), folder)
