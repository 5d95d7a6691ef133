"""A preprocessed RAD-NeRF / ER-NeRF folder as a PyTorch dataset, one frame per item.

>>> data = TalkingHeadFolder("data/obama", split="train", audio_file="aud_ds.npy")
>>> frame = data[0]            # FrameSample: image [H, W, 3], audio [8, 29, 16], ...

The whole folder is validated first (``FolderValidationError`` lists every problem). Frames
are read lazily from disk on every access unless ``preload=True`` (then kept as uint8).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset
from tqdm import tqdm

from lokitalk_plugins.data.audio import audio_file_path, audio_window, load_audio_features
from lokitalk_plugins.data.camera import nerf_matrix_to_ngp
from lokitalk_plugins.data.frame_signals import EyeSignal, poses_6d, resolve_eye_source
from lokitalk_plugins.data.masks import RegionMasks, region_masks
from lokitalk_plugins.data.problems import FolderValidationError
from lokitalk_plugins.data.readers import image_size, read_landmarks, read_rgb, read_rgba
from lokitalk_plugins.data.transforms import load_transforms
from lokitalk_plugins.data.validate import SPLITS, validate_folder
from lokitalk_plugins.errors import OptionError

__all__ = ["FrameSample", "TalkingHeadFolder", "collate_frames"]

BACKGROUNDS = ("torso", "bc")


@dataclass
class FrameSample:
    """One frame (add a leading batch dim B after ``collate_frames``).

    image, background: float32 [H, W, 3] in [0, 1]; c2w: [4, 4] camera-to-world (after the
    axis change); intrinsics: [4] (fx, fy, cx, cy) pixels; audio: [8, K, T]; eye: [1];
    pose: [6] (euler radians, translation); landmarks: [68, 2] (x, y) pixels; masks: bool
    [H, W] each; index (position in the split), img_id, aud_id: int (or [B] int64).
    """

    index: int
    img_id: int
    aud_id: int
    image: torch.Tensor
    background: torch.Tensor
    c2w: torch.Tensor
    intrinsics: torch.Tensor
    audio: torch.Tensor
    eye: torch.Tensor
    pose: torch.Tensor
    landmarks: torch.Tensor
    masks: RegionMasks

    @property
    def H(self) -> int:
        return int(self.image.shape[-3])

    @property
    def W(self) -> int:
        return int(self.image.shape[-2])


def first_frames(frames: list, n: int, root: Path) -> list:
    """The first ``n`` of a split's frames; OptionError when n < 1 or the split is shorter."""
    if int(n) < 1 or int(n) > len(frames):
        raise OptionError(
            f"TalkingHeadFolder.train_frames = {n}, but {root} has {len(frames)} training "
            f"frames: give 1 to {len(frames)} (or None for all)"
        )
    return list(frames[: int(n)])


def collate_frames(samples: list[FrameSample]) -> FrameSample:
    """Stack frames into one FrameSample with a leading batch dim (for a DataLoader)."""

    def stack(values):
        if isinstance(values[0], torch.Tensor):
            return torch.stack(values)
        if isinstance(values[0], RegionMasks):
            return RegionMasks(
                **{f.name: stack([getattr(v, f.name) for v in values]) for f in fields(RegionMasks)}
            )
        return torch.as_tensor(values)

    return FrameSample(
        **{f.name: stack([getattr(s, f.name) for s in samples]) for f in fields(FrameSample)}
    )


