"""LPIPS (learned perceptual image patch similarity) with an offline backbone.

Built on the real ``lpips`` package (0.1.4). Its linear calibration layers ship inside the
package (``lpips/weights/v0.1/<net>.pth``) and are always loaded (and checked). The trunk's
ImageNet weights (torchvision's ``alexnet-owt-*.pth`` for ``net='alex'``) are NOT shipped, and
nothing here ever downloads: the trunk is built randomly initialised (``pnet_rand=True``) and
then filled from a local file, searched in this order:

1. ``backbone_path`` given to the constructor;
2. the environment variable ``LOKITALK_LPIPS_BACKBONE``;
3. the torch hub cache, ``torch.hub.get_dir()/checkpoints/<pattern>`` (see ``BACKBONE_GLOBS``).

Without a file, ``LPIPSMetric`` reports itself unavailable (returns None, printed as "n/a"),
unless ``allow_random_backbone=True`` (a seeded random trunk: for tests only, the numbers are
NOT comparable with published LPIPS). Images are channels-last ``[..., H, W, 3]`` in [0, 1].
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import torch
from torch import nn

__all__ = [
    "BACKBONE_ENV",
    "BACKBONE_GLOBS",
    "find_backbone_weights",
    "build_lpips",
    "LPIPSLoss",
    "LPIPSMetric",
    "format_metric",
]

BACKBONE_ENV = "LOKITALK_LPIPS_BACKBONE"
BACKBONE_GLOBS = {
    "alex": "alexnet-owt-*.pth",
    "vgg": "vgg16-*.pth",
    "squeeze": "squeezenet1_1-*.pth",
}


def find_backbone_weights(net: str = "alex", backbone_path: str | os.PathLike | None = None):
    """Local ImageNet trunk weights for ``net`` -> Path, or None if none is found.

    An explicit ``backbone_path`` (or ``$LOKITALK_LPIPS_BACKBONE``) that does not exist raises
    FileNotFoundError rather than silently falling back.
    """
    if net not in BACKBONE_GLOBS:
        raise ValueError(f"unknown LPIPS net {net!r}; choose from {sorted(BACKBONE_GLOBS)}")
    explicit = backbone_path or os.environ.get(BACKBONE_ENV)
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"LPIPS backbone weights not found: {path}")
        return path
    found = sorted((Path(torch.hub.get_dir()) / "checkpoints").glob(BACKBONE_GLOBS[net]))
    return found[-1] if found else None


def _load_trunk(model: nn.Module, path: Path) -> None:
    """Copy torchvision ``features.<i>.*`` weights into lpips' ``net.slice<k>.<i>.*`` modules."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    mapped = {}
    for slice_name, block in model.net.named_children():
        for idx, _ in block.named_children():
            prefix = f"features.{idx}."
            for key, value in state.items():
                if key.startswith(prefix):
                    mapped[f"{slice_name}.{idx}.{key[len(prefix) :]}"] = value
    own = model.net.state_dict()
    missing = sorted(set(own) - set(mapped))
    if missing:
        raise RuntimeError(f"{path} is not a torchvision trunk for LPIPS: missing {missing[:3]}")
    model.net.load_state_dict(mapped, strict=True)


def _check_linear_layers(model: nn.Module, net: str) -> None:
    """Raise if lpips' shipped linear calibration weights are not the ones in the model."""
    import lpips

    path = Path(lpips.__file__).parent / "weights" / "v0.1" / f"{net}.pth"
    shipped = torch.load(path, map_location="cpu", weights_only=True)
    own = model.state_dict()
    for key, value in shipped.items():
        if key not in own or not torch.equal(own[key], value):
            raise RuntimeError(f"LPIPS linear layer {key} was not loaded from {path}")


