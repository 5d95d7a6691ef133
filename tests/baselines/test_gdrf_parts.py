"""GDRF's parts: projection into a reference (analytic), bilinear sampling, zero-flow warping,
AdaIN, the attention over references, and one-line errors for bad references."""

from __future__ import annotations

import pytest
import torch

from lokitalk_plugins.baselines.gdrf import GDRF, GDRFDataError
from lokitalk_plugins.baselines.gdrf.project import (
    AttentionAggregator,
    project_points,
    sample_features,
)
from lokitalk_plugins.baselines.gdrf.references import reference_indices
from lokitalk_plugins.baselines.gdrf.warp import AdaIN, WarpNet, warp_features
from lokitalk_plugins.render import get_rays


def _camera(angle: float, t) -> torch.Tensor:
    c, s = torch.cos(torch.tensor(angle)), torch.sin(torch.tensor(angle))
    c2w = torch.eye(4)
    c2w[:3, :3] = torch.tensor([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    c2w[:3, 3] = torch.tensor(t)
    return c2w


def test_projection_of_a_point_on_the_axis_is_analytic():
    # camera at the origin looking along +z: u = fx x / z + cx, v = fy y / z + cy
    x = torch.tensor([[0.1, -0.2, 2.0]])
    uv, depth = project_points(x, torch.eye(4)[None], torch.tensor([[100.0, 80.0, 16.0, 12.0]]))
    assert uv[0, 0].tolist() == pytest.approx([100 * 0.05 + 16, 80 * -0.1 + 12])
    assert depth[0, 0].item() == pytest.approx(2.0)


def test_a_point_on_a_pixel_ray_projects_onto_that_pixel():
    H, W, K = 24, 32, (40.0, 42.0, 15.0, 11.5)
    c2w = _camera(0.3, [0.2, -0.1, -1.5])
    index = torch.tensor([0, 37, 5 * W + 9, H * W - 1])
    rays_o, rays_d = get_rays(c2w, K, H, W, index)
    x = rays_o + 1.7 * rays_d
    uv, depth = project_points(x, c2w[None], torch.tensor([K]))
    expect = torch.stack([(index % W).float() + 0.5, (index // W).float() + 0.5], dim=-1)
    assert torch.allclose(uv[0], expect, atol=1e-4)
    assert (depth > 0).all()
    with torch.autocast("cpu", dtype=torch.bfloat16):  # a bf16 training step: same pixels
        uv_amp, depth_amp = project_points(x, c2w[None], torch.tensor([K]))
    assert uv_amp.dtype == torch.float32 and torch.equal(uv_amp, uv)
    assert torch.equal(depth_amp, depth)


def test_sampling_at_a_feature_pixel_centre_returns_its_value():
    volumes = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).view(2, 3, 4, 5)
    H, W = 16, 20  # the volume covers the image at a quarter of its size
    uv = torch.tensor([[[(2 + 0.5) * 4, (1 + 0.5) * 4], [-3.0, 2.0]]]).expand(2, 2, 2)
    f, inside = sample_features(volumes, uv, H, W)
    assert f.shape == (2, 2, 3)
    assert torch.equal(f[:, 0], volumes[:, :, 1, 2])
    assert inside[:, 0].all() and not inside[:, 1].any()


def test_zero_flow_is_the_identity_and_an_untrained_warp_predicts_zero_flow():
    torch.manual_seed(0)
    volumes = torch.randn(4, 8, 6, 7)
    assert torch.allclose(warp_features(volumes, torch.zeros(4, 2, 6, 7)), volumes, atol=1e-6)
    flow = WarpNet(8, 16)(volumes, torch.randn(1, 16))
    assert flow.shape == (4, 2, 6, 7) and flow.abs().max() == 0
    # a flow of one feature pixel to the right reads the right neighbour
    shifted = warp_features(
        volumes, torch.zeros(4, 2, 6, 7).index_fill(1, torch.tensor([0]), 2 / 7)
    )
    assert torch.allclose(shifted[..., :-1], volumes[..., 1:], atol=1e-5)


def test_adain_normalises_each_map_and_follows_z():
    torch.manual_seed(0)
    norm = AdaIN(3, 5)
    m = torch.randn(2, 3, 4, 4) * 3 + 1
    out = norm(m, torch.randn(1, 5))  # affine starts at zero: plain instance norm
    assert torch.allclose(out.mean(dim=(2, 3)), torch.zeros(2, 3), atol=1e-5)
    assert torch.allclose(out.std(dim=(2, 3), unbiased=False), torch.ones(2, 3), atol=1e-3)
    torch.nn.init.constant_(norm.affine.bias, 0.5)
    out = norm(m, torch.zeros(1, 5))  # γ̃ = 1.5 and β = 0.5 on every map
    assert torch.allclose(out.mean(dim=(2, 3)), torch.full((2, 3), 0.5), atol=1e-5)


def test_attention_ignores_references_that_do_not_see_the_point():
    torch.manual_seed(0)
    agg = AttentionAggregator(6, 8)
    feats = torch.randn(3, 5, 6)
    valid = torch.tensor([[True] * 5, [False] * 5, [True, True, False, False, False]])
    f, a = agg(feats, valid)
    assert f.shape == (5, 8) and a.shape == (5, 3)
    assert torch.allclose(a.sum(dim=1), torch.ones(5))
    assert a[:, 1].abs().max() == 0 and a[2:, 2].abs().max() == 0
    changed = feats.clone()
    changed[1] = 100.0  # features of an unseen reference change nothing
    assert torch.allclose(agg(changed, valid)[0], f)


def test_bad_references_end_in_one_line_errors():
    assert reference_indices(9, 4) == [0, 3, 5, 8]  # round(k * 8 / 3): 0, 2.67, 5.33, 8
    with pytest.raises(GDRFDataError, match=r"3 frames, fewer than GDRF's 4 references"):
        reference_indices(3, 4, "clip")
    model = GDRF(audio_in_dim=8)
    images, c2w = torch.rand(4, 3, 8, 8), torch.eye(4).expand(4, 4, 4)
    intr = torch.tensor([[10.0, 10.0, 4.0, 4.0]]).repeat(4, 1)
    with pytest.raises(GDRFDataError, match="fewer than GDRF.num_references=4"):
        model.set_references(images[:3], c2w[:3], intr[:3])
    intr[2, 0] = 12.0
    with pytest.raises(GDRFDataError, match=r"reference 2 has intrinsics .*one camera") as err:
        model.set_references(images, c2w, intr)
    assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match="descriptor must be one of"):
        GDRF(descriptor="mfcc")
