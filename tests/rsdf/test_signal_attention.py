"""Signal-region cross-attention: the documented equation, range, and what each score sees."""

from __future__ import annotations

import math

import pytest
import torch
from rsdf_helpers import SMALL_GRID, A, points, randomise_grids, signals

from lokitalk_plugins.rsdf import RSDF, SignalAttention, expand_signal


def test_scores_match_the_documented_equation():
    torch.manual_seed(0)
    att = SignalAttention(point_dim=2, signal_dims={"lip": 2, "eye": 1}, att_dim=2, hidden=2)
    with torch.no_grad():
        att.query.net[0].weight.copy_(torch.eye(2))
        # query heads: lip gets (h0, h1), eye gets (2 h0, 0)
        att.query.net[1].weight.copy_(torch.tensor([[1.0, 0], [0, 1], [2, 0], [0, 0]]))
        att.keys["lip"].weight.copy_(torch.eye(2))
        att.keys["lip"].bias.copy_(torch.tensor([0.5, 0.0]))
        att.keys["eye"].weight.copy_(torch.tensor([[1.0], [0.0]]))
        att.keys["eye"].bias.zero_()
    h = torch.tensor([[1.0, 2.0], [-1.0, 3.0]])  # relu keeps [1, 2]; [-1, 3] -> [0, 3]
    F_a, F_e = torch.tensor([[1.0, -1.0]]), torch.tensor([[0.3]])
    s = att(h, {"lip": F_a, "eye": F_e})
    r = 1 / math.sqrt(2)
    # lip key = (1.5, -1): <(1, 2), key> = -0.5 ; <(0, 3), key> = -3
    # eye key = (0.3, 0):  <(2, 0), key> = 0.6  ; <(0, 0), key> = 0
    expected_lip = torch.sigmoid(torch.tensor([-0.5, -3.0]) * r)
    expected_eye = torch.sigmoid(torch.tensor([0.6, 0.0]) * r)
    assert torch.allclose(s["lip"], expected_lip) and torch.allclose(s["eye"], expected_eye)


def test_scores_in_unit_interval_and_spread():
    torch.manual_seed(0)
    m = RSDF(audio_dim=A, hidden=32, grid=SMALL_GRID)
    randomise_grids(m, std=2.0)
    with torch.no_grad():
        for p in m.face.attention.parameters():
            p.mul_(20.0)
    out = m(points(), *signals())
    for name in ("att_lip", "att_eye", "att_torso"):
        s = out.maps[name]
        assert s.min() >= 0 and s.max() <= 1
    lip = out.maps["att_lip"]
    assert lip.min() < 0.1 and lip.max() > 0.9  # spatially varying, saturating both ways


def test_each_score_follows_its_own_signal():
    torch.manual_seed(0)
    m = RSDF(audio_dim=A, hidden=32, grid=SMALL_GRID)
    randomise_grids(m)
    x = points()
    F_a, F_e, F_h = signals()
    a = m(x, F_a, F_e, F_h).maps
    b = m(x, F_a * -2.0, F_e, F_h).maps  # only the audio changes
    assert not torch.allclose(a["att_lip"], b["att_lip"])
    assert torch.equal(a["att_eye"], b["att_eye"])
    assert torch.equal(a["att_torso"], b["att_torso"])


def test_expand_signal():
    f = torch.ones(1, 3)
    assert expand_signal(f, 5, 3, "f").shape == (5, 3)
    assert expand_signal(torch.ones(5, 3), 5, 3, "f").shape == (5, 3)
    for bad in (torch.ones(3), torch.ones(2, 3), torch.ones(5, 4)):
        with pytest.raises(ValueError, match="f:"):
            expand_signal(bad, 5, 3, "f")
