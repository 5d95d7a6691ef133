"""Render a trained system to an MP4: its own clip, or driven by new audio.

>>> render_video(system, train_set, "out.mp4")                            # the clip itself
>>> render_video(system, train_set, "talk.mp4", audio_wav="speech.wav")  # studio log-mel
>>> render_video(system, train_set, "talk.mp4", audio_features="speech_ds.npy",
...              audio_wav="speech.wav", featurizer=None)                # DeepSpeech features

A WAV becomes driving features by the extractor the model was trained with
(``featurizer``: a spec of ``lokitalk_plugins.signals.extractors``, as ``run.json`` records
it): ``"studio"`` log-mel (n_mels = the dataset's K), ``"hubert"`` or ``"wav2vec"`` (the
originals' layouts, from local weights), so the clip is driven by the same kind of features
the model learnt; a shape that differs from the dataset's is refused. With
``featurizer=None`` (not known) or ``"deepspeech"`` (TensorFlow 1.x), the features must be
given as ``audio_features``; a WAV then only becomes the soundtrack.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from lokitalk_plugins.signals.extract import extract_features
from lokitalk_plugins.signals.extractors import (
    EXTRACTORS,
    ExtractorError,
    deepspeech_message,
    parse_spec,
)

from .drive import drive
from .video import colorize_depth, side_by_side, to_uint8, write_video

__all__ = ["FEATURIZERS", "render_video", "clip_features"]

FEATURIZERS = EXTRACTORS + (None,)


def clip_features(
    dataset, audio_features=None, audio_wav=None, featurizer="studio", fps=25, progress=True
):
    """The features that drive the clip: ``audio_features`` as given, else ``audio_wav`` run
    through the ``featurizer`` spec, else None (the dataset's own audio). Raises ValueError
    (ExtractorError) when a WAV cannot be turned into the model's features."""
    if featurizer is not None:
        name, _ = parse_spec(featurizer)  # an unknown spec fails even without a WAV
    if audio_features is not None or audio_wav is None:
        return audio_features
    if featurizer is None:
        raise ExtractorError(
            "this model's workspace does not record which extractor made its audio features, "
            "so a WAV cannot be featurised the same way: name it (lokitalk render --extractor "
            "hubert|wav2vec|studio) or pass the feature file (audio_features / "
            "--audio-features F.npy); the WAV can still be given to become the soundtrack"
        )
    if name == "deepspeech":
        raise ExtractorError(deepspeech_message(audio_wav))
    k, t = int(dataset.audio_features.shape[1]), int(dataset.audio_features.shape[2])
    if name == "studio" and t != 16:
        raise ValueError(f"the studio featurizer makes [M, 16, K] windows, the model uses T={t}")
    return extract_features(audio_wav, featurizer, n_mels=k, fps=int(round(fps)),
                            progress=progress)  # fmt: skip


@torch.no_grad()
def _own_clip(system, dataset, n: int, progress: bool) -> Iterator[tuple]:
    was_training = getattr(system, "training", None)
    if was_training:
        system.eval()
    try:
        for i in tqdm(range(n), desc="render", unit="frame", disable=not progress):
            frame = dataset[i]
            yield frame, system.render_frame(frame)
    finally:
        if was_training:
            system.train()


def render_video(
    system,
    dataset,
    out,
    audio_features=None,
    audio_wav=None,
    featurizer: str | None = "studio",
    side_by_side: bool = False,
    depth: bool = False,
    fps: float = 25,
    motion: str = "pingpong",
    max_frames: int | None = None,
    cmap: str = "turbo",
    progress: bool = True,
) -> dict:
    """Render a clip to ``out`` (MP4, H.264) -> {"path", "frames", "size": [H, W], "fps",
    "driven"}.

    audio_features: [M, 16, K] / [M, 2, 1024] array or .npy path (drives the clip, see
    ``drive``); audio_wav: a WAV muxed in as the soundtrack and, with no ``audio_features``,
    turned into the driving features by ``featurizer`` (see ``clip_features``); with neither,
    the dataset's
    own frames are rendered in order. side_by_side: add the dataset frame's image as a second
    panel (for a driven clip: the frame whose motion is replayed, not a ground truth of the
    new audio); depth: add the depth map coloured with ``cmap``, one scale for the whole clip
    (the clip's rgb and depth are then kept in memory until the end, about
    frames * H * W * 10 bytes). max_frames: stop after this many frames.
    """
    feats = clip_features(dataset, audio_features, audio_wav, featurizer, fps, progress)
    if feats is not None:
        if isinstance(feats, (str, Path)):
            feats = np.load(feats, allow_pickle=False)
        feats = np.asarray(feats)[:max_frames]
        stream = drive(system, dataset, feats, motion=motion, progress=progress)
        n = feats.shape[0]
    else:
        n = len(dataset) if max_frames is None else min(len(dataset), int(max_frames))
        stream = _own_clip(system, dataset, n, progress)
    if not depth:
        frames = (_panel(sample, o, side_by_side) for sample, o in stream)
    else:
        frames = _with_depth(stream, side_by_side, cmap)
    shape = []

    def counted(it):
        for frame in it:
            shape[:] = frame.shape[:2]
            yield frame

    path = write_video(out, counted(frames), fps=fps, audio_wav=audio_wav)
    return {"path": str(path), "frames": n, "size": list(shape), "fps": fps,
            "driven": feats is not None}  # fmt: skip


def _panel(sample, out: dict, with_gt: bool) -> np.ndarray:
    pred = to_uint8(out["rgb"])
    return side_by_side(pred, to_uint8(sample.image)) if with_gt else pred


def _with_depth(stream, with_gt: bool, cmap: str) -> Iterator[np.ndarray]:
    rgbs, gts, depths = [], [], []
    for sample, out in stream:
        rgbs.append(to_uint8(out["rgb"]))
        if with_gt:
            gts.append(to_uint8(sample.image))
        depths.append(out["depth"].detach().to("cpu", torch.float32).numpy())
    colours = colorize_depth(np.stack(depths), cmap=cmap)  # one scale for the clip
    for i, rgb in enumerate(rgbs):
        panels = [rgb] + ([gts[i]] if with_gt else []) + [colours[i]]
        yield np.concatenate(panels, axis=1)
