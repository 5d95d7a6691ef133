"""Fixtures of the Audio2Exp tests: studio folders (one target identity, two for pre-training)
and a pre-trained checkpoint, once per session."""

from __future__ import annotations

import pytest

from lokitalk_plugins.data.studio import write_identity

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
    from lokitalk_plugins.signals.audio2exp_train import train_audio2exp

    out = tmp_path_factory.mktemp("a2e_ckpt") / "a2e_pre.pt"
    summary = train_audio2exp(a2e_aux, out, steps=PRE_STEPS, hidden=32, audio_dim=32,
                              seq_len=12, seed=0, progress=False)  # fmt: skip
    return out, summary
