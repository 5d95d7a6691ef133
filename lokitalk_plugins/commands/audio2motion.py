"""``lokitalk audio2motion``: train the Audio2Motion VAE (F_a) on a folder's landmarks.

``lokitalk audio2motion --data data/obama --out a2m.pt --steps 2000 --latent 32`` trains on
the train split, prints the lip/jaw motion error of the audio-only prediction on the train
and val splits next to the error of predicting no motion (the clip's mean mouth), and writes
one weights-only checkpoint.
"""

from __future__ import annotations

__all__ = ["HELP", "configure", "run", "format_summary"]

HELP = "Train the Audio2Motion VAE (audio -> lip and jaw motion; its prior mean is F_a)."


def configure(parser) -> None:
    parser.add_argument("--data", required=True, help="preprocessed folder (train/val splits)")
    parser.add_argument("--out", required=True, help="checkpoint file to write (e.g. a2m.pt)")
    parser.add_argument("--audio-file", default="aud.npy",
                        help="audio features in the folder (default aud.npy)")  # fmt: skip
    parser.add_argument("--steps", type=int, default=2000, help="optimiser steps (default 2000)")
    parser.add_argument("--batch", type=int, default=64, help="frames per step (default 64)")
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    parser.add_argument("--latent", type=int, default=32, help="latent size = F_a size (32)")
    parser.add_argument("--hidden", type=int, default=128, help="MLP width (default 128)")
    parser.add_argument("--beta", type=float, default=1e-2, help="KL weight (default 1e-2)")
    parser.add_argument("--beta-warmup", type=int, default=0,
                        help="steps of linear KL warm-up from 0 (default none)")  # fmt: skip
    parser.add_argument("--prior-weight", type=float, default=0.0,
                        help="weight of the audio-only recon. loss (default 0)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def format_summary(summary: dict) -> str:
    """The train/val error table of a ``train_audio2motion`` summary."""
    lines = [
        "motion of lip + jaw landmarks, in inter-ocular distances (IOD)",
        f"{'split':<6} {'frames':>6} {'model dist':>11} {'zero dist':>10} "
        f"{'model mse':>10} {'zero mse':>10}",
    ]
    for split in ("train", "val"):
        e = summary.get(split)
        if e is None:
            lines.append(f"{split:<6} {0:>6} (no frames)")
            continue
        lines.append(
            f"{split:<6} {e['frames']:>6} {e['model_dist']:>11.4f} {e['zero_dist']:>10.4f} "
            f"{e['model_mse']:>10.6f} {e['zero_mse']:>10.6f}"
        )
    lines.append(f"loss {summary['loss_first']:.4f} -> {summary['loss_last']:.4f} "
                 f"over {summary['steps']} steps")  # fmt: skip
    return "\n".join(lines)


def run(args) -> int:
    from lokitalk_plugins.commands.signal_run import run_training_command
    from lokitalk_plugins.errors import OptionError
    from lokitalk_plugins.train.audio2motion import train_audio2motion

    if args.steps < 1 or args.batch < 1 or args.latent < 1 or args.hidden < 1:
        raise OptionError("--steps, --batch, --latent and --hidden must be positive")
    return run_training_command(
        args.data, train_audio2motion, format_summary, out=args.out, steps=args.steps,
        batch=args.batch, lr=args.lr, seed=args.seed, audio_file=args.audio_file,
        latent_dim=args.latent, hidden=args.hidden, beta=args.beta,
        beta_warmup=args.beta_warmup, prior_weight=args.prior_weight,
        progress=not args.no_progress,
    )  # fmt: skip
