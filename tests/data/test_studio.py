"""The studio writes a complete RAD-NeRF/ER-NeRF folder whose cameras see the head."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import torch
from PIL import Image

from lokitalk_plugins.data.studio import labels as L
from lokitalk_plugins.data.studio import load_truth, write_identity
from lokitalk_plugins.data.studio.identity import make_identity
from lokitalk_plugins.data.studio.landmarks import landmarks_3d
from lokitalk_plugins.data.studio.sdf import HeadModel
from lokitalk_plugins.render.rays import get_rays
from lokitalk_plugins.signals.features import load_wav, logmel_windows


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return write_identity(tmp_path_factory.mktemp("studio") / "id000", identity=0, seconds=1.0,
                          size=32)  # fmt: skip


def to_ngp(pose, scale=4.0):
    """The originals' loader axis change (rows y, z, x; columns 1, 2 negated; scale)."""
    p = np.asarray(pose, dtype=np.float64)
    return np.array([
        [p[1, 0], -p[1, 1], -p[1, 2], p[1, 3] * scale],
        [p[2, 0], -p[2, 1], -p[2, 2], p[2, 3] * scale],
        [p[0, 0], -p[0, 1], -p[0, 2], p[0, 3] * scale],
        [0, 0, 0, 1],
    ])  # fmt: skip


def test_layout(folder):
    n = 25
    train = json.loads((folder / "transforms_train.json").read_text())
    val = json.loads((folder / "transforms_val.json").read_text())
    assert len(train["frames"]) == n * 10 // 11 and len(val["frames"]) == n - n * 10 // 11
    assert [f["img_id"] for f in train["frames"] + val["frames"]] == list(range(n))
    for key in ("focal_len", "cx", "cy", "h", "w"):
        assert key in train
    assert np.asarray(train["frames"][0]["transform_matrix"]).shape == (4, 4)
    for i in range(n):
        for sub, ext in (("ori_imgs", "jpg"), ("ori_imgs", "lms"), ("parsing", "png"),
                         ("gt_imgs", "jpg"), ("torso_imgs", "png")):  # fmt: skip
            assert (folder / sub / f"{i}.{ext}").is_file()
    assert np.loadtxt(folder / "ori_imgs" / "3.lms").shape == (68, 2)
    assert Image.open(folder / "ori_imgs" / "0.jpg").size == (32, 32)
    assert Image.open(folder / "torso_imgs" / "0.png").mode == "RGBA"
    parsing = np.asarray(Image.open(folder / "parsing" / "0.png").convert("RGB")).reshape(-1, 3)
    colours = {tuple(c) for c in np.unique(parsing, axis=0)}
    assert colours <= {(0, 0, 255), (0, 255, 0), (255, 0, 0), (255, 255, 255)}
    assert {(0, 0, 255), (255, 255, 255)} <= colours
    assert Image.open(folder / "bc.jpg").size == (32, 32)
    assert np.load(folder / "aud.npy").shape == (n, 16, 32)
    assert "AU45_r" in (folder / "au.csv").read_text().splitlines()[0].split(",")[-1]
    assert " AU45_r" in (folder / "au.csv").read_text().splitlines()[0].split(",")
    tp = torch.load(folder / "track_params.pt")
    assert tp["id"].shape == (1, 100) and tp["exp"].shape == (n, 79)
    assert tp["euler"].shape == (n, 3) and tp["trans"].shape == (n, 3) and tp["focal"].shape == (1,)


def test_audio_features_come_from_the_wav(folder):
    wav, sr = load_wav(folder / "aud.wav")
    assert sr == 16000 and wav.shape == (16000,)
    np.testing.assert_allclose(np.load(folder / "aud.npy"), logmel_windows(wav, sr), atol=1e-4)


def test_torso_and_gt_images(folder):
    truth = load_truth(folder)
    rgba = np.asarray(Image.open(folder / "torso_imgs" / "5.png"))
    body = np.isin(truth.labels[5], (L.NECK, L.TORSO))
    assert (rgba[..., 3][body] == 255).all()  # visible neck and torso are kept
    assert (rgba[..., 3][truth.labels[5] == L.BACKGROUND] == 0).all()
    bc = np.asarray(Image.open(folder / "bc.jpg")).astype(int)
    gt = np.asarray(Image.open(folder / "gt_imgs" / "5.jpg")).astype(int)
    bgmask = truth.labels[5] == L.BACKGROUND
    assert np.abs(gt[bgmask] - bc[bgmask]).mean() < 4  # background replaced by bc.jpg


def test_cameras_see_the_head_inside_the_box(folder):
    truth = load_truth(folder)
    train = json.loads((folder / "transforms_train.json").read_text())
    frames = train["frames"] + json.loads((folder / "transforms_val.json").read_text())["frames"]
    f, cx, cy = train["focal_len"], train["cx"], train["cy"]
    model = HeadModel(make_identity(0))
    pts = landmarks_3d(model, truth.jaw, truth.lip_width, truth.eye_closure)  # head frame
    for i in (0, 12, 24):
        c2w = to_ngp(frames[i]["transform_matrix"])
        world = pts[i][:, [1, 2, 0]]  # model (x right, y up, z front) -> ngp world (y, z, x)
        assert (np.abs(world) <= [1, 0.5, 1]).all()
        cam = (world - c2w[:3, 3]) @ c2w[:3, :3]  # OpenCV camera coordinates
        assert (cam[:, 2] > 2.0).all()
        uv = np.stack([f * cam[:, 0] / cam[:, 2] + cx, f * cam[:, 1] / cam[:, 2] + cy], -1)
        np.testing.assert_allclose(uv, truth.landmarks[i], atol=1e-3)
        assert ((uv > 0) & (uv < 32)).all()
        # the ray through the nose-tip pixel centre passes the nose tip within a pixel
        u, v = np.floor(uv[30]).astype(int)
        o, d = get_rays(torch.tensor(c2w, dtype=torch.float64), (f, f, cx, cy), 32, 32,
                        torch.tensor([v * 32 + u]))  # fmt: skip
        p = world[30] - o[0].numpy()
        miss = np.linalg.norm(p - (p @ d[0].numpy()) * d[0].numpy())
        assert miss < 1.0 * np.linalg.norm(p) / f
        assert truth.labels[i, v, u] in L.HEAD_LABELS
    # the whole head (not just landmarks) lies in the box
    g = torch.linspace(-1.3, 1.3, 41)
    x, y, z = torch.meshgrid(g, g, g, indexing="ij")
    s = model.head(x.reshape(-1), y.reshape(-1), z.reshape(-1), torch.ones(41**3),
                   torch.full((41**3,), 0.5))  # fmt: skip
    inside = s < 0
    assert inside.sum() > 1000
    assert x.reshape(-1)[inside].abs().max() <= 1 and y.reshape(-1)[inside].abs().max() <= 1
    assert z.reshape(-1)[inside].abs().max() <= 0.5


def _hashes(folder):
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def test_same_seed_same_bytes(tmp_path):
    a = write_identity(tmp_path / "a" / "id", identity=3, seconds=0.4, size=24, seed=5)
    b = write_identity(tmp_path / "b" / "id", identity=3, seconds=0.4, size=24, seed=5)
    ha, hb = _hashes(a), _hashes(b)
    assert len(ha) > 40 and ha == hb
    assert _hashes(a.parent / "id.truth") == _hashes(b.parent / "id.truth")
    c = write_identity(tmp_path / "c" / "id", identity=3, seconds=0.4, size=24, seed=6)
    assert _hashes(c)["ori_imgs/0.jpg"] != ha["ori_imgs/0.jpg"]
