"""The 2D neural renderer (DH-NeRF §3.2): shapes, gradients, low-res camera, learning an image."""

from __future__ import annotations

import pytest
import torch

from lokitalk_plugins.render import NeuralRenderer, get_rays, low_res_camera, low_res_rays


def test_shapes_and_layers():
    torch.manual_seed(0)
    nr = NeuralRenderer(in_dim=16, scale=4, hidden=32, min_hidden=8)
    out = nr(torch.randn(2, 16, 5, 6))
    assert out.shape == (2, 3, 20, 24)
    assert out.min() >= 0 and out.max() <= 1
    assert len(nr.blocks) == 2 and len(nr.to_rgb) == 3  # two 2x steps, an RGB head per level
    assert nr.blocks[1][1].out_channels == 8  # 32 -> 16 -> 8
    # channels-last, unbatched
    assert nr(torch.randn(5, 6, 16), channels_last=True).shape == (20, 24, 3)
    # scale 1: same resolution
    assert NeuralRenderer(in_dim=4, scale=1, hidden=8)(torch.randn(1, 4, 3, 3)).shape == (
        1,
        3,
        3,
        3,
    )


def test_gradients_reach_the_features_and_every_layer():
    torch.manual_seed(0)
    nr = NeuralRenderer(in_dim=8, scale=2, hidden=16)
    feats = torch.randn(1, 8, 4, 4, requires_grad=True)
    nr(feats).mean().backward()
    assert feats.grad is not None and feats.grad.abs().sum() > 0
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in nr.parameters())


def test_bad_input():
    with pytest.raises(ValueError, match="power of two"):
        NeuralRenderer(scale=3)
    with pytest.raises(ValueError, match="built for 8-d features, got 5 channels"):
        NeuralRenderer(in_dim=8, scale=2)(torch.randn(1, 5, 4, 4))
    with pytest.raises(ValueError, match=r"scale 4 must divide the image size 30x32"):
        low_res_camera((50.0, 50.0, 16.0, 15.0), 30, 32, 4)


def test_low_res_camera_casts_through_block_centres():
    K, H, W, s = (40.0, 42.0, 16.0, 12.0), 24, 32, 4
    (fx, fy, cx, cy), h, w = low_res_camera(K, H, W, s)
    assert (h, w) == (6, 8) and (fx, fy, cx, cy) == (10.0, 10.5, 4.0, 3.0)
    c2w = torch.eye(4)
    c2w[:3, 3] = torch.tensor([0.1, -0.2, 0.3])
    rays_o, rays_d, hw = low_res_rays(c2w, K, H, W, s)
    assert hw == (6, 8) and rays_d.shape == (48, 3)
    # low-res pixel (row 2, col 3) is the full-res block whose centre is at (2*4+2, 3*4+2),
    # i.e. between full-res pixels 9/10 and 13/14: the mean direction of those four pixels
    # points the same way (pinhole: the centre of a block maps to its centre)
    full = torch.tensor([9 * W + 13, 9 * W + 14, 10 * W + 13, 10 * W + 14])
    _, d = get_rays(c2w, K, H, W, full)
    mid = d.mean(0) / d.mean(0).norm()
    torch.testing.assert_close(rays_d[2 * 8 + 3], mid, atol=2e-4, rtol=0)


@pytest.mark.parametrize("upsample", ["bilinear", "pixel_shuffle"])
def test_learns_a_small_image(upsample):
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    # target: a smooth 16x16 image; input: a fixed random 4x4 feature image (a stand-in for
    # the volume-rendered features, which train jointly with the renderer in a NeRF)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, 16), torch.linspace(0, 1, 16), indexing="ij")
    target = torch.stack([xx, yy, 0.5 + 0.4 * torch.sin(6 * xx * yy)], 0)[None]
    feats = torch.randn(1, 16, 4, 4, generator=g)
    nr = NeuralRenderer(in_dim=16, scale=4, hidden=32, min_hidden=16, upsample=upsample)
    opt = torch.optim.Adam(nr.parameters(), lr=5e-3)
    first = None
    for _ in range(300):
        loss = (nr(feats) - target).pow(2).mean()
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    psnr = -10 * torch.log10((nr(feats) - target).pow(2).mean()).item()
    assert loss.item() < first / 20 and psnr > 30


