"""The dataset: shapes, dtypes, cameras, audio windows, eye values, masks, backgrounds."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from folder_helpers import read_json, write_au_csv, write_json
from PIL import Image

from lokitalk_plugins.data import (
    AudioLayoutError,
    TalkingHeadFolder,
    audio_window,
    collate_frames,
    load_audio_features,
    nerf_matrix_to_ngp,
)
from lokitalk_plugins.data.readers import read_landmarks
from lokitalk_plugins.signals.eye import eye_area_ratio, eye_aspect_ratio


@pytest.fixture(scope="module")
def train(studio_folder):
    return TalkingHeadFolder(studio_folder, split="train", progress=False)


def test_frame_shapes_and_dtypes(train, studio_folder):
    meta = read_json(studio_folder / "transforms_train.json")
    assert len(train) == len(meta["frames"])
    f = train[0]
    H, W = Image.open(studio_folder / f"gt_imgs/{f.img_id}.jpg").size[::-1]
    K = np.load(studio_folder / "aud.npy").shape[2]
    assert (f.H, f.W) == (H, W) == (train.H, train.W)
    assert f.image.shape == (H, W, 3) and f.image.dtype == torch.float32
    assert f.background.shape == (H, W, 3) and f.background.dtype == torch.float32
    assert 0.0 <= f.image.min() and f.image.max() <= 1.0
    assert 0.0 <= f.background.min() and f.background.max() <= 1.0
    assert f.c2w.shape == (4, 4) and f.intrinsics.shape == (4,)
    assert f.audio.shape == (8, K, 16) and f.audio.dtype == torch.float32
    assert f.eye.shape == (1,) and f.pose.shape == (6,) and f.landmarks.shape == (68, 2)
    for m in (f.masks.face, f.masks.torso, f.masks.lips, f.masks.eyes):
        assert m.shape == (H, W) and m.dtype == torch.bool
    assert len(TalkingHeadFolder(studio_folder, split="val", progress=False)) == len(
        read_json(studio_folder / "transforms_val.json")["frames"]
    )
    with pytest.raises(IndexError):
        train[len(train)]


def test_axis_change_on_a_known_matrix():
    m = np.arange(16, dtype=np.float64).reshape(4, 4)  # rows r0..r3 = [0 1 2 3], [4 5 6 7], ...
    m[3] = [0, 0, 0, 1]
    expected = torch.tensor(
        [
            [4.0, -5.0, -6.0, 7 * 4.0 + 0.5],  # row y, columns 1 and 2 negated, t * 4 + offset
            [8.0, -9.0, -10.0, 11 * 4.0 + 0.0],  # row z
            [0.0, -1.0, -2.0, 3 * 4.0 - 1.0],  # row x
            [0.0, 0.0, 0.0, 1.0],
        ]
    )
    out = nerf_matrix_to_ngp(m, scale=4.0, offset=(0.5, 0.0, -1.0))
    assert out.dtype == torch.float32
    assert torch.equal(out, expected)
    batch = nerf_matrix_to_ngp(torch.from_numpy(np.stack([m, m])), offset=(0.5, 0.0, -1.0))
    assert batch.dtype == torch.float64 and torch.equal(batch[1].float(), expected)


def test_dataset_cameras_and_intrinsics_from_json(train, studio_folder):
    meta = read_json(studio_folder / "transforms_train.json")
    for k in (0, len(train) - 1):
        raw = np.asarray(meta["frames"][k]["transform_matrix"])
        assert torch.allclose(train[k].c2w, nerf_matrix_to_ngp(raw), atol=1e-6)
    fx = meta.get("fl_x", meta.get("focal_len"))
    fy = meta.get("fl_y", fx)
    assert train.intrinsics.tolist() == pytest.approx([fx, fy, meta["cx"], meta["cy"]])


def test_size_from_images_not_from_cx(folder_copy):
    for split in ("train", "val"):
        path = folder_copy / f"transforms_{split}.json"
        meta = read_json(path)
        meta.update(cx=3.0, cy=101.5, fl_x=40.0, fl_y=44.0)
        write_json(path, meta)
    data = TalkingHeadFolder(folder_copy, progress=False)
    H, W = Image.open(folder_copy / f"gt_imgs/{data.img_ids[0]}.jpg").size[::-1]
    assert (data.H, data.W) == (H, W) and (data[0].H, data[0].W) == (H, W)
    assert data.intrinsics.tolist() == [40.0, 44.0, 3.0, 101.5]


def test_audio_window_zero_padded_at_both_ends():
    feats = torch.arange(1, 6, dtype=torch.float32)[:, None, None].expand(5, 3, 2)  # row i = i+1
    first = audio_window(feats, 0)  # windows -4..3 -> zeros x4, rows 0..3
    assert first.shape == (8, 3, 2)
    assert first[:, 0, 0].tolist() == [0, 0, 0, 0, 1, 2, 3, 4]
    last = audio_window(feats, 4)  # windows 0..7 -> rows 0..4, zeros x3
    assert last[:, 0, 0].tolist() == [1, 2, 3, 4, 5, 0, 0, 0]
    middle = audio_window(feats, 2, num_windows=4)  # windows 0..3
    assert middle[:, 0, 0].tolist() == [1, 2, 3, 4]


def test_audio_layouts_in_the_dataset(folder_copy):
    ids = read_json(folder_copy / "transforms_train.json")["frames"]
    n = np.load(folder_copy / "aud.npy").shape[0]
    hubert = np.random.default_rng(0).normal(size=(n, 2, 1024)).astype(np.float32)
    np.save(folder_copy / "aud_hu.npy", hubert)
    windows = np.arange(n * 16 * 5, dtype=np.float32).reshape(n, 16, 5)
    np.save(folder_copy / "aud_eo.npy", windows)
    data_hu = TalkingHeadFolder(folder_copy, audio_file="aud_hu.npy", progress=False)
    data_w = TalkingHeadFolder(folder_copy, audio_file="aud_eo.npy", progress=False)
    k = 0
    aud_id = ids[k]["aud_id"]
    a_hu, a_w = data_hu[k].audio, data_w[k].audio
    assert a_hu.shape == (8, 1024, 2) and a_w.shape == (8, 5, 16)
    for w in range(8):  # window w holds row aud_id - 4 + w, transposed to [K, T]
        row = aud_id - 4 + w
        if 0 <= row < n:
            assert torch.equal(a_hu[w], torch.from_numpy(hubert[row].T))
            assert torch.equal(a_w[w], torch.from_numpy(windows[row].T))
        else:
            assert not a_hu[w].any() and not a_w[w].any()


def test_bad_audio_layout_error_names_file_and_shapes(tmp_path):
    path = tmp_path / "aud_ds.npy"
    np.save(path, np.zeros((10, 8, 29), np.float32))
    with pytest.raises(AudioLayoutError, match=r"aud_ds\.npy.*\[10, 8, 29\].*\[N, 16, K\].*HuBERT"):
        load_audio_features(path)
    with pytest.raises(FileNotFoundError, match="aud_none.npy"):
        load_audio_features(tmp_path / "aud_none.npy")


def test_eye_value_is_the_landmark_aspect_ratio(train, studio_folder):
    f = train[1]
    lms = read_landmarks(studio_folder / f"ori_imgs/{f.img_id}.lms")
    assert torch.equal(f.landmarks, torch.from_numpy(lms))
    assert f.eye.item() == pytest.approx(eye_aspect_ratio(lms).item(), rel=1e-6)
    assert train.eye_values.shape == (len(train),)
    assert train.eye_values[1].item() == pytest.approx(f.eye.item())
    area = TalkingHeadFolder(studio_folder, eye_source="area", validate=False)
    expected = eye_area_ratio(lms, train.H, train.W).item()
    assert area[1].eye.item() == pytest.approx(expected, rel=1e-6)


def test_eye_value_from_au45(folder_copy):
    data = TalkingHeadFolder(folder_copy, progress=False, validate=False)
    values = {i: 0.7 * (i % 5) for i in data.img_ids}
    all_ids = data.img_ids + TalkingHeadFolder(folder_copy, split="val", validate=False).img_ids
    write_au_csv(folder_copy, {i: 0.7 * (i % 5) for i in all_ids})
    au = TalkingHeadFolder(folder_copy, eye_source="au45", progress=False)
    assert au.eye_source == "au45"
    for k in range(3):
        expected = min(max(values[au.img_ids[k]], 0.0), 2.0) / 2.0
        assert au[k].eye.item() == pytest.approx(expected, abs=1e-6)


def test_au45_missing_frame_error_or_fallback(folder_copy):
    data = TalkingHeadFolder(folder_copy, progress=False, validate=False)
    missing = data.img_ids[3]
    write_au_csv(folder_copy, {i: 0.5 for i in data.img_ids if i != missing})
    with pytest.raises(ValueError, match=rf"au\.csv.*img_id {missing}\b"):
        TalkingHeadFolder(folder_copy, eye_source="au45", validate=False)
    with pytest.warns(UserWarning, match=rf"img_id {missing}\b.*fall back"):
        auto = TalkingHeadFolder(folder_copy, eye_source="auto", progress=False)
    assert auto.eye_source == "landmarks"
    assert auto[0].eye.item() == pytest.approx(data[0].eye.item())


def test_masks_follow_parsing_and_landmarks(train, studio_folder):
    f = train[0]
    par = np.array(Image.open(studio_folder / f"parsing/{f.img_id}.png").convert("RGB"))
    head = torch.from_numpy((par == (0, 0, 255)).all(-1))
    body = torch.from_numpy((par == (0, 255, 0)).all(-1) | (par == (255, 0, 0)).all(-1))
    assert f.masks.face.any() and f.masks.torso.any() and f.masks.lips.any() and f.masks.eyes.any()
    assert torch.equal(f.masks.face & head, head)  # every exact head pixel is face
    assert torch.equal(f.masks.torso & body, body)
    assert not (f.masks.face & f.masks.torso).any()
    x0, y0 = f.landmarks[48:60].min(0).values.floor().long().tolist()
    x1, y1 = f.landmarks[48:60].max(0).values.ceil().long().tolist()
    rows, cols = torch.nonzero(f.masks.lips, as_tuple=True)
    assert rows.min() >= y0 and rows.max() < y1 and cols.min() >= x0 and cols.max() < x1
    ex = f.landmarks[36:48, 0]
    rows, cols = torch.nonzero(f.masks.eyes, as_tuple=True)
    assert cols.min() >= ex.min().floor() - 3 and cols.max() <= ex.max().ceil() + 3


def test_backgrounds(studio_folder, train):
    bc = TalkingHeadFolder(studio_folder, background="bc", validate=False)
    f, g = train[0], bc[0]
    bc_img = torch.from_numpy(np.array(Image.open(studio_folder / "bc.jpg").convert("RGB")))
    assert torch.equal(g.background, bc_img.float() / 255.0)
    rgba = np.array(Image.open(studio_folder / f"torso_imgs/{f.img_id}.png").convert("RGBA"))
    alpha = torch.from_numpy(rgba[..., 3:]).float() / 255.0
    expected = torch.from_numpy(rgba[..., :3]).float() / 255.0 * alpha + g.background * (1 - alpha)
    assert torch.allclose(f.background, expected, atol=1e-6)
    clear = alpha[..., 0] == 0
    assert clear.any() and torch.equal(f.background[clear], g.background[clear])


def test_preload_matches_lazy_and_collate(studio_folder, train):
    pre = TalkingHeadFolder(studio_folder, preload=True, validate=False, progress=False)
    a, b = pre[2], train[2]
    for name in ("image", "background", "c2w", "audio", "eye", "pose", "landmarks"):
        assert torch.equal(getattr(a, name), getattr(b, name)), name
    assert torch.equal(a.masks.lips, b.masks.lips)
    batch = collate_frames([train[0], train[1]])
    assert batch.image.shape == (2, train.H, train.W, 3)
    assert batch.masks.face.shape == (2, train.H, train.W)
    assert batch.img_id.tolist() == [train.img_ids[0], train.img_ids[1]]


def test_pose_from_camera(train):
    f = train[0]
    from lokitalk_plugins.signals.pose import matrix_from_pose

    assert torch.allclose(matrix_from_pose(f.pose), f.c2w, atol=1e-5)


def test_pose_from_track_params(folder_copy):
    import torch as _torch

    from lokitalk_plugins.data import validate_folder

    n = 1 + max(
        TalkingHeadFolder(folder_copy, split=s, validate=False).img_ids[-1]
        for s in ("train", "val")
    )
    (folder_copy / "track_params.pt").unlink(missing_ok=True)
    assert "track_params.pt" in validate_folder(folder_copy, pose_source="track")[0].message
    euler = _torch.linspace(-0.2, 0.2, n * 3).reshape(n, 3)
    trans = _torch.linspace(0.0, 1.0, n * 3).reshape(n, 3)
    _torch.save({"euler": euler[:-1], "trans": trans}, folder_copy / "track_params.pt")
    problems = validate_folder(folder_copy, pose_source="track")
    assert len(problems) == 1 and f"'euler' is shape [{n - 1}, 3]" in problems[0].message
    _torch.save({"euler": euler, "trans": trans}, folder_copy / "track_params.pt")
    data = TalkingHeadFolder(folder_copy, pose_source="track", progress=False)
    i = data.img_ids[2]
    assert torch.equal(data[2].pose, torch.cat([euler[i], trans[i]]))
