"""The Disentangling Head NeRF: L_dis's analytic value, the extractor's exact pairs and its
contrastive pre-training, the model's shapes, gradients and codes at init, a short training
run through the pipeline, and its one-line errors."""

from __future__ import annotations

import inspect
import math
import warnings

import pytest
import torch
from dhnerf_helpers import DIMS, extractor_bindings, make_model, short_run

from lokitalk_plugins.baselines.dhnerf import (
    CodeExtractor,
    CodeSizeError,
    centre_codes,
    pair_alignment,
    pair_info_nce,
    pair_masks,
    pretrain_extractor,
)
from lokitalk_plugins.data import TalkingHeadFolder
from lokitalk_plugins.data.studio import write_identity
from lokitalk_plugins.data.studio.factors import factor_bank, render_factors
from lokitalk_plugins.errors import UserError
from lokitalk_plugins.losses import CODE_NAMES, disentangle_loss
from lokitalk_plugins.pipeline import TalkingHeadSystem, TrainBatch, preflight


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = write_identity(tmp_path_factory.mktemp("studio") / "id", seconds=0.6, size=32)
    return TalkingHeadFolder(folder, background="bc", preload=True, progress=False)


@pytest.fixture(scope="module")
def bank():
    return factor_bank([1, 2, 3], expressions=4, lights=3, size=16)


def test_disentangle_loss_is_eq6():
    codes = {"id": torch.tensor([[1.0, 2.0]]), "ex": torch.tensor([[0.0, 3.0]])}
    refs = {"id": torch.tensor([[0.0, 0.0]]), "ex": torch.tensor([[0.0, 1.0]])}
    # λ_id ‖(1, 2)‖² + λ_ex ‖(0, 2)‖² = 2 * 5 + 0.5 * 4
    assert disentangle_loss(codes, refs, {"id": 2.0, "ex": 0.5}).item() == pytest.approx(12.0)
    assert disentangle_loss(codes, codes).item() == 0.0
    with pytest.raises(ValueError, match="C_ex"):
        disentangle_loss(codes, {"id": refs["id"], "ex": torch.zeros(1, 3)})


def test_factor_bank_pairs_are_exact(bank):
    assert bank.images.shape == (3 * 4 * 3, 16, 16, 3)
    masks = pair_masks(bank.identity, bank.expression, bank.light)
    pos, neg = masks["ex"]
    a = 0  # identity 0, expression 0, light 0
    assert set(bank.identity[pos[a]].tolist()) == {1, 2} and set(
        bank.expression[pos[a]].tolist()
    ) == {0}
    assert set(bank.identity[neg[a]].tolist()) == {0} and 0 not in bank.expression[neg[a]].tolist()
    # the same expression and light on two identities differ only by the person
    same = (bank.expression == 0) & (bank.light == 0)
    imgs = bank.images[same]
    assert imgs.shape[0] == 3 and (imgs[0] - imgs[1]).abs().mean() > 0.01


def test_factor_bank_poses_and_grid():
    base = factor_bank([1, 2], expressions=2, lights=2, size=16)
    # poses = 0 keeps the bank as it was: same draws, same images
    same = factor_bank([1, 2], expressions=2, lights=2, size=16, poses=0)
    assert torch.equal(base.images, same.images)
    posed = factor_bank([1, 2], expressions=2, lights=2, size=16, poses=8)
    # the factors and their indices are those of the unposed bank; only the head moves
    assert torch.equal(posed.expressions, base.expressions)
    assert torch.equal(posed.expression, base.expression) and torch.equal(posed.light, base.light)
    assert (posed.images - base.images).abs().amax(dim=(1, 2, 3)).gt(0.05).any()
    grid = factor_bank([1, 2], expressions=3, lights=2, size=16, grid=True)
    assert grid.expressions.shape == (27, 3) and len(grid.images) == 2 * 27 * 2
    levels = {round(v, 4) for v in grid.expressions.flatten().tolist()}
    assert levels == {0.0, 0.5, 1.0}
    # two grid expressions may differ in one factor only (lip width here)
    diff = (grid.expressions[:, None] != grid.expressions[None]).sum(-1)
    assert int((diff == 1).sum()) == 27 * 6
    with pytest.raises(ValueError, match="poses must be >= 0"):
        factor_bank([1], expressions=2, lights=2, size=16, poses=-1)
    with pytest.raises(ValueError, match="pose_frames: expected 1 indices"):
        render_factors(1, base.expressions[:1], torch.tensor([[0.0, 0.0, 1.0]]),
                       torch.ones(1), 16, pose_frames=[10**6])  # fmt: skip


def test_too_few_negatives_is_one_line(bank):
    masks = pair_masks(bank.identity, bank.expression, bank.light)
    codes = torch.randn(len(bank.identity), 4)
    with pytest.raises(ValueError, match="too few pairs.*N = 40") as err:
        pair_info_nce(codes, *masks["ex"], num_negatives=40)
    assert "\n" not in str(err.value)
    assert pair_info_nce(codes, *masks["ex"], num_negatives=3).ndim == 0


def test_hard_negatives_are_drawn_by_their_similarity():
    # two groups of three codes, +e1 and -e1: each anchor's positive and one negative lie in
    # its group (cos 1), its other negative in the other group (cos -1)
    codes = torch.tensor([[1.0, 0.0]] * 3 + [[-1.0, 0.0]] * 3)
    pos = torch.zeros(6, 6, dtype=torch.bool)
    neg = torch.zeros(6, 6, dtype=torch.bool)
    for g in (0, 3):
        a, b, c = g, g + 1, g + 2
        for anchor, p, n in ((a, b, c), (b, a, c), (c, a, b)):
            pos[anchor, p] = neg[anchor, n] = True
            neg[anchor, (anchor + 3) % 6] = True
    tau = 0.5
    same = math.log(2.0)  # logits (1, 1) / tau: the positive and the look-alike negative
    other = math.log1p(math.exp(-2.0 / tau))  # logits (1, -1) / tau
    for seed in range(5):
        g = torch.Generator().manual_seed(seed)
        hard = pair_info_nce(codes, pos, neg, num_negatives=1, tau=tau, generator=g,
                             hardness=50.0)  # fmt: skip
        assert hard.item() == pytest.approx(same, abs=1e-6)
    # uniform (hardness 0, the default): each anchor draws either; the mean lies between
    seen = set()
    for seed in range(20):
        g = torch.Generator().manual_seed(seed)
        loss = pair_info_nce(codes, pos, neg, num_negatives=1, tau=tau, generator=g).item()
        k = round((same - loss) / ((same - other) / 6))  # how many anchors drew the far one
        assert loss == pytest.approx(same - k * (same - other) / 6, abs=1e-6)
        seen.add(k)
    assert len(seen) > 2
    # hardness 0 draws exactly what the uniform draw does
    for seed in range(3):
        a = pair_info_nce(codes, pos, neg, 1, tau, torch.Generator().manual_seed(seed), 0.0)
        b = pair_info_nce(codes, pos, neg, 1, tau, torch.Generator().manual_seed(seed))
        assert a.item() == b.item()


