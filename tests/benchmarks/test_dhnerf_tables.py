"""The DH-NeRF tables' pieces: the methods differ only by their ablation, and the linear
probes give R² 1 for an exact linear code and about 0 for an unrelated one."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

from harness import dhnerf  # noqa: E402

ASSETS = {"extractor": "/x/ex.pt", "lipsync": None, "notes": []}


def test_table2_rows_differ_only_by_their_ablation():
    full, no_sync, no_dis = dhnerf.table2_methods("micro", ASSETS)
    assert full["configs"] == ["benchmarks/gin-configs/dhnerf/dhnerf.gin",
                               "benchmarks/gin-configs/dhnerf/budget.gin",
                               "benchmarks/gin-configs/profiles/micro.gin"]  # fmt: skip
    assert no_sync["configs"] == full["configs"] + ["benchmarks/gin-configs/dhnerf/no_lip_sync.gin"]
    assert no_dis["configs"] == full["configs"] + ["benchmarks/gin-configs/dhnerf/no_dis.gin"]
    assert (ROOT / no_dis["configs"][-1]).read_text().endswith("DHNeRF.lambda_dis = 0.0\n")
    assert full["bindings"] == no_sync["bindings"] == ["CODE_EXTRACTOR = '/x/ex.pt'"]
    with_sync = dhnerf.table2_methods("micro", dict(ASSETS, lipsync="/x/ls.pt"))[0]
    assert with_sync["configs"][-1] == "benchmarks/gin-configs/dhnerf/lipsync.gin"
    assert with_sync["bindings"][-1] == "LIPSYNC = '/x/ls.pt'"
    names = [m["name"] for m in dhnerf.table1_methods("micro", ASSETS)]
    assert names == ["RAD-NeRF", "ER-NeRF", "LokiTalk (RSDF)", "DH-NeRF"]


def test_r2_probe_values():
    g = np.random.default_rng(0)
    x = g.normal(size=(200, 4))
    fit = np.arange(200) < 140
    y = x @ g.normal(size=(4, 3)) + 0.5
    assert dhnerf.r2_probe(x, y, fit) == pytest.approx(1.0, abs=1e-3)
    assert dhnerf.r2_probe(g.normal(size=(200, 4)), y, fit) < 0.1


def test_probe_codes_reads_expression_and_light():
    g = np.random.default_rng(1)
    n = 60
    truth = SimpleNamespace(
        jaw=g.random(n), lip_width=g.random(n), eye_closure=g.random(n),
        light_dir=g.normal(size=(n, 3)), light_intensity=g.random(n),
    )  # fmt: skip
    ids = np.arange(n)
    expr = np.stack([truth.jaw, truth.lip_width, truth.eye_closure], 1)
    out = dhnerf.probe_codes({"ex": expr @ g.normal(size=(3, 5))}, truth, ids)
    assert out["ex"]["expression"] == pytest.approx(1.0, abs=1e-2)
    assert out["ex"]["light"] < 0.2
