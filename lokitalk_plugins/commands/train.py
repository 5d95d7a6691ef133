"""``lokitalk train``: train a backbone on a preprocessed folder from gin files."""

from __future__ import annotations

__all__ = ["HELP", "configure", "run"]

HELP = "Train a backbone (configs/rad_nerf.gin, configs/er_nerf.gin, ...) on a folder."


def configure(parser) -> None:
    parser.add_argument("--config", action="append", required=True,
                        help="gin file (repeatable; a path or a packaged name like "
                             "configs/er_nerf.gin)")  # fmt: skip
    parser.add_argument("--data", required=True, help="preprocessed folder")
    parser.add_argument("--workspace", required=True, help="output folder")
    parser.add_argument("--bind", action="append", default=[],
                        help="extra gin binding, e.g. 'head/Trainer.steps = 500'")  # fmt: skip
    parser.add_argument("--stages", nargs="+", choices=("head", "lips", "torso"),
                        help="override train.stages")  # fmt: skip
    parser.add_argument("--audio-extractor", default=None, metavar="SPEC",
                        help="what made the folder's audio features (studio, hubert, wav2vec, "
                             "deepspeech, or hubert@MODEL / wav2vec@MODEL), recorded so "
                             "`lokitalk render --audio X.wav` computes the same; default: "
                             "known from the file (aud.npy of a studio folder, aud_hu.npy, "
                             "aud_eo.npy, aud_ds.npy)")  # fmt: skip
    parser.add_argument("--resume", action="store_true", help="continue from latest.pt")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args) -> int:
    import json
    from pathlib import Path

    import gin

    import lokitalk_plugins.registration  # noqa: F401
    from lokitalk_plugins.data.paths import check_folder
    from lokitalk_plugins.train import parse_config_files, train_from_config

    from .workspace import write_run

    check_folder(args.data)  # a missing folder or a symlink loop: one line, nothing written
    parse_config_files(args.config, args.bind)
    audio_file = gin.query_parameter("TalkingHeadFolder.audio_file") if _bound() else "aud.npy"
    from lokitalk_plugins.signals.extractors import ExtractorError

    try:
        write_run(Path(args.workspace), Path(args.data), args.config, args.bind, audio_file,
                  featurizer=args.audio_extractor)  # fmt: skip
    except ExtractorError as err:  # --audio-extractor unknown or not what made the file
        print(f"error: {err}")
        return 2
    summary = train_from_config(
        args.config, args.bind, data=args.data, workspace=args.workspace,
        stages=args.stages, resume=args.resume, progress=not args.quiet,
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
