"""Lip-sync contrastive module (DH-NeRF §3.4): InfoNCE values, negatives, training on a tiny
studio clip, clear errors, checkpoint, the command, and its audio branch as a backbone's F_a."""

from __future__ import annotations

import argparse
import math

import pytest
import torch

from lokitalk_plugins.commands import lipsync as lipsync_command
from lokitalk_plugins.data.audio2motion import gather_windows, padded_features, read_split
from lokitalk_plugins.data.lipsync import check_clip, lips_crops
from lokitalk_plugins.data.studio import write_identity
from lokitalk_plugins.errors import UserError
from lokitalk_plugins.signals.lipsync import (
    LipSync,
    draw_negatives,
    info_nce,
    negative_candidates,
)
from lokitalk_plugins.train.checkpoint import CheckpointError, atomic_save, load_checkpoint
from lokitalk_plugins.train.lipsync import lipsync_scores, load_lipsync, train_lipsync

STEPS = 150


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return write_identity(tmp_path_factory.mktemp("lipsync") / "id", seconds=2.0, size=32, seed=0)


@pytest.fixture(scope="module")
def trained(folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("lipsync_ckpt") / "lipsync.pt"
    summary = train_lipsync(folder, out, steps=STEPS, batch=16, seed=0, progress=False)
    return out, summary


def test_info_nce_known_values():
    a = torch.tensor([[1.0, 0.0, 0.0]])
    # identical embeddings everywhere: log(N + 1)
    same = info_nce(a, a, a[:, None].expand(1, 10, 3))
    assert same.item() == pytest.approx(math.log(11), rel=1e-6)
    # positive = anchor (scaled: cosine ignores length), negatives orthogonal: log(1 + N e^-2)
    orth = torch.tensor([0.0, 1.0, 0.0]).expand(1, 10, 3)
    v = info_nce(a, 3 * a, orth, tau=0.5)
    assert v.item() == pytest.approx(math.log(1 + 10 * math.exp(-2)), rel=1e-6)
    # positive opposite to the anchor (d = -1): log(1 + N e^{2})
    w = info_nce(a, -a, orth, tau=0.5)
    assert w.item() == pytest.approx(math.log(1 + 10 * math.exp(2)), rel=1e-6)
    # equals cross-entropy over the N + 1 cosine logits, per anchor
    g = torch.Generator().manual_seed(0)
    anc, pos, neg = (
        torch.randn(4, 6, generator=g),
        torch.randn(4, 6, generator=g),
        torch.randn(4, 10, 6, generator=g),
    )
    cos = torch.nn.functional.cosine_similarity
    logits = torch.cat([cos(anc, pos)[:, None], cos(anc[:, None], neg, dim=-1)], 1) / 0.5
    ref = torch.nn.functional.cross_entropy(
        logits, torch.zeros(4, dtype=torch.long), reduction="none"
    )
    torch.testing.assert_close(info_nce(anc, pos, neg), ref)
    with pytest.raises(ValueError, match=r"negatives \[B, N, D\]"):
        info_nce(anc, pos, neg[:, :, :5])


def test_negatives_are_far_distinct_and_seeded():
    aud = torch.arange(30)
    cand = negative_candidates(aud, 8)
    assert cand[10].sum() == 30 - 15  # frames 3..17 are within 7 of frame 10
    anchors = torch.tensor([0, 10, 29, 10])
    neg = draw_negatives(cand, anchors, 10, torch.Generator().manual_seed(0))
    assert neg.shape == (4, 10)
    assert ((aud[neg] - aud[anchors, None]).abs() >= 8).all()
    assert all(row.unique().numel() == 10 for row in neg)
    again = draw_negatives(cand, anchors, 10, torch.Generator().manual_seed(0))
    assert torch.equal(neg, again)
    with pytest.raises(ValueError, match="fewer than 16 unrelated frames"):
        draw_negatives(cand, anchors, 16)


def test_scores_of_perfect_and_blind_encoders():
    class Fake:
        def __init__(self, lips):
            self.lips = lips

        def encode_lips(self, crops):
            return self.lips(crops)

        def encode_audio(self, windows):
            return torch.eye(30)[windows.long()]  # frame i's audio -> e_i

    idx = torch.arange(30)
    cand = negative_candidates(idx, 8)
    perfect = lipsync_scores(Fake(lambda c: torch.eye(30)[c.long()]), idx, idx, cand, 10)
    assert perfect["top1"] == 1.0 and perfect["chance"] == pytest.approx(1 / 11)
    assert perfect["loss"] == pytest.approx(math.log(1 + 10 * math.exp(-2)), rel=1e-6)
    # lips that see nothing: every similarity equal, log(N + 1), never a strict best
    blind = lipsync_scores(Fake(lambda c: torch.ones(c.shape[0], 30)), idx, idx, cand, 10)
    assert blind["loss"] == pytest.approx(math.log(11), rel=1e-6) and blind["frames"] == 30
    assert blind["top1"] == 0.0


def test_clip_errors():
    with pytest.raises(
        ValueError, match="x: the train split has 6 frames, shorter than the audio window of 8"
    ):
        check_clip("x", list(range(6)), 8, 10, 8)
    with pytest.raises(
        ValueError,
        match="x: too few frames for 10 negatives: with 20 frames, some frame has only 5",
    ):
        check_clip("x", list(range(20)), 8, 10, 8)
    assert check_clip("x", list(range(26)), 8, 10, 8).shape == (26, 26)


def test_shapes_and_feature():
    torch.manual_seed(0)
    m = LipSync(32, dim=16)
    crops, w = torch.rand(5, 3, 16, 24), torch.randn(5, 8, 32, 16)
    assert m.encode_lips(crops).shape == (5, 16) and m.encode_audio(w).shape == (5, 16)
    torch.testing.assert_close(m.feature(w).norm(dim=-1), torch.ones(5))
    loss = m(crops, w, torch.randn(5, 10, 8, 32, 16))
    loss.backward()
    assert loss.ndim == 0 and m.lip_conv[0].weight.grad.abs().sum() > 0
    assert m.audio_net.encoder_conv[0].weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="K=32 channels, got K=29"):
        m.encode_audio(torch.zeros(2, 8, 29, 16))
    with pytest.raises(ValueError, match="crops"):
        m.encode_lips(torch.zeros(2, 3, 8, 8))


