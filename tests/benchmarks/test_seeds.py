"""benchmarks/harness/seeds.py: a table cell over several seeds (``SEED = k`` bindings, one
workspace each) folded back into one row with mean ± sample std, every seed kept."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from harness import table2  # noqa: E402
from harness.common import cell  # noqa: E402
from harness.seeds import fold_seeds, mean_std, seeded_methods  # noqa: E402

METHODS = [
    {"name": "O", "configs": ["a.gin"], "bindings": ["x = 1"], "column": [0, 100]},
    {"name": "O+D+R", "configs": ["b.gin"], "bindings": [], "column": [10, 50]},
]


def _row(name: str, seed: int, psnr: float, lip: float | None) -> dict:
    metrics = {"psnr": psnr, "lip_sync": lip, "map_means": {"dx": 1.0}}
    return {"method": name, "workspace": f"ws_{name}_{seed}", "train_seconds": 60.0 * (seed + 1),
            "metrics": metrics, "eval": {}}  # fmt: skip


def test_each_method_runs_once_per_seed_with_its_own_workspace():
    runs = seeded_methods(METHODS, 3)
    assert [(m["name"], m["seed"]) for m in runs] == [
        ("O", 0), ("O", 1), ("O", 2), ("O+D+R", 0), ("O+D+R", 1), ("O+D+R", 2)
    ]  # fmt: skip
    assert [m["key"] for m in runs[:3]] == ["O", "O seed 1", "O seed 2"]  # seed 0: as before
    assert runs[1]["bindings"] == ["x = 1", "SEED = 1"] and METHODS[0]["bindings"] == ["x = 1"]
    only_half = seeded_methods(METHODS, 3, select=lambda m: m["column"][1] == 50)
    assert [m["key"] for m in only_half] == ["O", "O+D+R", "O+D+R seed 1", "O+D+R seed 2"]
    with pytest.raises(ValueError, match="--seeds must be >= 1, got 0"):
        seeded_methods(METHODS, 0)


def test_rows_fold_into_mean_and_sample_std_with_every_seed_kept():
    runs = seeded_methods(METHODS, 3)
    psnr = {"O": (20.0, 22.0, 24.0), "O+D+R": (25.0, 25.0, 28.0)}
    rows = [_row(m["name"], m["seed"], psnr[m["name"]][m["seed"]], None if m["seed"] else 0.5)
            for m in runs]  # fmt: skip
    folded = fold_seeds(rows, runs)
    assert [r["method"] for r in folded] == ["O", "O+D+R"]
    o = folded[0]
    assert o["metrics"]["psnr"] == pytest.approx(22.0) and o["metrics_std"]["psnr"] == 2.0
    assert o["metrics"]["lip_sync"] == 0.5 and o["metrics_std"]["lip_sync"] is None
    assert o["metrics"]["map_means"] == {"dx": 1.0} and o["workspace"] == "ws_O_0"
    assert [s["metrics"]["psnr"] for s in o["seeds"]] == [20.0, 22.0, 24.0]
    assert [s["seed"] for s in o["seeds"]] == [0, 1, 2]
    assert folded[1]["metrics_std"]["psnr"] == pytest.approx(3**0.5)
    assert cell(o, "psnr") == "22.00 ± 2.00" and cell(o, "lip_sync") == "0.50"
    assert mean_std([None, 1, True]) == (1.0, None) and mean_std([]) == (None, None)


def test_table2_markdown_gives_mean_and_std_and_says_so():
    runs = seeded_methods([dict(m, name=n) for m, n in zip(METHODS * 2, table2.PAPER)], 2)
    rows = []
    for m in runs:
        r = _row(m["name"], m["seed"], 20.0 + m["seed"], 0.1)
        r["metrics"].update({k: None for k in table2.METRICS if k not in r["metrics"]})
        r["metrics"].update(train_minutes=1.0, fps=2.0 if m["seed"] == 0 else None,
                            render_ratio=1.0)  # fmt: skip
        r["eval"] = {"landmark_detector": "none"}
        rows.append(r)
    report = {
        "data_label": "the studio", "profile": "micro", "command": "python benchmarks/run.py",
        "commit": "0" * 40, "backbone": "er_nerf", "load_at_start": 0.1, "seeds": [0, 1],
        "settings": {"size": 32, "seconds": 1.0, "head": 4, "lips": 1, "rays": 8},
        "machine": {"jobs_in_parallel": 1, "cpu_count": 2, "platform": "x", "torch": "2"},
        "results": fold_seeds(rows, runs),
    }  # fmt: skip
    md = table2.markdown(report)
    assert "| 20.50 ± 0.71 |" in md and "Every row: mean ± sample std over seeds 0, 1;" in md


def test_two_cells_sharing_a_label_stay_two_rows():
    """Table 3 at small profiles: 10 and 5 identities are both capped to 2 ("2 ids, 50%")."""
    same = [dict(METHODS[1], key="10 ids 50"), dict(METHODS[1], key="5 ids 50")]
    runs = seeded_methods(same, 2)
    assert len({m["key"] for m in runs}) == 4  # four workspaces
    rows = [_row(m["name"], m["seed"], 20.0 + m["seed"], 0.1) for m in runs]
    folded = fold_seeds(rows, runs)
    assert [r["method"] for r in folded] == ["O+D+R", "O+D+R"]
    assert [len(r["seeds"]) for r in folded] == [2, 2]


def test_table1_rows_fold_seeds_and_measure_speed_and_cross_driving_on_seed_0():
    from harness import table1
    from harness.runner_table1 import row_metrics

    base = [{"name": n, "configs": [f"{n}.gin"], "bindings": []}
            for n in ("RAD-NeRF", "ER-NeRF", "LokiTalk")]  # fmt: skip
    runs = seeded_methods(base, 3)
    assert [m["key"] for m in runs[:4]] == ["RAD-NeRF", "RAD-NeRF seed 1", "RAD-NeRF seed 2",
                                            "ER-NeRF"]  # fmt: skip
    rows = []
    for m in runs:
        ev = {k: None for k in ("ssim", "lpips", "lmd", "lmd_eyes", "eye_error", "lip_sync")}
        ev.update(psnr=28.0 + m["seed"], mouth_error=1.0, size_mb=5.0)
        rows.append({"method": m["name"], "workspace": f"ws_{m['key']}", "eval": ev,
                     "train_seconds": 60.0 * (m["seed"] + 1)})  # fmt: skip
    fps = {"RAD-NeRF": 4.0, "ER-NeRF": 6.0, "LokiTalk": 3.0}
    cross = {n: {"psnr": 29.0, "mouth_error": 1.0, "sync_conf": 0.5, "sync_offset": 0,
                 "frames": 60} for n in fps}  # fmt: skip
    folded = row_metrics(runs, rows, fps, cross, pretrain_seconds=600.0)
    assert [r["method"] for r in folded] == ["RAD-NeRF", "ER-NeRF", "LokiTalk"]
    er = folded[1]
    assert er["metrics"]["psnr"] == pytest.approx(29.0) and er["metrics_std"]["psnr"] == 1.0
    assert er["metrics"]["fps"] == 6.0  # seed 0's, the only one measured
    assert [s["metrics"]["fps"] for s in er["seeds"]] == [6.0, None, None]
    assert er["metrics"]["train_minutes"] == pytest.approx(2.0)  # the mean of 1, 2 and 3
    assert folded[2]["metrics"]["pretrain_minutes"] == 10.0
    assert "pretrain_minutes" not in er["metrics"]
    report = {
        "data_label": "the studio", "profile": "micro", "command": "python benchmarks/run.py",
        "commit": "0" * 40, "load_at_start": 0.1, "seeds": [0, 1, 2], "studio": True,
        "settings": {"size": 32, "seconds": 1.0, "head": 4, "lips": 1, "torso": 2, "rays": 8},
        "machine": {"jobs_in_parallel": 1, "cpu_count": 2, "platform": "x", "torch": "2"},
        "render_ratio_lokitalk_vs_er_nerf": 2.0, "cross_driving": cross, "results": folded,
    }  # fmt: skip
    md = table1.markdown(report)
    assert "| ER-NeRF | 29.00 ± 1.00 | n/a |" in md
    assert "Every row: mean ± sample std over seeds 0, 1, 2;" in md
    assert "FPS and cross-driving are measured on seed 0." in md


def test_the_machine_record_names_the_processor_and_its_bf16_instructions():
    """Seeded runs repeat bit for bit only on the same kind of processor, so every report's
    machine record names it (``cpu_model``) beside its bfloat16 instructions."""
    from harness.common import machine

    from lokitalk_plugins.train.runtime import cpu_bf16_support, cpu_model

    m = machine(threads_per_job=1, jobs_in_parallel=2)
    assert m["cpu_model"] == cpu_model() and m["cpu_bf16"] == cpu_bf16_support()
    assert m["threads_per_job"] == 1 and m["jobs_in_parallel"] == 2