def test_centre_codes_subtracts_each_groups_mean():
    codes = {"ex": torch.tensor([[1.0, 2.0], [3.0, 6.0], [10.0, 0.0]]),
             "id": torch.tensor([[5.0], [7.0], [9.0]])}  # fmt: skip
    got = centre_codes(codes, ("ex",), torch.tensor([0, 0, 1]))
    torch.testing.assert_close(got["ex"], torch.tensor([[-1.0, -2.0], [1.0, 2.0], [0.0, 0.0]]))
    assert got["id"] is codes["id"]  # a code not named is as given
    whole = centre_codes(codes, ("ex", "id"))  # no groups: one group, the clip
    torch.testing.assert_close(whole["id"], torch.tensor([[-2.0], [0.0], [2.0]]))
    torch.testing.assert_close(whole["ex"].mean(0), torch.zeros(2))


def test_relative_codes_are_centred_on_each_identity_in_pretraining(bank):
    """Pre-training reads a relative code less its identity's mean: the first step's loss
    (lr 0) is InfoNCE of the centred codes, drawn with the same generator."""
    torch.manual_seed(0)
    ex = CodeExtractor(**DIMS, size=16, width=8, relative="ex")
    assert ex.relative == ("ex",) and CodeExtractor(**DIMS).relative == ()
    [first] = pretrain_extractor(ex, bank, steps=1, lr=0.0, num_negatives=3, seed=4)
    masks = pair_masks(bank.identity, bank.expression, bank.light)
    with torch.no_grad():
        raw = ex(bank.images)

    def loss(codes):
        g = torch.Generator().manual_seed(4)
        return sum(float(pair_info_nce(codes[k], *masks[k], 3, 0.5, g)) for k in CODE_NAMES)

    centred = centre_codes(raw, ("ex",), bank.identity)
    assert first == pytest.approx(loss(centred), rel=1e-5)
    assert abs(loss(raw) - loss(centred)) > 1e-3  # the centring changes what InfoNCE sees
    for i in range(3):  # each identity's C_ex has mean 0
        assert centred["ex"][bank.identity == i].mean(0).abs().max() < 1e-5
    with pytest.raises(ValueError, match="relative must name") as err:
        CodeExtractor(**DIMS, relative=["lips"])
    assert "\n" not in str(err.value)


def test_expression_steps_fit_the_banks_expressions_before_the_pairs(bank):
    """expression_steps regress C̄_ex's first three numbers on the bank's expression
    parameters first (the first step's loss at lr 0 is that error exactly), then the
    contrastive steps follow; expression_weight adds weight x the fit to each of them."""
    from lokitalk_plugins.baselines.dhnerf.extractor import expression_fit

    def fresh(**kw):
        torch.manual_seed(0)
        return CodeExtractor(**DIMS, size=16, width=8, **kw)

    truth = bank.expressions[bank.expression]
    ex = fresh()
    with torch.no_grad():
        raw = ex(bank.images)
    want = float((raw["ex"][:, :3] - truth).pow(2).mean())
    hist = pretrain_extractor(ex, bank, steps=2, lr=0.0, num_negatives=3, expression_steps=3)
    assert len(hist) == 5 and hist[0] == pytest.approx(want, rel=1e-6)
    assert hist[2] == pytest.approx(want, rel=1e-6)  # lr 0: nothing moved
    # weight w adds w x the fit to the contrastive loss (same draws: same seed)
    plain = pretrain_extractor(fresh(), bank, steps=1, lr=0.0, num_negatives=3)
    heavy = pretrain_extractor(fresh(), bank, steps=1, lr=0.0, num_negatives=3,
                               expression_weight=2.0)  # fmt: skip
    assert heavy[0] - plain[0] == pytest.approx(2 * want, rel=1e-5)
    # relative: both sides centred on each identity
    rel = fresh(relative="ex")
    with torch.no_grad():
        got = float(expression_fit(centre_codes(rel(bank.images), ("ex",), bank.identity), bank,
                                   ("ex",)))  # fmt: skip
    c = centre_codes(raw, ("ex",), bank.identity)["ex"][:, :3]
    assert got == pytest.approx(float((c - (truth - truth.mean(0))).pow(2).mean()), rel=1e-5)
    # trained, the fit falls below the expressions' variance
    fitted = fresh()
    hist = pretrain_extractor(fitted, bank, steps=0, lr=3e-3, expression_steps=150)
    assert hist[-1] < 0.5 * float(truth.var(0, unbiased=False).mean()) < hist[0], hist[::30]
    with pytest.raises(ValueError, match="need ex_dim >= 3"):
        small = CodeExtractor(**(DIMS | dict(ex_dim=2)), size=16, width=8)
        pretrain_extractor(small, bank, steps=1, num_negatives=3, expression_steps=1)
    for kw in ({"expression_steps": -1}, {"expression_weight": -0.5}):
        with pytest.raises(ValueError, match=f"{next(iter(kw))} must be >= 0"):
            pretrain_extractor(fresh(), bank, steps=1, num_negatives=3, **kw)


