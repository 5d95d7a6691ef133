"""benchmarks/optimizer_step.py at a micro size (in a subprocess: it installs global hooks):
every backbone cell's step timed for the three implementations, which end where the loop
does; the training runs with the loop and with 'auto'; the markdown; no overwrite without
--force."""

from __future__ import annotations

import json

import pytest

SCRIPT = "optimizer_step.py"


def test_micro_run_times_every_cell_and_trains_with_both(tmp_path, run_script):
    out = tmp_path / "out"
    args = ["--quick", "--steps", "2", "--repeats", "2", "--rounds", "1", "--out", str(out),
            "--work", str(tmp_path / "work")]  # fmt: skip
    proc = run_script(SCRIPT, *args)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((out / "optimizer_step.json").read_text())
    cells = [(r["backbone"], r["model"], r["optimizer"]) for r in report["steps_alone"]]
    assert cells == [("er_nerf", "bare", "adamw"), ("er_nerf", "wrapped", "adamw"),
                     ("rad_nerf", "bare", "adam"), ("rad_nerf", "wrapped", "adam")]  # fmt: skip
    for r in report["steps_alone"]:
        t = r["timings"]
        assert set(t) == {"loop", "foreach", "fused"} and all(v["ms"] > 0 for v in t.values())
        assert t["loop"]["speedup_vs_loop"] == 1.0 and t["loop"]["max_abs_diff_vs_loop"] == 0
        assert t["fused"]["max_abs_diff_vs_loop"] < 1e-5  # the same steps, to rounding
    wrapped = [r["parameters"] for r in report["steps_alone"] if r["model"] == "wrapped"]
    bare = [r["parameters"] for r in report["steps_alone"] if r["model"] == "bare"]
    assert all(w > b for w, b in zip(wrapped, bare))  # the plug-ins' parameters are in
    rows = report["training"]
    assert [r["implementation"] for r in rows] == ["loop", "auto"]
    assert rows[0]["speed_vs_loop"] == 1.0 and all(r["steps_per_second"] > 0 for r in rows)
    assert rows[0]["val_psnr"] == pytest.approx(rows[1]["val_psnr"], abs=0.05)
    md = (out / "optimizer_step.md").read_text()
    assert "| er_nerf | wrapped | adamw |" in md and "| auto |" in md
    again = run_script(SCRIPT, *args)
    assert again.returncode == 2 and "pass --force" in again.stderr.strip().splitlines()[-1]
