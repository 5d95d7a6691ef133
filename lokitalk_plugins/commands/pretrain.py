"""``lokitalk pretrain``: ID-AKT pre-training on several identities, one process or many.

    lokitalk pretrain id001 id002 id003 --config configs/er_nerf_odr.gin \\
        --config configs/studio_quick.gin --config configs/idakt.gin --epochs 50 --out bundle
    torchrun --nproc_per_node 2 $(which lokitalk) pretrain ...      # identities over 2 ranks

Writes the pre-trained bundle (safetensors, config.json, model card) to ``--out`` (rank 0),
the log and checkpoints to ``--workspace`` (default: ``<out>.work``). Fine-tune from it with
``--config configs/idakt_finetune_short.gin --bind "wrap.pretrained = '<out>'"`` (or
``idakt_finetune.gin``, the paper's lower rates, for long fine-tunes).
"""

from __future__ import annotations

__all__ = [
    "HELP",
    "configure",
    "run",
    "run_pretraining",
    "build_pretraining",
    "check_audio_dims",
    "epoch_steps",
    "train_frames",
]

HELP = "Pre-train ID-AKT with a shared model on several identities (torchrun for many ranks)."


def configure(parser) -> None:
    parser.add_argument("data", nargs="+", help="preprocessed folders, one per identity")
    parser.add_argument("--config", action="append", required=True,
                        help="gin file (repeatable), e.g. configs/idakt.gin last")  # fmt: skip
    parser.add_argument("--bind", action="append", default=[], help="extra gin binding")
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--epochs", type=float,
                        help="passes over every identity's training frames (the paper: 50); "
                             "one step trains one frame")  # fmt: skip
    budget.add_argument("--steps", type=int, help="optimiser steps (default 3000)")
    parser.add_argument("--out", required=True, help="folder of the pre-trained bundle")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the bundle files (README.md, config.json, "
                             "model.safetensors) already in --out")  # fmt: skip
    parser.add_argument("--workspace", help="logs and checkpoints (default <out>.work)")
    resume = "continue the workspace's checkpoint (same identities, steps); else it is refused"
    parser.add_argument("--resume", action="store_true", help=resume)
    parser.add_argument("--lr-decay", type=float, default=0.1,
                        help="final lr / initial lr (the paper: 1e-3 -> 1e-4)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--checkpoint-every", type=int, default=0)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def build_pretraining(configs, bindings, folders, progress: bool = False, multi=None):
    """Parse the gin files and build ``multi(system, datasets)`` (default a
    MultiIdentitySystem) over ``folders`` (train splits),
    with the config's learning rates by group (Trainer.lr) and, as ``optimizer_settings``,
    its optimiser (Trainer.optimizer, betas, eps) for :func:`~lokitalk_plugins.train.pretrain`."""
    import gin

    import lokitalk_plugins.registration  # noqa: F401
    from lokitalk_plugins.pipeline import MultiIdentitySystem
    from lokitalk_plugins.pipeline.configured import configured_system
    from lokitalk_plugins.train import parse_config_files

    parse_config_files(list(configs), list(bindings))
    folder_cls = gin.get_configurable("TalkingHeadFolder")
    datasets = [folder_cls(str(f), split="train", progress=progress) for f in folders]
    check_audio_dims(datasets)
    system = configured_system()
    try:  # the backbone config's learning rates by group (Trainer.lr) apply here too
        lrs = dict(gin.query_parameter("Trainer.lr") or {})
    except ValueError:
        lrs = {}
    system.lrs.update({k: float(v) for k, v in lrs.items() if k in system.lrs})
    built = (multi or MultiIdentitySystem)(system, datasets)
    built.optimizer_settings = _optimizer_settings()
    return built


def train_frames(folders) -> int:
    """The number of training frames of the preprocessed ``folders`` together (their
    ``transforms_train.json`` frames)."""
    import json
    from pathlib import Path

    return sum(
        len(json.loads((Path(f) / "transforms_train.json").read_text())["frames"]) for f in folders
    )


def epoch_steps(epochs: float, frames: int, world_size: int = 1) -> int:
    """Optimiser steps of ``epochs`` passes over ``frames`` training frames: every step of
    every rank trains one frame, so ceil(epochs * frames / world_size), at least 1. ValueError
    for epochs <= 0 or no frames."""
    import math

    if epochs <= 0 or frames < 1:
        raise ValueError(f"--epochs must be > 0 over >= 1 frame, got {epochs} over {frames}")
    return max(1, math.ceil(epochs * frames / max(1, world_size)))


