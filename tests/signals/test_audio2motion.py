"""Audio2Motion VAE: targets, KL, training on a tiny studio clip, checkpoint, command, F_a."""

import argparse
import math

import pytest
import torch

from lokitalk_plugins.commands import audio2motion as audio2motion_command
from lokitalk_plugins.data.audio import audio_window, load_audio_features
from lokitalk_plugins.data.audio2motion import (
    MOTION_POINTS,
    align_to,
    gather_windows,
    motion_targets,
    padded_features,
    read_split,
    to_pixels,
)
from lokitalk_plugins.data.studio import write_identity
from lokitalk_plugins.errors import UserError
from lokitalk_plugins.signals.audio2motion import Audio2Motion, elbo_loss, gaussian_kl
from lokitalk_plugins.train.audio2motion import load_audio2motion, train_audio2motion
from lokitalk_plugins.train.checkpoint import CheckpointError, atomic_save, load_checkpoint

STEPS = 400


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return write_identity(tmp_path_factory.mktemp("a2m") / "id", seconds=2.0, size=32, seed=0)


@pytest.fixture(scope="module")
def trained(folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("a2m_ckpt") / "a2m.pt"
    summary = train_audio2motion(folder, out, steps=STEPS, batch=32, seed=0, progress=False)
    return out, summary


def _model(k=32, seed=0, **kw):
    torch.manual_seed(seed)
    return Audio2Motion(k, **kw)


def test_shapes():
    model = _model(latent_dim=16, hidden=32)
    w = torch.randn(5, 8, 32, 16)
    assert model.feature(w).shape == (5, 16)
    assert model.motion(w).shape == (5, 33, 2)
    out = model(w, torch.randn(5, 33, 2) * 0.05)
    assert out["recon"].shape == out["prior_recon"].shape == (5, 33, 2)
    assert out["mu_q"].shape == out["logvar_p"].shape == (5, 16)
    terms = elbo_loss(out)
    assert all(t.ndim == 0 and torch.isfinite(t) for t in terms.values())


def test_kl_identical_is_zero_and_matches_closed_form():
    mu, logvar = torch.tensor([[0.3, -1.2]]), torch.tensor([[0.5, -0.7]])
    assert gaussian_kl(mu, logvar, mu, logvar).item() == pytest.approx(0.0, abs=1e-7)
    # hand value, 1-D: q = N(1, 1), p = N(0, 4): 0.5 (ln 4 + (1 + 1) / 4 - 1) = ln 2 - 0.25
    kl = gaussian_kl(torch.tensor([[1.0]]), torch.tensor([[0.0]]),
                     torch.tensor([[0.0]]), torch.tensor([[math.log(4.0)]]))  # fmt: skip
    assert kl.item() == pytest.approx(math.log(2.0) - 0.25, rel=1e-6)
    g = torch.Generator().manual_seed(1)
    mq, mp = torch.randn(4, 6, generator=g), torch.randn(4, 6, generator=g)
    lq, lp = torch.randn(4, 6, generator=g), torch.randn(4, 6, generator=g)
    q = torch.distributions.Normal(mq, torch.exp(0.5 * lq))
    p = torch.distributions.Normal(mp, torch.exp(0.5 * lp))
    ref = torch.distributions.kl_divergence(q, p).sum(-1)
    torch.testing.assert_close(gaussian_kl(mq, lq, mp, lp), ref, rtol=1e-5, atol=1e-6)


def test_alignment_removes_similarity_and_normalises(folder):
    _, _, lms = read_split(folder, "train")
    motion, stats = motion_targets(lms)
    assert motion.shape == (lms.shape[0], len(MOTION_POINTS), 2) == (45, 33, 2)
    # a rotated, scaled, shifted copy of the clip has the same motion
    a = 1.3 * torch.exp(torch.tensor(0.2j))
    z = torch.complex(lms[..., 0].double(), lms[..., 1].double()) * a + (4 - 2j)
    moved = torch.stack([z.real, z.imag], -1).float()
    motion2, stats2 = motion_targets(moved)
    torch.testing.assert_close(motion2, motion, atol=1e-4, rtol=0)
    assert stats2["iod"] == pytest.approx(1.3 * stats["iod"], rel=1e-4)
    # the target aligns onto itself, and to_pixels of zero motion is the reference
    torch.testing.assert_close(align_to(stats["target"][None], stats["target"])[0],
                               stats["target"], atol=1e-4, rtol=0)  # fmt: skip
    torch.testing.assert_close(to_pixels(torch.zeros(1, 33, 2), stats)[0],
                               stats["reference"][list(MOTION_POINTS)])  # fmt: skip
    assert motion.mean(0).abs().max() < 1e-5  # per-clip mean removed


def test_gathered_windows_equal_audio_window(folder):
    feats = load_audio_features(folder / "aud.npy")
    padded = padded_features(folder, "aud.npy")
    ids = [0, 2, 25, feats.shape[0] - 1]
    got = gather_windows(padded, torch.tensor(ids))
    for row, i in zip(got, ids):
        assert torch.equal(row, audio_window(feats, i, 8))


def test_training_lowers_loss_and_beats_zero_motion_on_train(trained):
    _, summary = trained
    assert summary["loss_last"] < 0.5 * summary["loss_first"]
    tr = summary["train"]
    assert tr["frames"] == 45 and summary["val"]["frames"] == 5
    assert tr["model_mse"] < 0.8 * tr["zero_mse"]
    assert tr["model_dist"] < tr["zero_dist"]


def test_checkpoint_round_trip_identical(trained, folder):
    path, _ = trained
    ckpt = load_checkpoint(path)  # weights-only load succeeds
    assert ckpt["kind"] == "audio2motion" and ckpt["stats"]["target"].shape == (68, 2)
    a, b = load_audio2motion(path), load_audio2motion(path, audio_in_dim=32)
    w = gather_windows(padded_features(folder, "aud.npy"), torch.arange(10))
    assert torch.equal(a.feature(w), b.feature(w))
    assert torch.equal(a.motion(w), b.motion(w))
    assert a.audio_std.ne(1).any()  # the standardisation stats were saved


def test_mismatched_audio_dim_refused(trained, tmp_path):
    path, _ = trained
    with pytest.raises(CheckpointError, match="K=32 channels, but K=29"):
        load_audio2motion(path, audio_in_dim=29)
    model = load_audio2motion(path)
    with pytest.raises(ValueError, match="K=32 channels, got windows with K=29"):
        model.feature(torch.zeros(2, 8, 29, 16))
    # a config that does not fit its weights is refused too
    ckpt = load_checkpoint(path)
    ckpt["config"]["latent_dim"] = 7
    atomic_save(ckpt, tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match="do not fit"):
        load_audio2motion(tmp_path / "bad.pt")


def test_feature_deterministic_and_differentiable():
    model = _model(latent_dim=8, hidden=32).eval()
    w = torch.randn(3, 8, 32, 16, requires_grad=True)
    f1, f2 = model.feature(w), model.feature(w)
    assert torch.equal(f1, f2)
    f1.sum().backward()
    assert w.grad is not None and w.grad.abs().sum() > 0 and torch.isfinite(w.grad).all()


def test_command_prints_errors(folder, tmp_path, capsys):
    parser = argparse.ArgumentParser()
    audio2motion_command.configure(parser)
    out = tmp_path / "cmd.pt"
    args = parser.parse_args(["--data", str(folder), "--out", str(out), "--steps", "20",
                              "--batch", "16", "--latent", "8", "--no-progress"])  # fmt: skip
    assert audio2motion_command.run(args) == 0
    text = capsys.readouterr().out
    assert "train" in text and "val" in text and "zero dist" in text
    assert load_audio2motion(out).latent_dim == 8
    bad = parser.parse_args(["--data", str(tmp_path / "nope"), "--out", str(out)])
    with pytest.raises(UserError, match="nope: no such folder"):  # lokitalk: one line, exit 2
        audio2motion_command.run(bad)
