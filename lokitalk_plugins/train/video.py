"""Videos: H.264 MP4 writing (with an optional soundtrack) and comparison panels.

The ffmpeg binary is the one of the ``imageio-ffmpeg`` wheel (``get_ffmpeg_exe()``), so no
system ffmpeg is needed. Video is H.264 (libx264), yuv420p, which needs even sizes: odd
frames get one replicated row/column at the bottom/right. A WAV is muxed in by a second
ffmpeg call (video stream copied, audio AAC, cut to the shorter of the two).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable
from pathlib import Path

import numpy as np

__all__ = ["to_uint8", "pad_even", "write_video", "mux_audio", "colorize_depth", "side_by_side"]


def to_uint8(frame) -> np.ndarray:
    """One image [H, W, 3] (uint8, or float in [0, 1]; numpy or torch) -> uint8 [H, W, 3]."""
    if hasattr(frame, "detach"):
        frame = frame.detach().cpu().numpy()
    x = np.asarray(frame)
    if x.ndim != 3 or x.shape[-1] != 3:
        raise ValueError(f"a video frame must be [H, W, 3], got {x.shape}")
    if x.dtype == np.uint8:
        return x
    return np.round(np.clip(x.astype(np.float32), 0.0, 1.0) * 255.0).astype(np.uint8)


def pad_even(frame: np.ndarray) -> np.ndarray:
    """[H, W, 3] -> [H + H % 2, W + W % 2, 3], the last row/column repeated (yuv420p)."""
    h, w = frame.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return frame
    return np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")


def _ffmpeg() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def mux_audio(video_path, audio_wav, out_path) -> Path:
    """Copy the video stream of ``video_path`` and add ``audio_wav`` as AAC -> ``out_path``
    (as long as the shorter stream)."""
    cmd = [_ffmpeg(), "-y", "-loglevel", "error", "-i", str(video_path), "-i", str(audio_wav),
           "-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy", "-c:a", "aac", "-shortest",
           str(out_path)]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"ffmpeg could not mux {audio_wav} into {video_path}: {done.stderr}")
    return Path(out_path)


def write_video(path, frames: Iterable, fps: float = 25, audio_wav=None, quality: int = 8) -> Path:
    """Write frames as an H.264 MP4 (yuv420p) -> ``path``.

    frames: [T, H, W, 3] uint8 (or float in [0, 1]) array, or an iterable of [H, W, 3]
    frames of one size (consumed once, never held in memory); fps: frame rate;
    audio_wav: a WAV file to mux in (AAC), or None; quality: imageio-ffmpeg's 0..10 scale.
    The video is written to a hidden file beside ``path`` and renamed to ``path`` once
    complete: an error or Ctrl-C leaves no partial video and keeps an older ``path``.
    Raises ValueError for no frames or frames of different sizes.
    """
    import imageio_ffmpeg

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.partial{path.suffix}")
    muxed = path.with_name(f".{path.stem}.{os.getpid()}.muxed{path.suffix}")
    writer, size, count = None, None, 0
    try:
        try:
            for frame in frames:
                img = pad_even(to_uint8(frame))
                if writer is None:
                    size = img.shape[:2]
                    writer = imageio_ffmpeg.write_frames(
                        str(tmp), (size[1], size[0]), fps=fps, codec="libx264",
                        quality=quality, pix_fmt_out="yuv420p", macro_block_size=1,
                        ffmpeg_log_level="error",
                    )  # fmt: skip
                    writer.send(None)
                elif img.shape[:2] != size:
                    raise ValueError(f"frame {count} is {img.shape[:2]}, the first was {size}")
                writer.send(np.ascontiguousarray(img))
                count += 1
        finally:
            if writer is not None:
                writer.close()
        if count == 0:
            raise ValueError(f"no frames to write to {path}")
        if audio_wav:
            mux_audio(tmp, audio_wav, muxed)
            os.replace(muxed, path)
        else:
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
        muxed.unlink(missing_ok=True)
    return path


def colorize_depth(depth, lo: float | None = None, hi: float | None = None, cmap="turbo"):
    """Depth maps [..., H, W] -> uint8 colours [..., H, W, 3] with a matplotlib colour map.

    Values are normalised by (lo, hi), by default the min and max of the finite values of
    the whole input, so one call over a clip gives one scale for the clip; non-finite
    values are drawn at lo.
    """
    from matplotlib import colormaps

    if hasattr(depth, "detach"):
        depth = depth.detach().float().cpu().numpy()
    d = np.asarray(depth, dtype=np.float32)
    finite = np.isfinite(d)
    vals = d[finite]
    if lo is None:
        lo = float(vals.min()) if vals.size else 0.0
    if hi is None:
        hi = float(vals.max()) if vals.size else 1.0
    t = np.where(finite, (d - lo) / max(hi - lo, 1e-12), 0.0)
    rgba = colormaps[cmap](np.clip(t, 0.0, 1.0))
    return np.round(rgba[..., :3] * 255.0).astype(np.uint8)


def side_by_side(pred, gt=None, depth=None, cmap: str = "turbo") -> np.ndarray:
    """Panels left to right: prediction | ground truth | colour-mapped depth.

    pred, gt: [T, H, W, 3] (or one frame [H, W, 3]) uint8 or float in [0, 1]; depth:
    [T, H, W] (or [H, W]) normalised over the whole clip (``colorize_depth``). Returns uint8
    [T, H, k * W, 3] (or [H, k * W, 3]), k the number of panels given.
    """
    single = np.asarray(pred).ndim == 3
    clip = lambda x: np.stack([to_uint8(f) for f in (x[None] if single else x)])  # noqa: E731
    panels = [clip(np.asarray(pred))]
    if gt is not None:
        panels.append(clip(np.asarray(gt)))
    if depth is not None:
        d = np.asarray(depth)
        panels.append(colorize_depth(d[None] if single else d, cmap=cmap))
    shapes = {p.shape for p in panels}
    if len(shapes) != 1:
        raise ValueError(f"panels differ in shape: {sorted(shapes)}")
    out = np.concatenate(panels, axis=2)
    return out[0] if single else out
