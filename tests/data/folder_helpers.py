"""Helpers of the folder tests: a small valid folder written with numpy + Pillow, and JSON /
au.csv editing. A module of its own (not conftest), so ``from folder_helpers import ...`` never
meets another test folder's conftest."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

__all__ = ["write_minimal_folder", "read_json", "write_json", "first_img_id", "write_au_csv"]


def write_minimal_folder(root: Path, n: int = 14, H: int = 32, W: int = 40, K: int = 29) -> None:
    """A small valid RAD-NeRF / ER-NeRF folder: n frames of H x W, audio [n, 16, K], au.csv."""
    rng = np.random.default_rng(0)
    for d in ("ori_imgs", "parsing", "gt_imgs", "torso_imgs"):
        (root / d).mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 256, (H, W, 3), dtype=np.uint8)).save(root / "bc.jpg")
    t = np.linspace(0, 2 * np.pi, 17, endpoint=False)
    lms = np.zeros((68, 2))
    lms[:17] = np.stack([W / 2 + 12 * np.cos(t), H / 2 + 12 * np.sin(t)], -1)
    lms[17:36] = [W / 2, H / 2]
    for eye, cx in ((slice(36, 42), W / 2 - 6), (slice(42, 48), W / 2 + 6)):
        lms[eye] = [
            [cx - 3, 12],
            [cx - 1, 11],
            [cx + 1, 11],
            [cx + 3, 12],
            [cx + 1, 13],
            [cx - 1, 13],
        ]
    a = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    lms[48:60] = np.stack([W / 2 + 5 * np.cos(a), 22 + 2 * np.sin(a)], -1)
    b = np.linspace(0, 2 * np.pi, 8, endpoint=False)
    lms[60:68] = np.stack([W / 2 + 3 * np.cos(b), 22 + np.sin(b)], -1)
    frames = []
    for i in range(n):
        img = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
        Image.fromarray(img).save(root / f"ori_imgs/{i}.jpg")
        Image.fromarray(img).save(root / f"gt_imgs/{i}.jpg")
        np.savetxt(root / f"ori_imgs/{i}.lms", lms + rng.normal(0, 0.2, lms.shape), "%.4f")
        par = np.full((H, W, 3), 255, np.uint8)
        par[4:24, 10:30] = (0, 0, 255)
        par[24:27, 14:26] = (0, 255, 0)
        par[27:, :] = (255, 0, 0)
        Image.fromarray(par).save(root / f"parsing/{i}.png")
        rgba = np.zeros((H, W, 4), np.uint8)
        rgba[24:, :, :3] = 90
        rgba[24:, :, 3] = 255
        Image.fromarray(rgba, "RGBA").save(root / f"torso_imgs/{i}.png")
        m = np.eye(4)
        m[:3, 3] = [0.01 * i, 0.0, 1.0]
        frames.append({"img_id": i, "aud_id": i, "transform_matrix": m.tolist()})
    ntr = n * 10 // 11
    for name, part in (("train", frames[:ntr]), ("val", frames[ntr:])):
        meta = {"focal_len": 50.0, "cx": W / 2, "cy": H / 2, "frames": part}
        (root / f"transforms_{name}.json").write_text(json.dumps(meta))
    np.save(root / "aud.npy", rng.normal(size=(n, 16, K)).astype(np.float32))


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())


def write_json(path: Path, meta: dict) -> None:
    path.write_text(json.dumps(meta))


def first_img_id(root: Path) -> int:
    return read_json(root / "transforms_train.json")["frames"][0]["img_id"]


def write_au_csv(root: Path, values: dict[int, float], leading_space: bool = True) -> None:
    """An OpenFace-like au.csv with frames numbered from 1 (img_id + 1)."""
    name = " AU45_r" if leading_space else "AU45_r"
    lines = [f"frame, face_id, timestamp, confidence,{name}"]
    lines += [f"{i + 1}, 0, {i * 0.04:.2f}, 0.98, {v:.3f}" for i, v in sorted(values.items())]
    (root / "au.csv").write_text("\n".join(lines) + "\n")
