"""``lokitalk render``: drive a trained workspace with other audio and write an mp4."""

from __future__ import annotations

from .fast_path_options import add_fast_path_options, apply_fast_path
from .workspace_configs import add_import_option, add_render_bind_option, trust_imports

__all__ = ["HELP", "configure", "run"]

HELP = "Render a trained workspace driven by audio features or a wav to an mp4 at 25 fps."


def configure(parser) -> None:
    parser.add_argument("--workspace", required=True, help="folder written by lokitalk train")
    parser.add_argument("--out", required=True, help="output .mp4")
    parser.add_argument("--audio-features", default=None, help="[M, 16, K] or [M, 2, 1024] .npy")
    parser.add_argument("--audio", default=None,
                        help="speech .wav (any rate): featurised by the extractor the "
                             "workspace was trained with (studio, hubert, wav2vec); muxed into "
                             "the video")  # fmt: skip
    parser.add_argument("--extractor", default=None, metavar="SPEC",
                        help="the extractor of the training features, when the workspace does "
                             "not record it (hubert, wav2vec, studio, or NAME@MODEL)")  # fmt: skip
    parser.add_argument("--model", default=None, metavar="NAME_OR_DIR",
                        help="the extractor's weights (a folder, or a Hugging Face name in "
                             "the local cache) when not where the workspace says")  # fmt: skip
    parser.add_argument("--side-by-side", action="store_true", help="add the ground truth")
    parser.add_argument("--depth", action="store_true", help="add the depth map")
    parser.add_argument("--max-frames", type=int, default=None)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_import_option(parser)
    add_render_bind_option(parser)
    add_fast_path_options(parser)


def run(args) -> int:
    from pathlib import Path

    import numpy as np

    from lokitalk_plugins.signals.extractors import (
        ExtractorError,
        format_spec,
        parse_spec,
        weights_location,
    )
    from lokitalk_plugins.signals.wav import WavError, wav_info
    from lokitalk_plugins.train import render_video
    from lokitalk_plugins.train.drive import prepare_audio

    from .workspace import load_dataset, load_system, read_run

    trust_imports(args)
    if args.audio_features:  # readable, layout, finite values: before anything is loaded
        prepare_audio(args.audio_features)
    recorded = read_run(Path(args.workspace)).get("featurizer")
    try:
        if args.audio:
            wav_info(args.audio)  # a file that is not a WAV fails before the model loads
        if args.extractor and recorded and parse_spec(args.extractor) != parse_spec(recorded):
            print(f"error: --extractor {args.extractor} is not {recorded}, the extractor of the "
                  f"features {args.workspace} was trained on: drop --extractor")  # fmt: skip
            return 2
        featurizer = recorded or args.extractor
        if featurizer and args.model:
            featurizer = format_spec(parse_spec(featurizer)[0], args.model)
        if args.audio and args.audio_features is None and featurizer:
            name, model = parse_spec(featurizer)
            if name in ("hubert", "wav2vec"):
                weights_location(name, model)  # missing weights fail at once too
        system, run_info, stage = load_system(Path(args.workspace), args.bind)
        problem = apply_fast_path(system, args)
        if problem:
            print(f"error: {problem}")
            return 2
        data = load_dataset(run_info, stage, "train", progress=not args.quiet)
        feats = np.load(args.audio_features, allow_pickle=False) if args.audio_features else None
        render_video(
            system, data, args.out, audio_features=feats, audio_wav=args.audio,
            featurizer=featurizer, side_by_side=args.side_by_side,
            depth=args.depth, max_frames=args.max_frames, progress=not args.quiet,
        )  # fmt: skip
    except (ExtractorError, WavError) as err:
        print(f"error: {err}")
        return 1
    print(f"wrote {args.out}")
    return 0