def test_light_steps_fit_the_banks_lights_beside_the_expression_fit(bank):
    """light_steps regress C̄_ill's first four numbers on each image's light (direction,
    intensity) in the first steps, added to the expression fit where both run (the first
    step's loss at lr 0 is the sum of the two errors); light_weight adds weight x the fit to
    each contrastive step; light_steps 0 trains exactly as before the option."""
    from lokitalk_plugins.baselines.dhnerf.extractor import expression_fit, light_fit

    def fresh():
        torch.manual_seed(0)
        return CodeExtractor(**(DIMS | dict(ill_dim=4)), size=16, width=8)

    light = torch.cat([bank.light_dir, bank.light_intensity[:, None]], 1)[bank.light]
    assert light.shape == (len(bank.images), 4) and light.std(0).min() > 0  # 3 lights differ
    with torch.no_grad():
        raw = fresh()(bank.images)
    want = float((raw["ill"][:, :4] - light).pow(2).mean())
    ex = float(expression_fit(raw, bank))
    assert float(light_fit(raw, bank)) == pytest.approx(want, rel=1e-6)
    hist = pretrain_extractor(fresh(), bank, steps=1, lr=0.0, num_negatives=3,
                              expression_steps=1, light_steps=3)  # fmt: skip
    assert len(hist) == 4  # max(1, 3) fit steps, then the pairs
    assert hist[0] == pytest.approx(want + ex, rel=1e-5)  # both fits in the first step
    assert hist[1] == pytest.approx(want, rel=1e-5) == hist[2]  # the light fit alone after
    plain = pretrain_extractor(fresh(), bank, steps=1, lr=0.0, num_negatives=3)
    heavy = pretrain_extractor(fresh(), bank, steps=1, lr=0.0, num_negatives=3,
                               light_weight=3.0)  # fmt: skip
    assert heavy[0] - plain[0] == pytest.approx(3 * want, rel=1e-5)
    # light_steps 0: the weights of a pre-training without the option, bit for bit
    a, b = fresh(), fresh()
    pretrain_extractor(a, bank, steps=2, lr=1e-3, num_negatives=3, expression_steps=2)
    pretrain_extractor(b, bank, steps=2, lr=1e-3, num_negatives=3, expression_steps=2,
                       light_steps=0, light_weight=0.0)  # fmt: skip
    for k, v in a.state_dict().items():
        assert torch.equal(v, b.state_dict()[k]), k
    # trained, the fit falls well below the lights' variance
    fitted = fresh()
    hist = pretrain_extractor(fitted, bank, steps=0, lr=3e-3, light_steps=150)
    assert hist[-1] < 0.5 * float(light.var(0, unbiased=False).mean()) < hist[0], hist[::30]
    with pytest.raises(ValueError, match="need ill_dim >= 4"):
        small = CodeExtractor(**(DIMS | dict(ill_dim=3)), size=16, width=8)
        pretrain_extractor(small, bank, steps=1, num_negatives=3, light_weight=1.0)
    for kw in ({"light_steps": -1}, {"light_weight": -0.5}):
        with pytest.raises(ValueError, match=f"{next(iter(kw))} must be >= 0"):
            pretrain_extractor(fresh(), bank, steps=1, num_negatives=3, **kw)


def test_shifted_moves_each_image_by_its_own_offset_with_the_edges_repeated():
    from lokitalk_plugins.baselines.dhnerf.extractor import shifted

    images = torch.arange(2 * 5 * 6 * 1, dtype=torch.float32).reshape(2, 5, 6, 1)
    g = torch.Generator().manual_seed(3)
    state = g.get_state()
    assert shifted(images, 0, g) is images
    assert torch.equal(g.get_state(), state)  # nothing drawn
    got = shifted(images, 2, g)
    g.set_state(state)
    into = torch.full_like(images, -1.0)
    assert shifted(images, 2, g, into) is into and torch.equal(into, got)  # the same draws
    g.set_state(state)
    dy, dx = torch.randint(-2, 3, (2, 2), generator=g)
    assert got.shape == images.shape and bool((dy != 0).any() or (dx != 0).any())
    for b in range(2):
        for r in range(5):
            for c in range(6):  # row r of the result shows row r - dy (clamped), likewise columns
                src = images[b, min(max(r - int(dy[b]), 0), 4), min(max(c - int(dx[b]), 0), 5)]
                assert got[b, r, c] == src


def test_pretraining_with_a_shift_sees_moved_images_drawn_from_its_seed(bank):
    """shift 0 is the unshifted run (same losses); shift > 0 changes what each step sees, the
    same way for the same seed; outside [0, 0.5) it is refused."""

    def run(**kw):
        torch.manual_seed(0)
        ex = CodeExtractor(**DIMS, size=16, width=8)
        return pretrain_extractor(ex, bank, steps=3, lr=1e-3, num_negatives=3, seed=2, **kw)

    plain = run()
    assert run(shift=0.0) == plain
    moved = run(shift=0.2)
    assert moved != plain and run(shift=0.2) == moved
    for bad in (-0.1, 0.5):
        with pytest.raises(ValueError, match="shift must be in \\[0, 0.5\\)"):
            run(shift=bad)


def test_the_gins_recipe_pretrains_the_same_weights_twice(tmp_path):
    """configs/dhnerf.gin's extractor recipe (C_ex relative, the expression fit, shifted bank
    images) pre-trains the same weights from the same seed at the same thread count (the
    tables' extractor must be reproducible); another seed gives other weights. The count is
    fixed (``threads``, 2 by default, the process's restored after) and recorded in the file;
    a count that is not a whole number >= 1 is refused in one line naming the option."""
    from lokitalk_plugins.baselines.dhnerf import studio_code_extractor
    from lokitalk_plugins.baselines.dhnerf.pretrain import extractor_file_machine
    from lokitalk_plugins.train.runtime import cpu_model

    def built(name, seed=0, **kw):
        return studio_code_extractor(
            path=str(tmp_path / name), identities=3, expressions=4, lights=4, render_size=16,
            steps=3, num_negatives=3, grid=False, poses=0, relative=["ex"], expression_steps=3,
            expression_weight=10.0, shift=0.04, seed=seed, progress=False, size=16, width=8,
            **kw,
        )  # fmt: skip

    before = torch.get_num_threads()
    torch.set_num_threads(1)  # the pre-training's count is its own, not the process's
    try:
        a, b, c = (built("a.pt").state_dict(), built("b.pt").state_dict(),
                   built("c.pt", 1).state_dict())  # fmt: skip
        assert torch.get_num_threads() == 1  # restored
        one = [built(f"{n}.pt", threads=1).state_dict() for n in ("d", "e")]
        built("p.pt", threads=None)
    finally:
        torch.set_num_threads(before)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], c[k]) for k in a)
    assert all(torch.equal(one[0][k], one[1][k]) for k in a)
    recorded = {n: extractor_file_machine(tmp_path / f"{n}.pt") for n in ("a", "d", "p")}
    assert recorded["a"]["threads"] == 2  # the default, recorded
    assert recorded["d"]["threads"] == 1
    assert recorded["p"]["threads"] == 1  # None: the process's count then
    assert {r["cpu"] for r in recorded.values()} == {cpu_model()}  # and the processor
    for bad in (0, "2", True, 1.5):
        with pytest.raises(UserError, match=r"studio_code_extractor.threads = .*: give a whole "
                           "number >= 1, or None") as err:  # fmt: skip
            built("x.pt", threads=bad)
        assert "\n" not in str(err.value)
    assert not (tmp_path / "x.pt").exists()


