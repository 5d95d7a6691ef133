"""``lokitalk lipsync``: train the lip-sync contrastive module (DH-NeRF §3.4) on a folder.

``lokitalk lipsync --data data/obama --out lipsync.pt --steps 1000`` trains on the train
split with InfoNCE (N negatives at least --min-gap frames away, τ 0.5), prints the loss and
the top-1 retrieval of each frame's own audio among N + 1 (next to chance) on the train and
val splits, and writes one weights-only checkpoint whose audio branch is F_a
(``configs/lipsync.gin``).
"""

from __future__ import annotations

__all__ = ["HELP", "configure", "run", "format_summary"]

HELP = "Train the lip-sync contrastive module (lips crop vs audio; its audio branch is F_a)."


def configure(parser) -> None:
    parser.add_argument("--data", required=True, help="preprocessed folder (train/val splits)")
    parser.add_argument("--out", required=True, help="checkpoint file to write (e.g. lipsync.pt)")
    parser.add_argument("--audio-file", default="aud.npy",
                        help="audio features in the folder (default aud.npy)")  # fmt: skip
    parser.add_argument("--steps", type=int, default=1000, help="optimiser steps (default 1000)")
    parser.add_argument("--batch", type=int, default=32, help="anchors per step (default 32)")
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    parser.add_argument("--dim", type=int, default=32, help="size of F_lip, F_al = F_a (32)")
    parser.add_argument("--negatives", type=int, default=10, help="negatives per anchor (10)")
    parser.add_argument("--min-gap", type=int, default=8,
                        help="frames between an anchor and its negatives (default 8)")  # fmt: skip
    parser.add_argument("--tau", type=float, default=0.5, help="temperature (default 0.5)")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def format_summary(summary: dict) -> str:
    """The train/val table of a ``train_lipsync`` summary."""
    lines = [f"{'split':<6} {'frames':>6} {'InfoNCE':>8} {'top-1':>6} {'chance':>7}"]
    for split in ("train", "val"):
        s = summary.get(split)
        if s is None:
            lines.append(f"{split:<6} (too few frames for {summary['negatives']} negatives)")
            continue
        lines.append(
            f"{split:<6} {s['frames']:>6} {s['loss']:>8.4f} {s['top1']:>6.3f} {s['chance']:>7.3f}"
        )
    lines.append(f"loss {summary['loss_first']:.4f} -> {summary['loss_last']:.4f} "
                 f"over {summary['steps']} steps")  # fmt: skip
    return "\n".join(lines)


def run(args) -> int:
    from lokitalk_plugins.commands.signal_run import run_training_command
    from lokitalk_plugins.errors import OptionError
    from lokitalk_plugins.train.lipsync import train_lipsync

    if min(args.steps, args.batch, args.dim, args.negatives, args.min_gap) < 1 or args.tau <= 0:
        raise OptionError(
            "--steps, --batch, --dim, --negatives, --min-gap and --tau must be positive"
        )
    return run_training_command(
        args.data, train_lipsync, format_summary, out=args.out, steps=args.steps,
        batch=args.batch, lr=args.lr, seed=args.seed, audio_file=args.audio_file,
        dim=args.dim, negatives=args.negatives, min_gap=args.min_gap, tau=args.tau,
        progress=not args.no_progress,
    )  # fmt: skip
