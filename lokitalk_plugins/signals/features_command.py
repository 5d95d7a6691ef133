"""``lokitalk features``: the studio's log-mel audio features of a WAV file, as an .npy.

``lokitalk features speech.wav --out speech.npy --n-mels 32`` writes [N, 16, n_mels] float32
windows (one per video frame at ``--fps``), the same as the ``aud.npy`` of a studio folder
made from that WAV, so a model trained on the studio's features can be driven by it.
"""

from __future__ import annotations

__all__ = ["HELP", "configure", "run"]

HELP = "Compute the studio's log-mel audio features [N, 16, n_mels] of a WAV file (an .npy)."


def configure(parser) -> None:
    parser.add_argument("wav", help="input WAV file (PCM, any rate, mono or multi-channel)")
    parser.add_argument("--out", default=None,
                        help="output .npy (default: the WAV's path with .npy)")  # fmt: skip
    parser.add_argument("--n-mels", type=int, default=32,
                        help="mel bands K; must match the model's training features")  # fmt: skip
    parser.add_argument("--fps", type=int, default=25, help="video frame rate (windows/second)")


def run(args) -> int:
    from pathlib import Path

    import numpy as np

    from .features import load_wav, logmel_windows

    wav_path = Path(args.wav)
    if not wav_path.is_file():
        print(f"error: {wav_path}: no such file")
        return 1
    if args.n_mels < 1 or args.fps < 1:
        print("error: --n-mels and --fps must be positive")
        return 2
    try:
        wav, sr = load_wav(wav_path)
    except Exception as err:  # wave.Error, EOFError, ValueError: not a readable PCM WAV
        print(f"error: {wav_path}: cannot read as a PCM WAV file ({err})")
        return 1
    feats = logmel_windows(wav, sr=sr, fps=args.fps, n_mels=args.n_mels)
    out = Path(args.out) if args.out else wav_path.with_suffix(".npy")
    out.parent.mkdir(parents=True, exist_ok=True)
    np.save(out, feats)
    seconds = wav.size / sr
    print(f"wrote {out}: {list(feats.shape)} ({seconds:.2f} s at {sr} Hz, {args.fps} fps)")
    return 0
