"""GDRF's Audio2Exp LSTM: ground-truth reader, streaming, pre-training and fine-tuning on tiny
studio clips, checkpoints, and the F_a condition built from it."""

import shutil

import numpy as np
import pytest
import torch

from lokitalk_plugins.data.audio2exp import read_clip, read_track_params, runs
from lokitalk_plugins.data.audio2motion import gather_windows, padded_features
from lokitalk_plugins.signals.audio2exp import Audio2Exp, principal_axes
from lokitalk_plugins.train.audio2exp import (
    load_audio2exp,
    load_audio2exp_model,
    param_errors,
    train_audio2exp,
)
from lokitalk_plugins.train.checkpoint import CheckpointError, atomic_save, load_checkpoint


def _copy(folder, tmp_path, **track):
    """A copy of a studio folder whose track_params.pt has the entries ``track`` replaced
    (None removes one)."""
    out = shutil.copytree(folder, tmp_path / folder.name)
    params = torch.load(out / "track_params.pt", weights_only=True)
    for k, v in track.items():
        params.pop(k) if v is None else params.__setitem__(k, v)
    torch.save(params, out / "track_params.pt")
    return out


def test_reads_what_the_studio_writes(a2e_target):
    raw = torch.load(a2e_target / "track_params.pt", weights_only=True)
    track = read_track_params(a2e_target / "track_params.pt")
    assert track["exp"].shape == (50, 79) and track["id"].shape == (1, 100)
    assert torch.equal(track["pose"], torch.cat([raw["euler"], raw["trans"]], 1))
    clip = read_clip(a2e_target, "train")
    assert len(clip) == 45 and clip.frames.shape == (45, 32, 16)
    assert torch.equal(clip.exp, raw["exp"][:45])
    assert runs(torch.tensor([3, 4, 5, 9, 10, 2])) == [(0, 3), (3, 5), (5, 6)]


def test_bad_tracking_files_name_the_problem(a2e_target, tmp_path):
    with pytest.raises(FileNotFoundError, match="track_params.pt: not found"):
        read_track_params(tmp_path / "track_params.pt")
    no_exp = _copy(a2e_target, tmp_path / "a", exp=None)
    with pytest.raises(ValueError, match=r"has no 'exp' \(found \['euler', 'focal', 'id'"):
        read_track_params(no_exp / "track_params.pt")
    raw = torch.load(a2e_target / "track_params.pt", weights_only=True)
    uneven = _copy(a2e_target, tmp_path / "b", euler=raw["euler"][:49])
    with pytest.raises(ValueError, match="length mismatch, exp has 50 rows, euler 49, trans 50"):
        read_track_params(uneven / "track_params.pt")
    short = _copy(a2e_target, tmp_path / "c", exp=raw["exp"][:40], euler=raw["euler"][:40],
                  trans=raw["trans"][:40])  # fmt: skip
    with pytest.raises(ValueError, match="it has 40 rows but transforms_train.json uses img_id"):
        read_clip(short, "train")


def test_clip_shorter_than_the_window_is_refused(a2e_target, tmp_path):
    with pytest.raises(ValueError, match="at most 45 consecutive frames, fewer than the LSTM "
                                         "window of 46"):  # fmt: skip
        train_audio2exp([a2e_target], tmp_path / "x.pt", steps=1, seq_len=46, progress=False)
    with pytest.raises(ValueError, match="batch and seq_len positive; got steps=1, batch=0"):
        train_audio2exp([a2e_target], tmp_path / "x.pt", steps=1, batch=0, progress=False)
    assert not (tmp_path / "x.pt").exists()


def test_streamed_chunks_equal_one_pass():
    torch.manual_seed(0)
    model = Audio2Exp(12, exp_dim=5, audio_dim=16, hidden=24, layers=2).eval()
    torch.nn.init.normal_(model.head.weight, std=0.5)  # the head starts at zero
    frames = torch.randn(41, 12, 16)
    whole = model(frames[None])
    for chunk in (1, 7, 41, 100):
        streamed = model.stream(frames, chunk=chunk)
        for key in ("exp", "pose", "hidden"):
            torch.testing.assert_close(streamed[key], whole[key][0], rtol=0, atol=1e-5)
    assert whole["exp"].shape == (1, 41, 5) and whole["pose"].shape == (1, 41, 6)
    assert whole["exp"][0].std(0).min() > 0  # the outputs do vary over time
    # without the state carried over, chunks differ from one pass
    cut = torch.cat([model(p[None])["exp"][0] for p in frames.split(7)])
    assert not torch.allclose(cut, whole["exp"][0], atol=1e-3)


