"""Small backbones, plug-ins and rays shared by the adapters tests (seeded, CPU)."""

from __future__ import annotations

import torch

from lokitalk_plugins.baselines.er_nerf.network import ERNeRF
from lokitalk_plugins.baselines.rad_nerf.network import RADNeRF
from lokitalk_plugins.rsdf import RSDF, JointDeformation

__all__ = [
    "BACKBONES",
    "Frames",
    "SMALL_GRID",
    "conditioning",
    "make_backbone",
    "make_plugin",
    "points",
    "randomise_offsets",
    "rays",
]

BACKBONES = {"rad_nerf": RADNeRF, "er_nerf": ERNeRF}
SMALL_GRID = dict(num_levels=4, level_dim=2, base_resolution=8, desired_resolution=32,
                  log2_hashmap_size=10, backend="torch")  # fmt: skip
K = 16  # audio feature size of the windows in these tests


def make_backbone(name: str, torso: bool = False, seed: int = 0, **options) -> torch.nn.Module:
    """A tiny-grid backbone whose hash tables are far from their 1e-4 start (so point
    features matter and a moved point changes the output); ``options`` go to its constructor
    (e.g. ER-NeRF's ``exp_eye``)."""
    torch.manual_seed(seed)
    model = BACKBONES[name](audio_in_dim=K, ind_num=4, grid_size=32, torso=torso, **options)
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if n.endswith("embeddings"):
                p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    return model


def make_plugin(kind: str, audio_dim: int, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    if kind == "rsdf":
        return RSDF(audio_dim=audio_dim, hidden=32, grid=SMALL_GRID)
    return JointDeformation(audio_dim=audio_dim, hidden=32, grid=SMALL_GRID)


def randomise_offsets(plugin: torch.nn.Module, std: float = 0.1, seed: int = 0) -> None:
    """Random weights in every zero-initialised offset layer (a trained-like plug-in)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in plugin.parameters():
            if p.dim() == 2 and not p.any():
                p.copy_(torch.randn(p.shape, generator=g) * std)


def conditioning(model, seed: int = 2):
    """(windows [1, 8, K, 16], enc_a [1, A], eye [1, 1], code [1, I], pose [1, 6])."""
    g = torch.Generator().manual_seed(seed)
    windows = torch.randn(1, 8, K, 16, generator=g)
    enc_a = torch.randn(1, model.audio_dim, generator=g)
    eye = torch.rand(1, 1, generator=g)
    pose = torch.randn(1, 6, generator=g) * 0.3
    return windows, enc_a, eye, model.individual_code(1), pose


def points(n: int = 256, seed: int = 3):
    """x [n, 3] in the head box, d [n, 3] unit directions."""
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(n, 3, generator=g) * 2 - 1) * torch.tensor([0.9, 0.45, 0.9])
    d = torch.nn.functional.normalize(torch.randn(n, 3, generator=g), dim=-1)
    return x, d


def rays(n: int = 8):
    """n*n parallel rays along -z through the head box: rays_o, rays_d [n*n, 3]."""
    ys, xs = torch.meshgrid(torch.linspace(-0.4, 0.4, n), torch.linspace(-0.6, 0.6, n),
                            indexing="ij")  # fmt: skip
    o = torch.stack([xs.flatten(), ys.flatten(), torch.full((n * n,), 3.0)], -1)
    d = torch.tensor([[0.0, 0.0, -1.0]]).expand(n * n, 3).contiguous()
    return o, d


class Frames:
    """A dataset stand-in: the first frame's image is all a fine-tune's identity
    initialisation (``init_identity``) reads."""

    def __init__(self, image):
        self.image = image

    def __getitem__(self, i):
        return self


def rsdf_studio_system(tmp_path, seconds: float = 1.0, size: int = 32):
    """A tiny ER-NeRF + RSDF (offsets randomised) system prepared on a 1 s, 32 px studio
    folder, in eval mode -> (system, data): for renders of whole frames."""
    from lokitalk_plugins.adapters import wrap
    from lokitalk_plugins.data import TalkingHeadFolder
    from lokitalk_plugins.data.studio import write_identity
    from lokitalk_plugins.pipeline import TalkingHeadSystem

    folder = write_identity(tmp_path / "id", seconds=seconds, size=size)
    data = TalkingHeadFolder(folder, background="bc", preload=True, progress=False)
    torch.manual_seed(0)
    backbone = ERNeRF(audio_in_dim=data.audio_features.shape[1], ind_num=len(data), grid_size=32)
    rsdf = RSDF(audio_dim=backbone.audio_dim, hidden=16, grid=SMALL_GRID)
    randomise_offsets(rsdf, std=0.2)
    system = TalkingHeadSystem(wrap(backbone, rsdf=rsdf), num_rays=128)
    system.prepare(data)
    system.eval()
    return system, data
