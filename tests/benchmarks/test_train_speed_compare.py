"""benchmarks/train_speed_compare.py: runs side by side against a baseline."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from train_speed_compare import compare  # noqa: E402


def run(path, commit, sps, psnr, upkeep, bindings=()):
    path.write_text(json.dumps({
        "commit": commit, "command": f"python benchmarks/train_speed.py # {commit}",
        "machine": {"platform": "Linux", "cpu_count": 2, "threads": 1, "torch": "2.x"},
        "results": [{"bindings": list(bindings), "precision": "fp32", "steps_per_second": sps,
                     "val_psnr": psnr, "phase_shares": {"grid_upkeep": upkeep}}],
    }))  # fmt: skip
    return path


def test_rows_against_the_baseline(tmp_path):
    base = run(tmp_path / "base.json", "aaaaaaaaaaaa", 2.0, 28.0, 0.8)
    new = run(tmp_path / "new.json", "bbbbbbbbbbbb", 5.0, 27.75, 0.25, ["X.y = 1"])
    md = compare([base, new], base)
    lines = [line for line in md.splitlines() if line.startswith("| ")]
    assert lines[1].startswith("| base.json | aaaaaaaaaa | fp32 | - | 2.00 | 1.00x | 28.00 | +0.00")
    assert "| new.json | bbbbbbbbbb | fp32 | `X.y = 1` | 5.00 | 2.50x | 27.75 | -0.25 | 25% |" in md
    assert md.count("python benchmarks/train_speed.py #") == 2