def test_contrastive_pretraining_lowers_its_loss(bank):
    torch.manual_seed(0)
    ex = CodeExtractor(**DIMS, size=16, width=8)
    history = pretrain_extractor(ex, bank, steps=60, lr=3e-3, num_negatives=3)
    first, last = sum(history[:5]) / 5, sum(history[-5:]) / 5
    assert last < 0.8 * first, (first, last)


def test_pair_alignment_is_the_mean_squared_distance_to_the_positives():
    # anchors 0, 1 share a direction; anchor 2 is orthogonal to both; 3 has no positive
    codes = torch.tensor([[1.0, 0.0], [3.0, 0.0], [0.0, 2.0], [5.0, 5.0]], requires_grad=True)
    pos = torch.zeros(4, 4, dtype=torch.bool)
    pos[0, 1] = pos[1, 0] = True  # cos 1: distance 0
    pos[2, 0] = pos[2, 1] = True  # cos 0 with both: 2 - 2 * 0 = 2
    got = pair_alignment(codes, pos)
    assert torch.allclose(got, torch.tensor((0.0 + 0.0 + 2.0) / 3))
    got.backward()
    assert codes.grad[2].abs().sum() > 0 and codes.grad[3].abs().sum() == 0
    assert pair_alignment(codes, torch.zeros(4, 4, dtype=torch.bool)).item() == 0.0


def test_invariance_pulls_each_code_towards_its_positives(bank):
    masks = pair_masks(bank.identity, bank.expression, bank.light)

    def trained(invariance):
        torch.manual_seed(0)
        ex = CodeExtractor(**DIMS, size=16, width=8)
        pretrain_extractor(ex, bank, steps=40, lr=3e-3, num_negatives=3, invariance=invariance)
        with torch.no_grad():
            codes = ex(bank.images)
        return sum(float(pair_alignment(codes[k], masks[k][0])) for k in masks)

    plain, pulled = trained(0.0), trained(4.0)
    assert pulled < 0.7 * plain, (plain, pulled)
    ex = CodeExtractor(**DIMS, size=16, width=8)
    for kw, msg in (({"invariance": -1.0}, "invariance must be >= 0"), ({"tau": 0.0}, "tau"),
                    ({"hardness": -1.0}, "hardness must be >= 0")):  # fmt: skip
        with pytest.raises(ValueError, match=msg):
            pretrain_extractor(ex, bank, steps=1, num_negatives=3, **kw)


def test_studio_code_extractor_refuses_bad_training_options_before_rendering(tmp_path):
    from lokitalk_plugins.baselines.dhnerf import studio_code_extractor

    for name, value in (("invariance", -0.5), ("tau", 0), ("tau", "warm"), ("invariance", None),
                        ("hardness", -2.0), ("expression_steps", -1), ("light_steps", -1),
                        ("light_weight", -1.0),
                        ("expression_weight", "much"), ("shift", 0.5), ("shift", -0.1),
                        ("shift", "far")):  # fmt: skip
        with pytest.raises(UserError, match=f"studio_code_extractor.{name} = ") as err:
            studio_code_extractor(path=str(tmp_path / "x.pt"), **{name: value})
        assert "\n" not in str(err.value)
    assert not (tmp_path / "x.pt").exists()


def test_a_relative_code_starts_less_its_mean_over_the_clip(data):
    torch.manual_seed(1)
    ex = CodeExtractor(**DIMS, size=16, width=8, relative=["ex"]).eval()
    model = make_model(data, ex, shared_codes=())
    [cb] = model.training_callbacks()
    cb.fn(data)
    n = len(data)
    with torch.no_grad():
        raw = ex(torch.stack([data[i].image for i in range(n)]))
    want = raw["ex"] - raw["ex"].mean(0)
    for name in ("codes_ex", "reference_ex"):
        torch.testing.assert_close(getattr(model, name)[:n], want, atol=1e-6, rtol=1e-5)
    assert raw["ex"].mean(0).abs().max() > 1e-3  # the centring moved them
    torch.testing.assert_close(model.codes_id[:n], raw["id"], atol=1e-6, rtol=1e-5)  # as read


def test_shapes_gradients_and_codes_at_init(data):
    ex = CodeExtractor(**DIMS, size=16, width=8)
    model = make_model(data, ex)
    preflight(model)
    [cb] = model.training_callbacks()
    cb.fn(data)
    # at init every code is its reference: L_dis is 0; codes are the extractor's
    with torch.no_grad():
        want = ex(data[3].image[None])
    assert torch.allclose(model.codes(3)["ex"], want["ex"], atol=1e-6)
    batch = TrainBatch(rays=None, frame=data[3])
    assert model.loss_terms(None, batch, 0.0)["dhnerf_dis"].item() == 0.0
    code = model.individual_code(3)
    assert code.shape == (1, 13) and code[0, -1] == 1  # [C_id, C_ex, C_al, C_ill, w]
    x, d = torch.rand(50, 3) * 0.6 - 0.3, torch.nn.functional.normalize(torch.randn(50, 3), dim=-1)
    enc_a = model.encode_audio(data[3].audio[None].float())
    out = model(x, d, enc_a, torch.zeros(1, 1), code)
    assert out["sigma"].shape == (50,) and out["color"].shape == (50, 3)
    assert out["geo_feat"].shape == (50, 64)
    out["color"].sum().backward()
    assert model.codes_ill.grad[3].abs().sum() > 0 and model.codes_ill.grad[2].abs().sum() == 0
    # C_al is one code for the clip (shared_codes' default): every row gets the same gradient
    assert model.shared_codes == ("id", "al")
    assert model.codes_al.grad[2].abs().sum() > 0
    assert torch.equal(model.codes_al.grad[2], model.codes_al.grad[3])
    assert all(p.grad is None for p in ex.parameters())  # the extractor is frozen
    groups = model.param_groups("head")
    trained = {id(p) for ps in groups.values() for p in ps}
    assert id(model.codes_ex) in trained and not trained & {id(p) for p in ex.parameters()}
    # a later stage keeps the trained codes
    with torch.no_grad():
        model.codes_ex[3] += 1
    cb.fn(data)
    assert torch.allclose(model.codes(3)["ex"], want["ex"] + 1, atol=1e-6)


