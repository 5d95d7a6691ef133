"""The deformation fields' fast path (``rsdf/fused.py``, the default) against their reference
twin (``fused = False``): the same offsets, maps and gradients for every way the fields are
driven (per-frame and per-point signals, ID-AKT's F_id and last layers, no torso, separate
encoders, float64), and both paths identity at initialisation; where no gradient is recorded
the fast path's fused oneDNN calls (rsdf_offsets_inference) against the same twin."""

from __future__ import annotations

import pytest
import torch
from rsdf_helpers import SMALL_GRID, A, points, randomise_grids, randomise_last_layers, signals

from lokitalk_plugins import layers
from lokitalk_plugins.layers import fused_linear_usable
from lokitalk_plugins.rsdf import RSDF, JointDeformation
from lokitalk_plugins.rsdf.fused import rsdf_offsets_inference
from lokitalk_plugins.rsdf.rsdf import inside_box


def _twins(cls, **kw):
    torch.manual_seed(0)
    fast = cls(audio_dim=A, hidden=32, grid=SMALL_GRID, **kw)
    randomise_last_layers(fast)
    randomise_grids(fast)
    ref = cls(audio_dim=A, hidden=32, grid=SMALL_GRID, **kw)
    ref.load_state_dict(fast.state_dict())
    ref.fused = False
    return fast, ref


def _run(m, x, args, kwargs):
    x = x.clone().requires_grad_(True)
    out = m(x, *args, **kwargs)
    loss = (out.x_canonical**2).sum() + sum(v.sum() for v in out.maps.values())
    grads = torch.autograd.grad(loss, [x, *m.parameters()], allow_unused=True)
    return out, grads


def _assert_same(fast, ref, x, args, kwargs=None, tol=1e-5):
    kwargs = kwargs or {}
    (a, ga), (b, gb) = _run(fast, x, args, kwargs), _run(ref, x, args, kwargs)
    assert a.dx_face.abs().max() > 1e-3  # a trained-like field: the offsets are not zero
    for name in ("x_canonical", "dx_face", "dx_torso"):
        torch.testing.assert_close(getattr(a, name), getattr(b, name), atol=tol, rtol=tol)
    assert a.maps.keys() == b.maps.keys()
    for k in a.maps:
        torch.testing.assert_close(a.maps[k], b.maps[k], atol=tol, rtol=tol)
    for g1, g2 in zip(ga, gb):  # None: a layer ID-AKT's last weights replace, on both paths
        assert (g1 is None) == (g2 is None)
        if g1 is not None:
            torch.testing.assert_close(g1, g2, atol=tol, rtol=1e-4)


@pytest.mark.parametrize("per_point", [False, True])
@pytest.mark.parametrize("torso,shared", [(True, True), (True, False), (False, True)])
def test_rsdf_fast_path_matches_its_reference_twin(per_point, torso, shared):
    fast, ref = _twins(RSDF, torso=torso, shared_encoding=shared)
    x = points()
    F_a, F_e, F_h = signals()
    if per_point:  # occupancy refreshes: one frame's signals per point
        g = torch.Generator().manual_seed(3)
        F_a, F_e = torch.randn(64, A, generator=g), torch.rand(64, 1, generator=g)
        F_h = torch.randn(64, 6, generator=g)
    _assert_same(fast, ref, x, (F_a, F_e, F_h if torso else None))


def test_rsdf_fast_path_with_idakt_inputs_and_float64():
    fast, ref = _twins(RSDF, id_dim=5)
    x = points()
    F_a, F_e, F_h = signals()
    g = torch.Generator().manual_seed(4)
    F_id = torch.randn(1, 5, generator=g)
    last = {"face": torch.randn(3, 32, generator=g) * 0.1,
            "torso": torch.randn(3, 32, generator=g) * 0.1}  # fmt: skip
    _assert_same(fast, ref, x, (F_a, F_e, F_h, F_id, last))
    fast, ref = fast.double(), ref.double()
    args = (F_a.double(), F_e.double(), F_h.double(), F_id.double(), {
        k: v.double() for k, v in last.items()})  # fmt: skip
    _assert_same(fast, ref, x.double(), args, tol=1e-12)


def test_rsdf_fast_path_without_maps_and_its_errors():
    fast, ref = _twins(RSDF)
    x = points()
    F_a, F_e, F_h = signals()
    with torch.no_grad():
        a, b = fast(x, F_a, F_e, F_h, maps=False), ref(x, F_a, F_e, F_h, maps=False)
    assert a.maps == {} and torch.allclose(a.x_canonical, b.x_canonical, atol=1e-6)
    for m in (fast, ref):  # the same errors on both paths
        with pytest.raises(ValueError, match="F_h .head pose. is required"):
            m(x, F_a, F_e, None)
        with pytest.raises(ValueError, match=r"F_a: expected \[1, 8\] or \[64, 8\]"):
            m(x, F_a[:, :3], F_e, F_h)
        with pytest.raises(ValueError, match="F_id given to a field built with id_dim=0"):
            m(x, F_a, F_e, F_h, torch.zeros(1, 2))