class TalkingHeadFolder(Dataset):
    """Frames of one split ("train" or "val") of a preprocessed talking-head folder.

    root: the folder; audio_file: features under root ([N, 16, K] or [N, 2, 1024]);
    eye_source: "landmarks" (aspect ratio), "area" (RAD-NeRF), "au45" (ER-NeRF) or "auto";
    pose_source: "camera" or "track"; background: "torso" (torso_imgs over bc.jpg, the
    head stage) or "bc"; scale, offset: the axis change of the cameras; eye_dilation:
    pixels added around the eye polygons; num_audio_windows: 8 in both originals;
    audio_att: the model's ``att`` (1: the windows before each frame, else around it);
    preload: read all frames now (uint8 in memory); validate: check the whole folder first;
    train_frames: keep only the first N frames of the training split (GDRF's few-shot clips
    of 3, 5, 10 s are 75, 125, 250 frames at 25 fps; None: all; the val split is unchanged).
    """

    def __init__(
        self,
        root: str | Path,
        split: str = "train",
        audio_file: str = "aud.npy",
        eye_source: str = "landmarks",
        pose_source: str = "camera",
        background: str = "torso",
        scale: float = 4.0,
        offset: tuple[float, float, float] = (0.0, 0.0, 0.0),
        eye_dilation: int = 3,
        num_audio_windows: int = 8,
        audio_att: int = 2,
        preload: bool = False,
        validate: bool = True,
        progress: bool = True,
        train_frames: int | None = None,
    ):
        if split not in SPLITS:
            raise OptionError(f"split must be one of {tuple(SPLITS)}, got {split!r}")
        if background not in BACKGROUNDS:
            raise OptionError(f"background must be one of {BACKGROUNDS}, got {background!r}")
        self.root = Path(root)
        if validate:
            problems = validate_folder(
                self.root, audio_file, eye_source, pose_source, progress=progress
            )
            if problems:
                raise FolderValidationError(self.root, problems)
        transforms = load_transforms(self.root / SPLITS[split])
        frames = transforms.frames
        if split == "train" and train_frames is not None:
            frames = first_frames(frames, train_frames, self.root)
        self.split, self.background, self.eye_dilation = split, background, eye_dilation
        self.num_audio_windows, self.audio_att = num_audio_windows, int(audio_att)
        self.img_ids = [f.img_id for f in frames]
        self.aud_ids = [f.aud_id for f in frames]
        self.intrinsics = torch.tensor(transforms.intrinsics, dtype=torch.float32)
        raw = np.stack([f.matrix for f in frames])
        self.poses = nerf_matrix_to_ngp(raw.astype(np.float32), scale, offset)  # [N, 4, 4]
        self.H, self.W = image_size(self.root / f"gt_imgs/{self.img_ids[0]}.jpg")
        self.audio_features = load_audio_features(audio_file_path(self.root, audio_file))
        source, au45 = resolve_eye_source(self.root, eye_source, self.img_ids)
        self.eye_source = source
        self._eye = EyeSignal(source, au45, self.H, self.W)
        self.poses_6d = poses_6d(self.root, pose_source, self.poses, self.img_ids)  # [N, 6]
        self._bc: np.ndarray | None = None
        self._cache: list[dict] | None = None
        self._eye_values: torch.Tensor | None = None
        if preload:
            self._cache = [
                self._read(i)
                for i in tqdm(self.img_ids, desc=f"preload {split}", disable=not progress)
            ]

    def __len__(self) -> int:
        return len(self.img_ids)

    @property
    def eye_values(self) -> torch.Tensor:
        """Eye values of every frame of the split: [N] float32 (computed once)."""
        if self._eye_values is None:
            self._eye_values = self._eye.all(self.root, self.img_ids)
        return self._eye_values

    def _read(self, img_id: int) -> dict:
        r = self.root
        return {
            "image": read_rgb(r / f"gt_imgs/{img_id}.jpg"),
            "torso": read_rgba(r / f"torso_imgs/{img_id}.png")
            if self.background == "torso"
            else None,
            "parsing": read_rgb(r / f"parsing/{img_id}.png"),
            "landmarks": read_landmarks(r / f"ori_imgs/{img_id}.lms"),
        }

    def _background(self, torso: np.ndarray | None) -> torch.Tensor:
        if self._bc is None:
            self._bc = read_rgb(self.root / "bc.jpg")
        bc = torch.from_numpy(self._bc).float() / 255.0
        if torso is None:
            return bc
        rgba = torch.from_numpy(torso).float() / 255.0
        alpha = rgba[..., 3:]
        return rgba[..., :3] * alpha + bc * (1.0 - alpha)

    def __getitem__(self, index: int) -> FrameSample:
        if not -len(self) <= index < len(self):
            raise IndexError(f"frame {index} out of range for {len(self)} frames")
        index = index % len(self)
        img_id, aud_id = self.img_ids[index], self.aud_ids[index]
        raw = self._cache[index] if self._cache is not None else self._read(img_id)
        lms = raw["landmarks"]
        return FrameSample(
            index=index,
            img_id=img_id,
            aud_id=aud_id,
            image=torch.from_numpy(raw["image"]).float() / 255.0,
            background=self._background(raw["torso"]),
            c2w=self.poses[index],
            intrinsics=self.intrinsics,
            # one row short (ER-NeRF's HuBERT pairs): the last frame reuses the last row, as
            # the originals' loaders do (min(aud_id, N - 1))
            audio=audio_window(
                self.audio_features,
                min(aud_id, self.audio_features.shape[0] - 1),
                self.num_audio_windows,
                self.audio_att,
            ),
            eye=self._eye(img_id, lms),
            pose=self.poses_6d[index],
            landmarks=torch.from_numpy(lms),
            masks=region_masks(raw["parsing"], lms, self.eye_dilation),
        )
