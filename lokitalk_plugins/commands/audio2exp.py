"""``lokitalk audio2exp``: pre-train GDRF's audio-to-expression LSTM, or fine-tune it (in
``commands`` as it reads gin through ``lokitalk_plugins.registration``; the model, data and
loop are in ``lokitalk_plugins.signals``).

    lokitalk audio2exp id001 id002 id003 --out a2e_pre.pt              # pre-training
    lokitalk audio2exp id000 --init a2e_pre.pt --out a2e.pt            # fine-tuning

Settings come from gin: ``configs/audio2exp_pretrain.gin`` (or ``audio2exp_finetune.gin``
with ``--init``) unless ``--config`` is given, then ``--bind`` lines (``train_audio2exp.*``);
``--steps``, ``--seed`` and ``--audio-file`` override them. Prints the expression and pose
errors of each folder's train and val split next to those of predicting the training mean,
and writes one weights-only checkpoint.
"""

from __future__ import annotations

__all__ = ["HELP", "configure", "run", "format_summary"]

HELP = "Train GDRF's LSTM audio -> 3DMM expression and pose (pre-train; --init to fine-tune)."


def configure(parser) -> None:
    parser.add_argument("data", nargs="+", help="preprocessed folders with track_params.pt")
    parser.add_argument("--out", required=True, help="checkpoint file to write (e.g. a2e.pt)")
    parser.add_argument("--init", help="checkpoint to fine-tune from (a pre-trained a2e.pt)")
    parser.add_argument("--config", action="append", default=[],
                        help="gin file (repeatable; default configs/audio2exp_pretrain.gin, "
                             "or configs/audio2exp_finetune.gin with --init)")  # fmt: skip
    parser.add_argument("--bind", action="append", default=[],
                        help="extra gin binding, e.g. 'train_audio2exp.lr = 3e-4'")  # fmt: skip
    parser.add_argument("--audio-file",
                        help="audio features in each folder (default aud.npy)")  # fmt: skip
    parser.add_argument("--steps", type=int, help="optimiser steps (default: from the config)")
    parser.add_argument("--seed", type=int, help="random seed (default: the config's, 0)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def format_summary(summary: dict) -> str:
    """The per-folder error table of a ``train_audio2exp`` summary."""
    lines = [
        "mean squared error per coefficient: the LSTM (model) and the training mean (mean)",
        f"{'folder':<24} {'split':<6} {'frames':>6} {'exp model':>10} {'exp mean':>10} "
        f"{'pose model':>11} {'pose mean':>10}",
    ]
    for clip in summary["clips"]:
        name = clip["root"][-24:]
        for split in ("train", "val"):
            e = clip[split]
            if e is None:
                lines.append(f"{name:<24} {split:<6} {0:>6} (no frames)")
                continue
            lines.append(
                f"{name:<24} {split:<6} {e['frames']:>6} {e['model_exp_mse']:>10.6f} "
                f"{e['mean_exp_mse']:>10.6f} {e['model_pose_mse']:>11.6f} "
                f"{e['mean_pose_mse']:>10.6f}"
            )
    lines.append(f"loss {summary['loss_first']:.4f} -> {summary['loss_last']:.4f} over "
                 f"{summary['steps']} steps, windows of {summary['seq_len']} frames")  # fmt: skip
    return "\n".join(lines)


def run(args) -> int:
    from pathlib import Path

    import gin

    import lokitalk_plugins.registration  # noqa: F401
    from lokitalk_plugins.data.problems import FolderValidationError
    from lokitalk_plugins.errors import OptionError, UserError
    from lokitalk_plugins.train.checkpoint import CheckpointError
    from lokitalk_plugins.train.config import ConfigError, parse_config_files

    for folder in args.data:
        if not Path(folder).is_dir():
            raise UserError(f"{folder}: no such folder; give preprocessed folders")
    if args.steps is not None and args.steps < 1:
        raise OptionError(f"--steps must be positive, got {args.steps}")
    default = "configs/audio2exp_finetune.gin" if args.init else "configs/audio2exp_pretrain.gin"
    given = {"steps": args.steps, "seed": args.seed, "audio_file": args.audio_file}
    extra = {k: v for k, v in given.items() if v is not None}
    try:
        parse_config_files(args.config or [default], args.bind)
        summary = gin.get_configurable("train_audio2exp")(
            [Path(f) for f in args.data], args.out, init=args.init,
            progress=not args.no_progress, **extra,
        )  # fmt: skip
    except (FileNotFoundError, ValueError, FolderValidationError, CheckpointError) as err:
        # gin appends "In call to configurable ..." to errors raised inside the call; a
        # ConfigError's first line already names the file or binding and the fix
        lines = [ln for ln in str(err).splitlines() if "In call to configurable" not in ln]
        raise UserError("\n".join(lines[:1] if isinstance(err, ConfigError) else lines)) from err
    finally:
        gin.clear_config()
    print(format_summary(summary))
    print(f"wrote {summary['out']}")
    return 0
