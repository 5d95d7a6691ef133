import math

import pytest
import torch

from lokitalk_plugins.render import OccupancyGrid, VolumeRenderer, get_rays

SIGMA, RADIUS = 4.0, 0.4
COLOR = torch.tensor([0.2, 0.5, 0.9])
FINE = 1.0 / 512


def sphere_field(x, d):
    inside = (x.norm(dim=-1) < RADIUS).to(x.dtype)
    return {"sigma": SIGMA * inside, "color": COLOR.to(x).expand_as(x), "r": x.norm(dim=-1),
            "xyz": x}  # fmt: skip


def slab_field(x, d):
    inside = ((x[:, 2] >= -0.2) & (x[:, 2] < 0.3)).to(x.dtype)
    return {"sigma": SIGMA * inside, "color": COLOR.to(x).expand_as(x)}


def parallel_rays(n=9, z=-3.0):
    o = torch.zeros(n, 3)
    o[:, 0] = torch.linspace(-0.6, 0.6, n)
    o[:, 2] = z
    d = torch.tensor([[0.0, 0.0, 1.0]]).expand(n, 3).contiguous()
    return o, d


def sphere_closed_form(o):
    half = torch.sqrt((RADIUS**2 - o[:, 0] ** 2).clamp_min(0))
    L = 2 * half
    t0 = -o[:, 2] - half
    e = torch.exp(-SIGMA * L)
    alpha = 1 - e
    depth = t0 * alpha + (1 - e) / SIGMA - L * e
    return alpha, depth, L


def renderer(res=16, **kw):
    grid = OccupancyGrid(resolution=res)
    kw.setdefault("step", FINE)
    return VolumeRenderer(grid, **kw)


@pytest.mark.parametrize("training", [True, False])
def test_sphere_alpha_and_depth_closed_form(training):
    r = renderer(max_samples=None)
    o, d = parallel_rays()
    res = r.render_rays(o, d, training=training, perturb=False, field=sphere_field)
    alpha, depth, L = sphere_closed_form(o)
    tol = 2 * SIGMA * FINE  # one step of boundary error on each end
    assert (res.weights_sum - alpha).abs().max() < tol
    assert (res.depth - depth).abs().max() < 3 * FINE + tol * 3
    assert res.weights_sum[0] == 0 and res.weights_sum[-1] == 0  # rays miss the sphere
    # constant colour: rgb = colour * alpha (no background)
    torch.testing.assert_close(res.rgb, COLOR * res.weights_sum[:, None])


def test_slab_oblique_rays_exact_chord():
    r = renderer(max_samples=None)
    angles = torch.linspace(0, 0.6, 5)
    d = torch.stack([torch.sin(angles), torch.zeros(5), torch.cos(angles)], -1)
    o = -2.5 * d  # all rays pass through the origin
    res = r.render_rays(o, d, training=True, perturb=False, field=slab_field)
    chord = 0.5 / d[:, 2]
    expected = 1 - torch.exp(-SIGMA * chord)
    assert (res.weights_sum - expected).abs().max() < 2 * SIGMA * FINE


def test_perturbed_training_is_unbiased_enough():
    torch.manual_seed(0)
    r = renderer(max_samples=None)
    o, d = parallel_rays()
    res = r.render_rays(o, d, training=True, perturb=True, field=sphere_field)
    alpha, _, _ = sphere_closed_form(o)
    assert (res.weights_sum - alpha).abs().max() < 4 * SIGMA * FINE


