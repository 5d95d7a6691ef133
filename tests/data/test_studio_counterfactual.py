"""The studio re-rendered from its truth with one cause changed: the frames reproduce, and
each cause's change lies where that cause acts."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from lokitalk_plugins.data.studio import (
    EYES,
    FACE,
    LIPS,
    MOUTH,
    NECK,
    TEETH,
    TORSO,
    load_truth,
    write_identity,
)
from lokitalk_plugins.data.studio.counterfactual import CAUSES, cause_maps, render_from_truth


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return write_identity(tmp_path_factory.mktemp("cf") / "id000", identity=0, seconds=1.0,
                          size=48, seed=0)  # fmt: skip


def test_the_truth_tracks_render_the_recorded_frames(clip):
    truth = load_truth(clip)
    frames = [0, 7, 20]
    rgb, labels = render_from_truth(truth, frames, 48)
    assert np.array_equal(labels, truth.labels[frames])
    fg = labels != 0
    for k, i in enumerate(frames):  # the recorded frame: the same picture, sensor noise + JPEG
        img = np.asarray(Image.open(clip / "ori_imgs" / f"{i}.jpg"), dtype=np.float32) / 255
        assert np.abs(img[fg[k]] - rgb[k][fg[k]]).mean() < 0.05
    with pytest.raises(ValueError, match="frames must lie in 0..24"):
        render_from_truth(truth, [25], 48)


def test_each_cause_changes_its_own_region(clip):
    truth = load_truth(clip)
    frames = [i for i in range(len(truth)) if truth.jaw[i] > 0.2][:3]
    assert frames, "the clip should open its mouth"
    change, labels = cause_maps(clip, frames)
    assert set(change) == set(CAUSES) and change["mouth"].shape == labels.shape

    def share(cause, ids):
        c = change[cause]
        return c[np.isin(labels, ids)].sum() / c.sum()

    # the audio moves the lips, the mouth and the chin (face skin), nothing outside the face
    assert share("mouth", (LIPS, MOUTH, TEETH, FACE)) > 0.95
    assert share("mouth", (LIPS, MOUTH, TEETH)) > 0.05
    assert share("eyes", (EYES, FACE)) > 0.95 and share("eyes", (EYES,)) > 0.5
    assert share("torso", (NECK, TORSO, 0)) > 0.9  # the torso's outline: torso and background
    assert (change["mouth"] >= 0).all() and change["mouth"].sum() > 0
    with pytest.raises(ValueError, match="cause 'hair'"):
        cause_maps(clip, frames[:1], causes=("hair",))


def test_a_torso_already_carried_by_the_head_does_not_change(clip):
    # the torso's recorded pose made the head's (plus the breath's rise): the "torso" change,
    # which carries it by the head and keeps the breath, must then leave every pixel alone
    import dataclasses

    from lokitalk_plugins.data.studio.counterfactual import _changed, _tracks
    from lokitalk_plugins.data.studio.folder import WORLD_SCALE
    from lokitalk_plugins.data.studio.motion import BREATH_RISE

    truth = load_truth(clip)
    torso = truth.pose.copy()
    torso[:, 4] += BREATH_RISE * truth.breath / WORLD_SCALE
    carried = dataclasses.replace(truth, torso_pose=torso)
    idx = np.array([2, 11])
    tracks = _tracks(carried, idx)
    same, _ = render_from_truth(carried, idx, 48)
    moved, _ = render_from_truth(carried, idx, 48, _changed(carried, tracks, "torso"))
    assert np.abs(moved - same).max() < 1e-4
    assert np.abs(truth.torso_pose - truth.pose).max() > 1e-3  # the recorded torso does lag


def test_controls_set_one_factor_and_keep_the_rest(clip):
    """render_controls: a frame with its own factor values is the frame as recorded; the
    jaw set elsewhere changes the mouth and chin only, the eyes closed the eyes only."""
    from lokitalk_plugins.data.studio.counterfactual import render_controls

    truth = load_truth(clip)
    k = int(np.argmax(truth.jaw))
    assert truth.jaw[k] > 0.2, "the clip should open its mouth"
    base, labels = render_from_truth(truth, [k], 48)
    own, _ = render_controls(clip, [k], jaw=float(truth.jaw[k]),
                             eye_closure=float(truth.eye_closure[k]))  # fmt: skip
    np.testing.assert_allclose(own, base, atol=1e-6)
    jaw, _ = render_controls(clip, [k], jaw=0.0)
    eyes, _ = render_controls(clip, [k], eye_closure=1.0)
    dj, de = np.abs(jaw - base).sum(-1)[0], np.abs(eyes - base).sum(-1)[0]
    mouth = np.isin(labels[0], (LIPS, MOUTH, TEETH, FACE))
    assert dj.sum() > 0 and dj[mouth].sum() > 0.95 * dj.sum()
    assert de.sum() > 0 and de[np.isin(labels[0], (EYES, FACE))].sum() > 0.95 * de.sum()
    with pytest.raises(ValueError, match="control 'brow'"):
        render_controls(clip, [k], brow=1.0)
    with pytest.raises(ValueError, match="frames must lie in 0..24"):
        render_controls(clip, [30], jaw=0.0)
    assert truth.eye_closure[k] < 0.5  # so closing the eyes changes them