@pytest.mark.parametrize("fused", [True, False])
def test_both_paths_are_the_identity_at_initialisation(fused):
    torch.manual_seed(0)
    for m in (RSDF(audio_dim=A, hidden=32, grid=SMALL_GRID, id_dim=3),
              JointDeformation(audio_dim=A, hidden=32, grid=SMALL_GRID)):  # fmt: skip
        m.fused = fused
        x = points()
        F_a, F_e, F_h = signals()
        extra = (torch.ones(1, 3),) if isinstance(m, RSDF) else ()
        out = m(x, F_a, F_e, F_h, *extra)
        assert torch.equal(out.x_canonical, x) and not out.dx_face.any()


@pytest.mark.parametrize("per_point", [False, True])
def test_joint_deformation_fast_path_matches_its_reference_twin(per_point):
    fast, ref = _twins(JointDeformation)
    x = points()
    F_a, F_e, F_h = signals()
    if per_point:
        F_a = torch.randn(64, A, generator=torch.Generator().manual_seed(5))
    _assert_same(fast, ref, x, (F_a, F_e, F_h))


def _frame_or_point_signals(per_point: bool):
    """One frame's F_a, F_e, F_h, or one frame's per point (as occupancy refreshes feed)."""
    if not per_point:
        return signals()
    g = torch.Generator().manual_seed(3)
    return (
        torch.randn(64, A, generator=g),
        torch.rand(64, 1, generator=g),
        torch.randn(64, 6, generator=g),
    )


@pytest.mark.parametrize("per_point", [False, True])
def test_rsdf_without_the_cascade_matches_its_twin_and_cuts_the_face_out_of_the_torso(per_point):
    """torso_cascade=False: both paths agree (values and gradients), Δx_torso no longer moves
    with the face's signals (F_a, F_e) while Δx_face still does; with the cascade it moves."""
    fast, ref = _twins(RSDF, torso_cascade=False)
    x = points()
    F_a, F_e, F_h = _frame_or_point_signals(per_point)
    _assert_same(fast, ref, x, (F_a, F_e, F_h))
    cascade, _ = _twins(RSDF)
    cascade.load_state_dict(fast.state_dict())  # the same parameters: checkpoints load across
    with torch.no_grad():
        for m in (fast, ref, cascade):
            a, b = m(x, F_a, F_e, F_h), m(x, F_a + 1.0, 1.0 - F_e, F_h)
            assert (a.dx_face - b.dx_face).abs().max() > 1e-4
            moved = (a.dx_torso - b.dx_torso).abs().max()
            if m is cascade:
                assert moved > 1e-5
            else:
                assert moved == 0
        torch.testing.assert_close(
            fast(x, F_a, F_e, F_h).dx_face, cascade(x, F_a, F_e, F_h).dx_face
        )


def test_rsdf_torso_cascade_must_be_a_bool():
    with pytest.raises(ValueError, match="torso_cascade must be True or False"):
        RSDF(audio_dim=A, hidden=32, grid=SMALL_GRID, torso_cascade="no")


@pytest.mark.parametrize("per_point", [False, True])
def test_rsdf_pose_norm_feeds_the_standardised_pose_on_both_paths(per_point):
    """pose_norm=True: identity until fit_pose (the buffers start at 0 and 1); after it the
    fields see (F_h - mean) / std of the poses fitted, on the fast path and the reference twin
    alike, exactly as a model without the option fed the standardised pose; a second fit keeps
    the first scale; the buffers travel with the weights; the offsets are zero at init."""
    fast, ref = _twins(RSDF, pose_norm=True)
    x = points()
    F_a, F_e, F_h = _frame_or_point_signals(per_point)
    F_h = F_h * 0.05 + 0.9  # a pose's scale: small changes around a distance
    plain, _ = _twins(RSDF)
    plain.load_state_dict({k: v for k, v in fast.state_dict().items() if "pose_" not in k})
    with torch.no_grad():  # not fitted: the pose as given
        torch.testing.assert_close(fast(x, F_a, F_e, F_h).dx_torso,
                                   plain(x, F_a, F_e, F_h).dx_torso)  # fmt: skip
    poses = torch.randn(40, 6, generator=torch.Generator().manual_seed(9)) * 0.05
    poses[:, 5] = 0.93  # a constant dimension: centred, divided by the floor, not by 0
    assert fast.fit_pose(poses) and ref.fit_pose(poses)
    assert not fast.fit_pose(poses * 3)  # once
    mean, std = poses.mean(0), poses.std(0).clamp_min(RSDF.POSE_SCALE_FLOOR)
    torch.testing.assert_close(fast.pose_center, mean)
    assert fast.pose_scale[5] == RSDF.POSE_SCALE_FLOOR
    _assert_same(fast, ref, x, (F_a, F_e, F_h))
    with torch.no_grad():
        torch.testing.assert_close(fast(x, F_a, F_e, F_h).dx_torso,
                                   plain(x, F_a, F_e, (F_h - mean) / std).dx_torso)  # fmt: skip
    again, _ = _twins(RSDF, pose_norm=True)
    again.load_state_dict(fast.state_dict())
    assert bool(again.pose_fitted) and not again.fit_pose(poses * 3)
    torch.testing.assert_close(again.pose_scale, std)
    torch.manual_seed(0)
    fresh = RSDF(audio_dim=A, hidden=32, grid=SMALL_GRID, pose_norm=True)
    fresh.fit_pose(poses)
    with torch.no_grad():
        out = fresh(x, F_a, F_e, F_h)
    assert out.dx_face.abs().max() == 0 and out.dx_torso.abs().max() == 0