def check_audio_dims(datasets) -> None:
    """Raise DataMismatchError naming the first folder whose audio features ([N, K, T] per
    row) differ in K or T from the first identity's: one model takes one audio layout."""
    from lokitalk_plugins.train.preflight import DataMismatchError

    first = datasets[0]
    want = tuple(first.audio_features.shape[1:])
    for data in datasets[1:]:
        found = tuple(data.audio_features.shape[1:])
        if found != want:
            raise DataMismatchError(
                f"{data.root}: audio features of {found[0]} x {found[1]} per window, but "
                f"{first.root} has {want[0]} x {want[1]}: compute every identity's audio "
                "with the same extractor (lokitalk features) before pre-training"
            )


def _optimizer_settings() -> dict:
    """The backbone config's optimiser (Trainer.optimizer, betas, eps), for pre-training."""
    import gin

    out = {}
    for key in ("optimizer", "betas", "eps"):
        try:
            out[key] = gin.query_parameter(f"Trainer.{key}")
        except ValueError:
            pass
    if "betas" in out:
        out["betas"] = tuple(out["betas"])
    return out


def run(args) -> int:
    from lokitalk_plugins.adapters import save_identity_bundle

    return run_pretraining(args, None, save_identity_bundle)


def run_pretraining(args, multi, save_bundle) -> int:
    """The pre-training of ``lokitalk pretrain`` (and ``lokitalk gdrf-pretrain``): the
    bundle folder checked first, ``build_pretraining(..., multi=multi)``, the pre-training
    loop, then ``save_bundle(model, out, card=..., overwrite=...)`` on rank 0."""
    import json
    from pathlib import Path

    from lokitalk_plugins.data.paths import check_folder
    from lokitalk_plugins.errors import UserError
    from lokitalk_plugins.idakt.hub_format import existing_bundle_files
    from lokitalk_plugins.train import seed_everything
    from lokitalk_plugins.train.distributed import cleanup_distributed, init_distributed
    from lokitalk_plugins.train.pretrain_loop import pretrain

    existing_bundle_files(Path(args.out), args.overwrite)  # refuse before any training
    work = Path(args.workspace or f"{args.out}.work")
    latest = work / "checkpoints" / "latest.pt"
    if latest.is_file() and not getattr(args, "resume", False):
        raise UserError(f"{latest} exists: pass --resume to continue that pre-training, or "
                        "choose another --workspace (or remove it) to start over")  # fmt: skip
    for folder in args.data:
        check_folder(folder)
    if args.epochs is not None and args.epochs <= 0:
        raise UserError(f"--epochs must be > 0, got {args.epochs}")
    ctx = init_distributed()
    if args.epochs is not None:
        args.steps = epoch_steps(args.epochs, train_frames(args.data), ctx.world_size)
    elif args.steps is None:
        args.steps = 3000
    try:
        seed_everything(args.seed)
        built = build_pretraining(args.config, args.bind, args.data,
                                  progress=ctx.is_main and not args.quiet, multi=multi)  # fmt: skip
        result = pretrain(built.to(ctx.device), range(len(args.data)), args.steps, context=ctx,
                          lr_decay_to=args.lr_decay, seed=args.seed, out_dir=work,
                          checkpoint_every=args.checkpoint_every,
                          resume=bool(getattr(args, "resume", False)),
                          progress=ctx.is_main and not args.quiet,
                          optimizer=built.optimizer_settings)  # fmt: skip
        if ctx.is_main:
            card = {"identities": len(args.data), "steps": args.steps, "epochs": args.epochs,
                    "world_size": ctx.world_size, "configs": list(args.config),
                    "bindings": list(args.bind)}  # fmt: skip
            save_bundle(built.model, args.out, card=card, overwrite=args.overwrite)
            losses = result["losses"]
            k = max(1, len(losses) // 10)
            first = sum(losses[:k]) / k if losses else None  # None: a resume with no step left
            last = sum(losses[-k:]) / k if losses else None
            print(json.dumps({"bundle": str(args.out), "steps": args.steps,
                              "start_step": result["start_step"],
                              "first_loss": first, "last_loss": last,
                              "wall_time": result["wall_time"], "world_size": ctx.world_size},
                             indent=1))  # fmt: skip
    finally:
        cleanup_distributed()
    return 0
