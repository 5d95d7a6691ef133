"""RAD-NeRF and ER-NeRF trained on one studio identity on the CPU, then evaluated on val: the
entry point the results index names, now ``benchmarks/run.py baselines`` (same options).

    python benchmarks/baselines_studio.py                 # 128x128, 20 s, ~20 min a backbone
    python benchmarks/baselines_studio.py --profile quick # 64x64, 4 s, a few minutes

See :mod:`harness.baselines` for what runs and what it writes.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run  # noqa: E402


def main(argv=None) -> int:
    """``benchmarks/run.py baselines`` with these arguments."""
    return run.main(["baselines", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