def test_shared_codes_are_one_code_for_the_clip_and_stay_one(data):
    """C_id and C_al (the default shared_codes) start as the extractor's mean over the
    training frames in every row, reach L_dis as that mean, and stay equal rows through
    training; C_ex and C_ill stay per frame. shared_codes=() gives every frame its own."""
    n = len(data)
    ex = CodeExtractor(**DIMS, size=16, width=8)
    with torch.no_grad():
        want = ex(torch.stack([data[i].image for i in range(n)]))
    model = make_model(data, ex)
    model.init_codes(data)
    for k in ("id", "al"):
        mean = want[k].mean(0)
        for name in ("codes", "reference"):
            assert torch.allclose(getattr(model, f"{name}_{k}")[:n], mean.expand(n, -1), atol=1e-6)
        assert torch.allclose(model.codes(5)[k][0], mean, atol=1e-6)
    assert torch.allclose(model.codes(5)["ex"][0], want["ex"][5], atol=1e-6)
    with torch.no_grad():  # L_dis of a shared code is the distance of the rows' mean
        model.codes_id[:n] += 0.5
    batch = TrainBatch(rays=None, frame=data[3])
    dis = model.loss_terms(None, batch, 0.0)["dhnerf_dis"].item()
    weights = model.dis_weights or {}
    assert dis == pytest.approx(model.lambda_dis * weights.get("id", 1.0) * 0.25 * DIMS["id_dim"],
                                rel=1e-4)  # fmt: skip
    system = TalkingHeadSystem(model, num_rays=128, lr_mlp=2e-3)
    system.set_stage("head")
    short_run(system, data, 6)
    for k in ("id", "al"):
        rows = getattr(model, f"codes_{k}")[:n].detach()
        assert torch.equal(rows, rows[:1].expand(n, -1))  # trained, still one code
    assert not torch.allclose(model.codes_id[0], want["id"].mean(0) + 0.5)
    assert not torch.equal(model.codes_ex[0], model.codes_ex[1])
    own = make_model(data, ex, shared_codes=())
    own.init_codes(data)
    assert own.shared_codes == ()
    assert torch.allclose(own.codes(5)["id"][0], want["id"][5], atol=1e-6)
    # a per-frame checkpoint read by a sharing model: one warning naming the binding
    with pytest.warns(UserWarning, match=r"own C_id, C_al .*DHNeRF.shared_codes = \(\)"):
        make_model(data, ex).load_state_dict(own.state_dict())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        make_model(data, ex).load_state_dict(model.state_dict())  # shared: no warning
        make_model(data, ex, shared_codes=()).load_state_dict(own.state_dict())
    with pytest.raises(UserError, match="DHNeRF.shared_codes must name some of") as err:
        make_model(data, ex, shared_codes=("id", "identity"))
    assert "\n" not in str(err.value)


def test_without_lip_sync_the_audio_changes_nothing(data):
    model = make_model(data, lip_sync=False)
    x, d = torch.rand(20, 3) * 0.5 - 0.25, torch.nn.functional.normalize(torch.ones(20, 3), dim=-1)
    code = model.individual_code(0)
    a = model(x, d, torch.randn(1, 32), None, code)["sigma"]
    b = model(x, d, torch.randn(1, 32), None, code)["sigma"]
    assert torch.equal(a, b)


def test_f_lip_starts_at_zero_weight_and_learns(data):
    """lip_init 'zero': at initialisation the density does not read F_lip (the field is the
    model without the lip-sync input) yet F_lip's weights get a gradient; 'default' reads it
    from the first step; another value is a one-line error."""
    x, d = torch.rand(30, 3) * 0.6 - 0.3, torch.nn.functional.normalize(torch.ones(30, 3), dim=-1)
    a, b = torch.randn(1, 32), torch.randn(1, 32)
    model = make_model(data)
    assert model.lip_init == "zero"
    code = model.individual_code(0)
    out_a, out_b = model(x, d, a, None, code), model(x, d, b, None, code)
    assert torch.equal(out_a["sigma"], out_b["sigma"])
    assert torch.equal(out_a["geo_feat"], out_b["geo_feat"])
    first = model.sigma_net.net[0].weight
    (out_a["sigma"].sum() + out_a["geo_feat"].sum()).backward()
    assert first[:, -32:].abs().sum() == 0 and first.grad[:, -32:].abs().sum() > 0
    assert first[:, :-32].abs().sum() > 0
    old = make_model(data, lip_init="default")
    assert not torch.equal(old(x, d, a, None, code)["sigma"], old(x, d, b, None, code)["sigma"])
    with pytest.raises(UserError, match="DHNeRF.lip_init must be one of") as err:
        make_model(data, lip_init="small")
    assert "\n" not in str(err.value)


def test_bad_input_errors(data):
    ex = CodeExtractor(**DIMS, size=16, width=8)
    model = make_model(data, ex)
    with pytest.raises(UserError, match="shorter than the 8-frame audio window") as err:
        model.init_codes([data[i] for i in range(5)])
    assert "\n" not in str(err.value)
    with pytest.raises(UserError, match="ex_dim.*extractor"):
        make_model(data, ex, ex_dim=6)
    other = make_model(data, None, ex_dim=6)
    with pytest.raises(CodeSizeError, match=r"C_ex are \[\d+, 6\].*ex_dim") as err:
        model.load_state_dict(other.state_dict())
    assert "\n" not in str(err.value)
    old = {k: v for k, v in model.state_dict().items() if not k.startswith("expression_net")}
    with pytest.raises(CodeSizeError, match="no expression_net.*train the model again") as err:
        model.load_state_dict(old)
    assert "\n" not in str(err.value)


def test_a_short_training_run_lowers_the_loss(data):
    ex = CodeExtractor(**DIMS, size=16, width=8)
    system = TalkingHeadSystem(make_model(data, ex), num_rays=256, lr_mlp=2e-3)
    system.prepare(data)
    system.set_stage("head")

    def held_out():
        with torch.no_grad():
            g = torch.Generator().manual_seed(7)
            return system.training_step(data[3], 0, 1, g).logs["loss"]

    before = held_out()
    short_run(system, data, 40)
    logs = system.training_step(data[2], 0, 1, torch.Generator().manual_seed(1)).logs
    assert {"dhnerf_dis", "dhnerf_ex_audio"} <= set(logs)
    after = held_out()
    assert after < 0.8 * before, (before, after)


