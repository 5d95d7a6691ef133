"""Contact sheet of a studio folder: frames, region labels, landmarks, and the hidden tracks."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .labels import LABEL_NAMES
from .lighting import INTENSITY_RANGE
from .truth import load_truth

__all__ = ["write_preview", "LABEL_COLOURS"]

LABEL_COLOURS = np.array(
    [
        [0.95, 0.95, 0.95],  # background
        [0.95, 0.75, 0.55],  # face
        [0.45, 0.25, 0.1],  # hair
        [0.85, 0.1, 0.25],  # lips
        [0.25, 0.0, 0.1],  # mouth
        [1.0, 1.0, 0.6],  # teeth
        [0.2, 0.6, 1.0],  # eyes
        [0.3, 0.8, 0.3],  # neck
        [0.35, 0.35, 0.8],  # torso
    ]
)


def write_preview(folder, out=None, n_frames: int = 8) -> Path:
    """Write a PNG contact sheet for a studio folder (default ``<folder>.preview.png``):
    n_frames frames, their region labels, landmarks over the frames, and the jaw, lip width
    and eye closure tracks over time beside the audio envelope (and the light's intensity
    and horizontal direction when the folder was written with the lighting option)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    folder = Path(folder)
    out = Path(out) if out is not None else folder.parent / (folder.name + ".preview.png")
    truth = load_truth(folder)
    n = len(truth)
    pick = np.unique(np.linspace(0, n - 1, n_frames).round().astype(int))
    fig = plt.figure(figsize=(2.0 * len(pick), 8.4))
    grid = fig.add_gridspec(4, len(pick), height_ratios=[1, 1, 1, 1.3])
    for c, i in enumerate(pick):
        img = np.asarray(Image.open(folder / "ori_imgs" / f"{i}.jpg"))
        for r, content in enumerate(("frame", "labels", "landmarks")):
            ax = fig.add_subplot(grid[r, c])
            ax.set_xticks([])
            ax.set_yticks([])
            if content == "labels":
                ax.imshow(LABEL_COLOURS[truth.labels[i]])
            else:
                ax.imshow(img)
            if content == "landmarks":
                lm = truth.landmarks[i] - 0.5  # imshow puts pixel centres at integers
                ax.scatter(lm[:, 0], lm[:, 1], s=2, c="lime", linewidths=0)
            if r == 0:
                ax.set_title(f"frame {i}", fontsize=8)
            if c == 0:
                ax.set_ylabel(content, fontsize=8)
    ax = fig.add_subplot(grid[3, :])
    t = np.arange(n) / float(truth.meta.get("fps", 25))
    env = truth.envelope / (truth.envelope.max() + 1e-9)
    ax.fill_between(t, 0, env, color="0.8", label="audio envelope")
    ax.plot(t, truth.jaw, label="jaw opening")
    ax.plot(t, truth.lip_width, label="lip width")
    ax.plot(t, truth.eye_closure, label="eye closure")
    if truth.light_intensity is not None:  # the lighting option: its track, scaled to 0..1
        lo, hi = INTENSITY_RANGE
        ax.plot(t, (truth.light_intensity - lo) / (hi - lo), ls="--", label="light intensity")
        ax.plot(t, (truth.light_dir[:, 0] + 1) / 2, ls="--", label="light x (0 left, 1 right)")
    for i in pick:
        ax.axvline(i / float(truth.meta.get("fps", 25)), color="k", lw=0.5, ls=":")
    ax.set_xlabel("time (s)")
    ax.set_ylim(-0.05, 1.05)
    ax.legend(fontsize=7, ncol=4, loc="upper right")
    handles = [plt.Rectangle((0, 0), 1, 1, color=LABEL_COLOURS[k]) for k in range(len(LABEL_NAMES))]
    fig.legend(handles, LABEL_NAMES, ncol=len(LABEL_NAMES), fontsize=7, loc="upper center",
               bbox_to_anchor=(0.5, 0.965))  # fmt: skip
    meta = truth.meta
    title = (f"{folder.name}: identity {meta.get('identity')}, utterance "
             f"{meta.get('utterance')}, seed {meta.get('seed')}")  # fmt: skip
    fig.suptitle(title, fontsize=9, y=0.995)
    fig.tight_layout(rect=(0, 0, 1, 0.93))  # the title and the label legend sit above
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
