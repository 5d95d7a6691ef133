"""The studio's causes: speech drives the mouth, blinks ignore it, identities differ."""

from __future__ import annotations

import numpy as np
import pytest

from lokitalk_plugins.data.studio import load_truth, make_identity, write_identity
from lokitalk_plugins.data.studio.motion import make_motion
from lokitalk_plugins.data.studio.speech import PHONES, make_phones, speak
from lokitalk_plugins.signals.features import load_wav, logmel_windows, write_wav


def test_jaw_follows_phones():
    idn = make_identity(4)
    sp = speak(idn, utterance=11, seconds=6.0)
    assert sp.wav.shape == (6 * 16000,) and sp.jaw.shape == (150,)
    assert 0 <= sp.jaw.min() and sp.jaw.max() <= 1
    t = np.arange(150) / 25
    for p, start, dur in sp.phones:
        mid = start + dur / 2
        k = int(np.argmin(np.abs(t - mid)))
        if dur > 0.1 and abs(t[k] - mid) < 0.02:
            if p == "a":
                assert sp.jaw[k] > 0.6  # open vowels open the jaw
            if p in "ou":
                assert sp.lip_width[k] < 0.45  # rounded vowels narrow the lips
    # bilabials close the mouth: the jaw dips during p/b/m
    dips = [sp.jaw[int(round((s + d / 2) * 25))] for p, s, d in sp.phones
            if p in "pbm" and s + d / 2 < 5.9]  # fmt: skip
    assert dips and np.mean(dips) < 0.35
    # loud frames are open-mouth frames (audio and jaw share the timing)
    assert np.corrcoef(sp.jaw, sp.envelope)[0, 1] > 0.4


def test_same_utterance_same_words_any_speaker():
    a = [p for p, _, _ in make_phones(5, 3.0, rate=4.0)]
    b = [p for p, _, _ in make_phones(5, 3.0, rate=5.5)]
    n = min(len(a), len(b))
    assert a[:n] == b[:n] and len(b) > len(a)  # the faster speaker says more of it
    assert set(a) <= set(PHONES)
    s1, s2 = speak(make_identity(1), 5, 2.0), speak(make_identity(2), 5, 2.0)
    assert not np.allclose(s1.wav, s2.wav)  # a different voice


def test_blinks_are_independent_of_speech():
    idn = make_identity(0)
    m = make_motion(idn, seed=3, n=25 * 30)
    gaps = np.diff([s for s, _ in m.blinks])
    assert len(m.blinks) >= 5 and gaps.min() > 2.0 and gaps.max() < 6.5
    assert all(0.15 < d < 0.27 for _, d in m.blinks)
    assert np.abs(m.euler).max() <= np.radians(15.0) + 1e-6
    lag = [np.corrcoef(m.torso_euler[k:, 1], m.euler[: len(m.euler) - k, 1])[0, 1]
           for k in range(0, 20)]  # fmt: skip
    assert int(np.argmax(lag)) > 2  # the torso follows the head with a lag


def test_cross_driving(tmp_path):
    a = load_truth(write_identity(tmp_path / "a", identity=0, seconds=0.6, size=16, utterance=9))
    b = load_truth(write_identity(tmp_path / "b", identity=2, seconds=0.6, size=16, utterance=9))
    assert a.utterance == b.utterance == 9 and a.identity == 0 and b.identity == 2
    pa, pb = [p for p, _, _ in a.meta["phones"]], [p for p, _, _ in b.meta["phones"]]
    n = min(len(pa), len(pb))
    assert pa[:n] == pb[:n]
    assert a.meta["traits"]["skin_rgb"] != b.meta["traits"]["skin_rgb"]
    assert a.labels.shape == (15, 16, 16) and a.landmarks.shape == (15, 68, 2)


def test_identities_differ():
    ids = [make_identity(i) for i in range(6)]
    assert len({i.f0 for i in ids}) == 6 and len({i.eye_spacing for i in ids}) == 6
    assert len({i.mouth_width for i in ids}) == 6 and len({i.rate for i in ids}) == 6
    assert make_identity(3) == make_identity(3)


