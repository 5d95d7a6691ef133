"""RSDF in front of a toy radiance field, through the volume renderer: identity at init, per-ray
maps as renderer extras, and the colour loss training the deformation."""

from __future__ import annotations

import pytest
import torch
from rsdf_helpers import SMALL_GRID, A, randomise_last_layers, signals

from lokitalk_plugins.render import OccupancyGrid, VolumeRenderer
from lokitalk_plugins.rsdf import RSDF

RADIUS = 0.4


def soft_sphere(x, d):
    """Smooth in x, so a moved canonical point changes density and colour."""
    r = x.norm(dim=-1)
    sigma = 8.0 * torch.sigmoid((RADIUS - r) * 40.0)
    color = torch.stack([0.5 + 0.5 * x[:, 0], 0.5 + 0.5 * x[:, 1], torch.full_like(r, 0.3)], -1)
    return {"sigma": sigma, "color": color}


def wrapped(rsdf, F_a, F_e, F_h):
    def field(x, d):
        out = rsdf(x, F_a, F_e, F_h)
        return soft_sphere(out.x_canonical, d) | out.maps

    return field


def rays(n=12):
    o = torch.zeros(n, 3)
    o[:, 0] = torch.linspace(-0.5, 0.5, n)
    o[:, 1] = 0.1
    o[:, 2] = -3.0
    return o, torch.tensor([[0.0, 0.0, 1.0]]).expand(n, 3).contiguous()


@pytest.mark.parametrize("training", [True, False])
def test_wrapped_field_renders_exactly_as_bare_at_init(training):
    torch.manual_seed(0)
    rsdf = RSDF(audio_dim=A, hidden=32, grid=SMALL_GRID)
    r = VolumeRenderer(OccupancyGrid(resolution=16), step=1.0 / 128, max_samples=None)
    o, d = rays()
    kw = dict(training=training, perturb=False)
    bare = r.render_rays(o, d, field=soft_sphere, **kw)
    res = r.render_rays(o, d, field=wrapped(rsdf, *signals()), extras=rsdf.map_names, **kw)
    assert torch.equal(res.rgb, bare.rgb) and torch.equal(res.depth, bare.depth)
    assert torch.equal(res.weights_sum, bare.weights_sum)
    for name in rsdf.map_names:
        assert res.extras[name].shape == (12,)
    for name in ("att_lip", "att_eye", "att_torso"):  # scores in [0, 1] sum to <= alpha
        assert (res.extras[name] >= 0).all() and (res.extras[name] <= res.weights_sum).all()
    assert not res.extras["dx_face_norm"].any()
    assert res.extras["att_lip"].max() > 0.1  # scores ~0.5 at init, weighted by alpha


def test_colour_loss_trains_the_deformation_through_the_renderer():
    torch.manual_seed(0)
    rsdf = RSDF(audio_dim=A, hidden=32, grid=SMALL_GRID)
    randomise_last_layers(rsdf, std=0.05)
    r = VolumeRenderer(OccupancyGrid(resolution=16), step=1.0 / 128, max_samples=None)
    o, d = rays()
    res = r.render_rays(o, d, field=wrapped(rsdf, *signals()), perturb=False,
                        extras=rsdf.map_names)  # fmt: skip
    assert res.extras["dx_face_norm"].max() > 0 and res.extras["dx_torso_norm"].max() > 0
    ((res.rgb - 0.5) ** 2).mean().backward()
    assert rsdf.encoder.embeddings.grad.abs().sum() > 0
    assert rsdf.face.net.net[0].weight.grad.abs().sum() > 0
    assert rsdf.torso_field.net.net[-1].weight.grad.abs().sum() > 0
