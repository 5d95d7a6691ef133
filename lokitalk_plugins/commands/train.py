"""``lokitalk train``: train a backbone on a preprocessed folder from gin files.

Every check runs before the workspace is touched: the workspace (``--resume`` needs a
checkpoint; a trained one is replaced only with ``--overwrite``), whether it is writable,
the config, the folder, the model and its optimiser, then the free disk space for the built
model. Only then are the old outputs deleted (``--overwrite``) and ``run.json`` written.
"""

from __future__ import annotations

from .workspace_configs import add_import_option, trust_imports

__all__ = ["HELP", "configure", "run"]

HELP = "Train a backbone (configs/rad_nerf.gin, configs/er_nerf.gin, ...) on a folder."


def configure(parser) -> None:
    parser.add_argument("--config", action="append", required=True,
                        help="gin file (repeatable; a path or a packaged name like "
                             "configs/er_nerf.gin)")  # fmt: skip
    parser.add_argument("--data", required=True, help="preprocessed folder")
    parser.add_argument("--workspace", required=True, help="output folder")
    parser.add_argument("--bind", action="append", default=[],
                        help="extra gin binding, e.g. 'head/Trainer.steps = 500'; it wins "
                             "over the files' bindings, scoped ones too")  # fmt: skip
    parser.add_argument("--stages", nargs="+", choices=("head", "lips", "torso"),
                        help="override train.stages")  # fmt: skip
    parser.add_argument("--audio-extractor", default=None, metavar="SPEC",
                        help="what made the folder's audio features (studio, hubert, wav2vec, "
                             "deepspeech, or hubert@MODEL / wav2vec@MODEL), recorded so "
                             "`lokitalk render --audio X.wav` computes the same; default: "
                             "known from the file (aud.npy of a studio folder, aud_hu.npy, "
                             "aud_eo.npy, aud_ds.npy)")  # fmt: skip
    parser.add_argument("--resume", action="store_true", help="continue from latest.pt")
    parser.add_argument("--overwrite", action="store_true",
                        help="start again in a workspace that holds a trained model: deletes "
                             "its checkpoints, logs, val images, run.json, eval.json")  # fmt: skip
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    add_import_option(parser)


def run(args) -> int:
    import json
    from pathlib import Path

    import gin

    import lokitalk_plugins.registration  # noqa: F401
    from lokitalk_plugins.data.paths import check_folder
    from lokitalk_plugins.signals.extractors import ExtractorError
    from lokitalk_plugins.train import parse_config_files, train_from_config

    from .workspace import featurizer_of, plan_run, recorded_featurizer, save_run
    from .workspace_configs import check_loadable
    from .workspace_start import (
        check_free_space,
        check_start,
        check_writable,
        clear_for_overwrite,
    )

    check_folder(args.data)  # a missing folder or a symlink loop: one line, nothing written
    workspace = Path(args.workspace)
    check_start(workspace, args.resume, args.overwrite)
    check_writable(workspace)
    trust_imports(args)  # the user's own modules (--import), before gin reads the configs
    parse_config_files(args.config, args.bind)
    audio_file = gin.query_parameter("TalkingHeadFolder.audio_file") if _bound() else "aud.npy"
    if args.audio_extractor is not None:
        try:  # unknown, or not what made the file: refused before anything is built
            featurizer_of(Path(args.data), audio_file, args.audio_extractor)
        except ExtractorError as err:
            print(f"error: {err}")
            return 2

    # --resume keeps the featurizer the run recorded (not a new guess) unless one is given
    kept = recorded_featurizer(workspace) if args.resume and not args.audio_extractor else None

    def before_first_step(system) -> None:
        check_free_space(workspace, system)
        # read the config files before --overwrite deletes anything (they may live there)
        planned = plan_run(workspace, Path(args.data), args.config, args.bind, audio_file,
                           args.audio_extractor, recorded=kept)  # fmt: skip
        check_loadable(*planned)
        if args.overwrite:
            clear_for_overwrite(workspace)
        save_run(workspace, *planned)

    summary = train_from_config(
        args.config, args.bind, data=args.data, workspace=args.workspace,
        stages=args.stages, resume=args.resume, overwrite=args.overwrite,
        progress=not args.quiet,
        before_first_step=before_first_step,
    )  # fmt: skip
    print(json.dumps(summary, indent=1, default=str))
    return 0


def _bound() -> bool:
    import gin

    try:
        gin.query_parameter("TalkingHeadFolder.audio_file")
    except ValueError:
        return False
    return True