def test_untrained_model_predicts_the_training_mean(a2e_target):
    clip = read_clip(a2e_target, "train")
    model = Audio2Exp(32, hidden=16, audio_dim=16)
    target = torch.cat([clip.exp, clip.pose], 1)
    model.set_stats(torch.zeros(32), torch.ones(32), target.mean(0), target.std(0))
    err = param_errors(model.eval(), clip)
    assert err["model_exp_mse"] == pytest.approx(err["mean_exp_mse"], rel=1e-5)
    assert err["model_pose_mse"] == pytest.approx(err["mean_pose_mse"], rel=1e-5)


def test_pretraining_lowers_the_loss_and_beats_the_mean(a2e_pretrained):
    _, summary = a2e_pretrained
    assert summary["loss_last"] < 0.5 * summary["loss_first"]
    assert summary["windows"] == 2 * (27 - 12 + 1) and summary["seq_len"] == 12
    for clip in summary["clips"]:
        tr = clip["train"]
        assert tr["frames"] == 27 and clip["val"]["frames"] == 3
        assert tr["model_exp_mse"] < 0.7 * tr["mean_exp_mse"]


def test_finetuning_starts_from_the_pretrained_model(a2e_pretrained, a2e_target, tmp_path):
    pre_path, _ = a2e_pretrained
    pre = load_audio2exp_model(pre_path)
    before = param_errors(pre, read_clip(a2e_target, "train"))
    out = tmp_path / "a2e.pt"
    summary = train_audio2exp([a2e_target], out, init=pre_path, steps=60, lr=3e-4,
                              progress=False)  # fmt: skip
    assert summary["init"] == str(pre_path) and summary["seq_len"] == 12
    tuned = load_audio2exp_model(out, audio_in_dim=32)
    assert tuned.config() == pre.config()
    assert torch.equal(tuned.audio_mean, pre.audio_mean)  # standardisation kept
    after = summary["clips"][0]["train"]
    assert after["model_exp_mse"] < before["model_exp_mse"]


def test_condition_is_unit_rms_on_training_frames(a2e_pretrained, a2e_aux):
    path, _ = a2e_pretrained
    cond = load_audio2exp(path, dim=8, audio_in_dim=32)
    assert cond.latent_dim == 8 and cond.audio_in_dim == 32
    windows = torch.cat([gather_windows(padded_features(f, "aud.npy"), read_clip(f).aud_ids)
                         for f in a2e_aux])  # fmt: skip
    f_a = cond.feature(windows)
    assert f_a.shape == (54, 8)
    torch.testing.assert_close(f_a.mean(0), torch.zeros(8), atol=1e-4, rtol=0)
    # unit RMS: the variance (N - 1 denominator) summed over the 8 channels is 8
    assert f_a.pow(2).sum().item() / 53 == pytest.approx(8.0, rel=1e-3)
    # by hand: the standardised β̃ ⊕ P̃ at the frame (step 4 of 8) on the axes
    s = cond.model(windows)["params"][:, 4]
    axes = principal_axes(s)
    manual = (s - axes["mean"]) @ axes["axes"][:, :8] / axes["variance"][:8].mean().sqrt()
    torch.testing.assert_close(f_a, manual, atol=1e-4, rtol=1e-4)
    hidden = load_audio2exp(path, dim=16, source="hidden")
    assert hidden.feature(windows[:3]).shape == (3, 16)


def test_condition_and_checkpoint_errors(a2e_pretrained, tmp_path):
    path, _ = a2e_pretrained
    with pytest.raises(CheckpointError, match=r"dim=86: the 'params' features have 85 channels"):
        load_audio2exp(path, dim=86)
    with pytest.raises(CheckpointError, match="K=32 channels, but K=29"):
        load_audio2exp(path, audio_in_dim=29)
    with pytest.raises(ValueError, match="K=32 channels, got K=29"):
        load_audio2exp(path).feature(torch.zeros(2, 8, 29, 16))
    ckpt = load_checkpoint(path)
    ckpt["kind"] = "audio2motion"
    atomic_save(ckpt, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not an Audio2Exp checkpoint"):
        load_audio2exp(tmp_path / "other.pt")


@pytest.mark.parametrize("layout", [(16, 29), (2, 1024)])  # DeepSpeech-like K=29; HuBERT
def test_any_audio_feature_layout_trains(a2e_target, tmp_path, layout):
    folder = shutil.copytree(a2e_target, tmp_path / "id")
    feats = np.random.default_rng(0).normal(size=(50, *layout)).astype(np.float32)
    np.save(folder / "other.npy", feats)
    summary = train_audio2exp([folder], tmp_path / "k.pt", steps=2, hidden=8, audio_dim=8,
                              audio_file="other.npy", progress=False)  # fmt: skip
    assert summary["clips"][0]["train"]["frames"] == 45
    assert load_audio2exp_model(tmp_path / "k.pt").audio_in_dim == layout[1]
    assert load_audio2exp(tmp_path / "k.pt", dim=4).feature(
        torch.zeros(1, 8, layout[1], layout[0])
    ).shape == (1, 4)
