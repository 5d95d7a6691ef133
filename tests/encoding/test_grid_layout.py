"""Layout of the grid encoders against the original checkpoints' shapes (baselines/manifests)."""

import json
from pathlib import Path

import pytest
import torch

from lokitalk_plugins.encoding import GridEncoder, TriPlane, grid_layout, per_level_scale_for

MANIFESTS = Path(__file__).resolve().parents[2] / "baselines" / "manifests"


def _manifest(name):
    return json.loads((MANIFESTS / f"{name}.json").read_text())["state_dict"]


def rad_encoder():
    return GridEncoder(
        input_dim=3,
        num_levels=16,
        level_dim=2,
        base_resolution=16,
        log2_hashmap_size=16,
        desired_resolution=2048,
        gridtype="tiled",
    )


def rad_ambient():
    return GridEncoder(
        input_dim=2,
        num_levels=16,
        level_dim=2,
        base_resolution=16,
        log2_hashmap_size=16,
        desired_resolution=2048,
        gridtype="tiled",
    )


def test_rad_nerf_shapes_match_manifest():
    sd = _manifest("rad_nerf_k29_torso")
    for name, enc in [
        ("encoder", rad_encoder()),
        ("encoder_ambient", rad_ambient()),
        ("torso_encoder", rad_ambient()),
    ]:
        assert list(enc.embeddings.shape) == sd[f"{name}.embeddings"]
        assert list(enc.offsets.shape) == sd[f"{name}.offsets"]
        assert enc.offsets.dtype == torch.int32
    assert list(rad_encoder().embeddings.shape) == [903480, 2]
    assert list(rad_ambient().embeddings.shape) == [555520, 2]


def test_er_nerf_triplane_matches_manifest_and_loads_strict():
    sd = _manifest("er_nerf_k29")
    tri = TriPlane()  # ER-NeRF defaults: hash 12 x 1, base 64, finest 512, table 2**14
    ours = tri.state_dict()
    for plane in ("xy", "yz", "xz"):
        for key in ("embeddings", "offsets"):
            full = f"encoder_{plane}.{key}"
            assert list(ours[full].shape) == sd[full]
    assert list(ours["encoder_xy.embeddings"].shape) == [163584, 1]
    assert tri.output_dim == 36
    # an "original" state dict with those shapes loads strictly
    fake = {
        k: torch.randn(v.shape) if k.endswith("embeddings") else v.clone() for k, v in ours.items()
    }
    tri.load_state_dict(fake, strict=True)
    assert torch.equal(tri.encoder_yz.embeddings, fake["encoder_yz.embeddings"])


def test_state_dict_keys_init_and_offsets_check():
    enc = rad_encoder()
    assert set(enc.state_dict()) == {"embeddings", "offsets"}
    assert enc.embeddings.abs().max() <= 1e-4 and enc.embeddings.std() > 3e-5
    assert enc.output_dim == 32
    offsets = enc.offsets.tolist()
    assert offsets[:4] == [0, 4920, 4920 + 13824, 4920 + 13824 + 32768]  # 17^3, 24^3, 32^3
    assert all((b - a) % 8 == 0 for a, b in zip(offsets, offsets[1:]))
    bad = {"embeddings": enc.embeddings.detach().clone(), "offsets": enc.offsets.clone()}
    bad["offsets"][3] += 8
    with pytest.raises(ValueError, match="offsets"):
        enc.load_state_dict(bad, strict=True)


def test_per_level_scale_and_float32_scales():
    s = per_level_scale_for(16, 16, 2048)
    assert s == pytest.approx(2 ** (7 / 15), rel=1e-12)
    lay = grid_layout(
        3,
        16,
        2,
        base_resolution=16,
        log2_hashmap_size=16,
        desired_resolution=2048,
        gridtype="tiled",
    )
    assert lay.scales[0] == 15.0 and lay.scales[-1] == 2047.0
    assert lay.grid_res[0] == 16 and lay.grid_res[-1] == 2048
    assert lay.resolutions[:4] == (16, 23, 31, 43)
    er = grid_layout(2, 12, 1, base_resolution=64, log2_hashmap_size=14, desired_resolution=512)
    assert er.scales[0] == 63.0 and er.scales[-1] == 511.0
    assert grid_layout(2, 1, 1, base_resolution=4).offsets == (0, 32)  # 5^2 -> multiple of 8
    with pytest.raises(ValueError):
        grid_layout(4)
