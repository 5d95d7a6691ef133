"""evaluate / save_eval on a tiny studio folder with toy systems whose outputs are known."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from torch import nn

from lokitalk_plugins.data.folder import TalkingHeadFolder
from lokitalk_plugins.data.studio import load_truth, write_identity
from lokitalk_plugins.metrics import (
    BACKBONE_ENV,
    LPIPSMetric,
    eye_error,
    lip_sync_score,
    lmd,
    lmd_eyes,
    mouth_error,
    ssim,
)
from lokitalk_plugins.train.eval_report import jsonable, markdown_table, model_size
from lokitalk_plugins.train.evaluate import evaluate, save_eval


class ToySystem(nn.Module):
    """Renders the frame's background ("bg"), its image ("gt") or the image moved by 2 px."""

    def __init__(self, mode: str = "bg"):
        super().__init__()
        self.mode = mode
        self.lin = nn.Linear(4, 3)  # 15 float32 parameters: 60 bytes
        self.register_buffer("table", torch.zeros(10, dtype=torch.float64))  # 80 bytes

    @torch.no_grad()
    def render_frame(self, frame):
        if self.mode == "gt":
            rgb = frame.image.clone()
        elif self.mode == "shift":
            rgb = torch.roll(frame.image, shifts=2, dims=0)
        else:
            rgb = frame.background.clone()
        return {"rgb": rgb, "depth": torch.ones(frame.H, frame.W)}


class ScaledMouth:
    """A toy landmark detector: fixed points, the mouth scaled by the frame's brightness."""

    def __init__(self):
        g = np.random.default_rng(0)
        self.base = g.uniform(8, 24, (68, 2))

    def __call__(self, frames):
        out = np.repeat(self.base[None], len(frames), 0)
        mean = frames.reshape(len(frames), -1).mean(1) / 255.0
        out[:, 36:68] *= (1.0 + mean)[:, None, None]
        return out


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    root = write_identity(tmp_path_factory.mktemp("eval") / "id", identity=0, seconds=1.0,
                          size=32, seed=0)  # fmt: skip
    val = TalkingHeadFolder(root, split="val", progress=False)
    return root, val, load_truth(root)


def _stack(system, data):
    preds = np.stack([system.render_frame(data[i])["rgb"].numpy() for i in range(len(data))])
    gts = np.stack([data[i].image.numpy() for i in range(len(data))])
    return preds.astype(np.float64), gts.astype(np.float64)


def test_image_metrics_match_hand_values(studio):
    _, val, _ = studio
    system = ToySystem("bg")
    res = evaluate(system, val, lpips=False, progress=False)
    preds, gts = _stack(system, val)
    mse = ((preds - gts) ** 2).reshape(len(val), -1).mean(1)
    assert res["frames"] == len(val) == 3
    assert res["img_ids"] == [22, 23, 24]  # the val split is the folder's last frames
    assert res["psnr"] == pytest.approx(float(np.mean(10 * np.log10(1.0 / mse))), abs=1e-9)
    assert res["per_frame"]["psnr"] == pytest.approx(list(10 * np.log10(1.0 / mse)), abs=1e-9)
    assert res["ssim"] == pytest.approx(ssim(preds, gts), abs=1e-9)
    assert res["lpips"] is None and res["lmd"] is None and res["mouth_error"] is None
    assert res["fps"] > 0 and res["render_seconds"] > 0
    assert res["parameters"] == 15
    assert res["size_mb"] == pytest.approx((15 * 4 + 10 * 8) / 2**20)
    assert model_size(system)["bytes"] == 140
    assert res["machine"]["torch"] == torch.__version__ and res["machine"]["cpu_count"] >= 1
    from lokitalk_plugins.train.runtime import cpu_model

    assert res["machine"]["cpu_model"] == cpu_model()  # the kind of processor, besides the OS


def test_lpips_is_the_metric_mean_and_na_without_weights(studio, monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))  # no trunk weights found
    monkeypatch.delenv(BACKBONE_ENV, raising=False)
    _, val, _ = studio
    system = ToySystem("shift")
    metric = LPIPSMetric(allow_random_backbone=True)  # values not comparable with papers
    res = evaluate(system, val, lpips=metric, progress=False)
    preds, gts = _stack(system, val)
    expected = np.mean([metric(p[None], g[None]) for p, g in zip(preds, gts)])
    assert res["lpips"] == pytest.approx(expected, rel=1e-5) and res["lpips"] > 0
    assert res["lpips_backbone"] == "random(seed=0)"
    na = evaluate(system, val, lpips=lambda p, t: None, progress=False)
    assert na["lpips"] is None and "LPIPS (AlexNet) ↓ | n/a" in markdown_table(na)
    default = evaluate(system, val, progress=False)  # LPIPSMetric() without local weights
    assert default["lpips"] is None and "lpips" in default["notes"]