def test_missing_rays_give_background():
    r = renderer()
    o = torch.tensor([[0.0, 2.0, -3.0], [3.0, 0.0, 0.0]])
    d = torch.tensor([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    bg = torch.tensor([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])
    for training in (True, False):
        res = r.render_rays(o, d, bg, training=training, field=sphere_field)
        assert torch.equal(res.weights_sum, torch.zeros(2))
        torch.testing.assert_close(res.rgb, bg)
        if training:
            assert res.samples.num_samples == 0


def test_sample_cap_and_occupancy_skipping():
    torch.manual_seed(0)
    grid = OccupancyGrid(resolution=16)
    dense = torch.zeros(16, 16, 16, dtype=torch.bool)
    dense[6:10, 6:10, 6:10] = True
    grid.set_occupancy(dense)
    r = VolumeRenderer(grid, step=1 / 64, max_samples=16)
    o, d = parallel_rays(n=21)
    res = r.render_rays(o, d, training=True, perturb=True, field=sphere_field)
    s = res.samples
    assert s.counts().max() <= 16 and s.num_samples > 0
    assert grid.query(s.xyzs).all()
    assert torch.equal(s.ray_indices, s.ray_indices.sort().values)
    assert s.ray_indices.dtype == torch.int64
    assert res.weights.shape == (s.num_samples,)


def test_the_march_says_which_rays_the_cap_cut_and_which_it_cut_short():
    """PackedSamples.cut: True where occupied samples lay beyond the cap (a ray through the
    whole occupied block has 4 cells x 16 steps = 64, one beside it none); None uncapped.
    RenderResult.cut_short: cut rays whose alpha stayed below 0.95; cut_short_log: their share."""
    from lokitalk_plugins.pipeline.objective import cut_short_log
    from lokitalk_plugins.render import march_rays

    grid = OccupancyGrid(resolution=16)
    dense = torch.zeros(16, 16, 16, dtype=torch.bool)
    dense[6:10, 6:10, 6:10] = True  # the cube [-0.25, 0.25]^3
    grid.set_occupancy(dense)
    o = torch.tensor([[0.0, 0.0, -3.0], [0.1, 0.1, -3.0], [0.9, 0.9, -3.0]])
    d = torch.tensor([[0.0, 0.0, 1.0]]).expand(3, 3).contiguous()
    near, far = torch.full((3,), 2.0), torch.full((3,), 4.0)
    occupied = march_rays(grid, o, d, near, far, 1 / 32).counts()
    assert occupied.tolist() == [16, 16, 0]
    for cap, want in ((8, [True, True, False]), (16, [False, False, False])):
        s = march_rays(grid, o, d, near, far, 1 / 32, max_samples=cap)
        assert s.cut.tolist() == want and s.counts().tolist() == [min(16, cap)] * 2 + [0]
    per_ray = march_rays(grid, o, d, near, far, 1 / 32, max_samples=torch.tensor([8, 16, 1]))
    assert per_ray.cut.tolist() == [True, False, False]
    assert march_rays(grid, o, d, near, far, 1 / 32).cut is None
    # rendered: a thin field (opaque nowhere) and a dense one (opaque within 8 samples)
    for sigma, short in ((0.5, [True, True, False]), (400.0, [False, False, False])):
        field = lambda x, _d, s=sigma: {"sigma": torch.full(x.shape[:1], s),  # noqa: E731
                                         "color": COLOR.to(x).expand_as(x)}  # fmt: skip
        r = VolumeRenderer(grid, step=1 / 32, max_samples=8)
        res = r.render_rays(o, d, training=True, perturb=False, field=field)
        assert res.cut_short().tolist() == short
        assert cut_short_log([res])["cut_short"] == pytest.approx(sum(short) / 3)
    uncapped = VolumeRenderer(grid, step=1 / 32, max_samples=None)
    res = uncapped.render_rays(o, d, training=True, perturb=False, field=sphere_field)
    assert res.cut_short() is None and cut_short_log([res]) == {}


@pytest.mark.parametrize("cap", [3, 16])
def test_inference_renders_what_training_fits(cap):
    # The cap on occupied samples holds at inference as in training (the originals' max_steps
    # bounds both marches): a sphere deeper than the cap, behind two occupied-but-empty shells
    # of cells, renders the same in both modes, whatever the chunking of the inference rounds.
    grid = OccupancyGrid(resolution=16)
    dense = torch.zeros(16, 16, 16, dtype=torch.bool)
    dense[3:13, 3:13, 3:13] = True
    grid.set_occupancy(dense)
    o, d = parallel_rays(n=13)
    for steps in (1, 4, 32):
        r = VolumeRenderer(grid, step=1 / 32, max_samples=cap, inference_steps=steps)
        train = r.render_rays(o, d, training=True, perturb=False, field=sphere_field)
        infer = r.render_rays(o, d, training=False, field=sphere_field)
        torch.testing.assert_close(infer.weights_sum, train.weights_sum)
        torch.testing.assert_close(infer.rgb, train.rgb)
        assert train.samples.counts().max() == cap
    # Without the cap the inference march goes on to the far side, and the thick sphere is
    # nearly opaque where the capped render is not.
    free = VolumeRenderer(grid, step=1 / 32, max_samples=3, cap_inference=False)
    capped = VolumeRenderer(grid, step=1 / 32, max_samples=3)
    a = free.render_rays(o, d, training=False, field=sphere_field).weights_sum
    b = capped.render_rays(o, d, training=False, field=sphere_field).weights_sum
    centre = o[:, 0].abs() < 0.2
    assert (a[centre] > 0.9).all() and (b[centre] < 0.5).all()


def test_extras_are_weighted_sums():
    r = renderer(step=1 / 128, max_samples=None)
    o, d = parallel_rays()
    res = r.render_rays(o, d, training=True, perturb=False, extras=("r", "xyz"), field=sphere_field)
    s, w = res.samples, res.weights
    ref = torch.zeros(9).index_add(0, s.ray_indices, w * s.xyzs.norm(dim=-1))
    torch.testing.assert_close(res.extras["r"], ref)
    assert res.extras["xyz"].shape == (9, 3)
    inf = r.render_rays(o, d, training=False, extras=("r", "xyz"), field=sphere_field)
    torch.testing.assert_close(inf.extras["r"], ref, atol=1e-4, rtol=1e-4)
    with pytest.raises(KeyError, match="nope"):
        r.render_rays(o, d, extras=("nope",), field=sphere_field)


def test_gradients_reach_density_and_colour():
    log_sigma = torch.tensor(math.log(SIGMA), requires_grad=True)
    colour = torch.tensor([0.3, 0.6, 0.1], requires_grad=True)

    def field(x, d):
        inside = (x.norm(dim=-1) < RADIUS).to(x.dtype)
        return {"sigma": log_sigma.exp() * inside, "color": colour.expand_as(x)}

    r = renderer(max_samples=None)
    o, d = parallel_rays(n=1)  # the central ray, chord 0.8
    o[0, 0] = 0.0
    res = r.render_rays(o, d, training=True, perturb=False, field=field)
    res.weights_sum.sum().backward()
    L = 2 * RADIUS  # d alpha / d log sigma = sigma L exp(-sigma L)
    assert abs(log_sigma.grad.item() - SIGMA * L * math.exp(-SIGMA * L)) < 0.01
    colour.grad = None
    res = r.render_rays(o, d, training=True, perturb=False, field=field)
    res.rgb.sum().backward()
    torch.testing.assert_close(colour.grad, res.weights_sum.detach().expand(3))


def test_inference_early_stop_close_to_full_and_cheaper():
    calls = {"n": 0}

    def dense_field(x, d):
        calls["n"] += x.shape[0]
        inside = (x.norm(dim=-1) < RADIUS).to(x.dtype)
        col = torch.stack([x[:, 0].abs(), x[:, 1].abs(), torch.ones_like(x[:, 0])], -1)
        return {"sigma": 200.0 * inside, "color": col}

    r = renderer(step=1 / 256, max_samples=None, inference_steps=16)
    o, d = parallel_rays(n=15)
    full = r.render_rays(o, d, training=True, perturb=False, field=dense_field)
    n_full = calls["n"]
    calls["n"] = 0
    fast = r.render_rays(o, d, training=False, field=dense_field)
    assert calls["n"] < n_full
    assert (full.weights_sum - fast.weights_sum).abs().max() <= 1e-4
    assert (full.rgb - fast.rgb).abs().max() <= 1e-4


def test_render_image_matches_render_rays():
    torch.manual_seed(0)
    r = renderer(step=1 / 128, max_samples=None)
    c2w = torch.eye(4)
    c2w[2, 3] = -3.0
    K, H, W = (30.0, 30.0, 6.0, 5.0), 10, 12
    bg = torch.rand(H, W, 3)
    img = r.render_image(sphere_field, c2w, K, H, W, bg=bg, chunk=37, extras=("xyz",))
    assert img.rgb.shape == (H, W, 3) and img.depth.shape == (H, W)
    assert img.extras["xyz"].shape == (H, W, 3)
    o, d = get_rays(c2w, K, H, W)
    ref = r.render_rays(o, d, bg.reshape(-1, 3), training=False, field=sphere_field)
    torch.testing.assert_close(img.rgb.reshape(-1, 3), ref.rgb)
    torch.testing.assert_close(img.weights_sum.reshape(-1), ref.weights_sum)
    assert img.weights_sum.max() > 0.9 and img.weights_sum.min() == 0
