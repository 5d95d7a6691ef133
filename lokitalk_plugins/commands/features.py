"""``lokitalk features``: the audio features of a WAV file, as the originals write them.

``lokitalk features speech.wav`` writes the studio's log-mel windows [N, 16, n_mels]
(``speech.npy``, like a studio folder's ``aud.npy``); ``--extractor hubert`` writes ER-NeRF's
``speech_hu.npy`` [N, 2, 1024] and ``--extractor wav2vec`` RAD-NeRF's ``speech_eo.npy``
[N, 16, 44], from the models the originals load (``--model`` for other weights: a folder,
or a name in the Hugging Face cache). Any sample rate and channel count is accepted.
"""

from __future__ import annotations

__all__ = ["HELP", "configure", "run", "default_output"]

HELP = "Compute the audio features of a WAV file (studio log-mel, HuBERT or wav2vec) as an .npy."


def configure(parser) -> None:
    from lokitalk_plugins.signals.extractors import DEFAULT_MODELS, EXTRACTORS

    parser.add_argument("wav", help="input WAV file (PCM, any rate, mono or multi-channel)")
    parser.add_argument("--extractor", default="studio", choices=EXTRACTORS,
                        help="studio: log-mel (aud.npy); hubert: ER-NeRF's aud_hu.npy; "
                             "wav2vec: RAD-NeRF's aud_eo.npy; deepspeech: refused "
                             "(TensorFlow 1.x), with the command to run instead")  # fmt: skip
    parser.add_argument("--model", default=None,
                        help="weights: a local folder or a Hugging Face name in the local cache "
                             f"(default: {', '.join(DEFAULT_MODELS.values())})")  # fmt: skip
    parser.add_argument("--out", default=None,
                        help="output .npy (default: beside the WAV, named as the originals "
                             "do: X.npy, X_hu.npy, X_eo.npy)")  # fmt: skip
    parser.add_argument("--n-mels", type=int, default=32,
                        help="studio only: mel bands K; must match the model's training "
                             "features")  # fmt: skip
    parser.add_argument(
        "--fps", type=int, default=25, help="video frames per second; hubert and wav2vec: 25"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def default_output(wav_path, extractor: str, model: str | None = None):
    """Where the originals put the features of ``X.wav``: X_hu.npy (HuBERT), X_eo.npy
    (an Esperanto wav2vec model), else X.npy."""
    from lokitalk_plugins.signals.extractors import parse_spec

    name, model = parse_spec(extractor) if model is None else (extractor, model)
    stem = str(wav_path)[: -len(".wav")] if str(wav_path).endswith(".wav") else str(wav_path)
    if name == "hubert":
        return f"{stem}_hu.npy"
    if name == "wav2vec" and "esperanto" in str(model):
        return f"{stem}_eo.npy"
    return f"{stem}.npy"


def run(args) -> int:
    from pathlib import Path

    import numpy as np

    from lokitalk_plugins.data.audio import ACCEPTED_AUDIO_LAYOUTS, audio_layout
    from lokitalk_plugins.errors import OptionError, UserError
    from lokitalk_plugins.signals.extract import extract_features
    from lokitalk_plugins.signals.extractors import format_spec
    from lokitalk_plugins.signals.wav import wav_info

    wav_path = Path(args.wav)
    if not wav_path.is_file():
        raise UserError(f"{wav_path}: no such file; give a WAV file")
    if args.n_mels < 1 or args.fps < 1:
        raise OptionError("--n-mels and --fps must be positive")
    spec = format_spec(args.extractor, args.model)  # ExtractorError, WavError: UserErrors
    feats = extract_features(wav_path, spec, n_mels=args.n_mels, fps=args.fps,
                             progress=not args.quiet)  # fmt: skip
    if audio_layout(feats.shape) is None:
        raise UserError(f"{spec} gives features of shape {list(feats.shape)}, which the "
                        f"folder reader does not accept ({ACCEPTED_AUDIO_LAYOUTS})")  # fmt: skip
    out = Path(args.out) if args.out else Path(default_output(wav_path, spec))
    out.parent.mkdir(parents=True, exist_ok=True)
    np.save(out, feats)
    sr, channels, frames = wav_info(wav_path)
    print(f"wrote {out}: {list(feats.shape)} ({spec}; {frames / sr:.2f} s at {sr} Hz, "
          f"{channels} channel(s))")  # fmt: skip
    return 0