@pytest.mark.slow
def test_lokitalk_train_with_dhnerf_gin_keeps_the_extractor_file(data, tmp_path):
    import lokitalk_plugins.registration  # noqa: F401
    from lokitalk_plugins.commands.workspace import load_system, write_run
    from lokitalk_plugins.train.run import train_from_config

    path = tmp_path / "extractor.pt"
    files = ["configs/dhnerf.gin", "configs/velocity.gin"]
    short = ["head/Trainer.steps = 3", "Trainer.val_every = 3", "DHNeRF.grid_size = 32",
             "DHNeRF.ind_num = 16", "TalkingHeadSystem.num_rays = 128",
             *extractor_bindings(path)]  # fmt: skip
    ws = tmp_path / "ws"
    write_run(ws, data.root, files, short, "aud.npy")
    out = train_from_config(files, short, data=data.root, workspace=ws, progress=False)
    assert out["stages"]["head"]["final_loss"] is not None and path.exists()
    # the gin's recipe: C_ex relative to the person, the expression fit, shifted bank images
    from lokitalk_plugins.baselines.dhnerf.pretrain import extractor_file_bank

    bank = extractor_file_bank(path)
    assert bank["relative"] == ["ex"] and bank["expression_steps"] == 5
    assert bank["expression_weight"] == 10.0 and bank["shift"] == 0.04
    stamp = path.stat().st_mtime_ns
    system, _, _ = load_system(ws)  # the extractor is read back, not trained again
    assert path.stat().st_mtime_ns == stamp
    assert system.head_background == "random" and system.model.extractor.relative == ("ex",)
    assert int(system.model.coded_frames) == len(data)
    assert system.render_frame(data[0])["rgb"].shape == (32, 32, 3)


def test_the_extractor_crop_reads_only_its_window(tmp_path):
    """With ``crop`` the codes depend on the window's pixels only, equal those of the window
    cut out by hand, and a file built with one crop is refused under another in one line."""
    from lokitalk_plugins.baselines.dhnerf import studio_code_extractor

    torch.manual_seed(0)
    crop = (0.25, 0.5, 0.75, 1.0)
    ex = CodeExtractor(**DIMS, size=8, width=4, crop=crop).eval()
    images = torch.rand(2, 16, 16, 3)
    outside = images.clone()
    outside[:, :4] = 0.0  # rows above the window
    outside[:, :, :8] = 1.0  # columns left of it
    window = images[:, 4:12, 8:16]
    with torch.no_grad():
        a, b = ex(images), ex(outside)
        full = CodeExtractor(**DIMS, size=8, width=4)
        full.load_state_dict({k.replace("window_trunk", "trunk"): v
                              for k, v in ex.state_dict().items()})  # fmt: skip
        c = full.eval()(window)
    for k in a:
        torch.testing.assert_close(a[k], b[k])
        torch.testing.assert_close(a[k], c[k])
    moved = images.clone()
    moved[:, 6, 10] += 0.5  # a pixel inside the window changes the codes
    with torch.no_grad():
        assert any(not torch.allclose(a[k], ex(moved)[k]) for k in a)
    # only C_ex reads the window: the others keep the whole image's trunk
    split = CodeExtractor(**DIMS, size=8, width=4, crop=crop, crop_codes=["ex"]).eval()
    with torch.no_grad():
        a, b = split(images), split(outside)
    torch.testing.assert_close(a["ex"], b["ex"])
    assert all(not torch.allclose(a[k], b[k]) for k in ("id", "al", "ill"))
    for bad in [(0.5, 0.0, 0.5, 1.0), (0.0, 0.0, 1.0), (0.0, 0.0, 1.0, 1.5), "face"]:
        with pytest.raises(ValueError, match="crop must be") as err:
            CodeExtractor(**DIMS, crop=bad)
        assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match="crop_codes must name"):
        CodeExtractor(**DIMS, crop=crop, crop_codes=["lips"])
    path = tmp_path / "ex.pt"
    kw = dict(path=str(path), identities=3, expressions=4, lights=4, render_size=16, steps=2,
              num_negatives=3, size=8, width=4, grid=False, poses=0,
              crop_codes=("id", "ex", "al", "ill"), **DIMS)  # fmt: skip
    built = studio_code_extractor(crop=crop, **kw)
    again = studio_code_extractor(crop=list(crop), **kw)  # read back, not trained again
    for k, v in built.state_dict().items():
        torch.testing.assert_close(v, again.state_dict()[k])
    # the file records the bank and recipe it was pre-trained with; reading never checks it
    from lokitalk_plugins.baselines.dhnerf.pretrain import extractor_bank, extractor_file_bank

    bank = extractor_file_bank(path)
    assert bank == extractor_bank(**kw) and bank["lights"] == 4 and bank["steps"] == 2
    assert bank["hardness"] == 0.0
    # a record written before hardness existed reads as trained with the uniform draw
    state = torch.load(path, weights_only=True)
    state["bank"].pop("hardness")
    torch.save(state, tmp_path / "before.pt")
    assert extractor_file_bank(tmp_path / "before.pt") == bank
    assert bank["relative"] == [] and bank["expression_steps"] == 0
    assert bank["expression_weight"] == 0.0
    assert bank["shift"] == 0.0
    assert bank["light_steps"] == 0 and bank["light_weight"] == 0.0
    before = ("expression_steps", "expression_weight", "shift", "light_steps", "light_weight")
    for key in before:  # before: pairs alone, unshifted, no light fit
        state["bank"].pop(key)
    state["bank"].pop("relative")  # ... and before relative, as reading every code as is
    torch.save(state, tmp_path / "before.pt")
    assert extractor_file_bank(tmp_path / "before.pt") == bank
    assert extractor_bank()["lights"] == inspect.signature(studio_code_extractor).parameters[
        "lights"].default  # fmt: skip
    studio_code_extractor(crop=crop, **(kw | dict(lights=5, steps=3)))  # read as trained
    for other in [dict(crop=None), dict(crop=crop, crop_codes=["ex"])]:
        with pytest.raises(UserError, match=r"ex.pt: built to read crop \(0.25, 0.5, 0.75, 1\) "
                           "for id/ex/al/ill at 8 px, not") as err:  # fmt: skip
            studio_code_extractor(**(kw | other))
        assert "\n" not in str(err.value)
        assert "set studio_code_extractor.crop, crop_codes, relative and size" in str(err.value)
    # relative: recorded in the file, refused under another reading in one line; a file from
    # before the key reads every code as is
    kw_rel = kw | dict(path=str(tmp_path / "rel.pt"), crop=crop, relative=("ex",))
    assert studio_code_extractor(**kw_rel).relative == ("ex",)
    assert studio_code_extractor(**kw_rel).relative == ("ex",)  # read back
    with pytest.raises(UserError, match="ex relative to the person, not crop") as err:
        studio_code_extractor(**(kw_rel | dict(relative=())))
    assert "\n" not in str(err.value)
    with pytest.raises(UserError, match=r"at 8 px, not .* at 8 px, ex relative to the person"):
        studio_code_extractor(**(kw | dict(crop=crop, relative="ex")))
    assert extractor_file_bank(kw_rel["path"])["relative"] == ["ex"]
    # a file from before relative existed is read as built (every code as is), one warning
    state = torch.load(kw_rel["path"], weights_only=True)
    state.pop("relative")
    torch.save(state, tmp_path / "pre_rel.pt")
    with pytest.warns(UserWarning, match="pre_rel.pt: written before studio_code_extractor.rel"):
        read = studio_code_extractor(**(kw_rel | dict(path=str(tmp_path / "pre_rel.pt"))))
    assert read.relative == () and read.crop == crop
    # a file written before crop existed (no such keys) read whole images
    kw["path"] = str(tmp_path / "old.pt")
    studio_code_extractor(crop=None, **kw)
    old = torch.load(kw["path"], weights_only=True)
    for key in ("size", "crop", "crop_codes", "bank"):
        old.pop(key)
    torch.save(old, kw["path"])
    studio_code_extractor(crop=None, **kw)
    assert extractor_file_bank(kw["path"]) is None
    # ... and under a window it is read as built (whole frames), with one warning
    with pytest.warns(UserWarning, match="old.pt: written before studio_code_extractor.crop"):
        read = studio_code_extractor(crop=crop, **kw)
    assert read.crop is None and read.crop_codes == ()
    plain = studio_code_extractor(crop=None, **kw)
    for k, v in plain.state_dict().items():
        torch.testing.assert_close(v, read.state_dict()[k])