def build_lpips(
    net: str = "alex",
    backbone_path: str | os.PathLike | None = None,
    allow_random_backbone: bool = False,
    seed: int = 0,
):
    """Offline ``lpips.LPIPS`` model -> (model in eval mode with frozen weights, source) or
    (None, None) when no trunk weights exist and a random trunk is not allowed.

    ``source`` is the trunk weights path as a string, or ``"random(seed=<seed>)"``.
    """
    import lpips

    path = find_backbone_weights(net, backbone_path)
    if path is None and not allow_random_backbone:
        return None, None
    with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
        torch.manual_seed(seed)
        warnings.simplefilter("ignore", UserWarning)  # torchvision's 'pretrained' deprecation
        model = lpips.LPIPS(net=net, pretrained=True, pnet_rand=True, verbose=False)
    _check_linear_layers(model, net)
    if path is not None:
        _load_trunk(model, path)
    model.eval().requires_grad_(False)
    return model, (str(path) if path is not None else f"random(seed={seed})")


def _to_nchw(x: torch.Tensor) -> torch.Tensor:
    """[..., H, W, 3] in [0, 1] -> [B, 3, H, W] in [-1, 1]."""
    return x.reshape(-1, *x.shape[-3:]).permute(0, 3, 1, 2) * 2.0 - 1.0


class LPIPSLoss(nn.Module):
    """Differentiable LPIPS distance (e.g. for a lips fine-tune), frozen weights.

    forward(pred, target): [..., H, W, 3] in [0, 1] (H, W >= 16 or so for AlexNet) -> scalar,
    the mean distance over images; gradients flow to both inputs. Raises FileNotFoundError if no
    trunk weights are found and ``allow_random_backbone`` is False. Stays in eval mode (no
    dropout) even inside a module put in train mode.
    """

    def __init__(self, net="alex", backbone_path=None, allow_random_backbone=False, seed=0):
        super().__init__()
        model, source = build_lpips(net, backbone_path, allow_random_backbone, seed)
        if model is None:
            raise FileNotFoundError(
                f"no ImageNet weights for the LPIPS '{net}' trunk: put {BACKBONE_GLOBS[net]} in "
                f"{Path(torch.hub.get_dir()) / 'checkpoints'} or set ${BACKBONE_ENV}"
            )
        self.lpips = model
        self.backbone_source = source

    def train(self, mode: bool = True):
        super().train(mode)
        self.lpips.eval()
        return self

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.lpips(_to_nchw(pred), _to_nchw(target)).mean()


class LPIPSMetric:
    """LPIPS as an evaluation metric: ``metric(pred, target) -> float | None``.

    pred, target: [..., H, W, 3] in [0, 1], numpy or torch. Returns the mean distance over
    images (computed in chunks of ``batch_size``, without gradients), or None when
    ``available`` is False (no trunk weights and ``allow_random_backbone`` False).
    """

    def __init__(
        self, net="alex", allow_random_backbone=False, backbone_path=None, seed=0, batch_size=8
    ):
        self.model, self.backbone_source = build_lpips(
            net, backbone_path, allow_random_backbone, seed
        )
        self.net = net
        self.batch_size = batch_size

    @property
    def available(self) -> bool:
        return self.model is not None

    @torch.no_grad()
    def __call__(self, pred, target) -> float | None:
        if self.model is None:
            return None
        p, t = torch.as_tensor(pred), torch.as_tensor(target)
        if p.shape != t.shape:
            raise ValueError(f"pred and target shapes differ: {tuple(p.shape)} vs {tuple(t.shape)}")
        self.model.to(p.device)
        p = _to_nchw(p.to(torch.float32))
        t = _to_nchw(t.to(device=p.device, dtype=torch.float32))
        total = 0.0
        for i in range(0, p.shape[0], self.batch_size):
            total += float(self.model(p[i : i + self.batch_size], t[i : i + self.batch_size]).sum())
        return total / p.shape[0]


def format_metric(value: float | None, digits: int = 4) -> str:
    """A metric value for tables: ``None`` (metric unavailable) -> "n/a", else fixed digits."""
    return "n/a" if value is None else f"{value:.{digits}f}"
