"""Write a studio identity as a preprocessed talking-head folder, ground truth beside it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from . import labels as L
from .folder import (
    WORLD_SCALE,
    camera_to_world,
    write_au,
    write_audio,
    write_track_params,
    write_transforms,  # fmt: skip
)
from .identity import make_identity, rng_for
from .landmarks import landmarks_2d, landmarks_3d
from .lighting import check_light_frame, head_light, make_lighting
from .motion import BLINK_GAP, check_blink_gap, check_torso_follow, euler_to_matrix, make_motion
from .render import camera_for, render_batch
from .sdf import HeadModel
from .shade import Noise3D, background_image
from .speech import speak
from .truth import Truth, save_truth

__all__ = ["write_identity", "default_utterance", "RAYS_PER_BATCH"]

RAYS_PER_BATCH = 131072  # frames are traced together up to this many rays
JPEG_QUALITY = 95


def default_utterance(identity: int, seed: int) -> int:
    """The utterance an identity says by default for a seed."""
    return int(rng_for("default-utterance", identity, seed).integers(0, 2**31 - 1))


def _u8(x: np.ndarray) -> np.ndarray:
    return np.round(np.clip(x, 0.0, 1.0) * 255.0).astype(np.uint8)


def _save_frame(folder: Path, i: int, ori, gt, parsing, torso_rgba, lms) -> None:
    Image.fromarray(ori).save(folder / "ori_imgs" / f"{i}.jpg", quality=JPEG_QUALITY)
    Image.fromarray(gt).save(folder / "gt_imgs" / f"{i}.jpg", quality=JPEG_QUALITY)
    Image.fromarray(parsing).save(folder / "parsing" / f"{i}.png")
    Image.fromarray(torso_rgba, mode="RGBA").save(folder / "torso_imgs" / f"{i}.png")
    np.savetxt(folder / "ori_imgs" / f"{i}.lms", lms, fmt="%.4f")


def write_identity(
    out_dir,
    identity: int = 0,
    seconds: float = 1.0,
    size: int = 32,
    seed: int = 0,
    utterance: int | None = None,
    fps: int = 25,
    n_mels: int = 32,
    progress=None,
    threads: int | None = 1,
    lighting: bool = False,
    blink_gap: tuple[float, float] | None = None,
    torso_follow: float | None = None,
    light_frame: str | None = None,
) -> Path:
    """Render ``identity`` saying ``utterance`` for ``seconds`` into the folder ``out_dir``.

    Writes the RAD-NeRF/ER-NeRF layout (transforms_*.json, ori_imgs/%d.jpg + .lms,
    parsing/%d.png, gt_imgs/%d.jpg, torso_imgs/%d.png, bc.jpg, aud.wav, aud.npy [N, 16,
    n_mels], au.csv, track_params.pt) and the ground truth to ``<out_dir>.truth/``.
    utterance defaults to one derived from (identity, seed); seed drives head motion,
    breathing, blinks and noise. progress: a tqdm bar to advance per frame, True for an own
    bar, None/False for none. threads: torch intra-op threads while rendering (restored
    after; None leaves the setting alone): the traced batches are small, and on a busy machine
    more threads mostly wait for each other. lighting: a moving key light (``make_lighting``,
    its track in the truth files as light_dir, light_intensity); off, the fixed light, and
    the bytes are those of a folder written without the option. blink_gap: (lo, hi) seconds
    between blinks instead of the default 2-6 s (kept in the truth's meta; None: the default,
    and the bytes of a folder written without the option). torso_follow: k in [0, 1], the
    torso follows the head k of the way (``make_motion``; 1: carried by the head), so the
    torso field has (1 - k) of the default's motion to model; kept in the truth's meta; None:
    the default bytes. light_frame: ``'head'`` attaches the fixed key light to the head (its
    shading then does not change with the pose; the per-frame direction is kept in the truth
    files as light_dir, intensity 1, and ``light_frame`` in the meta); None or ``'camera'``:
    the default bytes; not with ``lighting``. The same arguments give the same bytes.
    Returns out_dir.
    """
    gap = None if blink_gap is None else check_blink_gap(blink_gap)
    follow = None if torso_follow is None else check_torso_follow(torso_follow)
    frame = None if light_frame is None else check_light_frame(light_frame)
    if frame == "head" and lighting:
        raise ValueError("light_frame='head' attaches the fixed light to the head and lighting "
                         "moves the light: give one of them")  # fmt: skip
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(int(threads))
    try:
        return _write(Path(out_dir), identity, seconds, size, seed, utterance, fps, n_mels,
                      progress, lighting, gap, follow, frame == "head")  # fmt: skip
    finally:
        torch.set_num_threads(before)


def _write(out, identity, seconds, size, seed, utterance, fps, n_mels, progress, lighting,
           blink_gap, torso_follow=None, head_lit=False) -> Path:  # fmt: skip
    for sub in ("ori_imgs", "parsing", "gt_imgs", "torso_imgs"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    utt = default_utterance(identity, seed) if utterance is None else int(utterance)
    idn = make_identity(identity)
    speech = speak(idn, utt, seconds, fps=fps)
    n = speech.jaw.shape[0]
    motion = make_motion(idn, seed, n, fps, blink_gap or BLINK_GAP, torso_follow)
    light = make_lighting(idn, seed, n, fps) if lighting else None
    model, noise, cam = HeadModel(idn), Noise3D(idn.texture_seed), camera_for(size)
    bg = background_image(idn, size)
    bg_u8 = _u8(bg)
    Image.fromarray(bg_u8).save(out / "bc.jpg", quality=JPEG_QUALITY)
    head_R, body_R = euler_to_matrix(motion.euler), euler_to_matrix(motion.torso_euler)
    if head_lit:
        light = head_light(head_R)
    lms = landmarks_2d(
        landmarks_3d(model, speech.jaw, speech.lip_width, motion.eye_closure),
        head_R, motion.trans.astype(np.float64), cam,
    )  # fmt: skip
    labels_all = np.zeros((n, size, size), dtype=np.uint8)
    sensor = rng_for("sensor", identity, seed)
    own_bar = progress is True
    if own_bar:
        from tqdm.auto import tqdm

        progress = tqdm(total=n, desc=f"identity {identity}", unit="frame")
    f32 = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float32)  # noqa: E731
    batch = max(1, RAYS_PER_BATCH // (size * size))
    bg_t = torch.from_numpy(bg)
    for a in range(0, n, batch):
        sl = slice(a, min(n, a + batch))
        lit = {}
        if light is not None:
            lit = dict(light_dir=f32(light.direction[sl]), light_intensity=f32(light.intensity[sl]))
        with torch.no_grad():
            r = render_batch(
                model, noise, cam, f32(head_R[sl]), f32(motion.trans[sl]), f32(body_R[sl]),
                f32(motion.torso_trans[sl]), f32(speech.jaw[sl]), f32(speech.lip_width[sl]),
                f32(motion.eye_closure[sl]), f32(motion.breath[sl]), **lit,
            )  # fmt: skip
        fg = (r["labels"] != L.BACKGROUND)[..., None]
        clean = torch.where(fg, r["rgb"], bg_t).numpy()
        body = torch.where(r["body_mask"][..., None], r["body_rgb"], bg_t).numpy()
        labs, bmask = r["labels"].numpy(), r["body_mask"].numpy()
        for k, i in enumerate(range(sl.start, sl.stop)):
            ori = _u8(clean[k] + sensor.normal(0, 1.2 / 255, clean[k].shape))
            gt = np.where(fg[k].numpy(), ori, bg_u8)
            alpha = np.where(bmask[k], 255, 0).astype(np.uint8)[..., None]
            rgba = np.concatenate([_u8(body[k]), alpha], -1)
            _save_frame(out, i, ori, gt, L.parsing_image(labs[k]), rgba, lms[i])
            labels_all[i] = labs[k]
            if progress:
                progress.update(1)
    if own_bar:
        progress.close()
    c2w = camera_to_world(head_R, motion.trans.astype(np.float64))
    write_transforms(out, c2w, cam.focal, size)
    write_audio(out, speech.wav, speech.sr, fps, n_mels, n)
    key = (identity, seed, utt)
    write_au(out, speech.jaw, motion.eye_closure, fps, key)
    write_track_params(out, motion.euler, motion.trans, cam.focal, speech.jaw,
                       speech.lip_width, motion.eye_closure, key)  # fmt: skip
    pose = np.concatenate([motion.euler, motion.trans / WORLD_SCALE], 1).astype(np.float32)
    tpose = np.concatenate([motion.torso_euler, motion.torso_trans / WORLD_SCALE], 1)
    meta = dict(
        identity=int(identity), utterance=utt, seed=int(seed), fps=int(fps), sr=speech.sr,
        seconds=float(seconds), size=int(size), n_frames=int(n), n_mels=int(n_mels),
        camera=dict(focal=cam.focal, cx=cam.cx, cy=cam.cy, world_scale=WORLD_SCALE),
        label_names=list(L.LABEL_NAMES), blinks=motion.blinks, phones=speech.phones,
        traits=idn.to_dict(),
    )  # fmt: skip
    if blink_gap is not None:  # likewise
        meta["blink_gap"] = list(blink_gap)
    if torso_follow is not None:  # likewise
        meta["torso_follow"] = float(torso_follow)
    if head_lit:  # likewise
        meta["light_frame"] = "head"
    if light is not None:  # only then: a folder without the option keeps its bytes
        meta["lighting"] = dict(
            frame="camera (OpenGL: x right, y up, z to the viewer), unit, towards the light",
            shading="albedo * (0.5 + 0.65 * intensity * max(n.l, 0))",
        )
    truth = Truth(
        jaw=speech.jaw, lip_width=speech.lip_width, eye_closure=motion.eye_closure, pose=pose,
        landmarks=lms.astype(np.float32), labels=labels_all, envelope=speech.envelope,
        breath=motion.breath, torso_pose=tpose.astype(np.float32),
        meta=json.loads(json.dumps(meta)),
        light_dir=None if light is None else light.direction,
        light_intensity=None if light is None else light.intensity,
    )  # fmt: skip
    save_truth(out, truth)
    return out