def _scene():
    from lokitalk_plugins.render import OccupancyGrid, VolumeRenderer

    torch.manual_seed(0)
    feat = torch.nn.Linear(3, 8)

    def field(x, d):
        inside = (x.norm(dim=-1) < 0.4).to(x.dtype)
        return {"sigma": 20.0 * inside, "color": torch.sigmoid(feat(x)[:, :3]), "feature": feat(x)}

    c2w = torch.eye(4)
    c2w[2, 3] = -3.0  # looks along +z at the origin
    volume = VolumeRenderer(OccupancyGrid(resolution=16), max_samples=64)
    return volume, field, feat, c2w, (40.0, 40.0, 8.0, 8.0)


def test_render_neural_one_frame():
    from lokitalk_plugins.render import block_mean, render_neural

    volume, field, feat, c2w, K = _scene()
    nr = NeuralRenderer(in_dim=8 + 3, scale=4, hidden=16, min_hidden=8)
    bg = torch.rand(16, 16, 3, generator=torch.Generator().manual_seed(2))
    out = render_neural(volume, nr, field, c2w, K, 16, 16, bg)
    assert out["rgb"].shape == (16, 16, 3) and out["low_rgb"].shape == (4, 4, 3)
    assert out["alpha"][1:3, 1:3].min() > 0.9 and out["alpha"][0, 0] == 0  # the sphere
    # where no ray hits, the low-res colour is the block mean of the background
    torch.testing.assert_close(out["low_rgb"][0, 0], block_mean(bg, 4)[0, 0])
    torch.testing.assert_close(block_mean(bg, 4)[1, 2], bg[4:8, 8:12].mean(dim=(0, 1)))
    out["rgb"].mean().backward()
    assert feat.weight.grad.abs().sum() > 0 and nr.stem.weight.grad.abs().sum() > 0
    with torch.no_grad():
        inf = render_neural(volume, nr, field, c2w, K, 16, 16, bg, training=False)
    assert inf["rgb"].shape == (16, 16, 3)


def test_render_neural_learns_a_frame():
    from lokitalk_plugins.render import render_neural

    volume, field, feat, c2w, K = _scene()
    nr = NeuralRenderer(in_dim=11, scale=4, hidden=32, min_hidden=16)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, 16), torch.linspace(0, 1, 16), indexing="ij")
    target = torch.stack([xx, yy, 1 - xx * yy], -1)
    opt = torch.optim.Adam(list(nr.parameters()) + list(feat.parameters()), lr=5e-3)
    losses = []
    for _ in range(150):
        rgb = render_neural(volume, nr, field, c2w, K, 16, 16, bg=0.5)["rgb"]
        loss = (rgb - target).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] / 10


def test_full_res_composite_shows_the_background_exactly_where_no_head_is():
    """composite='full_res': with the output alpha and foreground driven to 0, the frame is
    the full-res background, detail and all; 'low_res' only has its block means to go on."""
    from lokitalk_plugins.render import render_neural

    volume, field, feat, c2w, K = _scene()
    yy, xx = torch.meshgrid(torch.arange(16), torch.arange(16), indexing="ij")
    bg = ((xx + yy) % 2).float()[..., None].expand(16, 16, 3)  # a one-pixel checkerboard
    full = NeuralRenderer(in_dim=8 + 4, scale=4, hidden=16, min_hidden=8, composite="full_res")
    with torch.no_grad():
        for head in full.to_rgb:
            head.weight.zero_()
            head.bias.fill_(-40.0)  # sigmoid(-40 * levels) ~ 0: no foreground, no alpha
        out = render_neural(volume, full, field, c2w, K, 16, 16, bg)
    torch.testing.assert_close(out["rgb"], bg, atol=1e-6, rtol=0)
    assert out["low_rgb"][0, 0].abs().max() == 0  # the rays' colour is the foreground alone
    low = NeuralRenderer(in_dim=8 + 3, scale=4, hidden=16, min_hidden=8)
    assert (render_neural(volume, low, field, c2w, K, 16, 16, bg)["rgb"] - bg).abs().max() > 0.4


def test_full_res_composite_learns_a_frame_and_refuses_bad_input():
    from lokitalk_plugins.render import neural_rgb, render_neural

    volume, field, feat, c2w, K = _scene()
    nr = NeuralRenderer(in_dim=12, scale=4, hidden=32, min_hidden=16, composite="full_res")
    g = torch.Generator().manual_seed(3)
    bg = torch.rand(16, 16, 3, generator=g)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, 16), torch.linspace(0, 1, 16), indexing="ij")
    target = bg.clone()
    target[4:12, 4:12] = torch.stack([xx, yy, 1 - xx * yy], -1)[4:12, 4:12]
    opt = torch.optim.Adam(list(nr.parameters()) + list(feat.parameters()), lr=5e-3)
    losses = []
    for _ in range(150):
        loss = (render_neural(volume, nr, field, c2w, K, 16, 16, bg)["rgb"] - target).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] / 10
    with pytest.raises(ValueError, match="composite must be one of"):
        NeuralRenderer(in_dim=12, composite="half")
    with pytest.raises(ValueError, match="needs the low-res alpha"):
        neural_rgb(nr, torch.rand(16, 3), torch.rand(16, 8), 4, 4)
    with pytest.raises(ValueError, match=r"feature size \+ 4 \(composite 'full_res'\)"):
        nr(torch.randn(1, 11, 4, 4))


