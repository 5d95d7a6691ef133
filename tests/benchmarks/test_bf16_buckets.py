"""benchmarks/bf16_buckets.py at a micro size (in a subprocess: it installs global hooks): the
product and training cells, the ratios to float32, the markdown; no overwrite without
--force; a CPU without bfloat16 instructions gets a one-line refusal."""

from __future__ import annotations

import json

import pytest

from lokitalk_plugins.train.runtime import cpu_bf16_support

SCRIPT = "bf16_buckets.py"


@pytest.mark.skipif(cpu_bf16_support() is None, reason="this CPU has no bfloat16 instructions")
def test_micro_run_writes_products_and_training_cells(tmp_path, run_script):
    out = tmp_path / "out"
    args = ["--quick", "--steps", "3", "--repeats", "2", "--rounds", "2", "--out", str(out),
            "--work", str(tmp_path / "work")]  # fmt: skip
    proc = run_script(SCRIPT, *args)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((out / "bf16_buckets.json").read_text())
    cells = {(r["dtype"], r["product"], r["K"]) for r in report["products"]}
    assert len(cells) == 12 and all(r["ms"] > 0 for r in report["products"])
    rows = report["training"]
    assert [(r["precision"], r["pad_samples"]) for r in rows] == [
        ("fp32", "off"), ("bf16", "off"), ("bf16", "auto")]  # fmt: skip
    assert [r["precision"] for r in rows] == ["fp32", "bf16", "bf16"]  # what the trainer ran
    assert rows[0]["speed_vs_fp32"] == 1.0 and rows[0]["speed_vs_fp32_range"] == [1.0, 1.0]
    for r in rows:
        assert len(r["rounds"]) == 2 and r["steps_per_second"] > 0
        per_round = sorted(x["steps_per_second"] for x in r["rounds"])
        assert r["steps_per_second"] == pytest.approx(sum(per_round) / 2)  # median of two
        lo, hi = r["speed_vs_fp32_range"]
        assert lo <= r["speed_vs_fp32"] <= hi
    assert report["quick"] and report["machine"]["bf16_instructions"]
    md = (out / "bf16_buckets.md").read_text()
    assert "| bfloat16 | weight gradient |" in md and "| bf16 | auto |" in md
    again = run_script(SCRIPT, *args)
    assert again.returncode == 2 and "pass --force" in again.stderr.strip().splitlines()[-1]


@pytest.mark.skipif(cpu_bf16_support() is not None, reason="this CPU has bfloat16 instructions")
def test_without_bfloat16_instructions_it_says_so(tmp_path, run_script):
    proc = run_script(SCRIPT, "--quick", "--out", str(tmp_path), timeout=300)
    assert proc.returncode == 2 and "no bfloat16 instructions" in proc.stderr
