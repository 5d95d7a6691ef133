"""ID-AKT module core: shapes, identity at init, learning from zero, freeze, config, weights."""

from __future__ import annotations

import json

import pytest
import torch

from lokitalk_plugins.idakt.encoder import IDEncoder
from lokitalk_plugins.idakt.frozen import FrozenIdentity
from lokitalk_plugins.idakt.hyper import HyperLinear, apply_weight
from lokitalk_plugins.idakt.module import IDAKT, IdentityOutputs

HYPER = {"face": (12, 3), "torso": (10, 3)}
DIMS = dict(dynamic_dim=6, appearance_dim=4, geometry_dim=5, offset_dim=7)
CODES = ("dynamic", "appearance", "geometry", "offset_code")


def make(**kw) -> IDAKT:
    torch.manual_seed(0)
    args = dict(hyper_layers=HYPER, feature_dim=16, offset_hidden=16, **DIMS)
    args["encoder"] = dict(width=8, num_blocks=3, norm_groups=4)
    args.update(kw)
    return IDAKT(**args)


def image(b: int = 1, h: int = 32, w: int = 32, seed: int = 0) -> torch.Tensor:
    return torch.rand(b, 3, h, w, generator=torch.Generator().manual_seed(seed))


def points(n: int = 50) -> torch.Tensor:
    """Points in [-1.2, 1.2]^3: some outside the unit box."""
    return torch.rand(n, 3, generator=torch.Generator().manual_seed(3)) * 2.4 - 1.2


def combined_loss(m, out: IdentityOutputs, x: torch.Tensor) -> torch.Tensor:
    """A loss that wants every output (and the canonical offset) away from zero."""
    loss = (out.appearance - 1).square().sum() + (out.geometry + 0.5).square().sum()
    loss = loss + (out.offset_code - 0.3).square().sum() + (out.dynamic - 0.2).square().sum()
    for w in out.hyper.values():
        loss = loss + (w - 0.1).square().sum()
    return loss + (m.canonical_offset(x, out.offset_code) - 0.05).square().sum()


def trained(steps: int = 3) -> IDAKT:
    m, ref, x = make(), image(), points()
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    for _ in range(steps):
        opt.zero_grad()
        combined_loss(m, m(ref), x).backward()
        opt.step()
    return m


@pytest.mark.parametrize("b,h,w", [(1, 16, 16), (2, 24, 40)])
def test_output_shapes(b, h, w):
    m = make()
    out = m(image(b, h, w))
    assert out.dynamic.shape == (b, 6) and out.appearance.shape == (b, 4)
    assert out.geometry.shape == (b, 5) and out.offset_code.shape == (b, 7)
    assert set(out.hyper) == {"face", "torso"}
    lead = (b,) if b > 1 else ()
    assert out.hyper["face"].shape == (*lead, 3, 12)
    assert out.hyper["torso"].shape == (*lead, 3, 10)
    assert m.canonical_offset(points(), out.offset_code[:1]).shape == (50, 3)
    assert m.encoder(image(b, h, w)).shape == (b, 16)


def test_encoder_gradients_flow_and_input_checks():
    m = make()
    m(image()).dynamic.square().sum().backward()
    for name, p in m.encoder.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert m.encoder.blocks[0].weight.grad.abs().sum() > 0
    with pytest.raises(ValueError):
        m(image(1, 8, 32))
    with pytest.raises(ValueError):
        m(torch.rand(1, 1, 32, 32))
    with pytest.raises(ValueError):
        m.freeze(image(2))


def test_identity_at_init_and_gradients_reach_zero_heads():
    m, x = make(), points()
    out = m(image())
    for k in ("appearance", "geometry", "offset_code"):
        assert not getattr(out, k).any(), k
    assert out.dynamic.abs().sum() > 0  # default-initialised head (documented choice)
    for w in out.hyper.values():
        assert not w.any()
    assert not m.canonical_offset(x, out.offset_code).any()
    assert not m.canonical_offset(x, torch.randn(1, 7)).any()
    combined_loss(m, out, x).backward()
    for k in ("appearance", "geometry", "offset_code"):
        assert m.heads[k].weight.grad.abs().sum() > 0, k
        assert m.heads[k].bias.grad.abs().sum() > 0, k
    for n, h in m.hyper.items():
        assert h.out.weight.grad.abs().sum() > 0 and h.out.bias.grad.abs().sum() > 0, n
    assert m.offset_field.mlp.net[-1].weight.grad.abs().sum() > 0


def test_one_step_changes_appearance():
    m, ref = make(), image()
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    (m(ref).appearance - 1).square().sum().backward()
    opt.step()
    app = m(ref).appearance
    assert app.abs().min() > 0
    assert (app - 1).square().sum() < 4  # closer to the target than the initial zeros