def test_pixel_shuffle_upsampling_shapes_and_block_locality():
    """upsample='pixel_shuffle': the same output sizes and widths as 'bilinear', the first
    convolution of each step at the lower resolution with 4x the channels; with 1x1 kernels
    throughout, each low-res feature decides its own s x s block and nothing else."""
    torch.manual_seed(0)
    nr = NeuralRenderer(in_dim=16, scale=4, hidden=32, min_hidden=8, upsample="pixel_shuffle")
    assert nr(torch.randn(2, 16, 5, 6)).shape == (2, 3, 20, 24)
    assert nr.blocks[0][0].out_channels == 4 * 16 and nr.blocks[0][1].in_channels == 16
    bil = NeuralRenderer(in_dim=16, scale=4, hidden=32, min_hidden=8)
    assert [m.out_channels for m in bil.to_rgb] == [m.out_channels for m in nr.to_rgb]
    # locality: shrink every 3x3 kernel to its centre and drop the bilinear RGB skip
    with torch.no_grad():
        for conv_a, conv_b in nr.blocks:
            for conv in (conv_a, conv_b):
                centre = conv.weight[..., 1, 1].clone()
                conv.weight.zero_()
                conv.weight[..., 1, 1] = centre
        for head in nr.to_rgb[:-1]:
            head.weight.zero_()
            head.bias.zero_()
    feats = torch.randn(1, 16, 4, 4)
    moved = feats.clone()
    moved[0, :, 1, 2] += 1.0
    diff = (nr(moved) - nr(feats)).abs().sum(1)[0] > 0
    want = torch.zeros(16, 16, dtype=torch.bool)
    want[4:8, 8:12] = True
    assert torch.equal(diff, want)
    with pytest.raises(ValueError, match="upsample must be one of"):
        NeuralRenderer(in_dim=16, upsample="nearest")


