"""A WAV file -> the audio features an extractor's original preprocessing writes.

>>> feats = extract_features("speech.wav", "hubert")     # [N, 2, 1024], as aud_hu.npy
>>> feats = extract_features("speech.wav", "wav2vec")    # [N, 16, 44], as aud_eo.npy
>>> feats = extract_features("speech.wav", "studio", n_mels=32)  # [N, 16, 32], as aud.npy

The WAV may have any sample rate and channel count: it is brought to 16 kHz (``resample``)
first; HuBERT and wav2vec keep the first channel, as the originals' scripts do. Memory: the
mono signal (4 bytes a sample at the file's rate and at 16 kHz) plus one model run, a
20 s HuBERT clip or a 1.4 s wav2vec segment, with a progress bar over them. Specs and
weights: ``lokitalk_plugins.signals.extractors``; the layouts: ``hubert_features`` and
``wav2vec_features``.
"""

from __future__ import annotations

import numpy as np

from .extractors import (
    SAMPLE_RATE,
    ExtractorError,
    deepspeech_message,
    load_extractor,
    parse_spec,
    weights_location,
)
from .features import studio_windows
from .hubert_features import hubert_frames, pair_frames
from .wav import load_wav_at, wav_info
from .wav2vec_features import unfold_windows, wav2vec_logits

__all__ = ["extract_features"]


def _normalizer(fe):
    """The feature extractor as a function [l] float32 -> [l] (zero mean, unit variance
    when its config says ``do_normalize``)."""

    def normalize(x: np.ndarray) -> np.ndarray:
        out = fe(x, sampling_rate=SAMPLE_RATE, return_tensors="np").input_values
        return np.asarray(out, dtype=np.float32).reshape(-1)

    return normalize


def extract_features(
    wav_path,
    spec: str = "hubert",
    model: str | None = None,
    n_mels: int = 32,
    fps: int = 25,
    progress: bool = True,
    device=None,
    loaded=None,
    clip_frames: int = 1000,
) -> np.ndarray:
    """The features an extractor's original preprocessing writes for a WAV (any rate, any
    channel count): hubert [N, 2, D], wav2vec [N, 16, K], studio [N, 16, n_mels] float32.

    spec: see ``parse_spec``; model: other weights (overrides the spec's); n_mels: the
    studio's K; fps: video frames per second (hubert and wav2vec: 25 only, their layout);
    loaded: a ``load_extractor`` result to reuse; clip_frames: HuBERT frames per model run.
    Missing weights, then a file that is not a WAV, fail before the model is loaded.
    """
    name, spec_model = parse_spec(spec)
    if name == "deepspeech":
        raise ExtractorError(deepspeech_message(wav_path))
    if name == "studio":
        return studio_windows(wav_path, n_mels=n_mels, fps=fps)
    if fps != 25:
        raise ExtractorError(
            f"the {name} layout pairs 50 Hz frames into 25 fps windows: fps must be 25, got {fps}"
        )
    if loaded is None:
        weights_location(name, model or spec_model)  # absent weights: fail before anything
        wav_info(wav_path)  # a file that is not a WAV: fail before the model loads
        loaded = load_extractor(name, model or spec_model, device)
    fe, net = loaded
    wav = load_wav_at(wav_path, SAMPLE_RATE, channel="first")
    normalize = _normalizer(fe)
    dev = next(net.parameters()).device
    if name == "hubert":
        frames = hubert_frames(
            normalize(wav), lambda v: net(v.to(dev)).last_hidden_state[0], clip_frames, progress
        )
        return pair_frames(frames.numpy())
    logits = wav2vec_logits(wav, normalize, lambda v: net(v.to(dev)).logits[0], progress=progress)
    return unfold_windows(logits.numpy())
