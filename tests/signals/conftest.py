"""Fixtures of the signal tests: tiny randomly initialised HuBERT and wav2vec models saved to
temporary folders, so the extractors run their whole path with no downloaded weights
(``from_pretrained`` on a local folder, ``local_files_only``); studio folders (one target
identity, two for pre-training) and a pre-trained Audio2Exp checkpoint, once per session."""

from __future__ import annotations

import pytest

from lokitalk_plugins.data.studio import write_identity

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


PRE_STEPS = 150


@pytest.fixture(scope="session")
def a2e_target(tmp_path_factory):
    """Identity 0, 2 s (45 train frames, 5 val frames), 32 px."""
    return write_identity(tmp_path_factory.mktemp("a2e") / "id000", seconds=2.0, size=32)


@pytest.fixture(scope="session")
def a2e_aux(tmp_path_factory):
    """Identities 1 and 2, 1.2 s each (27 train frames), for pre-training."""
    root = tmp_path_factory.mktemp("a2e_aux")
    return [write_identity(root / f"id00{i}", identity=i, seconds=1.2, size=32) for i in (1, 2)]


@pytest.fixture(scope="session")
def a2e_pretrained(a2e_aux, tmp_path_factory):
    """(checkpoint path, summary) of a pre-training on the two auxiliary identities."""
    from lokitalk_plugins.train.audio2exp import train_audio2exp

    out = tmp_path_factory.mktemp("a2e_ckpt") / "a2e_pre.pt"
    summary = train_audio2exp(a2e_aux, out, steps=PRE_STEPS, hidden=32, audio_dim=32,
                              seq_len=12, seed=0, progress=False)  # fmt: skip
    return out, summary