def test_rsdf_pose_norm_refuses_bad_values_and_poses():
    with pytest.raises(ValueError, match="pose_norm must be True or False"):
        RSDF(audio_dim=A, hidden=32, grid=SMALL_GRID, pose_norm=1)
    m = RSDF(audio_dim=A, hidden=32, grid=SMALL_GRID, pose_norm=True)
    with pytest.raises(ValueError, match="at least 2 finite head poses"):
        m.fit_pose(torch.zeros(1, 6))
    with pytest.raises(ValueError, match="at least 2 finite head poses"):
        m.fit_pose(torch.full((3, 6), float("nan")))
    assert not RSDF(audio_dim=A, hidden=32, grid=SMALL_GRID).fit_pose(torch.zeros(4, 6))


needs_onednn = pytest.mark.skipif(
    layers._POINTWISE is None, reason="this torch has no oneDNN linear with a fused post-op"
)


@needs_onednn
@pytest.mark.parametrize(
    "torso,shared,cascade",
    [(True, True, True), (True, False, True), (False, True, True), (True, True, False)],
)
def test_rsdf_inference_calls_match_the_reference_twin(torso, shared, cascade):
    """Where no gradient is recorded, the fast path runs as fused oneDNN calls
    (rsdf_offsets_inference): the same offsets and maps as the reference twin, with ID-AKT's
    F_id and last layers too, and the same values when called with gradients on."""
    kw = dict(torso=torso, shared_encoding=shared, torso_cascade=cascade, id_dim=5)
    fast, ref = _twins(RSDF, **kw)
    x = points()
    F_a, F_e, F_h = signals()
    g = torch.Generator().manual_seed(4)
    F_id = torch.randn(1, 5, generator=g)
    last = {"face": torch.randn(3, 32, generator=g) * 0.1}
    if torso:
        last["torso"] = torch.randn(3, 32, generator=g) * 0.1
    args = (x, F_a, F_e, F_h if torso else None, F_id, last)
    with torch.no_grad():
        assert fused_linear_usable(x, *fast.parameters())
        a, b = fast(*args), ref(*args)
    assert a.dx_face.abs().max() > 1e-3
    for name in ("x_canonical", "dx_face", "dx_torso"):
        torch.testing.assert_close(getattr(a, name), getattr(b, name), atol=1e-5, rtol=1e-5)
    assert a.maps.keys() == b.maps.keys()
    for k in a.maps:
        torch.testing.assert_close(a.maps[k], b.maps[k], atol=1e-5, rtol=1e-5)
    inside = inside_box(x, fast.bound).to(x.dtype)[:, None]
    dx_face, dx_torso, _ = rsdf_offsets_inference(fast, x, inside, *args[1:])
    torch.testing.assert_close(dx_face.detach(), b.dx_face, atol=1e-5, rtol=1e-5)
    if torso:
        torch.testing.assert_close(dx_torso.detach(), b.dx_torso, atol=1e-5, rtol=1e-5)


@needs_onednn
def test_rsdf_inference_calls_in_bfloat16_stay_close_and_keep_the_identity_at_init():
    fast, ref = _twins(RSDF)
    x = points()
    F_a, F_e, F_h = signals()
    with torch.no_grad():
        with torch.autocast("cpu", dtype=torch.bfloat16):
            a = fast(x, F_a, F_e, F_h, maps=False)
        b = ref(x, F_a, F_e, F_h, maps=False)
    assert a.x_canonical.dtype == torch.float32
    err = (a.x_canonical - b.x_canonical).abs().max()
    assert 0 < err < 0.02 * b.dx_face.abs().max() + 1e-3
    torch.manual_seed(0)
    fresh = RSDF(audio_dim=A, hidden=32, grid=SMALL_GRID, id_dim=3)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        out = fresh(x, F_a, F_e, F_h, torch.ones(1, 3))
    assert torch.equal(out.x_canonical, x) and not out.dx_face.any() and not out.dx_torso.any()
