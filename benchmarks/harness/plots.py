"""Plots of a table: training curves per method, a bar chart per metric, a frame strip."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

__all__ = ["bar_chart", "frame_strip", "training_curves"]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def training_curves(rows: list[dict], path: Path, stage: str = "head") -> Path | None:
    """Training PSNR against wall time and step for each method (``logs/<stage>.csv`` of its
    workspace); None when no method logged that stage."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    drawn = False
    for row in rows:
        log = Path(row["workspace"]) / "logs" / f"{stage}.csv"
        if not log.is_file():
            continue
        with open(log) as f:
            recs = [r for r in csv.DictReader(f) if r.get("psnr")]
        if not recs:
            continue
        step = [int(r["step"]) for r in recs]
        wall = [float(r["wall_time"]) / 60 for r in recs]
        psnr = [float(r["psnr"]) for r in recs]
        axes[0].plot(step, psnr, label=row["method"])
        axes[1].plot(wall, psnr, label=row["method"])
        drawn = True
    if not drawn:
        plt.close(fig)
        return None
    axes[0].set(xlabel="step", ylabel="train PSNR (dB)", title=f"{stage} stage")
    axes[1].set(xlabel="wall time (min)", ylabel="train PSNR (dB)")
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def bar_chart(rows: list[dict], metrics: list[tuple[str, str]], path: Path, title: str) -> Path:
    """One panel per metric (key, label) with a bar per method (error bar: the std over seeds
    when the rows fold several); None values are left out."""
    plt = _plt()
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.2 * len(metrics), 3.2))
    axes = np.atleast_1d(axes)
    names = [r["method"] for r in rows]
    for ax, (key, label) in zip(axes, metrics):
        vals = [r["metrics"].get(key) for r in rows]
        xs = [i for i, v in enumerate(vals) if v is not None]
        stds = [(rows[i].get("metrics_std") or {}).get(key) or 0.0 for i in xs]
        ax.bar(xs, [vals[i] for i in xs], yerr=stds if any(stds) else None, color="tab:blue")
        ax.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
        ax.set_title(label, fontsize=9)
        if not xs:
            ax.text(0.5, 0.5, "n/a", transform=ax.transAxes, ha="center")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def frame_strip(columns: list[tuple[str, np.ndarray]], path: Path, title: str) -> Path:
    """Frames side by side (label, [H, W, 3] in [0, 1]) in one row."""
    plt = _plt()
    fig, axes = plt.subplots(1, len(columns), figsize=(2.4 * len(columns), 2.7))
    for ax, (label, img) in zip(np.atleast_1d(axes), columns):
        ax.imshow(np.clip(img, 0, 1))
        ax.set_title(label, fontsize=8)
        ax.axis("off")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