def test_lips_crops_follow_the_lips(folder):
    from lokitalk_plugins.data.readers import read_rgb

    img_ids, _, lms = read_split(folder, "train")
    img = torch.from_numpy(read_rgb(folder / f"gt_imgs/{img_ids[0]}.jpg")).float()[None] / 255
    crops = lips_crops(img, lms[:1], (16, 24))
    assert crops.shape == (1, 3, 16, 24)
    # the crop's centre pixel is the image at the lips' centre (bilinear)
    lips = lms[0, 48:60]
    cx, cy = ((lips.min(0).values + lips.max(0).values) / 2).tolist()
    centre = crops[0, :, 7:9, 11:13].mean(dim=(1, 2))
    near = img[0, int(cy) - 1 : int(cy) + 1, int(cx) - 1 : int(cx) + 1].mean(dim=(0, 1))
    assert (centre - near).abs().max() < 0.15


def test_training_lowers_the_loss_and_retrieves_the_audio(trained):
    _, s = trained
    assert s["loss_first"] == pytest.approx(math.log(11), abs=0.3)
    assert s["loss_last"] < 0.6 * s["loss_first"]
    assert s["train"]["frames"] == 45 and s["val"] is None  # 5 val frames: too few for N = 10
    assert s["train"]["top1"] > 3 * s["train"]["chance"]


def test_augmentation_is_seeded_and_trains(folder, tmp_path):
    kw = dict(steps=20, batch=8, seed=3, jitter=0.15, audio_noise=0.2, progress=False)
    a = train_lipsync(folder, tmp_path / "a.pt", **kw)
    b = train_lipsync(folder, tmp_path / "b.pt", **kw)
    assert a["loss_last"] == b["loss_last"] and a["jitter"] == 0.15
    plain = train_lipsync(folder, tmp_path / "c.pt", **(kw | dict(jitter=0.0, audio_noise=0.0)))
    assert plain["loss_last"] != a["loss_last"]
    box = load_checkpoint(tmp_path / "a.pt")["lips_box"]
    assert box["half"].shape == (2,) and box["half"][0] / box["half"][1] >= 24 / 16 - 1e-6


def test_too_few_frames_for_the_negatives(folder, tmp_path):
    with pytest.raises(ValueError, match="too few frames for 40 negatives"):
        train_lipsync(folder, tmp_path / "x.pt", steps=1, negatives=40, progress=False)
    assert not (tmp_path / "x.pt").exists()