def test_canonical_offset_after_training_is_zero_only_outside():
    m, x = trained(), points()
    code = m(image()).offset_code
    dx = m.canonical_offset(x, code)
    inside = (x.abs() <= 1).all(-1)
    assert 0 < inside.sum() < len(x)
    assert not dx[~inside].any()
    assert (dx[inside].norm(dim=-1) > 0).all()
    assert torch.allclose(m.canonical_offset(x, code.expand(len(x), -1)), dx)


def test_freeze_matches_idakt_and_drops_encoder():
    m, ref, x = trained(), image(), points()
    frozen = m.freeze(ref)
    assert isinstance(frozen, FrozenIdentity)
    ref_out, out = m(ref), frozen(image(seed=5))  # the reference is ignored after freezing
    for k in CODES:
        assert torch.allclose(getattr(out, k), getattr(ref_out, k)), k
        assert getattr(out, k).abs().sum() > 0, k
    assert set(out.hyper) == set(ref_out.hyper)
    for n in out.hyper:
        assert torch.allclose(out.hyper[n], ref_out.hyper[n]), n
    assert torch.allclose(
        frozen.canonical_offset(x, out.offset_code), m.canonical_offset(x, ref_out.offset_code)
    )
    names = [n for n, _ in frozen.named_parameters()]
    assert not [n for n in names if n.startswith(("encoder", "heads"))]
    emb = ["dynamic", "appearance", "geometry", "offset_code", "hyper.face", "hyper.torso"]
    assert sorted(frozen.embedding_names()) == sorted(emb)
    assert sorted(set(names) - set(emb)) == sorted(
        "offset_field." + n for n, _ in m.offset_field.named_parameters()
    )
    assert [p.data_ptr() for p in frozen.embedding_parameters()] == [
        dict(frozen.named_parameters())[n].data_ptr() for n in frozen.embedding_names()
    ]
    assert m.embedding_names() == [] and m.embedding_parameters() == []
    # a copy: training the frozen field leaves the shared one alone
    with torch.no_grad():
        frozen.offset_field.mlp.net[-1].weight.add_(1.0)
    assert not torch.allclose(
        frozen.offset_field.mlp.net[-1].weight, m.offset_field.mlp.net[-1].weight
    )


def test_gradients_reach_frozen_parameters():
    m, x = trained(), points()
    m.zero_grad(set_to_none=True)
    frozen = m.freeze(image())
    out = frozen()
    combined_loss(frozen, out, x).backward()
    for name, p in frozen.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert all(p.grad is None for p in m.parameters())


def test_config_roundtrip_and_strict_load():
    m = trained(1)
    cfg = json.loads(json.dumps(m.config()))
    assert cfg == m.config()
    m2 = IDAKT(**cfg)
    m2.load_state_dict(m.state_dict(), strict=True)
    ref = image()
    a, b = m(ref), m2(ref)
    for k in CODES:
        assert torch.equal(getattr(a, k), getattr(b, k)), k
    frozen = m.freeze(ref)
    fcfg = json.loads(json.dumps(frozen.config()))
    f2 = FrozenIdentity(**fcfg)
    f2.load_state_dict(frozen.state_dict(), strict=True)
    assert torch.equal(f2().hyper["face"], frozen().hyper["face"])
    with pytest.raises(ValueError):
        IDAKT(**{**cfg, "encoder": {**cfg["encoder"], "feature_dim": 99}})
    with pytest.raises(ValueError):
        IDAKT(**{**cfg, "hyper_layers": {"a.b": [4, 3]}})


def test_float64_freeze_keeps_dtype():
    m = make().double()
    frozen = m.freeze(image().double())
    assert all(p.dtype == torch.float64 for p in frozen.parameters())
    assert frozen.canonical_offset(points().double(), frozen.offset_code).dtype == torch.float64


def test_apply_weight_and_hyper_linear():
    h = torch.tensor([[1.0, 2.0], [3.0, 4.0], [0.0, -1.0]])
    w = torch.tensor([[1.0, 0.0], [2.0, 1.0], [-1.0, 3.0]])  # [out 3, in 2]
    expected = torch.tensor([[1.0, 4.0, 5.0], [3.0, 10.0, 9.0], [0.0, -1.0, -3.0]])
    assert torch.equal(apply_weight(h, w), expected)
    assert torch.equal(apply_weight(h[None], w)[0], expected)
    with pytest.raises(ValueError):
        apply_weight(h, w.T)
    torch.manual_seed(0)
    hyper = HyperLinear(5, 2, 3)
    f = torch.randn(4, 5)
    assert hyper(f).shape == (4, 3, 2) and not hyper(f).any()
    with torch.no_grad():
        hyper.out.bias.copy_(torch.arange(6.0))
    assert torch.equal(hyper(f)[2], torch.arange(6.0).view(3, 2))  # row-major [out, in]


def test_encoder_without_norm():
    torch.manual_seed(0)
    enc = IDEncoder(width=4, num_blocks=2, feature_dim=8, norm_groups=0)
    assert enc(image(1, 16, 20)).shape == (1, 8)
    assert IDEncoder(**enc.config()).config() == enc.config()