def test_grid_density_frames_reads_each_frames_own_codes(data):
    """``grid_density_frames`` gives point i the density under frame frames[i]'s own codes
    (w 1), point by point as ``forward`` with ``individual_code(frame)``; the refresh's
    GridUpkeep.codes 'frames' reads it, 'both' the larger of it and the test-time density,
    'test' (the default) only ``grid_density``; a model without it refuses the option in one
    line, and a bad value is one line."""
    from lokitalk_plugins.baselines.er_nerf.network import ERNeRF
    from lokitalk_plugins.pipeline.options import GridUpkeep

    ex = CodeExtractor(**DIMS, size=16, width=8)
    model = make_model(data, ex)
    model.init_codes(data)
    with torch.no_grad():  # frames' C_ex apart, and F_lip read, so the conditions differ
        model.codes_ex[: len(data)] += torch.randn(len(data), DIMS["ex_dim"])
        model.sigma_net.net[0].weight.normal_()
    x = torch.rand(12, 3) * 1.2 - 0.6
    d = torch.nn.functional.normalize(torch.ones(12, 3), dim=-1)
    frames = torch.tensor([0, 3, 5] * 4)
    enc_a = torch.randn(12, 32)
    with torch.no_grad():
        got = model.grid_density_frames(x, frames, enc_a, None)
        want = torch.stack([model(x[i : i + 1], d[i : i + 1], enc_a[i : i + 1], None,
                                  model.individual_code(int(frames[i])))["sigma"][0]
                            for i in range(12)])  # fmt: skip
        test = model.grid_density(x, enc_a, None)
    assert torch.allclose(got, want, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(got, test)
    for codes in ("test", "frames", "both"):
        system = TalkingHeadSystem(model, grid=GridUpkeep(frames=3, codes=codes))
        system.prepare(data)
        fn = system.grid_density_fn(torch.Generator().manual_seed(0))
        g = torch.Generator().manual_seed(0)  # the refresh's own draw of the 3 frames
        i = torch.randint(0, len(data), (3,), generator=g)
        j = torch.arange(12) % 3
        with torch.no_grad():
            a = model.encode_audio(system._audio_bank[i].float())[j]
            own = model.grid_density_frames(x, i[j], a, None)
            tst = model.grid_density(x, a, None)
            want = {"test": tst, "frames": own, "both": torch.maximum(own, tst)}[codes]
            assert torch.equal(fn(x), want)
        assert hasattr(fn, "lattice") is False
    with pytest.raises(UserError, match=r"codes = 'frames': ERNeRF has no grid_density_frames"
                       ) as err:  # fmt: skip
        TalkingHeadSystem(ERNeRF(audio_in_dim=32, ind_num=4, grid_size=16),
                          grid=GridUpkeep(codes="frames"))  # fmt: skip
    assert "\n" not in str(err.value)
    with pytest.raises(UserError, match="GridUpkeep.codes must be one of") as err:
        GridUpkeep(codes="own")
    assert "\n" not in str(err.value)


def test_ex_init_zero_starts_the_density_blind_to_c_ex_and_learns(data):
    """ex_init 'zero' (the default): at initialisation two codes that differ only in C_ex give
    the same density and M (the field is the code-free one there), yet C_ex's weights get a
    gradient; 'default' (PyTorch's init, bit for bit the model before the option) reads C_ex
    from the first step; another value is a one-line error."""
    x, d = torch.rand(30, 3) * 0.6 - 0.3, torch.nn.functional.normalize(torch.ones(30, 3), dim=-1)
    a = torch.randn(1, 32)
    model = make_model(data)
    assert model.ex_init == "zero"
    one, two = model.individual_code(0).clone(), model.individual_code(0).clone()
    s = DIMS["id_dim"]
    two[0, s : s + DIMS["ex_dim"]] += 1.0
    out_one, out_two = model(x, d, a, None, one), model(x, d, a, None, two)
    assert torch.equal(out_one["sigma"], out_two["sigma"])
    assert torch.equal(out_one["geo_feat"], out_two["geo_feat"])
    first = model.sigma_net.net[0].weight
    cols = slice(first.shape[1] - 32 - DIMS["ex_dim"], first.shape[1] - 32)
    (out_two["sigma"].sum() + out_two["geo_feat"].sum()).backward()
    assert first[:, cols].abs().sum() == 0 and first.grad[:, cols].abs().sum() > 0
    default = make_model(data, ex_init="default")
    assert torch.equal(default.sigma_net.net[0].weight[:, : cols.start], first[:, : cols.start])
    assert (
        first[:, : cols.start].abs().sum() > 0
        and default.sigma_net.net[0].weight[:, cols].abs().sum() > 0
    )
    assert not torch.equal(
        default(x, d, a, None, one)["sigma"], default(x, d, a, None, two)["sigma"]
    )
    with pytest.raises(UserError, match="DHNeRF.ex_init must be one of") as err:
        make_model(data, ex_init="small")
    assert "\n" not in str(err.value)


def test_audio_share_renders_that_share_of_training_steps_from_audio(data):
    """audio_share: in training mode that share of a training frame's codes carry w = 0 (the
    expression from audio, as at test time; drawn from torch's seeded global generator), the
    frame's other codes its own; in eval mode and at 0 (the default) w is 1; such a step's
    photometric loss reaches E and not the frame's C_ex; outside [0, 1] is a one-line error."""
    model = make_model(data)
    assert model.audio_share == 0.0

    def w(m):  # 400 draws of w for training frames 0-3
        return [float(m.split_code(m.individual_code(i % 4).detach())["w"]) for i in range(400)]

    assert set(w(model)) == {1.0}
    half = make_model(data, audio_share=0.5)
    torch.manual_seed(11)
    draws = w(half)
    assert set(draws) == {0.0, 1.0} and 160 < draws.count(0.0) < 240
    torch.manual_seed(11)
    assert w(half) == draws  # seeded
    assert set(w(half.eval())) == {1.0} and set(w(make_model(data, audio_share=1.0))) == {0.0}
    every = make_model(data, audio_share=1.0)
    code, own = every.individual_code(2), every.codes(2)
    parts = every.split_code(code)
    assert all(torch.equal(parts[k], own[k]) for k in CODE_NAMES)  # the frame's own codes
    system = TalkingHeadSystem(every, num_rays=64)
    system.set_stage("head")
    out = system.training_step(data[2], 0, 1, torch.Generator().manual_seed(1))
    every.zero_grad()
    out.loss.backward()
    assert every.codes_ex.grad is None or every.codes_ex.grad[2].abs().sum() == 0
    assert every.expression_net[0].weight.grad.abs().sum() > 0
    for bad in (-0.1, 1.5):
        with pytest.raises(UserError, match="DHNeRF.audio_share is a share") as err:
            make_model(data, audio_share=bad)
        assert "\n" not in str(err.value)


def test_light_share_renders_that_share_of_training_steps_under_the_mean_light(data):
    """light_share: in training mode that share of a training frame's codes carry the training
    frames' mean C_ill (detached, drawn from torch's seeded global generator) in place of the
    frame's own, the other codes and w its own; in eval mode and at 0 (the default) the
    frame's own, and 0 draws nothing (the former random stream); such a step's photometric
    loss pulls no C_ill; outside [0, 1] is a one-line error."""

    def made(**kw):  # every training frame coded, so the mean C_ill is over all of them
        m = make_model(data, **kw)
        m.coded_frames.fill_(len(data))
        return m

    model = made()
    assert model.light_share == 0.0
    state = torch.get_rng_state()
    model.individual_code(1)
    assert torch.equal(torch.get_rng_state(), state)  # nothing drawn at 0

    def mean_light(m):  # 400 draws for training frames 0-3: the C_ill is the mean's
        mean = m.codes(None)["ill"]
        return [bool(torch.equal(m.split_code(m.individual_code(i % 4).detach())["ill"], mean))
                for i in range(400)]  # fmt: skip

    assert not any(mean_light(model))
    half = made(light_share=0.5)
    torch.manual_seed(13)
    draws = mean_light(half)
    assert 160 < sum(draws) < 240
    torch.manual_seed(13)
    assert mean_light(half) == draws  # seeded
    assert not any(mean_light(half.eval()))
    every = made(light_share=1.0, ex_init="default")  # C_ex read from the first step
    assert all(mean_light(every))
    parts, own = every.split_code(every.individual_code(2)), every.codes(2)
    assert all(torch.equal(parts[k], own[k]) for k in CODE_NAMES if k != "ill")
    assert float(parts["w"]) == 1.0
    assert torch.equal(parts["ill"].detach(), every.codes(None)["ill"].detach())
    system = TalkingHeadSystem(every, num_rays=64)
    system.set_stage("head")
    out = system.training_step(data[2], 0, 1, torch.Generator().manual_seed(1))
    every.zero_grad()
    out.loss.backward()
    dis = every.lambda_dis > 0  # L_dis pulls the frame's C_ill to its reference: not the render
    photometric = every.codes_ill.grad
    if dis:
        every.zero_grad()
        every.lambda_dis = 0.0
        system.training_step(data[2], 0, 1, torch.Generator().manual_seed(1)).loss.backward()
        photometric = every.codes_ill.grad
    assert photometric is None or photometric.abs().sum() == 0
    assert every.codes_ex.grad[2].abs().sum() > 0  # the frame's own C_ex is rendered
    for bad in (-0.1, 1.5):
        with pytest.raises(UserError, match="DHNeRF.light_share is a share") as err:
            make_model(data, light_share=bad)
        assert "\n" not in str(err.value)


def test_a_short_training_run_with_audio_share_lowers_the_test_time_error(data):
    ex = CodeExtractor(**DIMS, size=16, width=8)
    torch.manual_seed(5)
    system = TalkingHeadSystem(make_model(data, ex, audio_share=0.5), num_rays=256, lr_mlp=2e-3)
    system.prepare(data)
    system.set_stage("head")

    def test_time_error():  # frame 3 rendered as at test time (from its audio), eval mode
        system.eval()
        rgb = system.render_frame(data[3])["rgb"]
        system.train()
        return float(((rgb - data[3].image.reshape(rgb.shape)) ** 2).mean())

    before = test_time_error()
    losses = short_run(system, data, 40)
    assert sum(losses[-10:]) < 0.8 * sum(losses[:10]), losses
    assert test_time_error() < 0.8 * before
