"""How much audio context a studio identity's mouth needs: ridge probes from audio windows to
the true jaw opening and lip width, with 1, 3, 9, 17 frames of windows around each frame.

    python benchmarks/audio_context_probe.py [--data FOLDER] [--contexts 1 3 9 17]
        [--out results/audio_context_probe.json [--force]]

GDRF's LSTM (and any audio model with long-term context) can only help where the mouth depends
on more than the frame's own audio window. Each probe is a ridge regression from the
standardised, flattened windows of ``c`` consecutive frames (centred on the frame, clamped at
the clip's ends) to a factor of the studio's truth, fitted on the first 80% of the training
frames, its ridge weight chosen on the other 20%, then refitted on every training frame and
scored by R² on the val frames. FOLDER: a studio identity (its truth beside it); default: studio
identity 0 at 128 px, 20 s, written into benchmarks/results/cache once.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

FACTORS = ("jaw", "lip_width")
LAMBDAS = (0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0)


def windows(aud: np.ndarray, context: int) -> np.ndarray:
    """aud [N, ...] per-frame audio windows -> [N, context * prod(...)]: each frame's and its
    neighbours' windows (``context`` frames centred on it, odd; clamped at the ends)."""
    n, half = len(aud), context // 2
    idx = np.clip(np.arange(n)[:, None] + np.arange(-half, half + 1)[None], 0, n - 1)
    return aud[idx].reshape(n, -1).astype(np.float64)


def _fit(x: np.ndarray, y: np.ndarray, lam: float):
    mu, sd = x.mean(0), x.std(0) + 1e-6
    xs = (x - mu) / sd
    w = np.linalg.solve(xs.T @ xs + lam * np.eye(x.shape[1]), xs.T @ (y - y.mean()))
    return lambda z: ((z - mu) / sd) @ w + y.mean()


def r2(y: np.ndarray, pred: np.ndarray) -> float:
    """1 - SSE / SST of ``pred`` against ``y`` (NaN where y is constant)."""
    sst = float(((y - y.mean()) ** 2).sum())
    return float("nan") if sst == 0 else 1.0 - float(((y - pred) ** 2).sum()) / sst


def probe(x: np.ndarray, y: np.ndarray, train: np.ndarray, val: np.ndarray) -> dict:
    """Ridge from x to y: the weight chosen on the last 20% of ``train`` (fitted on the rest),
    refitted on all of ``train``, R² on ``val`` -> {"r2", "lambda", "r2_select"}."""
    cut = max(1, int(round(0.8 * len(train))))
    fit, sel = train[:cut], train[cut:]
    scores = [(r2(y[sel], _fit(x[fit], y[fit], lam)(x[sel])), lam) for lam in LAMBDAS]
    best, lam = max(scores, key=lambda s: (np.nan_to_num(s[0], nan=-np.inf), -s[1]))
    pred = _fit(x[train], y[train], lam)(x[val])
    return {"r2": r2(y[val], pred), "lambda": lam, "r2_select": best}


def run(data: Path, contexts) -> dict:
    from lokitalk_plugins.data.studio import load_truth

    aud = np.load(data / "aud.npy")
    truth = load_truth(data)
    split = {}
    for s in ("train", "val"):
        frames = json.loads((data / f"transforms_{s}.json").read_text())["frames"]
        split[s] = np.asarray([f["img_id"] for f in frames])
    out = {}
    for c in contexts:
        x = windows(aud, c)
        out[str(c)] = {f: probe(x, np.asarray(getattr(truth, f), np.float64), split["train"],
                                split["val"]) for f in FACTORS}  # fmt: skip
    return {"data": str(data), "frames": {k: len(v) for k, v in split.items()},
            "window_shape": list(aud.shape[1:]), "contexts": list(contexts), "r2": out}  # fmt: skip


def markdown(report: dict) -> str:
    lines = ["# How much audio context the studio's mouth needs", "",
             f"Command: `{report['command']}` (commit {report['commit']})", "",
             f"Data: `{report['data']}` ({report['frames']['train']} training frames, "
             f"{report['frames']['val']} val frames; one frame's audio window "
             f"{report['window_shape']}). R² of a ridge probe on the val frames:", "",
             "| frames of audio windows | " + " | ".join(FACTORS) + " |",
             "|---|" + "---|" * len(FACTORS)]  # fmt: skip
    for c in report["contexts"]:
        cells = [f"{report['r2'][str(c)][f]['r2']:.3f}" for f in FACTORS]
        lines.append(f"| {c} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="a studio identity folder (default: identity 0)")
    parser.add_argument("--contexts", type=int, nargs="+", default=[1, 3, 9, 17])
    parser.add_argument("--out", type=Path, help="write JSON here (and .md beside it)")
    parser.add_argument("--force", action="store_true", help="overwrite --out")
    args = parser.parse_args(argv)
    for c in args.contexts:
        if c < 1 or c % 2 == 0:
            parser.error(f"--contexts: {c} is not an odd number of frames >= 1 (1, 3, 9, ...)")
    if args.out is not None and not args.force:
        for p in (args.out, args.out.with_suffix(".md")):
            if p.exists():
                parser.error(f"{p} exists; pass --force to overwrite it or choose another --out")
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from harness.common import commit, studio_identity

    data = args.data
    if data is None:
        data = studio_identity(Path(__file__).resolve().parent / "results" / "cache", 0, 128, 20)
    if not (data / "aud.npy").is_file():
        parser.error(f"{data}: no aud.npy; give a studio identity folder")
    try:
        report = run(data, args.contexts)
    except FileNotFoundError as e:
        parser.error(f"{e}; give a studio identity folder, its truth beside it")
    report["command"] = "python benchmarks/audio_context_probe.py " + " ".join(
        sys.argv[1:] if argv is None else argv)  # fmt: skip
    report["commit"] = commit()
    md = markdown(report)
    print(md)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1))
        args.out.with_suffix(".md").write_text(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
