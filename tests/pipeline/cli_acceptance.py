"""The CLI half of the original-backbone acceptance tests: ``lokitalk pretrain`` an ID-AKT
bundle with a user's backbone from a gin file, then ``lokitalk train --import <module>`` head
and torso from it, and check what was trained and saved."""

from __future__ import annotations

import math
from pathlib import Path

import torch

from lokitalk_plugins.cli import main
from lokitalk_plugins.data.studio import write_identity

__all__ = ["pretrain_and_finetune", "saved_backbone"]

IDAKT = "wrap.idakt = {'feature_dim': 32, 'offset_dim': 8, 'encoder': {'width': 8}}"


def pretrain_and_finetune(tmp_path: Path, gin_text: str, module: str, adapter: str) -> Path:
    """Pre-train 3 steps, fine-tune head and torso 3 steps each; returns the workspace after
    checking the bundle names ``adapter`` and each stage logged 3 finite positive losses."""
    data = write_identity(tmp_path / "id000", seconds=1.0, size=32, seed=0)
    config = tmp_path / "original.gin"
    config.write_text(gin_text)
    bundle = tmp_path / "bundle"
    code = main(["pretrain", str(data), "--config", str(config), "--steps", "3",
                 "--out", str(bundle), "--quiet", "--bind", IDAKT])  # fmt: skip
    assert code == 0 and f'"{adapter}"' in (bundle / "config.json").read_text()
    ws = tmp_path / "run"
    code = main(["train", "--config", str(config), "--data", str(data), "--workspace", str(ws),
                 "--stages", "head", "torso", "--quiet", "--import", module,
                 "--bind", f"wrap.pretrained = '{bundle}'"])  # fmt: skip
    assert code == 0
    for stage in ("head", "torso"):
        rows = [r.split(",") for r in (ws / "logs" / f"{stage}.csv").read_text().splitlines()]
        col = rows[0].index("loss")
        losses = [float(r[col]) for r in rows[1:] if r[col]]  # a last row holds val_psnr
        assert len(losses) == 3 and all(math.isfinite(v) and v > 0 for v in losses)
    return ws


def saved_backbone(ws: Path) -> tuple[dict, dict]:
    """(the backbone's weights in latest.pt under its own names, the whole saved state)."""
    state = torch.load(ws / "checkpoints" / "latest.pt", weights_only=False)["model"]
    backbone = {k.removeprefix("model.backbone."): v for k, v in state.items()
                if k.startswith("model.backbone.")}  # fmt: skip
    return backbone, state
