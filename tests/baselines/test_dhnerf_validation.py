"""Choosing the DH-NeRF code extractor among seeds by its read of studio people it never saw
(baselines/dhnerf/validate.py, studio_code_extractor(candidates=...))."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from dhnerf_helpers import DIMS
from torch import nn

from lokitalk_plugins.baselines.dhnerf import studio_code_extractor, validate
from lokitalk_plugins.baselines.dhnerf.pretrain import extractor_bank, extractor_file_bank
from lokitalk_plugins.data import TalkingHeadFolder
from lokitalk_plugins.data.studio import load_truth, write_identity
from lokitalk_plugins.errors import UserError
from lokitalk_plugins.metrics.probe import r2_probe


class PixelCode(nn.Module):
    """A stand-in extractor: C̄_ex is the first pixel's three channels (and noise channels)."""

    def forward(self, images):
        return {"ex": torch.cat([images[:, 0, 0, :], images[:, 1, 1, :]], 1)}


def _clip(factors, g, written=True):
    images = torch.from_numpy(g.uniform(0, 1, (len(factors), 4, 4, 3))).float()
    if written:
        images[:, 0, 0, :] = torch.from_numpy(factors).float()
    return validate.ValidationClip(7, images, factors.astype(np.float32))


def test_expression_read_is_the_held_out_r2_of_a_linear_map_from_c_ex():
    g = np.random.default_rng(0)
    factors = g.uniform(0, 1, (60, 3))
    model = PixelCode().train()
    assert validate.expression_read(model, [_clip(factors, g)]) == pytest.approx(1.0, abs=1e-3)
    assert model.training  # the caller's mode is kept
    blind = _clip(factors, g, written=False)
    read = validate.expression_read(model, [blind])
    codes = model(blind.images)["ex"].numpy()
    fit = np.arange(60) < 42  # the first 70%
    by_hand = np.mean([r2_probe(codes, blind.factors[:, [j]], fit) for j in range(3)])
    assert read == pytest.approx(by_hand) and read < 0.2
    both = validate.expression_read(model, [_clip(factors, g), blind])
    assert both == pytest.approx((1.0 + read) / 2, abs=1e-3)  # the mean over the clips
    with pytest.raises(ValueError, match="at least one validation clip"):
        validate.expression_read(model, [])


def test_validation_clips_are_the_studio_clips_a_user_would_read(tmp_path):
    (clip,) = validate.validation_clips([5], size=32, seconds=1.0)
    folder = write_identity(tmp_path / "id005", identity=5, seconds=1.0, size=32, seed=0,
                            lighting=True)  # fmt: skip
    ds = TalkingHeadFolder(folder, split="train", progress=False)
    truth = load_truth(folder)
    ids = np.asarray(ds.img_ids)
    assert clip.identity == 5 and clip.images.shape == (len(ds), 32, 32, 3)
    torch.testing.assert_close(clip.images, torch.stack([ds[i].image for i in range(len(ds))]))
    np.testing.assert_array_equal(clip.factors[:, 0], np.asarray(truth.jaw)[ids])
    np.testing.assert_array_equal(clip.factors[:, 2], np.asarray(truth.eye_closure)[ids])


KW = dict(identities=3, expressions=4, lights=4, render_size=16, steps=2, num_negatives=3,
          size=8, width=4, grid=False, poses=0, **DIMS)  # fmt: skip


def test_candidates_keep_the_seed_that_reads_the_validation_people_best(tmp_path, monkeypatch):
    g = np.random.default_rng(3)
    clips = [
        validate.ValidationClip(7, torch.rand(40, 16, 16, 3, generator=torch.Generator()
                                .manual_seed(k)), g.uniform(0, 1, (40, 3)).astype(np.float32))
        for k in range(2)
    ]  # fmt: skip
    asked = []

    def fake_clips(people, size, **_):
        asked.append((list(people), size))
        return clips

    monkeypatch.setattr(validate, "validation_clips", fake_clips)
    path = tmp_path / "chosen.pt"
    chosen = studio_code_extractor(path=str(path), seed=4, candidates=3, validation=2, **KW)
    assert asked == [([4, 5], 16)]  # the two people after the bank's three
    alone = [studio_code_extractor(seed=s, **KW) for s in (4, 5, 6)]
    reads = [validate.expression_read(e, clips) for e in alone]
    sel = chosen.selection
    assert sel["seeds"] == [4, 5, 6] and sel["reads"] == pytest.approx(reads)
    assert sel["chosen"] == 4 + int(np.argmax(reads)) and len(set(np.round(reads, 6))) == 3
    best = alone[int(np.argmax(reads))].state_dict()
    for k, v in chosen.state_dict().items():  # the chosen seed's own extractor, bit for bit
        assert torch.equal(v, best[k])
    again = studio_code_extractor(path=str(path), seed=4, candidates=3, validation=2, **KW)
    assert again.selection == sel and asked == [([4, 5], 16)]  # read back, nothing rendered
    bank = extractor_file_bank(path)
    assert bank == extractor_bank(seed=4, candidates=3, validation=2, **KW)
    assert bank["candidates"] == 3 and bank["seed"] == 4
    # one candidate: no choice, the validation people are never rendered, nothing recorded
    single = studio_code_extractor(path=str(tmp_path / "one.pt"), seed=4, **KW)
    assert single.selection is None and asked == [([4, 5], 16)]
    assert extractor_bank(candidates=1, validation=5) == extractor_bank()


@pytest.mark.parametrize("name, value", [("candidates", 0), ("candidates", 1.5),
                                         ("candidates", True), ("validation", 0),
                                         ("validation", "two")])  # fmt: skip
def test_bad_candidate_options_are_one_line_before_anything_is_trained(tmp_path, name, value):
    with pytest.raises(UserError, match=f"studio_code_extractor.{name} = ") as err:
        studio_code_extractor(path=str(tmp_path / "x.pt"), **{name: value})
    assert "\n" not in str(err.value) and "whole number >= 1" in str(err.value)
    assert not (tmp_path / "x.pt").exists()
