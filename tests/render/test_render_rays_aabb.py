import torch

from lokitalk_plugins.render import HEAD_AABB, near_far_from_aabb


def test_axis_ray_through_box():
    o = torch.tensor([[0.0, 0.0, -3.0], [0.2, 0.1, 5.0]])
    d = torch.tensor([[0.0, 0.0, 1.0], [0.0, 0.0, -1.0]])
    near, far = near_far_from_aabb(o, d, HEAD_AABB)
    torch.testing.assert_close(near, torch.tensor([2.0, 4.0]))
    torch.testing.assert_close(far, torch.tensor([4.0, 6.0]))


def test_miss_gives_near_equal_far_and_near_clamped():
    o = torch.tensor([[0.0, 2.0, -3.0], [0.0, 0.0, 0.0], [0.0, 0.0, 3.0]])
    d = torch.tensor([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    near, far = near_far_from_aabb(o, d, HEAD_AABB, min_near=0.05)
    assert near[0] == far[0]  # passes above the box (y = 2 > 0.5)
    assert near[1] == 0.05 and far[1] == 1.0  # starts inside the box
    assert near[2] == far[2]  # box is behind the ray


def test_random_rays_match_point_membership():
    torch.manual_seed(0)
    o = torch.randn(500, 3) * 2.5
    d = torch.nn.functional.normalize(torch.randn(500, 3), dim=-1)
    near, far = near_far_from_aabb(o, d, HEAD_AABB, min_near=0.0)
    lo, hi = torch.tensor(HEAD_AABB[:3]), torch.tensor(HEAD_AABB[3:])
    t = torch.linspace(0, 8, 4001)
    pts = o[:, None] + t[None, :, None] * d[:, None]
    inside = ((pts >= lo) & (pts <= hi)).all(-1)
    hit = far > near
    assert (hit ^ inside.any(1)).sum() <= 2  # at most a couple of grazing rays disagree
    between = (t[None] > near[:, None] + 1e-3) & (t[None] < far[:, None] - 1e-3)
    assert not (between & ~inside).any()
    outside = (t[None] < near[:, None] - 1e-3) | (t[None] > far[:, None] + 1e-3)
    assert not (outside & inside & hit[:, None]).any()


def _bf16_autocast():
    return torch.autocast("cpu", dtype=torch.bfloat16)


def test_rays_stay_float32_and_equal_under_a_bfloat16_training_autocast():
    from lokitalk_plugins.render import get_rays

    torch.manual_seed(1)
    c2w = torch.eye(4)
    c2w[:3, :3] = torch.linalg.qr(torch.randn(3, 3))[0]
    c2w[:3, 3] = torch.tensor([0.1, -0.2, 2.5])
    index = torch.randperm(64 * 48)[:500]
    ref_o, ref_d = get_rays(c2w, (60.0, 61.0, 32.0, 24.0), 48, 64, index)
    with _bf16_autocast():
        o, d = get_rays(c2w, (60.0, 61.0, 32.0, 24.0), 48, 64, index)
        # what the product gives without the guard: directions a bfloat16 step apart
        raw = (torch.ones(1, 3) @ c2w[:3, :3].T).dtype
    assert raw == torch.bfloat16 and d.dtype == torch.float32
    assert torch.equal(o, ref_o) and torch.equal(d, ref_d)


def test_exact_geometry_takes_a_device_a_tensor_or_a_type():
    from lokitalk_plugins.render import exact_geometry

    a, b = torch.randn(4, 3), torch.randn(3, 3)
    for dev in ("cpu", torch.device("cpu"), a):
        with _bf16_autocast(), exact_geometry(dev):
            assert (a @ b).dtype == torch.float32
