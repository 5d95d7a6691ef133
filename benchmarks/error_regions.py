"""Where a trained workspace's val error lies: the share of squared error in each studio region.

    python benchmarks/error_regions.py WORKSPACE [--every 3]

Renders the val frames of a workspace trained on a studio folder (every ``--every``-th frame)
and splits the squared colour error by the ground-truth labels: head (face, hair, lips, mouth,
teeth, eyes), torso + neck, background. Prints the shares and writes WORKSPACE/error_regions.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workspace", type=Path)
    parser.add_argument("--every", type=int, default=3, help="use every n-th val frame")
    args = parser.parse_args(argv)
    from harness.measures import region_errors

    from lokitalk_plugins.commands.workspace import load_dataset, load_system
    from lokitalk_plugins.data.studio import load_truth

    system, run, stage = load_system(args.workspace)
    val = load_dataset(run, stage, "val", progress=False)
    truth = load_truth(run["data"])
    sums = {"head": 0.0, "torso+neck": 0.0, "background": 0.0}
    frames = list(range(0, len(val), args.every))
    with torch.no_grad():
        for i in frames:
            frame = val[i]
            for k, (e, _n) in region_errors(
                system.render_frame(frame)["rgb"], frame, truth
            ).items():
                sums[k] += e
    total = sum(sums.values())
    shares = {k: v / total for k, v in sums.items()}
    result = {"workspace": str(args.workspace), "stage": stage, "frames": frames,
              "squared_error": sums, "share": shares}  # fmt: skip
    (args.workspace / "error_regions.json").write_text(json.dumps(result, indent=1))
    for k, v in shares.items():
        print(f"{k:>12}: {100 * v:5.1f}% of the squared error")
    return 0


if __name__ == "__main__":
    sys.exit(main())