def test_checkpoint_and_command_errors(trained, folder, tmp_path, capsys):
    path, _ = trained
    assert load_checkpoint(path)["kind"] == "lipsync"
    a, b = load_lipsync(path), load_lipsync(path, audio_in_dim=32)
    w = gather_windows(padded_features(folder, "aud.npy"), torch.arange(6))
    assert torch.equal(a.feature(w), b.feature(w)) and a.crop_std.ne(1).any()
    with pytest.raises(CheckpointError, match="K=32 channels, but K=29"):
        load_lipsync(path, audio_in_dim=29)
    ckpt = load_checkpoint(path)
    ckpt["kind"] = "audio2motion"
    atomic_save(ckpt, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a lip-sync checkpoint"):
        load_lipsync(tmp_path / "other.pt")
    ckpt["kind"], ckpt["config"]["dim"] = "lipsync", 7
    atomic_save(ckpt, tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match="do not fit"):
        load_lipsync(tmp_path / "bad.pt")
    parser = argparse.ArgumentParser()
    lipsync_command.configure(parser)
    args = parser.parse_args(["--data", str(folder), "--out", str(tmp_path / "c.pt"),
                              "--negatives", "40", "--no-progress"])  # fmt: skip
    with pytest.raises(UserError, match="negatives"):  # lokitalk: one error line, exit 2
        lipsync_command.run(args)
    args = parser.parse_args(["--data", str(tmp_path / "none"), "--out", "c.pt"])
    with pytest.raises(UserError, match="none: no such folder"):
        lipsync_command.run(args)


def test_command_prints_the_table(folder, tmp_path, capsys):
    parser = argparse.ArgumentParser()
    lipsync_command.configure(parser)
    args = parser.parse_args(["--data", str(folder), "--out", str(tmp_path / "c.pt"),
                              "--steps", "3", "--batch", "4", "--no-progress"])  # fmt: skip
    assert lipsync_command.run(args) == 0
    out = capsys.readouterr().out
    assert "train      45" in out and "val    (too few frames for 10 negatives)" in out
    assert (tmp_path / "c.pt").is_file()


def test_audio_branch_is_f_a_of_a_wrapped_backbone(trained, folder):
    import gin

    from lokitalk_plugins.adapters import wrap
    from lokitalk_plugins.baselines.er_nerf.network import ERNeRF
    from lokitalk_plugins.registration import CONFIGURABLES
    from lokitalk_plugins.rsdf import RSDF
    from lokitalk_plugins.train.config import parse_config_files

    path, _ = trained
    try:
        parse_config_files(["configs/er_nerf_odr.gin", "configs/lipsync.gin"],
                           [f"load_lipsync.path = '{path}'"])  # fmt: skip
        assert gin.query_parameter("RSDF.audio_dim") == 32
        lip = CONFIGURABLES["load_lipsync"]()
    finally:
        gin.clear_config()
    assert isinstance(lip, LipSync) and not lip.training
    torch.manual_seed(0)
    model = wrap(ERNeRF(audio_in_dim=32, grid_size=32), rsdf=RSDF(audio_dim=32), audio2motion=lip)
    w = gather_windows(padded_features(folder, "aud.npy"), torch.tensor([3]))
    backbone_fa, plugin_fa = model.split_audio(model.encode_audio(w))
    torch.testing.assert_close(plugin_fa, lip.feature(w))
    assert model.frozen_prefixes == ("audio2motion.",)
    # the audio condition of a wrapped backbone itself (its field reads it; no deformation)
    own = wrap(ERNeRF(audio_in_dim=32, grid_size=32), audio_condition=lip)
    with torch.no_grad():
        torch.testing.assert_close(own.encode_audio(w), lip.feature(w), rtol=0, atol=0)


@pytest.mark.slow
def test_lipsync_gin_trains_a_wrapped_er_nerf(trained, folder, tmp_path):
    import gin

    import lokitalk_plugins.registration  # noqa: F401
    from lokitalk_plugins.commands.workspace import load_system, write_run
    from lokitalk_plugins.train.run import train_from_config

    path, _ = trained
    files = ["configs/er_nerf_odr.gin", "configs/studio_quick.gin", "configs/lipsync.gin"]
    binds = ["head/Trainer.steps = 3", "Trainer.val_every = 3", "ERNeRF.grid_size = 32",
             "TalkingHeadSystem.num_rays = 128", "ERNeRF.ind_num = 64",
             f"load_lipsync.path = '{path}'"]  # fmt: skip
    try:
        write_run(tmp_path, folder, files, binds, "aud.npy")
        out = train_from_config(files, binds, data=folder, workspace=tmp_path, progress=False)
        assert out["stages"]["head"]["final_loss"] is not None
        system, _, _ = load_system(tmp_path)
        lip = system.model.audio2motion
        assert isinstance(lip, LipSync) and system.model.rsdf.audio_dim == 32
        # frozen: its weights are those of the checkpoint after training
        ref = load_lipsync(path)
        assert all(torch.equal(a, b) for a, b in zip(lip.state_dict().values(),
                                                     ref.state_dict().values()))  # fmt: skip
    finally:
        gin.clear_config()
