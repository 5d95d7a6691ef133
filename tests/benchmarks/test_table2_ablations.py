"""benchmarks/harness/table2.py --ablations: rows that isolate a missed claim's cause."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

from harness import table2  # noqa: E402
from harness.seeds import seeded_methods  # noqa: E402


def test_ablation_rows_change_one_binding_of_their_base_row_and_train_seed_0_only():
    methods = table2.build_methods("er_nerf", "micro", ["AUDIO_IN_DIM = 32"], True)
    abl = table2.ablation_methods(methods)
    assert [m["name"] for m in abl] == [
        "O, 32 samples a ray", "O+D, 32 samples a ray", "O+D+R, 32 samples a ray"
    ]  # fmt: skip
    for m in abl:
        base = next(b for b in methods if b["name"] == m["ablation"]["baseline"])
        extra = "benchmarks/gin-configs/table2/ablations/samples_32.gin"
        assert m["configs"] == [*base["configs"], extra] and m["bindings"] == base["bindings"]
        assert "TalkingHeadSystem.max_samples = 32" in (ROOT / extra).read_text()
        assert "t2_target" in m["ablation"]["claims"] and "16 -> 32" in m["ablation"]["isolates"]
    runs = seeded_methods(methods + abl, 3, select=lambda m: "ablation" not in m)
    assert [r["key"] for r in runs if "ablation" in r] == [m["name"] for m in abl]
    assert len(runs) == 3 * len(methods) + len(abl)
    # without its base row an ablation is left out
    assert [m["name"] for m in table2.ablation_methods(methods[1:])] == [
        "O+D, 32 samples a ray", "O+D+R, 32 samples a ray"
    ]  # fmt: skip
