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
    assert lines[1].startswith(
        "| base.json | aaaaaaaaaa | fp32 | - | 1 | 2.00 | 1.00x | 28.00 | +0.00"
    )
    assert (
        "| new.json | bbbbbbbbbb | fp32 | `X.y = 1` | 1 | 5.00 | 2.50x | 27.75 | -0.25 | 25% |"
        in md
    )
    assert md.count("python benchmarks/train_speed.py #") == 2


def test_the_seeds_of_a_run_are_one_row_with_mean_and_std(tmp_path):
    """Runs that differ only by their seed bindings (in folders <name>_s<seed>) are grouped;
    the baseline may be several seeds too; speed-up and ΔPSNR compare the means."""
    paths = {}
    for name, sps, psnr, extra in (
        ("orig", (2.0, 4.0), (28.0, 28.2), []),
        ("fast", (6.0, 10.0), (27.9, 28.3), ["G.lattice = True"]),
    ):
        for seed in (0, 1):
            folder = tmp_path / f"{name}_s{seed}"
            folder.mkdir()
            seeds = [f"train.seed = {seed}", f"Trainer.seed = {seed}"]
            paths[name, seed] = run(
                folder / "train_speed_er_nerf_400.json",
                "cccccccccccc",
                sps[seed],
                psnr[seed],
                0.5 / (seed + 1),
                seeds + extra,
            )
    base = [paths["orig", 0], paths["orig", 1]]
    md = compare(list(paths.values()), base)
    lines = [line for line in md.splitlines() if line.startswith("| ")]
    assert len(lines) == 3  # header, the baseline's row, fast's row
    assert lines[1] == (
        "| orig | cccccccccc | fp32 | - | 2 | 3.00 ± 1.41 | 1.00x | 28.10 ± 0.14 "
        "| +0.00 | 38 ± 18% |"
    )
    assert lines[2] == (
        "| fast | cccccccccc | fp32 | `G.lattice = True` | 2 | 8.00 ± 2.83 | 2.67x "
        "| 28.10 ± 0.28 | +0.00 | 38 ± 18% |"
    )
    assert "2 seed(s)" in md


def test_a_note_goes_under_the_title(tmp_path):
    base = run(tmp_path / "base.json", "aaaaaaaaaaaa", 2.0, 28.0, 0.8)
    md = compare([base], base, note="Two jobs shared the cores.")
    assert "compare means.\n\nTwo jobs shared the cores.\n\n| run |" in md


def test_seeds_run_at_two_commits_share_a_row_that_names_both(tmp_path):
    a = run(tmp_path / "x_s0.json", "aaaaaaaaaaaa", 2.0, 28.0, 0.5, ["train.seed = 0"])
    b = run(tmp_path / "x_s1.json", "bbbbbbbbbbbb", 4.0, 27.0, 0.5, ["train.seed = 1"])
    rows = [line for line in compare([a, b], [a, b]).splitlines() if line.startswith("| x ")]
    assert rows == ["| x | aaaaaaaaaa, bbbbbbbbbb | fp32 | - | 2 | 3.00 ± 1.41 | 1.00x "
                    "| 27.50 ± 0.71 | +0.00 | 50 ± 0% |"]  # fmt: skip