def test_wav_round_trip_and_feature_layout(tmp_path):
    g = np.random.default_rng(0)
    wav = (0.3 * np.sin(2 * np.pi * 220 * np.arange(16000) / 16000) + 0.01 * g.normal(
        size=16000)).astype(np.float32)  # fmt: skip
    write_wav(tmp_path / "x.wav", wav)
    back, sr = load_wav(tmp_path / "x.wav")
    assert sr == 16000 and np.abs(back - wav).max() < 1e-4
    f = logmel_windows(back, sr, fps=25, n_mels=32)
    assert f.shape == (25, 16, 32) and f.dtype == np.float32
    # a 220 Hz tone puts its energy in a low band; window k is centred on frame k
    assert int(np.argmax(f[12, 8])) < 8
    silent = np.concatenate([np.zeros(8000, np.float32), wav[:8000]])
    fs = logmel_windows(silent)
    assert fs[5].mean() < fs[20].mean() - 5  # silence is quieter than sound
    assert logmel_windows(silent[: 16000 - 100]).shape[0] == 25  # N from the duration


def test_blink_gap_changes_the_blinks_only():
    """blink_gap: blinks (lo, hi) s apart; the default is the 2-6 s it always was, and the
    head, torso and breath tracks do not depend on it."""
    from lokitalk_plugins.data.studio.motion import BLINK_GAP

    idn = make_identity(0)
    base = make_motion(idn, seed=3, n=25 * 30)
    same = make_motion(idn, seed=3, n=25 * 30, blink_gap=BLINK_GAP)
    often = make_motion(idn, seed=3, n=25 * 30, blink_gap=(0.5, 1.5))
    assert BLINK_GAP == (2.0, 6.0) and base.blinks == same.blinks
    assert np.array_equal(base.eye_closure, same.eye_closure)
    for name in ("euler", "trans", "torso_euler", "torso_trans", "breath"):
        assert np.array_equal(getattr(base, name), getattr(often, name))
    gaps = np.diff([s for s, _ in often.blinks]) - np.array([d for _, d in often.blinks[:-1]])
    assert gaps.min() >= 0.5 - 1e-3 and gaps.max() <= 1.5 + 1e-3
    closed = lambda m: float((m.eye_closure > 0.5).mean())  # noqa: E731
    assert closed(often) > 3 * closed(base) > 0


@pytest.mark.parametrize("gap", [(0.0, 1.0), (2.0, 1.0), (1.0, float("inf")), ("a", 1), (1.0,)])
def test_a_bad_blink_gap_is_one_line(gap):
    from lokitalk_plugins.data.studio.motion import check_blink_gap
    from lokitalk_plugins.errors import OptionError

    with pytest.raises(OptionError, match="blink_gap: expected") as e:
        check_blink_gap(gap)
    assert "\n" not in str(e.value)


def test_torso_follow_scales_the_torso_against_the_head():
    """torso_follow k: the torso's pose goes k of the way to the head's, so its translation
    against the head is (1 - k) of the default's; 1 carries it with the head; the head, breath
    and blink tracks never change, and None is the default, track for track."""
    idn = make_identity(1)
    base = make_motion(idn, seed=2, n=25 * 8)
    none = make_motion(idn, seed=2, n=25 * 8, torso_follow=None)
    for name in ("torso_euler", "torso_trans"):
        assert np.array_equal(getattr(base, name), getattr(none, name))
    half = make_motion(idn, seed=2, n=25 * 8, torso_follow=0.5)
    rigid = make_motion(idn, seed=2, n=25 * 8, torso_follow=1)
    still = make_motion(idn, seed=2, n=25 * 8, torso_follow=0.0)
    for name in ("euler", "trans", "breath", "eye_closure"):
        assert np.array_equal(getattr(base, name), getattr(half, name))
    rel = lambda m: m.torso_trans - m.trans  # noqa: E731
    np.testing.assert_allclose(rel(half), 0.5 * rel(base), atol=1e-6)
    np.testing.assert_allclose(half.torso_euler - half.euler, 0.5 * (base.torso_euler - base.euler),
                               atol=1e-6)  # fmt: skip
    assert np.abs(rel(base)[:, :2] - rel(base)[:1, :2]).max() > 0.01  # the default moves
    assert np.array_equal(rigid.torso_euler, rigid.euler)
    assert np.array_equal(rigid.torso_trans, rigid.trans)
    assert np.array_equal(still.torso_trans, base.torso_trans)


@pytest.mark.parametrize("k", [-0.1, 1.5, "a", None, float("nan")])
def test_a_bad_torso_follow_is_one_line(k):
    from lokitalk_plugins.data.studio.motion import check_torso_follow
    from lokitalk_plugins.errors import OptionError

    with pytest.raises(OptionError, match="torso_follow: expected a number in") as e:
        check_torso_follow(k)
    assert "\n" not in str(e.value)