def test_studio_metrics_zero_for_ground_truth(studio):
    root, val, truth = studio
    res = evaluate(ToySystem("gt"), val, truth=truth, lpips=False, progress=False)
    assert res["mouth_error"] == 0.0 and res["eye_error"] == 0.0
    assert math.isinf(res["psnr"]) and res["ssim"] == pytest.approx(1.0)
    gts = np.stack([val[i].image.numpy() for i in range(len(val))])
    assert res["lip_sync"] == pytest.approx(lip_sync_score(gts, truth, index=res["img_ids"]))


def test_studio_metrics_match_library_on_a_wrong_render(studio):
    _, val, truth = studio
    system = ToySystem("shift")
    res = evaluate(system, val, truth=truth, lpips=False, progress=False)
    preds, gts = _stack(system, val)
    ids = res["img_ids"]
    assert res["mouth_error"] == pytest.approx(mouth_error(preds, gts, truth, index=ids))
    assert res["eye_error"] == pytest.approx(eye_error(preds, gts, truth, index=ids))
    assert res["lip_sync"] == pytest.approx(lip_sync_score(preds, truth, index=ids))
    assert res["mouth_error"] > 0 and res["eye_error"] > 0


def test_lmd_runs_the_detector_on_both(studio, monkeypatch):
    import lokitalk_plugins.train.evaluate as ev

    _, val, _ = studio
    monkeypatch.setattr(ev, "LANDMARK_CHUNK", 2)  # 3 frames: a full chunk and a rest
    system, source = ToySystem("bg"), ScaledMouth()
    res = evaluate(system, val, landmarks=source, lpips=False, progress=False)
    preds, gts = _stack(system, val)
    u8 = lambda x: np.round(x * 255).astype(np.uint8)  # noqa: E731
    p, g = source(u8(preds)), source(u8(gts))
    assert res["lmd"] == pytest.approx(lmd(p, g)) and res["lmd"] > 0
    assert res["lmd_eyes"] == pytest.approx(lmd_eyes(p, g))
    assert evaluate(ToySystem("gt"), val, landmarks=source, lpips=False,
                    progress=False)["lmd"] == 0.0  # fmt: skip


def test_save_eval_json_and_markdown(studio, tmp_path):
    _, val, truth = studio
    system = ToySystem("gt").train()
    res = evaluate(system, val, truth=truth, lpips=False, max_frames=2, progress=False)
    assert system.training  # mode restored
    assert res["frames"] == 2 and res["img_ids"] == [22, 23]
    pj, pm = save_eval(res, tmp_path / "out/eval.json", tmp_path / "out/eval.md")
    data = json.loads(pj.read_text())
    keys = "psnr ssim lpips lmd lmd_eyes mouth_error eye_error lip_sync fps size_mb parameters"
    for key in keys.split() + ["machine", "frames", "img_ids"]:
        assert key in data, key
    assert data["psnr"] == "inf" and data["lpips"] is None and data["parameters"] == 15
    md = pm.read_text()
    assert "| PSNR (dB) ↑ | inf |" in md and "| LMD (px) ↓ | n/a |" in md
    assert "| studio mouth error (px) ↓ | 0.000 |" in md and "landmark detector" in md
    assert jsonable({"a": np.float32(2.5), "b": [float("nan")]}) == {"a": 2.5, "b": ["nan"]}


def test_bad_inputs_are_errors(studio):
    _, val, truth = studio
    with pytest.raises(ValueError, match="at least one frame"):
        evaluate(ToySystem(), val, lpips=False, max_frames=0, progress=False)
    with pytest.raises(ValueError, match="img_id 24"):
        evaluate(ToySystem(), val, truth=truth.subset(slice(0, 20)), lpips=False, progress=False)


def test_sync_offset_and_confidence_on_a_longer_clip(tmp_path):
    root = write_identity(tmp_path / "id", identity=1, seconds=4.0, size=32, seed=0)
    val, truth = TalkingHeadFolder(root, split="val", progress=False), load_truth(root)
    gt = evaluate(ToySystem("gt"), val, truth=truth, lpips=False, progress=False)
    assert gt["sync_max_offset"] == (len(val) - 1) // 3 >= 2
    assert gt["sync_offset"] == 0 and gt["sync_peak"] == pytest.approx(1.0) and gt["sync_conf"] > 0
    first = val[0].image.clone()

    class Still(ToySystem):  # one frame, whatever is asked: the floor
        def render_frame(self, frame):
            return {"rgb": first.clone(), "depth": torch.ones(frame.H, frame.W)}

    still = evaluate(Still(), val, truth=truth, lpips=False, progress=False)
    assert still["sync_conf"] == 0.0 and still["sync_peak"] == 0.0


def test_lmd_is_none_with_a_note_when_no_face_is_found(studio):
    _, val, _ = studio
    blind = lambda frames: np.full((len(frames), 68, 2), np.nan)  # noqa: E731
    res = evaluate(ToySystem("gt"), val, landmarks=blind, lpips=False, progress=False)
    assert res["lmd"] is None and res["lmd_eyes"] is None
    assert "no face" in res["notes"]["lmd"]