def test_averaged_background():
    from lokitalk_plugins.render import averaged_background, block_mean

    bg = torch.rand(8, 8, 3, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(averaged_background(bg, 4), block_mean(bg, 4))
    colour = torch.tensor([0.1, 0.2, 0.3])
    assert averaged_background(colour, 4) is colour and averaged_background(0.5, 2) == 0.5
    assert averaged_background(None, 2) == 0.0


def test_lift_composites_the_lifted_per_sample_feature():
    """lift = L: each sample's feature goes through the lift before the ray's weighted sum,
    so the composited feature is Σ w_i act(lift(f_i)), not act(lift(Σ w_i f_i))."""
    from lokitalk_plugins.render import lifted_field, neural_extra, render_neural

    volume, field, feat, c2w, K = _scene()
    nr = NeuralRenderer(in_dim=32 + 3, scale=4, hidden=16, min_hidden=8, lift=32, lift_in=8)
    assert neural_extra(nr, "feature") == "neural_lift" and nr.lift.weight.shape == (32, 8)
    plain = NeuralRenderer(in_dim=8 + 3, scale=4, hidden=16, min_hidden=8)
    assert neural_extra(plain, "feature") == "feature" and lifted_field(plain, field, "x") is field
    x = torch.randn(5, 3)
    out = lifted_field(nr, field, "feature")(x, torch.zeros(5, 3))
    want = torch.nn.functional.leaky_relu(nr.lift(feat(x)), 0.2)
    torch.testing.assert_close(out["neural_lift"], want)
    assert set(out) == {"sigma", "color", "feature", "neural_lift"}
    # through the volume renderer: the ray's extra is the weighted sum of the lifted samples
    rays_o, rays_d, (h, w) = low_res_rays(c2w, K, 16, 16, 4)
    res = volume.render_rays(rays_o, rays_d, 0.5, training=False, extras=("neural_lift",),
                             field=lifted_field(nr, field, "feature"))  # fmt: skip
    lifted = res.extras["neural_lift"]
    assert lifted.shape == (16, 32) and lifted[0].abs().max() == 0  # a corner ray hits nothing
    rendered = render_neural(volume, nr, field, c2w, K, 16, 16, bg=0.5)
    rendered["rgb"].mean().backward()
    assert nr.lift.weight.grad.abs().sum() > 0 and feat.weight.grad.abs().sum() > 0


def test_lift_needs_a_matching_in_dim():
    with pytest.raises(ValueError, match=r"in_dim must be lift \+ 4 = 260 with lift 256 and "
                       r"composite 'full_res', got 68"):  # fmt: skip
        NeuralRenderer(in_dim=68, lift=256, composite="full_res")
    with pytest.raises(ValueError, match="lift must be >= 0"):
        NeuralRenderer(in_dim=11, lift=-1)
    NeuralRenderer(in_dim=260, lift=256, composite="full_res")  # as the message says
    from lokitalk_plugins.render import lifted_field

    wide = NeuralRenderer(in_dim=19, lift=16)  # lift_in 64, but the field's feature has 8
    _volume, field, _feat, _c2w, _k = _scene()
    with pytest.raises(ValueError, match=r"lift_in is 64, but the field's 'feature' has 8 "
                       r"channels: set NeuralRenderer.lift_in = 8"):  # fmt: skip
        lifted_field(wide, field, "feature")(torch.zeros(2, 3), torch.zeros(2, 3))


def test_depth_adds_residual_blocks_at_the_rays_resolution():
    """NeuralRenderer.depth = K: K residual blocks after the stem, at the input's resolution;
    0 leaves the module (and its state dict) as it was; negative is refused."""
    torch.manual_seed(0)
    plain = NeuralRenderer(in_dim=8, scale=2, hidden=16)
    deep = NeuralRenderer(in_dim=8, scale=2, hidden=16, depth=2)
    assert set(plain.state_dict()) < set(deep.state_dict())
    extra = set(deep.state_dict()) - set(plain.state_dict())
    assert extra == {f"low_blocks.{i}.{j}.{k}" for i in range(2) for j in range(2)
                     for k in ("weight", "bias")}  # fmt: skip
    # with the blocks' last convolutions at zero the deep module is the plain one
    deep.load_state_dict(plain.state_dict(), strict=False)
    for _, conv_b in deep.low_blocks:
        torch.nn.init.zeros_(conv_b.weight)
        torch.nn.init.zeros_(conv_b.bias)
    feats = torch.randn(1, 8, 4, 4, requires_grad=True)
    torch.testing.assert_close(deep(feats), plain(feats))
    torch.nn.init.normal_(deep.low_blocks[1][1].weight, std=0.1)
    assert not torch.allclose(deep(feats), plain(feats))
    deep(feats).mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in deep.parameters())
    with pytest.raises(ValueError, match="depth must be >= 0"):
        NeuralRenderer(in_dim=8, scale=2, depth=-1)


def test_support_confines_the_output_to_pixels_near_the_rays_that_saw_something():
    from lokitalk_plugins.render import neural_rgb
    from lokitalk_plugins.render.neural import support_mask

    torch.manual_seed(0)
    alpha = torch.zeros(4, 4)
    alpha[0, 0] = 0.8  # one ray saw the head: its block and its neighbours' may show it
    m = support_mask(alpha.reshape(-1), 4, 4, 4, 1)[..., 0]
    assert m.shape == (16, 16)
    assert torch.equal(m[:8, :8], torch.full((8, 8), 0.8)) and m[8:].abs().max() == 0
    assert m[:, 8:].abs().max() == 0
    bg = torch.rand(16, 16, 3)
    low, feats = torch.rand(16, 3), torch.randn(16, 8)
    kw = dict(in_dim=12, scale=4, hidden=16, min_hidden=8, composite="full_res")
    plain, gated = NeuralRenderer(**kw), NeuralRenderer(**kw, support=1)
    gated.load_state_dict(plain.state_dict())  # the same weights: only the gate differs
    a = alpha.reshape(-1).requires_grad_()
    out = neural_rgb(gated, low, feats, 4, 4, a, bg)
    far = torch.ones(16, 16, dtype=torch.bool)
    far[:8, :8] = False
    assert torch.equal(out[far], bg[far])  # exactly the background, no sigmoid leak
    before = neural_rgb(plain, low, feats, 4, 4, alpha.reshape(-1), bg)
    assert (before[far] - bg[far]).abs().max() > 0.05  # what the gate removes
    out[:8, :8].sum().backward()
    assert a.grad[0] != 0  # the rays' alpha learns through the gate
    with pytest.raises(ValueError, match="support must be >= 0.*'full_res'"):
        NeuralRenderer(in_dim=11, scale=4, support=1)
    with pytest.raises(ValueError, match="support must be >= 0"):
        NeuralRenderer(**kw, support=-1)
