"""Speed of the synthetic studio: write 10 identities x 20 s x 128x128 at 25 fps.

Target: under 5 minutes on 2 cores (about 50 ms per frame, JPEG/PNG writes included).

    python benchmarks/studio_speed.py            # the full run (5000 frames)
    python benchmarks/studio_speed.py --quick    # 2 identities x 2 s, a smoke run

Prints a summary and saves JSON (settings, seconds, frames per second, machine) to
benchmarks/results/studio_speed.json (studio_speed_quick.json with --quick).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["main"]

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2 identities x 2 s instead")
    ap.add_argument("--identities", type=int, default=None)
    ap.add_argument("--seconds", type=float, default=None)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--workers", type=int, default=None, help="processes (default: cpu count)")
    ap.add_argument("--out", default=None, help="keep the folders here (default: a temp dir)")
    args = ap.parse_args(argv)

    import torch

    from lokitalk_plugins.data.studio import synth

    identities = args.identities or (2 if args.quick else 10)
    seconds = args.seconds or (2.0 if args.quick else 20.0)
    workers = args.workers or min(os.cpu_count() or 1, identities)
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="studio_speed_"))
    frames = identities * int(round(seconds * 25))
    t0 = time.perf_counter()
    folders = synth(out, identities=identities, seconds=seconds, size=args.size,
                    workers=workers, progress=True)  # fmt: skip
    wall = time.perf_counter() - t0
    size_mb = sum(p.stat().st_size for f in folders for p in f.rglob("*") if p.is_file()) / 2**20
    if not args.out:
        shutil.rmtree(out, ignore_errors=True)
    result = {
        "benchmark": "studio_speed",
        "settings": {
            "identities": identities,
            "seconds": seconds,
            "size": args.size,
            "fps": 25,
            "workers": workers,
            "quick": bool(args.quick),
        },  # fmt: skip
        "frames": frames,
        "wall_seconds": round(wall, 2),
        "ms_per_frame": round(1000 * wall / frames, 2),
        "frames_per_second": round(frames / wall, 2),
        "target_seconds_full_run": 300,
        "projected_full_run_seconds": round(wall / frames * 5000, 1),
        "dataset_mb": round(size_mb, 1),
        "note": "includes process start-up and per-identity setup (~5 s); a --quick run is "
        "dominated by it, so only the full run measures the target",
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "python": sys.version.split()[0],
            "torch": torch.__version__,
            "torch_threads_per_worker": 1,
            "load_average_at_end": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        },
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = "studio_speed_quick.json" if args.quick else "studio_speed.json"
    (RESULTS / name).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
